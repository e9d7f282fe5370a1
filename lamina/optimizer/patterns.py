"""Patterns for rules written as ``match`` statements.

Every layer type matches by its operands, in the order of its
``_parameters``, so a rule reads like its algebra::

    match node:
        case BasicSlice(BasicSlice(x, first), second):      # x[first][second]
            ...
        case BasicSlice(Transpose(x, axes), index):         # x.T[index]
            ...

An elementwise layer is a ``Blockwise`` holding a function and its
arguments (layers and scalars); ``Elementwise`` matches it by those two::

    match node:
        case Elementwise(np.multiply, (Layer() as x, 1) | (1, Layer() as x)):
            ...                                              # x * 1, 1 * x

A literal in a pattern compares with ``==``: ``0`` also matches ``-0.0``
and ``0.0``, and ``x + 0.0`` is not ``x`` (``-0.0 + 0.0`` is ``+0.0``).
``check_rule`` catches that; a rule that means one scalar exactly checks
it in a guard.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from lamina.layers.base import Layer
from lamina.layers.blockwise import Blockwise

_ELEMENTWISE_FUNCS: set[int] = set()
_ELEMENTWISE_TYPES: set[type] = {np.ufunc}


def register_elementwise(func: Callable | type) -> Callable | type:
    """Declare a function (or the type of callable objects) elementwise.

    An elementwise function computes each output element from the elements
    at the same (broadcast) position of its arguments, so a selection of
    its output is the function of the selections of its arguments.
    """
    if isinstance(func, type):
        _ELEMENTWISE_TYPES.add(func)
    else:
        _ELEMENTWISE_FUNCS.add(id(func))
    return func


def is_elementwise(node: object) -> bool:
    """Whether ``node`` is an elementwise Blockwise with NumPy broadcasting."""
    if type(node) is not Blockwise:
        return False
    func = node.func
    if id(func) not in _ELEMENTWISE_FUNCS and not isinstance(func, tuple(_ELEMENTWISE_TYPES)):
        return False
    shapes = []
    for arg, axes in zip(node.args, node.arg_axes):
        if isinstance(arg, Layer):
            if tuple(axes) != tuple(range(node.ndim - arg.ndim, node.ndim)):
                return False
            shapes.append(arg.shape)
        elif np.ndim(arg) != 0:
            return False
    if any(np.ndim(v) != 0 and not isinstance(v, (str, np.dtype)) for _, v in node.kwargs):
        return False
    try:
        return np.broadcast_shapes(*shapes) == node.shape
    except ValueError:
        return False


class _MatchesElementwise(type):
    def __instancecheck__(cls, node: object) -> bool:
        return is_elementwise(node)


class Elementwise(metaclass=_MatchesElementwise):
    """Pattern: an elementwise ``Blockwise``, by its function and arguments.

    ``case Elementwise(np.add, (x, y))`` matches ``x + y`` where ``+`` is
    elementwise with NumPy broadcasting (a ufunc, or a function given to
    ``register_elementwise``); ``map_blocks`` of any other function never
    matches, since it may look at whole blocks.
    """

    __match_args__ = ("func", "args")
