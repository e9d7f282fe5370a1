"""What the optimizer did: every rewrite, every refusal, every hint.

    plan = optimize_plan([x.layer])
    for step in plan.trace.rewrites:
        print(step.rule, step.before.label(), "->", step.after.label(), step.seconds)
    plan.trace.stats["blockwise_fusion"]     # RuleStats(calls=.., fired=.., seconds=..)
    plan.trace.notes                         # why fusions were refused
    rules_per_layer(plan)                    # which rules made each layer (provenance)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lamina.layers.base import Layer


@dataclass(frozen=True)
class Rewrite:
    """One rule application that changed the plan."""

    rule: str
    phase: str
    before: Layer
    after: Layer
    seconds: float


@dataclass(frozen=True)
class Note:
    """A rule's reason for leaving a node as it is (e.g. a refused fusion)."""

    rule: str
    phase: str
    node: Layer
    message: str


@dataclass(frozen=True)
class Hint:
    """An edge along which a scheduler may send the consumer with its input."""

    rule: str
    producer: str
    consumer: str
    reason: str


@dataclass
class RuleStats:
    calls: int = 0
    fired: int = 0
    seconds: float = 0.0


@dataclass
class Trace:
    """The record of one optimization."""

    rewrites: list[Rewrite] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    hints: list[Hint] = field(default_factory=list)
    stats: dict[str, RuleStats] = field(default_factory=dict)
    iterations: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    lineage: list[tuple[str, Layer, Layer]] = field(default_factory=list)
    """Every layer that replaced another, in order: ``(rule, old, new)``, with rule
    ``""`` where a layer was only rebuilt over rewritten inputs (``provenance``)."""

    def stat(self, rule: str) -> RuleStats:
        s = self.stats.get(rule)
        if s is None:
            s = self.stats[rule] = RuleStats()
        return s

    def note(self, rule: str, phase: str, node: Layer, message: str) -> None:
        self.notes.append(Note(rule, phase, node, message))

    def hint(self, rule: str, producer: Layer, consumer: Layer, reason: str) -> None:
        self.hints.append(Hint(rule, producer.name, consumer.name, reason))

    def fired(self) -> dict[str, RuleStats]:
        """Stats of the rules that changed something, most used first."""
        return dict(sorted(((k, v) for k, v in self.stats.items() if v.fired),
                           key=lambda kv: -kv[1].fired))
