"""Reshaping and reorganizing arrays, block by block.

    x.rechunk((100, -1))                 # one block along the second axis
    x.T, np.moveaxis(x, 0, -1)           # Transpose layers
    x.reshape(-1, 10)                    # Reshape, rechunking first if needed
    np.concatenate([x, y], axis=1)       # blocks of x, then blocks of y
    np.stack([x, y]), np.expand_dims(x, 0), np.squeeze(x)

``reshape`` works block by block when the chunks allow it; otherwise it
first rechunks the way Dask's reshape does (merged trailing axes become one
block, the leading axis gets blocks of whole output rows).
``expand_dims`` and ``squeeze`` are indexing with ``None`` and ``0``.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from lamina.array.core import Array, asanyarray_like
from lamina.array.slicing import getitem
from lamina.layers.chunks import chunks_by_axis, normalize_chunks
from lamina.layers.concatenate import Concatenate
from lamina.layers.rechunk import Rechunk
from lamina.layers.reshape import Reshape, rechunk_for_reshape
from lamina.layers.transpose import Transpose


def rechunk(x: Array, chunks: Any) -> Array:
    """The same values cut into new blocks; a dict changes only some axes."""
    if isinstance(chunks, dict):
        given = chunks_by_axis(chunks, x.ndim, "rechunk")
        chunks = tuple(x.chunks[i] if given.get(i) is None else given[i] for i in range(x.ndim))
    elif isinstance(chunks, (tuple, list)) and len(chunks) == x.ndim:
        chunks = tuple(x.chunks[i] if c is None else c for i, c in enumerate(chunks))
    new = normalize_chunks(chunks, x.shape, x.dtype)
    if new == x.chunks:
        return x
    return Array(Rechunk(x.layer, new))


def transpose(a: Array, axes: Sequence[int] | None = None) -> Array:
    """Permute the axes (reverse them by default), like ``np.transpose``."""
    if axes is None:
        axes = tuple(range(a.ndim))[::-1]
    elif len(axes) != a.ndim:
        raise ValueError("axes don't match array")
    axes = normalize_axis_tuple(tuple(axes), a.ndim, argname="axes")
    if axes == tuple(range(a.ndim)):
        return a
    return Array(Transpose(a.layer, axes))


def swapaxes(a: Array, axis1: int, axis2: int) -> Array:
    """Interchange two axes, like ``np.swapaxes``."""
    axis1 = normalize_axis_index(axis1, a.ndim)
    axis2 = normalize_axis_index(axis2, a.ndim)
    order = list(range(a.ndim))
    order[axis1], order[axis2] = axis2, axis1
    return transpose(a, order)


def moveaxis(a: Array, source: int | Sequence[int], destination: int | Sequence[int]) -> Array:
    """Move axes to new positions, the others keep their order (``np.moveaxis``)."""
    source = normalize_axis_tuple(source, a.ndim, "source")
    destination = normalize_axis_tuple(destination, a.ndim, "destination")
    if len(source) != len(destination):
        raise ValueError("`source` and `destination` arguments must have the same number "
                         "of elements")
    order = [k for k in range(a.ndim) if k not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return transpose(a, order)


def reshape(a: Array, shape: int | Sequence[int], order: str = "C", *,
            copy: bool | None = None) -> Array:
    """A new shape for the same values in C order.

    One entry may be -1. Block by block when the chunks allow it; otherwise
    the input is rechunked first (``rechunk_for_reshape``), e.g. to
    ``{1: -1}`` before merging axes 0 and 1 when axis 1 has several blocks.
    """
    if order != "C":
        raise NotImplementedError(f"reshape order {order!r} is not supported: use order='C'")
    shape = _resolve_shape(a.size, (shape,) if isinstance(shape, (int, np.integer)) else shape)
    if shape == a.shape:
        return a
    needed = rechunk_for_reshape(a.shape, a.chunks, shape)
    if needed:
        a = rechunk(a, needed)
    return Array(Reshape(a.layer, shape))


def _resolve_shape(size: int, shape: Sequence[int]) -> tuple[int, ...]:
    shape = [int(s) for s in shape]
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1:
        raise ValueError("can only specify one unknown dimension")
    if any(s < -1 for s in shape):
        raise ValueError(f"negative dimensions not allowed in shape {tuple(shape)}")
    if unknown:
        known = math.prod(s for s in shape if s != -1)
        if known == 0 or size % known:
            raise ValueError(f"cannot reshape array of size {size} into shape {tuple(shape)}")
        shape[unknown[0]] = size // known
    if math.prod(shape) != size:
        raise ValueError(f"cannot reshape array of size {size} into shape {tuple(shape)}")
    return tuple(shape)


def ravel(a: Array, order: str = "C") -> Array:
    """The values as one axis in C order (rechunked first where blocks do not line up)."""
    return reshape(a, (-1,), order=order)


def expand_dims(a: Array, axis: int | Sequence[int] = 0) -> Array:
    """Insert axes of length one at ``axis`` positions, like ``np.expand_dims``."""
    axes = normalize_axis_tuple(axis, a.ndim + (1 if np.ndim(axis) == 0 else len(axis)))
    return getitem(a, tuple(None if k in axes else slice(None)
                            for k in range(a.ndim + len(axes))))


def squeeze(a: Array, axis: int | Sequence[int] | None = None) -> Array:
    """Remove axes of length one, like ``np.squeeze``."""
    if axis is None:
        axes = tuple(k for k, n in enumerate(a.shape) if n == 1)
    else:
        axes = normalize_axis_tuple(axis, a.ndim)
        if any(a.shape[k] != 1 for k in axes):
            raise ValueError("cannot select an axis to squeeze out which has size not equal "
                             "to one")
    if not axes:
        return a
    return getitem(a, tuple(0 if k in axes else slice(None) for k in range(a.ndim)))


def concatenate(arrays: Sequence[Any], axis: int | None = 0, out: Any = None, *,
                dtype: Any = None, casting: str = "same_kind") -> Array:
    """Join arrays along an existing axis, like ``np.concatenate``.

    Dtypes promote as in NumPy; along the other axes the arrays are
    rechunked to common chunks (those of the array with most blocks).
    """
    if out is not None:
        raise NotImplementedError("concatenate(out=...) is not supported: use the result")
    arrays = asanyarray_like(list(arrays))
    if not arrays:
        raise ValueError("need at least one array to concatenate")
    if axis is None:
        arrays, axis = [ravel(a) for a in arrays], 0
    first = arrays[0]
    if first.ndim == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    axis = normalize_axis_index(axis, first.ndim)
    for i, a in enumerate(arrays[1:], 1):
        if a.ndim != first.ndim:
            raise ValueError(
                "all the input arrays must have same number of dimensions, but the array at "
                f"index 0 has {first.ndim} dimension(s) and the array at index {i} has "
                f"{a.ndim} dimension(s)")
        for k in range(first.ndim):
            if k != axis and a.shape[k] != first.shape[k]:
                raise ValueError(
                    "all the input array dimensions except for the concatenation axis must "
                    f"match exactly, but along dimension {k}, the array at index 0 has size "
                    f"{first.shape[k]} and the array at index {i} has size {a.shape[k]}")
    if dtype is None:
        dtype = np.result_type(*[a.dtype for a in arrays])
    else:
        dtype = np.dtype(dtype)
        for a in arrays:
            if not np.can_cast(a.dtype, dtype, casting=casting):
                raise TypeError(f"Cannot cast array data from {a.dtype!r} to {dtype!r} "
                                f"according to the rule {casting!r}")
    if len(arrays) > 1:
        nonempty = [a for a in arrays if a.shape[axis]]
        arrays = nonempty or arrays[:1]
    if len(arrays) == 1 and arrays[0].dtype == dtype:
        return arrays[0]
    arrays = _common_chunks(arrays, axis)
    return Array(Concatenate(tuple(a.layer for a in arrays), axis, np.dtype(dtype)))


def _common_chunks(arrays: list[Array], axis: int) -> list[Array]:
    """Rechunk so that all arrays share chunks on every axis but ``axis``."""
    target = []
    for k in range(arrays[0].ndim):
        target.append(None if k == axis else max((a.chunks[k] for a in arrays), key=len))
    return [rechunk(a, tuple(a.chunks[axis] if t is None else t for t in target))
            for a in arrays]


def stack(arrays: Sequence[Any], axis: int = 0, out: Any = None, *, dtype: Any = None,
          casting: str = "same_kind") -> Array:
    """Join same-shaped arrays along a new axis, like ``np.stack``."""
    arrays = asanyarray_like(list(arrays))
    if not arrays:
        raise ValueError("need at least one array to stack")
    if any(a.shape != arrays[0].shape for a in arrays):
        raise ValueError("all input arrays must have the same shape")
    axis = normalize_axis_index(axis, arrays[0].ndim + 1)
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis, out=out, dtype=dtype,
                       casting=casting)
