"""Chunked arrays: creation functions and NumPy-like operations.

    import lamina.array as la
    x = la.from_array(np.arange(12).reshape(3, 4), chunks=2)
    (x + 1).sum(axis=0).compute()
"""

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
from lamina.array.einsum import einsum, inner
from lamina.array.elementwise import astype, elemwise, where
from lamina.array.elementwise_functions import (
    allclose,
    around,
    clip,
    isclose,
    nan_to_num,
    round,
)
from lamina.array.grids import broadcast_arrays, eye, meshgrid, tril, triu
from lamina.array.manipulation import (
    concatenate,
    expand_dims,
    moveaxis,
    ravel,
    rechunk,
    reshape,
    squeeze,
    stack,
    swapaxes,
    transpose,
)
from lamina.array.map_blocks import map_blocks
from lamina.array.nan_reductions import nanargmax, nanargmin, nanprod, nanstd, nanvar
from lamina.array.nonzero import argwhere, flatnonzero, nonzero
from lamina.array.order_statistics import median, percentile, quantile
from lamina.array.reductions import nanmax, nanmean, nanmin, nansum
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
from lamina.array.zarr_io import from_zarr, to_zarr

__all__ = [
    "Array", "arange", "asarray", "astype", "broadcast_to", "concatenate", "elemwise", "empty",
    "empty_like", "expand_dims", "from_array", "from_dask", "from_zarr", "full", "full_like", "linspace", "map_blocks",
    "moveaxis", "ones", "ones_like", "ravel", "rechunk", "reshape", "squeeze", "stack",
    "swapaxes", "to_zarr", "transpose", "where", "zeros", "zeros_like",
    "allclose", "argsort", "argwhere", "around", "atleast_1d", "atleast_2d", "atleast_3d",
    "broadcast_arrays", "clip", "cumprod", "cumsum", "cumulative_prod", "cumulative_sum",
    "diff", "dstack", "einsum", "eye", "flatnonzero", "flip", "hstack", "inner", "isclose",
    "meshgrid", "median", "nan_to_num", "nanargmax", "nanargmin", "nancumprod", "nancumsum",
    "nanmax", "nanmean", "nanmin", "nanprod", "nanstd", "nansum", "nanvar", "nonzero",
    "percentile", "quantile", "repeat", "roll", "round", "searchsorted", "sort", "take",
    "tile", "tril", "triu", "unique", "unique_all", "unique_counts", "unique_inverse",
    "unique_values", "vstack",
]
