"""Every built-in rule passes ``check_rule``; the whole pipeline agrees with NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

import lamina.optimizer as lo
from lamina.testing import array_expressions, check_expression, check_rule

ELEMENTWISE = ("unary", "binary", "scalar", "shared", "where")

EXPRESSIONS = {
    "commutative_order": array_expressions(ops=("binary", "shared", "scalar", "unary")),
    "commutative_order_after_fusion": array_expressions(ops=("binary", "shared", "scalar",
                                                             "unary", "concatenate")),
    "drop_noops": array_expressions(ops=("transpose", "rechunk", "unary"), min_ndim=2,
                                    finish=("transpose", "transpose", "rechunk", "rechunk")),
    "slice_fusion": array_expressions(ops=("slice", "unary"), finish=("slice", "slice"),
                                      min_ndim=1),
    "slice_through_elementwise": array_expressions(ops=ELEMENTWISE + ("slice",),
                                                   finish=("slice",), min_ndim=1),
    "slice_through_transpose": array_expressions(ops=("unary", "binary", "slice"), min_ndim=2,
                                                 finish=("transpose", "slice")),
    "slice_through_rechunk": array_expressions(ops=("unary", "slice"), min_ndim=1,
                                               finish=("rechunk", "slice")),
    "slice_through_concatenate": array_expressions(ops=("unary", "slice", "concatenate"),
                                                   min_ndim=1, finish=("concatenate", "slice")),
    "slice_through_reduction": array_expressions(ops=ELEMENTWISE + ("slice", "rechunk"),
                                                 min_ndim=2, finish=("reduce", "slice")),
    "slice_into_source": array_expressions(ops=("slice",), finish=("slice",), min_ndim=1),
    "blockwise_fusion": array_expressions(),
    "speculative_hints": array_expressions(ops=ELEMENTWISE + ("reduce", "matmul"),
                                           finish=("reduce",), min_ndim=1),
}


def test_every_built_in_rule_has_a_check():
    """Array rules here; dataframe rules in test_dataframe_rules*.py (check_frame_rule)."""
    rules = lo.all_rules(plugins=False)
    frame_rules = {r.name for r in rules
                   if type(r).__module__.rsplit(".", 1)[-1].startswith("frame")}
    assert {r.name for r in rules} == set(EXPRESSIONS) | frame_rules


@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
def test_built_in_rule_keeps_values_shape_dtype_chunks_and_is_idempotent(name):
    report = check_rule(lo.get_rule(name), max_examples=30, expressions=EXPRESSIONS[name])
    assert report.examples == 30 and report.by_rule.get(name, 0) > 0


def test_fusion_under_a_tight_memory_limit_keeps_values():
    check_rule(lo.get_rule("blockwise_fusion"), max_examples=25,
               options=lo.Options(fuse_memory_limit=600))


def test_fusion_without_cheap_layers_keeps_values():
    check_rule(lo.get_rule("blockwise_fusion"), max_examples=25,
               options=lo.Options(cheap_layers=frozenset()))


@settings(max_examples=60, deadline=None)
@given(array_expressions(max_ops=6))
def test_the_whole_pipeline_agrees_with_numpy_on_random_expressions(expr):
    check_expression(lo.all_rules(plugins=False), expr)


@settings(max_examples=40, deadline=None)
@given(array_expressions(ops=ELEMENTWISE + ("slice", "transpose", "rechunk"), max_ops=8,
                         finish=("slice",), min_ndim=2))
def test_the_whole_pipeline_on_selections_of_expressions(expr):
    check_expression(lo.all_rules(plugins=False), expr)


def test_a_rule_that_never_fires_fails_the_check():
    @lo.rule(phase="simplify", on="Nothing")
    def idle(node, ctx):
        return None

    with pytest.raises(AssertionError, match="fired 0 times"):
        check_rule(idle, max_examples=5)


def test_a_rule_that_changes_values_fails_the_check():
    @lo.rule(phase="simplify", on="Blockwise")
    def sine_is_cosine(node, ctx):
        if node.fname == "sin":
            return node.substitute(func=np.cos, fname="cos")
        return None

    with pytest.raises(AssertionError, match="differ"):
        check_rule(sine_is_cosine, max_examples=30,
                   expressions=array_expressions(ops=("unary",), min_ndim=1))
