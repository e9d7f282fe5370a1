"""``merge``: pandas' join of two lazy DataFrames, chosen by their partitioning.

* broadcast: one side has one partition, or is estimated from its source's
  metadata at most ``BROADCAST_ROWS`` rows, or ``broadcast=True`` (and the
  join keeps all rows of the other side): every partition of the other
  side is merged with it, no shuffle; the plan's layer says
  ``merge-broadcast`` in ``lamina.explain``;
* partition-aligned: both are joined on their index with equal known
  divisions: partition ``i`` with partition ``i``;
* hash: both sides are shuffled by the hash of their keys into the same
  number of partitions, then merged partition by partition.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pandas as pd

from lamina.dataframe.core import wrap
from lamina.layers.frame.base import FrameLayer, concat_partitions
from lamina.layers.frame.parquet import ReadParquet
from lamina.layers.frame.partitionwise import MapPartitions
from lamina.layers.frame.regroup import Regroup
from lamina.layers.frame.shuffle import ShuffleGather, ShuffleSplit
from lamina.layers.frame.sources import FromPandas

BROADCAST_KEEPS = {"inner": "left", "left": "left", "right": "right"}
BROADCAST_ROWS = 1_000_000
"""A side estimated to have at most this many rows is sent whole to every
partition of the other instead of shuffling both."""


def estimated_rows(layer: Any) -> int | None:
    """Rows of a frame from its source's metadata, before filters (None: unknown).

    Follows partition-wise layers down to a parquet read (row-group counts)
    or an in-memory frame; a filter only makes the estimate an upper bound.
    """
    while isinstance(layer, MapPartitions) and layer.args and \
            isinstance(layer.args[0], FrameLayer):
        layer = layer.args[0]
    if isinstance(layer, ReadParquet):
        return int(sum(layer.rows))
    if isinstance(layer, FromPandas):
        return int(layer.bounds[-1])
    return None


def _merge(kwargs: tuple, left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    return pd.merge(left, right, **dict(kwargs))


def _one_partition(frame: Any) -> Any:
    n = frame.npartitions
    return Regroup(frame.layer, (0, n), partial(concat_partitions, meta=frame._meta),
                   frame._meta, (frame.divisions[0], frame.divisions[-1]), "gather")


def merge(left: Any, right: Any, how: str = "inner", on: Any = None, left_on: Any = None,
          right_on: Any = None, left_index: bool = False, right_index: bool = False,
          suffixes: tuple = ("_x", "_y"), broadcast: bool | None = None,
          npartitions: int | None = None) -> Any:
    """Join two lazy DataFrames like ``pandas.merge`` (row order may differ)."""
    from lamina.dataframe.frame import DataFrame

    for side, value in (("left", left), ("right", right)):
        if not isinstance(value, DataFrame):
            raise TypeError(f"merge's {side} side must be a lazy DataFrame, got "
                            f"{type(value).__name__}")
    if how not in ("inner", "left", "right", "outer"):
        raise ValueError(f"merge how={how!r} is not supported: use inner, left, right "
                         "or outer")
    kwargs = dict(how=how, on=on, left_on=left_on, right_on=right_on, left_index=left_index,
                  right_index=right_index, suffixes=tuple(suffixes))
    meta = pd.merge(left._meta, right._meta, **kwargs)  # pandas' errors for bad keys
    options = tuple(sorted(kwargs.items()))
    func = partial(_merge, options)
    if left_index and right_index and left.known_divisions and \
            left.divisions == right.divisions:
        return wrap(MapPartitions(func, (left.layer, right.layer), (), meta, left.divisions,
                                  (), "merge-aligned"))
    small = _broadcast_side(left, right, how, broadcast)
    if small == "right":
        return wrap(MapPartitions(func, (left.layer, _one_partition(right)), (), meta,
                                  (None,) * (left.npartitions + 1), (1,), "merge-broadcast"))
    if small == "left":
        return wrap(MapPartitions(func, (_one_partition(left), right.layer), (), meta,
                                  (None,) * (right.npartitions + 1), (0,), "merge-broadcast"))
    nout = npartitions or max(left.npartitions, right.npartitions)
    left_keys = () if left_index else tuple(_keys(on if on is not None else left_on))
    right_keys = () if right_index else tuple(_keys(on if on is not None else right_on))
    if not left_index and not right_index and on is None and left_on is None:
        left_keys = right_keys = tuple(c for c in left.columns if c in right.columns)
    shuffled_left = ShuffleGather(ShuffleSplit(left.layer, left_keys, nout))
    shuffled_right = ShuffleGather(ShuffleSplit(right.layer, right_keys, nout))
    return wrap(MapPartitions(func, (shuffled_left, shuffled_right), (), meta,
                              (None,) * (nout + 1), (), "merge-hash"))


def _small(frame: Any) -> bool:
    rows = estimated_rows(frame.layer)
    return rows is not None and rows <= BROADCAST_ROWS


def _keys(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _broadcast_side(left: Any, right: Any, how: str, broadcast: bool | None) -> str | None:
    """Which side to send whole to every partition of the other, if any."""
    if broadcast is False:
        return None
    keeps = BROADCAST_KEEPS.get(how)
    if keeps == "left" and (right.npartitions == 1 or broadcast or _small(right)):
        return "right"
    if keeps == "right" and (left.npartitions == 1 or broadcast or _small(left)):
        return "left"
    if how == "inner" and left.npartitions == 1:
        return "left"
    return None
