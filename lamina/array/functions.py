"""``__array_function__``: NumPy functions that stay lazy on lamina Arrays.

``np.sum(x)`` on an Array returns an Array. The table maps each supported
NumPy function to the lamina function (module, name) that implements it;
a NumPy function not in the table raises a TypeError naming it.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

_TABLE: dict[str, tuple[str, str]] = {}


def _register(module: str, *names: str, **renamed: str) -> None:
    for name in names:
        _TABLE[name] = (module, name)
    for numpy_name, name in renamed.items():
        _TABLE[numpy_name] = (module, name)


_register("lamina.array.reductions", "sum", "prod", "mean", "var", "std", "min", "max", "any",
          "all", "argmin", "argmax", amin="min", amax="max", nansum="nansum",
          nanmean="nanmean", nanmin="nanmin", nanmax="nanmax")
_register("lamina.array.manipulation", "rechunk", "transpose", "swapaxes", "moveaxis",
          "reshape", "ravel", "concatenate", "stack", "expand_dims", "squeeze")
_register("lamina.array.contraction", "matmul", "dot", "tensordot", "vdot", "outer")
_register("lamina.array.elementwise", "where", "real", "imag")
_register("lamina.array.creation", "broadcast_to", "zeros_like", "ones_like", "empty_like",
          "full_like")
_register("lamina.array.scans", "cumsum", "cumprod", "nancumsum", "nancumprod",
          "cumulative_sum", "cumulative_prod")
_register("lamina.array.elementwise_functions", "clip", "round", "around", "nan_to_num",
          "isclose", "allclose")
_register("lamina.array.nan_reductions", "nanprod", "nanvar", "nanstd", "nanargmin",
          "nanargmax")
_register("lamina.array.combining", "flip", "roll", "vstack", "hstack", "dstack", "tile",
          "repeat", "diff", "take", "atleast_1d", "atleast_2d", "atleast_3d")
_register("lamina.array.grids", "eye", "tril", "triu", "meshgrid", "broadcast_arrays")
_register("lamina.array.sorting", "sort", "argsort", "searchsorted", "unique", "unique_all",
          "unique_counts", "unique_inverse", "unique_values")
_register("lamina.array.order_statistics", "median", "quantile", "percentile")
_register("lamina.array.einsum", "einsum", "inner")
_register("lamina.array.nonzero", "nonzero", "argwhere", "flatnonzero")


def array_function(func: Any, types: Any, args: Any, kwargs: Any) -> Any:
    from lamina.array.core import Array

    if not all(issubclass(t, (Array, np.ndarray)) for t in types):
        return NotImplemented
    entry = _TABLE.get(func.__name__)
    target = None
    if entry is not None:
        target = getattr(importlib.import_module(entry[0]), entry[1], None)
    if target is None:
        raise TypeError(
            f"numpy.{func.__name__} is not supported on lamina Arrays: call .compute() "
            "first to get a NumPy array, or use a supported function"
        )
    return target(*args, **kwargs)
