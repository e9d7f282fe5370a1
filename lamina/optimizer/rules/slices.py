"""Slice fusion and pushdown: a selection composes and moves toward the sources.

    x[:100][5]            -> x[5]                          slice_fusion
    (x + y)[0, :5]        -> x[0, :5] + y[0, :5]           slice_through_elementwise
    x.astype(f4)[3]       -> x[3].astype(f4)               (astype is elementwise)
    x.T[3, 4]             -> x[4, 3]                       slice_through_transpose
    x.rechunk(c)[:10]     -> x[:10].rechunk(c')            slice_through_rechunk
    concatenate([a, b])[i] -> concatenate([a[i'], b[i'']])  slice_through_concatenate
    x.sum(axis=0)[5]      -> x[:, 5].sum(axis=0)           slice_through_reduction

Through elementwise layers the selection follows NumPy broadcasting: an
argument with length one along an axis keeps its one element there (or
none, for an empty selection), and an argument without the leading axes
gets the entries of its own axes only. The rewritten layers keep the chunks
the sliced layer had, block for block.

A Blockwise layer counts as elementwise when its function is a NumPy ufunc
or registered with ``register_elementwise`` (``astype``, ``where``,
``broadcast_to`` are); ``map_blocks`` functions are not, since they may
look at a whole block. Each rule is one ``match`` on the pattern it
rewrites (see ``lamina.optimizer.patterns``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.layers import elementwise
from lamina.layers.base import Layer
from lamina.layers.blockwise import Blockwise
from lamina.layers.concatenate import Concatenate
from lamina.layers.rechunk import Rechunk
from lamina.layers.slicing import BasicSlice
from lamina.layers.transpose import Transpose
from lamina.optimizer.patterns import Elementwise, register_elementwise
from lamina.optimizer.rule import Context, Rule
from lamina.optimizer.rules.indexing import (
    compose,
    entries_by_axis,
    is_expand_only,
    is_identity,
    out_entries,
    tight,
)

for _builtin in (np.where, elementwise.cast, elementwise.NthOutput, elementwise.broadcast_first):
    register_elementwise(_builtin)  # the collections' own elementwise block functions


def slice_of(x: Layer, index: tuple) -> Layer:
    """``x[index]`` as a layer (``x`` itself when the index keeps everything)."""
    if is_identity(index, x.shape):
        return x
    return BasicSlice(x, index)


def selects(index: tuple, layer: Layer) -> bool:
    """Whether ``index`` selects from ``layer`` (rather than only adding axes)."""
    return not is_expand_only(index, layer.shape)


def _arg_index(index: tuple, node: Layer, arg: Layer) -> tuple:
    """The part of ``index`` (on ``node``) that selects from a broadcast argument."""
    offset = node.ndim - arg.ndim
    out: list[Any] = []
    consumed = 0
    for entry in index:
        if entry is None:
            if consumed >= offset:
                out.append(None)
            continue
        k = consumed - offset
        consumed += 1
        if k < 0:
            continue
        if arg.shape[k] == 1 and node.shape[k + offset] != 1:
            if isinstance(entry, int):
                out.append(0)
            else:
                out.append((0, 1, 1) if len(range(*entry)) else (0, 0, 1))
        else:
            out.append(entry)
    return tuple(out)


class SliceFusion(Rule):
    """``x[a][b]`` -> ``x[c]``, and ``x[identity]`` -> ``x``."""

    name = "slice_fusion"
    phase = "simplify"
    on = ("BasicSlice",)
    order = 20

    def apply(self, node: Layer, ctx: Context) -> Layer | None:
        match node:
            case BasicSlice(x, index) if is_identity(index, x.shape):
                return x
            case BasicSlice(BasicSlice(x, first), second):
                index = compose(first, second)
                return None if index is None else slice_of(x, index)
        return None


class SliceThroughElementwise(Rule):
    """``f(x, y)[i]`` -> ``f(x[i'], y[i''])`` for elementwise ``f`` (broadcasting)."""

    name = "slice_through_elementwise"
    phase = "simplify"
    on = ("BasicSlice",)
    order = 30

    def apply(self, node: Layer, ctx: Context) -> Layer | None:
        match node:
            case BasicSlice(Elementwise() as inner, index) if selects(index, inner):
                return _select_arguments(inner, index, node.chunks)
        return None


def _select_arguments(inner: Blockwise, index: tuple, chunks: tuple) -> Blockwise:
    """``inner[index]`` as the same function of selections of its arguments."""
    args, axes = [], []
    out_ndim = len(out_entries(index))
    for arg, arg_axes in zip(inner.args, inner.arg_axes):
        if not isinstance(arg, Layer):
            args.append(arg)
            axes.append(arg_axes)
            continue
        arg_index = _arg_index(index, inner, arg)
        args.append(slice_of(arg, arg_index))
        axes.append(tuple(range(out_ndim - len(out_entries(arg_index)), out_ndim)))
    return Blockwise(inner.func, chunks, inner.out_dtype, tuple(axes), inner.kwargs,
                     tuple(args), inner.fname)


class SliceThroughTranspose(Rule):
    """``x.T[i, j]`` -> ``x[j, i]`` (a transpose of what remains, if anything)."""

    name = "slice_through_transpose"
    phase = "simplify"
    on = ("BasicSlice",)
    order = 40

    def apply(self, node: Layer, ctx: Context) -> Layer | None:
        match node:
            case BasicSlice(Transpose(x, order) as inner, index) if selects(index, inner):
                entries: list[Any] = [None] * x.ndim
                for j, entry in enumerate(entries_by_axis(index)):
                    entries[order[j]] = entry
                kept = [a for a in range(x.ndim) if not isinstance(entries[a], int)]
                perm = tuple(kept.index(a) for a in order if a in kept)
                out = slice_of(x, tuple(entries))
                if perm != tuple(range(len(perm))):
                    out = Transpose(out, perm)
                if None in index:
                    out = BasicSlice(out, tuple(None if e is None else (0, len(range(*e)), 1)
                                                for e in index if not isinstance(e, int)))
                return out
        return None


class SliceThroughRechunk(Rule):
    """``x.rechunk(c)[i]`` -> ``x[i].rechunk(c')``: read only the selected region."""

    name = "slice_through_rechunk"
    phase = "simplify"
    on = ("BasicSlice",)
    order = 50

    def apply(self, node: Layer, ctx: Context) -> Layer | None:
        match node:
            case BasicSlice(Rechunk(x) as inner, index) if selects(index, inner):
                out = slice_of(x, index)
                return out if out.chunks == node.chunks else Rechunk(out, node.chunks)
        return None


def _pieces(r: range, bounds: list[int]) -> list[tuple[int, range]]:
    """The parts of ``r`` inside each ``[bounds[k], bounds[k + 1])``, in the order of ``r``."""
    out = []
    n, step = len(r), r.step
    for k in range(len(bounds) - 1):
        lo, hi = bounds[k], bounds[k + 1]
        if step > 0:
            first, end = -((r.start - lo) // step), -((r.start - hi) // step)
        else:
            first, end = (r.start - hi) // -step + 1, (r.start - lo) // -step + 1
        part = r[max(first, 0):min(max(end, 0), n)]
        if len(part):
            out.append((k, part))
    return out if step > 0 else out[::-1]


def _cast(layer: Layer, dtype: np.dtype) -> Layer:
    """``layer.astype(dtype)`` as the elementwise layer ``astype`` makes."""
    if layer.dtype == dtype:
        return layer
    return Blockwise(elementwise.cast, layer.chunks, dtype, (tuple(range(layer.ndim)),),
                     (("to", dtype),), (layer,), "astype")


class SliceThroughConcatenate(Rule):
    """``concatenate([a, b])[i]`` -> the selected parts of ``a`` and ``b``, joined."""

    name = "slice_through_concatenate"
    phase = "simplify"
    on = ("BasicSlice",)
    order = 45

    def apply(self, node: Layer, ctx: Context) -> Layer | None:
        match node:
            case BasicSlice(Concatenate(arrays, axis) as inner, index) if selects(index, inner):
                return _select_parts(arrays, axis, inner.dtype, index)
        return None


def _select_parts(arrays: tuple[Layer, ...], axis: int, dtype: np.dtype, index: tuple
                  ) -> Layer | None:
    """``concatenate(arrays, axis)[index]`` from the selected parts of ``arrays``."""
    position = [i for i, e in enumerate(index) if e is not None][axis]
    entry = index[position]
    out_axis = sum(1 for e in index[:position] if not isinstance(e, int))
    bounds = [0]
    for a in arrays:
        bounds.append(bounds[-1] + a.shape[axis])

    def piece(k: int, local: Any) -> Layer:
        return slice_of(arrays[k], index[:position] + (local,) + index[position + 1:])

    if isinstance(entry, int):
        k = next(k for k in range(len(arrays)) if entry < bounds[k + 1])
        return _cast(piece(k, entry - bounds[k]), dtype)
    parts = [piece(k, tight(range(p.start - bounds[k], p.stop - bounds[k], p.step)))
             for k, p in _pieces(range(*entry), bounds)]
    if not parts:
        return None
    if len(parts) == 1:
        return _cast(parts[0], dtype)
    return Concatenate(tuple(parts), out_axis, dtype)


class SliceThroughReduction(Rule):
    """``x.sum(axis=0)[i]`` -> ``x[:, i].sum(axis=0)``: reduce only what is selected.

    The rule matches the whole reduction tree (aggregate, its combine
    levels, the block step) and rebuilds it over the selection with the
    same groups along the reduced axes, so values stay bit for bit equal.
    Reductions that return positions (argmin, argmax) are left alone.
    """

    name = "slice_through_reduction"
    phase = "simplify"
    on = ("BasicSlice",)
    order = 48

    def apply(self, node: Layer, ctx: Context) -> Layer | None:
        from lamina.layers.reductions import OPERATIONS, ReduceAggregate

        match node:
            case BasicSlice(ReduceAggregate(below, op) as agg, index) if selects(index, agg) \
                    and None not in index and not OPERATIONS[op].positional:
                return _reduce_selection(agg, below, index)
        return None


def _reduce_selection(agg: Layer, below: Layer, index: tuple) -> Layer | None:
    """The reduction tree ending in ``agg``, rebuilt over the part of its input
    that ``index`` (on ``agg``) needs; None if the tree is not the usual one."""
    from lamina.layers.reductions import ReduceChunk, ReduceCombine, reduction

    split = None
    while type(below) is ReduceCombine:
        below, split = below.x, below.split_every
    if type(below) is not ReduceChunk:
        return None
    x, axes = below.x, tuple(agg.axes)
    entries = iter(index)
    selection: list[Any] = []
    for k in range(x.ndim):
        if k in axes:
            if agg.keepdims and next(entries) != (0, 1, 1):
                return None
            selection.append((0, x.shape[k], 1))
        else:
            selection.append(next(entries))
    new_axes = tuple(k - sum(isinstance(e, int) for e in selection[:k]) for k in axes)
    if split is None:
        split = tuple(max(x.numblocks[k], 2) for k in axes)
    return reduction(slice_of(x, tuple(selection)), agg.op, new_axes, below.acc_dtype,
                     agg.out_dtype, agg.keepdims, split, agg.options)


RULES = [SliceFusion(), SliceThroughElementwise(), SliceThroughTranspose(),
         SliceThroughRechunk(), SliceThroughConcatenate(), SliceThroughReduction()]
