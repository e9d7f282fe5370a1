"""Creation functions against NumPy over random shapes and chunks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import lamina.array as la
from lamina.layers.chunks import normalize_chunks

DTYPES = ["f8", "f4", "i8", "i4", "u1", "bool", "c16"]


@st.composite
def shapes(draw, max_ndim=3, max_side=9):
    return tuple(draw(st.integers(0, max_side)) for _ in range(draw(st.integers(0, max_ndim))))


@st.composite
def chunks_for(draw, shape):
    """Chunks for ``shape`` in any accepted form: int, -1, "auto", sizes per axis."""
    form = draw(st.sampled_from(["int", "auto", "per-axis"]))
    if form == "int":
        return draw(st.integers(1, 5))
    if form == "auto":
        return "auto"
    out = []
    for n in shape:
        kind = draw(st.sampled_from(["int", "whole", "sizes"]))
        if kind == "int":
            out.append(draw(st.integers(1, 5)))
        elif kind == "whole":
            out.append(-1)
        else:
            sizes, left = [], n
            while left:
                size = draw(st.integers(1, left))
                sizes.append(size)
                left -= size
            out.append(tuple(sizes) or (0,))
    return tuple(out)


@st.composite
def shapes_and_chunks(draw):
    shape = draw(shapes())
    return shape, draw(chunks_for(shape))


def expected_chunks(chunks, shape, dtype="f8"):
    return normalize_chunks(chunks, shape, dtype)


def check_blocks_tile_shape(x: la.Array) -> None:
    assert tuple(sum(c) for c in x.chunks) == x.shape
    assert all(all(s > 0 for s in c) or c == (0,) for c in x.chunks)


@settings(max_examples=50, deadline=None)
@given(shapes_and_chunks(), st.sampled_from(DTYPES))
def test_from_array_equals_numpy(shape_chunks, dtype):
    shape, chunks = shape_chunks
    data = (np.arange(math.prod(shape)).reshape(shape) % 7).astype(dtype)
    x = la.from_array(data, chunks=chunks)
    assert x.shape == shape and x.dtype == data.dtype
    assert x.chunks == expected_chunks(chunks, shape, dtype)
    check_blocks_tile_shape(x)
    value = x.compute()
    assert value.dtype == data.dtype
    np.testing.assert_array_equal(value, data)


@settings(max_examples=40, deadline=None)
@given(shapes_and_chunks(), st.sampled_from(DTYPES))
def test_zeros_ones_equal_numpy(shape_chunks, dtype):
    shape, chunks = shape_chunks
    for lamina_func, numpy_func in ((la.zeros, np.zeros), (la.ones, np.ones)):
        x = lamina_func(shape, dtype=dtype, chunks=chunks)
        assert x.chunks == expected_chunks(chunks, shape, dtype)
        value = x.compute()
        expected = numpy_func(shape, dtype=dtype)
        assert value.dtype == expected.dtype
        np.testing.assert_array_equal(value, expected)


@settings(max_examples=40, deadline=None)
@given(shapes_and_chunks(),
       st.one_of(st.integers(-100, 100), st.floats(-1e6, 1e6), st.booleans()),
       st.sampled_from([None, "f8", "i4", "f4"]))
def test_full_equals_numpy(shape_chunks, fill, dtype):
    shape, chunks = shape_chunks
    expected = np.full(shape, fill, dtype=dtype)
    x = la.full(shape, fill, chunks=chunks, dtype=dtype)
    assert x.dtype == expected.dtype
    value = x.compute()
    assert value.dtype == expected.dtype
    np.testing.assert_array_equal(value, expected)


@settings(max_examples=30, deadline=None)
@given(shapes_and_chunks(), st.sampled_from(DTYPES))
def test_empty_has_shape_and_dtype(shape_chunks, dtype):
    shape, chunks = shape_chunks
    x = la.empty(shape, dtype=dtype, chunks=chunks)
    value = x.compute()
    assert x.shape == value.shape == shape
    assert x.dtype == value.dtype == np.dtype(dtype)
    assert x.chunks == expected_chunks(chunks, shape, dtype)


@settings(max_examples=60, deadline=None)
@given(st.integers(-20, 20), st.integers(-20, 20), st.integers(-5, 5).filter(bool),
       st.integers(1, 6))
def test_arange_integers_equals_numpy(start, stop, step, chunk):
    expected = np.arange(start, stop, step)
    x = la.arange(start, stop, step, chunks=chunk)
    assert x.shape == expected.shape and x.dtype == expected.dtype
    np.testing.assert_array_equal(x.compute(), expected)


@settings(max_examples=60, deadline=None)
@given(st.floats(-50, 50), st.floats(-50, 50),
       st.floats(0.05, 7).flatmap(lambda s: st.sampled_from([s, -s])), st.integers(1, 6))
def test_arange_floats_equals_numpy(start, stop, step, chunk):
    expected = np.arange(start, stop, step)
    x = la.arange(start, stop, step, chunks=chunk)
    assert x.shape == expected.shape and x.dtype == expected.dtype
    np.testing.assert_array_equal(x.compute(), expected)


@settings(max_examples=60, deadline=None)
@given(st.integers(-30, 30), st.integers(-30, 30), st.integers(-4, 4).filter(bool),
       st.sampled_from(["f8", "f4", "f2", "i1", "i8", "c16"]), st.integers(1, 6))
def test_arange_with_dtype_equals_numpy_bit_for_bit(start, stop, step, dtype, chunk):
    start, step = start / 4, step / 3
    expected = np.arange(start, stop, step, dtype=dtype)
    x = la.arange(start, stop, step, dtype=dtype, chunks=chunk)
    assert x.shape == expected.shape and x.dtype == expected.dtype
    np.testing.assert_array_equal(x.compute(), expected)


def test_arange_one_argument_and_dtype():
    np.testing.assert_array_equal(la.arange(7, chunks=3).compute(), np.arange(7))
    x = la.arange(0, 5, dtype="f4", chunks=2)
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x.compute(), np.arange(0, 5, dtype="f4"))
    y = la.arange(0, 250, 50, dtype="u1", chunks=2)
    np.testing.assert_array_equal(y.compute(), np.arange(0, 250, 50, dtype="u1"))


@settings(max_examples=60, deadline=None)
@given(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3), st.integers(0, 30), st.booleans(),
       st.integers(1, 7))
def test_linspace_equals_numpy(start, stop, num, endpoint, chunk):
    expected = np.linspace(start, stop, num, endpoint=endpoint)
    x = la.linspace(start, stop, num, endpoint=endpoint, chunks=chunk)
    assert x.shape == expected.shape and x.dtype == expected.dtype
    np.testing.assert_array_equal(x.compute(), expected)


@pytest.mark.parametrize("start, stop, num", [(0, 10, 5), (-10, 0, 7), (3, -4, 9)])
def test_linspace_integer_dtype_rounds_down_like_numpy(start, stop, num):
    np.testing.assert_array_equal(la.linspace(start, stop, num, dtype=int, chunks=2).compute(),
                                  np.linspace(start, stop, num, dtype=int))


@settings(max_examples=30, deadline=None)
@given(shapes_and_chunks(), st.sampled_from(["f8", "i4"]))
def test_like_functions_keep_shape_and_chunks(shape_chunks, dtype):
    shape, chunks = shape_chunks
    a = la.ones(shape, dtype=dtype, chunks=chunks)
    for func, expected in ((la.zeros_like, 0), (la.ones_like, 1)):
        x = func(a)
        assert x.chunks == a.chunks and x.dtype == a.dtype
        np.testing.assert_array_equal(x.compute(), np.full(shape, expected, dtype=dtype))
    f = la.full_like(a, 3)
    assert f.chunks == a.chunks
    np.testing.assert_array_equal(f.compute(), np.full(shape, 3, dtype=dtype))
    e = la.empty_like(a, dtype="f4")
    assert e.chunks == a.chunks and e.dtype == np.float32


def test_like_functions_on_numpy_arrays_take_shape_and_dtype():
    data = np.ones((3, 4), dtype="i2")
    x = la.full_like(data, 2.7)
    assert x.dtype == np.int16
    np.testing.assert_array_equal(x.compute(), np.full_like(data, 2.7))


def test_asarray_returns_an_array_unchanged_and_wraps_lists():
    x = la.ones(4, chunks=2)
    assert la.asarray(x) is x
    np.testing.assert_array_equal(la.asarray([[1, 2], [3, 4]]).compute(), [[1, 2], [3, 4]])


def test_from_array_of_an_array_rechunks():
    x = la.from_array(np.arange(10), chunks=3)
    assert la.from_array(x) is x
    y = la.from_array(x, chunks=4)
    assert y.chunks == ((4, 4, 2),)
    np.testing.assert_array_equal(y.compute(), np.arange(10))


def test_zero_dimensional_sources():
    assert la.from_array(np.float32(2.5)).compute() == np.float32(2.5)
    assert la.ones(()).compute() == 1.0
    assert la.full((), 7, dtype="i2").compute().dtype == np.int16


@settings(max_examples=40, deadline=None)
@given(shapes(max_ndim=3, max_side=5), st.data())
def test_broadcast_to_equals_numpy(shape, data):
    ndim_in = data.draw(st.integers(0, len(shape)))
    in_shape = tuple(
        data.draw(st.sampled_from([1, n])) for n in shape[len(shape) - ndim_in:])
    source = np.arange(math.prod(in_shape)).reshape(in_shape)
    x = la.from_array(source, chunks=data.draw(chunks_for(in_shape)))
    y = la.broadcast_to(x, shape)
    expected = np.broadcast_to(source, shape)
    assert y.shape == expected.shape
    np.testing.assert_array_equal(y.compute(), expected)


@pytest.mark.parametrize("call, error, match", [
    (lambda: la.zeros((3, 4), chunks=(2,)), ValueError, "one chunk size per dimension"),
    (lambda: la.ones(5, chunks=((2, 2),)), ValueError, "must add up to its length"),
    (lambda: la.ones(5, chunks=0), ValueError, "must be positive"),
    (lambda: la.ones(5, chunks=("big",)), ValueError, "not understood"),
    (lambda: la.from_array(np.arange(6), chunks=(2, 2)), ValueError, "one chunk size"),
    (lambda: la.zeros(3, dtype="no-such-dtype"), TypeError, "not understood"),
    (lambda: la.empty(3, dtype="no-such-dtype"), TypeError, "not understood"),
    (lambda: la.full(3, 1, dtype="no-such-dtype"), TypeError, "not understood"),
    (lambda: la.zeros(-1), ValueError, "negative"),
    (lambda: la.full(3, np.ones(2)), ValueError, "fill_value must be a scalar"),
    (lambda: la.arange(0, 10, 0), ZeroDivisionError, "step must not be zero"),
    (lambda: la.linspace(0, 1, -1), ValueError, "must be non-negative"),
    (lambda: la.from_array(np.array([object()])), TypeError, "object arrays"),
    (lambda: la.broadcast_to(la.ones((2, 3), chunks=1), (4, 3)), ValueError, "broadcast"),
])
def test_bad_arguments_raise(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_error_types_match_numpy():
    for numpy_call, lamina_call in [
        (lambda: np.zeros(3, dtype="no-such-dtype"), lambda: la.zeros(3, dtype="no-such-dtype")),
        (lambda: np.arange(0, 10, 0), lambda: la.arange(0, 10, 0)),
        (lambda: np.linspace(0, 1, -1), lambda: la.linspace(0, 1, -1)),
        (lambda: np.zeros(-1), lambda: la.zeros(-1)),
    ]:
        with pytest.raises(Exception) as from_numpy:
            numpy_call()
        with pytest.raises(type(from_numpy.value)):
            lamina_call()


@settings(max_examples=30, deadline=None)
@given(shapes_and_chunks())
def test_auto_chunks_respect_the_block_budget(shape_chunks):
    shape, _ = shape_chunks
    assume(all(shape))
    x = la.ones(shape)
    check_blocks_tile_shape(x)
    assert math.prod(x.chunksize) * 8 <= 128 * 2**20
