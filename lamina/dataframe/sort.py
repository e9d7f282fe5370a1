"""``sort_values`` and ``set_index``: sampled quantiles, then a range shuffle.

A first pass samples up to ``SAMPLES`` sorted values of the key from each
partition (with its minimum and maximum); the quantiles of the samples cut
the key range into ``npartitions`` intervals; a range shuffle sends each row
to its interval and every partition is sorted on its own (stably, so rows
with equal keys keep their order). Missing keys go last.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from lamina.dataframe import reductions
from lamina.dataframe.core import partitionwise, wrap
from lamina.layers.frame.shuffle import ShuffleGather, ShuffleSplit

SAMPLES = 100


def _sample(column: Any, part: pd.DataFrame) -> Any:
    values = part[column].dropna().sort_values(kind="stable")
    if not len(values):
        return None
    positions = np.unique(np.linspace(0, len(values) - 1, SAMPLES).round().astype(int))
    return values.iloc[positions]


def _sample_merge(partials: list) -> Any:
    partials = [p for p in partials if p is not None]
    return pd.concat(partials) if partials else None


def _boundaries(value: Any, meta: Any) -> Any:
    return value


def _sort(by: list, ascending: Any, part: pd.DataFrame) -> pd.DataFrame:
    return part.sort_values(by, ascending=ascending, kind="stable", na_position="last")


def _ascending_per_key(by: list, ascending: Any) -> list:
    """One bool per key, as pandas takes them (a bool for all, or a list)."""
    if isinstance(ascending, (bool, np.bool_)):
        return [bool(ascending)] * len(by)
    if not isinstance(ascending, (list, tuple)) or \
            not all(isinstance(a, (bool, np.bool_)) for a in ascending):
        raise ValueError(f"ascending must be a bool or a list of bools, got {ascending!r}")
    if len(ascending) != len(by):
        raise ValueError(f"Length of ascending ({len(ascending)}) != length of by "
                         f"({len(by)}): give one bool per sort key")
    return [bool(a) for a in ascending]


def _set_index(column: str, part: pd.DataFrame) -> pd.DataFrame:
    return part.set_index(column)


def _ranges(frame: Any, column: Any, npartitions: int) -> tuple[list, Any, Any]:
    """Inner cut points for ``npartitions`` ranges of ``column``, and its min and max."""
    sample = reductions.reduce(frame, reductions.Reduction(
        "sample", partial(_sample, column), _sample_merge, _boundaries)).compute()
    if sample is None:
        return [], None, None
    values = sample.sort_values(kind="stable").to_numpy()
    cuts = [values[int(round(q * (len(values) - 1)))]
            for q in np.linspace(0, 1, npartitions + 1)[1:-1]]
    return sorted(set(cuts)), values[0], values[-1]


def sort_values(frame: Any, by: Any, ascending: Any = True,
                npartitions: int | None = None) -> Any:
    """Rows sorted by ``by`` (ties in input order, missing keys last).

    ``ascending`` is one bool or one per key; the range shuffle cuts by the
    first key in its direction and each partition sorts by all keys.
    """
    by = list(by) if isinstance(by, (list, tuple)) else [by]
    ascending = _ascending_per_key(by, ascending)
    frame._meta.sort_values(by)  # pandas' KeyError for an unknown column
    return _range_shuffled(frame, by, ascending, npartitions)[0]


def _range_shuffled(frame: Any, by: list, ascending: list, npartitions: int | None) -> tuple:
    nout = npartitions or frame.npartitions
    if nout == 1 and frame.npartitions > 1:
        frame = frame.repartition(1)
    if frame.npartitions == 1 and (npartitions is None or nout == 1):
        sorted_frame = partitionwise(partial(_sort, by, ascending), frame, fname="sort",
                                     keep_divisions=False)
        return sorted_frame, None
    cuts, low, high = _ranges(frame, by[0], nout)
    split = ShuffleSplit(frame.layer, (by[0],), len(cuts) + 1, tuple(cuts), not ascending[0])
    gathered = wrap(ShuffleGather(split))
    out = partitionwise(partial(_sort, by, ascending), gathered, fname="sort",
                        keep_divisions=False)
    return out, (cuts, low, high)


def set_index(frame: Any, column: str, npartitions: int | None = None) -> Any:
    """``column`` as the sorted index, with known divisions when it has no missing values."""
    frame._meta.set_index(column)
    out, ranges = _range_shuffled(frame, [column], [True], npartitions)
    indexed = partitionwise(partial(_set_index, column), out, fname="set_index",
                            keep_divisions=False)
    if ranges is None or ranges[1] is None or frame[column].isna().sum().compute():
        return indexed
    cuts, low, high = ranges
    divisions = (low, *cuts, high)
    layer = indexed.layer.substitute(divisions_=divisions)
    return wrap(layer)
