"""Cull: sources read only the region asked for; layers that do nothing go.

Once slices have moved down to a source (see ``slices.py``), the source
itself is replaced by one over the selected region, with the chunks the
selection had::

    ones((100_000, 100_000), chunks=100)[0, :5]  -> ones((5,), chunks=5)
    from_array(a)[2:4]                            -> from_array(a[2:4])   (a view)
    zarr_array[5, :10]                            -> ZarrRegion: reads only that region
    arange(100)[10:20]                            -> arange(10, 20)       (integers)
    rng.random((n, m), chunks=100)[5]             -> RandomRegion: draws one row per block

A random block's values depend on the block's position in the whole
array, so a selection keeps the block grid of the whole array: only the
blocks it touches are drawn (the lowering culls the others), and for the
methods that spend one draw per value only the selected values are drawn,
the generator advanced past the others. Other random arrays keep the
slice, which fuses with the block it reads. No-op layers are
dropped: a transpose that keeps the order, two transposes in a row, a
rechunk to the same chunks, and two rechunks in a row.
"""

from __future__ import annotations

import numpy as np

from lamina.layers.base import Layer
from lamina.layers.random import RandomBlocks
from lamina.layers.rechunk import Rechunk
from lamina.layers.regions import RandomRegion, ZarrRegion
from lamina.layers.slicing import BasicSlice
from lamina.layers.sources import Arange, FromArray, Full, array_region, unwrap_array
from lamina.layers.transpose import Transpose
from lamina.layers.zarr_io import FromZarr
from lamina.optimizer.rule import Context, Rule
from lamina.optimizer.rules.indexing import compose, to_python

ONE_DRAW_PER_VALUE = frozenset({"random", "uniform"})


def _is_memory_array(value: object) -> bool:
    return isinstance(value, np.ndarray) or type(value).__module__.split(".")[0] == "cupy"


class SliceIntoSource(Rule):
    """``source[index]`` -> a source of the selected region only."""

    name = "slice_into_source"
    phase = "simplify"
    on = ("BasicSlice",)
    order = 60

    def apply(self, node: Layer, ctx: Context) -> Layer | None:
        src, index = node.x, node.index
        kind = type(src)
        if kind is Full:
            return Full(node.shape, node.chunks, src.out_dtype, src.fill_value, src.xp_name)
        if kind is FromArray:
            if not _is_memory_array(unwrap_array(src.array)):
                return None
            return FromArray(array_region(src, tuple(to_python(e) for e in index)), node.chunks)
        if kind is FromZarr:
            return ZarrRegion(src.source, src.component, src.meta_token, src.storage_options,
                              index, node.chunks, src.out_dtype)
        if kind is ZarrRegion:
            composed = compose(src.index, index)
            if composed is None:
                return None
            return ZarrRegion(src.source, src.component, src.meta_token, src.storage_options,
                              composed, node.chunks, src.out_dtype)
        if kind is Arange:
            return _arange_region(src, node)
        if kind is RandomBlocks and _one_draw_per_value(src):
            return RandomRegion(src.entropy, src.spawn_key, src.method, src.kwargs, src.chunks,
                                index, node.chunks, src.out_dtype)
        if kind is RandomRegion:
            composed = compose(src.index, index)
            if composed is None:
                return None
            return RandomRegion(src.entropy, src.spawn_key, src.method, src.kwargs,
                                src.source_chunks, composed, node.chunks, src.out_dtype)
        return None


def _one_draw_per_value(src: RandomBlocks) -> bool:
    """Whether each value of ``src`` is made from one 64-bit draw, in C order."""
    dtype = np.dtype(dict(src.kwargs).get("dtype", src.dtype))
    return src.method in ONE_DRAW_PER_VALUE and src.dtype == dtype == np.float64


def _arange_region(src: Arange, node: BasicSlice) -> Layer | None:
    """Integer ranges only: a float start or step would round differently."""
    if len(node.index) != 1 or not isinstance(node.index[0], tuple) \
            or src.dtype.kind not in "iu":
        return None
    if not all(isinstance(v, (int, np.integer)) for v in (src.start, src.step)):
        return None
    r = range(*node.index[0])
    start = int(src.start) + int(src.step) * r.start
    return Arange(start, int(src.step) * r.step, len(r), node.chunks, src.out_dtype,
                  src.xp_name)


class DropNoOps(Rule):
    """Transposes and rechunks that change nothing, or follow one another."""

    name = "drop_noops"
    phase = "simplify"
    on = ("Transpose", "Rechunk")
    order = 15

    def apply(self, node: Layer, ctx: Context) -> Layer | None:
        if type(node) is Transpose:
            axes = tuple(node.axes)
            if axes == tuple(range(node.ndim)):
                return node.x
            if type(node.x) is Transpose:
                inner = tuple(node.x.axes)
                merged = tuple(inner[a] for a in axes)
                x = node.x.x
                return x if merged == tuple(range(x.ndim)) else Transpose(x, merged)
            return None
        if type(node) is Rechunk:
            if node.x.chunks == node.chunks:
                return node.x
            if type(node.x) is Rechunk:
                x = node.x.x
                return x if x.chunks == node.chunks else Rechunk(x, node.chunks)
        return None


RULES = [SliceIntoSource(), DropNoOps()]
