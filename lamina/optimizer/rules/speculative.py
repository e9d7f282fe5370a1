"""Speculative-dispatch hints: edges where a consumer may travel with its input.

After fusion, some single-reader chains remain separate layers because
they cannot fuse: a read feeding a partial reduction, the stages of a
tree reduction or of TSQR. For such an edge, producer -> consumer, a
distributed scheduler may send the consumer to the worker that runs the
producer, in the same message, so it starts as soon as its inputs land.
This rule marks the edge (``plan.hints``) when the producer has no other
reader, is not itself a requested result, and each of its blocks feeds at
most one consumer block (checked on a sample of the consumer's blocks)::

    plan = optimize_plan([x.sum().layer])
    plan.hints      # (("fused-…", "partial-sum-…"), ...)

It never changes the plan.
"""

from __future__ import annotations

import numpy as np

from lamina.layers.base import Layer
from lamina.optimizer.rule import Context, Rule

SAMPLE_BLOCKS = 64


def _fan_out_one(consumer: Layer, position: int) -> bool:
    """Whether, on a sample, no producer block feeds two consumer blocks."""
    n = min(consumer.nblocks, SAMPLE_BLOCKS)
    if n == 0:
        return False
    _, flat = consumer.block_deps(np.arange(n, dtype=np.int64))[position]
    return len(flat) > 0 and len(np.unique(flat)) == len(flat)


class SpeculativeHints(Rule):
    """Mark single-reader edges for speculative dispatch (never rewrites)."""

    name = "speculative_hints"
    phase = "hints"
    on = None

    def apply(self, node: Layer, ctx: Context) -> None:
        seen: set[str] = set()
        for position, dep in enumerate(node.dependencies):
            if dep.name in seen:
                continue
            seen.add(dep.name)
            if ctx.n_readers(dep) != 1 or node.dependencies.count(dep) != 1:
                continue
            if _fan_out_one(node, position):
                ctx.hint(dep, node, f"{dep.label()} is read only by {node.label()}, block for "
                                    "block")
        return None


RULES = [SpeculativeHints()]
