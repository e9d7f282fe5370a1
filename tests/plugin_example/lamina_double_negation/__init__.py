"""An example rule package for lamina: ``-(-x)`` becomes ``x``.

Installed (``pip install .``), it registers its rule through the
``lamina.rules`` entry point named in ``pyproject.toml``; every
``lamina.compute`` then applies it, and ``set_options(disabled_rules=
{"double_negation"})`` switches it off.
"""

import numpy as np

from lamina.layers.blockwise import Blockwise
from lamina.optimizer import Rule


def _is_negative(layer) -> bool:
    return type(layer) is Blockwise and layer.func is np.negative and not layer.kwargs


class DoubleNegation(Rule):
    """Drop two negations in a row: -(-x) -> x."""

    name = "double_negation"
    phase = "simplify"
    on = ("Blockwise",)

    def apply(self, node, ctx):
        if _is_negative(node) and _is_negative(node.args[0]):
            inner = node.args[0].args[0]
            if inner.chunks == node.chunks and inner.dtype == node.dtype:
                return inner
        return None


RULES = [DoubleNegation()]
