"""Join strategy: how each join runs, chosen from the sizes of its sides.

    merge: auto (hash until the optimizer chooses)
    -> merge: broadcast right (right ~25 rows est. from parquet metadata)
    -> merge: aligned (both sides partitioned alike on the index)
    -> merge: hash (left ~6.0M rows est. from parquet metadata, right size unknown)

A join built without a strategy (``lamina.dataframe.merge`` without
``broadcast=`` or ``strategy=``) is chosen here, after pushdown has
settled (its own ``strategy`` phase), so the sizes are those of the
columns and rows the plan really reads:

* ``aligned`` when both sides are joined on their index with equal known
  divisions;
* ``broadcast`` of a side estimated (see ``lamina.layers.frame.sizes``)
  at most ``broadcast_rows`` rows and ``broadcast_bytes`` bytes (the
  smaller one if both are), else of a side with one partition, where the join
  keeps all rows of the other side only (inner: either side; left: the
  right side; right: the left side; outer: never);
* otherwise ``hash``: both sides shuffled by their keys.

The join keeps the partition count it was built with (a broadcast whose
kept side has another count regroups its result by rows). The choice and
its reason are the merge layer's name and a note, both in
``lamina.explain``.
"""

from __future__ import annotations

import math

from lamina.layers.base import Layer
from lamina.layers.frame.join import KEEPS, join_inputs, join_layer, merge_parts
from lamina.layers.frame.sizes import Size, estimate
from lamina.optimizer.registry import Phase, register_phase
from lamina.optimizer.rule import Context, Rule

register_phase(Phase("strategy", "once", "down", order=140))


def _rows(size: Size | None) -> str:
    if size is None:
        return "size unknown"
    rows = size.rows
    text = f"{rows / 1e6:.1f}M" if rows >= 1e6 else f"{rows / 1e3:.1f}k" if rows >= 1e4 \
        else f"{math.ceil(rows)}"
    return f"~{text} rows {'known' if size.basis == 'in memory' else 'est. from ' + size.basis}"


def choose(node: Layer, ctx: Context) -> tuple[str, str]:
    """``(strategy, why)`` for the join ``node``."""
    options, _ = merge_parts(node)
    left, right = join_inputs(node)
    if options.get("left_index") and options.get("right_index") and \
            None not in left.divisions and left.divisions == right.divisions:
        return "aligned", "both sides partitioned alike on the index"
    sizes = {"left": estimate(left), "right": estimate(right)}
    frames = {"left": left, "right": right}
    limits = ctx.options
    candidates = []
    for kept in KEEPS[options.get("how", "inner")]:
        side = "right" if kept == "left" else "left"
        size = sizes[side]
        if size is not None and size.rows <= limits.broadcast_rows and \
                size.nbytes <= limits.broadcast_bytes:
            candidates.append((0, size.nbytes, side, _rows(size)))
        elif frames[side].npartitions == 1:
            candidates.append((1, 0.0, side, f"one partition, {_rows(size)}"))
    if candidates:
        _, _, side, why = min(candidates)
        return f"broadcast-{side}", f"{side} {why}"
    return "hash", f"left {_rows(sizes['left'])}, right {_rows(sizes['right'])}"


class JoinStrategy(Rule):
    """Choose broadcast, aligned or hash for a join from its sides' sizes."""

    phase = "strategy"
    on = ("MapPartitions",)

    def apply(self, node: Layer, ctx: Context) -> Layer | None:
        found = merge_parts(node)
        if found is None or found[1] != "auto" or join_inputs(node) is None:
            return None
        strategy, why = choose(node, ctx)
        left, right = join_inputs(node)
        ctx.note(node, f"merge: {strategy.replace('-', ' ')} ({why})")
        return join_layer(left, right, found[0], node.meta, strategy, node.npartitions, why)


RULES = [JoinStrategy()]
