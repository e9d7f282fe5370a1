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
from lamina.array.elementwise import astype, elemwise, map_blocks, where
from lamina.array.manipulation import rechunk

__all__ = [
    "Array", "arange", "asarray", "astype", "broadcast_to", "elemwise", "empty", "empty_like",
    "from_array", "full", "full_like", "linspace", "map_blocks", "ones", "ones_like", "rechunk",
    "where", "zeros", "zeros_like",
]
