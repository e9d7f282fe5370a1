"""The Array API's data types, constants and data type functions.

    import lamina.array as la
    la.asarray([1, 2], dtype=la.int8)
    la.result_type(la.int8, la.uint8)       # int16, the standard's promotion
    la.isdtype(la.float32, "real floating") # True

The dtypes are NumPy's dtype objects, so ``x.dtype == la.float64`` and
``x.dtype == np.float64`` agree. Promotion is NumPy 2's, which follows the
standard's table for the pairs it defines and treats Python scalars as
"weak" (``int8 array + 1`` stays int8), as the standard asks.
"""

from __future__ import annotations

import builtins
import math
from typing import Any, NamedTuple

import numpy as np

bool = np.dtype(np.bool_)
int8, int16, int32, int64 = (np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64))
uint8, uint16, uint32, uint64 = (np.dtype(t) for t in (np.uint8, np.uint16, np.uint32,
                                                       np.uint64))
float32, float64 = np.dtype(np.float32), np.dtype(np.float64)
complex64, complex128 = np.dtype(np.complex64), np.dtype(np.complex128)

e, inf, nan, pi = math.e, math.inf, math.nan, math.pi
newaxis = None

STANDARD_DTYPES = (bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32,
                   float64, complex64, complex128)


def _dtype_of(value: Any) -> Any:
    """A dtype for an Array, a NumPy array or a dtype; Python scalars stay as they are."""
    if hasattr(value, "dtype") and not isinstance(value, np.dtype):
        return value.dtype
    if isinstance(value, (builtins.bool, int, float, complex)):
        return value
    return np.dtype(value)


def result_type(*arrays_and_dtypes: Any) -> np.dtype:
    """The dtype the standard's type promotion gives for arrays, dtypes and Python scalars."""
    if not arrays_and_dtypes:
        raise ValueError("at least one array or dtype is required")
    values = [_dtype_of(v) for v in arrays_and_dtypes]
    if all(not isinstance(v, np.dtype) for v in values):
        raise ValueError("result_type needs at least one array or dtype: Python scalars alone "
                         "have no array dtype")
    return np.result_type(*values)


def can_cast(from_: Any, to: Any, /) -> builtins.bool:
    """Whether the standard's promotion rules allow casting ``from_`` to ``to``."""
    return builtins.bool(np.can_cast(_dtype_of(from_), np.dtype(to), casting="safe"))


class FInfo(NamedTuple):
    """Machine limits of a floating-point dtype, as Python numbers (the standard's ``finfo``)."""

    bits: int
    eps: float
    max: float
    min: float
    smallest_normal: float
    dtype: np.dtype


def finfo(type: Any, /) -> FInfo:
    """Machine limits of a floating-point dtype (or of an array of one)."""
    info = np.finfo(_dtype_of(type))
    return FInfo(int(info.bits), float(info.eps), float(info.max), float(info.min),
                 float(info.smallest_normal), np.dtype(info.dtype))


def iinfo(type: Any, /) -> np.iinfo:
    """Machine limits of an integer dtype (or of an array of one)."""
    return np.iinfo(_dtype_of(type))


def isdtype(dtype: Any, kind: Any) -> builtins.bool:
    """Whether ``dtype`` is of ``kind``: a dtype, a kind name, or a tuple of them."""
    if not isinstance(dtype, np.dtype):
        raise TypeError(f"isdtype expects a dtype, got {type(dtype).__name__}")
    return builtins.bool(np.isdtype(dtype, kind))


__all__ = ["bool", "can_cast", "complex128", "complex64", "e", "finfo", "float32", "float64",
           "iinfo", "inf", "int16", "int32", "int64", "int8", "isdtype", "nan", "newaxis", "pi",
           "result_type", "uint16", "uint32", "uint64", "uint8"]
