"""Rechunk: the same array cut into different blocks.

Along each axis, a new block reads the old blocks it overlaps; the layer's
dependencies are the product of those per-axis tables, and the kernel cuts
and joins the overlapping pieces.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from lamina.layers.base import CSR, Chunks, Kernel, Layer
from lamina.layers.deps import AxisMap, product_deps
from lamina.layers.registry import trusted


def overlap_map(old: tuple[int, ...], new: tuple[int, ...]) -> tuple[AxisMap, list[list[slice]]]:
    """For each new block: the old blocks it overlaps and the slice of each."""
    old_starts = np.concatenate([[0], np.cumsum(old)]).astype(np.int64)
    lists: list[list[int]] = []
    cuts: list[list[slice]] = []
    start = 0
    for size in new:
        stop = start + size
        i = int(np.searchsorted(old_starts, start, side="right") - 1)
        i = min(max(i, 0), len(old) - 1)
        blocks, pieces = [], []
        if size == 0:
            blocks, pieces = [i], [slice(0, 0)]
        while size and i < len(old) and old_starts[i] < stop:
            lo = max(start, int(old_starts[i])) - int(old_starts[i])
            hi = min(stop, int(old_starts[i + 1])) - int(old_starts[i])
            if hi > lo:
                blocks.append(i)
                pieces.append(slice(lo, hi))
            i += 1
        lists.append(blocks)
        cuts.append(pieces)
        start = stop
    return AxisMap.from_lists(lists), cuts


@trusted(version=1)
class Rechunk(Layer):
    _parameters = ("x", "new_chunks")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self.new_chunks, self.x.dtype

    @cached_property
    def _tables(self) -> list[tuple[AxisMap, list[list[slice]]]]:
        return [overlap_map(o, n) for o, n in zip(self.x.chunks, self.new_chunks)]

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        maps = [t[0] for t in self._tables]
        return [product_deps(out_blocks, self.numblocks, maps, self.x.numblocks)]

    def kernel(self) -> Kernel:
        tables = self._tables
        xp = self.array_module
        index = self.block_index
        ndim = self.ndim

        def run(block: int, inputs: list) -> Any:
            if ndim == 0:
                return inputs[0]
            idx = index(block)
            per_axis = [tables[a][1][i] for a, i in enumerate(idx)]
            return join_pieces(xp, inputs, per_axis)

        return run


def join_pieces(xp: Any, inputs: list, per_axis: list[list[slice]]) -> Any:
    """Cut each input by its per-axis slice and join them, C order over axes."""
    counts = [len(p) for p in per_axis]
    if all(c == 1 for c in counts):
        return inputs[0][tuple(p[0] for p in per_axis)]
    pieces = []
    for flat, value in enumerate(inputs):
        pos = np.unravel_index(flat, counts)
        pieces.append(value[tuple(per_axis[a][i] for a, i in enumerate(pos))])
    return nested_concatenate(xp, pieces, counts)


def nested_concatenate(xp: Any, pieces: list, counts: list[int]) -> Any:
    """Join a C-ordered grid of pieces (``counts`` per axis) into one array."""
    for axis in range(len(counts) - 1, -1, -1):
        n = counts[axis]
        pieces = [xp.concatenate(pieces[i:i + n], axis=axis) if n > 1 else pieces[i]
                  for i in range(0, len(pieces), n)]
    return pieces[0]
