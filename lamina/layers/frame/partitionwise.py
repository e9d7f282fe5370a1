"""Partition-wise layers: partition ``i`` of the output from partition ``i`` of each input.

``MapPartitions`` covers column selection, ``assign``, arithmetic and
comparisons, filtering, ``isin``, ``where``, accessors and the user's
``map_partitions``: ``func(*args, **kwargs)`` with each frame argument
replaced by its partition. A dependency listed in ``broadcast`` has one
partition that every output partition reads (a reduction's result).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from lamina.layers.base import CSR, Kernel, Layer, one_to_one
from lamina.layers.frame.base import FrameLayer
from lamina.layers.registry import trusted


def select_columns(part: Any, columns: list) -> Any:
    """``part[columns]``: a projection the optimizer recognizes."""
    return part[columns]


def select_column(part: Any, name: Any) -> Any:
    """``part[name]``: a projection the optimizer recognizes."""
    return part[name]


def filter_rows(part: Any, mask: Any) -> Any:
    """``part[mask]``: a row filter the optimizer recognizes."""
    return part[mask]


def assign_columns(part: Any, names: tuple, *values: Any) -> Any:
    """``part.assign(name=value, ...)``: new columns the optimizer recognizes."""
    return part.assign(**dict(zip(names, values)))


def rename_columns(part: Any, columns: dict) -> Any:
    """``part.rename(columns=columns)``: a renaming the optimizer recognizes."""
    return part.rename(columns=columns)


SELECTIONS = (select_columns, select_column)


def columns_selected(layer: Layer) -> list | None:
    """The columns a projection layer keeps, or None if it is not one."""
    if not isinstance(layer, MapPartitions) or layer.func not in SELECTIONS or \
            layer.broadcast:
        return None
    chosen = layer.args[1]
    return list(chosen) if layer.func is select_columns else [chosen]


@trusted(version=1)
class MapPartitions(FrameLayer):
    """``func(*args, **kwargs)`` partition by partition."""

    _parameters = ("func", "args", "kwargs", "meta_", "divisions_", "broadcast", "fname")
    _defaults = {"kwargs": (), "broadcast": (), "fname": None}

    @cached_property
    def dependencies(self) -> tuple[Layer, ...]:
        return tuple(a for a in self.args if isinstance(a, Layer))

    def _npartitions(self) -> int:
        counts = {d.npartitions for k, d in enumerate(self.dependencies)
                  if k not in self.broadcast}
        if len(counts) > 1:
            raise ValueError(f"partition-wise {self.label()} got inputs with "
                             f"{sorted(counts)} partitions: they are not aligned; "
                             "repartition them alike first")
        return counts.pop() if counts else 1

    def label(self) -> str:
        return f"MapPartitions[{self.fname or getattr(self.func, '__name__', 'func')}]"

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        n = len(out_blocks)
        return [(np.arange(n + 1, dtype=np.int64), np.zeros(n, dtype=np.int64))
                if k in self.broadcast else one_to_one(out_blocks)
                for k in range(len(self.dependencies))]

    def dependency_block_maps(self, block_map: tuple) -> list[tuple]:
        """Partition ``i`` of each input (partition 0 of a broadcast one): fusable."""
        return [(0,) if k in self.broadcast else block_map
                for k in range(len(self.dependencies))]

    def kernel(self) -> Kernel:
        func, args, kwargs = self.func, self.args, dict(self.kwargs)
        slots = [i for i, a in enumerate(args) if isinstance(a, Layer)]
        template = [None if isinstance(a, Layer) else a for a in args]

        def run(block: int, inputs: list) -> Any:
            values = list(template)
            for i, value in zip(slots, inputs):
                values[i] = value
            return func(*values, **kwargs)

        return run
