"""Block products that keep NaN and infinities as IEEE arithmetic gives them.

BLAS, and some of NumPy's paths for small shapes, skip zero factors: a
product ``0 * inf`` is never formed, so a block product can lose the NaN
that the whole-array product has, depending on how the operands were
chunked. ``contract`` keeps BLAS speed and the IEEE answer:

* blocks with only finite values take the plain BLAS product;
* a block pair holding an inf or a NaN takes the BLAS product of the
  operands with those entries zeroed (the finite part), plus three BLAS
  products of 0/1 indicator arrays stacked along the contracted axis that
  count, for every output entry, the products that are NaN, +inf and -inf.

Every result is also normalized so that a sum of zero products is +0.0, as
NumPy's matrix products give it, so partial sums of blocks add up to the
same signed zero as the whole product::

    contract(np.matmul, x, y, -1, -2)          # x @ y, IEEE-exact
    outer(x, y)                                # np.tensordot(x, y, axes=0)
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

Product = Callable[[Any, Any], Any]


def has_nonfinite(x: Any) -> bool:
    """Whether ``x`` is a floating or complex array that may hold an inf or a NaN.

    A sum is non-finite if any term is inf or NaN (one that overflows only
    sends finite values down the exact path). For a matrix, the column sums
    come from BLAS as ``ones @ x``, as fast as the product it guards even on
    a strided block; the factors are never zero, so nothing is skipped.
    """
    if x.dtype.kind not in "fc":
        return False
    if x.ndim >= 2:
        x = np.matmul(np.ones_like(x, shape=(x.shape[-2],)), x)
    return not bool(np.isfinite(x.sum()))


def contract(multiply: Product, x: Any, y: Any, x_axis: int, y_axis: int) -> Any:
    """``multiply(x, y)``, a product summed over axis ``x_axis`` of ``x`` and
    ``y_axis`` of ``y`` (and any others), with IEEE NaN and infinities."""
    if has_nonfinite(x) or has_nonfinite(y):
        if x.dtype.kind == "c" or y.dtype.kind == "c":
            value = _exact_complex(multiply, x, y, x_axis, y_axis)
        else:
            value = _exact_real(multiply, x, y, x_axis, y_axis)
    else:
        value = multiply(x, y)
    return _positive_zero(np.asarray(value))


def outer(x: Any, y: Any) -> Any:
    """``np.tensordot(x, y, axes=0)`` elementwise, so that ``0 * inf`` is NaN."""
    return _positive_zero(np.multiply.outer(x, y))


def _positive_zero(value: Any) -> Any:
    """-0.0 made +0.0: NumPy's products start their sums at +0.0."""
    if value.dtype.kind not in "fc":
        return value
    if value.ndim and value.flags.writeable:
        return np.add(value, 0, out=value)
    return value + 0


def _exact_complex(multiply: Product, x: Any, y: Any, x_axis: int, y_axis: int) -> Any:
    """Real and imaginary parts as sums of real products, as NumPy's ``a * b``."""
    dtype = np.result_type(x.dtype, y.dtype)
    x, y = x.astype(dtype, copy=False), y.astype(dtype, copy=False)
    xs = np.concatenate([x.real, x.imag], axis=x_axis)
    real = _exact_real(multiply, xs, np.concatenate([y.real, -y.imag], axis=y_axis),
                       x_axis, y_axis)
    imag = _exact_real(multiply, xs, np.concatenate([y.imag, y.real], axis=y_axis),
                       x_axis, y_axis)
    out = np.empty(real.shape, dtype=dtype)
    out.real, out.imag = real, imag
    return out


def _exact_real(multiply: Product, x: Any, y: Any, x_axis: int, y_axis: int) -> Any:
    """The finite part by one BLAS product; NaN and +-inf from indicator counts.

    Only the contracted positions where ``x`` or ``y`` holds an inf or a NaN
    can make a special product, so the counts read just those.
    """
    finite = np.asarray(multiply(_zero_nonfinite(x), _zero_nonfinite(y)))
    special = np.flatnonzero(_nonfinite_along(x, x_axis) | _nonfinite_along(y, y_axis))
    xi = _Signs(np.take(x, special, axis=x_axis))
    yi = _Signs(np.take(y, special, axis=y_axis))

    def count(x_parts: list, y_parts: list) -> Any:
        """For each output entry, a positive number iff some pair (x_part, y_part) meets."""
        stacked_x = np.concatenate([p.astype(np.float32) for p in x_parts], axis=x_axis)
        stacked_y = np.concatenate([p.astype(np.float32) for p in y_parts], axis=y_axis)
        return np.asarray(multiply(stacked_x, stacked_y)) > 0

    nan = count([xi.nan, np.ones_like(xi.nan), xi.inf, xi.zero],
                [np.ones_like(yi.nan), yi.nan, yi.zero, yi.inf])
    x_sides = [xi.pos_inf, xi.pos_finite, xi.neg_inf, xi.neg_finite]
    pos_inf = count(x_sides, [yi.pos, yi.pos_inf, yi.neg, yi.neg_inf])
    neg_inf = count(x_sides, [yi.neg, yi.neg_inf, yi.pos, yi.pos_inf])
    inf = np.array(np.inf, dtype=finite.dtype)
    value = np.where(pos_inf, finite + inf, finite)
    value = np.where(neg_inf, value - inf, value)
    return np.where(nan, np.array(np.nan, dtype=finite.dtype), value)


def _nonfinite_along(x: Any, axis: int) -> Any:
    """For each position along ``axis``, whether that slice of ``x`` holds an inf or a NaN."""
    if x.dtype.kind not in "fc":
        return np.zeros(x.shape[axis], dtype=bool)
    others = tuple(k for k in range(x.ndim) if k != axis % x.ndim)
    return ~np.isfinite(x).all(axis=others)


def _zero_nonfinite(x: Any) -> Any:
    if x.dtype.kind not in "fc":
        return x
    return np.where(np.isfinite(x), x, np.zeros((), dtype=x.dtype))


class _Signs:
    """Boolean masks of an operand's special values and signs."""

    def __init__(self, x: Any) -> None:
        self.nan = np.isnan(x)
        self.inf = np.isinf(x)
        self.zero = x == 0
        self.pos = x > 0
        self.neg = x < 0
        self.pos_inf = self.pos & self.inf
        self.neg_inf = self.neg & self.inf
        self.pos_finite = self.pos & ~self.inf
        self.neg_finite = self.neg & ~self.inf
