"""Elementwise operations and map_blocks against NumPy, over random shapes and chunks."""

from __future__ import annotations

import math
import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina.array as la
from lamina.array.elementwise import imag, real
from lamina.layers.base import Layer

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@st.composite
def partition(draw, n):
    """Random block sizes along an axis of length ``n``."""
    sizes, left = [], n
    while left:
        size = draw(st.integers(1, left))
        sizes.append(size)
        left -= size
    return tuple(sizes) or (0,)


@st.composite
def chunked(draw, shape):
    return tuple(draw(partition(n)) for n in shape)


@st.composite
def broadcast_shapes(draw, n_args, max_ndim=3, max_side=5):
    """``n_args`` shapes that broadcast together: trailing axes of one shape, some set to 1."""
    out = [draw(st.integers(0, max_side)) for _ in range(draw(st.integers(0, max_ndim)))]
    shapes = []
    for _ in range(n_args):
        ndim = draw(st.integers(0, len(out)))
        shapes.append(tuple(draw(st.sampled_from([1, n])) for n in out[len(out) - ndim:]))
    return shapes


def values(seed: int, shape: tuple[int, ...], kind: str) -> np.ndarray:
    """Deterministic test data: 'float' (with negatives and zeros), 'int' (1..9), 'bool'."""
    rng = np.random.default_rng(seed)
    if kind == "float":
        return np.asarray(np.round(rng.standard_normal(shape) * 4, 1))
    if kind == "int":
        return np.asarray(rng.integers(1, 10, size=shape))
    return np.asarray(rng.integers(0, 2, size=shape).astype(bool))


@st.composite
def operands(draw, n_args, kind="float"):
    """(numpy values, lamina Arrays with random chunks) for broadcastable operands."""
    shapes = draw(broadcast_shapes(n_args))
    seed = draw(st.integers(0, 2**16))
    arrays = [values(seed + i, s, kind) for i, s in enumerate(shapes)]
    lazy = [la.from_array(a, chunks=draw(chunked(a.shape))) for a in arrays]
    return arrays, lazy


def assert_same(result: la.Array, expected: np.ndarray) -> None:
    assert isinstance(result, la.Array)
    assert result.shape == expected.shape
    assert result.dtype == expected.dtype
    value = result.compute()
    assert value.dtype == expected.dtype
    np.testing.assert_array_equal(value, expected)


UNARY_FLOAT = [np.negative, np.positive, np.absolute, np.sqrt, np.exp, np.log1p, np.sin,
               np.cos, np.tanh, np.floor, np.ceil, np.rint, np.sign, np.square, np.isnan,
               np.isfinite, np.signbit, np.logical_not, np.reciprocal, np.conjugate, np.cbrt,
               np.degrees, np.spacing, np.trunc]
UNARY_INT = [np.invert, np.negative, np.absolute, np.square, np.bitwise_count, np.sqrt]
BINARY_FLOAT = [np.add, np.subtract, np.multiply, np.true_divide, np.floor_divide,
                np.remainder, np.power, np.maximum, np.minimum, np.fmax, np.fmin, np.arctan2,
                np.hypot, np.logical_and, np.logical_or, np.logical_xor, np.equal,
                np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal,
                np.copysign, np.fmod, np.heaviside, np.nextafter]
BINARY_INT = [np.bitwise_and, np.bitwise_or, np.bitwise_xor, np.left_shift, np.right_shift,
              np.gcd, np.lcm, np.floor_divide, np.remainder, np.power, np.true_divide]


@pytest.mark.parametrize("ufunc", UNARY_FLOAT, ids=lambda u: u.__name__)
@settings(max_examples=8, deadline=None)
@given(case=operands(1))
def test_unary_ufuncs_on_floats(ufunc, case):
    (a,), (x,) = case
    assert_same(ufunc(x), ufunc(a))


@pytest.mark.parametrize("ufunc", UNARY_INT, ids=lambda u: u.__name__)
@settings(max_examples=8, deadline=None)
@given(case=operands(1, "int"))
def test_unary_ufuncs_on_integers(ufunc, case):
    (a,), (x,) = case
    assert_same(ufunc(x), ufunc(a))


@pytest.mark.parametrize("ufunc", BINARY_FLOAT, ids=lambda u: u.__name__)
@settings(max_examples=10, deadline=None)
@given(case=operands(2))
def test_binary_ufuncs_broadcast_like_numpy(ufunc, case):
    (a, b), (x, y) = case
    assert_same(ufunc(x, y), ufunc(a, b))


@pytest.mark.parametrize("ufunc", BINARY_INT, ids=lambda u: u.__name__)
@settings(max_examples=10, deadline=None)
@given(case=operands(2, "int"))
def test_binary_ufuncs_on_integers(ufunc, case):
    (a, b), (x, y) = case
    assert_same(ufunc(x, y), ufunc(a, b))


