"""``lamina.explain``: what the optimizer did to an expression, in words.

    >>> print(lamina.explain((x + 1)[0, :5]))
    plan before: 3 layers, 3 tasks
      BasicSlice  shape=(5,) chunks=(5,) float64  1 block
      └─ Blockwise[add]  shape=(100000, 100000) chunks=(100, 100) float64  1000000 blocks
         └─ Full  shape=(100000, 100000) chunks=(100, 100) float64  1000000 blocks
    plan after: 1 layer, 1 task
      Fused[Blockwise[add], Full]  shape=(5,) chunks=(5,) float64  1 block  rules: ...
    rules fired (count, time):
      slice_through_elementwise  1  0.15 ms
      ...

Each layer of the plan after names the rules that made it
(``slice_through_elementwise, slice_into_source, blockwise_fusion`` above;
see ``lamina.optimizer.provenance``).
Task counts come from the real (demand-driven) lowering, so they are the
tasks a computation of the expression would run. This module sits above the
optimizer and the scheduler, beside ``lamina.compute``, because it uses both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from lamina.layers.base import Layer, layer_of
from lamina.layers.walk import topological
from lamina.optimizer.pipeline import Plan, optimize_plan
from lamina.optimizer.provenance import rules_per_layer
from lamina.scheduler.lowering import lower

LOWERING_LIMIT = 20_000_000


@dataclass(frozen=True)
class Explanation:
    """The plan before and after, the rules that fired, notes, hints and task counts."""

    plan: Plan
    tasks_before: int | None
    tasks_after: int | None

    def __str__(self) -> str:
        trace = self.plan.trace
        lines = [f"plan before: {_count(self.plan.before, 'layer')}, "
                 f"{_tasks(self.tasks_before)}"]
        lines += render(self.plan.before, indent="  ")
        lines.append(f"plan after: {_count(self.plan.layers, 'layer')}, "
                     f"{_tasks(self.tasks_after)}")
        lines += render(self.plan.layers, indent="  ", rules=self.rules_per_layer())
        fired = trace.fired()
        lines.append("rules fired (count, time):" if fired else "rules fired: none")
        width = max((len(n) for n in fired), default=0)
        for name, stats in fired.items():
            lines.append(f"  {name:<{width}}  {stats.fired}  {stats.seconds * 1e3:.2f} ms")
        if trace.notes:
            lines.append("notes:")
            lines += [f"  {n.rule}: {n.message}" for n in trace.notes[:20]]
            if len(trace.notes) > 20:
                lines.append(f"  ... {len(trace.notes) - 20} more")
        if trace.hints:
            lines.append("dispatched ahead on a cluster (speculative-dispatch hints: each "
                         "consumer block goes to its producer's worker with it):")
            lines += self.ahead_edges()[:20]
            if len(trace.hints) > 20:
                lines.append(f"  ... {len(trace.hints) - 20} more")
        lines.append(f"optimizer time: {trace.seconds * 1e3:.2f} ms")
        return "\n".join(lines)

    def rules_per_layer(self) -> dict[str, tuple[str, ...]]:
        """The rules that made each layer of the optimized plan, by layer name."""
        return rules_per_layer(self.plan)

    def ahead_edges(self) -> list[str]:
        """One line per hinted edge: producer -> consumer, by label and name."""
        by_name = {layer.name: layer for layer in topological(self.plan.layers)}
        lines = []
        for h in self.plan.trace.hints:
            producer, consumer = by_name.get(h.producer), by_name.get(h.consumer)
            if producer is None or consumer is None:
                continue
            lines.append(f"  {producer.label()} -> {consumer.label()}  "
                         f"({consumer.nblocks} block{'s' if consumer.nblocks != 1 else ''}; "
                         f"{h.producer[:24]} -> {h.consumer[:24]})")
        return lines

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def explain(*collections: Any) -> Explanation:
    """Optimize ``collections`` and describe the plans before and after."""
    layers = [layer_of(c) for c in collections]
    if any(x is None for x in layers):
        raise TypeError("explain takes lamina collections (or layers)")
    plan = optimize_plan(layers)
    return Explanation(plan, count_tasks(plan.before), count_tasks(plan.layers))


def count_tasks(roots: Sequence[Layer]) -> int | None:
    """Tasks the lowering makes for ``roots`` (None when it would be too large to count)."""
    if not roots:
        return 0
    if sum(r.nblocks for r in roots) > LOWERING_LIMIT:
        return None
    return lower(list(roots)).n_tasks


def describe(layer: Layer) -> str:
    """One line about a layer: label, shape, block size, dtype, number of blocks."""
    chunksize = tuple(max(c) if c else 0 for c in layer.chunks)
    blocks = layer.nblocks
    return (f"{layer.label()}  shape={layer.shape} chunks={chunksize} {layer.dtype}  "
            f"{blocks} block{'s' if blocks != 1 else ''}")


def render(roots: Sequence[Layer], indent: str = "",
           rules: dict[str, tuple[str, ...]] | None = None) -> list[str]:
    """The plan as an indented tree; a layer shared by several readers is shown once.

    ``rules``: rule names per layer name, shown after each layer that has some.
    """
    lines: list[str] = []
    shown: set[str] = set()
    stack: list[tuple[Layer, str, str]] = [(r, "", "") for r in reversed(roots)]
    while stack:
        layer, lead, branch = stack.pop()
        if layer.name in shown:
            lines.append(f"{indent}{lead}{branch}(shared) {layer.label()}")
            continue
        shown.add(layer.name)
        made_by = (rules or {}).get(layer.name)
        lines.append(f"{indent}{lead}{branch}{describe(layer)}"
                     + (f"  rules: {', '.join(made_by)}" if made_by else ""))
        child_lead = lead + ("   " if branch == "└─ " else "│  " if branch else "")
        deps = list(dict.fromkeys(layer.dependencies))
        for i, dep in reversed(list(enumerate(deps))):
            stack.append((dep, child_lead, "└─ " if i == len(deps) - 1 else "├─ "))
    return lines


def _count(layers: Sequence[Layer], word: str) -> str:
    n = len(topological(layers))
    return f"{n} {word}{'s' if n != 1 else ''}"


def _tasks(n: int | None) -> str:
    if n is None:
        return "too many tasks to count"
    return f"{n} task{'s' if n != 1 else ''}"
