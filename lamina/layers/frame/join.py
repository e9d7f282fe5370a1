"""The layers of a join, in each of its three strategies.

``pandas.merge`` of two partitioned frames runs one of three ways:

* ``broadcast-right`` / ``broadcast-left``: the named side is gathered
  into one partition that every partition of the other side is merged
  with (no shuffle);
* ``aligned``: both sides are partitioned alike on the key (their index,
  equal known divisions): partition ``i`` with partition ``i``;
* ``hash``: both sides are shuffled by the hash of their keys into
  ``nout`` partitions, then merged partition by partition.

A join built without a strategy (``auto``) has the hash form until the
``join_strategy`` rule chooses; the strategy is part of the merge
layer's function (``merge_partitions``), so it is in the plan's tokens
and its label. Both the collection (``lamina.dataframe.merge``) and the
optimizer's rules build joins here.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from lamina.layers.base import Layer
from lamina.layers.frame.base import FrameLayer, concat_partitions
from lamina.layers.frame.partitionwise import MapPartitions
from lamina.layers.frame.regroup import Regroup, SplitPartitions
from lamina.layers.frame.shuffle import ShuffleGather, ShuffleSplit

STRATEGIES = ("auto", "hash", "broadcast-left", "broadcast-right", "aligned")
KEEPS = {"inner": ("left", "right"), "left": ("left",), "right": ("right",), "outer": ()}
"""For each ``how``, the sides whose rows a broadcast join may keep partitioned (the
other side is sent whole): a side whose unmatched rows the join keeps must not be
the broadcast one, or each partition would add its unmatched rows again."""


def merge_partitions(options: tuple, strategy: str, left: Any, right: Any) -> Any:
    """``pandas.merge(left, right, **options)``; ``strategy`` only names the plan's
    choice (so that it is part of the layer's token)."""
    import pandas as pd

    return pd.merge(left, right, **dict(options))


def merge_parts(layer: Layer) -> tuple[dict, str] | None:
    """``(pandas merge options, strategy)`` when ``layer`` is a join's merge layer."""
    func = getattr(layer, "func", None)
    if isinstance(layer, MapPartitions) and isinstance(func, partial) and \
            func.func is merge_partitions:
        return dict(func.args[0]), func.args[1]
    return None


def join_keys(options: dict, left_columns: Any, right_columns: Any) -> tuple[tuple, tuple]:
    """The key columns of each side (``()``: the index)."""
    def listed(value: Any) -> tuple:
        return tuple(value) if isinstance(value, (list, tuple)) else (value,)

    on = options.get("on")
    if options.get("left_index") and options.get("right_index"):
        return (), ()
    if on is None and options.get("left_on") is None and options.get("right_on") is None:
        common = tuple(c for c in left_columns if c in set(right_columns))
        return common, common
    left = () if options.get("left_index") else listed(on if on is not None
                                                       else options["left_on"])
    right = () if options.get("right_index") else listed(on if on is not None
                                                         else options["right_on"])
    return left, right


def merge_sources(options: dict, left_columns: list, right_columns: list) -> dict:
    """Each output column of ``pandas.merge`` -> the ``(side, column)`` pairs it comes
    from (a key named by ``on=``, or common to both sides by default, from both)."""
    lkeys, _ = join_keys(options, left_columns, right_columns)
    implicit = options.get("left_on") is None and not options.get("left_index")
    shared = set(lkeys) if options.get("on") is not None or implicit else set()
    sx, sy = options.get("suffixes", ("_x", "_y"))
    out: dict = {}
    for c in left_columns:
        if c in shared:
            out[c] = [("left", c), ("right", c)]
        else:
            out[f"{c}{sx}" if c in right_columns else c] = [("left", c)]
    for c in right_columns:
        if c not in shared:
            out[f"{c}{sy}" if c in left_columns else c] = [("right", c)]
    return out


def one_partition(layer: FrameLayer) -> Regroup:
    """All partitions of ``layer`` concatenated into one (a broadcast side)."""
    meta = layer.meta
    return Regroup(layer, (0, layer.npartitions), partial(concat_partitions, meta=meta), meta,
                   (layer.divisions[0], layer.divisions[-1]), "gather")


def fit_partitions(layer: FrameLayer, n: int) -> FrameLayer:
    """The same rows in ``n`` partitions, joining neighbours or cutting partitions by
    rows (no shuffle): a join keeps the partition count it was built with."""
    meta = layer.meta
    if layer.npartitions < n:
        layer = SplitPartitions(layer, math.ceil(n / max(layer.npartitions, 1)))
    k = layer.npartitions
    if k == n:
        return layer
    bounds = tuple(round(i * k / n) for i in range(n + 1))
    return Regroup(layer, bounds, partial(concat_partitions, meta=meta), meta,
                   (None,) * (n + 1), "repartition")


def label(strategy: str, why: str = "") -> str:
    """The merge layer's name in plans: ``merge: broadcast right (~25 rows ...)``."""
    text = "auto (hash until the optimizer chooses)" if strategy == "auto" else \
        strategy.replace("-", " ")
    return f"merge: {text}" + (f" ({why})" if why else "")


def join_layer(left: FrameLayer, right: FrameLayer, options: dict, meta: Any, strategy: str,
               nout: int | None = None, why: str = "") -> FrameLayer:
    """The layers of ``pandas.merge(left, right, **options)`` run by ``strategy``.

    ``nout``: the partitions of the result (a hash join's output partitions;
    a broadcast or aligned join's result is regrouped to it when its kept
    side has another count); None: the strategy's natural count.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"join strategy {strategy!r} is not one of {STRATEGIES}")
    opts = tuple(sorted(options.items()))
    func = partial(merge_partitions, opts, strategy)
    name = label(strategy, why)
    if strategy in ("hash", "auto"):
        n = nout or max(left.npartitions, right.npartitions)
        left_keys, right_keys = join_keys(options, left.meta.columns, right.meta.columns)
        return MapPartitions(func, (ShuffleGather(ShuffleSplit(left, left_keys, n)),
                                    ShuffleGather(ShuffleSplit(right, right_keys, n))),
                             (), meta, (None,) * (n + 1), (), name)
    if strategy == "aligned":
        if left.npartitions != right.npartitions:
            raise ValueError(f"an aligned join needs sides with equal partitions, got "
                             f"{left.npartitions} and {right.npartitions}")
        out = MapPartitions(func, (left, right), (), meta, left.divisions, (), name)
    elif strategy == "broadcast-right":
        out = MapPartitions(func, (left, one_partition(right)), (), meta,
                            (None,) * (left.npartitions + 1), (1,), name)
    else:
        out = MapPartitions(func, (one_partition(left), right), (), meta,
                            (None,) * (right.npartitions + 1), (0,), name)
    return out if nout is None else fit_partitions(out, nout)


def join_inputs(layer: MapPartitions) -> tuple[FrameLayer, FrameLayer] | None:
    """The two sides a merge layer joins, beneath its shuffles or gathers."""
    sides = []
    for arg in layer.args[:2] if len(layer.args) == 2 else ():
        if isinstance(arg, ShuffleGather):
            arg = arg.split.x
        elif isinstance(arg, Regroup) and arg.fname == "gather":
            arg = arg.x
        sides.append(arg)
    return tuple(sides) if len(sides) == 2 else None