@settings(max_examples=30, deadline=None)
@given(case=operands(3))
def test_three_way_broadcast_chains(case):
    (a, b, c), (x, y, z) = case
    assert_same((x + y) * z - x / 2, (a + b) * c - a / 2)


OPERATORS = [operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv,
             operator.mod, operator.pow, operator.eq, operator.ne, operator.lt, operator.le,
             operator.gt, operator.ge]
INT_OPERATORS = [operator.and_, operator.or_, operator.xor, operator.lshift, operator.rshift]


@pytest.mark.parametrize("op", OPERATORS + INT_OPERATORS, ids=lambda o: o.__name__)
@settings(max_examples=10, deadline=None)
@given(case=operands(2, "int"), scalar=st.integers(1, 5))
def test_operators_and_reflected_operators(op, case, scalar):
    (a, b), (x, y) = case
    assert_same(op(x, y), op(a, b))
    assert_same(op(x, scalar), op(a, scalar))
    assert_same(op(scalar, x), op(scalar, a))
    assert_same(op(x, b), op(a, b))
    assert_same(op(a, y), op(a, b))


@pytest.mark.parametrize("op", OPERATORS, ids=lambda o: o.__name__)
@settings(max_examples=6, deadline=None)
@given(case=operands(2, "float"), scalar=st.sampled_from([2.5, -1.0, np.float32(3.0)]))
def test_operators_on_floats_with_float_scalars(op, case, scalar):
    (a, b), (x, y) = case
    assert_same(op(x, y), op(a, b))
    assert_same(op(x, scalar), op(a, scalar))
    assert_same(op(scalar, x), op(scalar, a))


@settings(max_examples=25, deadline=None)
@given(case=operands(1, "int"), bits=st.booleans())
def test_unary_operators(case, bits):
    (a,), (x,) = case
    assert_same(-x, -a)
    assert_same(+x, +a)
    assert_same(abs(-x), abs(-a))
    assert_same(~x, ~a)
    if bits:
        assert_same(~(x > 3), ~(a > 3))


def test_python_scalars_keep_the_array_dtype_like_numpy():
    a = np.arange(6, dtype=np.int8)
    x = la.from_array(a, chunks=4)
    assert_same(x + 1, a + 1)
    assert_same(x * 2.5, a * 2.5)
    f = np.arange(6, dtype=np.float32)
    assert_same(la.from_array(f, chunks=4) + 1.5, f + 1.5)
    assert_same(la.from_array(f, chunks=4) + np.float64(1.5), f + np.float64(1.5))
    with pytest.raises(OverflowError):
        np.add(a, 300)
    with pytest.raises(OverflowError):
        x + 300


