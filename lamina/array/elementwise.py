"""Elementwise operations with NumPy broadcasting.

Every NumPy ufunc reaches ``elemwise`` through ``__array_ufunc__``::

    np.sin(x) + 1      # two Blockwise layers, one task per block each

Arguments are broadcast as NumPy does, their chunks unified (rechunked to
the chunks of the argument with the most blocks along each axis), and the
output dtype is found by calling the function on one-element arrays.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy as np

from lamina.array.core import Array
from lamina.layers.blockwise import Blockwise, validate_alignment
from lamina.layers.elementwise import NthOutput, cast


def _is_arraylike(value: Any) -> bool:
    return isinstance(value, Array) or (hasattr(value, "shape") and hasattr(value, "dtype")
                                        and getattr(value, "ndim", 0) > 0)


def _as_array(value: Any) -> Array:
    from lamina.array.creation import from_array

    return value if isinstance(value, Array) else from_array(value, chunks=-1)


def broadcast_chunks(args: Sequence[Array]) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    """Output shape and chunks for broadcasting ``args`` together."""
    shape = np.broadcast_shapes(*[a.shape for a in args])
    ndim = len(shape)
    chunks: list[tuple[int, ...]] = []
    for o in range(ndim):
        best: tuple[int, ...] | None = None
        for a in args:
            k = o - (ndim - a.ndim)
            if k < 0 or a.shape[k] != shape[o]:
                continue
            c = a.chunks[k]
            if best is None or len(c) > len(best):
                best = c
        chunks.append(best if best is not None else (shape[o],))
    return shape, tuple(chunks)


def elemwise(func: Callable, *args: Any, dtype: Any = None, name: str | None = None,
             **kwargs: Any) -> Array:
    """Apply ``func`` elementwise with broadcasting; a lazy ``Array``."""
    arrays = [_as_array(a) if _is_arraylike(a) else a for a in args]
    lazy = [a for a in arrays if isinstance(a, Array)]
    if not lazy:
        raise TypeError("elemwise needs at least one array argument")
    shape, chunks = broadcast_chunks(lazy)
    ndim = len(shape)
    if dtype is None:
        dtype = infer_dtype(func, arrays, kwargs, empty=0 in shape)
    layer_args, arg_axes = [], []
    for a in arrays:
        if not isinstance(a, Array):
            layer_args.append(a)
            arg_axes.append(None)
            continue
        offset = ndim - a.ndim
        target = tuple(
            chunks[k + offset] if a.shape[k] == shape[k + offset] else (a.shape[k],)
            for k in range(a.ndim)
        )
        if target != a.chunks:
            a = a.rechunk(target)
        layer_args.append(a.layer)
        arg_axes.append(tuple(range(offset, ndim)))
    args_t, axes_t = tuple(layer_args), tuple(arg_axes)
    validate_alignment(chunks, args_t, axes_t)
    layer = Blockwise(func, chunks, np.dtype(dtype), axes_t, tuple(sorted(kwargs.items())),
                      args_t, name or getattr(func, "__name__", None))
    return Array(layer)


def infer_dtype(func: Callable, args: Sequence[Any], kwargs: dict,
                empty: bool = False) -> np.dtype:
    """The dtype ``func`` returns, found by calling it on one-element arrays.

    A ufunc that fails on the probes fails on any data (say, a Python int
    out of the array dtype's range), so its error is raised now, as NumPy
    would; another function's failure falls back to the promoted dtype.
    An ``empty`` result is probed with empty arrays: NumPy raises no error
    that depends on values (``int ** -1``) when there are none.
    """
    side = 0 if empty else 1
    probes = []
    for a in args:
        if isinstance(a, Array) or _is_arraylike(a):
            probes.append(np.ones((side,) * a.ndim, dtype=a.dtype))
        else:
            probes.append(a)
    with np.errstate(all="ignore"):
        try:
            out = func(*probes, **kwargs)
        except TypeError:
            raise
        except Exception:
            if _is_ufunc(func):
                raise
            return np.result_type(*[p.dtype if hasattr(p, "dtype") else p for p in probes])
    if isinstance(out, tuple):
        raise TypeError(f"{getattr(func, '__name__', func)} returns several outputs")
    return np.asarray(out).dtype


def _is_ufunc(func: Callable) -> bool:
    while isinstance(func, (functools.partial, NthOutput)):
        func = func.func if isinstance(func, functools.partial) else func.ufunc
    return isinstance(func, np.ufunc)


def array_ufunc(ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
    """``__array_ufunc__``: ufunc calls and ufunc reductions stay lazy."""
    if kwargs.get("out") is not None:
        raise TypeError(
            f"numpy.{ufunc.__name__}{'' if method == '__call__' else '.' + method}(..., out=) "
            "is not supported on lamina Arrays, which are immutable: use the returned Array"
        )
    kwargs.pop("out", None)
    inputs = tuple(np.asarray(i) if isinstance(i, (list, tuple)) else i for i in inputs)
    if not all(isinstance(i, (Array, np.ndarray, np.generic, int, float, complex, bool))
               for i in inputs):
        return NotImplemented
    if ufunc is np.matmul and method == "__call__":
        from lamina.array.contraction import matmul

        return matmul(*inputs)
    if ufunc.signature is not None:
        raise TypeError(
            f"numpy.{ufunc.__name__} (a generalized ufunc) is not supported on lamina Arrays: "
            "compute first, or use lamina.array.matmul/tensordot"
        )
    if method == "__call__":
        if kwargs.get("where", True) is not True:
            raise TypeError(
                f"{ufunc.__name__}(..., where=) is not supported on lamina Arrays: "
                "use lamina.array.where(condition, result, other) instead"
            )
        kwargs.pop("where", None)
        func = functools.partial(ufunc, **kwargs) if kwargs else ufunc
        if ufunc.nout == 1:
            return elemwise(func, *inputs, name=ufunc.__name__)
        return tuple(
            elemwise(NthOutput(func, i), *inputs, name=f"{ufunc.__name__}[{i}]")
            for i in range(ufunc.nout)
        )
    if method == "reduce" and len(inputs) == 1:
        from lamina.array.ufunc_reduce import reduce_from_protocol

        return reduce_from_protocol(ufunc, inputs[0], kwargs)
    if method == "outer" and len(inputs) == 2:
        return ufunc_outer(ufunc, *inputs, **kwargs)
    if method == "accumulate" and len(inputs) == 1:
        from lamina.array.scans import accumulate

        return accumulate(ufunc, inputs[0], **kwargs)
    raise TypeError(
        f"numpy.{ufunc.__name__}.{method} is not supported on lamina Arrays: compute first "
        f"to call it in NumPy (supported: the call itself, reduce, accumulate and outer)"
    )


def ufunc_outer(ufunc: np.ufunc, a: Any, b: Any, **kwargs: Any) -> Array:
    """``ufunc.outer(a, b)``: ``ufunc(a[..., None, ...], b)`` with ``b.ndim`` new axes."""
    from lamina.array.creation import asarray

    a, b = asarray(a), asarray(b)
    expanded = a.reshape(a.shape + (1,) * b.ndim)
    return array_ufunc(ufunc, "__call__", expanded, b, **kwargs)


def power_operator(base: Array, exponent: Any) -> Any:
    """``base ** exponent`` exactly as NumPy's ``**`` operator computes it.

    For an exponent that is exactly a Python ``2``, ``-1`` or ``0.5``, NumPy's
    operator calls ``square``, ``reciprocal`` or ``sqrt`` instead of
    ``power`` (the last two only for float and complex arrays). Their
    special values and dtypes differ from ``np.power``'s: ``(inf+0j) ** -1``
    is ``-0-0j`` (``np.power`` gives ``nan+nanj``) and ``bool_array ** 2``
    is int8 (``np.power``: int64). ``np.power(x, e)`` itself stays ``power``.
    """
    fast = None
    if type(exponent) is int and exponent == 2:
        fast = np.square
    elif base.dtype.kind in "fc" and (type(exponent) is int and exponent == -1
                                      or type(exponent) is float and exponent == 0.5):
        fast = np.reciprocal if exponent == -1 else np.sqrt
    return fast(base) if fast is not None else np.power(base, exponent)


def real(x: Any) -> Array:
    """The real part, like ``np.real``."""
    return elemwise(np.real, x, name="real")


def imag(x: Any) -> Array:
    """The imaginary part, like ``np.imag``."""
    return elemwise(np.imag, x, name="imag")


def astype(x: Array, dtype: Any, casting: str = "unsafe", *, copy: bool = True,
           device: Any = None) -> Array:
    """Cast to ``dtype``; errors like NumPy for casts the rule forbids.

    Arrays are immutable, so ``copy=False`` with the same dtype returns
    ``x`` itself and ``copy=True`` a new handle on the same layer (a later
    ``x[i] = v`` rebinds ``x`` only).
    """
    from lamina.array.info import check_device

    check_device(device)
    dtype = np.dtype(dtype)
    if dtype == x.dtype:
        return Array(x.layer) if copy else x
    if not np.can_cast(x.dtype, dtype, casting=casting):
        raise TypeError(
            f"Cannot cast array data from {x.dtype!r} to {dtype!r} according to the rule "
            f"{casting!r}"
        )
    return elemwise(cast, x, dtype=dtype, name="astype", to=dtype)


def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    """Elementwise choice, like ``np.where``; one-argument form is not lazy."""
    if x is None and y is None:
        raise NotImplementedError(
            "where(condition) has unknown output size: use nonzero on a computed array"
        )
    if x is None or y is None:
        raise ValueError("either both or neither of x and y should be given")
    return elemwise(np.where, condition, x, y, name="where")
