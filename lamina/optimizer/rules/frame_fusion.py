"""Partition-wise fusion: a region of partition-wise frame layers runs as one task per partition.

    MapPartitions[groupby-chunk](MapPartitions[filter](ReadParquet, MapPartitions[gt](...)))
    -> FusedFrame[groupby-chunk, filter, gt, +2]          one task per partition, read included

A frame plan is full of diamonds (``df[df.x > 3]`` reads ``df`` twice: the
filter and the mask's column), so unlike ``blockwise_fusion`` this rule
works from the top of a region: at a partition-wise layer whose result
leaves the region (it is asked for, or read by a layer that is not
partition-wise, such as a tree reduction or a shuffle's split), it gathers every
partition-wise layer and source below it whose readers all lie in the
region, and builds one ``FusedFrame`` (nested ``Fused`` groups; a layer
shared by two paths is computed once per task). Layers read from outside
the region stay layers of their own, so nothing is computed twice. The
projected memory of a task (the region's partitions, estimated from the
sources' row counts and the columns' dtypes, plus its inputs) must stay
under ``fuse_memory_limit``, else the region is left alone and the trace
says why: the same veto as for arrays.
"""

from __future__ import annotations

from lamina.layers.base import Layer
from lamina.layers.frame.fused import FusedFrame
from lamina.layers.frame.partitionwise import MapPartitions
from lamina.layers.frame.sources import FrameSource
from lamina.layers.fused import max_block_bytes
from lamina.optimizer.graph import with_dependencies
from lamina.optimizer.rule import Context, Rule
from lamina.optimizer.rules.blockwise import _inputs_of, _size

MAX_REGION = 256


def _one_to_one(layer: Layer) -> list[Layer]:
    """Dependencies read partition for partition (not broadcast)."""
    if isinstance(layer, MapPartitions):
        return [d for k, d in enumerate(layer.dependencies) if k not in layer.broadcast]
    return []


def _member(layer: Layer, n: int) -> bool:
    return isinstance(layer, (MapPartitions, FrameSource)) and layer.npartitions == n


def _is_top(node: Layer, ctx: Context) -> bool:
    """Whether ``node``'s result leaves its region."""
    if ctx.is_output(node):
        return True
    return any(not (isinstance(r, MapPartitions) and node in _one_to_one(r)
                    and r.npartitions == node.npartitions) for r in ctx.dependents(node))


def region_below(top: Layer, ctx: Context) -> dict[str, Layer]:
    """``top`` and the members below it whose readers all lie in the region."""
    region = {top.name: top}
    grew = True
    while grew and len(region) < MAX_REGION:
        grew = False
        for layer in list(region.values()):
            for dep in _one_to_one(layer):
                if dep.name in region or not _member(dep, top.npartitions) or ctx.is_output(dep):
                    continue
                if all(r.name in region for r in ctx.dependents(dep)):
                    region[dep.name] = dep
                    grew = True
    return region


def _order(region: dict[str, Layer], top: Layer) -> list[Layer]:
    """Members, inputs before readers."""
    out, seen = [], set()
    stack = [(top, False)]
    while stack:
        layer, ready = stack.pop()
        if ready:
            out.append(layer)
            continue
        if layer.name in seen:
            continue
        seen.add(layer.name)
        stack.append((layer, True))
        stack.extend((d, False) for d in layer.dependencies
                     if d.name in region and d.name not in seen)
    return out


class PartitionwiseFusion(Rule):
    """Fuse the partition-wise region under a layer whose result leaves it."""

    phase = "fuse"
    on = ("MapPartitions",)
    wants_original = True

    def apply(self, node: Layer, ctx: Context) -> Layer | None:
        if not _is_top(node, ctx):
            return None
        region = region_below(node, ctx)
        if len(region) < 2:
            return None
        members = _order(region, node)
        outside = {d.name: ctx.rewritten(d) for m in members for d in m.dependencies
                   if d.name not in region}
        held = sum(max_block_bytes(x) for x in outside.values())
        working = sum(max_block_bytes(m) for m in members)
        limit = ctx.options.fuse_memory_limit
        if held + working > limit:
            ctx.note(node, f"not fusing {len(members)} partition-wise layers: projected memory "
                           f"per task {_size(held + working)} exceeds the limit {_size(limit)}")
            return None
        rebuilt: dict[str, Layer] = {}
        built: dict[str, Layer] = {}
        for m in members:
            new = with_dependencies(m, {**outside, **rebuilt})
            rebuilt[m.name] = new
            parts = tuple((d.name, built.get(d.name, d), d.name in built)
                          for d in dict.fromkeys(new.dependencies))
            if not any(absorbed for _, _, absorbed in parts):
                built[new.name] = new
                continue
            inputs, leaves = _inputs_of(list(parts))
            built[new.name] = FusedFrame(new, parts, inputs, leaves, working, False)
        return built[rebuilt[node.name].name]


RULES = [PartitionwiseFusion()]
