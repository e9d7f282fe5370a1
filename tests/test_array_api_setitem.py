"""``x[index] = value`` rebinds ``x`` to a new layer; other expressions keep the old values."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina.array as la
from lamina.array import setitem as setitem_module
from lamina.testing.strategies import basic_indices, chunks_for, special_arrays


def test_earlier_expressions_keep_old_values():
    data = np.arange(10.0)
    x = la.from_array(data, chunks=3)
    same_object = x
    before = x + 0
    old_layer = x.layer
    x[2:5] = -1.0
    expected = data.copy()
    expected[2:5] = -1.0
    np.testing.assert_array_equal(x.compute(), expected)
    np.testing.assert_array_equal(same_object.compute(), expected)  # one object, rebound
    np.testing.assert_array_equal(before.compute(), data)
    np.testing.assert_array_equal(la.Array(old_layer).compute(), data)
    assert x.layer != old_layer


def test_lazy_expression_gets_a_blockwise_layer():
    x = la.from_array(np.arange(12.0).reshape(3, 4), chunks=(2, 3)) * 2
    layers_before = x.layer
    x[1, ::2] = np.array([7.0, 8.0])
    assert x.layer.fname == "setitem"
    expected = np.arange(12.0).reshape(3, 4) * 2
    expected[1, ::2] = [7.0, 8.0]
    np.testing.assert_array_equal(x.compute(), expected)
    np.testing.assert_array_equal(la.Array(layers_before).compute(),
                                  np.arange(12.0).reshape(3, 4) * 2)


def test_lazy_mask_with_scalar_is_where():
    data = np.array([-1.0, 2.0, np.nan, -0.0, -3.0])
    x = la.from_array(data, chunks=2)
    x[x < 0] = 0.0
    np.testing.assert_array_equal(x.compute(), np.where(data < 0, 0.0, data))


def test_lazy_zero_d_value():
    x = la.from_array(np.arange(6.0), chunks=4) + 1
    x[1:4] = la.asarray(9.0) * 2
    np.testing.assert_array_equal(x.compute(), [1, 18, 18, 18, 5, 6])


def test_value_of_wrong_shape_raises():
    x = la.from_array(np.arange(6.0), chunks=4) + 1
    with pytest.raises(ValueError, match="broadcast"):
        x[1:4] = np.ones(2)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_setitem_matches_numpy(data):
    base, x = data.draw(special_arrays(max_ndim=3, min_ndim=1))
    index = data.draw(basic_indices(base.shape))
    lazy = data.draw(st.booleans())  # a source is copied; an expression gets a layer
    if lazy:
        x = x * 1.0
    expected = base * 1.0
    target_shape = expected[index].shape
    value = data.draw(st.sampled_from(["scalar", "array", "nan"]))
    if value == "scalar":
        v = -0.0
    elif value == "nan":
        v = np.nan
    else:
        v = np.arange(int(np.prod(target_shape)), dtype=float).reshape(target_shape) - 2
    expected[index] = v
    x[index] = v
    got = x.compute()
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_integer_array_index_matches_numpy(data):
    n = data.draw(st.integers(1, 8))
    chunks = data.draw(chunks_for((n, 3)))
    positions = data.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=5, unique=True))
    base = np.arange(n * 3, dtype=np.int64).reshape(n, 3)
    x = la.from_array(base, chunks=chunks) + 0
    expected = base.copy()
    expected[positions, 1] = 100
    x[positions, 1] = 100
    np.testing.assert_array_equal(x.compute(), expected)


def test_small_source_is_copied_not_shared(monkeypatch):
    data = np.zeros(4)
    x = la.from_array(data, chunks=2)
    x[0] = 5.0
    assert data[0] == 0.0  # the user's array is not written to
    monkeypatch.setattr(setitem_module, "COPY_LIMIT_BYTES", 0)
    y = la.zeros(4, chunks=3)
    y[3] = 1.0
    assert y.layer.fname == "setitem"
    np.testing.assert_array_equal(y.compute(), [0, 0, 0, 1])
