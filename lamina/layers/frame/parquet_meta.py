"""Parquet metadata read once per dataset and kept: row groups and statistics as arrays.

    meta = dataset_meta("lineitem/")       # footers read once, cached by the files' token
    meta.rg_rows, meta.rg_file, meta.rg_id  # one entry per row group, NumPy arrays
    meta.may_match(filters)                 # bool per row group, from min/max/null counts

A dataset's token is its files with their sizes and modification times,
so a rewritten file is read again and an unchanged one never is. Footers
are cached per file (a worker reading some files of a big dataset parses
only theirs). Statistics are pulled from the footers column by column on
first use: pyarrow builds one Python object per row group and column
(tens of microseconds each), so ``stats_are_cheap`` tells a planner when
to leave pruning to the read tasks instead.

``may_match`` never rules out a row group that could hold a matching row:
an unknown type, a missing statistic or a value it cannot compare exactly
leaves the row group in.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

PLAN_STATS_LIMIT = 4_000
"""Row-group statistics extracted at planning for at most this many row
groups per column; beyond it each read task checks its own row groups."""
_LOCK = threading.RLock()
_FILES: dict[str, tuple[tuple, "FileMeta"]] = {}
_DATASETS: dict[str, tuple[tuple, "DatasetMeta"]] = {}


@dataclass(frozen=True)
class FileMeta:
    """One file's footer and the row count and first row of each of its row groups."""

    path: str
    metadata: Any
    rows: np.ndarray
    starts: np.ndarray


def _signature(path: str) -> tuple:
    st = os.stat(path)
    return st.st_mtime_ns, st.st_size


def file_meta(path: str) -> FileMeta:
    """The footer of ``path``, parsed once per process while the file is unchanged."""
    import pyarrow.parquet as pq

    sig = _signature(path)
    with _LOCK:
        found = _FILES.get(path)
        if found is not None and found[0] == sig:
            return found[1]
    metadata = pq.read_metadata(path)
    rows = np.fromiter((metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)),
                       dtype=np.int64, count=metadata.num_row_groups)
    starts = np.zeros(len(rows), dtype=np.int64)
    np.cumsum(rows[:-1], out=starts[1:])
    meta = FileMeta(path, metadata, rows, starts)
    with _LOCK:
        _FILES[path] = (sig, meta)
    return meta


@dataclass(frozen=True)
class ColumnStats:
    """Per row group: lower and upper bounds, whether they are known, all-null flags."""

    lo: np.ndarray
    hi: np.ndarray
    known: np.ndarray
    all_null: np.ndarray
    kind: str  # "int", "float", "str", "time:<unit>" or "" (not comparable)


@dataclass
class DatasetMeta:
    """Files of a dataset and every row group as arrays (see the module docstring)."""

    path: str
    token: tuple
    files: tuple[str, ...]
    schema: Any
    rg_file: np.ndarray
    rg_id: np.ndarray
    rg_rows: np.ndarray
    _stats: dict = field(default_factory=dict)
    footers: tuple | None = None
    """The parsed footers, when given (a cut-down footer of a read task's row groups);
    else each file's is read once (``file_meta``)."""

    def footer(self, f: int) -> Any:
        return self.footers[f] if self.footers is not None else \
            file_meta(self.files[f]).metadata

    @property
    def n_row_groups(self) -> int:
        return len(self.rg_rows)

    def stats_are_cheap(self, columns: Sequence[str]) -> bool:
        """Whether ``columns``' statistics are cached or few enough to extract now."""
        missing = [c for c in columns if c not in self._stats]
        return not missing or self.n_row_groups <= PLAN_STATS_LIMIT

    def column_stats(self, column: str) -> ColumnStats:
        """Statistics of ``column`` for every row group (extracted once)."""
        with _LOCK:
            found = self._stats.get(column)
        if found is None:
            found = _extract(self, column, np.arange(self.n_row_groups))
            with _LOCK:
                self._stats[column] = found
        return found

    def may_match(self, filters: tuple | None, which: np.ndarray | None = None) -> np.ndarray:
        """Per row group (all, or ``which``): may any row match the DNF ``filters``?"""
        n = self.n_row_groups if which is None else len(which)
        if not filters:
            return np.ones(n, dtype=bool)
        out = np.zeros(n, dtype=bool)
        for group in filters:
            keep = np.ones(n, dtype=bool)
            for column, op, value in group:
                stats = self.column_stats(column) if which is None else \
                    _extract(self, column, which)
                keep &= term_may_match(stats, op, value)
            out |= keep
        return out


