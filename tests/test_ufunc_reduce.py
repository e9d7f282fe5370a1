"""``np.<ufunc>.reduce`` on lamina Arrays gives NumPy's values, dtypes and errors."""

import numpy as np
import pytest

import lamina.array as la

VALUES = np.array([1.0, 2.0, 3.0, 4.0])
MATRIX = np.arange(6.0).reshape(2, 3)


def test_initial_counts_once_not_once_per_block():
    x = la.from_array(VALUES, chunks=2)
    got = np.add.reduce(x, initial=10).compute()
    assert got == np.add.reduce(VALUES, initial=10) == 20.0


def test_initial_of_an_idempotent_ufunc_fills_empty_reductions():
    empty = np.zeros((0, 3))
    got = np.minimum.reduce(la.from_array(empty, chunks=1), initial=2.0).compute()
    np.testing.assert_array_equal(got, np.minimum.reduce(empty, initial=2.0))


def test_where_masks_each_block_with_the_identity():
    x = la.from_array(MATRIX, chunks=1)
    where = [True, False, True]
    got = np.add.reduce(x, axis=1, where=where).compute()
    np.testing.assert_array_equal(got, np.add.reduce(MATRIX, axis=1, where=where))  # [2, 8]


def test_where_without_identity_needs_initial_like_numpy():
    x = la.from_array(MATRIX, chunks=1)
    with pytest.raises(ValueError, match="does not have an identity"):
        np.minimum.reduce(x, axis=1, where=[True, False, True])
    got = np.minimum.reduce(x, axis=1, where=[True, False, True], initial=9.0).compute()
    np.testing.assert_array_equal(
        got, np.minimum.reduce(MATRIX, axis=1, where=[True, False, True], initial=9.0))


def test_dtype_is_the_loop_dtype_so_small_ints_wrap_like_numpy():
    data = np.array([100, 100], dtype=np.int8)
    x = la.from_array(data, chunks=1)
    got = np.add.reduce(x, dtype="int8").compute()
    expected = np.add.reduce(data, dtype="int8")
    assert got.dtype == expected.dtype == np.int8 and got == expected == -56


def test_keepdims_and_axis_tuples_follow_numpy():
    cube = np.arange(24.0).reshape(2, 3, 4)
    x = la.from_array(cube, chunks=(1, 2, 3))
    got = np.maximum.reduce(x, axis=(0, -1), keepdims=True).compute()
    np.testing.assert_array_equal(got, np.maximum.reduce(cube, axis=(0, -1), keepdims=True))


def test_out_raises_a_clear_type_error():
    x = la.from_array(VALUES, chunks=2)
    with pytest.raises(TypeError, match="out=.*not supported.*immutable"):
        np.add.reduce(x, out=np.zeros(()))


def test_a_ufunc_whose_reduce_depends_on_order_is_refused_by_name():
    x = la.from_array(VALUES, chunks=2)
    with pytest.raises(TypeError, match="numpy.subtract.reduce is not supported"):
        np.subtract.reduce(x)


def test_ufunc_outer_is_elementwise_with_numpy_special_values():
    a, b = np.arange(6.0).reshape(2, 3), np.array([np.inf, -0.0])
    x, y = la.from_array(a, chunks=1), la.from_array(b, chunks=1)
    with np.errstate(invalid="ignore"):
        got, expected = np.multiply.outer(y, x).compute(), np.multiply.outer(b, a)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))


def test_other_ufunc_methods_raise_a_clear_type_error():
    x = la.from_array(VALUES, chunks=2)
    with pytest.raises(TypeError, match="numpy.add.reduceat is not supported on lamina"):
        np.add.reduceat(x, [0, 2])


@pytest.mark.parametrize("name, kwargs", [
    ("sum", {"initial": 10}), ("sum", {"where": [True, False, True, True]}),
    ("prod", {"initial": 2}), ("max", {"initial": 10.0}),
    ("min", {"where": [True, False, True, True], "initial": 5.0}),
    ("any", {"where": [False, True, False, False]}), ("all", {"where": [1, 0, 1, 1]}),
])
def test_numpy_reductions_take_initial_and_where(name, kwargs):
    x = la.from_array(VALUES, chunks=2)
    got, expected = getattr(np, name)(x, **kwargs).compute(), getattr(np, name)(VALUES, **kwargs)
    assert got.dtype == expected.dtype and got == expected


def test_sum_with_where_keeps_sum_dtype_for_small_ints():
    data = np.array([100, 100, 5], dtype=np.int8)
    got = np.sum(la.from_array(data, chunks=1), where=[1, 1, 0]).compute()
    expected = np.sum(data, where=[1, 1, 0])
    assert got.dtype == expected.dtype == np.int64 and got == expected == 200


@pytest.mark.parametrize("where", [[1, 0, 1, 1], np.float64(1.0), np.array([1, 0, 1, 1]),
                                   np.array([0.5, 0, 1, 1])])
def test_where_is_converted_to_bool_as_numpy_converts_it(where):
    """Lists and scalars are read as booleans; an array must cast safely to bool."""
    x = la.from_array(VALUES, chunks=2)
    try:
        expected = np.add.reduce(VALUES, where=where)
    except TypeError:
        with pytest.raises(TypeError, match="Cannot cast array data"):
            np.add.reduce(x, where=where)
        return
    assert np.add.reduce(x, where=where).compute() == expected


def test_array_methods_take_initial_and_where_like_ndarray():
    x = la.from_array(VALUES, chunks=2)
    assert x.sum(initial=10).compute() == VALUES.sum(initial=10)
    mask = [True, False, True, False]
    assert x.max(where=mask, initial=0).compute() == VALUES.max(where=mask, initial=0)
    assert x.all(where=mask).compute() == VALUES.all(where=mask)
