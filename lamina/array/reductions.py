"""Reductions of chunked arrays, with NumPy's signatures and dtypes.

    x = la.from_array(np.arange(12).reshape(3, 4), chunks=2)
    x.sum(axis=0).compute()                 # array([12, 15, 18, 21])
    np.mean(x, axis=(0, 1), keepdims=True)  # lazy: an Array of shape (1, 1)
    x.argmax().compute()                    # 11, the flat index like NumPy

Each function builds a tree of layers (``lamina.layers.reductions``): every
block is reduced on its own, then groups of ``split_every`` partial results
are merged until one block remains along the reduced axes. ``split_every``
is an int (blocks per group in all, shared among the reduced axes), a dict
``{axis: blocks per group}`` (axes not named: 2), or None for a default
that keeps groups small and the tree shallow.
"""

from __future__ import annotations

import builtins
import operator
from typing import Any, Callable

import numpy as np

from lamina.array.core import Array
from lamina.layers.reductions import default_split_every, reduction

SplitEvery = int | dict | None


def normalize_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """Sorted non-negative axes; AxisError and duplicate checks like NumPy."""
    if axis is None:
        return tuple(range(ndim))
    items = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in items:
        a = operator.index(a)
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(a, ndim)
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"duplicate value in 'axis': {axis}")
    return tuple(sorted(out))


def _split(x: Array, axes: tuple[int, ...], split_every: SplitEvery) -> tuple[int, ...] | None:
    if split_every is None:
        return None
    if isinstance(split_every, dict):
        given = {normalize_axes(k, x.ndim)[0]: int(v) for k, v in split_every.items()}
        out = tuple(given.get(k, 2) for k in axes)
    else:
        total = operator.index(split_every)
        if total < 2:
            raise ValueError(f"split_every={split_every} must be at least 2 (blocks per group)")
        out = default_split_every([x.numblocks[k] for k in axes], total=total)
    if builtins.any(s < 2 for s in out):
        raise ValueError(f"split_every {split_every} must give at least 2 blocks per group")
    return out


def _reduce(x: Any, op: str, axis: Any, keepdims: bool, split_every: SplitEvery,
            acc_dtype: Any, out_dtype: Any, options: tuple = ()) -> Array:
    x = _as_array(x)
    axes = normalize_axes(axis, x.ndim)
    acc_dtype, out_dtype = np.dtype(acc_dtype), np.dtype(out_dtype)
    layer = reduction(x.layer, op, axes, acc_dtype, out_dtype, keepdims,
                      _split(x, axes, split_every), options)
    return Array(layer)


def _as_array(x: Any) -> Array:
    from lamina.array.creation import asarray

    return asarray(x)


def _probe(func: Callable, in_dtype: np.dtype, dtype: Any) -> np.dtype:
    """The dtype NumPy's ``func(x, dtype=dtype)`` gives for ``x`` of ``in_dtype``."""
    with np.errstate(all="ignore"):
        return np.asarray(func(np.zeros(1, dtype=in_dtype), dtype=dtype)).dtype


def _float_acc(x: Array, dtype: Any) -> np.dtype:
    """Accumulator of mean/var: as given, float64 for ints, float32 for float16."""
    if dtype is not None:
        return np.dtype(dtype)
    if x.dtype.kind in "biu":
        return np.dtype(np.float64)
    if x.dtype == np.float16:
        return np.dtype(np.float32)
    return x.dtype


def _no_identity(x: Array, axes: tuple[int, ...], name: str) -> None:
    if builtins.any(x.shape[k] == 0 for k in axes):
        if name.startswith("arg"):
            raise ValueError(f"attempt to get {name} of an empty sequence")
        raise ValueError(
            f"zero-size array to reduction operation {name} which has no identity: "
            "reduce over non-empty axes only"
        )


_NO_VALUE = np._NoValue


def _masked_or_started(ufunc: np.ufunc, x: Array, axis: Any, dtype: Any, keepdims: bool,
                       initial: Any, where: Any, out: Any, split_every: SplitEvery
                       ) -> Array | None:
    """The reduction through ``ufunc.reduce`` when ``initial`` or ``where`` is given."""
    _no_out(out)
    if initial is _NO_VALUE and (where is True or where is _NO_VALUE):
        return None
    from lamina.array.ufunc_reduce import ufunc_reduce

    return ufunc_reduce(ufunc, x, axis=axis, dtype=dtype, keepdims=keepdims, initial=initial,
                        where=True if where is _NO_VALUE else where, split_every=split_every)


