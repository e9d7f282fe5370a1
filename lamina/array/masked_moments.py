"""``mean``, ``var`` and ``std`` with ``where=``: NumPy's own formulas, lazily.

    x = la.from_array(np.arange(6.0).reshape(2, 3), chunks=1)
    x.mean(axis=1, where=[True, False, True]).compute()      # [1., 4.]
    np.var(x, where=x > 1, ddof=1)                             # lazy

NumPy computes these (``numpy/_core/_methods.py``) as masked sums: the
mean is ``sum(x, where=w) / count(w)`` in the accumulator dtype, and the
variance sums the squared deviations from that mean where ``w`` holds,
divided by ``max(count - ddof, 0)``. The same steps here are lazy
reductions, so values hidden by the mask (NaN, inf) never count, and a row
with nothing selected gives NaN, as in NumPy (without its warning).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.array.core import Array


def masked_mean(x: Array, axis: Any, keepdims: bool, where: Any, split_every: Any,
                out_dtype: np.dtype, acc_dtype: np.dtype) -> Array:
    """``np.mean(x, ..., where=where)``."""
    mask = _mask(where, x)
    count = _count(mask, axis, keepdims)
    total = _masked_sum(x, axis, acc_dtype, keepdims, mask, split_every)
    return (total / count).astype(total.dtype).astype(out_dtype)


def masked_var(x: Array, axis: Any, dtype: Any, keepdims: bool, ddof: int, where: Any,
               split_every: Any, out_dtype: np.dtype, sqrt: bool) -> Array:
    """``np.var(x, ..., where=where)``, or ``np.std`` when ``sqrt``."""
    if dtype is None and x.dtype.kind in "biu":
        dtype = np.float64
    acc = None if dtype is None else np.dtype(dtype)
    mask = _mask(where, x)
    mean = _masked_sum(x, axis, acc, True, mask, split_every)
    mean = (mean / _count(mask, axis, True)).astype(mean.dtype)
    dev = x - mean
    if dev.dtype.kind == "c":
        sq = dev.real * dev.real + dev.imag * dev.imag
    else:
        sq = dev * dev
    ret = _masked_sum(sq, axis, acc, keepdims, mask, split_every)
    ret = (ret / np.maximum(_count(mask, axis, keepdims) - ddof, 0)).astype(ret.dtype)
    if sqrt:
        ret = np.sqrt(ret)
    return ret.astype(out_dtype)


def _mask(where: Any, x: Array) -> Array:
    """``where`` as a boolean Array of ``x``'s shape and chunks (NumPy broadcasting)."""
    from lamina.array.ufunc_reduce import _mask

    return _mask(where, x)


def _count(mask: Array, axis: Any, keepdims: bool) -> Array:
    from lamina.array.reductions import sum

    return sum(mask, axis=axis, dtype=np.intp, keepdims=keepdims)


def _masked_sum(x: Array, axis: Any, dtype: Any, keepdims: bool, mask: Array,
                split_every: Any) -> Array:
    from lamina.array.ufunc_reduce import ufunc_reduce

    return ufunc_reduce(np.add, x, axis=axis, dtype=dtype, keepdims=keepdims, where=mask,
                        split_every=split_every)
