"""Order statistics: ``median``, ``quantile``, ``percentile`` (exact, NumPy's methods).

    la.median(x, axis=0)
    la.quantile(x, [0.1, 0.9], axis=1)          # q axes first, as in NumPy
    la.percentile(x, 50, axis=(0, 1), method="nearest")

Exact order statistics need every value of a slice together, so the
reduced axes are rechunked to one block (the others stay chunked) and each
block calls NumPy itself: the values, NaN handling and dtypes are NumPy's.
``axis=None`` puts the whole array in one block.

The dtype is the one NumPy gives for NaN-free data: NumPy's ``quantile``
returns a NaN slice in the input's dtype (float32 NaN where the other
slices give float64), which a lazy result cannot depend on.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from lamina.array.core import Array
from lamina.array.creation import asarray, from_array
from lamina.array.manipulation import ravel
from lamina.array.map_blocks import map_blocks
from lamina.array.reductions import normalize_axes
from lamina.array.slicing import getitem


def _q_block(block: np.ndarray, func: Callable, axes: tuple[int, ...], dtype: np.dtype,
             **kwargs: Any) -> Any:
    with np.errstate(all="ignore"):
        return np.asarray(func(block, axis=axes, keepdims=True, **kwargs)).astype(dtype,
                                                                                  copy=False)


def _whole_axes(func: Callable, name: str, a: Any, axis: Any, keepdims: bool,
                q_shape: tuple[int, ...], **kwargs: Any) -> Array:
    a = asarray(a)
    if a.size == 0:  # nothing to read: NumPy's own answer (or error) for the empty shape
        with np.errstate(all="ignore"):
            empty = np.asarray(func(np.empty(a.shape, a.dtype), axis=axis, keepdims=keepdims,
                                    **kwargs))
        return from_array(empty, chunks=-1)
    flat = axis is None
    if flat:
        shape = a.shape
        a = ravel(a)
    axes = normalize_axes(axis, a.ndim)
    a = a.rechunk({k: -1 for k in axes})
    with np.errstate(all="ignore"):
        dtype = np.asarray(func(np.ones((1,) * a.ndim, dtype=a.dtype), **kwargs)).dtype
    chunks = tuple((n,) for n in q_shape) + tuple(
        (1,) if k in axes else c for k, c in enumerate(a.chunks))
    out = map_blocks(functools.partial(_q_block, func=func, axes=axes, dtype=dtype, **kwargs), a,
                     dtype=dtype, chunks=chunks,
                     new_axis=tuple(range(len(q_shape))) if q_shape else None, name=name)
    lead = (slice(None),) * len(q_shape)
    if flat:
        return out.reshape(q_shape + (1,) * len(shape)) if keepdims else getitem(out, lead + (0,))
    if keepdims:
        return out
    return getitem(out, lead + tuple(0 if k in axes else slice(None) for k in range(a.ndim)))


def median(a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
           keepdims: bool = False) -> Array:
    """The median along ``axis``, exactly ``np.median`` (NaN if a slice holds NaN)."""
    if out is not None:
        raise TypeError("median(out=...) is not supported on lamina Arrays: use the result")
    return _whole_axes(np.median, "median", a, axis, keepdims, ())


def _checked_q(q: Any, scale: float, name: str) -> np.ndarray:
    if isinstance(q, Array):
        q = q.compute()
    # As NumPy does: percentile divides first, both then take the array of q.
    q = np.asanyarray(np.true_divide(q, scale) if scale != 1 else q)
    if not (np.all(q >= 0) and np.all(q <= 1)):
        raise ValueError(f"{name} must be in the range [0, {int(scale)}]")
    return q


def _q_function(name: str, scale: float, a: Any, q: Any, axis: Any, out: Any, method: str,
                keepdims: bool, weights: Any, interpolation: Any) -> Array:
    if out is not None or weights is not None or interpolation is not None:
        raise TypeError(f"{name} supports neither out=, weights= nor interpolation= on "
                        "lamina Arrays: use method=")
    q = _checked_q(q, scale, "Quantiles" if scale == 1 else "Percentiles")
    return _whole_axes(np.quantile, name, a, axis, keepdims, q.shape, q=q, method=method)


def quantile(a: Any, q: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
             method: str = "linear", keepdims: bool = False, *, weights: Any = None,
             interpolation: Any = None) -> Array:
    """The ``q``-th quantiles along ``axis``, exactly ``np.quantile`` (with its methods)."""
    return _q_function("quantile", 1.0, a, q, axis, out, method, keepdims, weights,
                       interpolation)


def percentile(a: Any, q: Any, axis: Any = None, out: Any = None,
               overwrite_input: bool = False, method: str = "linear", keepdims: bool = False,
               *, weights: Any = None, interpolation: Any = None) -> Array:
    """The ``q``-th percentiles along ``axis``, exactly ``np.percentile``."""
    return _q_function("percentile", 100.0, a, q, axis, out, method, keepdims, weights,
                       interpolation)


__all__ = ["median", "percentile", "quantile"]
