"""Shuffle: rows moved between partitions by the hash or the range of a key.

Two trusted layers. ``ShuffleSplit`` cuts each input partition into
``nout`` pieces; ``ShuffleGather`` makes output partition ``j`` from piece
``j`` of every split. The dependency table is ``n_in * nout`` integers,
made with NumPy.

Memory stays bounded: where the runner names a shard directory (the
embedded runner a temporary one, a worker one beside its spill files), a
split writes its pieces to one local file and its block is a ``Shards``
handle (see ``shards``); output partition ``j`` reads back only piece
``j`` of each. On a cluster a gather asks the peer holding a split for
that one piece (``reads_own_item``): pieces travel worker to worker, never
through the scheduler, and each only once.

Hash partitioning puts equal keys in one partition (joins, groupby with
``split_out``, ``drop_duplicates``); range partitioning by sorted
``boundaries`` gives partitions in key order (``sort_values``,
``set_index``), rows with a missing key going to the last partition.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.layers.base import CSR, Kernel
from lamina.layers.frame.base import FrameLayer, concat_partitions
from lamina.layers.frame.shards import gather_columns, write_split
from lamina.layers.registry import trusted


def _hashable(column: Any) -> Any:
    """A key column in a form that hashes equal values alike across dtypes
    (int 1 and float 1.0, pyarrow and object strings, datetime units)."""
    kind = column.dtype.kind if hasattr(column.dtype, "kind") else "O"
    if kind in "iufb":
        return column.astype("float64")
    if kind == "M":
        return column.astype("datetime64[ns]").astype("int64")
    return column.astype(object)


def partition_ids(part: Any, on: tuple, nout: int, boundaries: tuple | None,
                  descending: bool = False) -> np.ndarray:
    """Output partition of each row: by hash of ``on`` columns, or by range
    (missing keys to the last partition)."""
    import pandas as pd

    keys = part.index.to_frame(index=False) if not on else (
        part[list(on)] if hasattr(part, "columns") else part.to_frame())
    if boundaries is None:
        keys = pd.DataFrame({i: _hashable(keys.iloc[:, i]) for i in range(keys.shape[1])})
        hashed = pd.util.hash_pandas_object(keys, index=False).to_numpy()
        return (hashed % np.uint64(nout)).astype(np.int64)
    values = keys.iloc[:, 0]
    ids = np.full(len(values), nout - 1, dtype=np.int64)
    present = values.notna().to_numpy()
    cuts = pd.Series(list(boundaries), dtype=values.dtype) if len(boundaries) else \
        values.iloc[:0]
    found = cuts.searchsorted(values[present], side="right")
    ids[present] = (nout - 1 - found) if descending else found
    return ids


@trusted(version=1)
class ShuffleSplit(FrameLayer):
    """Each input partition as a list of ``nout`` pieces, by key."""

    _parameters = ("x", "on", "nout", "boundaries", "descending")
    _defaults = {"boundaries": None, "descending": False}

    def _npartitions(self) -> int:
        return self.x.npartitions

    @property
    def meta(self) -> Any:
        return self.x.meta

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        out = np.asarray(out_blocks, dtype=np.int64)
        return [(np.arange(len(out) + 1, dtype=np.int64), out)]

    def kernel(self) -> Kernel:
        on, nout, boundaries, descending = tuple(self.on), self.nout, self.boundaries, \
            self.descending

        def run(block: int, inputs: list) -> Any:
            part = inputs[0]
            if part is None:
                return [None] * nout
            ids = partition_ids(part, on, nout, boundaries, descending)
            order = np.argsort(ids, kind="stable")
            cuts = np.searchsorted(ids[order], np.arange(nout + 1))
            return write_split(part.iloc[order], cuts)

        return run


@trusted(version=1)
class ShuffleGather(FrameLayer):
    """Output partition ``j``: piece ``j`` of every input partition's split."""

    _parameters = ("split", "divisions_")
    reads_own_item = True
    """Block ``j`` reads only item ``j`` of each input: a worker fetches just that."""
    _defaults = {"divisions_": None}

    def _npartitions(self) -> int:
        return self.split.nout

    @property
    def meta(self) -> Any:
        return self.split.meta

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        out = np.asarray(out_blocks, dtype=np.int64)
        n_in = self.split.npartitions
        indptr = np.arange(len(out) + 1, dtype=np.int64) * n_in
        return [(indptr, np.tile(np.arange(n_in, dtype=np.int64), len(out)))]

    def kernel(self) -> Kernel:
        meta = self.meta
        def run(block: int, inputs: list) -> Any:
            joined = gather_columns(inputs, block)
            if joined is not None:
                return joined if len(joined) else meta
            parts = [piece for piece in (s[block] for s in inputs) if piece is not None]
            return concat_partitions(parts, meta) if parts else meta

        return run
