"""Concatenate: arrays joined along one axis, block for block.

    Concatenate((a, b), 0, np.dtype("f8"))

The output's blocks along ``axis`` are the blocks of ``a`` then those of
``b``; along the other axes all arrays must have the same chunks. Each
output block is one block of one input, cast to the common dtype, so the
layer has one CSR per input in which every row has one entry or none.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from lamina.layers.base import CSR, Chunks, Kernel, Layer
from lamina.layers.deps import ravel, unravel
from lamina.layers.registry import trusted


@trusted(version=1)
class Concatenate(Layer):
    """``np.concatenate(arrays, axis)`` with blocks kept as they are."""

    _parameters = ("arrays", "axis", "out_dtype")

    @property
    def dependencies(self) -> tuple[Layer, ...]:
        return tuple(self.arrays)

    def _meta(self) -> tuple[Chunks, np.dtype]:
        first = self.arrays[0]
        for i, a in enumerate(self.arrays[1:], 1):
            for k in range(first.ndim):
                if k != self.axis and a.chunks[k] != first.chunks[k]:
                    raise ValueError(
                        f"array {i} has chunks {a.chunks[k]} on axis {k} but array 0 has "
                        f"{first.chunks[k]}: rechunk the arrays to common chunks first")
        chunks = list(first.chunks)
        chunks[self.axis] = tuple(c for a in self.arrays for c in a.chunks[self.axis])
        return tuple(chunks), self.out_dtype

    @cached_property
    def _block_starts(self) -> np.ndarray:
        """First output block (along ``axis``) of each array, plus the total."""
        starts = np.zeros(len(self.arrays) + 1, dtype=np.int64)
        np.cumsum([a.numblocks[self.axis] for a in self.arrays], out=starts[1:])
        return starts

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        coords = unravel(out_blocks, self.numblocks)
        owner = np.searchsorted(self._block_starts, coords[:, self.axis], side="right") - 1
        out = []
        for k, a in enumerate(self.arrays):
            mine = owner == k
            indptr = np.zeros(len(out_blocks) + 1, dtype=np.int64)
            np.cumsum(mine, out=indptr[1:])
            local = coords[mine]
            local[:, self.axis] -= self._block_starts[k]
            out.append((indptr, ravel(local, a.numblocks)))
        return out

    def kernel(self) -> Kernel:
        dtype = self.dtype
        return lambda block, inputs: inputs[0].astype(dtype, copy=False)
