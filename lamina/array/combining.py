"""Reordering, repeating and joining arrays: ``flip``, ``roll``, ``*stack``, ``tile``, ``repeat``, ``diff``, ``take``.

    la.flip(x, axis=0)          # a reversed slice, no data moved until computed
    la.roll(x, 3, axis=1)       # two slices joined
    la.vstack([x, y]), la.hstack([x, y]), la.dstack([x, y])
    la.repeat(x, 2, axis=0), la.tile(x, (2, 1)), la.diff(x, n=2)
    la.take(x, [4, 0, 4], axis=1)

All are slices, concatenations and elementwise layers, so they keep the
chunking of their input (concatenations put the pieces' blocks side by
side) and stay lazy.
"""

from __future__ import annotations

import functools
import operator
from typing import Any, Sequence

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from lamina.array.core import Array, asanyarray_like
from lamina.array.creation import asarray
from lamina.array.manipulation import concatenate, ravel, reshape
from lamina.array.map_blocks import map_blocks
from lamina.array.slicing import getitem


def _along(ndim: int, axis: int, index: Any) -> tuple:
    return (slice(None),) * axis + (index,) + (slice(None),) * (ndim - axis - 1)


def flip(m: Any, axis: Any = None) -> Array:
    """Reverse the order of elements along ``axis`` (all axes by default)."""
    m = asarray(m)
    axes = range(m.ndim) if axis is None else normalize_axis_tuple(axis, m.ndim)
    return getitem(m, tuple(slice(None, None, -1) if k in axes else slice(None)
                            for k in range(m.ndim)))


def roll(a: Any, shift: Any, axis: Any = None) -> Array:
    """Shift elements along ``axis``, those past the end coming back at the start."""
    a = asarray(a)
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), a.shape)
    axes = normalize_axis_tuple(axis, a.ndim, allow_duplicate=True) \
        if not isinstance(axis, (int, np.integer)) else (normalize_axis_index(int(axis), a.ndim),)
    shifts = np.broadcast_to(np.asarray(shift), (len(axes),)) if np.ndim(shift) == 0 \
        else np.asarray(shift)
    if len(shifts) != len(axes):
        raise ValueError("'shift' and 'axis' should be scalars or 1D sequences of the same "
                         "length")
    total: dict[int, int] = {}
    for ax, s in zip(axes, shifts.tolist()):
        total[ax] = total.get(ax, 0) + int(s)
    out = a
    for ax, s in total.items():
        n = out.shape[ax]
        if n == 0 or s % n == 0:
            continue
        s %= n
        out = concatenate([getitem(out, _along(out.ndim, ax, slice(n - s, None))),
                           getitem(out, _along(out.ndim, ax, slice(None, n - s)))], axis=ax)
    return out


def atleast_1d(*arys: Any) -> Any:
    """Arrays of at least one dimension."""
    out = [reshape(a, (1,)) if a.ndim == 0 else a for a in asanyarray_like(arys)]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arys: Any) -> Any:
    """Arrays of at least two dimensions (a 1-D array becomes a row)."""
    out = [a if a.ndim >= 2 else reshape(a, (1,) + a.shape if a.ndim else (1, 1))
           for a in asanyarray_like(arys)]
    return out[0] if len(out) == 1 else out


def atleast_3d(*arys: Any) -> Any:
    """Arrays of at least three dimensions: ``(n,) -> (1, n, 1)``, ``(m, n) -> (m, n, 1)``."""
    shapes = {0: lambda s: (1, 1, 1), 1: lambda s: (1,) + s + (1,), 2: lambda s: s + (1,)}
    out = [a if a.ndim >= 3 else reshape(a, shapes[a.ndim](a.shape))
           for a in asanyarray_like(arys)]
    return out[0] if len(out) == 1 else out


def _as_list(tup: Any, name: str) -> list:
    if isinstance(tup, Array) or not isinstance(tup, (list, tuple)):
        raise TypeError(f"arrays to {name} must be passed as a sequence (list or tuple)")
    return list(tup)


def vstack(tup: Sequence[Any], *, dtype: Any = None, casting: str = "same_kind") -> Array:
    """Stack arrays in sequence vertically (rows), like ``np.vstack``."""
    arrays = [atleast_2d(a) for a in _as_list(tup, "vstack")]
    return concatenate(arrays, axis=0, dtype=dtype, casting=casting)


def hstack(tup: Sequence[Any], *, dtype: Any = None, casting: str = "same_kind") -> Array:
    """Stack arrays in sequence horizontally (columns; 1-D arrays end to end)."""
    arrays = [atleast_1d(a) for a in _as_list(tup, "hstack")]
    axis = 0 if arrays and arrays[0].ndim == 1 else 1
    return concatenate(arrays, axis=axis, dtype=dtype, casting=casting)


