"""The optimizer engine: traversal, memo, batches, fixpoint, errors, trace, options."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

import lamina.array as la
import lamina.optimizer as lo
from lamina.layers.blockwise import Blockwise
from lamina.layers.walk import topological
from lamina.optimizer.engine import run_phase, run_phases
from lamina.optimizer.graph import with_dependencies
from lamina.optimizer.registry import Phase
from lamina.optimizer.trace import Trace
from lamina.testing import raw_compute


def test_a_shared_subtree_is_offered_to_rules_once_per_pass():
    x = la.ones((4, 4), chunks=2)
    shared = np.sin(x)
    y = (shared + 1) * (shared - 1) + shared
    seen: list[str] = []

    @lo.rule(phase="simplify", on="Blockwise")
    def record(node, ctx):
        seen.append(node.name)
        return None

    run_phase([y.layer], Phase("simplify", "once", "down"), [record], lo.Options(), Trace())
    assert len(seen) == len(set(seen)) == 5


def test_top_down_offers_a_layer_before_its_inputs_and_bottom_up_after():
    x = la.ones((4,), chunks=2)
    y = np.cos(np.sin(x))
    for direction, expected in (("down", ["cos", "sin"]), ("up", ["sin", "cos"])):
        order: list[str] = []

        @lo.rule(phase="simplify", on="Blockwise")
        def record(node, ctx):
            order.append(node.fname)
            return None

        run_phase([y.layer], Phase("p", "once", direction), [record], lo.Options(), Trace())
        assert order == expected


def test_a_top_down_rewrite_is_followed_into_the_new_inputs_in_the_same_pass():
    x = la.from_array(np.arange(40.0), chunks=5)
    y = (((x + 1) * 2) - 3)[4:9]
    trace = Trace()
    rules = [lo.get_rule("slice_through_elementwise"), lo.get_rule("slice_fusion")]
    (out,), trace = run_phases([y.layer], rules, lo.Options(), trace)
    assert trace.iterations["simplify"] == 2  # one pass rewrites, one confirms the fixpoint
    expected = ((x[4:9] + 1) * 2) - 3
    assert out == expected.layer


def test_a_once_batch_runs_one_pass_and_a_fixpoint_batch_runs_until_nothing_changes():
    x = la.from_array(np.arange(40.0), chunks=5)
    y = ((x + 1) * 2)[3:9]
    push = lo.get_rule("slice_through_elementwise")
    once = Trace()
    (after_once,) = run_phase([y.layer], Phase("p", "once", "up"), [push], lo.Options(), once)
    fixed = Trace()
    (after_fixpoint,) = run_phase([y.layer], Phase("p", "fixpoint", "up"), [push], lo.Options(),
                                  fixed)
    assert once.iterations["p"] == 1 and len(once.rewrites) == 1
    assert after_fixpoint == ((x[3:9] + 1) * 2).layer != after_once
    assert fixed.iterations["p"] == 3


def _negative_of_negative(node, ctx):
    arg = node.args[0]
    if node.fname == "negative" and isinstance(arg, Blockwise) and arg.fname == "negative":
        return arg.args[0]
    return None


def test_rules_that_undo_each_other_across_passes_stop_with_an_error_naming_them():
    x = la.ones((4,), chunks=2)
    y = np.sin(x)

    @lo.rule(phase="simplify", on="Blockwise")
    def wrap(node, ctx):
        arg = node.args[0]
        if node.fname == "sin" and not (isinstance(arg, Blockwise) and arg.fname == "negative"):
            twice = np.negative(np.negative(la.Array(arg)))
            return node.substitute(args=(twice.layer,))
        return None

    unwrap = lo.rule("unwrap", phase="simplify", on="Blockwise")(_negative_of_negative)
    with pytest.raises(lo.OptimizerError, match="wrap.*unwrap|unwrap.*wrap"):
        run_phase([y.layer], Phase("osc", "fixpoint", "up"), [wrap, unwrap], lo.Options(),
                  Trace())


def test_rules_that_undo_each_other_at_one_layer_stop_with_an_error():
    x = la.ones((4,), chunks=2)
    y = la.ones((4,), chunks=2) * 3 + x

    @lo.rule(phase="simplify", on="Blockwise")
    def flip(node, ctx):
        if node.fname == "add":
            return node.substitute(args=node.args[::-1], arg_axes=node.arg_axes[::-1])
        return None

    with pytest.raises(lo.OptimizerError, match="flip"):
        run_phase([y.layer], Phase("simplify", "fixpoint", "down"), [flip], lo.Options(),
                  Trace())


def test_a_rule_that_changes_chunks_is_named_in_an_error():
    x = la.ones((8,), chunks=2)

    @lo.rule(phase="simplify", on="Blockwise")
    def breaks_chunks(node, ctx):
        return node.args[0].__class__(node.args[0].shape_, ((4, 4),), node.dtype, 1.0)

    with pytest.raises(lo.OptimizerError, match="breaks_chunks.*keep chunks and dtype"):
        run_phases([(x + 1).layer], [breaks_chunks], lo.Options())


def test_a_phase_that_does_not_settle_warns_and_keeps_the_plan():
    x = la.ones((4,), chunks=2)
    y = x + 0
    counter = iter(range(1000))

    @lo.rule(phase="simplify", on="Blockwise")
    def grow(node, ctx):
        if node.fname == "add" and next(counter) % 2 == 0:
            return node.substitute(args=(node.args[0], node.args[1] + 1))
        return None

    with pytest.warns(RuntimeWarning, match="did not settle"):
        (out,), _ = run_phases([y.layer], [grow], lo.Options(max_iterations=3))
    assert out.shape == (4,)


def test_every_rewrite_is_in_the_trace_with_before_after_and_time():
    x = la.from_array(np.arange(30.0), chunks=4)
    plan = lo.optimize_plan([(x + 1)[3:7].layer])
    names = [w.rule for w in plan.trace.rewrites]
    assert names == ["slice_through_elementwise", "slice_into_source", "blockwise_fusion"]
    for step in plan.trace.rewrites:
        assert step.before.chunks == step.after.chunks and step.seconds >= 0
    stats = plan.trace.stats["slice_through_elementwise"]
    assert stats.fired == 1 and stats.calls >= 1 and stats.seconds > 0


def test_rules_see_readers_and_outputs_through_the_context():
    x = la.ones((4,), chunks=2)
    a = np.sin(x)
    b = a + 1
    found = {}

    @lo.rule(phase="simplify", on="Blockwise")
    def look(node, ctx):
        found[node.fname] = (ctx.n_readers(node), ctx.is_output(node),
                             [d.label() for d in ctx.dependents(node)])
        return None

    run_phases([b.layer, a.layer], [look], lo.Options())
    assert found["sin"] == (2, True, ["Blockwise[add]"])
    assert found["add"] == (1, True, [])


def test_a_rule_switched_off_by_name_does_not_run():
    x = la.ones((10, 10), chunks=5)
    y = (x + 1)[2]
    with lo.set_options(disabled_rules={"slice_through_elementwise"}):
        plan = lo.optimize_plan([y.layer])
    assert "slice_through_elementwise" not in {w.rule for w in plan.trace.rewrites}
    assert "slice_through_elementwise" in {w.rule for w in lo.optimize_plan([y.layer])
                                           .trace.rewrites}


def test_the_optimizer_switched_off_returns_the_same_layers():
    x = la.ones((10, 10), chunks=5)
    y = (x + 1)[2]
    with lo.set_options(enabled=False):
        assert lo.optimize_layers([y.layer]) == [y.layer]
    assert lo.optimize_layers([y.layer]) != [y.layer]


def test_a_failing_rule_leaves_a_computation_unoptimized_with_a_warning():
    @lo.rule("always_fails", phase="simplify", on="Blockwise")
    def always_fails(node, ctx):
        raise ZeroDivisionError("bug in a rule")

    x = la.ones((4,), chunks=2)
    y = (x + 1).layer
    lo.register(always_fails)
    try:
        with pytest.warns(RuntimeWarning, match="ZeroDivisionError: bug in a rule"):
            assert lo.optimize_layers([y]) == [y]
        with pytest.raises(ZeroDivisionError):
            lo.optimize_plan([y])
    finally:
        lo.unregister("always_fails")


def test_unknown_options_are_refused_with_the_known_names():
    with pytest.raises(TypeError, match="unknown optimizer options.*fuse_memory_limit"):
        lo.set_options(fuse_memory_limt=10)


def test_optimize_returns_collections_in_order_and_passes_other_values_through():
    x = la.from_array(np.arange(20.0), chunks=4)
    y = (x * 2)[3:9]
    out = lo.optimize(y, 5, x, disabled_rules={"blockwise_fusion"})
    assert isinstance(out[0], la.Array) and out[1] == 5 and isinstance(out[2], la.Array)
    np.testing.assert_array_equal(raw_compute(out[0]), (np.arange(20.0) * 2)[3:9])
    assert out[0].chunks == y.chunks


def test_a_ten_thousand_layer_chain_needs_no_deep_recursion():
    x = la.ones((6,), chunks=2)
    y = x
    for i in range(10_000):
        y = y + 1 if i % 2 else y * 1
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(400)
    try:
        plan = lo.optimize_plan([y.layer])
    finally:
        sys.setrecursionlimit(limit)
    assert isinstance(plan.layers[0], lo.Fused) and plan.layers[0].chunks == y.chunks


def test_optimizing_a_chain_does_work_linear_in_its_length():
    """Rule calls, rewrites and fixpoint rounds, not seconds: the timing is in
    benchmarks/bench_optimizer.py (scaling table)."""
    def chain(n):
        y = la.from_array(np.zeros((100, 100)), chunks=10)
        for i in range(n):
            y = y[::-1] if i % 4 == 0 else (y + 1 if i % 4 == 1 else y * 2)
        return y

    def work(n):
        trace = lo.optimize_plan([chain(n).layer]).trace
        return (sum(s.calls for s in trace.stats.values()), len(trace.rewrites),
                sum(trace.iterations.values()))

    (calls_small, rewrites_small, rounds_small) = work(250)
    (calls_large, rewrites_large, rounds_large) = work(1000)
    assert rounds_large == rounds_small
    assert 0 < calls_small and calls_large <= 4 * calls_small + 10
    assert 0 < rewrites_small and rewrites_large <= 4 * rewrites_small + 10


def test_with_dependencies_rebuilds_layers_held_in_tuples():
    a = la.ones((4,), chunks=2)
    b = la.zeros((4,), chunks=2)
    c = la.concatenate([a, b])
    new = with_dependencies(c.layer, {b.layer.name: (b + 1).layer})
    assert new.dependencies == (a.layer, (b + 1).layer)
    assert with_dependencies(c.layer, {}) is c.layer


def test_topological_order_lists_inputs_first_and_each_layer_once():
    x = la.ones((4,), chunks=2)
    s = np.sin(x)
    y = s + s * 2
    order = topological([y.layer])
    assert len(order) == len({o.name for o in order}) == 4
    position = {o.name: i for i, o in enumerate(order)}
    for layer in order:
        assert all(position[d.name] < position[layer.name] for d in layer.dependencies)


def test_a_plugin_that_fails_to_load_is_skipped_with_a_warning(monkeypatch):
    from lamina.optimizer import registry

    class BrokenEntryPoint:
        name, value = "broken", "nowhere:rules"

        def load(self):
            raise ImportError("no module named nowhere")

    monkeypatch.setattr(registry.metadata, "entry_points", lambda group: [BrokenEntryPoint()])
    monkeypatch.setattr(registry, "group_may_be_declared", lambda group: True)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert registry.load_plugins(reload=True) == {}
        assert any("'broken'" in str(w.message) for w in caught)
    finally:
        monkeypatch.undo()
        registry.load_plugins(reload=True)


def test_a_rule_must_name_an_existing_phase():
    @lo.rule(phase="nonexistent")
    def nothing(node, ctx):
        return None

    with pytest.raises(ValueError, match="phase 'nonexistent'"):
        lo.register(nothing)


def test_rule_classes_get_a_name_and_description_from_the_class():
    class DropNothingAtAll(lo.Rule):
        """Leaves everything as it is."""

        def apply(self, node, ctx):
            return None

    rule = DropNothingAtAll()
    assert rule.name == "drop_nothing_at_all"
    assert rule.description == "Leaves everything as it is."
