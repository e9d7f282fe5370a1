"""Products straight from 2-bit packed codes, never unpacked to floats.

``G Z`` and ``Gᵀ Y`` of a packed genotype block (m x n codes, four per
byte) with thin dense matrices, by the per-byte technique of PLINK 2 and
ProPCA (compiled in ``_lut.h``)::

    y = packed_gz(packed, n, z)        # m x l, G z
    w = packed_gty(packed, n, y)       # n x l, Gᵀ y

A byte holds four calls, so a table of its 256 possible partial products
``Σ_k value(code_k) z[4j + k]`` turns four multiply-adds per column into one
add (``G Z``). ``Gᵀ Y`` uses the same tables built from four rows of ``Y``:
a sample's four codes in those rows, gathered into one byte, pick the row
of the table to add to the sample's output. Each costs about a quarter of
the BLAS's arithmetic and reads the packed bytes (a sixteenth of
float32's) instead of a decoded slab.

``values`` says what each 2-bit code counts: the codes 0..3 themselves by
default; ``GENOTYPE_VALUES`` for genotype blocks whose code 3 is a missing
call (counted as 0; the products correct for it, see ``products``);
``PLINK_VALUES`` reads PLINK 1 ``.bed`` bytes as they are on disk.

``use_fused`` is the choice per block shape: building the tables costs
``64 n l`` adds per block, so a block needs enough rows to repay it, and
very wide ``Z`` (tables beyond the cache) is better left to the BLAS.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.layers.linalg import _lut
from lamina.layers.linalg.packing import packed_width

CODE_VALUES = (0.0, 1.0, 2.0, 3.0)
"""Plain 2-bit codes: each counts as itself."""
GENOTYPE_VALUES = (0.0, 1.0, 2.0, 0.0)
"""Genotype codes: 0/1/2 copies of the counted allele, 3 a missing call (as 0)."""
PLINK_VALUES = (2.0, 0.0, 1.0, 0.0)
"""PLINK 1 ``.bed`` codes: 00 two copies of A1, 01 missing (as 0), 10 one, 11 none."""

TABLE_BYTES = 256 * 2**10
"""Tables of one tile of byte columns (``G Z``): about half of a core's L2."""
GROUP_TABLE_BYTES = 160 * 2**10
"""Tables of the groups of four rows that ``Gᵀ Y`` adds at a time (of 1 to 6
groups at the cohort's block shape, 4 were fastest at l = 20 in float64:
``docs/benchmarks.md``)."""
CHUNK_BYTES = 2 * 2**20
"""Packed rows taken at a time: their bytes stay in cache while every tile reads them."""
MIN_CHUNK_ROWS = 2048
"""But no fewer rows than this, so that rebuilding the tables costs little."""
MIN_ROWS = 256
"""Fewer rows than this do not repay the tables (``benchmarks/bench_kernels.py``)."""
MAX_WIDTH = 64
"""Wider dense operands: the BLAS (one byte's table no longer fits in L1)."""


def use_fused(packed: Any, nrows: int, width: int, dtype: Any) -> bool:
    """Whether the fused kernels beat unpacking and the BLAS for this block shape."""
    return (isinstance(packed, np.ndarray) and np.dtype(dtype) in (np.float32, np.float64)
            and nrows >= MIN_ROWS and 0 < width <= MAX_WIDTH)


