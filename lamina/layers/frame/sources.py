"""Frame sources: partitions from an in-memory pandas object or computed parts.

``FromPandas`` slices a pandas object by row bounds; ``FromPartitions``
holds partitions already computed (what ``persist`` gives back here) and
``HeldFrame`` partitions kept on a cluster's workers (what ``persist``
gives back there).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.layers.base import Kernel
from lamina.layers.frame.base import PARTITION_DTYPE, FrameLayer, Pandas
from lamina.layers.held import Held
from lamina.layers.registry import trusted


class FrameSource(FrameLayer):
    """A frame layer that reads no other layer."""

    def block_deps(self, out_blocks: np.ndarray) -> list:
        return []


def _value(operand: Any) -> Any:
    return operand.value if isinstance(operand, Pandas) else operand


@trusted(version=1)
class FromPandas(FrameSource):
    """Partition ``i`` is rows ``bounds[i]:bounds[i + 1]`` of ``data``."""

    _parameters = ("data", "bounds", "divisions_")

    def _npartitions(self) -> int:
        return len(self.bounds) - 1

    def max_rows(self) -> int:
        return int(np.diff(self.bounds).max()) if len(self.bounds) > 1 else 0

    @property
    def meta(self) -> Any:
        return _value(self.data).iloc[:0]

    def label(self) -> str:
        return "FromPandas"

    def kernel(self) -> Kernel:
        data, bounds = _value(self.data), self.bounds
        return lambda block, inputs: data.iloc[bounds[block]:bounds[block + 1]]


@trusted(version=1)
class FromPartitions(FrameSource):
    """Partitions computed already, kept in this process."""

    _parameters = ("parts", "meta_", "divisions_")

    def _npartitions(self) -> int:
        return len(self.parts)

    def kernel(self) -> Kernel:
        parts = [_value(p) for p in self.parts]
        return lambda block, inputs: parts[block]


def persisted_partitions(parts: list[Any], meta: Any, divisions: tuple) -> FromPartitions:
    """A frame layer over partitions computed in this process."""
    from lamina.layers.frame.base import is_pandas

    return FromPartitions(tuple(Pandas(p) if is_pandas(p) else p for p in parts), meta,
                          tuple(divisions))


@trusted(version=1)
class HeldFrame(Held, FrameLayer):
    """Output ``output`` of run ``run`` on cluster ``cluster``: partitions kept on its
    workers, read in place by later runs there (see ``lamina.layers.held``)."""

    _parameters = ("cluster", "run", "output", "in_chunks", "out_dtype", "meta_", "divisions_")

    @classmethod
    def of(cls, cluster: str, run: int, output: int, layer: FrameLayer) -> "HeldFrame":
        """The held form of ``layer``'s partitions: same meta and divisions."""
        return cls(cluster, run, output, layer.chunks, PARTITION_DTYPE, layer.meta,
                   tuple(layer.divisions))

    def label(self) -> str:
        return f"HeldFrame[run {self.run}]"
