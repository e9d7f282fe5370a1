"""Blocks of codes held 2-bit packed along their columns, for ``Aᵀ Y`` at ``G Z`` speed.

A row pass reads block ``A_ij`` once and needs it twice: for ``Y = A Z``
and, once ``Y`` is known, for ``Aᵀ Y``. The fused ``Gᵀ Y`` kernel adds rows
of ``Y`` into per-byte buckets and is bound by those stores; the ``G Z``
kernel only loads from its tables and runs 1.5 to 2 times as fast on the same
block (``benchmarks/bench_kernels.py``). A block packed along its columns
is ``Aᵀ`` packed along its rows, so ``Aᵀ Y = packed_gz(Aᵀ, Y)``::

    held = pack_columns(block)                 # None unless codes 0..3
    w = columns_product(held, y, np.float64)   # block.T @ y

It is packed in pieces of ``PIECE_ROWS`` rows of ``A``, each its own
product: a piece's sums have few enough terms that an integer-valued ``Y``
(the first pass of an unscaled SVD of codes, see ``exact``) gives an exact
float32 product, and the float64 sum of the pieces is exact too. Packing
costs about a tenth of the product it speeds up (one compiled pass over
the bytes, ``_colpack``), and the held copy is a quarter of uint8's bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lamina.layers.linalg import _colpack
from lamina.layers.linalg.exact import product_dtype
from lamina.layers.linalg.fused import CODE_VALUES, packed_gz, use_fused
from lamina.layers.linalg.packing import packed_width

PIECE_ROWS = 4096
"""Rows of ``A`` per packed piece (a multiple of 4): with codes up to 3, an
integer ``Y`` up to 1365 in magnitude keeps the piece's float32 sums exact."""


@dataclass(frozen=True)
class ColumnPacked:
    """A block of codes 0..3 (m x n) as pieces of its transpose, 2-bit packed by row.

    Piece ``p`` is ``n x ceil(rows / 4)`` bytes for rows
    ``p * PIECE_ROWS`` up to the next piece (or ``m``).
    """

    pieces: tuple
    shape: tuple[int, int]

    @property
    def nbytes(self) -> int:
        return sum(int(p.nbytes) for p in self.pieces)


def pack_columns(block: Any) -> ColumnPacked | None:
    """``block`` packed along its columns, or None when it is not a NumPy
    block of one-byte integers all in 0..3 (the caller then keeps it as it is)."""
    if not isinstance(block, np.ndarray) or block.ndim != 2 or block.dtype.kind not in "biu" \
            or block.dtype.itemsize != 1:
        return None
    codes = np.ascontiguousarray(block).view(np.uint8)
    m, n = codes.shape
    pieces = []
    for start in range(0, m, PIECE_ROWS):
        rows = codes[start:start + PIECE_ROWS]
        out = np.empty((n, packed_width(rows.shape[0])), dtype=np.uint8)
        if not _colpack.pack_columns(rows, out):
            return None
        pieces.append(out)
    return ColumnPacked(tuple(pieces), (m, n))


def worth_packing(block: Any, width: int, dtype: Any) -> bool:
    """Whether ``Aᵀ Y`` (``Y`` m x ``width``) of this block is faster packed along columns:
    the ``G Z`` kernel must suit the transposed shape (see ``fused.use_fused``)."""
    shape = getattr(block, "shape", ())
    return len(shape) == 2 and use_fused(np.empty((0, 0), np.uint8), shape[1], width, dtype)


def columns_product(held: ColumnPacked, y: Any, dtype: Any) -> np.ndarray:
    """``Aᵀ y`` (n x l) in ``dtype``, each piece in float32 where that is exact."""
    dtype = np.dtype(dtype)
    y = np.asarray(y, dtype=dtype)
    m, n = held.shape
    if y.ndim != 2 or y.shape[0] != m:
        raise ValueError(f"y must have {m} rows (one per row of the block), got shape {y.shape}")
    out = np.zeros((n, y.shape[1]), dtype=dtype)
    for index, piece in enumerate(held.pieces):
        start = index * PIECE_ROWS
        part = y[start:start + PIECE_ROWS]
        exact = product_dtype(3, part.shape[0], part, dtype)
        out += packed_gz(piece, part.shape[0], part.astype(exact, copy=False), CODE_VALUES)
    return out