def _padded_width(width: int, dtype: np.dtype) -> int:
    """Columns rounded up to whole 16-byte vectors (2 doubles, 4 floats)."""
    per = 16 // dtype.itemsize
    return max(per, -(-width // per) * per)


def _tile(lp: int, dtype: np.dtype) -> int:
    return max(1, TABLE_BYTES // (256 * lp * dtype.itemsize))


def _groups(lp: int, dtype: np.dtype) -> int:
    return max(1, GROUP_TABLE_BYTES // (256 * lp * dtype.itemsize))


def _chunk(packed: np.ndarray) -> int:
    return max(MIN_CHUNK_ROWS, CHUNK_BYTES // max(packed.shape[1], 1))


def _float_dtype(dtype: Any) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"the fused kernels compute in float32 or float64, not {dtype}")
    return dtype


def _values(values: tuple, dtype: np.dtype) -> np.ndarray:
    out = np.asarray(values, dtype=dtype)
    if out.shape != (4,):
        raise ValueError(f"values gives one number per 2-bit code (4), got {out.shape}")
    return out


def _check_packed(packed: Any, ncols: int) -> np.ndarray:
    packed = np.ascontiguousarray(packed)
    if packed.dtype != np.uint8 or packed.ndim != 2:
        raise TypeError(f"packed codes are 2-D uint8, got {packed.ndim}-D {packed.dtype}")
    if packed.shape[1] != packed_width(ncols):
        raise ValueError(f"{packed.shape[1]} bytes per row do not hold {ncols} codes: "
                         f"pass the width the codes were packed with")
    return packed


def packed_gz(packed: Any, ncols: int, z: Any, values: tuple = CODE_VALUES,
              dtype: Any = None, tile: int | None = None,
              chunk: int | None = None) -> np.ndarray:
    """``G z`` (m x l) for ``packed`` (m x ceil(ncols / 4) bytes) and ``z`` (ncols x l).

    Computed in ``dtype`` (default: ``z``'s, float32 or float64); ``tile``
    byte columns share the cache at a time (default: ``TABLE_BYTES`` of tables),
    ``chunk`` rows (default: about ``CHUNK_BYTES`` of them).
    """
    packed = _check_packed(packed, ncols)
    dtype = _float_dtype(dtype or np.asarray(z).dtype)
    z = np.asarray(z, dtype=dtype)
    if z.ndim != 2 or z.shape[0] != ncols:
        raise ValueError(f"z must be {ncols} x l, got shape {z.shape}")
    lp = _padded_width(z.shape[1], dtype)
    zp = np.zeros((4 * packed.shape[1], lp), dtype=dtype)
    zp[:ncols, :z.shape[1]] = z
    out = np.zeros((packed.shape[0], lp), dtype=dtype)
    _lut.gz(packed, zp, out, _values(values, dtype), tile or _tile(lp, dtype),
            chunk or _chunk(packed))
    return out[:, :z.shape[1]]


def packed_gty(packed: Any, ncols: int, y: Any, values: tuple = CODE_VALUES,
               dtype: Any = None, groups: int | None = None) -> np.ndarray:
    """``Gᵀ y`` (ncols x l) for ``packed`` (m x ceil(ncols / 4) bytes) and ``y`` (m x l).

    ``groups`` groups of four rows are added at a time (default: about
    ``GROUP_TABLE_BYTES`` of their tables).
    """
    packed = _check_packed(packed, ncols)
    dtype = _float_dtype(dtype or np.asarray(y).dtype)
    y = np.asarray(y, dtype=dtype)
    if y.ndim != 2 or y.shape[0] != packed.shape[0]:
        raise ValueError(f"y must have {packed.shape[0]} rows (one per packed row), "
                         f"got shape {y.shape}")
    lp = _padded_width(y.shape[1], dtype)
    yp = y if lp == y.shape[1] and y.flags.c_contiguous else np.zeros((y.shape[0], lp), dtype)
    if yp is not y:
        yp[:, :y.shape[1]] = y
    out = np.zeros((4 * packed.shape[1], lp), dtype=dtype)
    _lut.gty(packed, yp, out, _values(values, dtype), groups or _groups(lp, dtype))
    return out[:ncols, :y.shape[1]]


def packed_missing_gz(packed: Any, ncols: int, z: Any) -> np.ndarray:
    """``M z`` (m x l), ``M`` the 0/1 matrix of the missing calls (code 3) of ``packed``,
    read straight from the bytes (a byte scan, no list of positions)."""
    z = np.ascontiguousarray(z)
    out = np.zeros((packed.shape[0], z.shape[1]), dtype=z.dtype)
    _lut.missing_sums(_check_packed(packed, ncols), ncols, np.empty(0, z.dtype), z, out, False)
    return out


def add_packed_missing_gty(out: Any, packed: Any, ncols: int, scale: Any, y: Any) -> None:
    """``out += Mᵀ (scale ∘ y)`` (out: ncols x l) for the missing calls of ``packed``."""
    y = np.ascontiguousarray(y)
    target = out if out.flags.c_contiguous else np.zeros(out.shape, dtype=out.dtype)
    _lut.missing_sums(_check_packed(packed, ncols), ncols,
                      np.ascontiguousarray(scale, dtype=y.dtype), y, target, True)
    if target is not out:
        out += target


def _compiled(*arrays: Any) -> bool:
    """Whether the compiled scatter loops take these arrays (NumPy, one float dtype)."""
    dtypes = {a.dtype for a in arrays}
    return all(isinstance(a, np.ndarray) for a in arrays) and len(dtypes) == 1 \
        and dtypes <= {np.dtype(np.float32), np.dtype(np.float64)}


def missing_rows_product(rows: Any, cols: Any, z: Any, nrows: int) -> Any:
    """``M z`` (nrows x l) for the missing calls at ``(rows, cols)``: a sparse sum."""
    out = np.zeros((nrows, z.shape[1]), dtype=z.dtype)
    if not rows.size:
        return out
    if _compiled(z, out):
        _lut.scatter_rows(np.ascontiguousarray(rows, dtype=np.int64),
                          np.ascontiguousarray(cols, dtype=np.int64), z, out)
    else:
        np.add.at(out, rows, z[cols])
    return out


def add_missing_columns(out: Any, rows: Any, cols: Any, scale: Any, y: Any) -> None:
    """``out += Mᵀ (scale ∘ y)`` (out: columns x l) for the missing calls at ``(rows, cols)``."""
    if not rows.size:
        return
    scale = np.ascontiguousarray(scale, dtype=y.dtype)
    if _compiled(out, y, scale):
        _lut.scatter_scaled(np.ascontiguousarray(rows, dtype=np.int64),
                            np.ascontiguousarray(cols, dtype=np.int64), scale, y, out)
    else:
        np.add.at(out, cols, scale[rows, None] * y[rows])
