"""Entry points: optimize layers, a plan with its trace and hints, or collections.

    plan = optimize_plan([y.layer])      # Plan: layers, hints, trace, before
    layers = optimize_layers([y.layer])  # what compute runs (unchanged when disabled)
    (y2,) = optimize(y)                  # lamina.optimize: collections in, collections out

``rules`` and ``options`` default to every registered rule (built-in and
plugins) and the settings in force (``set_options``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Sequence

from lamina.layers.base import Layer, layer_of
from lamina.optimizer.engine import run_phases
from lamina.optimizer.options import Options, updated
from lamina.optimizer.options import options as current_options
from lamina.optimizer.registry import all_rules
from lamina.optimizer.rule import Rule
from lamina.optimizer.trace import Trace


@dataclass(frozen=True)
class Plan:
    """An optimized plan: ``layers`` match ``before`` one to one (same chunks, dtype).

    ``hints`` are plain ``(producer name, consumer name)`` pairs along which
    a scheduler may send the consumer with its input (speculative dispatch);
    the embedded runner ignores them.
    """

    before: tuple[Layer, ...]
    layers: tuple[Layer, ...]
    trace: Trace

    @property
    def hints(self) -> tuple[tuple[str, str], ...]:
        return tuple((h.producer, h.consumer) for h in self.trace.hints)


def _rules_for(opts: Options, rules: Sequence[Rule] | None) -> list[Rule]:
    return list(rules) if rules is not None else all_rules(plugins=opts.plugins)


def optimize_plan(layers: Sequence[Layer], rules: Sequence[Rule] | None = None,
                  options: Options | None = None) -> Plan:
    """Optimize root layers; return the plan with its trace (even when disabled)."""
    opts = options or current_options()
    before = tuple(layers)
    if not opts.enabled or not before:
        return Plan(before, before, Trace())
    roots, trace = run_phases(before, _rules_for(opts, rules), opts)
    return Plan(before, tuple(roots), trace)


def optimize_layers(layers: Sequence[Layer], options: Options | None = None) -> list[Layer]:
    """The optimized root layers, in order; the same layers when the optimizer is off.

    This is what a computation calls: should a rule fail (a broken plugin,
    say), it warns with the error and returns the layers unoptimized, so
    the computation still runs. ``optimize_plan`` raises instead.
    """
    try:
        return list(optimize_plan(layers, options=options).layers)
    except Exception as exc:
        warnings.warn(f"the optimizer failed ({type(exc).__name__}: {exc}); computing the "
                      "plan unoptimized", RuntimeWarning, stacklevel=2)
        return list(layers)


def optimize(*collections: Any, **changes: Any) -> tuple[Any, ...]:
    """``lamina.optimize``: collections with optimized expressions, in order.

    Anything that is not a lamina collection is returned unchanged; keyword
    arguments are optimizer options for this call, e.g.
    ``optimize(x, disabled_rules={"blockwise_fusion"})``.
    """
    is_collection = [not isinstance(c, Layer) and layer_of(c) is not None for c in collections]
    opts = updated(current_options(), **changes)
    plan = optimize_plan([c.layer for c, yes in zip(collections, is_collection) if yes],
                         options=opts)
    out = iter(plan.layers)
    return tuple(type(c)(next(out)) if yes else c for c, yes in zip(collections, is_collection))
