"""How many groups a ``groupby`` makes, known or estimated before computing.

A tree reduction ends in one partition holding every group: right for few
groups, a memory wall for many. ``choose_split_out`` picks a hash shuffle
into ``ceil(groups / GROUPS_PER_PARTITION)`` partitions instead when the
number of groups is known or estimated to be large:

* a categorical key has at most its categories (plus missing), a boolean
  key two values;
* a key read from an in-memory frame has the distinct values counted there;
* an integer key read from parquet has at most ``max - min + 1`` values by
  the row-group statistics;
* never more groups than rows (the source's row count).

Keys derived by expressions the estimate cannot see through count as
unknown, and an unknown count keeps the tree reduction. The choice only
changes how groups are merged, never the result.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from lamina.layers.frame.base import FrameLayer
from lamina.layers.frame.parquet import ReadParquet
from lamina.layers.frame.parquet_meta import dataset_meta
from lamina.layers.frame.partitionwise import MapPartitions
from lamina.layers.frame.sources import FromPandas

GROUPS_PER_PARTITION = 500_000
"""Groups one partition of a groupby's result may hold before the groupby shuffles."""


def source_of(layer: Any) -> Any:
    """The layer under a chain of partition-wise layers (a source, or where the chain stops)."""
    while isinstance(layer, MapPartitions) and layer.args and \
            isinstance(layer.args[0], FrameLayer):
        layer = layer.args[0]
    return layer


def estimated_groups(frame: Any, by: list) -> int | None:
    """An upper estimate of the groups of ``frame.groupby(by)``, or None when unknown."""
    from lamina.dataframe.join import estimated_rows

    source = source_of(frame.layer)
    rows = estimated_rows(frame.layer)
    total = 1
    for key in by:
        count = _distinct(frame._meta[key].dtype, source, key)
        if count is None:
            return None
        total *= count
        if rows is not None and total >= rows:
            return rows
    return total if rows is None else min(total, rows)


def choose_split_out(frame: Any, by: list, sort: bool) -> tuple[int, int | None, tuple | None]:
    """``(split_out, estimated groups, boundaries)``: 1 (a tree reduction) unless there
    are many groups. With ``sort`` the shuffle must give groups in key order, so it
    goes by range of the first key, with ``boundaries`` from the same source; where
    there are none to be had, the tree reduction stays."""
    groups = estimated_groups(frame, by)
    if groups is None or groups <= GROUPS_PER_PARTITION:
        return 1, groups, None
    split_out = max(min(math.ceil(groups / GROUPS_PER_PARTITION), frame.npartitions), 2)
    if not sort:
        return split_out, groups, None
    boundaries = key_boundaries(frame, by[0], split_out)
    if not boundaries:
        return 1, groups, None
    return len(boundaries) + 1, groups, boundaries


def key_boundaries(frame: Any, key: str, n: int) -> tuple | None:
    """Up to ``n - 1`` increasing values of ``key`` cutting its distinct values into
    ``n`` ranges of about equal counts (None: the source gives none)."""
    source = source_of(frame.layer)
    dtype = frame._meta[key].dtype
    if isinstance(source, FromPandas):
        data = getattr(source.data, "value", source.data)
        if key not in getattr(data, "columns", ()) or data[key].dtype != dtype or \
                isinstance(dtype, pd.CategoricalDtype):
            return None
        values = data[key].dropna().drop_duplicates().sort_values()
        cuts = values.iloc[[len(values) * i // n for i in range(1, n)]] if len(values) else []
        return tuple(pd.unique(pd.Series(cuts, dtype=dtype)))
    if isinstance(source, ReadParquet) and key in source.columns and \
            pd.api.types.is_integer_dtype(dtype):
        low_high = _parquet_min_max(source, key)
        if low_high is None:
            return None
        cuts = np.unique(np.linspace(low_high[0], low_high[1] + 1, n + 1)[1:-1].astype(np.int64))
        return tuple(cuts.tolist())
    return None


def _distinct(dtype: Any, source: Any, key: str) -> int | None:
    if isinstance(dtype, pd.CategoricalDtype):
        return len(dtype.categories) + 1
    if pd.api.types.is_bool_dtype(dtype):
        return 3
    if isinstance(source, FromPandas):
        data = getattr(source.data, "value", source.data)
        if key in getattr(data, "columns", ()) and data[key].dtype == dtype:
            return int(data[key].nunique(dropna=False))
        return None
    if isinstance(source, ReadParquet) and key in source.columns and \
            pd.api.types.is_integer_dtype(dtype):
        return _parquet_range(source, key)
    return None


def _parquet_range(read: ReadParquet, key: str) -> int | None:
    """``max - min + 1`` of an integer column over the row groups read, from statistics."""
    low_high = _parquet_min_max(read, key)
    return None if low_high is None else max(low_high[1] - low_high[0] + 1, 0)


def _parquet_min_max(read: ReadParquet, key: str) -> tuple[int, int] | None:
    """The least and greatest value of a column over the row groups read, from their
    statistics (None where a row group has none). The dataset's statistics are pulled
    from its cached footers once, as arrays (``DatasetMeta.column_stats``)."""
    dataset = dataset_meta(read.path)
    if dataset.files != tuple(read.files) or key not in dataset.schema.names:
        return None
    stats = dataset.column_stats(key)
    if stats.kind != "int":
        return None
    indptr, ids = read.part_groups
    first = np.zeros(len(dataset.files) + 1, dtype=np.int64)
    np.cumsum(np.bincount(dataset.rg_file, minlength=len(dataset.files)), out=first[1:])
    which = first[np.repeat(read.part_file, np.diff(indptr))] + ids
    if not len(which) or not stats.known[which].all():
        return None
    return int(stats.lo[which].min()), int(stats.hi[which].max())