def footer_may_match(metadata: Any, filters: tuple | None) -> np.ndarray:
    """Per row group of one parsed footer: may any row match the DNF ``filters``?"""
    n = metadata.num_row_groups
    meta = DatasetMeta("", (), ("",), metadata.schema.to_arrow_schema(),
                       np.zeros(n, dtype=np.int64), np.arange(n, dtype=np.int64),
                       np.zeros(n, dtype=np.int64), footers=(metadata,))
    return meta.may_match(filters)


def dataset_files(path: str) -> list[str]:
    """The parquet files of a file or folder, sorted; as ``pyarrow.dataset`` finds them,
    names starting with ``.`` or ``_`` (in any folder below ``path``) are skipped."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"parquet path {path!r} does not exist")
    if os.path.isfile(path):
        return [path]
    found = []
    for folder, dirs, names in os.walk(path):
        dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
        found.extend(os.path.join(folder, n) for n in names if not n.startswith((".", "_")))
    if not found:
        raise FileNotFoundError(f"parquet folder {path!r} holds no files")
    return sorted(found)


def dataset_meta(path: str) -> DatasetMeta:
    """The metadata of the dataset at ``path``, read again only when its files changed.

    The schema is the first file's, as ``pyarrow.dataset`` takes it.
    """
    import pyarrow.parquet as pq

    files = dataset_files(path)
    token = tuple((f, *_signature(f)) for f in files)
    with _LOCK:
        found = _DATASETS.get(path)
        if found is not None and found[0] == token:
            return found[1]
    metas = [file_meta(f) for f in files]
    counts = np.array([len(m.rows) for m in metas], dtype=np.int64)
    rg_file = np.repeat(np.arange(len(files), dtype=np.int64), counts)
    rg_id = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(
        np.cumsum(counts) - counts, counts)
    rows = np.concatenate([m.rows for m in metas])
    schema = pq.ParquetFile(files[0], metadata=metas[0].metadata).schema_arrow  # stored types
    meta = DatasetMeta(path, token, tuple(files), schema, rg_file, rg_id, rows)
    with _LOCK:
        _DATASETS[path] = (token, meta)
    return meta


def _kind(arrow_type: Any) -> str:
    import pyarrow as pa
    import pyarrow.types as t

    if t.is_integer(arrow_type):
        return "int"
    if t.is_floating(arrow_type):
        return "float"
    if t.is_string(arrow_type) or t.is_large_string(arrow_type):
        return "str"
    if t.is_timestamp(arrow_type) and arrow_type.tz is None and \
            arrow_type.unit in ("s", "ms", "us", "ns"):
        return f"time:{arrow_type.unit}"
    del pa
    return ""


def _extract(meta: DatasetMeta, column: str, which: np.ndarray) -> ColumnStats:
    """Statistics of ``column`` for the row groups ``which`` (indexes into the dataset's)."""
    n = len(which)
    kind = _kind(meta.schema.field(column).type) if column in meta.schema.names else ""
    dtype = {"int": object, "float": np.float64, "str": object}.get(kind, np.int64)
    lo, hi = np.zeros(n, dtype=dtype), np.zeros(n, dtype=dtype)
    if kind == "str":  # unknown entries must still compare with a string
        lo[:], hi[:] = "", ""
    known, all_null = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    footers: dict[int, tuple[Any, int]] = {}
    for k, g in enumerate(which.tolist()):
        f = int(meta.rg_file[g])
        if f not in footers:
            md = meta.footer(f)
            names = [md.schema.column(j).path for j in range(md.num_columns)]
            footers[f] = (md, names.index(column) if column in names else -1)
        md, j = footers[f]
        if j < 0:
            continue
        rg = md.row_group(int(meta.rg_id[g]))
        stats = rg.column(j).statistics
        if stats is None:
            continue
        if stats.has_null_count and stats.null_count == rg.num_rows and rg.num_rows > 0:
            all_null[k] = True
            continue
        if not kind or not stats.has_min_max:
            continue
        if kind.startswith("time:"):
            lo[k], hi[k] = stats.min_raw, stats.max_raw
        else:
            low, high = stats.min, stats.max
            if kind == "str" and not (isinstance(low, str) and isinstance(high, str)):
                continue
            if kind == "float" and (low != low or high != high):  # NaN bounds say nothing
                continue
            lo[k], hi[k] = low, high
        known[k] = True
    if kind == "int":  # exact integers: int64 when they fit, else leave unknown
        lo, hi, known = _as_int64(lo, hi, known)
    return ColumnStats(lo, hi, known, all_null, kind)


def _as_int64(lo: np.ndarray, hi: np.ndarray, known: np.ndarray) -> tuple:
    fits = known.copy()
    for k in np.flatnonzero(known):
        fits[k] = -2**63 <= lo[k] and hi[k] < 2**63
    out_lo, out_hi = np.zeros(len(lo), np.int64), np.zeros(len(hi), np.int64)
    out_lo[fits] = lo[fits].astype(np.int64)
    out_hi[fits] = hi[fits].astype(np.int64)
    return out_lo, out_hi, fits


_UNIT_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


def _comparable(stats: ColumnStats, value: Any) -> Any:
    """``value`` in the form of ``stats``' bounds, or None when it cannot be compared exactly."""
    import pandas as pd

    kind = stats.kind
    if isinstance(value, (bool, np.bool_)) or value is None:
        return None
    if kind == "int" and isinstance(value, (int, np.integer)) and -2**63 <= value < 2**63:
        return int(value)
    if kind == "float" and isinstance(value, (float, np.floating)):
        # NaN is left out of statistics, yet "in" matches it: no bound can rule it out
        return None if np.isnan(value) else float(value)
    if kind == "float" and isinstance(value, (int, np.integer)) and abs(int(value)) <= 2**53:
        return float(value)
    if kind == "str" and isinstance(value, str):
        return value
    if kind.startswith("time:") and isinstance(value, (pd.Timestamp, np.datetime64)):
        stamp = pd.Timestamp(value)
        if stamp.tz is not None or pd.isna(stamp):
            return None
        factor = _UNIT_NS[kind[5:]]
        ns = stamp.as_unit("ns")._value
        return ("ns", ns, factor)
    return None


def term_may_match(stats: ColumnStats, op: str, value: Any) -> np.ndarray:
    """Per row group: may a row satisfy ``column <op> value`` (pyarrow's filter semantics:
    a missing value never matches)?"""
    n = len(stats.known)
    unknown = np.ones(n, dtype=bool)
    if op in ("in", "not in"):
        if op == "not in" or not isinstance(value, (tuple, list, set, frozenset)):
            return unknown & ~stats.all_null if op == "in" else unknown
        out = np.zeros(n, dtype=bool)
        for v in value:
            out |= term_may_match(stats, "==", v)
        return out
    if op == "!=" and (stats.kind == "float" or _comparable(stats, value) is None):
        # statistics leave NaN out, and NaN != value holds: no bound rules a float out
        return ~stats.all_null
    v = _comparable(stats, value)
    if v is None:
        return ~stats.all_null if op in (">", ">=", "<", "<=", "==", "=") else unknown
    lo, hi, known = stats.lo, stats.hi, stats.known
    if isinstance(v, tuple):  # a timestamp in nanoseconds against raw bounds in a unit
        _, ns, factor = v
        limit = np.iinfo(np.int64).max // factor
        known = known & (np.abs(lo) <= limit) & (np.abs(hi) <= limit)
        lo, hi, v = np.where(known, lo, 0) * factor, np.where(known, hi, 0) * factor, ns
    with np.errstate(invalid="ignore"):
        if op == ">":
            hit = hi > v
        elif op == ">=":
            hit = hi >= v
        elif op == "<":
            hit = lo < v
        elif op == "<=":
            hit = lo <= v
        elif op in ("==", "="):
            hit = (lo <= v) & (hi >= v)
        elif op == "!=":
            hit = ~((lo == v) & (hi == v))
        else:
            return unknown
    hit = np.asarray(hit, dtype=bool)
    return np.where(known, hit, True) & ~stats.all_null
