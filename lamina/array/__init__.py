"""Chunked arrays: creation functions and NumPy-like operations.

    import lamina.array as la
    x = la.from_array(np.arange(12).reshape(3, 4), chunks=2)
    (x + 1).sum(axis=0).compute()
"""

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
from lamina.array.elementwise import astype, elemwise, where
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
from lamina.array.zarr_io import from_zarr, to_zarr

__all__ = [
    "Array", "arange", "asarray", "astype", "broadcast_to", "concatenate", "elemwise", "empty",
    "empty_like", "expand_dims", "from_array", "from_dask", "from_zarr", "full", "full_like", "linspace", "map_blocks",
    "moveaxis", "ones", "ones_like", "ravel", "rechunk", "reshape", "squeeze", "stack",
    "swapaxes", "to_zarr", "transpose", "where", "zeros", "zeros_like",
]
