"""When a float64 product may run in float32 and still be exact.

Genotype codes are small integers, and so is a random sign sketch ``Ω``
and, before any scaling, ``Y = A Ω``. Every partial sum of a product of
integer-valued operands is then an integer; float32 holds each integer of
magnitude up to ``2**24`` exactly, so if ``inner · max|a| · max|m|`` stays
below that bound the float32 product is exact, whatever order the BLAS
adds in, and equal bit for bit to the float64 one, at twice the speed::

    dtype = product_dtype(code_bound(view), view.shape[1], z, np.float64)
    for start, stop, slab in view.slabs(dtype):
        y[start:stop] += slab @ z.astype(dtype)       # exact either way

Nothing is rounded: when the bound does not hold, or an operand is not
integer-valued, the product runs in the requested dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

EXACT_FLOAT32 = 2**24


def code_bound(view: Any) -> int | None:
    """The largest |value| of a block of integer codes, or None for floats.

    2-bit packed blocks hold 0..3 by construction; other integer blocks are
    scanned (one pass of min/max, cheap beside a product with the block).
    """
    if view.packed:
        return 3
    value = view.value
    if value.dtype.kind == "b":
        return 1
    if value.dtype.kind not in "iu":
        return None
    if value.size == 0:
        return 0
    return max(abs(int(value.min())), abs(int(value.max())))


def integer_bound(m: Any) -> int | None:
    """``max |m|`` when every entry of float array ``m`` is an integer, else None."""
    m = np.asarray(m)
    if m.size == 0:
        return 0
    if not np.isfinite(m).all() or not np.array_equal(m, np.rint(m)):
        return None
    return int(np.abs(m).max())


def product_dtype(a_bound: int | None, inner: int, m: Any, dtype: Any) -> np.dtype:
    """float32 when ``A @ m`` (or ``mᵀ @ A``) with ``inner`` terms per sum is exact
    in it (see the module docs), else ``dtype``."""
    dtype = np.dtype(dtype)
    if dtype != np.float64 or a_bound is None:
        return dtype
    m_bound = integer_bound(m)
    if m_bound is None or inner * a_bound * m_bound >= EXACT_FLOAT32:
        return dtype
    return np.dtype(np.float32)
