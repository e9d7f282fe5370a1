"""Predicate pushdown through joins: a filter on one side's columns runs before the join.

    merge(l, r)[(m.a > 1) & (m.b == m.c) & (m.a < m.x)]      a, b, c from l; x from r
    -> merge(l[(l.a > 1) & (l.b == l.c)], r)[m.a < m.x]

``filter_through_merge`` splits a filter's mask over a merged frame into
its ``&`` conjuncts. A conjunct built only of row-wise operators
(comparisons, arithmetic, ``& | ^``) over columns that all come from one
side is evaluated on that side before the join, where the join cannot
change the values it reads:

* inner join: either side;
* left join: the left side only (a right column is missing on a row with
  no match, and a filter could keep or drop that row);
* right join: the right side only;
* outer join: neither.

In a left or right join the other side's columns must keep their dtype
when padded with missing values (float, nullable, string, datetime,
categorical): an int column becomes float only if some row found no
match, and the moved filter may remove exactly those rows.

A key named by ``on=`` counts as the kept side's column (the left one for
inner and left joins). Conjuncts over both sides, or over anything else,
stay above the join; a mask with any other term (a reduction, a user's
function) is left whole. The filtered side is a plain filter, so
``predicate_into_parquet`` then moves it into the side's
``read_parquet(filters=)`` when it is a read. The rule leaves a join
alone that anything other than the filter and its mask reads (it would
be computed twice).
"""

from __future__ import annotations

import operator
from typing import Any

from lamina.layers.base import Layer
from lamina.layers.frame.join import join_inputs, join_layer, merge_parts, merge_sources
from lamina.layers.frame.partitionwise import (
    MapPartitions,
    filter_rows,
    select_column,
    select_columns,
)
from lamina.optimizer.rule import Context, Rule

ROW_WISE = frozenset({operator.lt, operator.le, operator.gt, operator.ge, operator.eq,
                      operator.ne, operator.add, operator.sub, operator.mul,
                      operator.truediv, operator.floordiv, operator.mod, operator.pow,
                      operator.and_, operator.or_, operator.xor})
MAX_MASK_LAYERS = 256
MOVABLE_SIDES = {"inner": ("left", "right"), "left": ("left",), "right": ("right",),
                 "outer": ()}


def conjuncts(mask: Any) -> list:
    """The terms whose ``&`` is ``mask``."""
    if isinstance(mask, MapPartitions) and mask.func is operator.and_ and not mask.kwargs \
            and not mask.broadcast and len(mask.args) == 2 and \
            all(isinstance(a, Layer) for a in mask.args):
        return conjuncts(mask.args[0]) + conjuncts(mask.args[1])
    return [mask]


def _is_column_of(layer: Any, frame: Layer) -> bool:
    return isinstance(layer, MapPartitions) and layer.func is select_column and \
        not layer.broadcast and len(layer.args) == 2 and layer.args[0] == frame


def mask_columns(mask: Layer, frame: Layer) -> tuple[set, list] | None:
    """The columns of ``frame`` that the row-wise ``mask`` reads, and its layers;
    None when it reads anything else or is not row-wise."""
    columns, seen, stack = set(), {}, [mask]
    while stack:
        layer = stack.pop()
        if layer.name in seen:
            continue
        if len(seen) >= MAX_MASK_LAYERS:
            return None
        seen[layer.name] = layer
        if _is_column_of(layer, frame):
            columns.add(layer.args[1])
            continue
        if not (isinstance(layer, MapPartitions) and layer.func in ROW_WISE
                and not layer.kwargs and not layer.broadcast and layer.dependencies):
            return None
        stack.extend(layer.dependencies)
    return columns, list(seen.values())


def column_owners(node: Layer, options: dict) -> dict:
    """Output column of the merge ``node`` -> ``(side, that side's column)``; a key
    shared by both sides counts as the kept side's (none in an outer join)."""
    left, right = join_inputs(node)
    kept = "right" if options.get("how") == "right" else "left"
    owners = {}
    for out, sources in merge_sources(options, list(left.meta.columns),
                                      list(right.meta.columns)).items():
        if len(sources) == 1:
            owners[out] = sources[0]
        elif options.get("how") != "outer":
            owners[out] = (kept, dict(sources)[kept])
    return owners


def _base(frame: Layer) -> Layer:
    """Below any selections of columns (a column of a selection is one of its input)."""
    while isinstance(frame, MapPartitions) and frame.func is select_columns and \
            not frame.broadcast:
        frame = frame.args[0]
    return frame


