"""``check_rule`` compares bit for bit, and its expressions hold what breaks
careless algebraic rules: -0.0, NaN and ±inf leaves and ``x + 0``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import find, settings

import lamina.optimizer as lo
from lamina.layers.base import Layer
from lamina.optimizer.patterns import Elementwise
from lamina.testing import array_expressions, bit_equal, check_rule, sources


@lo.rule(phase="simplify", on="Blockwise")
def add_zero_is_x(node, ctx):
    """Wrong for floats: -0.0 + 0 is +0.0."""
    match node:
        case Elementwise(np.add, (Layer() as x, 0) | (0, Layer() as x)) \
                if (x.chunks, x.dtype) == (node.chunks, node.dtype):
            return x
    return None


@lo.rule(phase="simplify", on="Blockwise")
def multiply_by_one_is_x(node, ctx):
    """Right: x * 1 is x, bit for bit, for every x."""
    match node:
        case Elementwise(np.multiply, (Layer() as x, 1) | (1, Layer() as x)) \
                if (x.chunks, x.dtype) == (node.chunks, node.dtype):
            return x
    return None


def test_a_rule_that_loses_the_sign_of_zero_fails_the_check():
    with pytest.raises(AssertionError, match="bit for bit"):
        check_rule(add_zero_is_x, max_examples=30,
                   expressions=array_expressions(ops=("unary", "slice"), finish=("identity",)))


def test_a_rule_that_keeps_every_bit_passes_the_check():
    report = check_rule(multiply_by_one_is_x, max_examples=30,
                        expressions=array_expressions(ops=("unary", "slice"),
                                                      finish=("identity:multiply1",)))
    assert report.by_rule["multiply_by_one_is_x"] > 0


@pytest.mark.parametrize(("a", "b", "equal"), [
    (np.array([-0.0]), np.array([0.0]), False),
    (np.array([np.inf]), np.array([np.nan]), False),
    (np.array([1.0], np.float32), np.array([1.0]), False),
    (np.array([1.0, 2.0]), np.array([[1.0, 2.0]]), False),
    (np.array([np.nan]), -np.array([np.nan]), True),
    (np.array([1.0, np.nan, -0.0]), np.array([1.0, np.nan, -0.0]), True),
    (np.array([complex(1, -0.0)]), np.array([complex(1, 0.0)]), False),
    (np.array([3, -1]), np.array([3, -1]), True),
    (np.float64(-0.0), np.float64(-0.0), True),
])
def test_bit_equal_tells_signed_zeros_apart_and_any_nan_alike(a, b, equal):
    assert bit_equal(a, b) is equal


def _has_negative_zero(values: np.ndarray) -> bool:
    values = np.asarray(values)
    return values.dtype.kind == "f" and bool(np.any((values == 0) & np.signbit(values)))


def test_sources_hold_negative_zero_nan_and_inf():
    quick = settings(database=None, max_examples=300, derandomize=True)
    for holds in (_has_negative_zero, lambda v: np.isnan(v).any(), lambda v: np.isinf(v).any()):
        expr = find(sources(), lambda e: holds(e.expected), settings=quick)
        assert holds(expr.array.compute())


def test_the_default_expressions_add_zero():
    quick = settings(database=None, max_examples=300, derandomize=True)
    expr = find(array_expressions(max_ops=2), lambda e: " + 0" in e.text, settings=quick)
    assert expr.array.layer.func is np.add and 0 in expr.array.layer.args
