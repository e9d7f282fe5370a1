"""Exact QR and SVD of tall-and-skinny (or short-and-fat) arrays.

    q, r = tsqr(a)                 # a: one block along the columns
    u, s, v = svd(a)               # a ≈ u @ np.diag(s) @ v; lazy Arrays
    u, s, v = svd(a.T-like)        # one block along the rows works too

The results are lazy ``Array``s; compute them together
(``lamina.compute(u, s, v)``) to share the factorization. ``tsqr`` stacks
the per-block ``R`` factors in groups of ``split_every`` and recurses while
more than one group is left; by default a group's stack stays under
``STACK_BYTES``. Conventions: ``diag(r) ≥ 0``; the SVD follows
``lamina.layers.linalg.signs``. An array chunked along both axes has no exact
blockwise SVD here: use ``svd_compressed`` for the leading singular triplets.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.array.core import Array
from lamina.array.creation import asarray
from lamina.array.elementwise import elemwise
from lamina.layers.base import Layer
from lamina.layers.blockwise import Blockwise
from lamina.layers.linalg.combine import Pick
from lamina.layers.linalg.tsqr_layers import (
    ApplyFactor,
    BlockQR,
    ChildFactor,
    ColumnSigns,
    FirstBlockQR,
    ShortFatR,
    StackQR,
    TopFactor,
)

STACK_BYTES = 64 * 2**20


def float_dtype(dtype: Any) -> np.dtype:
    """The float dtype the factorizations of ``dtype`` data compute in."""
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        raise TypeError("complex arrays are not supported by lamina.linalg yet")
    if dtype.kind == "f" and dtype.itemsize <= 4:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _as_matrix(a: Any, what: str) -> Array:
    a = asarray(a)
    if a.ndim != 2:
        raise ValueError(f"{what} needs a 2-D array, got {a.ndim} dimensions")
    return a


def default_split_every(ncols: int, itemsize: int) -> int:
    """Children per stacked QR so that one stack stays under ``STACK_BYTES``."""
    return max(2, STACK_BYTES // max(ncols * ncols * itemsize, 1))


def tsqr(a: Any, split_every: int | None = None, compute_svd: bool = False) -> tuple:
    """QR (or, with ``compute_svd``, SVD) of a tall-and-skinny array.

    ``a`` must have one block along its columns. Returns lazy ``(q, r)`` or
    ``(u, s, v)``.
    """
    a = _as_matrix(a, "tsqr")
    if a.numblocks[1] != 1:
        raise ValueError(
            f"tsqr needs one block along the columns, got {a.numblocks[1]}: "
            "rechunk with a.rechunk({1: -1}) (or use svd_compressed for wide arrays)"
        )
    dtype = float_dtype(a.dtype)
    ncols = a.shape[1]
    split = int(split_every) if split_every else default_split_every(ncols, dtype.itemsize)
    if split < 2:
        raise ValueError(f"split_every must be at least 2, got {split_every}")
    level0 = BlockQR(a.layer, dtype)
    levels = [StackQR(level0, split)]
    while levels[-1].nblocks > 1:
        levels.append(StackQR(levels[-1], split))
    top = TopFactor(levels[-1], "svd" if compute_svd else "qr")
    factors: Layer = top
    index: int | None = 0
    for level in reversed(levels):
        factors = ChildFactor(level, factors, index)
        index = None
    rank = levels[-1].ranks[0]
    q = Array(ApplyFactor(level0, factors, rank))
    if compute_svd:
        s = Array(Pick(top, 1, ((rank,),), dtype))
        v = Array(Pick(top, 2, ((rank,), (ncols,)), dtype))
        return q, s, v
    return q, Array(Pick(top, 1, ((rank,), (ncols,)), dtype))


def qr(a: Any, split_every: int | None = None) -> tuple[Array, Array]:
    """QR of a tall-and-skinny (one column block) or short-and-fat (one row block) array."""
    a = _as_matrix(a, "qr")
    if a.numblocks[1] == 1:
        return tsqr(a, split_every=split_every)
    if a.numblocks[0] == 1:
        return _short_fat_qr(a)
    raise ValueError(
        f"qr needs one block along the columns or the rows, got {a.numblocks} blocks: "
        "rechunk with a.rechunk({1: -1}) for a tall-and-skinny array"
    )


def svd(a: Any, split_every: int | None = None) -> tuple[Array, Array, Array]:
    """Exact SVD ``a = u @ diag(s) @ v`` of a tall-and-skinny or short-and-fat array.

    Raises ``ValueError`` when ``a`` is chunked along both axes: there is no
    exact blockwise algorithm for that case; ``svd_compressed`` computes the
    leading singular triplets.
    """
    a = _as_matrix(a, "svd")
    rows, cols = a.numblocks
    if rows > 1 and cols > 1:
        raise ValueError(
            f"svd needs one of the dimensions in a single block, got {a.numblocks} blocks: "
            "rechunk with a.rechunk({1: -1}) for a tall-and-skinny array, or use "
            "lamina.linalg.svd_compressed(a, k) for the leading k singular triplets"
        )
    if cols == 1 and (rows > 1 or a.shape[0] >= a.shape[1]):
        return tsqr(a, split_every=split_every, compute_svd=True)
    u2, s, vt2 = tsqr(transpose(a), split_every=split_every, compute_svd=True)
    signs = Array(ColumnSigns(u2.layer))
    u = elemwise(np.multiply, transpose(vt2), signs, dtype=u2.dtype)
    v = transpose(elemwise(np.multiply, u2, signs, dtype=u2.dtype))
    return u, s, v


def transpose(x: Array) -> Array:
    """The transpose of a 2-D array, one block per block."""
    layer = Blockwise(np.transpose, (x.chunks[1], x.chunks[0]), x.dtype, ((1, 0),), (),
                      (x.layer,), "transpose")
    return Array(layer)


def _short_fat_qr(a: Array) -> tuple[Array, Array]:
    m = a.shape[0]
    if a.chunks[1][0] < m:
        raise ValueError(
            f"short-and-fat qr factors the first column block, {a.chunks[1][0]} wide, which "
            f"must be at least as wide as the {m} rows: rechunk the columns to >= {m}"
        )
    dtype = float_dtype(a.dtype)
    first = FirstBlockQR(a.layer, dtype)
    q = Array(Pick(first, 0, ((m,), (m,)), dtype))
    return q, Array(ShortFatR(a.layer, first))
