"""``merge``: pandas' join of two lazy DataFrames.

How the join runs (``lamina.layers.frame.join``: broadcast one side, both
sides partition-aligned, or a hash shuffle of both) is chosen by the
optimizer's ``join_strategy`` rule from the sizes of the sides as the
optimized plan reads them, and shown by ``lamina.explain``; ``strategy=``
(or ``broadcast=``) chooses it here instead.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from lamina.dataframe.core import wrap
from lamina.layers.frame.base import FrameLayer
from lamina.layers.frame.join import KEEPS, join_layer
from lamina.layers.frame.parquet import ReadParquet
from lamina.layers.frame.partitionwise import MapPartitions
from lamina.layers.frame.sources import FromPandas

CHOICES = ("auto", "hash", "broadcast", "broadcast-left", "broadcast-right", "aligned")


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


def merge(left: Any, right: Any, how: str = "inner", on: Any = None, left_on: Any = None,
          right_on: Any = None, left_index: bool = False, right_index: bool = False,
          suffixes: tuple = ("_x", "_y"), broadcast: bool | None = None,
          strategy: str | None = None, npartitions: int | None = None) -> Any:
    """Join two lazy DataFrames like ``pandas.merge`` (row order may differ).

    ``strategy``: ``"auto"`` (the optimizer chooses), ``"hash"``,
    ``"broadcast"`` (the side the join does not keep whole: the right one
    for inner and left joins), ``"broadcast-left"``, ``"broadcast-right"`` or
    ``"aligned"`` (both joined on their index, with equal known divisions).
    ``broadcast=True``/``False`` is ``"broadcast"``/not broadcast.
    ``npartitions``: the partitions of the result (default: the kept side's
    for left and right joins, the larger side's otherwise).
    """
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
    chosen = _strategy(left, right, how, broadcast, strategy, left_index and right_index)
    nout = npartitions
    if chosen == "auto" and nout is None:
        nout = {"left": left.npartitions, "right": right.npartitions}.get(
            how, max(left.npartitions, right.npartitions))
    why = "" if chosen == "auto" else "chosen by the caller"
    return wrap(join_layer(left.layer, right.layer, kwargs, meta, chosen, nout, why))


def _strategy(left: Any, right: Any, how: str, broadcast: bool | None, strategy: str | None,
              on_index: bool) -> str:
    """The strategy asked for, checked against the join (``auto``: none asked for)."""
    if strategy is not None and broadcast is not None:
        raise ValueError("give merge either strategy= or broadcast=, not both")
    aligned = on_index and left.known_divisions and left.divisions == right.divisions
    if broadcast is not None:
        strategy = "broadcast" if broadcast else "aligned" if aligned else "hash"
    strategy = strategy or "auto"
    if strategy not in CHOICES:
        raise ValueError(f"merge strategy={strategy!r} is not one of {CHOICES}")
    if strategy == "broadcast":
        keeps = KEEPS[how]
        strategy = f"broadcast-{'right' if 'left' in keeps else 'left'}" if keeps else "hash"
    if strategy.startswith("broadcast-"):
        kept = "left" if strategy == "broadcast-right" else "right"
        if kept not in KEEPS[how]:
            raise ValueError(f"a {how} join cannot broadcast its {strategy[10:]} side: "
                             "its unmatched rows would be repeated for every partition of "
                             f"the other; use strategy='hash'")
    if strategy == "aligned" and not aligned:
        raise ValueError("strategy='aligned' joins on the index of both sides with equal "
                         f"known divisions; got divisions {left.divisions[:3]}... and "
                         f"{right.divisions[:3]}...: use set_index on both, or 'hash'")
    return strategy
