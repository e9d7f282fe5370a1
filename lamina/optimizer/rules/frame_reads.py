"""Merging reads of one dataset: several ``read_parquet`` of the same files become one.

    read(a, b; x > 1)   read(b, c; x > 1, y < 5)
    -> r = read(a, b, c, y; x > 1)
       read(a, b; x > 1)          -> r[[a, b]]
       read(b, c; x > 1, y < 5)   -> r[y < 5][[b, c]]     (the filter applied after the read)

Reads of the same files with the same partitions but different columns or
filters (what projection and predicate pushdown leave when a plan reads a
dataset twice) read the union of their columns once; filters all of them
agree on stay in the read (and skip row groups), the others are applied to
the rows afterwards, with pyarrow as the read would. Each partition of
the merged read holds the row groups any of them read, so every former
read keeps its partitions and its rows. The rule runs in its own phase
after pushdown has settled (``merge_reads``, one top-down pass).

A filter applied after the read sees values that went through pandas, in
which a missing float is NaN: only comparisons under which a missing value
and NaN both fail (``> >= < <= == in``) are moved out of a read; a read
with another (or an ``or`` of filters) is left alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.layers.base import Layer
from lamina.layers.frame.parquet import ReadParquet, filter_columns, filters_expression
from lamina.layers.frame.partitionwise import MapPartitions
from lamina.optimizer.registry import Phase, register_phase
from lamina.optimizer.rule import Context, Rule

MOVABLE = frozenset({">", ">=", "<", "<=", "==", "=", "in"})

register_phase(Phase("merge_reads", "once", "down", order=150))


def filter_and_select(part: Any, columns: tuple, filters: tuple | None) -> Any:
    """Rows of ``part`` that match ``filters`` (pyarrow's semantics), ``columns`` only."""
    import pyarrow as pa

    if filters:
        names = filter_columns(filters)
        table = pa.Table.from_pandas(part[names], preserve_index=False)
        table = table.append_column("__position__", pa.array(np.arange(len(part))))
        kept = table.filter(filters_expression(filters)).column("__position__").to_numpy()
        part = part.iloc[kept]
    return part[list(columns)]


def _terms(read: ReadParquet) -> frozenset | None:
    """The read's filter terms, if they are one and-group of movable comparisons."""
    if not read.filters:
        return frozenset()
    if len(read.filters) != 1:
        return None
    group = read.filters[0]
    return frozenset(group) if all(op in MOVABLE for _, op, _ in group) else None


def _same_partitions(a: ReadParquet, b: ReadParquet) -> bool:
    return (a.path == b.path and tuple(a.files) == tuple(b.files)
            and np.array_equal(a.part_file, b.part_file))


def merged_read(reads: list[ReadParquet]) -> ReadParquet:
    """One read for all ``reads``: the union of columns and row groups, common filters."""
    common = frozenset.intersection(*[_terms(r) for r in reads])
    first = reads[0]
    needed = set().union(*[r.columns for r in reads])
    needed |= {c for r in reads for c, _, _ in _terms(r) - common}
    order = list(first.meta_.columns) + [c for r in reads for c in r.columns]
    columns = list(dict.fromkeys(c for c in order if c in needed))
    for r in reads:
        columns += [c for c, _, _ in sorted(_terms(r) - common, key=repr) if c not in columns]
    n = first.npartitions
    owners, ids = [], []
    for r in reads:
        indptr, groups = r.part_groups
        owners.append(np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr)))
        ids.append(groups)
    pairs = np.unique(np.stack([np.concatenate(owners), np.concatenate(ids)]), axis=1)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(pairs[0], minlength=n), out=indptr[1:])
    filters = (tuple(sorted(common, key=repr)),) if common else None
    meta = _meta_of(reads, columns)
    return first.substitute(columns=tuple(columns), meta_=meta, filters=filters,
                            part_groups=(indptr, pairs[1].astype(np.int64)))


def _meta_of(reads: list[ReadParquet], columns: list) -> Any:
    import pandas as pd

    found = {}
    for r in reads:
        for c in r.meta_.columns:
            found.setdefault(c, r.meta_[c])
    missing = [c for c in columns if c not in found]
    if missing:  # a column only a filter names: its dtype from the dataset
        from lamina.layers.frame.parquet import parquet_meta
        from lamina.layers.frame.parquet_meta import dataset_meta

        extra = parquet_meta(dataset_meta(reads[0].path).schema, reads[0].path, missing)
        found.update({c: extra[c] for c in missing})
    return pd.DataFrame({c: found[c] for c in columns})


class MergeParquetReads(Rule):
    """Read a dataset once for every read of it with the same partitions."""

    phase = "merge_reads"
    on = ("ReadParquet",)

    def apply(self, node: Layer, ctx: Context) -> Layer | None:
        if _terms(node) is None:
            return None
        reads = sorted({r.name: r for r in ctx.plan_layers()
                        if isinstance(r, ReadParquet) and _same_partitions(r, node)
                        and _terms(r) is not None}.values(), key=lambda r: r.name)
        if len(reads) < 2 or node not in reads:
            return None
        merged = merged_read(reads)
        extra = _terms(node) - frozenset(merged.filters[0] if merged.filters else ())
        if not extra and tuple(node.columns) == tuple(merged.columns):
            return merged
        filters = (tuple(sorted(extra, key=repr)),) if extra else None
        ctx.note(node, f"reads {node.label()} with {len(reads) - 1} other read(s) of "
                       f"the same files")
        return MapPartitions(filter_and_select, (merged,),
                             (("columns", tuple(node.columns)), ("filters", filters)),
                             node.meta_, None, (), "after-read")


RULES = [MergeParquetReads()]
