"""``head`` culling: a head over partition-wise steps reads only the partitions it needs.

    Regroup[head](0, k)(filter(read(n partitions)))   ->   Regroup[head](0, k)(filter(read(k)))

A ``Regroup`` with one output partition that reads partitions ``a:b`` of a
plan made only of partition-wise layers (``MapPartitions``: filters,
projections, arithmetic; reduction results they broadcast are kept whole)
over sources that can be cut (a parquet read, an in-memory frame) is
rewritten over the same steps on those partitions alone. The lowering
already runs only the needed tasks; cutting also keeps the plan, its
tokens and what travels to a cluster at ``b - a`` partitions, and lets
every later rule work on the small plan. ``head`` grows the range on
demand when the partitions read hold fewer rows than asked for
(``lamina.dataframe``), so the result is pandas' ``head``.
"""

from __future__ import annotations

import numpy as np

from lamina.layers.base import Layer
from lamina.layers.frame.parquet import ReadParquet
from lamina.layers.frame.partitionwise import MapPartitions
from lamina.layers.frame.sources import FromPandas
from lamina.optimizer.rule import Context, Rule

MAX_STEPS = 64


def _frame_deps(layer: MapPartitions) -> list[Layer]:
    return [d for k, d in enumerate(layer.dependencies) if k not in layer.broadcast]


def _cut_source(layer: Layer, a: int, b: int) -> Layer | None:
    if isinstance(layer, ReadParquet):
        return layer.with_partitions(np.arange(a, b))
    if isinstance(layer, FromPandas):
        return layer.substitute(bounds=tuple(layer.bounds[a:b + 1]),
                                divisions_=tuple(layer.divisions_[a:b + 1]))
    return None


def _region(top: Layer, ctx: Context, root: Layer) -> list[Layer] | None:
    """The partition-wise layers under ``root`` down to sources, if each is read only
    from within (else the cut would compute its first partitions twice)."""
    found: dict[str, Layer] = {}
    stack = [top]
    while stack:
        layer = stack.pop()
        if layer.name in found:
            continue
        if len(found) >= MAX_STEPS:
            return None
        found[layer.name] = layer
        if isinstance(layer, MapPartitions):
            stack.extend(_frame_deps(layer))
        elif not isinstance(layer, (ReadParquet, FromPandas)):
            return None
    inside = set(found) | {root.name}
    for layer in found.values():
        if ctx.is_output(layer) or any(r.name not in inside for r in ctx.dependents(layer)):
            return None
    return list(found.values())


class HeadCull(Rule):
    """Cut the partition-wise plan under a one-partition Regroup to the partitions it reads."""

    phase = "simplify"
    on = ("Regroup",)

    def apply(self, node: Layer, ctx: Context) -> Layer | None:
        if len(node.bounds) != 2:
            return None
        a, b = int(node.bounds[0]), int(node.bounds[1])
        top = node.x
        if (a, b) == (0, top.npartitions) or b <= a or not isinstance(top, MapPartitions):
            return None
        if _region(top, ctx, node) is None:
            return None
        memo: dict[str, Layer | None] = {}

        def cut(layer: Layer) -> Layer | None:
            if layer.name in memo:
                return memo[layer.name]
            if not isinstance(layer, MapPartitions):
                out = _cut_source(layer, a, b)
            else:
                args = []
                for arg in layer.args:
                    if isinstance(arg, Layer) and arg in _frame_deps(layer):
                        arg = cut(arg)
                        if arg is None:
                            return None
                    args.append(arg)
                divisions = layer.divisions_
                out = layer.substitute(args=tuple(args), divisions_=tuple(divisions[a:b + 1])
                                       if divisions is not None else None)
            memo[layer.name] = out
            return out

        new_top = cut(top)
        if new_top is None:
            return None
        return node.substitute(x=new_top, bounds=(0, b - a))


RULES = [HeadCull()]
