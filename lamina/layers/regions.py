"""Sources over a selected region: a zarr array read, a random array drawn.

``ZarrRegion`` is a selection of a zarr array, read block by block.

What ``FromZarr(...)[index]`` becomes once the selection is pushed into
the source: each block reads only its part of the selected region from
the store, so ``x[5, :10]`` of a zarr-backed ``x`` reads the zarr chunks
under those ten elements and nothing else::

    ZarrRegion(source, component, meta_token, storage_options,
               (5, (0, 10, 1)), ((10,),), np.dtype("f8"))

``index`` is a ``BasicSlice`` index (ints, ``(start, stop, step)``
triples, ``None``); a negative step reads the range forwards and flips it.
``RandomRegion`` draws only the selected values of a random array whose
method spends one draw per value (see its docstring).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from lamina.layers.base import Chunks, Kernel
from lamina.layers.chunks import offsets
from lamina.layers.registry import trusted
from lamina.layers.sources import SourceLayer
from lamina.layers.zarr_io import open_array


@trusted(version=1)
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


@trusted(version=1)
class RandomRegion(SourceLayer):
    """Blocks of ``random_array[index]`` that draw only the selected values.

    For the methods that turn each 64-bit draw into one value, in order
    (``random`` and ``uniform`` in float64), block ``b`` of the whole
    array holds draws ``0, 1, ...`` of its bit generator in C order, so a
    selection inside the block is drawn by advancing the generator to its
    first element and drawing up to its last: ``x[5]`` of a block of 100
    rows draws one row, with the values the whole block would have there.
    """

    _parameters = ("entropy", "spawn_key", "method", "kwargs", "source_chunks", "index",
                   "in_chunks", "out_dtype")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self.in_chunks, self.out_dtype

    def label(self) -> str:
        return f"RandomRegion[{self.method}]"

    @cached_property
    def _plan(self) -> list[tuple[str, Any]]:
        from lamina.layers.slicing import slice_plan

        return slice_plan(self.source_chunks, self.index)

    def selection(self, block: int) -> tuple[tuple[int, ...], list[range]]:
        """The source block an output block lies in, and its positions there per axis."""
        idx = self.block_index(block)
        source: list[int] = []
        positions: list[range] = []
        out_axis = 0
        for kind, value in self._plan:
            if kind == "new":
                out_axis += 1
            elif kind == "int":
                source.append(value[0])
                positions.append(range(value[1], value[1] + 1))
            else:
                i = idx[out_axis]
                b = int(value.in_blocks[i])
                source.append(b)
                start = int(value.local_start[i])
                positions.append(range(start, start + value.out_chunks[i] * value.step,
                                       value.step))
                out_axis += 1
        return tuple(source), positions

    def kernel(self) -> Kernel:
        entropy, spawn_key, method = self.entropy, tuple(self.spawn_key), self.method
        kwargs = dict(self.kwargs)
        chunks, dtype, index = self.source_chunks, self.dtype, self.block_index
        out_chunks = self.chunks
        selection = self.selection
        itemsize = np.dtype(np.float64).itemsize

        def run(block: int, inputs: list) -> Any:
            shape = tuple(c[i] for c, i in zip(out_chunks, index(block)))
            source, positions = selection(block)
            if any(len(r) == 0 for r in positions):
                return np.empty(shape, dtype=dtype)
            strides, stride = [], 1
            for c, b in zip(reversed(chunks), reversed(source)):
                strides.append(stride)
                stride *= c[b]
            strides.reverse()
            start = sum(r[0] * st for r, st in zip(positions, strides))
            low = sum(min(r[0], r[-1]) * st for r, st in zip(positions, strides))
            high = sum(max(r[0], r[-1]) * st for r, st in zip(positions, strides))
            bits = np.random.PCG64(np.random.SeedSequence(entropy, spawn_key=spawn_key + source))
            bits.advance(low)
            draws = getattr(np.random.Generator(bits), method)(size=high - low + 1, **kwargs)
            picked = np.lib.stride_tricks.as_strided(
                draws[start - low:], tuple(len(r) for r in positions),
                tuple(r.step * st * itemsize for r, st in zip(positions, strides)))
            return np.array(picked, dtype=dtype).reshape(shape)

        return run
