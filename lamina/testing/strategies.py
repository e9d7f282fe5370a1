"""Hypothesis strategies for random array expressions, with their NumPy values.

    from hypothesis import given
    from lamina.testing import array_expressions

    @given(array_expressions(max_ops=4))
    def test_something(expr):
        np.testing.assert_allclose(expr.array.compute(), expr.expected)

An ``Expression`` holds a lamina ``Array``, the NumPy array the same
operations give (``expected``) and a readable recipe (``text``, its repr,
so a failing example reads like code). Expressions start from sources
(in-memory arrays, some holding NaN, ±inf and ±0; constants, ranges,
random arrays) with random shapes and even or uneven chunks, then apply
random operations: elementwise with broadcasting (arguments sharing
subexpressions too), scalars a rule may single out (0, -0.0, ±1, small
ints, NaN, ±inf), identity operations (``x + 0``, ``x * 1``, ``x - 0``,
``x / 1``, ``x ** 1``), basic slicing, transpose, rechunk, reductions,
matmul, concatenate, ``map_blocks`` and ``where``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from hypothesis import strategies as st

import lamina.array as la
from lamina.array.core import Array


@dataclass(frozen=True)
class Expression:
    """A lamina array, what NumPy gives for it, and how it was made."""

    array: Array
    expected: np.ndarray
    text: str

    def __repr__(self) -> str:
        return f"{self.text}  # shape={self.array.shape}, chunks={self.array.chunks}"


def twice(block: np.ndarray) -> np.ndarray:
    """A ``map_blocks`` function (named, so it has a stable token)."""
    return block * 2


@st.composite
def shapes(draw: Callable, max_ndim: int = 3, max_side: int = 6, min_ndim: int = 0
           ) -> tuple[int, ...]:
    """A small array shape, zero-length axes included."""
    ndim = draw(st.integers(min_ndim, max_ndim))
    return tuple(draw(st.integers(0 if draw(st.booleans()) else 1, max_side))
                 for _ in range(ndim))


@st.composite
def chunks_for(draw: Callable, shape: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """Random block sizes for ``shape``: regular or irregular along each axis."""
    out = []
    for n in shape:
        if n == 0:
            out.append((0,))
            continue
        if draw(st.booleans()):
            size = draw(st.integers(1, n))
            out.append((size,) * (n // size) + ((n % size,) if n % size else ()))
            continue
        sizes, left = [], n
        while left:
            s = draw(st.integers(1, left))
            sizes.append(s)
            left -= s
        out.append(tuple(sizes))
    return tuple(out)


@st.composite
def sources(draw: Callable, shape: tuple[int, ...] | None = None, max_ndim: int = 3,
            max_side: int = 6, min_ndim: int = 0) -> Expression:
    """A source array: from_array (float, float with special values, or int),
    full/ones, arange, or random."""
    shape = draw(shapes(max_ndim, max_side, min_ndim)) if shape is None else shape
    chunks = draw(chunks_for(shape))
    # Special values first: the simplest examples (Hypothesis tries them
    # first and shrinks toward them) hold -0.0, NaN and inf.
    kinds = ["special", "float", "int", "full", "random"] + (["arange"] if len(shape) == 1
                                                              else [])
    kind = draw(st.sampled_from(kinds))
    size = int(np.prod(shape))
    if kind in ("float", "special"):
        seed = draw(st.integers(0, 2**16))
        data = np.random.default_rng(seed).standard_normal(shape)
        if kind == "special":
            data = with_special_values(data, seed)
        return Expression(la.from_array(data, chunks=chunks), data,
                          f"from_array({kind}{shape}, seed={seed})")
    if kind == "int":
        data = (np.arange(size, dtype=np.int64).reshape(shape) * 7) % 11 - 5
        return Expression(la.from_array(data, chunks=chunks), data, f"from_array(int{shape})")
    if kind == "full":
        value = draw(st.sampled_from([1.0, -2.5, 3, -0.0, np.nan, np.inf]))
        return Expression(la.full(shape, value, chunks=chunks), np.full(shape, value),
                          f"full({shape}, {value})")
    if kind == "arange":
        return Expression(la.arange(size, chunks=chunks), np.arange(size), f"arange({size})")
    import lamina.random

    seed = draw(st.integers(0, 2**16))
    array = lamina.random.default_rng(seed).random(shape, chunks=chunks)
    return Expression(array, raw_compute(array), f"random{shape}(seed={seed})")


SPECIAL_VALUES = (-0.0, np.nan, np.inf, -np.inf, 0.0)


@st.composite
def special_arrays(draw: Callable, max_ndim: int = 2, max_side: int = 6, min_ndim: int = 0
                   ) -> tuple[np.ndarray, Array]:
    """Floats with special values, and the same as a lamina Array in random chunks."""
    shape = draw(shapes(max_ndim, max_side, min_ndim))
    chunks = draw(chunks_for(shape))
    seed = draw(st.integers(0, 2**16))
    values = with_special_values(np.random.default_rng(seed).standard_normal(shape), seed)
    return values, la.from_array(values, chunks=chunks)


def with_special_values(data: np.ndarray, seed: int) -> np.ndarray:
    """``data`` with up to five entries replaced by -0.0, NaN, inf, -inf, 0.0.

    -0.0 always comes first, so every non-empty array of this kind holds one:
    a rule that loses the sign of zero (``x + 0 -> x``) meets it reliably.
    """
    out = data.copy()
    flat = out.reshape(-1)
    rng = np.random.default_rng(seed)
    k = min(flat.size, int(rng.integers(1, len(SPECIAL_VALUES) + 1)))
    flat[rng.permutation(flat.size)[:k]] = SPECIAL_VALUES[:k]
    return out


@st.composite
def basic_indices(draw: Callable, shape: tuple[int, ...]) -> tuple:
    """A NumPy basic index for ``shape``: ints, slices with steps, None."""
    entries: list[Any] = []
    for n in shape:
        kind = draw(st.sampled_from(["full", "slice", "int"] if n else ["full", "slice"]))
        if kind == "int":
            entries.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            bound = st.none() | st.integers(-n - 1, n + 1)
            step = draw(st.sampled_from([None, 1, 2, 3, -1, -2]))
            entries.append(slice(draw(bound), draw(bound), step))
        else:
            entries.append(slice(None))
    if draw(st.booleans()):
        entries.insert(draw(st.integers(0, len(entries))), None)
    return tuple(entries)


def raw_compute(array: Array) -> Any:
    """Compute without the optimizer: the lowering and the runner only."""
    from lamina.compute import run

    (future,) = run([array.layer], optimize_graph=False, client=None, nthreads=1)
    return future.result()


def _broadcast_partner(draw: Callable, shape: tuple[int, ...]) -> tuple[int, ...]:
    drop = draw(st.integers(0, len(shape)))
    return tuple(1 if draw(st.integers(0, 3)) == 0 else n for n in shape[drop:])


def _available(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


_UNARY = {
    "negative": (np.negative, "-{}"),
    "abs": (np.abs, "abs({})"),
    "sin": (np.sin, "np.sin({})"),
    "times2": (lambda v: v * 2, "{} * 2"),
    "plus1": (lambda v: v + 1, "({} + 1)"),
    "float32": (lambda v: v.astype(np.float32), "{}.astype(float32)"),
    "float64": (lambda v: v.astype(np.float64), "{}.astype(float64)"),
    "positive_mask": (lambda v: (v > 0).astype(np.int64), "({} > 0).astype(int64)"),
}
_BINARY = {"add": (np.add, "+"), "subtract": (np.subtract, "-"), "multiply": (np.multiply, "*"),
           "maximum": (np.maximum, "max")}
SCALARS = (0, -0.0, 0.0, 1, -1, 2, 3, -1.5, 0.5, np.nan, np.inf, -np.inf)
# x OP value == x in real arithmetic (``x + 0`` loses the sign of a zero in floats).
_IDENTITIES = {"add0": (np.add, "+", 0), "multiply1": (np.multiply, "*", 1),
               "subtract0": (np.subtract, "-", 0), "divide1": (np.true_divide, "/", 1),
               "power1": (np.power, "**", 1)}


KINDS = ("unary", "binary", "shared", "scalar", "identity", "slice", "transpose", "rechunk",
         "reduce", "matmul", "concatenate", "map_blocks", "where")


@st.composite
def array_expressions(draw: Callable, max_ops: int = 5, max_ndim: int = 3, max_side: int = 6,
                      ops: tuple[str, ...] | None = None, finish: tuple[str, ...] = (),
                      min_ndim: int = 0) -> Expression:
    """A random expression over sources.

    ``ops`` limits the kinds of operation (default ``KINDS``: unary,
    binary, shared (an operation of a subexpression with itself), scalar
    (one of ``SCALARS``, on either side), identity (``x + 0``, ``x * 1``,
    ``x - 0``, ``x / 1``, ``x ** 1``, in the int or float form of the
    scalar, the scalar on either side where that is still an identity),
    slice, transpose, rechunk, reduce, matmul, concatenate, map_blocks,
    where; ``"unary:NAME"`` picks one unary operation: negative, abs, sin,
    times2, plus1, float32, float64, positive_mask; ``"identity:NAME"``
    one identity: add0, multiply1, subtract0, divide1, power1); ``finish``
    names kinds applied last, in order, e.g. ``("slice",)`` for
    expressions that end in a selection.
    """
    kinds = ops or KINDS
    expr = draw(sources(max_ndim=max_ndim, max_side=max_side, min_ndim=min_ndim))
    with np.errstate(all="ignore"):  # NumPy's NaN and inf (of inf - inf, 0 * inf) are the reference
        for _ in range(draw(st.integers(0 if finish else 1, max_ops))):
            kind = draw(st.sampled_from(kinds))
            expr = _apply(draw, kind, expr, max_side) or expr
        for kind in finish:
            expr = _apply(draw, kind, expr, max_side) or expr
    return expr


def _apply(draw: Callable, kind: str, e: Expression, max_side: int) -> Expression | None:
    x, ref, text = e.array, e.expected, e.text
    if kind.startswith("unary"):
        name = kind[6:] or draw(st.sampled_from(sorted(_UNARY)))
        f, fmt = _UNARY[name]
        return Expression(f(x), f(ref), fmt.format(text))
    if kind.startswith("identity"):
        return _identity(draw, kind[9:] or draw(st.sampled_from(sorted(_IDENTITIES))), e)
    if kind in ("binary", "shared", "scalar"):
        name = draw(st.sampled_from(sorted(_BINARY)))
        f, sym = _BINARY[name]
        if kind == "shared":
            other = e
        elif kind == "scalar":
            value = draw(st.sampled_from(SCALARS))
            other = Expression(value, value, repr(value))
        else:
            other = draw(sources(shape=_broadcast_partner(draw, x.shape)))
        if draw(st.booleans()):
            e, other = other, e
        a, b = e.array, other.array
        if not isinstance(a, Array) and not isinstance(b, Array):
            return None
        return Expression(f(a, b), f(e.expected, other.expected),
                          f"({e.text} {sym} {other.text})")
    if kind == "slice":
        index = draw(basic_indices(x.shape))
        return Expression(x[index], ref[index], f"{text}[{_index_text(index)}]")
    if kind == "transpose" and x.ndim >= 2:
        perm = tuple(draw(st.permutations(range(x.ndim))))
        return Expression(x.transpose(perm), ref.transpose(perm), f"{text}.transpose{perm}")
    if kind == "rechunk":
        chunks = draw(chunks_for(x.shape))
        return Expression(x.rechunk(chunks), ref, f"{text}.rechunk({chunks})")
    if kind == "reduce" and x.ndim >= 1 and x.size and _available("lamina.array.reductions"):
        axis = draw(st.integers(0, x.ndim - 1))
        name = draw(st.sampled_from(["sum", "max", "mean"]))
        return Expression(getattr(x, name)(axis=axis), getattr(ref, name)(axis=axis),
                          f"{text}.{name}(axis={axis})")
    if kind == "matmul" and x.ndim == 2 and _available("lamina.array.contraction"):
        k = draw(st.integers(1, max_side))
        other = draw(sources(shape=(x.shape[1], k)))
        return Expression(x @ other.array, ref @ other.expected, f"({text} @ {other.text})")
    if kind == "concatenate" and x.ndim >= 1:
        axis = draw(st.integers(0, x.ndim - 1))
        shape = list(x.shape)
        shape[axis] = draw(st.integers(0, max_side))
        other = draw(sources(shape=tuple(shape)))
        return Expression(la.concatenate([x, other.array], axis=axis),
                          np.concatenate([ref, other.expected], axis=axis),
                          f"concatenate([{text}, {other.text}], axis={axis})")
    if kind == "map_blocks":
        return Expression(x.map_blocks(twice, dtype=x.dtype), ref * 2,
                          f"{text}.map_blocks(twice)")
    if kind == "where":
        return Expression(la.where(x > 0, x, 0), np.where(ref > 0, ref, 0),
                          f"where({text} > 0, {text}, 0)")
    return None


def _identity(draw: Callable, name: str, e: Expression) -> Expression:
    f, sym, value = _IDENTITIES[name]
    value = draw(st.sampled_from([value, float(value)]))
    operands = [(e.array, e.expected, e.text), (value, value, repr(value))]
    if name in ("add0", "multiply1") and draw(st.booleans()):
        operands.reverse()
    (a, ra, ta), (b, rb, tb) = operands
    return Expression(f(a, b), f(ra, rb), f"({ta} {sym} {tb})")


def _index_text(index: tuple) -> str:
    parts = []
    for entry in index:
        if entry is None:
            parts.append("None")
        elif isinstance(entry, slice):
            start, stop = ("" if v is None else str(v) for v in (entry.start, entry.stop))
            parts.append(f"{start}:{stop}" + ("" if entry.step is None else f":{entry.step}"))
        else:
            parts.append(str(entry))
    return ", ".join(parts)
