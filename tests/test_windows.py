"""``np.pad`` (constant) and ``sliding_window_view`` on lamina Arrays equal NumPy's,
for uneven chunks, special values and empty axes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina.array as la
from lamina.testing.check import bit_equal
from lamina.testing.strategies import chunks_for, shapes, with_special_values

FAST = settings(max_examples=25, deadline=None)


@st.composite
def arrays(draw, min_ndim=0):
    shape = draw(shapes(max_ndim=3, max_side=6, min_ndim=min_ndim))
    seed = draw(st.integers(0, 2**16))
    data = with_special_values(np.random.default_rng(seed).standard_normal(shape), seed)
    return data, la.from_array(data, chunks=draw(chunks_for(shape)))


@FAST
@given(arrays(min_ndim=1), st.data())
def test_pad_equals_numpy(pair, data):
    x, arr = pair
    widths = [tuple(data.draw(st.integers(0, 3)) for _ in range(2)) for _ in range(x.ndim)]
    value = data.draw(st.sampled_from([0.0, -0.0, np.nan, np.inf, 2.5]))
    got = np.pad(arr, widths, constant_values=value)
    assert isinstance(got, la.Array)
    expected = np.pad(x, widths, constant_values=value)
    assert bit_equal(got.compute(), expected)
    assert bit_equal(got.compute(optimize_graph=False), expected)


@FAST
@given(arrays(min_ndim=1), st.data())
def test_sliding_window_view_equals_numpy(pair, data):
    x, arr = pair
    axis = data.draw(st.integers(0, x.ndim - 1))
    window = data.draw(st.integers(0, x.shape[axis]))
    got = np.lib.stride_tricks.sliding_window_view(arr, window, axis=axis)
    expected = np.lib.stride_tricks.sliding_window_view(x, window, axis=axis)
    if window:
        assert got.chunks[:axis] == arr.chunks[:axis]
    assert bit_equal(got.compute(), expected)
    with np.errstate(all="ignore"):
        assert bit_equal(got.sum(axis=-1).compute(optimize_graph=False),
                         got.sum(axis=-1).compute())


def test_a_rolling_mean_through_windows_equals_numpy():
    x = np.arange(20.0) ** 1.5
    arr = la.from_array(x, chunks=((3, 9, 8),))
    padded = np.pad(arr, (2, 2), constant_values=np.nan)
    got = np.lib.stride_tricks.sliding_window_view(padded, 5).mean(axis=-1).compute()
    expected = np.lib.stride_tricks.sliding_window_view(
        np.pad(x, (2, 2), constant_values=np.nan), 5).mean(axis=-1)
    np.testing.assert_allclose(got, expected, equal_nan=True)


def test_unsupported_pad_modes_and_windows_say_so():
    arr = la.arange(6, chunks=4)
    with pytest.raises(NotImplementedError, match="mode='constant'"):
        np.pad(arr, 1, mode="edge")
    with pytest.raises(ValueError, match="does not fit"):
        np.lib.stride_tricks.sliding_window_view(arr, 7)
    with pytest.raises(ValueError, match="negative width"):
        np.pad(arr, -1)


def test_windows_have_as_many_blocks_as_their_input_after_short_chunks_merge():
    x = np.arange(40.0)
    arr = la.from_array(x, chunks=1)
    got = np.lib.stride_tricks.sliding_window_view(arr, 7)
    assert got.chunks == ((7, 7, 7, 7, 6), (7,))
    assert bit_equal(got.compute(), np.lib.stride_tricks.sliding_window_view(x, 7))
    wide = la.from_array(x, chunks=10)
    assert np.lib.stride_tricks.sliding_window_view(wide, 7).numblocks == (4, 1)


def test_short_chunks_merge_into_the_next_and_the_last_into_the_one_before():
    from lamina.array.windows import merged_chunks

    assert merged_chunks((2, 3, 9, 8, 2), 5) == (5, 9, 10)
    assert merged_chunks((1,) * 6, 4) == (6,)
    assert merged_chunks((0, 5, 0), 3) == (5,)
    assert merged_chunks((4, 4), 4) == (4, 4)
