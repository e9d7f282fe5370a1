"""NaN-ignoring reductions: ``nanprod``, ``nanvar``, ``nanstd``, ``nanargmin``, ``nanargmax``.

    la.nanvar(x, axis=0, ddof=1)      # NaN left out of the count
    la.nanargmax(x, axis=1)           # ValueError at compute on an all-NaN slice

Each follows NumPy's own recipe (``numpy/lib/_nanfunctions_impl.py``) on
the existing chunked reductions: NaN is replaced by the neutral value
(1 for products, 0 for sums, ±inf for arg-extremes), and variances divide
by the count of values that are not NaN. ``nansum``, ``nanmean``,
``nanmin`` and ``nanmax`` live in ``lamina.array.reductions``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.array import reductions
from lamina.array.core import Array
from lamina.array.creation import asarray
from lamina.array.elementwise import elemwise, where
from lamina.array.manipulation import squeeze


def _replaced(x: Array, value: Any) -> Array:
    """``x`` with NaN replaced by ``value`` (``x`` itself when it cannot hold NaN)."""
    if x.dtype.kind not in "fc":
        return x
    return where(np.isnan(x), np.asarray(value, dtype=x.dtype), x)


def nanprod(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,
            split_every: Any = None) -> Array:
    """Product over ``axis``, NaN counted as one."""
    a = asarray(a)
    return reductions.prod(_replaced(a, 1), axis=axis, dtype=dtype, keepdims=keepdims,
                           split_every=split_every)


def _divide_by_dof(total: Array, count: Array, ddof: int, dtype: np.dtype) -> Array:
    """``total / (count - ddof)``, NaN where the degrees of freedom are not positive."""
    return elemwise(_dof_quotient, total, count, ddof=int(ddof), dtype=dtype,
                    name="nanvar-divide")


def _dof_quotient(total: np.ndarray, count: np.ndarray, ddof: int) -> np.ndarray:
    dof = count - ddof
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.true_divide(total, dof, dtype=total.dtype)
    return np.where(dof <= 0, np.array(np.nan, dtype=total.dtype), out)


def nanvar(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, ddof: int = 0,
           split_every: Any = None) -> Array:
    """Variance over ``axis`` of the values that are not NaN (two passes, as NumPy).

    NaN where fewer than ``ddof + 1`` values are not NaN.
    """
    a = asarray(a)
    if a.dtype.kind not in "fc":
        return reductions.var(a, axis=axis, dtype=dtype, keepdims=keepdims, ddof=ddof,
                              split_every=split_every)
    reductions._no_integer_dtype("nanvar", dtype)
    out_dtype = np.asarray(np.nanvar(np.zeros(2, dtype=a.dtype), dtype=dtype)).dtype
    acc = np.dtype(dtype) if dtype is not None else (
        np.float32 if a.dtype == np.float16 else a.dtype)
    kept = ~np.isnan(a)
    count = reductions.sum(kept, axis=axis, dtype=np.intp, keepdims=True,
                           split_every=split_every)
    total = reductions.sum(_replaced(a, 0), axis=axis, dtype=acc, keepdims=True,
                           split_every=split_every)
    mean = elemwise(_mean_of, total, count, dtype=total.dtype, name="nanvar-mean")
    centered = where(kept, a - mean, np.asarray(0, dtype=acc))
    squared = (centered.real ** 2 + centered.imag ** 2 if acc.kind == "c"
               else centered * centered)
    sq_total = reductions.sum(squared, axis=axis, dtype=squared.dtype, keepdims=keepdims,
                              split_every=split_every)
    if not keepdims:
        count = squeeze(count, axis=reductions.normalize_axes(axis, a.ndim))
    return _divide_by_dof(sq_total, count, ddof, sq_total.dtype).astype(out_dtype)


def _mean_of(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.true_divide(total, count, dtype=total.dtype)


def nanstd(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, ddof: int = 0,
           split_every: Any = None) -> Array:
    """Standard deviation over ``axis`` of the values that are not NaN."""
    return np.sqrt(nanvar(a, axis=axis, dtype=dtype, keepdims=keepdims, ddof=ddof,
                          split_every=split_every))


def _checked_arg(index: np.ndarray, all_nan: np.ndarray) -> np.ndarray:
    if np.any(all_nan):
        raise ValueError("All-NaN slice encountered")
    return index


def _nan_arg(a: Any, name: str, fill: float, axis: Any, keepdims: bool,
             split_every: Any) -> Array:
    a = asarray(a)
    reduce = getattr(reductions, name[3:])
    if a.dtype.kind not in "fc":
        return reduce(a, axis=axis, keepdims=keepdims, split_every=split_every)
    index = reduce(_replaced(a, fill), axis=axis, keepdims=keepdims, split_every=split_every)
    all_nan = reductions.all(np.isnan(a), axis=axis, keepdims=keepdims,
                             split_every=split_every)
    return elemwise(_checked_arg, index, all_nan, dtype=index.dtype, name=name)


def nanargmin(a: Any, axis: int | None = None, keepdims: bool = False,
              split_every: Any = None) -> Array:
    """Index of the minimum ignoring NaN; computing it raises ValueError on an all-NaN slice."""
    return _nan_arg(a, "nanargmin", np.inf, axis, keepdims, split_every)


def nanargmax(a: Any, axis: int | None = None, keepdims: bool = False,
              split_every: Any = None) -> Array:
    """Index of the maximum ignoring NaN; computing it raises ValueError on an all-NaN slice."""
    return _nan_arg(a, "nanargmax", -np.inf, axis, keepdims, split_every)


__all__ = ["nanargmax", "nanargmin", "nanprod", "nanstd", "nanvar"]
