"""Parquet: planned from metadata, read row group by row group, written atomically.

``plan_parquet`` lists the row groups of a dataset (footers read once and
cached, ``parquet_meta``) whose statistics can match ``filters``, groups consecutive row groups of
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
from lamina.layers.frame.parquet_footer import cut_read, dataset_locations
from lamina.layers.frame.parquet_meta import DatasetMeta, dataset_meta, file_meta
from lamina.layers.frame.parquet_read import read_partition
from lamina.layers.frame.sources import FrameSource
from lamina.layers.registry import trusted


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


def filter_columns(filters: tuple | None) -> list[str]:
    return sorted({t[0] for group in filters or () for t in group})


def filters_expression(filters: tuple | None) -> Any:
    import pyarrow.parquet as pq

    if not filters:
        return None
    return pq.filters_to_expression([[(c, op, list(v) if isinstance(v, tuple) else v)
                                      for c, op, v in group] for group in filters])


def parquet_meta(schema: Any, path: str, columns: Sequence[str] | None) -> Any:
    """An empty pandas frame with the dataset's columns (``columns`` only)."""
    names = list(columns) if columns is not None else [n for n in schema.names
                                                       if not n.startswith("__index_level")]
    missing = [c for c in names if c not in schema.names]
    if missing:
        raise KeyError(f"columns {missing} are not in the parquet dataset {path!r}; "
                       f"it has {schema.names}")
    return schema.empty_table().select(names).to_pandas(ignore_metadata=True)


def _prune(dataset: DatasetMeta, filters: tuple | None) -> np.ndarray | None:
    """Which of the dataset's row groups may match ``filters``, when planning can afford
    to read their statistics (None: leave it to the read tasks)."""
    if not filters or not dataset.stats_are_cheap(filter_columns(filters)):
        return None
    return dataset.may_match(filters)


def plan_parquet(path: str, columns: Sequence[str] | None = None, filters: Any = None,
                 row_groups_per_partition: int = 1) -> "ReadParquet":
    """The read of ``path``: one partition per ``row_groups_per_partition`` consecutive
    row groups of a file that the filters' statistics do not rule out.

    Footers are read once per dataset (``parquet_meta.dataset_meta``); the
    partitions are made with NumPy, not per row group in Python.
    """
    if row_groups_per_partition < 1:
        raise ValueError(f"row_groups_per_partition must be at least 1, got "
                         f"{row_groups_per_partition}")
    filters = normalize_filters(filters)
    dataset = dataset_meta(path)
    meta = parquet_meta(dataset.schema, path, columns)
    unknown = [c for c in filter_columns(filters) if c not in dataset.schema.names]
    if unknown:
        raise KeyError(f"filters name columns {unknown} that are not in {path!r}")
    keep = _prune(dataset, filters)
    chosen = np.flatnonzero(keep) if keep is not None else np.arange(dataset.n_row_groups)
    files, ids = dataset.rg_file[chosen], dataset.rg_id[chosen]
    if len(chosen):
        first = np.r_[True, files[1:] != files[:-1]]
        run_start = np.maximum.accumulate(np.where(first, np.arange(len(files)), 0))
        position = np.arange(len(files)) - run_start
        starts = np.flatnonzero(first | (position % row_groups_per_partition == 0))
    else:
        starts = np.zeros(0, dtype=np.int64)
    indptr = np.append(starts, len(chosen)).astype(np.int64)
    rows = np.add.reduceat(dataset.rg_rows[chosen], starts) if len(starts) else \
        np.zeros(0, dtype=np.int64)
    return ReadParquet(path, dataset.files, files[starts].astype(np.int64),
                       (indptr, ids.astype(np.int64)), tuple(meta.columns), filters, meta,
                       rows.astype(np.int64), dataset_locations(dataset))


