"""Layers that move whole partitions: regroup, concatenate, split.

``Regroup`` makes output partition ``i`` from the input partitions
``bounds[i]:bounds[i + 1]`` with ``func(list_of_partitions)``: one level of
a tree reduction, ``repartition`` to fewer partitions, ``head``/``tail``
reading only the partitions they need. ``ConcatFrames`` lists the
partitions of several frames one after another. ``SplitPartitions`` cuts
each partition into ``k`` by rows.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from lamina.layers.base import CSR, Kernel, Layer
from lamina.layers.frame.base import FrameLayer
from lamina.layers.registry import trusted


@trusted(version=1)
class Regroup(FrameLayer):
    """``func([parts bounds[i]..bounds[i+1]])`` for each output partition ``i``."""

    _parameters = ("x", "bounds", "func", "meta_", "divisions_", "fname")
    _defaults = {"fname": None}

    def _npartitions(self) -> int:
        return len(self.bounds) - 1

    def label(self) -> str:
        return f"Regroup[{self.fname or getattr(self.func, '__name__', 'func')}]"

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        bounds = np.asarray(self.bounds, dtype=np.int64)
        out = np.asarray(out_blocks, dtype=np.int64)
        start, count = bounds[out], bounds[out + 1] - bounds[out]
        indptr = np.zeros(len(out) + 1, dtype=np.int64)
        np.cumsum(count, out=indptr[1:])
        indices = np.repeat(start - indptr[:-1], count) + np.arange(indptr[-1], dtype=np.int64)
        return [(indptr, indices)]

    def kernel(self) -> Kernel:
        func = self.func
        return lambda block, inputs: func(list(inputs))


@trusted(version=1)
class ConcatFrames(FrameLayer):
    """The partitions of ``frames``, one frame after another."""

    _parameters = ("frames", "meta_")

    @property
    def dependencies(self) -> tuple[Layer, ...]:
        return tuple(self.frames)

    def _npartitions(self) -> int:
        return sum(f.npartitions for f in self.frames)

    @cached_property
    def _starts(self) -> np.ndarray:
        starts = np.zeros(len(self.frames) + 1, dtype=np.int64)
        np.cumsum([f.npartitions for f in self.frames], out=starts[1:])
        return starts

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        out = np.asarray(out_blocks, dtype=np.int64)
        owner = np.searchsorted(self._starts, out, side="right") - 1
        tables = []
        for k in range(len(self.frames)):
            mine = owner == k
            indptr = np.zeros(len(out) + 1, dtype=np.int64)
            np.cumsum(mine, out=indptr[1:])
            tables.append((indptr, out[mine] - self._starts[k]))
        return tables

    def kernel(self) -> Kernel:
        columns = list(self.meta_.columns) if hasattr(self.meta_, "columns") else None

        def run(block: int, inputs: list) -> Any:
            part = inputs[0]
            if columns is not None and list(part.columns) != columns:
                return part.reindex(columns=columns)
            return part

        return run


@trusted(version=1)
class SplitPartitions(FrameLayer):
    """Each input partition cut by rows into ``k`` nearly equal pieces."""

    _parameters = ("x", "k")

    def _npartitions(self) -> int:
        return self.x.npartitions * self.k

    @property
    def meta(self) -> Any:
        return self.x.meta

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        out = np.asarray(out_blocks, dtype=np.int64)
        return [(np.arange(len(out) + 1, dtype=np.int64), out // self.k)]

    def kernel(self) -> Kernel:
        k = self.k

        def run(block: int, inputs: list) -> Any:
            part, piece = inputs[0], block % k
            n = len(part)
            return part.iloc[n * piece // k: n * (piece + 1) // k]

        return run
