"""Indexing with several index arrays, N-D index arrays and N-D or lazy boolean masks.

    x[[0, 2], [1, 3]]          # pairs of coordinates: NumPy's broadcasting of index arrays
    x[idx2d]                   # an N-D integer array along one axis: the result takes its shape
    x[mask2d]                  # an N-D boolean mask over the leading axes
    x[x > 0]                   # a lazy mask: computed first (see below)

NumPy's rule: the index arrays (ints count as 0-d arrays) broadcast to one
shape ``B``; the axes they index are replaced by ``B``, in place when they
sit side by side in the index, else at the front. Here the indexed axes
are moved to the front, each block gives the points that fall inside it
(``lamina.layers.points.BlockPoints``), a ``TakeAxis`` puts the points back
in their order, and the result is reshaped to ``B`` and moved back. No
task holds more than one block of the indexed array.

A boolean mask that is itself a lazy lamina Array is computed when the
index is applied (its number of true values decides the result's shape,
and lamina's blocks have known sizes); the indexed array stays lazy. A
lazy integer index array is computed the same way.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lamina.array.core import Array
from lamina.layers.points import BlockPoints, points_by_block
from lamina.layers.slicing import TakeAxis


def is_advanced(index: Any) -> bool:
    """Whether ``index`` needs this module: more than the basic path's one 1-D array."""
    entries = index if isinstance(index, tuple) else (index,)
    arrays = 0
    for e in entries:
        if isinstance(e, Array):
            return True
        if isinstance(e, (list, tuple, np.ndarray)):
            arr = np.asarray(e)
            if arr.ndim == 0 and arr.dtype != bool:
                continue  # an int, which the basic path takes
            if arr.ndim != 1:
                return True
            arrays += 1
    return arrays > 1


def _expand_entries(index: Any, shape: tuple[int, ...]) -> list[tuple[str, Any]]:
    """Entries as ("array", int array) / ("slice", s) / ("new", None), masks as nonzero."""
    ndim = len(shape)
    entries = index if isinstance(index, tuple) else (index,)
    out: list[tuple[str, Any]] = []
    for e in entries:
        if isinstance(e, Array):
            e = e.compute()
        if e is None:
            out.append(("new", None))
        elif e is Ellipsis:
            out.append(("ellipsis", None))
        elif isinstance(e, slice):
            out.append(("slice", e))
        elif isinstance(e, (bool, np.bool_)):
            raise IndexError("boolean scalar indices are not supported: use a boolean array")
        elif isinstance(e, (int, np.integer)):
            out.append(("array", np.asarray(int(e))))
        else:
            arr = np.asarray(e)
            if arr.dtype == bool:
                out.append(("mask", arr))
            else:
                if arr.size == 0 and arr.dtype.kind == "f":
                    arr = arr.astype(np.intp)
                if arr.dtype.kind not in "iu":
                    raise IndexError("arrays used as indices must be of integer (or boolean) "
                                     "type")
                out.append(("array", arr))
    kinds = [k for k, _ in out]
    if kinds.count("ellipsis") > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(v.ndim if k == "mask" else 1 for k, v in out if k in ("slice", "array", "mask"))
    if used > ndim:
        raise IndexError(f"too many indices for array: array is {ndim}-dimensional, but "
                         f"{used} were indexed")
    fill = [("slice", slice(None))] * (ndim - used)
    if "ellipsis" in kinds:
        at = kinds.index("ellipsis")
        out = out[:at] + fill + out[at + 1:]
    else:
        out = out + fill
    return _masks_as_arrays(out, shape)


def _masks_as_arrays(entries: list[tuple[str, Any]], shape: tuple[int, ...]
                     ) -> list[tuple[str, Any]]:
    """Each k-D boolean mask replaced by the k integer arrays of its true positions."""
    out: list[tuple[str, Any]] = []
    for kind, value in entries:
        if kind != "mask":
            out.append((kind, value))
            continue
        axis = sum(1 for k, _ in out if k != "new")
        covered = shape[axis:axis + value.ndim]
        if value.shape != covered:
            raise IndexError(f"boolean index did not match indexed array along axis {axis}; "
                             f"size of axis is {covered} but size of corresponding boolean "
                             f"axis is {value.shape}")
        if value.ndim == 0:
            raise IndexError("boolean scalar indices are not supported: use a boolean array")
        out.extend(("array", i) for i in np.nonzero(value))
    return out


def gather_points(x: Array, coords: np.ndarray) -> Array:
    """The points ``coords`` ((k, n), in bounds) of ``x``'s leading ``k`` axes, in order:
    shape ``(n,) + x.shape[k:]``.

    Each block gives the points inside it (``BlockPoints``), then a
    ``TakeAxis`` restores the given order; no task holds more than one block
    of ``x``.
    """
    order, local, counts = points_by_block(x.chunks, coords)
    by_block = BlockPoints(x.layer, coords.shape[0], local, counts)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order), dtype=np.int64)
    group = max(max(by_block.chunks[0]), 1)
    return Array(TakeAxis(by_block, 0, inverse, group))


def advanced_getitem(x: Array, index: Any) -> Array:
    """``x[index]`` for the indices ``is_advanced`` accepts (see the module docstring)."""
    from lamina.array.manipulation import reshape, transpose
    from lamina.array.slicing import getitem

    entries = _expand_entries(index, x.shape)
    if any(k == "new" for k, _ in entries):
        raise NotImplementedError(
            "None (newaxis) together with several or N-D index arrays is not supported: "
            "index first, then add the axis with expand_dims")
    positions = [i for i, (k, _) in enumerate(entries) if k == "array"]
    if not positions:
        return getitem(x, tuple(v for _, v in entries))
    adjacent = positions[-1] - positions[0] == len(positions) - 1
    try:
        arrays = np.broadcast_arrays(*[v for k, v in entries if k == "array"])
    except ValueError:
        shapes = " ".join(str(np.shape(v)) for k, v in entries if k == "array")
        raise IndexError(f"shape mismatch: indexing arrays could not be broadcast together "
                         f"with shapes {shapes}") from None
    broadcast = arrays[0].shape
    dims = tuple(x.shape[i] for i in positions)
    normalized = []
    for axis, n, arr in zip(positions, dims, arrays):
        bad = (arr >= n) | (arr < -n)
        if bad.any():
            raise IndexError(f"index {int(arr[bad].flat[0])} is out of bounds for axis {axis} "
                             f"with size {n}")
        normalized.append(np.where(arr < 0, arr + n, arr))
    rest = [i for i in range(x.ndim) if i not in positions]
    sliced = getitem(x, tuple(v if k == "slice" else slice(None) for k, v in entries))
    moved = transpose(sliced, positions + rest)
    rest_shape = moved.shape[len(positions):]
    coords = np.stack([a.reshape(-1) for a in normalized]).astype(np.int64) \
        if math.prod(broadcast) else np.zeros((len(positions), 0), dtype=np.int64)
    out = reshape(gather_points(moved, coords), broadcast + rest_shape)
    if adjacent and positions[0] > 0:
        nb, first = len(broadcast), positions[0]
        order = list(range(nb, nb + first)) + list(range(nb)) + list(range(nb + first, out.ndim))
        out = transpose(out, order)
    return out
