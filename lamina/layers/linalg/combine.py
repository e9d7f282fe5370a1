"""Small structural layers of the linear-algebra graphs.

``Pick(x, index, chunks, dtype)`` takes one element of tuple-valued blocks
(a pass kernel returns several results per block). ``TreeSum(x, axis,
split_every)`` adds blocks along one axis in groups, and ``tree_sum``
repeats it until one block is left: partial products are added as soon as
a group is ready, so only a few of them are ever held at once::

    w = tree_sum(partials, axis=0, split_every=8)     # one (1, n, l) block
"""

from __future__ import annotations

from functools import reduce
from typing import Any

import numpy as np

from lamina.layers.base import CSR, Chunks, Kernel, Layer
from lamina.layers.deps import AxisMap, product_deps
from lamina.layers.registry import trusted

DEFAULT_SPLIT_EVERY = 8


@trusted(version=1)
class Pick(Layer):
    """Element ``index`` of each tuple-valued block of the 1-D layer ``x``.

    The output grid has ``x.nblocks`` blocks along axis 0 and one block on
    every other axis; ``expand`` adds a leading axis of length one.
    """

    _parameters = ("x", "index", "out_chunks", "out_dtype", "expand")
    _defaults = {"expand": False}

    def _meta(self) -> tuple[Chunks, np.dtype]:
        chunks = tuple(tuple(c) for c in self.out_chunks)
        if len(chunks[0]) != self.x.nblocks or any(len(c) != 1 for c in chunks[1:]):
            raise ValueError(
                f"Pick chunks {chunks} need {self.x.nblocks} blocks on axis 0 and one elsewhere"
            )
        return chunks, self.out_dtype

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        n = len(out_blocks)
        return [(np.arange(n + 1, dtype=np.int64), np.asarray(out_blocks, dtype=np.int64))]

    def kernel(self) -> Kernel:
        index, expand = self.index, self.expand
        if expand:
            return lambda block, inputs: inputs[0][index][None]
        return lambda block, inputs: inputs[0][index]


@trusted(version=1)
class TreeSum(Layer):
    """Sum of groups of ``split_every`` consecutive blocks along ``axis``.

    Every block along ``axis`` must have the same size there; the output
    has one block per group, of that size.
    """

    _parameters = ("x", "axis", "split_every")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        sizes = self.x.chunks[self.axis]
        if len(set(sizes)) != 1:
            raise ValueError(
                f"TreeSum adds blocks of equal size along axis {self.axis}, got {sizes}")
        ngroups = -(-len(sizes) // self.split_every)
        chunks = list(self.x.chunks)
        chunks[self.axis] = (sizes[0],) * ngroups
        return tuple(chunks), self.x.dtype

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        maps = [AxisMap.identity(nb) for nb in self.x.numblocks]
        maps[self.axis] = AxisMap.groups(self.x.numblocks[self.axis], self.split_every)
        return [product_deps(out_blocks, self.numblocks, maps, self.x.numblocks)]

    def kernel(self) -> Kernel:
        return lambda block, inputs: add_all(inputs)


def add_all(values: list) -> Any:
    """``values[0] + values[1] + ...`` in order, reusing the first sum's memory."""
    if len(values) == 1:
        return values[0]
    total = values[0] + values[1]
    return reduce(_iadd, values[2:], total)


def _iadd(total: Any, value: Any) -> Any:
    total += value
    return total


def tree_sum(x: Layer, axis: int = 0, split_every: int | None = None) -> Layer:
    """Add the blocks of ``x`` along ``axis`` into one block, by a tree of ``TreeSum``."""
    split = max(int(split_every or DEFAULT_SPLIT_EVERY), 2)
    while x.numblocks[axis] > 1:
        x = TreeSum(x, axis, split)
    return x


@trusted(version=1)
class Drain(Layer):
    """Block ``i`` waits for block ``i`` of each of ``parts`` and block
    ``i // split_every`` of each of ``groups``; its value is None.

    Computed as the first root, it makes the runner's depth-first priority
    run the small consumers of row block ``i`` (picks, the first level of a
    tree sum, a TSQR leaf) right after the row block, so its tuple result is
    released at once instead of when another root's turn comes.
    """

    _parameters = ("parts", "groups", "split_every")

    @property
    def dependencies(self) -> tuple[Layer, ...]:
        return tuple(self.parts) + tuple(self.groups)

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return ((1,) * self.parts[0].numblocks[0],), np.dtype(bool)

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        blocks = np.asarray(out_blocks, dtype=np.int64)
        ptr = np.arange(len(blocks) + 1, dtype=np.int64)
        return [(ptr, blocks) for _ in self.parts] + \
            [(ptr, blocks // self.split_every) for _ in self.groups]

    def kernel(self) -> Kernel:
        return lambda block, inputs: None
