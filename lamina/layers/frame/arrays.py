"""Bridges between frame partitions and array blocks.

``ArrayToFrame`` makes partition ``i`` from row block ``i`` of a 1-D or
2-D array (every column block of it), with a range index continuing from
the rows before, so divisions are known. ``FrameToArray`` makes row block
``i`` of a 2-D (or 1-D, from a Series) array from partition ``i``, with row
counts known in advance (``lengths``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.layers.base import CSR, Chunks, Kernel, Layer
from lamina.layers.frame.base import FrameLayer
from lamina.layers.registry import trusted


@trusted(version=1)
class ArrayToFrame(FrameLayer):
    """Partition ``i``: row block ``i`` of ``array`` with ``columns`` (None: a Series)."""

    _parameters = ("array", "columns", "meta_")

    def _npartitions(self) -> int:
        return self.array.numblocks[0]

    @property
    def divisions(self) -> tuple:
        starts = np.concatenate([[0], np.cumsum(self.array.chunks[0])]).tolist()
        return tuple(starts[:-1]) + (max(starts[-1] - 1, 0),)

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        out = np.asarray(out_blocks, dtype=np.int64)
        ncol = self.array.numblocks[1] if self.array.ndim == 2 else 1
        indptr = np.arange(len(out) + 1, dtype=np.int64) * ncol
        return [(indptr, (out[:, None] * ncol + np.arange(ncol)).ravel())]

    def kernel(self) -> Kernel:
        import pandas as pd

        starts = np.concatenate([[0], np.cumsum(self.array.chunks[0])])
        columns, meta = self.columns, self.meta_

        def run(block: int, inputs: list) -> Any:
            values = np.concatenate(inputs, axis=1) if len(inputs) > 1 else inputs[0]
            index = pd.RangeIndex(int(starts[block]), int(starts[block + 1]))
            if columns is None:
                return pd.Series(values, index=index, name=meta.name)
            return pd.DataFrame(values, index=index, columns=list(columns))

        return run


@trusted(version=1)
class FrameToArray(Layer):
    """Row block ``i`` of an array: the values of partition ``i``."""

    _parameters = ("x", "lengths", "ncols", "out_dtype")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        if self.ncols is None:
            return (tuple(self.lengths),), self.out_dtype
        return (tuple(self.lengths), (self.ncols,)), self.out_dtype

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        out = np.asarray(out_blocks, dtype=np.int64)
        return [(np.arange(len(out) + 1, dtype=np.int64), out)]

    def kernel(self) -> Kernel:
        dtype = self.dtype
        return lambda block, inputs: inputs[0].to_numpy(dtype=dtype, na_value=np.nan) \
            if dtype.kind == "f" else inputs[0].to_numpy(dtype=dtype)
