"""Row operations that see every partition: numbering, membership, top rows.

* ``reset_index``: rows numbered ``0 .. n-1`` across partitions, as pandas
  does (a small pass counts each partition's rows first);
* ``isin(lazy)``: the distinct values of a lazy Series gathered once (a
  tree of ``drop_duplicates``) and read whole by every partition, a
  semi-join (``~`` of it an anti-join) without a shuffle;
* ``nlargest`` / ``nsmallest``: the top rows of each partition, merged as
  a tree, so only ``n`` rows per partition travel.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from lamina.dataframe import reductions
from lamina.dataframe.core import wrap
from lamina.layers.frame.base import Pandas
from lamina.layers.frame.partitionwise import MapPartitions
from lamina.layers.frame.sources import FromPandas


def _lengths_chunk(part: Any) -> list:
    return [len(part)]


def _lengths_merge(partials: list) -> list:
    return [n for p in partials for n in p]


def _offsets(value: Any, meta: Any) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(value or [], dtype=np.int64)])


PARTITION_OFFSETS = reductions.Reduction("partition-offsets", _lengths_chunk, _lengths_merge,
                                         _offsets)


def _numbered(drop: bool, part: Any, position: pd.Series, offsets: np.ndarray) -> Any:
    start = int(offsets[int(position.iloc[0])])
    out = part.reset_index(drop=drop)
    out.index = pd.RangeIndex(start, start + len(out))
    return out


def reset_index(frame: Any, drop: bool = False) -> Any:
    """``frame.reset_index(drop=)`` numbering rows across partitions like pandas."""
    meta = frame._meta.reset_index(drop=drop)  # pandas' error for a clashing name
    n = frame.npartitions
    offsets = reductions.reduce(frame, PARTITION_OFFSETS)
    positions = FromPandas(Pandas(pd.Series(np.arange(n), dtype="int64")),
                           tuple(range(n + 1)), (None,) * (n + 1))
    layer = MapPartitions(partial(_numbered, drop), (frame.layer, positions, offsets.layer),
                          (), meta, (None,) * (n + 1), (2,), "reset_index")
    return wrap(layer)


def _distinct(part: Any) -> Any:
    return part.drop_duplicates()


def _distinct_merge(partials: list) -> Any:
    partials = [p for p in partials if p is not None and len(p)]
    if not partials:
        return None
    return pd.concat(partials).drop_duplicates() if len(partials) > 1 else partials[0]


def _distinct_values(value: Any, meta: Any) -> Any:
    return (meta if value is None else value).to_numpy()


DISTINCT = reductions.Reduction("distinct", _distinct, _distinct_merge, _distinct_values)


def _isin(part: Any, values: Any) -> Any:
    return part.isin(values)


def isin_lazy(series: Any, values: Any) -> Any:
    """``series.isin(values)`` for a lazy Series or Index ``values``."""
    from lamina.dataframe.core import partitionwise
    from lamina.dataframe.frame import DataFrame

    if isinstance(values, DataFrame):
        raise TypeError("isin takes a lazy Series or Index, not a DataFrame: select a "
                        "column (df.isin(other.key))")
    distinct = reductions.reduce(values, DISTINCT)
    return partitionwise(_isin, series, distinct, fname="isin")


def _top(method: str, n: int, columns: Any, part: Any) -> Any:
    if columns is None:
        return getattr(part, method)(n)
    return getattr(part, method)(n, columns)


def _top_merge(method: str, n: int, columns: Any, partials: list) -> Any:
    partials = [p for p in partials if p is not None]
    if not partials:
        return None
    joined = pd.concat(partials) if len(partials) > 1 else partials[0]
    return _top(method, n, columns, joined)


def _top_finish(method: str, n: int, columns: Any, value: Any, meta: Any) -> Any:
    return _top(method, n, columns, meta) if value is None else value


def top_rows(frame: Any, method: str, n: int, columns: Any = None) -> Any:
    """``nlargest``/``nsmallest``: per-partition tops merged as a tree (keep='first')."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"{method} takes an int n, got {n!r}")
    _top(method, n, columns, frame._meta)  # pandas' errors: unknown column, bad dtype
    reduction = reductions.Reduction(method, partial(_top, method, n, columns),
                                     partial(_top_merge, method, n, columns),
                                     partial(_top_finish, method, n, columns))
    return reductions.reduce(frame, reduction)
