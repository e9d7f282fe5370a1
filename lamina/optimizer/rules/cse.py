"""Common subexpressions: one node for every structurally equal expression.

Layers are named by their type and operands, so equal expressions already
share a name, and the engine and the lowering treat a name as one node:
``lamina.compute(a + b, (a + b).sum())`` computes ``a + b`` once. This
rule widens "equal": arguments of commutative elementwise operations are
put in a canonical order, so ``a + b`` and ``b + a`` become one node::

    Blockwise[add](b, a)  ->  Blockwise[add](a, b)     (a's name sorts first)
    Blockwise[add](1, a)  ->  Blockwise[add](a, 1)     (arrays before constants)

Only operations whose result does not depend on the order, bit for bit,
are reordered: addition and multiplication of real numbers, logical and
bitwise and/or/xor, equal and not_equal.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.layers.base import Layer
from lamina.layers.blockwise import Blockwise
from lamina.optimizer.rule import Context, Rule

COMMUTATIVE = frozenset({np.add, np.multiply, np.logical_and, np.logical_or, np.logical_xor,
                         np.bitwise_and, np.bitwise_or, np.bitwise_xor, np.equal,
                         np.not_equal})


def _real(value: Any) -> bool:
    dtype = value.dtype if hasattr(value, "dtype") else np.asarray(value).dtype
    return dtype.kind in "biuf"


class CommutativeOrder(Rule):
    """Sort the two arguments of a commutative elementwise operation by name."""

    name = "commutative_order"
    phase = "simplify"
    on = ("Blockwise",)
    order = 10

    def apply(self, node: Layer, ctx: Context) -> Layer | None:
        if type(node) is not Blockwise or not isinstance(node.func, np.ufunc) \
                or node.func not in COMMUTATIVE:
            return None
        args = node.args
        if len(args) != 2 or node.kwargs:
            return None
        first, second = args
        if isinstance(first, Layer):
            if not isinstance(second, Layer) or first.name <= second.name:
                return None
        elif not isinstance(second, Layer):
            return None
        if node.dtype.kind not in "biuf" or not (_real(first) and _real(second)):
            return None
        return node.substitute(args=(args[1], args[0]),
                               arg_axes=(node.arg_axes[1], node.arg_axes[0]))


class CommutativeOrderAfterFusion(CommutativeOrder):
    """Sort commutative arguments again by the names fusion gave them.

    Fusion renames the inputs of layers it does not absorb, so the order
    chosen in the simplify phase may no longer be sorted; sorting again
    keeps a second optimization of an optimized plan from changing it.
    """

    name = "commutative_order_after_fusion"
    phase = "canonical"


RULES = [CommutativeOrder(), CommutativeOrderAfterFusion()]
