"""``nonzero``, ``argwhere`` and ``flatnonzero``: positions of the true values.

    rows, cols = la.nonzero(x > 0)
    la.argwhere(x)          # (n, ndim) like np.argwhere

How many values are nonzero decides the shape of the result, and lamina's
blocks have known sizes, so these compute ``x != 0`` (one byte per value,
in blocks) when called, then return Arrays over the positions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.array.core import Array
from lamina.array.creation import asarray, from_array


def _computed_mask(a: Any) -> np.ndarray:
    a = asarray(a)
    if a.ndim == 0:
        raise ValueError("Calling nonzero on 0d arrays is not allowed. Use "
                         "np.atleast_1d(scalar).nonzero() instead.")
    mask = a if a.dtype == bool else a != 0
    return np.asarray(mask.compute())


def nonzero(a: Any) -> tuple[Array, ...]:
    """Indices of the nonzero elements, one array per axis; computes ``a != 0`` now."""
    return tuple(from_array(i, chunks=-1) for i in np.nonzero(_computed_mask(a)))


def argwhere(a: Any) -> Array:
    """Indices of the nonzero elements as ``(n, ndim)``; computes ``a != 0`` now."""
    a = asarray(a)
    if a.ndim == 0:
        return from_array(np.argwhere(np.asarray(a.compute())), chunks=-1)
    return from_array(np.argwhere(_computed_mask(a)), chunks=-1)


def flatnonzero(a: Any) -> Array:
    """Flat indices of the nonzero elements; computes ``a != 0`` now."""
    a = asarray(a)
    return from_array(np.flatnonzero(np.asarray((a.reshape(-1) != 0).compute())), chunks=-1)


__all__ = ["argwhere", "flatnonzero", "nonzero"]
