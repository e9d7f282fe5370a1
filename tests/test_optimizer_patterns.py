"""Layers match by their operands in ``match`` statements; ``Elementwise``
matches an elementwise Blockwise by its function and arguments."""

from __future__ import annotations

import numpy as np

import lamina.array as la
from lamina.layers.base import Layer
from lamina.layers.slicing import BasicSlice
from lamina.layers.transpose import Transpose
from lamina.optimizer.patterns import Elementwise


def describe(node: Layer) -> str:
    match node:
        case BasicSlice(BasicSlice(x, _), _):
            return f"slice of slice of {x.label()}"
        case BasicSlice(Transpose(x, axes), _):
            return f"slice of {x.label()} transposed {tuple(axes)}"
        case Elementwise(np.add, (Layer() as x, 0) | (0, Layer() as x)):
            return f"{x.label()} + 0"
        case Elementwise(func, (Layer(), Layer())):
            return f"{func.__name__} of two layers"
    return "other"


def test_layers_match_by_their_operands_in_order():
    x = la.ones((4, 6), chunks=2)
    assert BasicSlice.__match_args__ == ("x", "index")
    assert describe(x[1:][2].layer) == "slice of slice of Full"
    assert describe(x.T[1].layer) == "slice of Full transposed (1, 0)"


def test_elementwise_matches_a_scalar_operand_on_either_side():
    x = la.ones((4,), chunks=2)
    assert describe((x + 0).layer) == "Full + 0"
    assert describe((0.0 + x).layer) == "Full + 0"
    assert describe((x + 1).layer) == "other"
    assert describe((x * x[::-1]).layer) == "multiply of two layers"


def add_blocks(a, b):
    """May look at whole blocks, as far as the optimizer knows."""
    return a + b


def test_map_blocks_of_an_unregistered_function_is_not_elementwise():
    x = la.ones((4,), chunks=2)
    assert describe(la.map_blocks(add_blocks, x, x, dtype=x.dtype).layer) == "other"
    assert not isinstance(la.map_blocks(add_blocks, x, 0, dtype=x.dtype).layer, Elementwise)
    assert isinstance((x + 0).layer, Elementwise)
