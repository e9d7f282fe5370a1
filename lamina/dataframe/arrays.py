"""``from_array`` and ``to_array``: frames from and to ``lamina.array`` with known chunks."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from lamina.dataframe.core import wrap
from lamina.layers.frame.arrays import ArrayToFrame, FrameToArray
from lamina.layers.frame.partitionwise import MapPartitions


def from_array(array: Any, columns: Sequence[str] | None = None) -> Any:
    """A DataFrame (2-D) or Series (1-D) with one partition per row block of ``array``.

    The index is a range, so the divisions are known from the chunks.
    """
    layer = array.layer
    if layer.ndim not in (1, 2):
        raise ValueError(f"from_array takes a 1-D or 2-D array, got {layer.ndim}-D")
    if layer.ndim == 1:
        if columns is not None and not isinstance(columns, str):
            raise ValueError("a 1-D array makes a Series: give columns as one name")
        meta = pd.Series(np.empty(0, dtype=layer.dtype), name=columns)
        return wrap(ArrayToFrame(layer, None, meta))
    columns = list(range(layer.shape[1])) if columns is None else list(columns)
    if len(columns) != layer.shape[1]:
        raise ValueError(f"{len(columns)} column names for an array of {layer.shape[1]} "
                         "columns: give one name per column")
    meta = pd.DataFrame(np.empty((0, len(columns)), dtype=layer.dtype), columns=columns)
    return wrap(ArrayToFrame(layer, tuple(columns), meta))


def _length(part: Any) -> int:
    return len(part)


def to_array(frame: Any) -> Any:
    """The values as a ``lamina.array`` Array whose row chunks are the partitions' lengths.

    The lengths are computed first (one pass over the partitions), so the
    array's chunks are known; the dtype is pandas' common dtype of the columns.
    """
    from lamina.array.core import Array
    from lamina.compute import compute_blocks

    meta = frame._meta
    lengths_layer = MapPartitions(_length, (frame.layer,), (), 0,
                                  (None,) * (frame.npartitions + 1), (), "len")
    lengths = tuple(int(n) for n in compute_blocks(lengths_layer)[0])
    if isinstance(meta, pd.Series):
        dtype = np.dtype(meta.to_numpy().dtype)
        return Array(FrameToArray(frame.layer, lengths, None, dtype))
    dtype = np.dtype(meta.to_numpy().dtype)
    return Array(FrameToArray(frame.layer, lengths, len(meta.columns), dtype))
