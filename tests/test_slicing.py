"""Indexing: x[index] equals NumPy's result, block dependencies equal a
brute-force reference, and bad indices raise NumPy's exceptions."""

from __future__ import annotations

import numpy as np
import pytest
from block_reference import block_ids
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import basic_indices

import lamina.array as la
from lamina.layers.chunks import offsets
from lamina.layers.slicing import BasicSlice, TakeAxis

SETTINGS = settings(max_examples=50, deadline=None)


@st.composite
def chunked(draw, min_ndim=0, max_ndim=3, max_side=9):
    """A NumPy array and a lamina Array of it with random explicit chunks."""
    ndim = draw(st.integers(min_ndim, max_ndim))
    shape, chunks = [], []
    for _ in range(ndim):
        n = draw(st.integers(0, max_side))
        cuts = draw(st.sets(st.integers(1, max(n - 1, 1)), max_size=4)) if n > 1 else set()
        bounds = [0, *sorted(cuts), n]
        shape.append(n)
        chunks.append(tuple(b - a for a, b in zip(bounds[:-1], bounds[1:])) or (0,))
    a = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    return a, la.from_array(a, chunks=tuple(chunks))


def check_deps_by_brute_force(layer, out_ids: np.ndarray) -> None:
    """Each non-empty output block reads exactly the input blocks its
    region came from (``out_ids`` maps output elements to input block ids)."""
    blocks = np.arange(layer.nblocks, dtype=np.int64)
    indptr, flat = layer.block_deps(blocks)[0]
    starts = [offsets(c) for c in layer.chunks]
    for b in blocks.tolist():
        idx = layer.block_index(b)
        region = tuple(slice(s[i], s[i + 1]) for s, i in zip(starts, idx))
        touched = np.unique(out_ids[region]).tolist()
        row = flat[indptr[b]:indptr[b + 1]].tolist()
        if out_ids[region].size:
            assert row == touched, (b, row, touched)
        else:
            assert all(0 <= r < layer.dependencies[0].nblocks for r in row)


def compute(x: la.Array) -> np.ndarray:
    return np.asarray(x.compute())


@SETTINGS
@given(data=st.data())
def test_basic_indexing_matches_numpy(data):
    a, x = data.draw(chunked())
    index = data.draw(basic_indices(a.shape, allow_newaxis=True, allow_ellipsis=True))
    np.testing.assert_array_equal(compute(x[index]), a[index])


@SETTINGS
@given(data=st.data())
def test_basic_slice_reads_the_blocks_its_region_came_from(data):
    a, x = data.draw(chunked(min_ndim=1))
    index = data.draw(basic_indices(a.shape, min_dims=1, allow_newaxis=True,
                                    allow_ellipsis=True))
    y = x[index]
    if isinstance(y.layer, BasicSlice):
        check_deps_by_brute_force(y.layer, block_ids(x.chunks)[index])


@st.composite
def fancy_index(draw):
    """An index with one integer list or mask and basic entries elsewhere."""
    a, x = draw(chunked(min_ndim=1))
    axis = draw(st.integers(0, a.ndim - 1))
    n = a.shape[axis]
    if draw(st.booleans()) or n == 0:
        arr = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    else:
        arr = draw(st.lists(st.integers(-n, n - 1), max_size=10))
    index = []
    for k, size in enumerate(a.shape):
        if k == axis:
            index.append(arr)
        elif size and draw(st.booleans()):
            index.append(draw(st.integers(-size, size - 1)))
        else:
            index.append(slice(draw(st.none() | st.integers(-size - 1, size + 1)),
                               draw(st.none() | st.integers(-size - 1, size + 1)),
                               draw(st.none() | st.sampled_from([-3, -2, -1, 1, 2, 3]))))
        if draw(st.integers(0, 4)) == 0:
            index.append(None)
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(index)))
        run = 0
        while cut + run < len(index) and isinstance(index[cut + run], slice) \
                and index[cut + run] == slice(None):
            run += 1
        index[cut:cut + draw(st.integers(0, run))] = [Ellipsis]
    return a, x, tuple(index)


@SETTINGS
@given(case=fancy_index())
def test_integer_array_and_mask_indexing_match_numpy(case):
    a, x, index = case
    np.testing.assert_array_equal(compute(x[index]), a[index])


@SETTINGS
@given(data=st.data())
def test_take_axis_reads_the_blocks_its_indices_touch(data):
    a, x = data.draw(chunked(min_ndim=1))
    axis = data.draw(st.integers(0, a.ndim - 1))
    n = a.shape[axis]
    indices = np.array(data.draw(st.lists(st.integers(0, max(n - 1, 0)),
                                          max_size=12 if n else 0)), dtype=np.int64)
    group = data.draw(st.integers(1, 5))
    layer = TakeAxis(x.layer, axis, indices, group)
    assert layer.chunks[axis] == (la.from_array(indices, chunks=group).chunks[0]
                                  if len(indices) else (0,))
    check_deps_by_brute_force(layer, np.take(block_ids(x.chunks), indices, axis=axis))
    np.testing.assert_array_equal(compute(la.Array(layer)), np.take(a, indices, axis=axis))


