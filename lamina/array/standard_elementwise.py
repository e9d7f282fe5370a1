"""The Array API's elementwise functions under their standard names.

    la.acos(x), la.atan2(y, x), la.bitwise_left_shift(a, b), la.pow(x, 2.5)

Each is the NumPy ufunc of the same meaning applied lazily (one Blockwise
layer); NumPy 2's promotion is the standard's for the pairs it defines,
and a Python scalar operand takes the array's dtype. In-memory inputs
(NumPy arrays, scalars) are wrapped first so the result is always lazy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.array.core import Array

_UNARY = {
    "abs": np.absolute, "acos": np.arccos, "acosh": np.arccosh, "asin": np.arcsin,
    "asinh": np.arcsinh, "atan": np.arctan, "atanh": np.arctanh,
    "bitwise_invert": np.invert, "ceil": np.ceil, "conj": np.conjugate, "cos": np.cos,
    "cosh": np.cosh, "exp": np.exp, "expm1": np.expm1, "floor": np.floor,
    "isfinite": np.isfinite, "isinf": np.isinf, "isnan": np.isnan, "log": np.log,
    "log1p": np.log1p, "log2": np.log2, "log10": np.log10, "logical_not": np.logical_not,
    "negative": np.negative, "positive": np.positive, "sign": np.sign,
    "signbit": np.signbit, "sin": np.sin, "sinh": np.sinh, "square": np.square,
    "sqrt": np.sqrt, "tan": np.tan, "tanh": np.tanh, "trunc": np.trunc,
}
_BINARY = {
    "add": np.add, "atan2": np.arctan2, "bitwise_and": np.bitwise_and,
    "bitwise_left_shift": np.left_shift, "bitwise_or": np.bitwise_or,
    "bitwise_right_shift": np.right_shift, "bitwise_xor": np.bitwise_xor,
    "copysign": np.copysign, "divide": np.divide, "equal": np.equal,
    "floor_divide": np.floor_divide, "greater": np.greater,
    "greater_equal": np.greater_equal, "hypot": np.hypot, "less": np.less,
    "less_equal": np.less_equal, "logaddexp": np.logaddexp, "logical_and": np.logical_and,
    "logical_or": np.logical_or, "logical_xor": np.logical_xor, "maximum": np.maximum,
    "minimum": np.minimum, "multiply": np.multiply, "nextafter": np.nextafter,
    "not_equal": np.not_equal, "pow": np.power, "remainder": np.remainder,
    "subtract": np.subtract,
}
# real, imag and conj of real input: the standard keeps the dtype (NumPy's real/imag do too)
_INTEGER_IDENTITY = {"ceil", "floor", "trunc"}


def lazy(x: Any) -> Array:
    """``x`` as an Array (in-memory data becomes one block)."""
    from lamina.array.creation import asarray

    return asarray(x)


def complex_expm1(z: np.ndarray) -> np.ndarray:
    """``expm1`` of complex values with the standard's special cases.

    NumPy's complex ``expm1`` gives NaN for infinite parts and -0 for -0;
    ``exp(z) - 1`` has C99's special cases there, and ``expm1`` keeps the
    other finite values accurate.
    """
    with np.errstate(all="ignore"):
        out = np.expm1(z)
        special = ~(np.isfinite(z.real) & np.isfinite(z.imag)) | (z == 0)
        return np.where(special, np.exp(z) - 1, out).astype(z.dtype, copy=False)


def complex_tanh(z: np.ndarray) -> np.ndarray:
    """``tanh`` of complex values; ``tanh(±inf + yj)`` for finite ``y`` is ``±1 + copysign(0, y)j``.

    NumPy follows C99, whose zero takes the sign of ``sin(2y)``; the standard asks for
    the sign of ``y``.
    """
    with np.errstate(all="ignore"):
        out = np.tanh(z)
        limit = np.isinf(z.real) & np.isfinite(z.imag)
        edge = np.empty_like(out)
        edge.real = np.copysign(1.0, z.real)
        edge.imag = np.copysign(0.0, z.imag)
        return np.where(limit, edge, out)


_COMPLEX_KERNELS = {"expm1": complex_expm1, "tanh": complex_tanh}


def _unary(name: str, ufunc: np.ufunc):
    def func(x: Any, /) -> Array:
        from lamina.array.elementwise import elemwise

        x = lazy(x)
        if name in _INTEGER_IDENTITY and x.dtype.kind in "biu":
            return x
        if name == "conj" and x.dtype.kind != "c":
            return x
        if name in _COMPLEX_KERNELS and x.dtype.kind == "c":
            return elemwise(_COMPLEX_KERNELS[name], x, dtype=x.dtype, name=name)
        return ufunc(x)
    func.__name__ = func.__qualname__ = name
    func.__doc__ = f"Elementwise ``{name}`` (NumPy's ``{ufunc.__name__}``), lazily."
    return func


def _binary(name: str, ufunc: np.ufunc):
    def func(x1: Any, x2: Any, /) -> Array:
        if not isinstance(x1, Array) and not isinstance(x2, Array):
            x1 = lazy(x1)
        return ufunc(x1, x2)
    func.__name__ = func.__qualname__ = name
    func.__doc__ = f"Elementwise ``{name}`` (NumPy's ``{ufunc.__name__}``), lazily."
    return func


for _name, _ufunc in _UNARY.items():
    globals()[_name] = _unary(_name, _ufunc)
for _name, _ufunc in _BINARY.items():
    globals()[_name] = _binary(_name, _ufunc)


def real(x: Any, /) -> Array:
    """The real part (a real array is returned as it is)."""
    x = lazy(x)
    return np.real(x) if x.dtype.kind == "c" else x


def imag(x: Any, /) -> Array:
    """The imaginary part (zeros for a real array)."""
    return np.imag(lazy(x))


__all__ = sorted([*_UNARY, *_BINARY, "imag", "real"])
