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
look at a whole block.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from lamina.layers.base import Layer
from lamina.layers.blockwise import Blockwise
from lamina.layers.concatenate import Concatenate
from lamina.layers.rechunk import Rechunk
from lamina.layers.slicing import BasicSlice
from lamina.layers.transpose import Transpose
from lamina.optimizer.rule import Context, Rule
from lamina.optimizer.rules.indexing import (compose, entries_by_axis, is_expand_only,
                                             is_identity, out_entries, tight)

_ELEMENTWISE_FUNCS: set[int] = set()
_ELEMENTWISE_TYPES: set[type] = {np.ufunc}


def register_elementwise(func: Callable | type) -> Callable | type:
    """Declare a function (or the type of callable objects) elementwise.

    An elementwise function computes each output element from the elements
    at the same (broadcast) position of its arguments, so a selection of
    its output is the function of the selections of its arguments.
    """
    if isinstance(func, type):
        _ELEMENTWISE_TYPES.add(func)
    else:
        _ELEMENTWISE_FUNCS.add(id(func))
    return func


def _register_builtins() -> None:
    from lamina.array import creation, elementwise

    register_elementwise(np.where)
    register_elementwise(elementwise._cast)
    register_elementwise(elementwise._nth_output)
    register_elementwise(creation._broadcast_first)


_register_builtins()


def slice_of(x: Layer, index: tuple) -> Layer:
    """``x[index]`` as a layer (``x`` itself when the index keeps everything)."""
    if is_identity(index, x.shape):
        return x
    return BasicSlice(x, index)


def is_elementwise(node: Layer) -> bool:
    """Whether ``node`` is an elementwise Blockwise with NumPy broadcasting."""
    if type(node) is not Blockwise:
        return False
    func = node.func
    if id(func) not in _ELEMENTWISE_FUNCS and not isinstance(func, tuple(_ELEMENTWISE_TYPES)):
        return False
    shapes = []
    for arg, axes in zip(node.args, node.arg_axes):
        if isinstance(arg, Layer):
            if tuple(axes) != tuple(range(node.ndim - arg.ndim, node.ndim)):
                return False
            shapes.append(arg.shape)
        elif np.ndim(arg) != 0:
            return False
    if any(np.ndim(v) != 0 and not isinstance(v, (str, np.dtype)) for _, v in node.kwargs):
        return False
    try:
        return np.broadcast_shapes(*shapes) == node.shape
    except ValueError:
        return False


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
        if is_identity(node.index, node.x.shape):
            return node.x
        if type(node.x) is not BasicSlice:
            return None
        index = compose(node.x.index, node.index)
        if index is None:
            return None
        return slice_of(node.x.x, index)


class SliceThroughElementwise(Rule):
    """``f(x, y)[i]`` -> ``f(x[i'], y[i''])`` for elementwise ``f`` (broadcasting)."""

    name = "slice_through_elementwise"
    phase = "simplify"
    on = ("BasicSlice",)
    order = 30

    def apply(self, node: Layer, ctx: Context) -> Layer | None:
        inner = node.x
        if not is_elementwise(inner) or is_expand_only(node.index, inner.shape):
            return None
        args, axes = [], []
        out_ndim = len(out_entries(node.index))
        for arg, arg_axes in zip(inner.args, inner.arg_axes):
            if not isinstance(arg, Layer):
                args.append(arg)
                axes.append(arg_axes)
                continue
            index = _arg_index(node.index, inner, arg)
            args.append(slice_of(arg, index))
            axes.append(tuple(range(out_ndim - len(out_entries(index)), out_ndim)))
        return Blockwise(inner.func, node.chunks, inner.out_dtype, tuple(axes), inner.kwargs,
                         tuple(args), inner.fname)


