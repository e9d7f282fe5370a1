"""``np.<ufunc>.reduce`` on lamina Arrays, with NumPy's arguments and results.

    x = la.from_array(np.arange(6.0).reshape(2, 3), chunks=1)
    np.add.reduce(x, axis=1, where=[True, False, True]).compute()   # [2., 8.]
    np.maximum.reduce(x, axis=None, initial=10.0).compute()         # 10.0
    np.add.reduce(small_ints, dtype="int8")                         # wraps like NumPy

``axis`` (default 0, None, negative or a tuple), ``dtype``, ``keepdims``,
``initial`` and ``where`` mean what they mean in NumPy. The result dtype
and every argument error come from NumPy itself: the reduce is first
called on a one-element stand-in of the input, so a mask without an
identity or ``initial``, a bad axis or an ``initial`` out of range fail
now, with NumPy's message.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.array.core import Array
from lamina.array.reductions import _split, normalize_axes
from lamina.layers.reductions import combine_tree, default_split_every
from lamina.layers.ufunc_reduce import IDEMPOTENT, REORDERABLE, UfuncReduceChunk

_ARGUMENTS = ("axis", "dtype", "keepdims", "initial", "where")


def ufunc_reduce(ufunc: np.ufunc, x: Any, axis: Any = 0, dtype: Any = None,
                 keepdims: bool = False, initial: Any = np._NoValue, where: Any = True,
                 split_every: Any = None) -> Array:
    """``ufunc.reduce(x, ...)`` as a lazy Array; see the module docstring."""
    from lamina.array.creation import asarray

    if ufunc.__name__ not in REORDERABLE:
        raise TypeError(
            f"numpy.{ufunc.__name__}.reduce is not supported on lamina Arrays: its blocks "
            f"cannot be reduced in any order; supported: {', '.join(REORDERABLE)}. "
            "Compute first to reduce in NumPy"
        )
    x = asarray(x)
    if initial is None:
        initial = np._NoValue
    axes = normalize_axes(axis, x.ndim)
    mask = None if _is_true(where) else _mask(where, x)
    out_dtype = _probe(ufunc, x, axes, dtype, keepdims, initial, mask)
    init = None if initial is np._NoValue else _cast_initial(ufunc, x, dtype, initial, out_dtype)
    partials = UfuncReduceChunk(x.layer, True if mask is None else mask.layer, ufunc.__name__,
                                axes, out_dtype, init)
    split = _split(x, axes, split_every)
    if split is None:
        width = int(np.prod([max(c) if c else 1 for k, c in enumerate(x.chunks)
                             if k not in axes]))
        split = default_split_every([x.numblocks[k] for k in axes], width * out_dtype.itemsize)
    options = () if init is None or ufunc.__name__ in IDEMPOTENT else (("initial", init),)
    return Array(combine_tree(partials, f"ufunc.{ufunc.__name__}", axes, split, keepdims,
                              out_dtype, options))


def reduce_from_protocol(ufunc: np.ufunc, x: Any, kwargs: dict) -> Array:
    """``__array_ufunc__(ufunc, "reduce", x, **kwargs)``: check the keywords, then reduce."""
    unknown = sorted(set(kwargs) - set(_ARGUMENTS))
    if unknown:
        raise TypeError(f"numpy.{ufunc.__name__}.reduce on lamina Arrays takes "
                        f"{', '.join(_ARGUMENTS)}; {', '.join(unknown)} is not supported")
    return ufunc_reduce(ufunc, x, **kwargs)


def _is_true(where: Any) -> bool:
    return where is True or (isinstance(where, (bool, np.bool_)) and bool(where))


def _mask(where: Any, x: Array) -> Array:
    """``where`` as a boolean Array of ``x``'s shape and chunks (NumPy broadcasting)."""
    from lamina.array.creation import asarray, broadcast_to

    dtype = where.dtype if isinstance(where, (np.ndarray, Array)) else None
    if dtype is not None and not np.can_cast(dtype, np.bool_, casting="safe"):
        raise TypeError(f"Cannot cast array data from {np.dtype(dtype)!r} to dtype('bool') "
                        "according to the rule 'safe': give where= as a boolean mask")
    if isinstance(where, Array):
        mask = where
    else:  # a list is read as booleans, an array must be boolean already, as in NumPy
        mask = asarray(np.asarray(where, dtype=np.bool_))
    try:
        np.broadcast_shapes(mask.shape, x.shape)
    except ValueError:
        raise ValueError(f"where= of shape {mask.shape} does not broadcast to the input's "
                         f"shape {x.shape}") from None
    if mask.shape != x.shape:
        mask = broadcast_to(mask, x.shape)
    return mask.rechunk(x.chunks)


def _stand_in(x: Array, axes: tuple[int, ...]) -> np.ndarray:
    """One element per axis (none along an empty axis), of ``x``'s dtype."""
    return np.ones(tuple(0 if n == 0 else 1 for n in x.shape), dtype=x.dtype)


def _probe(ufunc: np.ufunc, x: Array, axes: tuple[int, ...], dtype: Any, keepdims: bool,
           initial: Any, mask: Array | None) -> np.dtype:
    """The dtype NumPy's reduce gives here, raising NumPy's error where it would."""
    sample = _stand_in(x, axes)
    kwargs: dict[str, Any] = {"axis": axes, "dtype": dtype, "keepdims": keepdims}
    if initial is not np._NoValue:
        kwargs["initial"] = initial
    if mask is not None:
        kwargs["where"] = np.ones(sample.shape, dtype=bool)
    with np.errstate(all="ignore"):
        return np.asarray(ufunc.reduce(sample, **kwargs)).dtype


def _cast_initial(ufunc: np.ufunc, x: Array, dtype: Any, initial: Any, out_dtype: np.dtype
                  ) -> Any:
    """``initial`` as NumPy converts it: the reduce of nothing, a plain value."""
    with np.errstate(all="ignore"):
        value = ufunc.reduce(np.zeros((0,), dtype=x.dtype), axis=0, dtype=dtype,
                             initial=initial)
    return np.asarray(value).astype(out_dtype).item()
