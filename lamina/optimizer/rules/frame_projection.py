"""Projection pushdown: every layer computes only the columns its readers use.

    li.assign(d=li.a * 2).groupby("k").agg(s=("d", "sum"))      (li reads a..z)
    -> assign(li[[k, a]], d=...)[[k, d]] ...                    (li reads k and a)

``projection_pushdown`` looks at a layer whose result is a DataFrame and
asks each of its readers which columns it uses: a selection its columns,
a step that passes columns through (a filter, ``assign``, ``rename``, a
merge, ``concat``, a selection) those its own result still has. When
together they use fewer columns than the layer makes, the layer is
rebuilt to make only those, over inputs narrowed by a selection:

    filter(x, mask)            -> filter(x[used], mask)
    assign(x, a=.., b=..)      -> assign(x[used - {a, b}], a=..)   (b unused)
    rename(x, {a: b})          -> rename(x[columns named to used], {a: b})
    merge(l, r)                -> merge(l[used + keys], r[used + keys])
    concat(x, y)               -> concat(x[used], y[used])
    x[cols]                    -> x[cols & used]

(a merge keeps a column both sides have on both, so its suffixes stay).
The engine repeats the rule to a fixpoint, so the narrowing travels down
one layer per pass until a read (``projection_into_parquet`` reads only
the columns its readers use, in the same way). A reader whose use is
unknown (a user's ``map_partitions``, a reduction over all columns, a
result asked for) keeps every column. ``drop_noop_projection`` removes a
selection of exactly the columns, in order, that its input has.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from lamina.layers.base import Layer
from lamina.layers.frame.base import FrameLayer
from lamina.layers.frame.join import (
    join_inputs,
    join_keys,
    join_layer,
    merge_parts,
    merge_sources,
)
from lamina.layers.frame.partitionwise import (
    MapPartitions,
    assign_columns,
    columns_selected,
    filter_rows,
    rename_columns,
    select_columns,
)
from lamina.layers.frame.regroup import ConcatFrames
from lamina.optimizer.rule import Context, Rule


def frame_columns(layer: Any) -> list | None:
    """The columns of a frame layer whose result is a DataFrame (None otherwise)."""
    meta = layer.meta if isinstance(layer, FrameLayer) else None
    return list(meta.columns) if isinstance(meta, pd.DataFrame) else None


def _only_first(layer: MapPartitions) -> Layer | None:
    """The frame a partition-wise step passes through, if it reads it once, first."""
    frame = layer.args[0] if layer.args else None
    if layer.broadcast or not isinstance(frame, FrameLayer) or frame_columns(frame) is None \
            or any(a is frame or a == frame for a in layer.args[1:]):
        return None
    return frame


def input_needs(node: Layer, wanted: set) -> dict[str, list] | None:
    """For a step that passes columns through: the columns of each input (by name)
    that making the ``wanted`` columns of its result needs; None for other layers."""
    if isinstance(node, ConcatFrames):
        return {f.name: [c for c in frame_columns(f) or () if c in wanted]
                for f in node.frames} if all(frame_columns(f) for f in node.frames) else None
    if not isinstance(node, MapPartitions):
        return None
    found = merge_parts(node)
    if found is not None:
        return _merge_needs(node, found[0], wanted)
    frame = _only_first(node)
    if frame is None:
        return None
    columns = frame_columns(frame)
    if node.func is filter_rows or (node.func is select_columns):
        return {frame.name: [c for c in columns if c in wanted]}
    if node.func is assign_columns:
        names = set(node.args[1])
        return {frame.name: [c for c in columns if c in wanted and c not in names]}
    if node.func is rename_columns:
        mapping = node.args[1]
        renamed = [mapping.get(c, c) for c in columns]
        if len(set(renamed)) != len(renamed):
            return None
        return {frame.name: [c for c, r in zip(columns, renamed) if r in wanted]}
    return None


def _merge_needs(node: Layer, options: dict, wanted: set) -> dict[str, list] | None:
    sides = join_inputs(node)
    if sides is None or any(frame_columns(s) is None for s in sides):
        return None
    left, right = sides
    lcols, rcols = frame_columns(left), frame_columns(right)
    lkeys, rkeys = join_keys(options, lcols, rcols)
    suffixes = options.get("suffixes", ("_x", "_y"))

    def keep(columns: list, keys: tuple, other: list, suffix: str) -> list:
        return [c for c in columns if c in keys or c in other or c in wanted
                or (isinstance(c, str) and f"{c}{suffix}" in wanted)]

    return {left.name: keep(lcols, lkeys, rcols, suffixes[0]),
            right.name: keep(rcols, rkeys, lcols, suffixes[1])}


def used_by(reader: Layer, layer: Layer) -> set | None:
    """The columns of ``layer`` that ``reader`` uses (None: all, or not known)."""
    chosen = columns_selected(reader)
    if chosen is not None:
        alone = reader.args[0] == layer and not any(a == layer for a in reader.args[1:])
        return set(chosen) if alone else None
    columns = frame_columns(reader)
    if columns is None:
        return None
    needs = input_needs(reader, set(columns))
    if needs is None or layer.name not in needs:
        return None
    return set(needs[layer.name])


def demanded(node: Layer, ctx: Context) -> set | None:
    """The columns of ``node`` its readers use together (None: all, or not known)."""
    readers = ctx.dependents(node)
    if ctx.is_output(node) or not readers:
        return None
    used: set = set()
    for reader in readers:
        mine = used_by(reader, node)
        if mine is None:
            return None
        used |= mine
    return used


def select(layer: Layer, columns: list) -> Layer:
    """``layer[columns]``, or ``layer`` itself when that is all of it, in order."""
    if frame_columns(layer) == list(columns):
        return layer
    return MapPartitions(select_columns, (layer, list(columns)), (), layer.meta[list(columns)],
                         layer.divisions, (), "columns")


def _metas(args: tuple) -> list:
    return [a.meta if isinstance(a, Layer) else a for a in args]


def _merged_meta(node: Layer, options: dict, left: Layer, right: Layer) -> Any:
    """The meta of the merge ``node`` over the narrowed sides: its own, fewer columns
    (pandas' merge of the empty frames, where the columns do not map one to one)."""
    old_left, old_right = join_inputs(node)
    sources = merge_sources(options, frame_columns(old_left), frame_columns(old_right))
    if list(sources) != list(node.meta.columns):
        return pd.merge(left.meta, right.meta, **options)
    have = {"left": set(frame_columns(left)), "right": set(frame_columns(right))}
    kept = [out for out, found in sources.items() if all(c in have[s] for s, c in found)]
    return node.meta[kept]


def narrowed(node: Layer, wanted: set) -> Layer | None:
    """``node`` making only the ``wanted`` columns (at least), or None if it cannot."""
    needs = input_needs(node, wanted)
    if needs is None:
        return None
    if isinstance(node, ConcatFrames):
        frames = tuple(select(f, needs[f.name]) for f in node.frames)
        meta = node.meta_[[c for c in node.meta_.columns if c in wanted]]
        return ConcatFrames(frames, meta)
    found = merge_parts(node)
    if found is not None:
        options, strategy = found
        left, right = (select(s, needs[s.name]) for s in join_inputs(node))
        meta = _merged_meta(node, options, left, right)
        out = join_layer(left, right, options, meta, strategy, node.npartitions)
        return out.substitute(fname=node.fname)
    frame = node.args[0]
    args = list(node.args)
    args[0] = select(frame, needs[frame.name])
    if node.func is select_columns:
        args[1] = [c for c in node.args[1] if c in wanted]
    elif node.func is assign_columns:
        kept = [(n, v) for n, v in zip(node.args[1], node.args[2:]) if n in wanted]
        if not kept:
            return args[0]
        args = [args[0], tuple(n for n, _ in kept), *(v for _, v in kept)]
    meta = node.func(*_metas(tuple(args)), **dict(node.kwargs))
    return node.substitute(args=tuple(args), meta_=meta)


class ProjectionPushdown(Rule):
    """Make only the columns the readers of a layer use, narrowing its inputs."""

    phase = "simplify"
    on = ("MapPartitions", "ConcatFrames")

    def apply(self, node: Layer, ctx: Context) -> Layer | None:
        columns = frame_columns(node)
        if columns is None:
            return None
        used = demanded(node, ctx)
        if used is None or used >= set(columns):
            return None
        return narrowed(node, used)


class DropNoopProjection(Rule):
    """Drop a selection of exactly its input's columns, in their order."""

    phase = "simplify"
    on = ("MapPartitions",)

    def apply(self, node: Layer, ctx: Context) -> Layer | None:
        if node.func is not select_columns or _only_first(node) is None:
            return None
        return node.args[0] if frame_columns(node.args[0]) == list(node.args[1]) else None


RULES = [ProjectionPushdown(), DropNoopProjection()]
