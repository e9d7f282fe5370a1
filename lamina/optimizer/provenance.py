"""Which rules made each layer of an optimized plan.

    plan = optimize_plan([y.layer])
    rules_per_layer(plan)
    # {"fused-3b1…": ("slice_through_elementwise", "blockwise_fusion"), "sum-9c2…": (), ...}

A layer of the optimized plan is credited with every rule whose rewrite
made it, and with the rules credited to the layers that rewrite replaced:
a fusion's result keeps the rules that shaped what it fused. A layer only
rebuilt over rewritten inputs keeps its own credit and gains none. This is
what ``lamina.explain`` prints beside each node and what the dashboard and
the report draw on the plan graph.

The work is local to each rewrite (the layers it made and the layers it
dropped), read from the trace's ``lineage`` after the optimizer is done,
so optimizing costs nothing more. Whether a dropped layer is still read
through another path is looked for among a few layers only (a multiple of
the rewrite's size); one found no nearer counts as replaced.
"""

from __future__ import annotations

from typing import Iterable

from lamina.layers.base import Layer
from lamina.layers.walk import topological
from lamina.optimizer.pipeline import Plan

SEARCH_FACTOR = 4


def rules_per_layer(plan: Plan) -> dict[str, tuple[str, ...]]:
    """Rule names, in the order they first fired, for each layer of the optimized
    plan (by layer name, inputs before readers)."""
    known = {layer.name for layer in topological(plan.before)}
    credit: dict[str, dict[str, None]] = {}
    carried: dict[str, dict[str, None]] = {}      # what a replaced layer passed on
    for rule, old, new in plan.trace.lineage:
        if not rule:
            if old.name in credit:
                credit.setdefault(new.name, {}).update(credit[old.name])
            known.add(new.name)
            continue
        made, boundary = _made(new, known)
        gained: dict[str, None] = {}
        gone = _gone(old, {n.name for n in made}, boundary, credit, carried)
        for name in gone:
            gained.update(carried.get(name) or credit.get(name, {}))
        gained[rule] = None
        for layer in made or [new]:
            credit.setdefault(layer.name, {}).update(gained)
        for name in gone:
            carried[name] = gained
        known.update(n.name for n in made)
    return {layer.name: tuple(credit.get(layer.name, ()))
            for layer in topological(plan.layers)}


def _made(new: Layer, known: set[str]) -> tuple[list[Layer], dict[str, Layer]]:
    """The layers a rewrite created (under ``new``, not seen before) and the known
    layers they read, by name (where the rewritten region ends)."""
    if new.name in known:
        return [], {new.name: new}
    made, boundary, seen, stack = [], {}, {new.name}, [new]
    while stack:
        layer = stack.pop()
        made.append(layer)
        for dep in layer.dependencies:
            if dep.name in known:
                boundary.setdefault(dep.name, dep)
            elif dep.name not in seen:
                seen.add(dep.name)
                stack.append(dep)
    return made, boundary


def _gone(old: Layer, made: set[str], boundary: dict[str, Layer],
          credit: dict[str, dict[str, None]], carried: dict[str, dict[str, None]]) -> list[str]:
    """The layers a rewrite dropped: ``old`` and what lies under it down to the
    layers the new region reads, less any of them the new region still reaches.
    A layer replaced before is not walked again: it carries what it passed on
    then (a rule that reads a layer's original inputs would otherwise walk the
    whole plan below at each rewrite)."""
    if old.name in made or old.name in boundary:
        return []
    order, seen, stack = [], {old.name}, [old]
    while stack:
        layer = stack.pop()
        order.append(layer.name)
        if layer is not old and layer.name in carried:
            continue
        for dep in layer.dependencies:
            if dep.name not in boundary and dep.name not in made and dep.name not in seen:
                seen.add(dep.name)
                stack.append(dep)
    doubtful = {name for name in order[1:] if credit.get(name)}
    if not doubtful:
        return order
    kept = _reachable(boundary.values(), doubtful, budget=SEARCH_FACTOR * len(order) + 64)
    return [name for name in order if name not in kept]


def _reachable(starts: Iterable[Layer], targets: set[str], budget: int) -> set[str]:
    """Which of ``targets`` lie at or under the ``starts``, looking at no more than
    ``budget`` layers (a rewrite is local; a deep plan must not make each one cost
    the whole plan): what is not found in time counts as replaced."""
    found: set[str] = set()
    seen: set[str] = set()
    stack = list(starts)
    while stack and len(found) < len(targets) and len(seen) < budget:
        layer = stack.pop()
        if layer.name in seen:
            continue
        seen.add(layer.name)
        if layer.name in targets:
            found.add(layer.name)
        stack.extend(layer.dependencies)
    return found
