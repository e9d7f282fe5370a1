"""Vectorized block-dependency primitives shared by the array layers.

Most layers' dependencies factor by axis: output block ``(i, j)`` reads the
input blocks in ``rows[i] x cols[j]``. ``AxisMap`` holds one such per-axis
table as CSR (output block along the axis -> input blocks along it);
``product_deps`` expands a list of them into the CSR over flat block ids for
any set of output blocks, with NumPy only: no Python loop over blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

CSR = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class AxisMap:
    """Per-axis dependency table: output block ``o`` reads input blocks
    ``indices[indptr[o]:indptr[o + 1]]`` along this axis."""

    indptr: np.ndarray
    indices: np.ndarray

    @classmethod
    def identity(cls, n: int) -> "AxisMap":
        return cls(np.arange(n + 1, dtype=np.int64), np.arange(n, dtype=np.int64))

    @classmethod
    def constant(cls, n_out: int, block: int = 0) -> "AxisMap":
        """Every output block reads input block ``block`` (broadcasting)."""
        return cls(np.arange(n_out + 1, dtype=np.int64), np.full(n_out, block, dtype=np.int64))

    @classmethod
    def from_lists(cls, lists: Sequence[Sequence[int]]) -> "AxisMap":
        counts = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
        indptr = np.zeros(len(lists) + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        flat = [i for x in lists for i in x]
        return cls(indptr, np.asarray(flat, dtype=np.int64).reshape(-1))

    @classmethod
    def groups(cls, n_in: int, size: int) -> "AxisMap":
        """Output block ``o`` reads input blocks ``o*size .. o*size+size-1``."""
        n_out = max(-(-n_in // size), 1) if n_in else 0
        indptr = np.minimum(np.arange(n_out + 1, dtype=np.int64) * size, n_in)
        return cls(indptr, np.arange(n_in, dtype=np.int64))

    def lists(self) -> list[list[int]]:
        return [self.indices[a:b].tolist() for a, b in zip(self.indptr[:-1], self.indptr[1:])]


def unravel(flat: np.ndarray, numblocks: Sequence[int]) -> np.ndarray:
    """Flat block ids -> (n, ndim) block coordinates, C order."""
    flat = np.asarray(flat, dtype=np.int64)
    if not numblocks:
        return np.zeros((len(flat), 0), dtype=np.int64)
    return np.stack(np.unravel_index(flat, tuple(numblocks)), axis=1).astype(np.int64, copy=False)


def ravel(coords: np.ndarray, numblocks: Sequence[int]) -> np.ndarray:
    """(n, ndim) block coordinates -> flat block ids, C order."""
    n = coords.shape[0]
    flat = np.zeros(n, dtype=np.int64)
    for axis, nb in enumerate(numblocks):
        flat *= nb
        flat += coords[:, axis]
    return flat


def product_deps(
    out_blocks: np.ndarray,
    out_numblocks: Sequence[int],
    axis_maps: Sequence[AxisMap | None],
    in_numblocks: Sequence[int],
    out_axis_of: Sequence[int | None] | None = None,
) -> CSR:
    """Expand per-axis tables into CSR over flat ids of the input grid.

    ``axis_maps[k]`` describes input axis ``k``; ``out_axis_of[k]`` names the
    output axis whose block coordinate indexes that table (default: the same
    axis). ``None`` in ``out_axis_of`` means "an input axis with no output
    axis": its table has one row (row 0) that every output block reads.
    Within a row, input blocks come in C order of the input grid.
    """
    out_blocks = np.asarray(out_blocks, dtype=np.int64)
    n = len(out_blocks)
    ndim_in = len(in_numblocks)
    if out_axis_of is None:
        out_axis_of = list(range(ndim_in))
    coords = unravel(out_blocks, out_numblocks)
    per_axis_start = []
    per_axis_count = []
    for k in range(ndim_in):
        amap = axis_maps[k]
        src = out_axis_of[k]
        rows = coords[:, src] if src is not None else np.zeros(n, dtype=np.int64)
        start = amap.indptr[rows]
        per_axis_start.append(start)
        per_axis_count.append(amap.indptr[rows + 1] - start)
    total = np.ones(n, dtype=np.int64)
    for c in per_axis_count:
        total *= c
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(total, out=indptr[1:])
    if ndim_in == 0:
        return indptr, np.zeros(int(indptr[-1]), dtype=np.int64)
    if bool(np.all(total == 1)):
        flat = np.zeros(n, dtype=np.int64)
        for k in range(ndim_in):
            flat *= in_numblocks[k]
            flat += axis_maps[k].indices[per_axis_start[k]]
        return indptr, flat
    row = np.repeat(np.arange(n, dtype=np.int64), total)
    local = np.arange(int(indptr[-1]), dtype=np.int64) - indptr[row]
    in_coords = np.empty((len(row), ndim_in), dtype=np.int64)
    for k in range(ndim_in - 1, -1, -1):
        count = per_axis_count[k][row]
        local, pos = np.divmod(local, count)
        in_coords[:, k] = axis_maps[k].indices[per_axis_start[k][row] + pos]
    return indptr, ravel(in_coords, in_numblocks)


def merge_csr(parts: Sequence[CSR], n: int) -> CSR:
    """Interleave several CSR tables over the same ``n`` rows, row by row.

    Row ``i`` of the result is row ``i`` of ``parts[0]``, then of
    ``parts[1]``, ... — the order a kernel sees its inputs.
    """
    if len(parts) == 1:
        return parts[0]
    counts = [p[0][1:] - p[0][:-1] for p in parts]
    total = np.sum(counts, axis=0) if counts else np.zeros(n, dtype=np.int64)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(total, out=indptr[1:])
    out = np.empty(int(indptr[-1]), dtype=np.int64)
    before = indptr[:-1].copy()
    for (p_indptr, p_indices), count in zip(parts, counts):
        if len(p_indices):
            row = np.repeat(np.arange(n, dtype=np.int64), count)
            pos = np.arange(len(p_indices), dtype=np.int64) - p_indptr[row]
            out[before[row] + pos] = p_indices
        before += count
    return indptr, out
