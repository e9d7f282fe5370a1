"""How large a frame will be, known or estimated before computing it.

    size = estimate(layer)        # Size(rows=25.0, nbytes=1800.0, basis="parquet metadata")

An in-memory frame's rows are known. A parquet read's rows are its row
groups' counts from the footers, times the fraction of each row group that
its filters keep, estimated from the row group's min/max statistics
(values spread evenly between them; an equality matches one value of an
integer range); the bytes are the rows times the width of the columns the
read keeps (strings guessed). Partition-wise steps keep their input's
rows (a filter not pushed into a read is counted as keeping every row, so
the estimate is an upper bound); a gather or a shuffle keeps all rows.
Anything else (a groupby's result, a join) is unknown. Optimizer rules
choose strategies from these numbers (``join_strategy``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lamina.layers.frame.base import row_bytes
from lamina.layers.frame.parquet import ReadParquet
from lamina.layers.frame.parquet_meta import ColumnStats, _comparable, dataset_meta
from lamina.layers.frame.partitionwise import MapPartitions
from lamina.layers.frame.regroup import Regroup, SplitPartitions
from lamina.layers.frame.shuffle import ShuffleGather, ShuffleSplit
from lamina.layers.frame.sources import FromPandas

EQUALITY_GUESS = 0.1
"""The fraction of rows an equality keeps where the statistics cannot say (a float
or string range)."""
PASS_THROUGH = (ShuffleGather, ShuffleSplit, SplitPartitions)


@dataclass(frozen=True)
class Size:
    """Estimated rows and bytes of a frame, and what the estimate rests on."""

    rows: float
    nbytes: float
    basis: str


def estimate(layer: Any) -> Size | None:
    """The size of ``layer``'s whole result, or None when nothing says."""
    steps = 0
    while steps < 256:
        steps += 1
        if isinstance(layer, MapPartitions):
            frames = [d for k, d in enumerate(layer.dependencies) if k not in layer.broadcast]
            if not frames or layer.args[0] is not frames[0]:
                return None
            inner = estimate(frames[0])
            if inner is None:
                return None
            return Size(inner.rows, inner.rows * row_bytes(layer.meta), inner.basis)
        if isinstance(layer, PASS_THROUGH):
            layer = layer.dependencies[0]
        elif isinstance(layer, Regroup) and layer.fname in ("gather", "repartition"):
            layer = layer.x
        else:
            break
    if isinstance(layer, FromPandas):
        rows = float(layer.bounds[-1])
        return Size(rows, rows * row_bytes(layer.meta), "in memory")
    if isinstance(layer, ReadParquet):
        rows, filtered = parquet_rows(layer)
        basis = "parquet metadata and statistics" if filtered else "parquet metadata"
        return Size(rows, rows * row_bytes(layer.meta_), basis)
    return None


def parquet_rows(read: ReadParquet) -> tuple[float, bool]:
    """Rows the read is expected to return, and whether statistics narrowed the count."""
    dataset = dataset_meta(read.path)
    indptr, ids = read.part_groups
    counts = np.diff(indptr)
    if tuple(dataset.files) != tuple(read.files):
        return float(read.row_counts.sum()), False
    offsets = np.zeros(len(dataset.files) + 1, dtype=np.int64)
    np.cumsum(np.bincount(dataset.rg_file, minlength=len(dataset.files)), out=offsets[1:])
    groups = offsets[np.repeat(read.part_file, counts)] + ids
    rows = dataset.rg_rows[groups].astype(np.float64)
    full = float(rows.sum())
    if not read.filters:
        return full, False
    from lamina.layers.frame.parquet import filter_columns

    if not dataset.stats_are_cheap(filter_columns(read.filters)):
        return full, False
    kept = np.zeros(len(groups))
    for group in read.filters:
        share = np.ones(len(groups))
        for column, op, value in group:
            share *= term_fraction(dataset.column_stats(column), groups, op, value)
        kept = np.minimum(kept + share, 1.0)
    return float((rows * kept).sum()), True


def term_fraction(stats: ColumnStats, groups: np.ndarray, op: str, value: Any) -> np.ndarray:
    """Per row group (``groups``): the fraction of rows ``column <op> value`` keeps,
    with values spread evenly between the group's min and max."""
    n = len(groups)
    if op in ("in", "not in") and isinstance(value, (tuple, list, set, frozenset)):
        hit = sum((term_fraction(stats, groups, "==", v) for v in value), np.zeros(n))
        return np.minimum(hit, 1.0) if op == "in" else 1.0 - np.minimum(hit, 1.0)
    v = _comparable(stats, value)
    known = stats.known[groups]
    if v is None or not stats.kind or stats.kind == "str":
        out = np.full(n, EQUALITY_GUESS if op in ("==", "=") else 1.0)
        if stats.kind == "str" and v is not None and op in ("==", "="):
            lo, hi = stats.lo[groups], stats.hi[groups]
            inside = np.array([a <= v <= b for a, b in zip(lo, hi)], dtype=bool)
            out = np.where(known & ~inside, 0.0, np.where(known & (lo == hi), 1.0, out))
        return np.where(stats.all_null[groups], 0.0, out)
    lo = stats.lo[groups].astype(np.float64)
    hi = stats.hi[groups].astype(np.float64)
    if isinstance(v, tuple):  # a timestamp in nanoseconds; bounds in the column's unit
        _, ns, factor = v
        lo, hi, v = lo * factor, hi * factor, float(ns)
    v = float(v)
    width = hi - lo
    integral = stats.kind == "int" or stats.kind.startswith("time")
    with np.errstate(invalid="ignore", divide="ignore"):
        below = np.clip(np.where(width > 0, (v - lo) / width, (v >= lo) * 1.0), 0.0, 1.0)
        one = np.where((v < lo) | (v > hi), 0.0,
                       np.where(width > 0, 1.0 / (width + 1) if integral else EQUALITY_GUESS,
                                1.0))
    fraction = {"<": below, "<=": below, ">": 1.0 - below, ">=": 1.0 - below,
                "==": one, "=": one, "!=": 1.0 - one}.get(op, np.ones(n))
    return np.where(stats.all_null[groups], 0.0,
                    np.where(known, np.clip(fraction, 0.0, 1.0), 1.0))

