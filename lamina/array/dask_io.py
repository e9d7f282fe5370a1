"""``from_dask``: a lamina array over a Dask array, chunks kept
(``Array.to_dask`` is the way out, in ``lamina.interop``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.array.core import Array
from lamina.layers.dask_source import DaskCollection, FromDask


def from_dask(darr: Any) -> "Array":
    """A lamina array over a Dask array, with the same chunks.

    Nothing is computed until lamina computes it; then each lamina task
    computes one Dask block with Dask's synchronous scheduler.
    """
    import dask.array as da

    if not isinstance(darr, da.Array):
        raise TypeError(f"from_dask takes a dask.array.Array, got {type(darr).__name__}")
    if any(np.isnan(c) for cs in darr.chunks for c in cs):
        raise ValueError(f"the Dask array {darr.name} has unknown chunk sizes: call "
                         "its compute_chunk_sizes() first")
    return Array(FromDask(DaskCollection(darr), darr.chunks, darr.dtype))