class SliceThroughTranspose(Rule):
    """``x.T[i, j]`` -> ``x[j, i]`` (a transpose of what remains, if anything)."""

    name = "slice_through_transpose"
    phase = "simplify"
    on = ("BasicSlice",)
    order = 40

    def apply(self, node: Layer, ctx: Context) -> Layer | None:
        inner = node.x
        if type(inner) is not Transpose or is_expand_only(node.index, inner.shape):
            return None
        x, order = inner.x, tuple(inner.axes)
        entries: list[Any] = [None] * x.ndim
        for j, entry in enumerate(entries_by_axis(node.index)):
            entries[order[j]] = entry
        kept = [a for a in range(x.ndim) if not isinstance(entries[a], int)]
        perm = tuple(kept.index(a) for a in order if a in kept)
        out = slice_of(x, tuple(entries))
        if perm != tuple(range(len(perm))):
            out = Transpose(out, perm)
        if any(e is None for e in node.index):
            out = BasicSlice(out, tuple(None if e is None else (0, len(range(*e)), 1)
                                        for e in node.index if not isinstance(e, int)))
        return out


class SliceThroughRechunk(Rule):
    """``x.rechunk(c)[i]`` -> ``x[i].rechunk(c')``: read only the selected region."""

    name = "slice_through_rechunk"
    phase = "simplify"
    on = ("BasicSlice",)
    order = 50

    def apply(self, node: Layer, ctx: Context) -> Layer | None:
        inner = node.x
        if type(inner) is not Rechunk or is_expand_only(node.index, inner.shape):
            return None
        out = slice_of(inner.x, node.index)
        return out if out.chunks == node.chunks else Rechunk(out, node.chunks)


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
    from lamina.array.elementwise import _cast as cast

    return Blockwise(cast, layer.chunks, dtype, (tuple(range(layer.ndim)),),
                     (("to", dtype),), (layer,), "astype")


class SliceThroughConcatenate(Rule):
    """``concatenate([a, b])[i]`` -> the selected parts of ``a`` and ``b``, joined."""

    name = "slice_through_concatenate"
    phase = "simplify"
    on = ("BasicSlice",)
    order = 45

    def apply(self, node: Layer, ctx: Context) -> Layer | None:
        inner = node.x
        if type(inner) is not Concatenate or is_expand_only(node.index, inner.shape):
            return None
        arrays, axis, dtype = inner.arrays, inner.axis, inner.dtype
        position = [i for i, e in enumerate(node.index) if e is not None][axis]
        entry = node.index[position]
        out_axis = sum(1 for e in node.index[:position] if not isinstance(e, int))
        bounds = [0]
        for a in arrays:
            bounds.append(bounds[-1] + a.shape[axis])

        def piece(k: int, local: Any) -> Layer:
            index = node.index[:position] + (local,) + node.index[position + 1:]
            return slice_of(arrays[k], index)

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
        from lamina.layers.reductions import (OPERATIONS, ReduceAggregate, ReduceChunk,
                                              ReduceCombine, reduction)

        agg = node.x
        if type(agg) is not ReduceAggregate or OPERATIONS[agg.op].positional \
                or None in node.index or is_expand_only(node.index, agg.shape):
            return None
        below, split = agg.x, None
        while type(below) is ReduceCombine:
            below, split = below.x, below.split_every
        if type(below) is not ReduceChunk:
            return None
        x, axes = below.x, tuple(agg.axes)
        entries = iter(node.index)
        index: list[Any] = []
        for k in range(x.ndim):
            if k in axes:
                if agg.keepdims and next(entries) != (0, 1, 1):
                    return None
                index.append((0, x.shape[k], 1))
            else:
                index.append(next(entries))
        new_axes = tuple(k - sum(isinstance(e, int) for e in index[:k]) for k in axes)
        if split is None:
            split = tuple(max(x.numblocks[k], 2) for k in axes)
        return reduction(slice_of(x, tuple(index)), agg.op, new_axes, below.acc_dtype,
                         agg.out_dtype, agg.keepdims, split, agg.options)


RULES = [SliceFusion(), SliceThroughElementwise(), SliceThroughTranspose(),
         SliceThroughRechunk(), SliceThroughConcatenate(), SliceThroughReduction()]