@settings(max_examples=30, deadline=None)
@given(case=operands(2, "int"))
def test_divmod_gives_two_outputs(case):
    (a, b), (x, y) = case
    q, r = divmod(x, y)
    eq, er = divmod(a, b)
    assert_same(q, eq)
    assert_same(r, er)
    q, r = np.divmod(x, 3)
    assert_same(q, a // 3)
    assert_same(r, a % 3)
    q, r = divmod(7, x)
    assert_same(q, 7 // a)
    assert_same(r, 7 % a)


@settings(max_examples=20, deadline=None)
@given(case=operands(1))
def test_other_two_output_ufuncs(case):
    (a,), (x,) = case
    for lazy, expected in zip(np.frexp(x), np.frexp(a)):
        assert_same(lazy, expected)
    for lazy, expected in zip(np.modf(x), np.modf(a)):
        assert_same(lazy, expected)


def test_ufunc_keyword_arguments_reach_every_block():
    a = np.arange(12).reshape(3, 4)
    x = la.from_array(a, chunks=2)
    y = np.add(x, 1, dtype="f4")
    assert_same(y, np.add(a, 1, dtype="f4"))
    assert all(b.dtype == np.float32 for b in y.persist().layer.blocks.value)
    q, r = np.divmod(x, 3, dtype="f8")
    assert_same(q, np.divmod(a, 3, dtype="f8")[0])
    assert_same(r, np.divmod(a, 3, dtype="f8")[1])
    assert np.divmod(x, 3)[0].name != q.name


def test_lists_are_operands_like_numpy_arrays():
    a = np.arange(12).reshape(3, 4)
    x = la.from_array(a, chunks=2)
    assert_same(x + [1, 2, 3, 4], a + [1, 2, 3, 4])
    assert_same(np.multiply([[1], [2], [3]], x), np.multiply([[1], [2], [3]], a))


def test_zero_dimensional_numpy_operands():
    a = np.arange(6.0).reshape(2, 3)
    x = la.from_array(a, chunks=(1, 2))
    assert_same(x + np.array(5.0), a + np.array(5.0))
    assert_same(la.from_array(np.float64(2.0)) * x, np.float64(2.0) * a)


@settings(max_examples=40, deadline=None)
@given(case=operands(1), dtype=st.sampled_from(["f4", "f8", "i1", "i8", "u2", "bool", "c8"]))
def test_astype_equals_numpy(case, dtype):
    (a,), (x,) = case
    assert_same(x.astype(dtype), a.astype(dtype))
    assert_same(la.astype(x, dtype), a.astype(dtype))


def test_astype_to_the_same_dtype_shares_the_layer():
    x = la.ones(4, chunks=2)
    assert x.astype("f8", copy=False) is x
    copied = x.astype("f8")  # a new handle: x[i] = v later does not change it
    assert copied is not x and copied.layer == x.layer


@pytest.mark.parametrize("source, target, casting", [
    ("f8", "i4", "safe"), ("f8", "i8", "same_kind"), ("f8", "f4", "safe"),
    ("c16", "f8", "same_kind"),
])
def test_astype_casting_rules_raise_like_numpy(source, target, casting):
    a = np.ones(3, dtype=source)
    with pytest.raises(TypeError):
        a.astype(target, casting=casting)
    with pytest.raises(TypeError, match=f"according to the rule '{casting}'"):
        la.from_array(a, chunks=2).astype(target, casting=casting)


def test_astype_with_an_unknown_dtype_raises_type_error():
    with pytest.raises(TypeError, match="not understood"):
        la.ones(3).astype("no-such-dtype")


@settings(max_examples=40, deadline=None)
@given(case=operands(3))
def test_where_equals_numpy(case):
    (c, a, b), (z, x, y) = case
    assert_same(la.where(z > 0, x, y), np.where(c > 0, a, b))
    assert_same(np.where(z > 0, x, -1.5), np.where(c > 0, a, -1.5))
    assert_same(la.where(c > 0, 1, y), np.where(c > 0, 1, b))


def test_where_argument_errors():
    x = la.ones(3)
    with pytest.raises(NotImplementedError, match="nonzero"):
        la.where(x > 0)
    with pytest.raises(ValueError, match="both or neither"):
        la.where(x > 0, x)


def test_real_and_imag():
    a = np.arange(5) + 1j * np.arange(5)[::-1]
    x = la.from_array(a, chunks=2)
    assert_same(real(x), np.real(a))
    assert_same(imag(x), np.imag(a))


@settings(max_examples=30, deadline=None)
@given(case=operands(1))
def test_map_blocks_keeps_blocks(case):
    (a,), (x,) = case
    y = x.map_blocks(lambda b: b * 2 + 1, dtype=a.dtype)
    assert y.chunks == x.chunks
    assert_same(y, a * 2 + 1)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 6), st.integers(1, 6), st.data())
def test_map_blocks_drop_axis(rows, cols, data):
    a = values(rows * 7 + cols, (rows, cols), "float")
    x = la.from_array(a, chunks=data.draw(chunked(a.shape)))
    y = x.map_blocks(lambda b: b.sum(axis=1), drop_axis=1, dtype=a.dtype)
    assert y.chunks == (x.chunks[0],)
    np.testing.assert_allclose(y.compute(), a.sum(axis=1))
    z = x.map_blocks(lambda b: b.max(axis=0), drop_axis=-2, dtype=a.dtype) if rows else None
    if z is not None:
        assert_same(z, a.max(axis=0))


@settings(max_examples=30, deadline=None)
@given(case=operands(1), where=st.integers(0, 3))
def test_map_blocks_new_axis(case, where):
    (a,), (x,) = case
    axis = min(where, a.ndim)
    y = x.map_blocks(lambda b: np.expand_dims(b, axis), new_axis=axis, dtype=a.dtype)
    assert y.chunks == x.chunks[:axis] + ((1,),) + x.chunks[axis:]
    assert_same(y, np.expand_dims(a, axis))


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 8), st.integers(1, 8), st.data())
def test_map_blocks_with_output_chunks(rows, cols, data):
    a = values(rows + 10 * cols, (rows, cols), "int")
    x = la.from_array(a, chunks=data.draw(chunked(a.shape)))
    y = x.map_blocks(lambda b: b.sum(keepdims=True), chunks=(1, 1), dtype=a.dtype)
    assert y.shape == x.numblocks
    starts = [np.concatenate([[0], np.cumsum(c)]) for c in x.chunks]
    expected = np.array([[a[starts[0][i]:starts[0][i + 1], starts[1][j]:starts[1][j + 1]].sum()
                          for j in range(x.numblocks[1])] for i in range(x.numblocks[0])])
    assert_same(y, expected)
    doubled = tuple(tuple(2 * s for s in c) for c in x.chunks)
    z = x.map_blocks(lambda b: np.repeat(np.repeat(b, 2, 0), 2, 1), chunks=doubled,
                     dtype=a.dtype)
    assert_same(z, np.repeat(np.repeat(a, 2, 0), 2, 1))


