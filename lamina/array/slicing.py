"""``x[index]``: NumPy indexing on chunked arrays.

    x[3, ::-2, None]          # basic indexing: one BasicSlice layer
    x[..., [4, 0, 4, 2]]      # integer array along one axis: TakeAxis
    x[mask > 0]               # a 1-D boolean NumPy mask along one axis

Here: ints (negative too), slices with any step, ``None``,
``Ellipsis``, and one 1-D integer array (list or NumPy array) or one 1-D
boolean NumPy mask, combined with basic indices on the other axes. As in
NumPy, an integer array and ints form one "advanced" index: when they are
not side by side in the index, the array's axis goes first in the result.
Several index arrays, N-D ones and N-D or lazy masks go through
``lamina.array.advanced_indexing``.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from lamina.array.core import Array
from lamina.layers.slicing import BasicSlice, TakeAxis
from lamina.layers.transpose import Transpose

_VALID = ("only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and "
          "integer or boolean arrays are valid indices")


def getitem(x: Array, index: Any) -> Array:
    """``x[index]`` as a lazy Array (see the module docstring)."""
    from lamina.array.advanced_indexing import advanced_getitem, is_advanced

    if _is_boolean_scalar(index):  # NumPy: a new axis of length 1 (True) or 0 (False)
        return getitem(x, None) if bool(index) else getitem(x, None)[:0]
    if is_advanced(index):
        return advanced_getitem(x, index)
    entries = [_classify(e) for e in (index if isinstance(index, tuple) else (index,))]
    _check_counts(entries, x.ndim)
    expanded = _expand(entries, x.ndim)
    basic: list[Any] = []
    take: np.ndarray | None = None
    array_at: int | None = None
    axis = 0
    for kind, value in expanded:
        if kind == "new":
            basic.append(None)
            continue
        n = x.shape[axis]
        if kind == "int":
            if not -n <= value < n:
                raise IndexError(f"index {value} is out of bounds for axis {axis} with size {n}")
            basic.append(value % n)
        elif kind == "slice":
            basic.append(value.indices(n))
        else:
            array_at = sum(1 for e in basic if not isinstance(e, int))
            positions = _array_positions(kind, value, axis, n)
            step = _progression_step(positions)
            if step:
                start = int(positions[0])
                basic.append((start, start + len(positions) * step, step))
            else:
                basic.append((0, n, 1))
                take = positions
        axis += 1
    out = x if _is_identity(basic, x.shape) else Array(BasicSlice(x.layer, tuple(basic)))
    if array_at is None:
        return out
    if take is not None:
        group = max(max(out.chunks[array_at]), 1)
        out = Array(TakeAxis(out.layer, array_at, take, group))
    if not _advanced_adjacent(entries) and array_at != 0:
        order = [array_at] + [a for a in range(out.ndim) if a != array_at]
        out = Array(Transpose(out.layer, tuple(order)))
    return out


def _is_boolean_scalar(index: Any) -> bool:
    if isinstance(index, (bool, np.bool_)):
        return True
    return getattr(index, "ndim", None) == 0 and getattr(index, "dtype", None) == np.bool_


def _classify(entry: Any) -> tuple[str, Any]:
    if entry is None:
        return ("new", None)
    if entry is Ellipsis:
        return ("ellipsis", None)
    if isinstance(entry, slice):
        return ("slice", entry)
    if isinstance(entry, (bool, np.bool_)):
        raise IndexError("boolean scalar indices are not supported: use None to add an axis "
                         "or a boolean array as a mask")
    if isinstance(entry, (int, np.integer)):
        return ("int", operator.index(entry))
    if isinstance(entry, (list, tuple, np.ndarray)):
        arr = np.asarray(entry)
        if arr.dtype == bool:
            return ("bool", arr)
        if arr.size == 0 and arr.dtype.kind == "f":
            arr = arr.astype(np.intp)
        if arr.dtype.kind not in "iu":
            raise IndexError("arrays used as indices must be of integer (or boolean) type")
        if arr.ndim == 0:
            return ("int", int(arr))
        return ("array", arr.astype(np.int64, copy=False))
    raise IndexError(_VALID)


def _check_counts(entries: list[tuple[str, Any]], ndim: int) -> None:
    kinds = [k for k, _ in entries]
    if kinds.count("ellipsis") > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(1 for k in kinds if k in ("int", "slice", "array", "bool"))
    if used > ndim:
        raise IndexError(f"too many indices for array: array is {ndim}-dimensional, "
                         f"but {used} were indexed")


def _expand(entries: list[tuple[str, Any]], ndim: int) -> list[tuple[str, Any]]:
    """Replace the Ellipsis (or pad the end) with full slices."""
    used = sum(1 for k, _ in entries if k in ("int", "slice", "array", "bool"))
    fill = [("slice", slice(None))] * (ndim - used)
    kinds = [k for k, _ in entries]
    if "ellipsis" in kinds:
        at = kinds.index("ellipsis")
        return entries[:at] + fill + entries[at + 1:]
    return entries + fill


def _array_positions(kind: str, value: np.ndarray, axis: int, n: int) -> np.ndarray:
    if kind == "bool":
        if len(value) != n:
            raise IndexError(
                f"boolean index did not match indexed array along axis {axis}; size of axis "
                f"is {n} but size of corresponding boolean axis is {len(value)}")
        return np.flatnonzero(value).astype(np.int64)
    bad = (value >= n) | (value < -n)
    if bad.any():
        raise IndexError(f"index {int(value[bad][0])} is out of bounds for axis {axis} "
                         f"with size {n}")
    return np.where(value < 0, value + n, value)


def _progression_step(positions: np.ndarray) -> int:
    """The step if ``positions`` is an arithmetic progression (a slice), else 0."""
    if len(positions) == 1:
        return 1
    if len(positions) == 0:
        return 0
    diffs = np.diff(positions)
    step = int(diffs[0])
    return step if step != 0 and bool(np.all(diffs == step)) else 0


def _is_identity(basic: list[Any], shape: tuple[int, ...]) -> bool:
    """Whether the basic index keeps every axis whole (``x[...]``)."""
    return len(basic) == len(shape) and all(
        isinstance(e, tuple) and e == (0, n, 1) for e, n in zip(basic, shape))


def _advanced_adjacent(entries: list[tuple[str, Any]]) -> bool:
    """Whether the ints and the array sit side by side in the (unexpanded) index."""
    where = [i for i, (k, _) in enumerate(entries) if k in ("int", "array", "bool")]
    return where[-1] - where[0] == len(where) - 1
