"""``map_blocks``: declared chunks are checked, changed shapes declared, dtype inferred.

Every result is compared with NumPy applied to the whole array (the
functions used are blockwise by nature, or compared per block).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina
import lamina.array as la
from lamina.layers.blockwise import BlockDtypeError, BlockShapeError
from lamina.testing.strategies import chunks_for

X = np.arange(20.0)


def _x(chunks=((6, 6, 8),)):
    return la.from_array(X, chunks=chunks)


def _first(b):
    return b[:1]


# wrong shapes raise --------------------------------------------------------

def test_block_of_wrong_shape_raises_instead_of_broadcasting():
    with pytest.raises(BlockShapeError) as info:
        _x().map_blocks(_first, dtype=float).sum().compute()
    message = str(info.value)
    assert "_first" in message
    assert "block (0,)" in message
    assert "shape (1,)" in message and "(6,)" in message
    assert "chunks=" in message


def test_wrong_shape_names_the_failing_block():
    def shrink_last(b):
        return b[:-1] if len(b) == 8 else b
    with pytest.raises(BlockShapeError, match=r"shape \(7,\) for block \(2,\).*shape \(8,\)"):
        _x().map_blocks(shrink_last).compute()


def test_wrong_number_of_dimensions_raises():
    with pytest.raises(BlockShapeError, match=r"shape \(6, 1\)"):
        _x().map_blocks(lambda b: b[:, None]).compute()


def test_non_array_block_raises():
    with pytest.raises(BlockShapeError, match="float, not an array"):
        _x().map_blocks(lambda b: float(b.sum()), dtype=float).compute()


def test_wrong_declared_chunks_raise():
    with pytest.raises(BlockShapeError, match=r"block \(0,\)"):
        _x().map_blocks(_first, chunks=((2, 2, 2),)).compute()


# chunks=, drop_axis=, new_axis= -------------------------------------------

def test_reproducer_with_declared_chunks_matches_numpy():
    x = _x(((5, 5, 5, 5),))
    got = x.map_blocks(_first, chunks=((1, 1, 1, 1),)).sum().compute()
    assert got == X[::5].sum()


def test_chunks_as_one_size_per_axis():
    got = _x().map_blocks(lambda b: b[:2], chunks=(2,))
    assert got.chunks == ((2, 2, 2),)
    np.testing.assert_array_equal(got.compute(), np.concatenate([X[0:2], X[6:8], X[12:14]]))


def test_chunks_with_another_number_of_blocks_is_refused():
    with pytest.raises(ValueError, match="rechunk the input first"):
        _x().map_blocks(_first, chunks=((1, 1),))


def test_chunks_with_wrong_number_of_axes_is_refused():
    with pytest.raises(ValueError, match="one entry per output axis"):
        _x().map_blocks(_first, chunks=((1, 1, 1), (1, 1, 1)), new_axis=[])


@st.composite
def matrices(draw):
    shape = (draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    data = np.arange(np.prod(shape), dtype=float).reshape(shape) - 7.5
    return data, draw(chunks_for(shape))


@settings(max_examples=25)
@given(matrices(), st.sampled_from([0, 1, -1]))
def test_drop_axis_matches_numpy(case, axis):
    data, chunks = case
    x = la.from_array(data, chunks=chunks)
    got = x.map_blocks(lambda b: b.sum(axis=axis), drop_axis=axis).compute()
    np.testing.assert_allclose(got, data.sum(axis=axis))


@settings(max_examples=25)
@given(matrices(), st.integers(0, 2))
def test_new_axis_matches_numpy(case, axis):
    data, chunks = case
    x = la.from_array(data, chunks=chunks)
    got = x.map_blocks(lambda b: np.expand_dims(b, axis), new_axis=axis)
    assert got.shape == np.expand_dims(data, axis).shape
    np.testing.assert_array_equal(got.compute(), np.expand_dims(data, axis))


@settings(max_examples=25)
@given(matrices(), st.integers(1, 3))
def test_new_axis_with_declared_size_matches_numpy(case, width):
    data, chunks = case
    x = la.from_array(data, chunks=chunks)
    weights = np.arange(1.0, width + 1)
    got = x.map_blocks(lambda b: b[..., None] * weights, new_axis=2,
                       chunks=(x.chunks[0], x.chunks[1], width))
    np.testing.assert_array_equal(got.compute(), data[..., None] * weights)


@settings(max_examples=25)
@given(matrices())
def test_drop_and_new_axis_together_match_numpy(case):
    data, chunks = case
    x = la.from_array(data, chunks=chunks)
    got = x.map_blocks(lambda b: b.max(axis=1)[None, :], drop_axis=1, new_axis=0)
    np.testing.assert_array_equal(got.compute(), data.max(axis=1)[None, :])


@settings(max_examples=25)
@given(matrices())
def test_shape_changing_function_with_declared_chunks_matches_numpy(case):
    data, chunks = case
    x = la.from_array(data, chunks=chunks)
    got = x.map_blocks(lambda b: b[:1], chunks=((1,) * len(x.chunks[0]), x.chunks[1]))
    starts = np.cumsum((0,) + x.chunks[0][:-1])
    np.testing.assert_array_equal(got.compute(), data[starts])
    np.testing.assert_allclose(got.sum().compute(), data[starts].sum())


def test_chunks_longer_than_output_add_leading_axes():
    got = _x().map_blocks(lambda b: b[None], chunks=((1,), (6, 6, 8)))
    np.testing.assert_array_equal(got.compute(), X[None])


def test_out_of_range_axes_are_refused():
    with pytest.raises(ValueError, match="drop_axis=3 is out of range"):
        _x().map_blocks(np.sum, drop_axis=3)
    with pytest.raises(ValueError, match="new_axis=5 is out of range"):
        _x().map_blocks(np.sum, new_axis=5)


# dtype -----------------------------------------------------------------------

def test_dtype_inferred_int_to_float():
    ints = la.from_array(np.arange(10), chunks=((3, 3, 4),))
    got = ints.map_blocks(lambda b: b / 2)
    assert got.dtype == np.float64
    out = got.compute()
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, np.arange(10) / 2)


def test_dtype_inferred_bool():
    got = _x().map_blocks(lambda b: b > 7)
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got.compute(), X > 7)


def test_dtype_inference_failure_asks_for_dtype():
    def needs_six(b):
        return b.reshape(2, 3).ravel()
    with pytest.raises(ValueError, match="dtype="):
        _x().map_blocks(needs_six)


def test_declared_dtype_is_what_compute_returns():
    got = _x().map_blocks(lambda b: b.astype(np.float32), dtype=np.float64).compute()
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, X)


def test_declared_dtype_that_loses_information_raises():
    with pytest.raises(BlockDtypeError, match="dtype='float64'"):
        _x().map_blocks(lambda b: b / 3, dtype=np.int32).compute()


# several arrays, keywords, constants -----------------------------------------

def test_several_arrays_and_constants_match_numpy():
    y = np.linspace(0, 1, 20)
    got = la.map_blocks(lambda a, b, k: a * b + k, _x(), la.from_array(y, chunks=7), 3.0)
    np.testing.assert_allclose(got.compute(), X * y + 3.0)


def test_broadcast_argument_of_length_one():
    m = np.arange(12.0).reshape(3, 4)
    row = np.array([[1.0, 2.0, 3.0, 4.0]])
    x = la.from_array(m, chunks=((1, 2), (3, 1)))
    got = la.map_blocks(np.add, x, la.from_array(row, chunks=-1))
    np.testing.assert_array_equal(got.compute(), m + row)


def test_keywords_reach_the_function():
    got = _x().map_blocks(np.round, decimals=-1)
    np.testing.assert_array_equal(got.compute(), np.round(X, decimals=-1))


def test_results_in_one_compute_with_other_arrays():
    a = _x().map_blocks(_first, chunks=((1, 1, 1),))
    b = _x().map_blocks(lambda v: v * 2)
    got_a, got_b = lamina.compute(a, b)
    np.testing.assert_array_equal(got_a, X[[0, 6, 12]])
    np.testing.assert_array_equal(got_b, X * 2)


def test_ufunc_with_wrong_declared_chunks_raises():
    with pytest.raises(BlockShapeError, match=r"block \(0,\)"):
        _x().map_blocks(np.negative, chunks=((1, 1, 1),)).compute()
