"""The traversal engine: passes, batches, memo, trace. It knows no rule.

    roots, trace = run_phases([x.layer], rules, options())

A *pass* visits every layer of the plan once (a subtree shared by several
readers is one layer, memoized by name) and offers it to the rules of the
phase that look at its type. A top-down pass rewrites a layer before its
inputs, so a selection pushed below a layer is met again one level down in
the same pass; a bottom-up pass rewrites the inputs first, so a layer sees
its already rewritten inputs. At one layer the rules are applied until
none fires. A ``once`` phase runs one pass; a ``fixpoint`` phase repeats
passes until one changes nothing, and stops with an ``OptimizerError``
naming the rules involved when a plan comes back that it had already
produced (the rules undo each other). Every rewrite must keep the layer's
chunks and dtype; a rule that breaks this is named in an ``OptimizerError``.

The cyclic garbage collector is paused while the phases run: the engine
makes many small objects and no cycles, and collections triggered by them
would make the time grow faster than the plan.
"""

from __future__ import annotations

import gc
import time
import warnings
from functools import cached_property
from typing import Sequence

from lamina.layers.base import Layer
from lamina.layers.walk import topological
from lamina.optimizer.graph import dependents_map, with_dependencies
from lamina.optimizer.options import Options
from lamina.optimizer.registry import Phase, phases
from lamina.optimizer.rule import Context, Rule
from lamina.optimizer.trace import Rewrite, RuleStats, Trace

MAX_REWRITES_PER_NODE = 64


class OptimizerError(RuntimeError):
    """A rule broke the plan, or rules undo each other without end."""


class _Dispatch:
    """Rules of one phase by layer type, with their stats, cached per type."""

    def __init__(self, rules: Sequence[Rule], trace: Trace) -> None:
        self.entries = [(r, r.types, trace.stat(r.name)) for r in rules]
        self.cache: dict[type, list[tuple[Rule, RuleStats]]] = {}

    def __call__(self, cls: type) -> list[tuple[Rule, RuleStats]]:
        found = self.cache.get(cls)
        if found is None:
            names = {c.__name__ for c in cls.__mro__}
            found = [(r, s) for r, types, s in self.entries if types is None or types & names]
            self.cache[cls] = found
        return found


class _Pass:
    """State of one pass: the context rules see, and the rewrite loop."""

    def __init__(self, roots: Sequence[Layer], phase: Phase, dispatch: _Dispatch,
                 options: Options, trace: Trace) -> None:
        self.roots = list(roots)
        self.origin: dict[str, str] = {}
        self.memo: dict[str, Layer] = {}
        self.ctx = Context(phase.name, options, trace, self.readers, {r.name for r in roots},
                           self.origin, self.memo, layers=lambda: self.order)
        self.phase = phase
        self.dispatch = dispatch
        self.trace = trace

    @cached_property
    def order(self) -> list[Layer]:
        return topological(self.roots)

    @cached_property
    def _readers(self) -> dict[str, list[Layer]]:
        return dependents_map(self.order)

    def readers(self) -> dict[str, list[Layer]]:
        """Who reads each layer of the plan the pass started from (made on first use)."""
        return self._readers

    def close(self) -> None:
        """Break the pass <-> context cycle, so that the layers it saw go when the
        plan does (a persisted block is released on ``del``, not at the next
        cyclic collection)."""
        self.ctx = None
        self.__dict__.pop("order", None)
        self.__dict__.pop("_readers", None)

    def derived(self, new: Layer, old: Layer) -> None:
        """Remember that ``new`` stands for ``old`` (for ``ctx.dependents``)."""
        if new.name not in self.origin:
            self.origin[new.name] = self.origin.get(old.name, old.name)

    def rewrite(self, node: Layer, memo: dict[str, Layer] | None = None) -> Layer:
        """Apply the phase's rules at ``node`` until none fires.

        With ``memo`` (bottom-up), ``node`` still reads its original inputs:
        it is rebuilt over their rewritten versions before the first rule
        that does not ask for the original (``Rule.wants_original``).
        """
        ctx, fired = self.ctx, []
        pending = memo is not None
        while True:
            for r, stats in self.dispatch(type(node)):
                if pending and not r.wants_original:
                    node, pending = self.rebuild(node, memo), False
                ctx.rule = r
                start = time.perf_counter()
                out = r.apply(node, ctx)
                seconds = time.perf_counter() - start
                stats.calls += 1
                stats.seconds += seconds
                if out is None or out is node or out.name == node.name:
                    continue
                _check_rewrite(r, node, out)
                stats.fired += 1
                self.trace.rewrites.append(Rewrite(r.name, self.phase.name, node, out, seconds))
                self.trace.lineage.append((r.name, node, out))
                self.derived(out, node)
                fired.append(r.name)
                if len(fired) > MAX_REWRITES_PER_NODE:
                    raise OptimizerError(
                        f"rules {sorted(set(fired))} rewrote one layer more than "
                        f"{MAX_REWRITES_PER_NODE} times in phase {self.phase.name!r}: they undo "
                        "each other; switch one off with set_options(disabled_rules=...)")
                node, pending = out, False
                break
            else:
                return self.rebuild(node, memo) if pending else node

    def rebuild(self, node: Layer, memo: dict[str, Layer]) -> Layer:
        mapping = {}
        for dep in node.dependencies:
            new = memo[dep.name]
            if new.name != dep.name:
                mapping[dep.name] = new
        if not mapping:
            return node
        new = with_dependencies(node, mapping)
        self.derived(new, node)
        self.trace.lineage.append(("", node, new))
        return new

    def up(self, roots: Sequence[Layer]) -> list[Layer]:
        memo = self.memo
        for layer in self.order:
            memo[layer.name] = self.rewrite(layer, memo)
        return [memo[r.name] for r in roots]

    def down(self, roots: Sequence[Layer]) -> list[Layer]:
        memo = self.memo
        stack: list[list] = [[r, None] for r in reversed(roots)]
        while stack:
            frame = stack[-1]
            original, current = frame
            if current is None:
                if original.name in memo:
                    stack.pop()
                    continue
                current = frame[1] = self.rewrite(original)
                if current.name in memo:
                    memo[original.name] = memo[current.name]
                    stack.pop()
                    continue
                pending = []
                for dep in current.dependencies:
                    if dep.name not in memo and all(dep.name != p.name for p in pending):
                        pending.append(dep)
                stack.extend([d, None] for d in reversed(pending))
                continue
            stack.pop()
            new = self.rebuild(current, memo)
            memo[original.name] = memo[current.name] = new
        return [memo[r.name] for r in roots]


