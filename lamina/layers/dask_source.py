"""``FromDask``: blocks of a Dask array, each computed by Dask when a task needs it.

The Dask collection is an opaque operand (a blob on the wire, unpickled only
by workers); its token is the Dask name, which Dask already derives from
what the array is, so wrapping one array twice gives one layer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.layers.base import Chunks, Kernel
from lamina.layers.registry import trusted
from lamina.layers.sources import SourceLayer


class DaskCollection:
    """A Dask array as a layer operand: tokenized by its Dask name, not its graph."""

    __slots__ = ("value", "_token")

    def __init__(self, value: Any) -> None:
        self.value = value
        self._token = "dask-" + str(value.name)

    def __reduce__(self) -> tuple:
        return (type(self), (self.value,))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DaskCollection) and other._token == self._token

    def __hash__(self) -> int:
        return hash(self._token)


@trusted(version=1)
class FromDask(SourceLayer):
    """Block ``i`` is block ``i`` of the Dask array, computed by Dask's
    synchronous scheduler inside the task that needs it (chunks kept)."""

    _parameters = ("array", "in_chunks", "out_dtype")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self.in_chunks, self.out_dtype

    @property
    def array_module(self) -> Any:
        meta = getattr(self.array.value, "_meta", None)
        if meta is not None and type(meta).__module__.startswith("cupy"):
            import cupy

            return cupy
        return np

    def kernel(self) -> Kernel:
        darr, index, xp = self.array.value, self.block_index, self.array_module

        def run(block: int, inputs: list) -> Any:
            part = darr.blocks[index(block)] if darr.ndim else darr  # 0-d: no block grid
            value = part.compute(scheduler="sync")
            return np.asarray(value) if xp is np else value

        return run
