"""Which rules made each layer of an optimized plan (``rules_per_layer``), as
``lamina.explain`` prints it and the dashboard draws it."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings

import lamina
import lamina.array as la
import lamina.optimizer as lo
from lamina.layers.walk import topological
from lamina.optimizer.pipeline import Plan, optimize_plan
from lamina.optimizer.provenance import rules_per_layer
from lamina.optimizer.trace import Trace
from lamina.testing.strategies import array_expressions


def by_label(plan: Plan) -> dict[str, tuple[str, ...]]:
    made_by = rules_per_layer(plan)
    return {layer.label(): made_by[layer.name] for layer in topological(plan.layers)}


def test_a_fused_selection_names_every_rule_that_shaped_it_in_firing_order():
    x = la.ones((100_000, 100_000), chunks=100)
    plan = optimize_plan([(x + 1)[0, :5].layer])
    assert by_label(plan) == {"Fused[Blockwise[add], Full]": (
        "slice_through_elementwise", "slice_into_source", "blockwise_fusion")}


def test_layers_no_rule_touched_name_none():
    x = la.from_array(np.arange(24.0).reshape(4, 6), chunks=(2, 3))
    plan = optimize_plan([((x + 1) * 2).sum().layer])
    made_by = by_label(plan)
    fused = [label for label in made_by if label.startswith("Fused[")]
    assert len(fused) == 1 and made_by[fused[0]] == ("blockwise_fusion",)
    assert all(rules == () for label, rules in made_by.items() if label not in fused)


def test_a_plan_the_optimizer_left_alone_names_no_rule():
    x = la.from_array(np.arange(6.0), chunks=2)
    with lo.set_options(enabled=False):
        plan = optimize_plan([(x + 1).sum().layer])
    assert set(rules_per_layer(plan).values()) == {()}
    layers = ((x + 1).layer,)
    assert rules_per_layer(Plan(layers, layers, Trace())) == {
        layer.name: () for layer in topological(layers)}


def test_explain_prints_each_layer_with_the_rules_that_made_it():
    x = la.ones((1000, 1000), chunks=100)
    explanation = lamina.explain((x + 1)[0, :5] * 2)
    made_by = explanation.rules_per_layer()
    text = str(explanation).split("plan after:")[1]
    for layer in topological(explanation.plan.layers):
        if made_by[layer.name]:
            assert f"  rules: {', '.join(made_by[layer.name])}" in text


@given(expr=array_expressions(max_ops=5))
@settings(max_examples=60, deadline=None)
def test_every_layer_is_credited_with_the_rules_that_made_it_and_only_fired_ones(expr):
    plan = optimize_plan([expr.array.layer])
    made_by = rules_per_layer(plan)
    final = topological(plan.layers)
    assert list(made_by) == [layer.name for layer in final]
    fired = set(plan.trace.fired())
    assert set().union(*made_by.values()) <= fired
    names = set(made_by)
    for rule, _, new in plan.trace.lineage:
        if rule and new.name in names:
            assert rule in made_by[new.name], (rule, new.label())
    untouched = {layer.name for layer in topological(plan.before)} - {
        new.name for _, _, new in plan.trace.lineage}
    assert all(made_by[name] == () for name in untouched & names)
    if not plan.trace.rewrites:
        assert set(made_by.values()) <= {()}