def _check_rewrite(r: Rule, before: Layer, after: Layer) -> None:
    if not isinstance(after, Layer):
        raise OptimizerError(f"rule {r.name!r} returned {type(after).__name__}, not a Layer "
                             "or None")
    if after.chunks != before.chunks or after.dtype != before.dtype:
        raise OptimizerError(
            f"rule {r.name!r} rewrote {before.label()} (chunks {_brief(before.chunks)}, dtype "
            f"{before.dtype}) into {after.label()} (chunks {_brief(after.chunks)}, dtype "
            f"{after.dtype}): a rewrite must keep chunks and dtype")


def _brief(chunks: tuple) -> str:
    text = repr(chunks)
    return text if len(text) < 80 else text[:77] + "..."


def run_phase(roots: Sequence[Layer], phase: Phase, rules: Sequence[Rule], options: Options,
              trace: Trace) -> list[Layer]:
    """Run one phase's rules over the plan: one pass, or passes to a fixpoint."""
    dispatch = _Dispatch(rules, trace)
    roots = list(roots)
    seen = {tuple(r.name for r in roots): 0}
    fired_at: list[int] = [len(trace.rewrites)]
    limit = 1 if phase.strategy == "once" else max(int(options.max_iterations), 1)
    for iteration in range(1, limit + 1):
        trace.iterations[phase.name] = iteration
        state = _Pass(roots, phase, dispatch, options, trace)
        before = len(trace.rewrites)
        try:
            roots = state.down(roots) if phase.direction == "down" else state.up(roots)
        finally:
            state.close()
        fired_at.append(len(trace.rewrites))
        if phase.strategy == "once" or len(trace.rewrites) == before:
            return roots
        signature = tuple(r.name for r in roots)
        if signature in seen:
            names = sorted({w.rule for w in trace.rewrites[fired_at[seen[signature]]:]})
            raise OptimizerError(
                f"phase {phase.name!r} produced the same plan twice (passes {seen[signature]} "
                f"and {iteration}): rules {names} undo each other; switch one off with "
                "set_options(disabled_rules=...)")
        seen[signature] = iteration
    warnings.warn(f"optimizer phase {phase.name!r} did not settle in {limit} passes; using the "
                  "plan as it stands (raise max_iterations with set_options)", RuntimeWarning,
                  stacklevel=3)
    return roots


def run_phases(roots: Sequence[Layer], rules: Sequence[Rule], options: Options,
               trace: Trace | None = None) -> tuple[list[Layer], Trace]:
    """Run every phase, in order, with the rules registered into it."""
    trace = trace if trace is not None else Trace()
    start = time.perf_counter()
    roots = list(roots)
    disabled = options.disabled_rules
    collecting = gc.isenabled()
    gc.disable()
    try:
        for phase in phases():
            mine = [r for r in rules if r.phase == phase.name and r.name not in disabled]
            if mine:
                roots = run_phase(roots, phase, mine, options, trace)
    finally:
        if collecting:
            gc.enable()
    trace.seconds += time.perf_counter() - start
    return roots, trace