def dstack(tup: Sequence[Any]) -> Array:
    """Stack arrays along the third axis, like ``np.dstack``."""
    return concatenate([atleast_3d(a) for a in _as_list(tup, "dstack")], axis=2)


def tile(A: Any, reps: Any) -> Array:
    """Repeat the whole array ``reps`` times per axis, like ``np.tile``."""
    A = asarray(A)
    reps = (operator.index(reps),) if np.ndim(reps) == 0 else tuple(operator.index(r)
                                                                    for r in reps)
    if any(r < 0 for r in reps):
        raise ValueError(f"negative dimensions are not allowed in tile reps {reps}")
    ndim = max(len(reps), A.ndim)
    reps = (1,) * (ndim - len(reps)) + reps
    out = reshape(A, (1,) * (ndim - A.ndim) + A.shape) if ndim > A.ndim else A
    for axis, r in enumerate(reps):
        if r == 1:
            continue
        if r == 0:
            out = getitem(out, _along(ndim, axis, slice(0, 0)))
        else:
            out = concatenate([out] * r, axis=axis)
    return out


def _repeat_block(block: np.ndarray, repeats: int, axis: int) -> np.ndarray:
    return np.repeat(block, repeats, axis=axis)


def repeat(a: Any, repeats: Any, axis: int | None = None) -> Array:
    """Repeat each element ``repeats`` times along ``axis`` (None: the flattened array).

    An int ``repeats`` repeats block by block; an array of counts (one per
    element) becomes an index along the axis.
    """
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = normalize_axis_index(int(axis), a.ndim)
    counts = np.asarray(repeats)
    if not isinstance(repeats, np.ndarray):
        counts = counts.astype(np.intp)  # NumPy reads a list or scalar as integers
    if not np.can_cast(counts.dtype, np.intp, casting="safe"):
        raise TypeError(f"Cannot cast array data from {counts.dtype!r} to "
                        f"{np.dtype(np.intp)!r} according to the rule 'safe': repeats must be "
                        "integers")
    if np.any(counts < 0):
        raise ValueError("repeats may not contain negative values")
    if counts.ndim == 0 or counts.size == 1:
        r = int(counts.reshape(-1)[0]) if counts.size else 0
        chunks = tuple(tuple(s * r for s in c) if k == axis else c
                       for k, c in enumerate(a.chunks))
        return map_blocks(functools.partial(_repeat_block, repeats=r, axis=axis), a,
                          dtype=a.dtype, chunks=chunks, name="repeat")
    if counts.shape != (a.shape[axis],):
        raise ValueError(f"operands could not be broadcast together with shape "
                         f"({a.shape[axis]},) ({counts.shape[0]},)")
    positions = np.repeat(np.arange(a.shape[axis]), counts)
    return getitem(a, _along(a.ndim, axis, positions))


def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = np._NoValue,
         append: Any = np._NoValue) -> Array:
    """The ``n``-th difference along ``axis``, like ``np.diff`` (bool: ``!=``)."""
    a = asarray(a)
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n!r}")
    if n == 0:
        return a
    if a.ndim == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    axis = normalize_axis_index(axis, a.ndim)
    parts = []
    for value, at in ((prepend, 0), (a, 1), (append, 2)):
        if value is np._NoValue:
            continue
        if value is a:
            parts.append(a)
            continue
        value = asarray(value)
        if value.ndim == 0:
            from lamina.array.creation import broadcast_to

            shape = tuple(1 if k == axis else s for k, s in enumerate(a.shape))
            value = broadcast_to(value, shape)
        parts.append(value)
    if len(parts) > 1:
        a = concatenate(parts, axis=axis)
    op = np.not_equal if a.dtype == bool else np.subtract
    for _ in range(n):
        a = op(getitem(a, _along(a.ndim, axis, slice(1, None))),
               getitem(a, _along(a.ndim, axis, slice(None, -1))))
    return a


def take(a: Any, indices: Any, axis: int | None = None, out: Any = None,
         mode: str = "raise") -> Array:
    """Elements at ``indices`` along ``axis`` (None: of the flattened array)."""
    if out is not None:
        raise TypeError("take(out=...) is not supported on lamina Arrays: use the result")
    if mode != "raise":
        raise NotImplementedError(f"take(mode={mode!r}) is not supported: use mode='raise'")
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = normalize_axis_index(int(axis), a.ndim)
    if isinstance(indices, Array):
        indices = indices.compute()
    return getitem(a, _along(a.ndim, axis, np.asarray(indices)))


__all__ = ["atleast_1d", "atleast_2d", "atleast_3d", "diff", "dstack", "flip", "hstack",
           "repeat", "roll", "take", "tile", "vstack"]