def rebased(mask: Layer, frame: Layer, target: Layer, names: dict) -> Layer:
    """``mask`` reading ``target``'s column ``names[c]`` wherever it read ``frame[c]``."""
    memo: dict[str, Layer] = {}

    def build(layer: Layer) -> Layer:
        if layer.name in memo:
            return memo[layer.name]
        if _is_column_of(layer, frame):
            name = names[layer.args[1]]
            out = MapPartitions(select_column, (target, name), (), target.meta[name],
                                target.divisions, (), f"[{name!r}]")
        else:
            args = tuple(build(a) if isinstance(a, Layer) else a for a in layer.args)
            out = layer.substitute(args=args, divisions_=target.divisions)
        memo[layer.name] = out
        return out

    return build(mask)


def _holds_missing(frame: Layer, columns: set) -> bool:
    """Whether ``frame``'s ``columns`` keep their dtype when a join pads it with missing
    values: otherwise (an int or bool column) the dtype of a left join's result
    depends on whether some row found no match, which a filter moved below the join
    changes."""
    import pandas as pd

    return all(isinstance(d, pd.api.extensions.ExtensionDtype) or d.kind in "fcmMOSU"
               for c, d in frame.meta.dtypes.items() if c in columns)


def _and(terms: list) -> Layer:
    out = terms[0]
    for term in terms[1:]:
        out = MapPartitions(operator.and_, (out, term), (), out.meta, out.divisions, (),
                            "and_")
    return out


def _filtered(frame: Layer, terms: list) -> Layer:
    return MapPartitions(filter_rows, (frame, _and(terms)), (), frame.meta, frame.divisions,
                         (), "filter")


class FilterThroughMerge(Rule):
    """Filter a join's side before the join when the condition reads only that side."""

    phase = "simplify"
    on = ("MapPartitions",)

    def apply(self, node: Layer, ctx: Context) -> Layer | None:
        if node.func is not filter_rows or len(node.args) != 2 or node.broadcast:
            return None
        merged, mask = node.args
        found = merge_parts(merged) if isinstance(merged, Layer) else None
        if found is None or not isinstance(mask, Layer) or join_inputs(merged) is None:
            return None
        options, strategy = found
        owners = column_owners(merged, options)
        sides = dict(zip(("left", "right"), join_inputs(merged)))
        whole = mask_columns(mask, merged)
        if whole is None:
            return None
        inside = {layer.name for layer in whole[1]}
        moved: dict[str, list] = {"left": [], "right": []}
        kept = []
        for term in conjuncts(mask):
            columns, _ = mask_columns(term, merged)
            owner = {owners.get(c, (None,))[0] for c in columns}
            side = owner.pop() if len(owner) == 1 else None
            if side not in MOVABLE_SIDES[options.get("how", "inner")]:
                kept.append(term)
                continue
            base = _base(sides[side])
            names = {c: owners[c][1] for c in columns}
            moved[side].append(rebased(term, merged, base, names))
        how = options.get("how", "inner")
        padded = "right" if how == "left" else "left"
        if how in ("left", "right") and not _holds_missing(
                sides[padded], {c for s, c in owners.values() if s == padded}):
            return None
        if not (moved["left"] or moved["right"]) or not self._alone(merged, node, inside, ctx):
            return None
        left, right = (_filtered(sides[s], moved[s]) if moved[s] else sides[s]
                       for s in ("left", "right"))
        joined = join_layer(left, right, options, merged.meta, strategy, merged.npartitions)
        joined = joined.substitute(fname=merged.fname)
        if not kept:
            return joined
        same = {c: c for c in merged.meta.columns}
        return node.substitute(args=(joined, rebased(_and(kept), merged, joined, same)))

    @staticmethod
    def _alone(merged: Layer, node: Layer, inside: set, ctx: Context) -> bool:
        """Whether only the filter and its mask read the join (and the mask only the
        filter), so that nothing else needs the join's unfiltered rows."""
        if ctx.is_output(merged) or any(r.name != node.name and r.name not in inside
                                        for r in ctx.dependents(merged)):
            return False
        allowed = inside | {node.name}
        return all(not ctx.is_output(layer) and
                   all(r.name in allowed for r in ctx.dependents(layer))
                   for layer in ctx.plan_layers() if layer.name in inside)


RULES = [FilterThroughMerge()]
