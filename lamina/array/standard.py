"""Array API functions whose standard signature differs from NumPy's name or form.

    la.concat([x, y], axis=None)        # NumPy: concatenate
    la.permute_dims(x, (1, 0))          # NumPy: transpose
    la.unstack(x, axis=1)               # a tuple of views along axis 1
    la.vecdot(x, y), la.matrix_transpose(x)

Each is a thin face over an existing layer-building function.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from lamina.array.core import Array
from lamina.array.creation import asarray
from lamina.array.manipulation import concatenate, transpose
from lamina.array.manipulation import squeeze as _squeeze


def concat(arrays: Sequence[Any], /, *, axis: int | None = 0) -> Array:
    """Join arrays along ``axis`` (``None``: flatten them first); dtypes promote."""
    if axis is None:
        arrays = [asarray(a) for a in arrays]
        arrays = [a.rechunk({k: -1 for k in range(1, a.ndim)}).reshape(-1) for a in arrays]
        axis = 0
    return concatenate(arrays, axis=axis)


def permute_dims(x: Array, /, axes: Sequence[int]) -> Array:
    """Permute the axes of ``x`` (the standard's ``transpose``)."""
    return transpose(x, tuple(axes))


def squeeze(x: Array, /, axis: int | Sequence[int]) -> Array:
    """Remove the given axes of length one (``axis`` is required, as in the standard)."""
    return _squeeze(x, axis)


def unstack(x: Array, /, *, axis: int = 0) -> tuple[Array, ...]:
    """The slices of ``x`` along ``axis``, as a tuple of lazy arrays."""
    axis = normalize_axis_index(axis, x.ndim)
    before = (slice(None),) * axis
    return tuple(x[before + (i,)] for i in range(x.shape[axis]))


def meshgrid(*arrays: Any, indexing: str = "xy") -> list[Array]:
    """Coordinate arrays from 1-D arrays, as a list (NumPy's ``meshgrid`` gives a tuple)."""
    from lamina.array.grids import meshgrid as grids_meshgrid

    return list(grids_meshgrid(*arrays, indexing=indexing))


def broadcast_arrays(*arrays: Any) -> list[Array]:
    """The arrays broadcast to one shape, as a list (NumPy gives a tuple)."""
    from lamina.array.grids import broadcast_arrays as grids_broadcast_arrays

    return list(grids_broadcast_arrays(*arrays))


def clip(x: Any, /, min: Any = None, max: Any = None) -> Array:
    """``x`` limited to ``[min, max]`` (either may be None), keeping ``x``'s dtype."""
    from lamina.array.elementwise_functions import clip as numpy_clip

    return numpy_clip(x, min=min, max=max)


def eye(n_rows: int, n_cols: int | None = None, /, *, k: int = 0, dtype: Any = None,
        device: Any = None, chunks: Any = "auto") -> Array:
    """Ones on the ``k``-th diagonal, zeros elsewhere (float64 unless ``dtype``)."""
    from lamina.array.grids import eye as numpy_eye
    from lamina.array.info import check_device

    check_device(device)
    return numpy_eye(n_rows, n_cols, k=k, dtype=np.float64 if dtype is None else dtype,
                     chunks=chunks)


def matrix_transpose(x: Array, /) -> Array:
    """Swap the last two axes of ``x``."""
    return asarray(x).mT


def vecdot(x1: Any, x2: Any, /, *, axis: int = -1) -> Array:
    """``sum(conj(x1) * x2, axis)`` with broadcasting, the standard's vector dot product."""
    x1, x2 = asarray(x1), asarray(x2)
    ndim = max(x1.ndim, x2.ndim)
    if not -min(x1.ndim, x2.ndim) <= axis < 0 and not 0 <= axis < min(x1.ndim, x2.ndim):
        raise ValueError(f"axis {axis} is out of range for arrays of {x1.ndim} and {x2.ndim} "
                         "dimensions")
    if axis >= 0:
        axis -= ndim
    if x1.shape[axis] != x2.shape[axis]:
        raise ValueError(f"vecdot needs equal lengths along axis {axis}, got "
                         f"{x1.shape[axis]} and {x2.shape[axis]}")
    product = (np.conjugate(x1) if x1.dtype.kind == "c" else x1) * x2
    return product.sum(axis=axis, dtype=product.dtype)  # the promoted dtype, not int64


def std(x: Any, /, *, axis: Any = None, correction: int | float = 0.0,
        keepdims: bool = False) -> Array:
    """Standard deviation with ``correction`` degrees of freedom removed."""
    return asarray(x).std(axis=axis, ddof=correction, keepdims=keepdims)


def var(x: Any, /, *, axis: Any = None, correction: int | float = 0.0,
        keepdims: bool = False) -> Array:
    """Variance with ``correction`` degrees of freedom removed."""
    return asarray(x).var(axis=axis, ddof=correction, keepdims=keepdims)


__all__ = ["broadcast_arrays", "clip", "concat", "eye", "matrix_transpose", "meshgrid", "permute_dims", "squeeze", "std", "unstack", "var",
           "vecdot"]
