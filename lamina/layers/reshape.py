"""Reshape, block by block, where the chunks allow it.

``reshape_plan`` splits the axes (size-1 axes aside) into the smallest
groups whose sizes match, e.g. ``(6, 4, 5) -> (24, 5)`` gives groups
``[0, 1] -> [0]`` and ``[2] -> [1]``. A group works block by block when
all its input axes after the first are one block, and each block of the
first one, flattened over the group, is a whole number of rows of the
output's trailing group axes::

    plan = reshape_plan((6, 4), ((2, 2, 2), (4,)), (24,))
    plan.out_chunks                       # ((8, 8, 8),)
    Reshape(x, (24,))                     # one output block per input block

Otherwise ``reshape_plan`` raises a ValueError naming the rechunk that
makes it work, and ``rechunk_for_reshape`` gives that rechunk (which
``lamina.array.reshape`` applies first).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from lamina.layers.base import CSR, Chunks, Kernel, Layer
from lamina.layers.deps import AxisMap, product_deps
from lamina.layers.registry import trusted


@dataclass(frozen=True)
class ReshapePlan:
    """Output chunks, and for each input axis the output axis whose block
    index it shares (None: the input axis is one block, always block 0)."""

    out_chunks: Chunks
    out_axis_of: tuple[int | None, ...]


def axis_groups(in_shape: tuple[int, ...], out_shape: tuple[int, ...]
                ) -> list[tuple[list[int], list[int]]]:
    """Smallest groups of (input axes, output axes) with equal sizes, size-1
    axes left out. Both shapes must have the same non-zero size."""
    ins = [i for i, n in enumerate(in_shape) if n != 1]
    outs = [j for j, n in enumerate(out_shape) if n != 1]
    groups = []
    i = j = 0
    while i < len(ins):
        gi, gj = [ins[i]], [outs[j]]
        pi, pj = in_shape[ins[i]], out_shape[outs[j]]
        i, j = i + 1, j + 1
        while pi != pj:
            if pi < pj:
                gi.append(ins[i])
                pi *= in_shape[ins[i]]
                i += 1
            else:
                gj.append(outs[j])
                pj *= out_shape[outs[j]]
                j += 1
        groups.append((gi, gj))
    return groups


def reshape_plan(in_shape: tuple[int, ...], in_chunks: Chunks,
                 out_shape: tuple[int, ...]) -> ReshapePlan:
    """How to reshape block by block, or a ValueError naming the rechunk to do."""
    plan, needed = _plan_or_rechunk(in_shape, in_chunks, out_shape)
    if needed:
        raise _rechunk_error(in_shape, in_chunks, out_shape, needed)
    return plan


def rechunk_for_reshape(in_shape: tuple[int, ...], in_chunks: Chunks,
                        out_shape: tuple[int, ...]) -> dict[int, int]:
    """The rechunk ``{axis: block size}`` (-1: one block) after which a reshape
    works block by block; empty when it already does.

    As in Dask's reshape, the trailing input axes of a merged group become
    one block and the leading axis gets blocks that are a whole number of
    output rows (its largest block rounded up to such a multiple).
    """
    return _plan_or_rechunk(in_shape, in_chunks, out_shape)[1]


def _plan_or_rechunk(in_shape: tuple[int, ...], in_chunks: Chunks, out_shape: tuple[int, ...]
                     ) -> tuple[ReshapePlan, dict[int, int]]:
    if math.prod(in_shape) != math.prod(out_shape):
        raise ValueError(f"cannot reshape array of size {math.prod(in_shape)} into shape "
                         f"{tuple(out_shape)}")
    if math.prod(in_shape) == 0:
        multi = {k: -1 for k, c in enumerate(in_chunks) if len(c) > 1}
        return ReshapePlan(tuple((n,) for n in out_shape), (None,) * len(in_shape)), multi
    out_chunks: list[tuple[int, ...]] = [(n,) for n in out_shape]
    out_axis_of: list[int | None] = [None] * len(in_shape)
    needed: dict[int, int] = {}
    for gi, gj in axis_groups(in_shape, out_shape):
        first = gi[0]
        rows = math.prod(in_shape[k] for k in gi[1:])
        cols = math.prod(out_shape[k] for k in gj[1:])
        for k in gi[1:]:
            if len(in_chunks[k]) > 1:
                needed[k] = -1
        unit = cols // math.gcd(rows, cols)
        sizes = in_chunks[first]
        if any(c % unit for c in sizes):
            needed[first] = min(-(-max(sizes) // unit) * unit, in_shape[first])
        out_chunks[gj[0]] = tuple(c * rows // cols for c in sizes)
        out_axis_of[first] = gj[0]
    return ReshapePlan(tuple(out_chunks), tuple(out_axis_of)), needed


def _rechunk_error(in_shape: tuple[int, ...], in_chunks: Chunks, out_shape: tuple[int, ...],
                   needed: dict[int, int]) -> ValueError:
    return ValueError(
        f"reshape from shape {tuple(in_shape)} with chunks {_brief(in_chunks)} to "
        f"{tuple(out_shape)} cannot work block by block: rechunk first with "
        f"x.rechunk({dict(sorted(needed.items()))})"
    )


def _brief(chunks: Chunks) -> str:
    """Chunks for a message: long axes shortened to their first and last blocks."""
    parts = []
    for sizes in chunks:
        if len(sizes) <= 6:
            parts.append(str(tuple(sizes)))
        else:
            head = ", ".join(str(s) for s in sizes[:3])
            parts.append(f"({head}, ..., {sizes[-1]}: {len(sizes)} blocks)")
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


@trusted(version=1)
class Reshape(Layer):
    """``x.reshape(shape)`` where ``reshape_plan`` says it works block by block."""

    _parameters = ("x", "shape_")

    @cached_property
    def _plan(self) -> ReshapePlan:
        return reshape_plan(self.x.shape, self.x.chunks, tuple(self.shape_))

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self._plan.out_chunks, self.x.dtype

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        out_axis_of = self._plan.out_axis_of
        maps = [AxisMap.identity(nb) if o is not None else AxisMap.constant(1)
                for nb, o in zip(self.x.numblocks, out_axis_of)]
        return [product_deps(out_blocks, self.numblocks, maps, self.x.numblocks, out_axis_of)]

    def kernel(self) -> Kernel:
        chunks = self.chunks
        index = self.block_index

        def run(block: int, inputs: list) -> Any:
            shape = tuple(c[i] for c, i in zip(chunks, index(block)))
            return inputs[0].reshape(shape)

        return run
