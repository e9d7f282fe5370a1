"""Scans: ``cumsum``, ``cumprod``, their NaN forms, ``cumulative_sum`` and ``ufunc.accumulate``.

    x = la.from_array(np.arange(10.0), chunks=3)
    la.cumsum(x).compute()                          # like np.cumsum
    la.cumulative_sum(x, include_initial=True)      # Array API 2023.12: 11 values
    np.maximum.accumulate(x)                        # lazy too

A blocked scan (``lamina.layers.scan``): each block is scanned on its own,
the block totals are scanned in one small block, and each block then adds
the carry of the blocks before it. Nothing holds more than a block and the
totals. Floating sums are grouped by block, so they may differ from NumPy's
sequential loop by rounding (as in Dask); integers and exact values agree.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from lamina.array.core import Array
from lamina.array.creation import asarray
from lamina.array.manipulation import concatenate, ravel
from lamina.array.map_blocks import map_blocks
from lamina.layers.scan import ASSOCIATIVE, ScanCarry


def _last_slice(block: np.ndarray, axis: int) -> np.ndarray:
    """The last slice of a block along ``axis``, keeping the axis."""
    return block[(slice(None),) * axis + (slice(-1, None),)]


def blocked_scan(x: Any, axis: int | None, block_scan: Callable, combine: str,
                 dtype: Any, name: str) -> Array:
    """Scan ``x`` along ``axis`` (None: the flattened array).

    ``block_scan(block, axis=...)`` scans one block; ``combine`` names the
    associative ufunc that joins a carry and a scanned block; ``dtype`` is
    the result's.
    """
    x = asarray(x)
    if axis is None:
        x, axis = ravel(x), 0
    axis = normalize_axis_index(int(axis), x.ndim)
    func = functools.partial(block_scan, axis=axis)
    scanned = map_blocks(func, x, dtype=dtype, name=name)
    nb = x.numblocks[axis]
    if nb <= 1:
        return scanned
    last = map_blocks(functools.partial(_last_slice, axis=axis), scanned, dtype=dtype,
                      chunks=tuple(1 if k == axis else c for k, c in enumerate(x.chunks)),
                      name=f"{name}-total")
    totals = last.rechunk({axis: -1})
    accumulate = functools.partial(getattr(np, combine).accumulate, axis=axis, dtype=dtype)
    carry = map_blocks(accumulate, totals, dtype=dtype, name=f"{name}-carry")
    return Array(ScanCarry(scanned.layer, carry.layer, axis, combine))


def _numpy_dtype(func: Callable, x: Array, dtype: Any) -> np.dtype:
    """The dtype ``func(x, dtype=dtype)`` gives in NumPy."""
    return np.asarray(func(np.zeros(1, dtype=x.dtype), dtype=dtype)).dtype


def _scan_function(numpy_func: Callable, combine: str, name: str) -> Callable:
    def scan(a: Any, axis: int | None = None, dtype: Any = None, out: Any = None) -> Array:
        if out is not None:
            raise TypeError(f"{name}(out=...) is not supported on lamina Arrays, which are "
                            "immutable: use the returned Array")
        a = asarray(a)
        result = _numpy_dtype(numpy_func, a, dtype)
        return blocked_scan(a, axis, functools.partial(numpy_func, dtype=result), combine,
                            result, name)

    scan.__name__ = scan.__qualname__ = name
    scan.__doc__ = (f"Like ``np.{name}``: a blocked scan along ``axis`` (None: the "
                    "flattened array), lazy.")
    return scan


cumsum = _scan_function(np.cumsum, "add", "cumsum")
cumprod = _scan_function(np.cumprod, "multiply", "cumprod")
nancumsum = _scan_function(np.nancumsum, "add", "nancumsum")
nancumprod = _scan_function(np.nancumprod, "multiply", "nancumprod")


def _cumulative(numpy_func: Callable, scan: Callable, initial: int, x: Any, axis: int | None,
                dtype: Any, include_initial: bool) -> Array:
    x = asarray(x)
    if x.ndim == 0:  # NumPy scans a 0-d array as one element
        x = x.reshape(1)
    if axis is None:
        if x.ndim > 1:
            raise ValueError(f"{numpy_func.__name__} needs axis= for a {x.ndim}-dimensional "
                             "array (it is optional only for one dimension)")
        axis = 0
    axis = normalize_axis_index(int(axis), x.ndim)
    result = _numpy_dtype(numpy_func, x, dtype)
    out = scan(x, axis=axis, dtype=result)
    if not include_initial:
        return out
    from lamina.array.creation import full

    shape = tuple(1 if k == axis else n for k, n in enumerate(x.shape))
    chunks = tuple((1,) if k == axis else c for k, c in enumerate(x.chunks))
    return concatenate([full(shape, initial, dtype=result, chunks=chunks), out], axis=axis)


def cumulative_sum(x: Any, /, *, axis: int | None = None, dtype: Any = None,
                   include_initial: bool = False) -> Array:
    """Cumulative sum (Array API 2023.12): ``include_initial`` prepends a zero slice."""
    return _cumulative(np.cumulative_sum, cumsum, 0, x, axis, dtype, include_initial)


def cumulative_prod(x: Any, /, *, axis: int | None = None, dtype: Any = None,
                    include_initial: bool = False) -> Array:
    """Cumulative product (NumPy 2.1): ``include_initial`` prepends a slice of ones."""
    return _cumulative(np.cumulative_prod, cumprod, 1, x, axis, dtype, include_initial)


def _ufunc_block_scan(block: np.ndarray, ufunc: np.ufunc, axis: int, dtype: Any) -> np.ndarray:
    return ufunc.accumulate(block, axis=axis, dtype=dtype)


def accumulate(ufunc: np.ufunc, x: Any, axis: int = 0, dtype: Any = None) -> Array:
    """``ufunc.accumulate(x, axis, dtype)``, lazy.

    Blocked for associative ufuncs (``add``, ``multiply``, ``maximum``, ...);
    another ufunc needs the axis in one block, and says so.
    """
    x = asarray(x)
    if x.ndim == 0:
        raise TypeError("cannot accumulate on a scalar")
    if axis is None:
        raise TypeError(f"{ufunc.__name__}.accumulate needs an int axis, not None")
    axis = normalize_axis_index(int(axis), x.ndim)
    if ufunc.nin != 2 or ufunc.nout != 1:
        raise ValueError(f"accumulate only supported for binary functions, not "
                         f"{ufunc.__name__}")
    probe = np.ones((1,) * x.ndim, dtype=x.dtype)
    result = ufunc.accumulate(probe, axis=axis, dtype=dtype).dtype
    if ufunc.__name__ not in ASSOCIATIVE and x.numblocks[axis] > 1:
        raise NotImplementedError(
            f"{ufunc.__name__}.accumulate is not associative, so it cannot run block by block: "
            f"rechunk axis {axis} to one block first (x.rechunk({{{axis}: -1}}))")
    block_scan = functools.partial(_ufunc_block_scan, ufunc=ufunc, dtype=result)
    return blocked_scan(x, axis, block_scan, ufunc.__name__, result,
                        f"{ufunc.__name__}.accumulate")


__all__ = ["accumulate", "blocked_scan", "cumprod", "cumsum", "cumulative_prod",
           "cumulative_sum", "nancumprod", "nancumsum"]
