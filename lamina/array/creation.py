"""Array creation: from in-memory data, constants and ranges.

    la.from_array(np.arange(10), chunks=4)     # blocks of 4, 4, 2
    la.zeros((1000, 1000), chunks=(100, 250))
    la.arange(0, 1, 0.1, chunks=3)
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from lamina.array.core import Array
from lamina.array.info import check_device
from lamina.layers.chunks import normalize_chunks
from lamina.layers.elementwise import broadcast_first
from lamina.layers.sources import Arange, FromArray, Full, Linspace, wrap_array


def from_array(x: Any, chunks: Any = "auto") -> Array:
    """Wrap an in-memory NumPy or CuPy array (or anything ``np.asarray`` takes)."""
    if isinstance(x, Array):
        return x if chunks == "auto" else x.rechunk(chunks)
    if not (hasattr(x, "shape") and hasattr(x, "dtype") and hasattr(x, "__getitem__")):
        x = np.asarray(x)
    if getattr(x, "dtype", None) is not None and x.dtype.hasobject:
        raise TypeError("object arrays are not supported: give a numeric or string dtype")
    return Array(FromArray(wrap_array(x), normalize_chunks(chunks, x.shape, x.dtype)))


def asarray(x: Any, chunks: Any = "auto", *, dtype: Any = None, device: Any = None,
            copy: bool | None = None) -> Array:
    """An Array for ``x``: unchanged if it is one already (the standard's ``asarray``).

    Python scalars and nested sequences take the standard's default dtypes
    (bool, int64, float64, complex128); a sequence may hold 0-d Arrays.
    ``copy=True`` gives a new handle (and copies in-memory data), so that a
    later ``x[i] = v`` on one does not show in the other; ``copy=False``
    raises when a cast or a conversion is needed.
    """
    check_device(device)
    if isinstance(x, Array):
        if dtype is not None and np.dtype(dtype) != x.dtype:
            if copy is False:
                raise ValueError(f"asarray(copy=False) cannot cast {x.dtype} to "
                                 f"{np.dtype(dtype)} without a copy")
            return x.astype(dtype)
        out = Array(x.layer) if copy else x
        return out if chunks == "auto" else out.rechunk(chunks)
    if isinstance(x, (list, tuple)):
        x = _nested(x)
    if copy is False and not hasattr(x, "__array__") and not hasattr(x, "__buffer__"):
        raise ValueError(f"asarray(copy=False) cannot convert a {type(x).__name__} without a copy")
    if dtype is None and isinstance(x, (bool, int, float, complex)) and not isinstance(
            x, np.generic):
        dtype = _default_scalar_dtype(x)
    with np.errstate(all="ignore"):
        data = np.array(x, dtype=dtype, copy=True if copy else None)
    if copy is False and hasattr(x, "dtype") and data.dtype != x.dtype:
        raise ValueError(f"asarray(copy=False) cannot cast {x.dtype} to {data.dtype} "
                         "without a copy")
    return from_array(data, chunks=chunks)


def _default_scalar_dtype(value: Any) -> np.dtype:
    if isinstance(value, bool):
        return np.dtype(np.bool_)
    if isinstance(value, int):
        if not -2**63 <= value < 2**63:
            raise OverflowError(f"Python int {value} is out of range for int64")
        return np.dtype(np.int64)
    return np.dtype(np.float64 if isinstance(value, float) else np.complex128)


def _nested(values: Any) -> Any:
    """Nested sequences with any 0-d (or larger) Arrays in them computed."""
    if isinstance(values, (list, tuple)):
        return [_nested(v) for v in values]
    if isinstance(values, Array):
        return values.compute()
    return values


def _shape_of(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def full(shape: Any, fill_value: Any, chunks: Any = "auto", dtype: Any = None,
         like: str = "numpy", *, device: Any = None) -> Array:
    """An array of ``shape`` filled with ``fill_value``."""
    check_device(device)
    shape = _shape_of(shape)
    if isinstance(fill_value, Array):
        fill_value = fill_value.compute()
    if np.ndim(fill_value) != 0:
        raise ValueError(f"fill_value must be a scalar, got an array of shape {np.shape(fill_value)}")
    if dtype is None:
        dtype = (np.asarray(fill_value).dtype if hasattr(fill_value, "dtype")
                 else _default_scalar_dtype(fill_value))
    dtype = np.dtype(dtype)
    return Array(Full(shape, normalize_chunks(chunks, shape, dtype), dtype,
                      np.array(fill_value, dtype=dtype).item(), like))


def zeros(shape: Any, dtype: Any = float, chunks: Any = "auto", like: str = "numpy", *,
          device: Any = None) -> Array:
    """An array of zeros; ``dtype=None`` means float64, as in NumPy."""
    return full(shape, 0, chunks=chunks, dtype=np.dtype(dtype), like=like, device=device)


def ones(shape: Any, dtype: Any = float, chunks: Any = "auto", like: str = "numpy", *,
         device: Any = None) -> Array:
    """An array of ones; ``dtype=None`` means float64, as in NumPy."""
    return full(shape, 1, chunks=chunks, dtype=np.dtype(dtype), like=like, device=device)


def empty(shape: Any, dtype: Any = float, chunks: Any = "auto", like: str = "numpy", *,
          device: Any = None) -> Array:
    """An uninitialized array (filled lazily); ``dtype=None`` means float64, as in NumPy."""
    check_device(device)
    shape = _shape_of(shape)
    dtype = np.dtype(dtype)
    return Array(Full(shape, normalize_chunks(chunks, shape, dtype), dtype, None, like))


def _like(name: str):
    def make(a: Any, dtype: Any = None, chunks: Any = None, *, device: Any = None) -> Array:
        dtype = a.dtype if dtype is None else dtype
        chunks = chunks or (a.chunks if isinstance(a, Array) else "auto")
        return globals()[name](a.shape, dtype=dtype, chunks=chunks, device=device)
    make.__name__ = f"{name}_like"
    make.__doc__ = f"``{name}`` with the shape (and chunks) of ``a``."
    return make


zeros_like = _like("zeros")
ones_like = _like("ones")
empty_like = _like("empty")


def full_like(a: Any, fill_value: Any, dtype: Any = None, chunks: Any = None, *,
              device: Any = None) -> Array:
    """``full`` with the shape (and chunks) of ``a``."""
    check_device(device)
    if isinstance(fill_value, Array):
        fill_value = fill_value.compute()
    chunks = chunks or (a.chunks if isinstance(a, Array) else "auto")
    dtype = np.dtype(a.dtype if dtype is None else dtype)
    with np.errstate(all="ignore"):
        fill_value = np.array(fill_value).astype(dtype).item()  # unsafe cast, as np.full_like
    return full(a.shape, fill_value, chunks=chunks, dtype=dtype)


def arange(start: Any, stop: Any = None, step: Any = 1, chunks: Any = "auto",
           dtype: Any = None, like: str = "numpy", *, device: Any = None) -> Array:
    """Evenly spaced values in ``[start, stop)``, like ``np.arange``."""
    check_device(device)
    if stop is None:
        start, stop = 0, start
    if step == 0:
        raise ZeroDivisionError("arange step must not be zero: give a positive or negative step")
    length = max(int(math.ceil((stop - start) / step)), 0)
    if dtype is None:  # NumPy: at least intp, promoted with each argument's own dtype
        dtype = np.result_type(np.intp, *(np.asarray(v).dtype for v in (start, stop, step)))
    dtype = np.dtype(dtype)
    return Array(Arange(start, step, length, normalize_chunks(chunks, (length,), dtype), dtype,
                        like))


def linspace(start: float, stop: float, num: int = 50, endpoint: bool = True,
             chunks: Any = "auto", dtype: Any = None, like: str = "numpy", *,
             device: Any = None) -> Array:
    """``num`` evenly spaced values from ``start`` to ``stop``, like ``np.linspace``."""
    check_device(device)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    work = np.result_type(start, stop, float(num))  # NumPy computes the values in this dtype
    dtype = work if dtype is None else np.dtype(dtype)
    if work.kind == "c" or dtype.kind == "c":
        raise TypeError("complex linspace is not supported on lamina Arrays: build the real "
                        "and imaginary parts with linspace and combine them")
    return Array(Linspace(float(start), float(stop), int(num), bool(endpoint),
                          normalize_chunks(chunks, (num,), dtype), dtype, like, work))


def from_blocks_like(shape_like: Array, blocks: list) -> Array:
    """An Array over already computed blocks with the chunks of ``shape_like``."""
    from lamina.layers.sources import FromBlocks, hold_blocks

    return Array(FromBlocks(hold_blocks(blocks), shape_like.chunks, shape_like.dtype,
                            shape_like.name))


def broadcast_to(x: Any, shape: Sequence[int], chunks: Any = None) -> Array:
    """Broadcast ``x`` to ``shape`` (a view per block, like ``np.broadcast_to``)."""
    from lamina.array.elementwise import elemwise

    x = asarray(x)
    shape = _shape_of(shape)
    np.broadcast_shapes(x.shape, shape)
    target = zeros(shape, dtype=x.dtype, chunks=chunks or _broadcast_chunks(x, shape))
    return elemwise(broadcast_first, x, target, dtype=x.dtype, name="broadcast_to")


def _broadcast_chunks(x: Array, shape: tuple[int, ...]) -> tuple:
    offset = len(shape) - x.ndim
    out = []
    for o, n in enumerate(shape):
        k = o - offset
        out.append(x.chunks[k] if k >= 0 and x.shape[k] == n else (n,))
    return tuple(out)
