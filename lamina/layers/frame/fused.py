"""``FusedFrame``: a fused group of partition-wise frame layers, one task per partition.

A chain such as ``read_parquet -> filter -> assign -> groupby chunk`` needs
partition ``i`` of each input for partition ``i`` of its output, so it runs
as one ``Fused`` task per partition (``lamina.layers.fused`` computes the
members in order and drops each value after its last use). This subclass
keeps what the rest of lamina asks a frame layer: its partitions, meta,
divisions and how to put its partitions together are its root's.
"""

from __future__ import annotations

from typing import Any

from lamina.layers.frame.base import FrameLayer
from lamina.layers.fused import Fused
from lamina.layers.registry import trusted


@trusted(version=1)
class FusedFrame(Fused, FrameLayer):
    """Partition-wise frame layers computed together (see the module docstring)."""

    def _npartitions(self) -> int:
        return self.root.npartitions

    @property
    def meta(self) -> Any:
        return self.root.meta

    @property
    def divisions(self) -> tuple:
        return self.root.divisions

    def max_rows(self) -> int:
        return self.root.max_rows()