def sum(x: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,
        split_every: SplitEvery = None, initial: Any = _NO_VALUE, where: Any = True,
        out: Any = None) -> Array:
    """Sum over ``axis``; small ints accumulate as int64 like NumPy."""
    x = _as_array(x)
    out_dtype = _probe(np.sum, x.dtype, dtype=dtype)
    started = _masked_or_started(np.add, x, axis, out_dtype, keepdims, initial, where, out,
                                 split_every)
    if started is not None:
        return started
    return _reduce(x, "sum", axis, keepdims, split_every, out_dtype, out_dtype)


def prod(x: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,
         split_every: SplitEvery = None, initial: Any = _NO_VALUE, where: Any = True,
         out: Any = None) -> Array:
    """Product over ``axis``."""
    x = _as_array(x)
    out_dtype = _probe(np.prod, x.dtype, dtype=dtype)
    started = _masked_or_started(np.multiply, x, axis, out_dtype, keepdims, initial, where,
                                 out, split_every)
    if started is not None:
        return started
    return _reduce(x, "prod", axis, keepdims, split_every, out_dtype, out_dtype)


def mean(x: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,
         split_every: SplitEvery = None, where: Any = True, out: Any = None) -> Array:
    """Mean over ``axis``; integers give float64. ``where=`` as in NumPy."""
    x = _as_array(x)
    _no_out(out)
    result = _probe(np.mean, x.dtype, dtype=dtype)
    if _masked(where):
        from lamina.array.masked_moments import masked_mean

        return masked_mean(x, axis, keepdims, where, split_every, result, _float_acc(x, dtype))
    return _reduce(x, "mean", axis, keepdims, split_every, _float_acc(x, dtype), result)


def _masked(where: Any) -> bool:
    return not (where is _NO_VALUE or (isinstance(where, (bool, np.bool_)) and bool(where)))


def _no_out(out: Any) -> None:
    if out is not None:
        raise TypeError("out= is not supported on lamina Arrays, which are immutable: use the "
                        "returned Array")


def _no_integer_dtype(name: str, dtype: Any) -> None:
    if dtype is not None and np.dtype(dtype).kind in "biu":
        raise TypeError(
            f"{name} with dtype={np.dtype(dtype)} is not supported on lamina Arrays: NumPy "
            "computes it in wrapping integer arithmetic, which a parallel formula cannot "
            "reproduce; give a float dtype (and cast the result)"
        )


def _ddof(ddof: Any, correction: Any) -> int | float:
    if correction is not None:
        if ddof:
            raise TypeError("give ddof or correction, not both")
        ddof = correction
    value = float(ddof) if isinstance(ddof, (float, np.floating)) else operator.index(ddof)
    return int(value) if float(value).is_integer() else value


def _moment(name: str, x: Any, axis: Any, dtype: Any, keepdims: bool, ddof: Any,
            split_every: SplitEvery, where: Any, out: Any, correction: Any) -> Array:
    _no_integer_dtype(name, dtype)
    _no_out(out)
    x = _as_array(x)
    result = _probe(getattr(np, name), x.dtype, dtype=dtype)
    ddof = _ddof(ddof, correction)
    if _masked(where):
        from lamina.array.masked_moments import masked_var

        return masked_var(x, axis, dtype, keepdims, ddof, where, split_every, result,
                          sqrt=name == "std")
    return _reduce(x, name, axis, keepdims, split_every, _float_acc(x, dtype), result,
                   (("ddof", ddof),))


def var(x: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, ddof: int = 0,
        split_every: SplitEvery = None, where: Any = True, out: Any = None, *,
        correction: int | float | None = None) -> Array:
    """Variance over ``axis`` (Chan's parallel formula: stable for large means).

    With ``where=``, NumPy's two-pass formula over the mask
    (``lamina.array.masked_moments``). ``correction`` is the Array API's name
    for ``ddof`` (give one of them).
    """
    return _moment("var", x, axis, dtype, keepdims, ddof, split_every, where, out, correction)


def std(x: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, ddof: int = 0,
        split_every: SplitEvery = None, where: Any = True, out: Any = None, *,
        correction: int | float | None = None) -> Array:
    """Standard deviation over ``axis``; ``where=`` and ``correction`` as in ``var``."""
    return _moment("std", x, axis, dtype, keepdims, ddof, split_every, where, out, correction)


def _extreme(x: Any, op: str, name: str, axis: Any, keepdims: bool,
             split_every: SplitEvery, initial: Any = _NO_VALUE, where: Any = True,
             out: Any = None) -> Array:
    x = _as_array(x)
    if op in ("min", "max"):
        started = _masked_or_started(getattr(np, name), x, axis, None, keepdims, initial, where,
                                     out, split_every)
        if started is not None:
            return started
    _no_identity(x, normalize_axes(axis, x.ndim), name)
    return _reduce(x, op, axis, keepdims, split_every, x.dtype, x.dtype)


