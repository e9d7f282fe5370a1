"""Slicing layers: basic indexing and integer-array indexing along one axis.

``BasicSlice`` takes one normalized entry per output-or-input axis, in the
order of a NumPy index with its Ellipsis expanded::

    BasicSlice(x, (3, (0, 10, 2), None, (9, -1, -1)))
    # == x[3, 0:10:2, None, ::-1] for x of shape (n, >=10, 10)

An ``int`` picks one position (non-negative) and drops the axis; a
``(start, stop, step)`` triple keeps the axis at the positions of
``range(start, stop, step)`` (Python ``range`` semantics, so ``stop == -1``
with a negative step means "down to 0"); ``None`` adds a new axis of length
one. Each output block comes from exactly one input block: along each axis
the output blocks are the non-empty intersections of the range with the
input blocks.

``TakeAxis(x, axis, indices, group_size)`` is ``x.take(indices, axis)`` for
a 1-D array of non-negative ``indices``: output blocks along ``axis`` hold
``group_size`` consecutive index positions each and read every input block
their positions fall in.

All parameters are plain values (ints, tuples and NumPy arrays) so that a
slice-pushdown rule can compose them and the wire can carry them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from lamina.layers.base import CSR, Chunks, Kernel, Layer
from lamina.layers.blockmaps import BlockMap, through
from lamina.layers.chunks import offsets
from lamina.layers.deps import AxisMap, product_deps
from lamina.layers.registry import trusted


@dataclass(frozen=True)
class AxisSlice:
    """How one kept axis is sliced: for each output block, the input block
    it reads and where its positions start there (``count`` of them, every
    ``step``)."""

    out_chunks: tuple[int, ...]
    in_blocks: np.ndarray
    local_start: np.ndarray
    step: int

    def local_slice(self, block: int) -> slice:
        start = int(self.local_start[block])
        stop = start + self.out_chunks[block] * self.step
        return slice(start, stop if stop >= 0 else None, self.step)


def slice_axis(sizes: tuple[int, ...], start: int, stop: int, step: int) -> AxisSlice:
    """Cut ``range(start, stop, step)`` by the input blocks of ``sizes``."""
    n = len(range(start, stop, step))
    if n == 0:
        zero = np.zeros(1, dtype=np.int64)
        return AxisSlice((0,), zero, zero, 1)
    bounds = offsets(sizes)
    lo, hi = bounds[:-1], bounds[1:]
    if step > 0:
        first = -((start - lo) // step)
        end = -((start - hi) // step)
    else:
        first = (start - hi) // -step + 1
        end = (start - lo) // -step + 1
    first = np.clip(first, 0, n)
    count = np.clip(end, 0, n) - first
    blocks = np.flatnonzero(count > 0)
    if step < 0:
        blocks = blocks[::-1]
    local = start + first[blocks] * step - lo[blocks]
    return AxisSlice(tuple(count[blocks].tolist()), blocks.astype(np.int64), local, step)


def block_of(sizes: tuple[int, ...], positions: np.ndarray) -> np.ndarray:
    """Block number along one axis holding each position."""
    return np.searchsorted(offsets(sizes), positions, side="right").astype(np.int64) - 1


def slice_plan(chunks: Chunks, index: tuple) -> list[tuple[str, Any]]:
    """Per index entry over blocks ``chunks``: ("int", (block, local)),
    ("slice", AxisSlice) or ("new", None)."""
    plan: list[tuple[str, Any]] = []
    axis = 0
    for entry in index:
        if entry is None:
            plan.append(("new", None))
            continue
        if axis >= len(chunks):
            axis += 1
            continue
        sizes = chunks[axis]
        if isinstance(entry, tuple):
            plan.append(("slice", slice_axis(sizes, *entry)))
        else:
            block = int(block_of(sizes, np.array([entry]))[0])
            plan.append(("int", (block, entry - int(offsets(sizes)[block]))))
        axis += 1
    if axis != len(chunks):
        raise ValueError(f"index {index} covers {axis} axes of an array with "
                         f"{len(chunks)}: give one entry per axis (ints, triples or None)")
    return plan


@trusted(version=1)
class BasicSlice(Layer):
    """``x[index]`` for ints, range triples and None (see the module docstring)."""

    _parameters = ("x", "index")

    @cached_property
    def _plan(self) -> list[tuple[str, Any]]:
        return slice_plan(self.x.chunks, self.index)

    def _meta(self) -> tuple[Chunks, np.dtype]:
        chunks = []
        for kind, value in self._plan:
            if kind == "slice":
                chunks.append(value.out_chunks)
            elif kind == "new":
                chunks.append((1,))
        return tuple(chunks), self.x.dtype

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        maps, out_axis_of = [], []
        out_axis = 0
        for kind, value in self._plan:
            if kind == "slice":
                n = len(value.out_chunks)
                maps.append(AxisMap(np.arange(n + 1, dtype=np.int64), value.in_blocks))
                out_axis_of.append(out_axis)
            elif kind == "int":
                maps.append(AxisMap.constant(1, value[0]))
                out_axis_of.append(None)
            if kind != "int":
                out_axis += 1
        return [product_deps(out_blocks, self.numblocks, maps, self.x.numblocks, out_axis_of)]

    def dependency_block_maps(self, block_map: BlockMap) -> list[BlockMap]:
        child, out_axis = [], 0
        for kind, value in self._plan:
            if kind == "int":
                child.append(value[0])
                continue
            if kind == "slice":
                child.append(through(block_map[out_axis], value.in_blocks))
            out_axis += 1
        return [tuple(child)]

    def kernel(self) -> Kernel:
        plan = self._plan
        index = self.block_index

        def run(block: int, inputs: list) -> Any:
            idx = iter(index(block))
            local = []
            for kind, value in plan:
                if kind == "slice":
                    local.append(value.local_slice(next(idx)))
                elif kind == "int":
                    local.append(value[1])
                else:
                    next(idx)
                    local.append(None)
            return inputs[0][tuple(local)]

        return run


@trusted(version=1)
class TakeAxis(Layer):
    """``x.take(indices, axis)``; ``indices`` is 1-D, non-negative, in bounds."""

    _parameters = ("x", "axis", "indices", "group_size")

    @cached_property
    def _axis_map(self) -> AxisMap:
        sizes = self.x.chunks[self.axis]
        n = len(self.indices)
        if n == 0:
            return AxisMap.constant(1, 0)
        nb = len(sizes)
        group = np.arange(n, dtype=np.int64) // self.group_size
        keys = np.unique(group * nb + block_of(sizes, self.indices))
        groups, blocks = np.divmod(keys, nb)
        indptr = np.zeros(int(group[-1]) + 2, dtype=np.int64)
        np.cumsum(np.bincount(groups, minlength=len(indptr) - 1), out=indptr[1:])
        return AxisMap(indptr, blocks)

    def _meta(self) -> tuple[Chunks, np.dtype]:
        n, size = len(self.indices), self.group_size
        along = (size,) * (n // size) + ((n % size,) if n % size else ()) if n else (0,)
        chunks = list(self.x.chunks)
        chunks[self.axis] = along
        return tuple(chunks), self.x.dtype

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        maps = [AxisMap.identity(nb) for nb in self.x.numblocks]
        maps[self.axis] = self._axis_map
        return [product_deps(out_blocks, self.numblocks, maps, self.x.numblocks)]

    def kernel(self) -> Kernel:
        xp = self.array_module
        axis, size, indices = self.axis, self.group_size, self.indices
        amap = self._axis_map
        bounds = offsets(self.x.chunks[axis])
        index = self.block_index

        def run(block: int, inputs: list) -> Any:
            group = index(block)[axis]
            positions = indices[group * size:(group + 1) * size]
            blocks = amap.indices[amap.indptr[group]:amap.indptr[group + 1]]
            if len(blocks) == 1:
                return xp.take(inputs[0], xp.asarray(positions - bounds[blocks[0]]), axis=axis)
            owner = np.searchsorted(bounds, positions, side="right") - 1
            shape = list(inputs[0].shape)
            shape[axis] = len(positions)
            out = xp.empty(tuple(shape), dtype=inputs[0].dtype)
            lead = (slice(None),) * axis
            for value, b in zip(inputs, blocks):
                where = np.flatnonzero(owner == b)
                local = positions[where] - bounds[b]
                out[lead + (xp.asarray(where),)] = xp.take(value, xp.asarray(local), axis=axis)
            return out

        return run
