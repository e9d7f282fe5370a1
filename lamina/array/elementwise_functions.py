"""Elementwise NumPy functions that are not ufuncs: ``clip``, ``round``, ``nan_to_num``, ``isclose``.

    la.clip(x, 0, 1)              # bounds may be arrays, broadcast like NumPy
    la.round(x, 2)                # np.round, half to even
    la.nan_to_num(x, nan=-1.0)
    la.allclose(x, y)             # a lazy 0-d bool Array; bool() computes it

Each is one ``Blockwise`` layer calling the NumPy function on every block,
so special values and dtypes are NumPy's own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.array.core import Array
from lamina.array.creation import asarray
from lamina.array.elementwise import elemwise

_NO_VALUE = np._NoValue


def clip(a: Any, a_min: Any = _NO_VALUE, a_max: Any = _NO_VALUE, out: Any = None, *,
         min: Any = _NO_VALUE, max: Any = _NO_VALUE, **kwargs: Any) -> Array:
    """Limit the values to ``[a_min, a_max]`` (``min=``/``max=`` as in the Array API)."""
    if out is not None:
        raise TypeError("clip(out=...) is not supported on lamina Arrays, which are immutable: "
                        "use the returned Array")
    if a_min is not _NO_VALUE and min is not _NO_VALUE or \
            a_max is not _NO_VALUE and max is not _NO_VALUE:
        raise TypeError("clip takes a_min or min (and a_max or max), not both")
    low = None if a_min is _NO_VALUE and min is _NO_VALUE else (
        min if a_min is _NO_VALUE else a_min)
    high = None if a_max is _NO_VALUE and max is _NO_VALUE else (
        max if a_max is _NO_VALUE else a_max)
    a = asarray(a)
    if low is None and high is None:
        return a
    return elemwise(np.clip, a, low, high, name="clip", **kwargs)


def round(a: Any, decimals: int = 0, out: Any = None) -> Array:
    """Round to ``decimals`` places, half to even, like ``np.round``."""
    if out is not None:
        raise TypeError("round(out=...) is not supported on lamina Arrays: use the result")
    return elemwise(np.round, asarray(a), name="round", decimals=int(decimals))


around = round


def nan_to_num(x: Any, copy: bool = True, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Array:
    """Replace NaN and ±inf by finite numbers, like ``np.nan_to_num``."""
    return elemwise(np.nan_to_num, asarray(x), name="nan_to_num", nan=nan, posinf=posinf,
                    neginf=neginf)


def isclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Array:
    """Elementwise ``|a - b| <= atol + rtol * |b|``, like ``np.isclose``."""
    a = a if isinstance(a, Array) else asarray(a)
    return elemwise(np.isclose, a, b, name="isclose", rtol=rtol, atol=atol,
                    equal_nan=bool(equal_nan))


def allclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> Array:
    """Whether all elements are close: a lazy 0-d bool Array (``bool()`` computes it)."""
    return isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan).all()


__all__ = ["allclose", "around", "clip", "isclose", "nan_to_num", "round"]