@trusted(version=3)
class ReadParquet(FrameSource):
    """Row groups ``part_groups`` of file ``files[part_file[i]]`` as partition ``i``.

    ``part_groups`` is a CSR pair ``(indptr, row group ids)``: partition
    ``i`` reads ids ``indptr[i]:indptr[i + 1]``. A row's index is its
    position in its file, so filtering in the read keeps the index that
    filtering afterwards would. ``row_counts`` is each partition's row
    count before filtering (from the metadata), for size estimates. With
    ``filters``, a read task first checks its row groups' statistics and
    reads none of those they rule out. ``locations`` (``parquet_footer.dataset_locations``)
    says where each row group's footer entry lies, so a task parses a footer of its
    own row groups instead of the file's whole footer.
    """

    _parameters = ("path", "files", "part_file", "part_groups", "columns", "filters", "meta_",
                   "row_counts", "locations")
    _defaults = {"locations": None}

    def _npartitions(self) -> int:
        return len(self.part_file)

    def max_rows(self) -> int:
        return int(self.row_counts.max()) if len(self.row_counts) else 0

    def label(self) -> str:
        return f"ReadParquet[{os.path.basename(str(self.path).rstrip('/'))}]"

    @property
    def parts(self) -> tuple:
        """``(file, row group ids)`` per partition (a Python view, for tests and tools)."""
        indptr, ids = self.part_groups
        return tuple((self.files[f], tuple(ids[indptr[i]:indptr[i + 1]].tolist()))
                     for i, f in enumerate(self.part_file.tolist()))

    @property
    def rows(self) -> tuple:
        """Rows of each partition before filters, from the metadata."""
        return tuple(self.row_counts.tolist())

    def with_columns(self, columns: Sequence[str]) -> "ReadParquet":
        """The same read of fewer columns."""
        return self.substitute(columns=tuple(columns), meta_=self.meta_[list(columns)])

    def with_partitions(self, keep: np.ndarray) -> "ReadParquet":
        """The read of partitions ``keep`` (positions, in order) only."""
        indptr, ids = self.part_groups
        keep = np.asarray(keep, dtype=np.int64)
        counts = indptr[keep + 1] - indptr[keep]
        new_ptr = np.zeros(len(keep) + 1, dtype=np.int64)
        np.cumsum(counts, out=new_ptr[1:])
        picked = np.repeat(indptr[keep] - new_ptr[:-1], counts) + np.arange(new_ptr[-1])
        return self.substitute(part_file=self.part_file[keep], part_groups=(new_ptr, ids[picked]),
                               row_counts=self.row_counts[keep])

    def with_filters(self, filters: Any) -> "ReadParquet":
        """The same partitions, reading only rows that match ``filters`` too: row
        groups whose statistics rule them out are dropped (their partition may
        become empty, so partitions stay aligned with other readers)."""
        combined = and_filters(self.filters, normalize_filters(filters))
        dataset = dataset_meta(self.path)
        keep = _prune(dataset, combined) if dataset.files == tuple(self.files) else None
        if keep is None:
            return self.substitute(filters=combined)
        indptr, ids = self.part_groups
        offsets = np.zeros(len(dataset.files) + 1, dtype=np.int64)
        np.cumsum(np.bincount(dataset.rg_file, minlength=len(dataset.files)), out=offsets[1:])
        counts = np.diff(indptr)
        kept = keep[offsets[np.repeat(self.part_file, counts)] + ids]
        owner = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        new_ptr = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(np.bincount(owner[kept], minlength=len(counts)), out=new_ptr[1:])
        return self.substitute(part_groups=(new_ptr, ids[kept]), filters=combined)

    def kernel(self) -> Kernel:
        files, part_file, (indptr, ids) = self.files, self.part_file, self.part_groups
        locations = self.locations
        columns, filters, meta = list(self.columns), self.filters, self.meta_
        expression = filters_expression(filters)
        filter_names = filter_columns(filters)

        def run(block: int, inputs: list) -> Any:
            f = int(part_file[block])
            file = files[f]
            groups = ids[indptr[block]:indptr[block + 1]]
            found = cut_read(file, f, groups, locations, filters) if len(groups) else None
            if found is not None:
                metadata, positions, starts, counts = found
            else:
                if filters and len(groups):
                    groups = groups[dataset_meta(file).may_match(filters, groups)]
                footer = file_meta(file) if len(groups) else None
                metadata, positions = footer and footer.metadata, groups
                starts, counts = (footer.starts[groups], footer.rows[groups]) if footer else (
                    None, None)
            if not len(positions):
                return meta
            return read_partition(file, metadata, positions.tolist(), starts, counts, columns,
                                  filter_names, expression)

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
