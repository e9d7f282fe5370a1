"""Chunked arrays: a conforming Array API (2023.12) namespace and NumPy-like operations.

    import lamina.array as la
    x = la.from_array(np.arange(12).reshape(3, 4), chunks=2)
    (x + 1).sum(axis=0).compute()
    la.linalg.vector_norm(la.asarray([3.0, 4.0])).compute()   # 5.0

Libraries written against the standard reach this module through
``x.__array_namespace__()``; see ``docs/array_api.md`` for what conforms.
"""

from lamina.array import fft, lib, linalg, standard_elementwise
from lamina.array.combining import (
    atleast_1d,
    atleast_2d,
    atleast_3d,
    diff,
    dstack,
    flip,
    hstack,
    repeat,
    roll,
    take,
    tile,
    vstack,
)
from lamina.array.contraction import matmul, outer, tensordot
from lamina.array.core import Array
from lamina.array.creation import (
    arange,
    asarray,
    broadcast_to,
    empty,
    empty_like,
    from_array,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    zeros,
    zeros_like,
)
from lamina.array.dask_io import from_dask
from lamina.array.dlpack import from_dlpack
from lamina.array.dtypes import (
    bool,
    can_cast,
    complex64,
    complex128,
    e,
    finfo,
    float32,
    float64,
    iinfo,
    inf,
    int8,
    int16,
    int32,
    int64,
    isdtype,
    nan,
    newaxis,
    pi,
    result_type,
    uint8,
    uint16,
    uint32,
    uint64,
)
from lamina.array.einsum import einsum, inner
from lamina.array.elementwise import astype, elemwise, where
from lamina.array.elementwise_functions import (
    allclose,
    around,
    isclose,
    nan_to_num,
    round,
)
from lamina.array.grids import tril, triu
from lamina.array.info import __array_namespace_info__
from lamina.array.manipulation import (
    concatenate,
    expand_dims,
    moveaxis,
    ravel,
    rechunk,
    reshape,
    stack,
    swapaxes,
    transpose,
)
from lamina.array.map_blocks import map_blocks
from lamina.array.nan_reductions import nanargmax, nanargmin, nanprod, nanstd, nanvar
from lamina.array.nonzero import argwhere, flatnonzero, nonzero
from lamina.array.order_statistics import median, percentile, quantile
from lamina.array.reductions import (
    all,
    any,
    argmax,
    argmin,
    max,
    mean,
    min,
    nanmax,
    nanmean,
    nanmin,
    nansum,
    prod,
    sum,
)
from lamina.array.scans import (
    cumprod,
    cumsum,
    cumulative_prod,
    cumulative_sum,
    nancumprod,
    nancumsum,
)
from lamina.array.sorting import (
    argsort,
    searchsorted,
    sort,
    unique,
    unique_all,
    unique_counts,
    unique_inverse,
    unique_values,
)
from lamina.array.standard import (
    broadcast_arrays,
    clip,
    concat,
    eye,
    matrix_transpose,
    meshgrid,
    permute_dims,
    squeeze,
    std,
    unstack,
    var,
    vecdot,
)
from lamina.array.windows import pad, sliding_window_view
from lamina.array.zarr_io import from_zarr, to_zarr

__array_api_version__ = "2023.12"

for _name in standard_elementwise.__all__:
    globals()[_name] = getattr(standard_elementwise, _name)

__all__ = [
    "Array", "__array_namespace_info__", "all", "any", "arange", "argmax", "argmin", "asarray", "astype", "bool",
    "broadcast_to", "can_cast", "complex128", "complex64", "concat", "concatenate", "e",
    "elemwise", "empty", "empty_like", "expand_dims", "fft", "finfo", "float32", "float64",
    "from_array", "from_dask", "from_dlpack", "from_zarr", "full", "full_like", "iinfo", "inf", "int16",
    "int32", "int64", "int8", "isdtype", "linalg", "linspace", "map_blocks", "matmul",
    "matrix_transpose", "max", "mean", "min", "moveaxis", "nan", "newaxis", "ones",
    "ones_like", "outer", "permute_dims", "pi", "prod", "ravel", "rechunk", "reshape",
    "result_type", "squeeze", "stack", "std", "sum", "swapaxes", "tensordot", "to_zarr",
    "transpose", "uint16", "uint32", "uint64", "uint8", "unstack", "var", "vecdot", "where",
    "zeros", "zeros_like", *standard_elementwise.__all__,
    "allclose", "argsort", "argwhere", "around", "atleast_1d", "atleast_2d", "atleast_3d",
    "broadcast_arrays", "clip", "cumprod", "cumsum", "cumulative_prod", "cumulative_sum",
    "diff", "dstack", "einsum", "eye", "flatnonzero", "flip", "hstack", "inner", "isclose",
    "meshgrid", "median", "nan_to_num", "nanargmax", "nanargmin", "nancumprod", "nancumsum",
    "nanmax", "nanmean", "nanmin", "nanprod", "nanstd", "nansum", "nanvar", "nonzero",
    "percentile", "quantile", "repeat", "roll", "round", "searchsorted", "sort", "take",
    "tile", "tril", "triu", "unique", "unique_all", "unique_counts", "unique_inverse",
    "unique_values", "vstack", "pad", "sliding_window_view", "lib",
]
