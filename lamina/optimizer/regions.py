"""``ZarrRegion``: a selection of a zarr array, read block by block.

What ``FromZarr(...)[index]`` becomes once the selection is pushed into
the source: each block reads only its part of the selected region from
the store, so ``x[5, :10]`` of a zarr-backed ``x`` reads the zarr chunks
under those ten elements and nothing else::

    ZarrRegion(source, component, meta_token, storage_options,
               (5, (0, 10, 1)), ((10,),), np.dtype("f8"))

``index`` is a ``BasicSlice`` index (ints, ``(start, stop, step)``
triples, ``None``); a negative step reads the range forwards and flips it.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from lamina.layers.base import Chunks, Kernel
from lamina.layers.chunks import offsets
from lamina.layers.sources import SourceLayer
from lamina.layers.zarr_io import open_array


class ZarrRegion(SourceLayer):
    """Blocks of ``zarr_array[index]`` (see the module docstring)."""

    _parameters = ("source", "component", "meta_token", "storage_options", "index",
                   "in_chunks", "out_dtype")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self.in_chunks, self.out_dtype

    def label(self) -> str:
        return "ZarrRegion"

    @cached_property
    def _starts(self) -> list[list[int]]:
        return [offsets(c).tolist() for c in self.chunks]

    def selection(self, block: int) -> tuple[tuple, list[int], tuple]:
        """(zarr selection, result axes to flip, NumPy index adding new axes) of a block."""
        idx = self.block_index(block)
        select: list[Any] = []
        flip: list[int] = []
        expand: list[Any] = []
        out_axis = kept = 0
        for entry in self.index:
            if entry is None:
                expand.append(None)
                out_axis += 1
                continue
            if isinstance(entry, int):
                select.append(entry)
                continue
            starts = self._starts[out_axis]
            i = idx[out_axis]
            part = range(*entry)[starts[i]:starts[i + 1]]
            if len(part) == 0:
                select.append(slice(0, 0))
            elif part.step > 0:
                select.append(slice(part[0], part[-1] + 1, part.step))
            else:
                select.append(slice(part[-1], part[0] + 1, -part.step))
                flip.append(kept)
            expand.append(slice(None))
            out_axis += 1
            kept += 1
        return tuple(select), flip, tuple(expand)

    def kernel(self) -> Kernel:
        args = (self.source, self.component, self.meta_token, self.storage_options, "r")
        dtype = self.dtype
        selection = self.selection

        def run(block: int, inputs: list) -> Any:
            select, flip, expand = selection(block)
            value = np.asarray(open_array(*args)[select], dtype=dtype)
            if flip:
                value = np.flip(value, axis=flip)
            return value[expand] if None in expand else value

        return run
