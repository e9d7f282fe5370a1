"""Points of an array gathered block by block: the first step of ``x[rows, cols]``.

For points given by their coordinates along the leading ``k`` axes of
``x``, ``BlockPoints`` makes, from each block of ``x``, the points that
fall in it (sorted by block, then in their given order). Output block
``(b, r...)`` holds the ``counts[b]`` points of leading block ``b``, with
the trailing axes' block ``r``; it reads block ``(b, r...)`` of ``x`` only,
so no task holds more than one input block::

    BlockPoints(x, k=2, local=local_coords, counts=(3, 0, 5, ...))

A ``TakeAxis`` then puts the points back in their given order (the point
axis is small: one entry per point). ``lamina.array.advanced_indexing``
builds both from the index arrays.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from lamina.layers.base import CSR, Chunks, Kernel, Layer, one_to_one
from lamina.layers.chunks import offsets
from lamina.layers.registry import trusted


def points_by_block(chunks: Chunks, coords: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                  tuple[int, ...]]:
    """Sort points (``coords``: (k, n), in bounds) by the block of the leading ``k`` axes.

    Returns the order (positions into the given points), the local
    coordinates within their blocks in that order, and the number of points
    per leading block (C order over those blocks).
    """
    k, n = coords.shape
    numblocks = tuple(len(c) for c in chunks[:k])
    block_coords = np.empty((k, n), dtype=np.int64)
    local = np.empty((k, n), dtype=np.int64)
    for axis in range(k):
        starts = offsets(chunks[axis])
        block_coords[axis] = np.searchsorted(starts, coords[axis], side="right") - 1
        local[axis] = coords[axis] - starts[block_coords[axis]]
    flat = np.ravel_multi_index(tuple(block_coords), numblocks) if n else \
        np.zeros(0, dtype=np.int64)
    order = np.argsort(flat, kind="stable")
    counts = np.bincount(flat, minlength=int(np.prod(numblocks)))
    return order, local[:, order], tuple(int(c) for c in counts)


@trusted(version=1)
class BlockPoints(Layer):
    """The points in each block of ``x``'s leading ``k`` axes (see the module docstring)."""

    _parameters = ("x", "k", "local", "counts")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lead = int(np.prod(self.x.numblocks[:self.k]))
        if len(self.counts) != lead or self.local.shape != (self.k, sum(self.counts)):
            raise ValueError(f"BlockPoints needs one count per leading block ({lead}) and "
                             f"local coordinates of shape ({self.k}, {sum(self.counts)}); got "
                             f"{len(self.counts)} counts and {self.local.shape}")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return (tuple(self.counts),) + self.x.chunks[self.k:], self.x.dtype

    @cached_property
    def _starts(self) -> np.ndarray:
        return offsets(self.counts)

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        # Output block (b, r...) and input block (b as k block indices, r...) share a flat id.
        return [one_to_one(out_blocks)]

    def kernel(self) -> Kernel:
        local, starts = self.local, self._starts
        rest = int(np.prod(self.numblocks[1:]))

        def run(block: int, inputs: list) -> Any:
            b = block // rest if rest else 0
            points = local[:, starts[b]:starts[b + 1]]
            return inputs[0][tuple(points)]

        return run
