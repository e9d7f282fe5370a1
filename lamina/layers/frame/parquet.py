"""Parquet: planned from metadata, read row group by row group, written atomically.

``plan_parquet`` lists the row groups of a dataset (``pyarrow.dataset``)
whose statistics can match ``filters``, groups consecutive row groups of
one file into partitions, and keeps each partition's row count; the
``ReadParquet`` layer it returns reads exactly those row groups, the needed
columns only, and applies the filters to the rows. ``WriteParquet`` writes
each partition to a file of a temporary folder; ``commit_dataset`` renames
the folder into place once every file is written, so a failed write leaves
no half dataset.

Filters are in the DNF form of ``pyarrow.parquet``: ``[("a", ">", 3)]``
(and) or ``[[...], [...]]`` (or of ands).
"""

from __future__ import annotations

import os
import shutil
from typing import Any, Sequence

import numpy as np

from lamina.layers.base import CSR, Kernel
from lamina.layers.frame.base import FrameLayer
from lamina.layers.frame.sources import FrameSource
from lamina.layers.registry import trusted

ROW = "__lamina_row__"


def normalize_filters(filters: Any) -> tuple | None:
    """Filters as a hashable DNF: a tuple of and-groups of ``(column, op, value)``."""
    if not filters:
        return None
    groups = filters if isinstance(filters[0], (list, tuple)) and filters[0] and \
        isinstance(filters[0][0], (list, tuple)) else [filters]
    out = []
    for group in groups:
        terms = []
        for term in group:
            if not (isinstance(term, (list, tuple)) and len(term) == 3):
                raise ValueError(f"filter {term!r} is not a (column, op, value) triple")
            column, op, value = term
            if isinstance(value, (list, set, frozenset)):
                value = tuple(value)
            terms.append((column, op, value))
        out.append(tuple(terms))
    return tuple(out)


def and_filters(a: tuple | None, b: tuple | None) -> tuple | None:
    """Both DNF filters at once (each and-group of one with each of the other)."""
    if not a or not b:
        return a or b
    return tuple(x + y for x in a for y in b)


def surviving_row_groups(path: str, filters: tuple | None) -> set[tuple[str, int]]:
    """``(file, row group)`` pairs whose statistics may match ``filters``."""
    expression = filters_expression(filters)
    return {(fragment.path, rg.id) for fragment in _dataset(path).get_fragments(expression)
            for piece in fragment.split_by_row_group(expression) for rg in piece.row_groups}


def filter_columns(filters: tuple | None) -> list[str]:
    return sorted({t[0] for group in filters or () for t in group})


def filters_expression(filters: tuple | None) -> Any:
    import pyarrow.parquet as pq

    if not filters:
        return None
    return pq.filters_to_expression([[(c, op, list(v) if isinstance(v, tuple) else v)
                                      for c, op, v in group] for group in filters])


def _dataset(path: str) -> Any:
    import pyarrow.dataset as ds

    if not os.path.exists(path):
        raise FileNotFoundError(f"parquet path {path!r} does not exist")
    return ds.dataset(path, format="parquet")


def parquet_meta(path: str, columns: Sequence[str] | None) -> Any:
    """An empty pandas frame with the dataset's columns (``columns`` only)."""
    schema = _dataset(path).schema
    names = list(columns) if columns is not None else [n for n in schema.names
                                                       if not n.startswith("__index_level")]
    missing = [c for c in names if c not in schema.names]
    if missing:
        raise KeyError(f"columns {missing} are not in the parquet dataset {path!r}; "
                       f"it has {schema.names}")
    return schema.empty_table().select(names).to_pandas(ignore_metadata=True)


def plan_parquet(path: str, columns: Sequence[str] | None = None, filters: Any = None,
                 row_groups_per_partition: int = 1) -> "ReadParquet":
    """The read of ``path``: one partition per ``row_groups_per_partition`` row
    groups that the filters' statistics do not rule out."""
    filters = normalize_filters(filters)
    dataset = _dataset(path)
    meta = parquet_meta(path, columns)
    unknown = [c for c in filter_columns(filters) if c not in dataset.schema.names]
    if unknown:
        raise KeyError(f"filters name columns {unknown} that are not in {path!r}")
    expression = filters_expression(filters)
    parts, rows = [], []
    for fragment in sorted(dataset.get_fragments(filter=expression), key=lambda f: f.path):
        kept = [(rg.id, rg.num_rows) for piece in fragment.split_by_row_group(expression)
                for rg in piece.row_groups]
        for start in range(0, len(kept), row_groups_per_partition):
            group = kept[start:start + row_groups_per_partition]
            parts.append((fragment.path, tuple(int(i) for i, _ in group)))
            rows.append(int(sum(n for _, n in group)))
    return ReadParquet(path, tuple(parts), tuple(meta.columns), filters, meta, tuple(rows))