def test_slice_output_blocks_follow_input_blocks():
    x = la.arange(20, chunks=5)
    assert x[2:13].chunks == ((3, 5, 3),)
    assert x[::-1].chunks == ((5, 5, 5, 5),)
    assert x[18:1:-3].chunks == ((2, 1, 2, 1),)
    assert x[5:5].chunks == ((0,),)


def test_unsorted_repeated_indices_group_consecutive_positions():
    a = np.arange(40).reshape(20, 2)
    x = la.from_array(a, chunks=(4, 2))
    index = [19, 0, 0, 7, 3, 19, 12, 1, 1]
    y = x[index]
    assert isinstance(y.layer, TakeAxis)
    assert y.chunks == ((4, 4, 1), (2,))
    indptr, flat = y.layer.block_deps(np.arange(3))[0]
    assert [flat[indptr[i]:indptr[i + 1]].tolist() for i in range(3)] == [[0, 1, 4], [0, 3, 4],
                                                                         [0]]
    np.testing.assert_array_equal(compute(y), a[index])


def test_evenly_spaced_indices_become_a_basic_slice():
    x = la.arange(20, chunks=5)
    assert isinstance(x[[3, 5, 7]].layer, BasicSlice)
    assert isinstance(x[np.arange(20) % 4 == 1].layer, BasicSlice)
    assert x[[3, 5, 7]].layer == x[3:9:2].layer


def test_full_index_returns_the_same_array():
    x = la.ones((4, 5), chunks=2)
    assert x[...] is x
    assert x[:, :] is x
    assert x[()] is x


def test_advanced_index_axis_goes_first_when_not_adjacent():
    a = np.arange(60).reshape(3, 4, 5)
    x = la.from_array(a, chunks=2)
    for index in [(0, slice(None), [4, 1]), (0, None, [3, 1]), (slice(None), 0, ..., [2, 0]),
                  ([2, 0], None, 1), (slice(1, None), 0, [1, 0, 1])]:
        assert x[index].shape == a[index].shape
        np.testing.assert_array_equal(compute(x[index]), a[index])


def test_zero_size_blocks_in_the_input():
    a = np.arange(12).reshape(6, 2)
    x = la.from_array(a, chunks=((3, 0, 3), (2,)))
    for index in [slice(1, 5), slice(None, None, -2), 3, [5, 0, 3], 2]:
        np.testing.assert_array_equal(compute(x[index]), a[index])


def test_scalar_result():
    a = np.arange(12.0).reshape(3, 4)
    x = la.from_array(a, chunks=2)
    assert x[2, -1].shape == ()
    assert float(x[2, -1]) == 11.0


def test_block_deps_is_vectorized_over_a_million_blocks():
    x = la.zeros((1000, 1000), chunks=1)
    layer = x[::-3, 5:].layer
    out = np.arange(layer.nblocks, dtype=np.int64)
    indptr, flat = layer.block_deps(out)[0]
    assert len(flat) == layer.nblocks
    i, j = np.unravel_index(out, layer.numblocks)
    np.testing.assert_array_equal(flat, (999 - 3 * i) * 1000 + 5 + j)


@pytest.mark.parametrize("index, error, match", [
    (5, IndexError, "index 5 is out of bounds for axis 0 with size 5"),
    ((0, -7), IndexError, "index -7 is out of bounds for axis 1 with size 6"),
    ((0, 0, 0), IndexError, "too many indices"),
    (([0, 5],), IndexError, "out of bounds"),
    (np.ones(4, dtype=bool), IndexError, "boolean index did not match"),
    (1.5, IndexError, "only integers, slices"),
    ((Ellipsis, Ellipsis), IndexError, "single ellipsis"),
    (np.array([1.0]), IndexError, "integer \\(or boolean\\) type"),
    (slice(None, None, 0), ValueError, "slice step cannot be zero"),
    (([0, 1], [1, 2, 3]), IndexError, "shape mismatch"),
    (np.ones((5, 7), dtype=bool), IndexError, "boolean index did not match"),
    ([[0, 5]], IndexError, "index 5 is out of bounds for axis 0 with size 5"),
    (([[0, 1]], None, [1]), NotImplementedError, "None \\(newaxis\\) together with"),
])
def test_bad_indices_raise_like_numpy(index, error, match):
    x = la.ones((5, 6), chunks=2)
    with pytest.raises(error, match=match):
        x[index]


@pytest.mark.parametrize("index", [True, False, np.bool_(True), np.array(False)])
def test_boolean_scalar_index_adds_an_axis_like_numpy(index):
    data = np.arange(30.0).reshape(5, 6)
    x = la.from_array(data, chunks=2)
    np.testing.assert_array_equal(x[index].compute(), data[index])
    assert x[la.asarray(bool(index))].shape == data[index].shape


def test_lazy_mask_is_computed_and_the_array_stays_lazy():
    x = la.arange(10, chunks=3)
    y = x[x > 3]
    assert isinstance(y, la.Array)
    np.testing.assert_array_equal(y.compute(), np.arange(4, 10))
