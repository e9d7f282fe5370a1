"""``concat``: frames one after another; and a Series made of lazy scalars."""

from __future__ import annotations

from functools import partial
from typing import Any, Sequence

import pandas as pd

from lamina.dataframe.core import Frame, Scalar, partitionwise, wrap
from lamina.layers.frame.regroup import ConcatFrames


def concat(frames: Sequence[Any]) -> Any:
    """The rows of ``frames`` one after another (``pandas.concat`` along rows)."""
    frames = list(frames)
    if not frames:
        raise ValueError("concat needs at least one frame")
    for f in frames:
        if not isinstance(f, Frame) or isinstance(f, Scalar):
            raise TypeError(f"concat takes lazy DataFrames or Series, got {type(f).__name__}: "
                            "wrap in-memory data with lamina.dataframe.from_pandas")
    if len(frames) == 1:
        return frames[0]
    meta = pd.concat([f._meta for f in frames])
    return wrap(ConcatFrames(tuple(f.layer for f in frames), meta))


def _series(index: list, *values: Any) -> pd.Series:
    return pd.Series(list(values), index=index)


def series_of_scalars(scalars: list, index: Any) -> Any:
    """A lazy Series whose values are lazy scalars, one per label of ``index``."""
    meta = pd.Series([s._meta for s in scalars], index=list(index))
    return partitionwise(partial(_series, list(index)), *scalars, meta=meta.iloc[:0],
                         fname="series")