@trusted(version=1)
class ReadParquet(FrameSource):
    """Row groups ``parts[i]`` (a file and its row group ids) as partition ``i``.

    A row's index is its position in its file, so filtering in the read
    keeps the index that filtering afterwards would. ``rows`` is the row
    count of each partition before filtering (from the metadata), for size
    estimates.
    """

    _parameters = ("path", "parts", "columns", "filters", "meta_", "rows")

    def _npartitions(self) -> int:
        return len(self.parts)

    def label(self) -> str:
        return f"ReadParquet[{os.path.basename(str(self.path).rstrip('/'))}]"

    def with_columns(self, columns: Sequence[str]) -> "ReadParquet":
        """The same read of fewer columns."""
        return self.substitute(columns=tuple(columns), meta_=self.meta_[list(columns)])

    def with_filters(self, filters: Any) -> "ReadParquet":
        """The same partitions, reading only rows that match ``filters`` too: row
        groups whose statistics rule them out are dropped (their partition may
        become empty, so partitions stay aligned with other readers)."""
        combined = and_filters(self.filters, normalize_filters(filters))
        kept = surviving_row_groups(self.path, combined)
        parts = tuple((file, tuple(g for g in groups if (file, g) in kept))
                      for file, groups in self.parts)
        return self.substitute(parts=parts, filters=combined)

    def kernel(self) -> Kernel:
        import pandas as pd
        import pyarrow as pa
        import pyarrow.parquet as pq

        parts, columns = self.parts, list(self.columns)
        expression = filters_expression(self.filters)
        read = sorted(set(columns) | set(filter_columns(self.filters)))
        meta = self.meta_
        footers: dict[str, tuple] = {}  # per run: a file's footer is parsed once

        def footer(file: str) -> tuple:
            if file not in footers:
                metadata = pq.read_metadata(file)
                footers[file] = metadata, np.cumsum(
                    [0] + [metadata.row_group(i).num_rows
                           for i in range(metadata.num_row_groups)])
            return footers[file]

        def run(block: int, inputs: list) -> Any:
            file, groups = parts[block]
            if not groups:
                return meta
            metadata, starts = footer(file)
            reader = pq.ParquetFile(file, metadata=metadata)
            rows = np.concatenate([np.arange(starts[g], starts[g + 1]) for g in groups])
            table = reader.read_row_groups(list(groups), columns=read,
                                           use_pandas_metadata=False)
            table = table.append_column(ROW, pa.array(rows, type=pa.int64()))
            if expression is not None:
                table = table.filter(expression)
            frame = table.select(columns).to_pandas(ignore_metadata=True)
            frame.index = pd.Index(table.column(ROW).to_numpy(), dtype="int64")
            return frame

        return run


@trusted(version=1)
class WriteParquet(FrameLayer):
    """Partition ``i`` written to ``folder/part.{i}.parquet``; its row count."""

    _parameters = ("x", "folder", "index")

    def _npartitions(self) -> int:
        return self.x.npartitions

    @property
    def meta(self) -> Any:
        return 0

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        out = np.asarray(out_blocks, dtype=np.int64)
        return [(np.arange(len(out) + 1, dtype=np.int64), out)]

    def kernel(self) -> Kernel:
        folder, index = self.folder, self.index

        def run(block: int, inputs: list) -> int:
            part = inputs[0]
            part.to_parquet(os.path.join(folder, f"part.{block:06d}.parquet"), index=index)
            return len(part)

        return run


def commit_dataset(counts: list, folder: str, target: str) -> int:
    """Rename the written ``folder`` to ``target`` (replacing it); the row count."""
    if os.path.exists(target):
        old = target.rstrip("/") + ".old-" + os.path.basename(folder)
        os.rename(target, old)
        os.rename(folder, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(folder, target)
    return int(sum(counts))
