"""NumPy functions of an array's metadata only (dtype, shape): answered at once,
without computing anything, for ``__array_function__``."""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.array.core import Array


def _dtypes(values: Any) -> list[Any]:
    return [v.dtype if isinstance(v, Array) else v for v in values]


def result_type(*arrays_and_dtypes: Any) -> np.dtype:
    return np.result_type(*_dtypes(arrays_and_dtypes))


def shape(a: Any) -> tuple[int, ...]:
    return a.shape


def ndim(a: Any) -> int:
    return a.ndim


def size(a: Any, axis: int | None = None) -> int:
    return a.size if axis is None else a.shape[axis]


def can_cast(from_: Any, to: Any, casting: str = "safe") -> bool:
    return np.can_cast(from_.dtype if isinstance(from_, Array) else from_, to, casting)
