"""The Array API ``fft`` extension: ``lamina.array.fft``.

    import lamina.array as la
    la.fft.fft(x, axis=0)          # axis 0 rechunked to one block, the others kept
    la.fft.rfftn(x, axes=(1, 2))   # NumPy's pocketfft on each block

A transform needs the whole of each axis it transforms, so those axes are
rechunked to one block; the other axes keep their chunks and each block is
transformed on its own (no data moves between blocks). Single precision
stays single (complex64), as the standard asks.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from lamina.array.core import Array
from lamina.array.creation import asarray, from_array
from lamina.array.info import check_device
from lamina.array.map_blocks import map_blocks

_NORMS = ("backward", "ortho", "forward")


def _complex_of(dtype: np.dtype) -> np.dtype:
    return np.dtype(np.complex64 if dtype in (np.float32, np.complex64) else np.complex128)


def _real_of(dtype: np.dtype) -> np.dtype:
    return np.dtype(np.float32 if dtype in (np.float32, np.complex64) else np.float64)


def _transform(func: Callable, x: Any, transformed: Sequence[int], lengths: Sequence[int],
               dtype: np.dtype, label: str, **kwargs: Any) -> Array:
    """``func`` over whole ``transformed`` axes of each block, ``lengths`` long after it."""
    x = asarray(x)
    if kwargs.get("norm", "backward") not in _NORMS:
        raise ValueError(f"norm must be one of {_NORMS}, got {kwargs['norm']!r}")
    x = x.rechunk({a: -1 for a in transformed})
    chunks = list(x.chunks)
    for a, n in zip(transformed, lengths):
        if n < 1 and not label.endswith("shift"):
            raise ValueError(f"fft.{label}: invalid number of data points ({n}) along axis {a}")
        chunks[a] = (n,)
    return map_blocks(func, x, dtype=dtype, chunks=tuple(chunks), name=f"fft.{label}",
                      **kwargs)


def _one_axis(func: Callable, name: str, kind: str):
    def transform(x: Any, /, *, n: int | None = None, axis: int = -1,
                  norm: str = "backward") -> Array:
        x = asarray(x)
        axis = normalize_axis_index(axis, x.ndim)
        length = x.shape[axis]
        if kind == "c2r":
            out = n if n is not None else 2 * (length - 1)
            dtype = _real_of(x.dtype)
        else:
            out = n if n is not None else length
            if kind == "r2c":
                out = out // 2 + 1
            dtype = _complex_of(x.dtype)
        return _transform(func, x, (axis,), (out,), dtype, name, n=n, axis=axis, norm=norm)
    transform.__name__ = transform.__qualname__ = name
    transform.__doc__ = f"``numpy.fft.{name}`` along ``axis``, which is rechunked to one block."
    return transform


def _many_axes(func: Callable, name: str, kind: str):
    def transform(x: Any, /, *, s: Sequence[int] | None = None,
                  axes: Sequence[int] | None = None, norm: str = "backward") -> Array:
        x = asarray(x)
        if axes is None:
            axes = tuple(range(x.ndim)) if s is None else tuple(range(x.ndim - len(s), x.ndim))
        axes = normalize_axis_tuple(tuple(axes), x.ndim, "axes")
        if s is None:
            s = [x.shape[a] for a in axes]
            if kind == "c2r":
                s[-1] = 2 * (x.shape[axes[-1]] - 1)
        s = [x.shape[a] if n == -1 else int(n) for a, n in zip(axes, s)]
        if len(s) != len(axes):
            raise ValueError(f"fft.{name}: s and axes must have the same length")
        lengths = list(s)
        if kind == "r2c":
            lengths[-1] = s[-1] // 2 + 1
        dtype = _real_of(x.dtype) if kind == "c2r" else _complex_of(x.dtype)
        return _transform(func, x, axes, lengths, dtype, name, s=tuple(s), axes=axes,
                          norm=norm)
    transform.__name__ = transform.__qualname__ = name
    transform.__doc__ = f"``numpy.fft.{name}`` over ``axes``, each rechunked to one block."
    return transform


fft = _one_axis(np.fft.fft, "fft", "c2c")
ifft = _one_axis(np.fft.ifft, "ifft", "c2c")
rfft = _one_axis(np.fft.rfft, "rfft", "r2c")
irfft = _one_axis(np.fft.irfft, "irfft", "c2r")
hfft = _one_axis(np.fft.hfft, "hfft", "c2r")
ihfft = _one_axis(np.fft.ihfft, "ihfft", "r2c")
fftn = _many_axes(np.fft.fftn, "fftn", "c2c")
ifftn = _many_axes(np.fft.ifftn, "ifftn", "c2c")
rfftn = _many_axes(np.fft.rfftn, "rfftn", "r2c")
irfftn = _many_axes(np.fft.irfftn, "irfftn", "c2r")


def fftfreq(n: int, /, *, d: float = 1.0, dtype: Any = None, device: Any = None) -> Array:
    """The sample frequencies of an ``n``-point transform (one block)."""
    check_device(device)
    return from_array(np.fft.fftfreq(n, d).astype(dtype or np.float64, copy=False), chunks=-1)


def rfftfreq(n: int, /, *, d: float = 1.0, dtype: Any = None, device: Any = None) -> Array:
    """The sample frequencies of an ``n``-point real transform (one block)."""
    check_device(device)
    return from_array(np.fft.rfftfreq(n, d).astype(dtype or np.float64, copy=False), chunks=-1)


def _shift(func: Callable, name: str):
    def shift(x: Any, /, *, axes: int | Sequence[int] | None = None) -> Array:
        x = asarray(x)
        axes = tuple(range(x.ndim)) if axes is None else normalize_axis_tuple(axes, x.ndim)
        return _transform(func, x, axes, [x.shape[a] for a in axes], x.dtype, name, axes=axes)
    shift.__name__ = shift.__qualname__ = name
    shift.__doc__ = f"``numpy.fft.{name}`` over ``axes``, each rechunked to one block."
    return shift


fftshift = _shift(np.fft.fftshift, "fftshift")
ifftshift = _shift(np.fft.ifftshift, "ifftshift")

__all__ = ["fft", "fftfreq", "fftn", "fftshift", "hfft", "ifft", "ifftn", "ifftshift", "ihfft",
           "irfft", "irfftn", "rfft", "rfftfreq", "rfftn"]
