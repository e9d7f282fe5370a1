"""Dataframe rules: read only the columns and row groups a plan uses.

    projection_through_filter   df[mask][cols]          -> df[cols][mask]
    projection_into_parquet     read(a, b, c) whose readers use a, b -> read(a, b)
    predicate_into_parquet      read[read.a > 3]        -> read(filters=a > 3)    (also below a projection;
                                                       ``&`` of such comparisons too)

A filter moved into ``read_parquet`` keeps the read's partitions (a row
group that statistics rule out leaves its partition empty) and each row's
index (its position in its file), so every other reader stays aligned.
``!=`` is never pushed: pandas keeps a missing value there, pyarrow drops it.
"""

from __future__ import annotations

import operator
from typing import Any

from lamina.layers.base import Layer
from lamina.layers.frame.parquet import ReadParquet
from lamina.layers.frame.partitionwise import (
    MapPartitions,
    columns_selected,
    filter_rows,
    select_column,
)
from lamina.optimizer.rule import Context, Rule
from lamina.optimizer.rules.frame_projection import demanded

PUSHED = {operator.gt: ">", operator.ge: ">=", operator.lt: "<", operator.le: "<=",
          operator.eq: "=="}
FLIPPED = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "=="}


class ProjectionThroughFilter(Rule):
    """Select columns before a row filter, so the read below can narrow."""

    phase = "simplify"
    on = ("MapPartitions",)

    def apply(self, node: Layer, ctx: Context) -> Layer | None:
        if columns_selected(node) is None:
            return None
        inner = node.args[0]
        if not (isinstance(inner, MapPartitions) and inner.func is filter_rows) \
                or ctx.n_readers(inner) != 1:
            return None
        frame, mask = inner.args
        projected = node.substitute(args=(frame, node.args[1]))
        return inner.substitute(args=(projected, mask), meta_=node.meta_)


class ProjectionIntoParquet(Rule):
    """Read only the columns that the read's readers select."""

    phase = "simplify"
    on = ("ReadParquet",)

    def apply(self, node: Layer, ctx: Context) -> Layer | None:
        used = demanded(node, ctx)
        if used is None or used >= set(node.columns):
            return None
        return node.with_columns([c for c in node.columns if c in used])


def _terms(mask: Any, read: ReadParquet) -> list | None:
    """The ``(column, op, value)`` terms whose conjunction ``mask`` is, if it is one."""
    if isinstance(mask, MapPartitions) and mask.func is operator.and_ and not mask.kwargs \
            and not mask.broadcast and len(mask.args) == 2:
        left, right = (_terms(arg, read) for arg in mask.args)
        return left + right if left is not None and right is not None else None
    term = _comparison(mask, read)
    return None if term is None else [term]


def _comparison(mask: Any, read: ReadParquet) -> tuple | None:
    """``(column, op, value)`` when ``mask`` is ``read[column] <op> value``."""
    if not isinstance(mask, MapPartitions) or mask.func not in PUSHED or mask.kwargs \
            or mask.broadcast or len(mask.args) != 2:
        return None
    op = PUSHED[mask.func]
    left, right = mask.args
    if isinstance(right, Layer):
        left, right, op = right, left, FLIPPED[op]
    if isinstance(right, Layer) or not _plain_scalar(right):
        return None
    if not (isinstance(left, MapPartitions) and left.func is select_column
            and left.args[0] == read and not left.broadcast):
        return None
    return left.args[1], op, right


def _plain_scalar(value: Any) -> bool:
    import numpy as np
    import pandas as pd

    if isinstance(value, float) and np.isnan(value):
        return False
    return isinstance(value, (int, float, str, np.number, pd.Timestamp)) and \
        not isinstance(value, bool)


class PredicateIntoParquet(Rule):
    """Filter rows in the parquet read, skipping row groups by their statistics."""

    phase = "simplify"
    on = ("MapPartitions",)

    def apply(self, node: Layer, ctx: Context) -> Layer | None:
        if node.func is not filter_rows or len(node.args) != 2:
            return None
        frame, mask = node.args
        if isinstance(frame, ReadParquet):
            terms = _terms(mask, frame)
            return None if terms is None else frame.with_filters(terms)
        read = frame.args[0] if columns_selected(frame) is not None else None
        if not isinstance(read, ReadParquet) or ctx.n_readers(frame) != 1:
            return None
        terms = _terms(mask, read)  # a projection moved below the filter already
        if terms is None:
            return None
        return frame.substitute(args=(read.with_filters(terms), *frame.args[1:]))


RULES = [ProjectionThroughFilter(), ProjectionIntoParquet(), PredicateIntoParquet()]