def test_map_blocks_several_arguments_constants_and_keywords():
    a = np.arange(24.0).reshape(4, 6)
    b = np.arange(6.0).reshape(1, 6) * 10
    x = la.from_array(a, chunks=(2, 3))
    y = la.from_array(b, chunks=(1, 2))
    w = la.from_array(a * 3, chunks=(4, 6))

    def combine(p, q, r, scale, offset=0.0):
        return p + q * scale + r + offset

    result = la.map_blocks(combine, x, y, w, 0.5, offset=1.0, dtype=a.dtype)
    assert result.chunks == x.chunks
    assert_same(result, a + b * 0.5 + a * 3 + 1.0)


@pytest.mark.parametrize("call, error, match", [
    (lambda x: la.map_blocks(lambda b: b.reshape(2, 3), x), ValueError, "Pass dtype="),
    (lambda x: la.map_blocks(lambda b: b, 3, dtype=float), TypeError, "lamina Array"),
    (lambda x: x.map_blocks(lambda b: b, chunks=((6,), (3, 3)), dtype=float), ValueError,
     "one output block per input block"),
    (lambda x: x.map_blocks(lambda b: b, chunks=(2,), dtype=float), ValueError,
     "one entry per output axis"),
    (lambda x: la.map_blocks(np.add, x, la.ones(6, chunks=2), dtype=float), ValueError,
     "same number of dimensions"),
    (lambda x: la.map_blocks(np.add, x, la.ones((4, 6)), dtype=float), ValueError,
     "do not line up"),
])
def test_map_blocks_errors(call, error, match):
    x = la.ones((6, 6), chunks=(2, 3))
    with pytest.raises(error, match=match):
        call(x)


@pytest.mark.parametrize("left, right", [((3,), (4,)), ((2, 3), (3, 2)), ((5, 1), (4, 2))])
def test_non_broadcastable_shapes_raise_value_error(left, right):
    with pytest.raises(ValueError):
        np.ones(left) + np.ones(right)
    with pytest.raises(ValueError, match="broadcast"):
        la.ones(left, chunks=2) + la.ones(right, chunks=2)
    with pytest.raises(ValueError, match="broadcast"):
        la.ones(left, chunks=2) + np.ones(right)


def test_elemwise_needs_an_array_argument():
    with pytest.raises(TypeError, match="at least one array"):
        la.elemwise(np.add, 1, 2)


def test_ufunc_where_keyword_is_refused_with_advice():
    x = la.ones(4, chunks=2)
    with pytest.raises(TypeError, match="lamina.array.where"):
        np.add(x, 1, where=np.ones(4, dtype=bool))


def test_unsupported_ufunc_methods_raise_type_error():
    x = la.ones(4, chunks=2)
    with pytest.raises(TypeError, match="numpy.add.at is not supported"):
        np.add.at(x, [0], 1)


def reference_blockwise_deps(layer: Layer, arg: Layer, axes: tuple) -> list[list[int]]:
    """For each output block, one at a time: the blocks of ``arg`` it reads."""
    out = []
    for flat in range(layer.nblocks):
        idx = layer.block_index(flat)
        in_idx = []
        for k, o in enumerate(axes):
            in_idx.append(0 if o is None or arg.numblocks[k] == 1 else idx[o])
        out.append([int(np.ravel_multi_index(in_idx, arg.numblocks)) if arg.ndim else 0])
    return out


@settings(max_examples=60, deadline=None)
@given(case=operands(3))
def test_blockwise_deps_match_a_block_by_block_reference(case):
    _, (x, y, z) = case
    layer = np.where(x > 0, y, z).layer
    deps = layer.block_deps(np.arange(layer.nblocks, dtype=np.int64))
    args = [a for a in layer.args if isinstance(a, Layer)]
    axes = [ax for a, ax in zip(layer.args, layer.arg_axes) if isinstance(a, Layer)]
    assert len(deps) == len(args)
    for (indptr, indices), arg, ax in zip(deps, args, axes):
        got = [indices[indptr[i]:indptr[i + 1]].tolist() for i in range(layer.nblocks)]
        assert got == reference_blockwise_deps(layer, arg, ax)


def test_size_zero_axes_broadcast_like_numpy():
    a, b = np.ones((0, 3)), np.arange(3.0)
    assert_same(la.from_array(a, chunks=2) + la.from_array(b, chunks=2), a + b)
    c = np.ones((1, 3))
    assert_same(la.from_array(c, chunks=2) * la.from_array(a, chunks=2), c * a)
    assert math.prod((la.ones((0, 3)) + 1).shape) == 0
