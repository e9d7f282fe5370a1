"""Block functions of the elementwise layers the collections build.

They live beside the layers, not in ``lamina.array``, because the optimizer
must recognise them (a selection moves below an ``astype`` as below a
ufunc) and may not import the collections; a worker unpickles them by
reference without loading the collections either.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from lamina.tokenize import tokenize


def cast(block: Any, to: np.dtype) -> Any:
    """``astype``'s block function."""
    return block.astype(to)


def broadcast_first(a: Any, b: Any) -> Any:
    """``broadcast_to``'s block function: ``a`` broadcast to the shape of ``b``."""
    return np.broadcast_to(a, b.shape) if isinstance(b, np.ndarray) else a + b * 0


class NthOutput:
    """Picklable "output i of a multi-output ufunc" (or of a ``partial`` of one)."""

    def __init__(self, ufunc: Callable, i: int) -> None:
        self.ufunc, self.i = ufunc, i
        base = ufunc.func if isinstance(ufunc, functools.partial) else ufunc
        self.__name__ = f"{base.__name__}_{i}"
        self._token = tokenize("nth-output", ufunc, i)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.ufunc(*args, **kwargs)[self.i]

    def __reduce__(self) -> tuple:
        return (NthOutput, (self.ufunc, self.i))