def min(x: Any, axis: Any = None, keepdims: bool = False, split_every: SplitEvery = None,
        initial: Any = _NO_VALUE, where: Any = True, out: Any = None) -> Array:
    """Minimum over ``axis``; NaN wins like NumPy."""
    return _extreme(x, "min", "minimum", axis, keepdims, split_every, initial, where, out)


def max(x: Any, axis: Any = None, keepdims: bool = False, split_every: SplitEvery = None,
        initial: Any = _NO_VALUE, where: Any = True, out: Any = None) -> Array:
    """Maximum over ``axis``; NaN wins like NumPy."""
    return _extreme(x, "max", "maximum", axis, keepdims, split_every, initial, where, out)


def any(x: Any, axis: Any = None, keepdims: bool = False, split_every: SplitEvery = None,
        where: Any = True, out: Any = None) -> Array:
    """Whether any element along ``axis`` is true."""
    x = _as_array(x)
    masked = _masked_or_started(np.logical_or, x, axis, np.bool_, keepdims, _NO_VALUE, where,
                                out, split_every)
    if masked is not None:
        return masked
    return _reduce(x, "any", axis, keepdims, split_every, np.bool_, np.bool_)


def all(x: Any, axis: Any = None, keepdims: bool = False, split_every: SplitEvery = None,
        where: Any = True, out: Any = None) -> Array:
    """Whether every element along ``axis`` is true."""
    x = _as_array(x)
    masked = _masked_or_started(np.logical_and, x, axis, np.bool_, keepdims, _NO_VALUE, where,
                                out, split_every)
    if masked is not None:
        return masked
    return _reduce(x, "all", axis, keepdims, split_every, np.bool_, np.bool_)


def _arg(x: Any, op: str, axis: Any, keepdims: bool, split_every: SplitEvery) -> Array:
    x = _as_array(x)
    if axis is not None and not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op} takes one axis (an int) or None, got {axis!r}")
    axes = normalize_axes(axis, x.ndim)
    _no_identity(x, axes, op)
    return _reduce(x, op, axis, keepdims, split_every, np.int64, np.intp)


def argmin(x: Any, axis: int | None = None, keepdims: bool = False,
           split_every: SplitEvery = None) -> Array:
    """Index of the minimum along ``axis`` (``None``: the flat index), first on ties."""
    return _arg(x, "argmin", axis, keepdims, split_every)


def argmax(x: Any, axis: int | None = None, keepdims: bool = False,
           split_every: SplitEvery = None) -> Array:
    """Index of the maximum along ``axis`` (``None``: the flat index), first on ties."""
    return _arg(x, "argmax", axis, keepdims, split_every)


def _has_nan(x: Array) -> bool:
    return x.dtype.kind in "fc"


def nansum(x: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,
           split_every: SplitEvery = None) -> Array:
    """Sum over ``axis``, NaN counted as zero."""
    x = _as_array(x)
    out = _probe(np.nansum, x.dtype, dtype=dtype)
    op = "nansum" if _has_nan(x) else "sum"
    return _reduce(x, op, axis, keepdims, split_every, out, out)


def nanmean(x: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,
            split_every: SplitEvery = None) -> Array:
    """Mean over ``axis`` of the values that are not NaN (NaN where there are none)."""
    x = _as_array(x)
    if not _has_nan(x):
        return mean(x, axis=axis, dtype=dtype, keepdims=keepdims, split_every=split_every)
    out = _probe(np.nanmean, x.dtype, dtype=dtype)
    return _reduce(x, "nanmean", axis, keepdims, split_every, _float_acc(x, dtype), out)


def nanmin(x: Any, axis: Any = None, keepdims: bool = False,
           split_every: SplitEvery = None) -> Array:
    """Minimum over ``axis`` ignoring NaN (NaN where all are NaN)."""
    x = _as_array(x)
    if not _has_nan(x):
        return min(x, axis=axis, keepdims=keepdims, split_every=split_every)
    return _extreme(x, "nanmin", "fmin", axis, keepdims, split_every)


def nanmax(x: Any, axis: Any = None, keepdims: bool = False,
           split_every: SplitEvery = None) -> Array:
    """Maximum over ``axis`` ignoring NaN (NaN where all are NaN)."""
    x = _as_array(x)
    if not _has_nan(x):
        return max(x, axis=axis, keepdims=keepdims, split_every=split_every)
    return _extreme(x, "nanmax", "fmax", axis, keepdims, split_every)


__all__ = ["sum", "prod", "mean", "var", "std", "min", "max", "any", "all", "argmin", "argmax",
           "nansum", "nanmean", "nanmin", "nanmax", "normalize_axes"]
