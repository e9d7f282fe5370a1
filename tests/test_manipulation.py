"""Transpose, reshape, concatenate and stack: values equal NumPy's, block
dependencies equal a brute-force reference, and bad input raises NumPy's
exceptions (reshape's names the rechunk that makes it work)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from block_reference import block_ids
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina.array as la
from lamina.array.manipulation import (
    concatenate,
    expand_dims,
    moveaxis,
    ravel,
    reshape,
    squeeze,
    stack,
    swapaxes,
    transpose,
)
from lamina.layers.chunks import offsets
from lamina.layers.concatenate import Concatenate
from lamina.layers.rechunk import Rechunk
from lamina.layers.reshape import Reshape, rechunk_for_reshape, reshape_plan
from lamina.layers.transpose import Transpose

SETTINGS = settings(max_examples=50, deadline=None)
DTYPES = [np.bool_, np.int8, np.int64, np.uint16, np.float32, np.float64, np.complex64]


@st.composite
def chunks_for(draw, shape):
    out = []
    for n in shape:
        cuts = draw(st.sets(st.integers(1, max(n - 1, 1)), max_size=4)) if n > 1 else set()
        bounds = [0, *sorted(cuts), n]
        out.append(tuple(b - a for a, b in zip(bounds[:-1], bounds[1:])) or (0,))
    return tuple(out)


@st.composite
def chunked(draw, min_ndim=0, max_ndim=3, max_side=8, dtype=np.int64):
    shape = tuple(draw(st.lists(st.integers(0, max_side), min_size=min_ndim,
                                max_size=max_ndim)))
    a = np.arange(int(np.prod(shape))).astype(dtype).reshape(shape)
    return a, la.from_array(a, chunks=draw(chunks_for(shape)))


def regions(layer):
    """(flat block id, region) for every output block of ``layer``."""
    starts = [offsets(c) for c in layer.chunks]
    for b in range(layer.nblocks):
        idx = layer.block_index(b)
        yield b, tuple(slice(s[i], s[i + 1]) for s, i in zip(starts, idx))


def check_deps_by_brute_force(layer, out_ids):
    """Each non-empty output block reads exactly the blocks its region came from."""
    indptr, flat = layer.block_deps(np.arange(layer.nblocks, dtype=np.int64))[0]
    for b, region in regions(layer):
        row = flat[indptr[b]:indptr[b + 1]].tolist()
        if out_ids[region].size:
            assert row == np.unique(out_ids[region]).tolist(), (b, row)
        else:
            assert all(0 <= r < layer.dependencies[0].nblocks for r in row)


def compute(x):
    return np.asarray(x.compute())


# transpose ------------------------------------------------------------------
@SETTINGS
@given(data=st.data())
def test_transpose_matches_numpy(data):
    a, x = data.draw(chunked())
    axes = tuple(data.draw(st.permutations(range(a.ndim))))
    y = transpose(x, axes)
    np.testing.assert_array_equal(compute(y), np.transpose(a, axes))
    if isinstance(y.layer, Transpose):
        check_deps_by_brute_force(y.layer, np.transpose(block_ids(x.chunks), axes))
    np.testing.assert_array_equal(compute(x.T), a.T)


@SETTINGS
@given(data=st.data())
def test_moveaxis_and_swapaxes_match_numpy(data):
    a, x = data.draw(chunked(min_ndim=1))
    axes = st.integers(-a.ndim, a.ndim - 1)
    src, dst = data.draw(axes), data.draw(axes)
    np.testing.assert_array_equal(compute(moveaxis(x, src, dst)), np.moveaxis(a, src, dst))
    np.testing.assert_array_equal(compute(swapaxes(x, src, dst)), np.swapaxes(a, src, dst))
    k = data.draw(st.integers(0, a.ndim))
    src = data.draw(st.permutations(range(a.ndim)))[:k]
    dst = data.draw(st.permutations(range(a.ndim)))[:k]
    np.testing.assert_array_equal(compute(moveaxis(x, src, dst)), np.moveaxis(a, src, dst))


def test_numpy_functions_stay_lazy():
    x = la.ones((4, 6), chunks=2)
    for y in [np.transpose(x), np.swapaxes(x, 0, 1), np.moveaxis(x, 0, 1), x.T,
              x.transpose(1, 0), np.reshape(x, (2, 2, 6)), np.ravel(x.rechunk({1: -1})),
              np.concatenate([x, x]), np.stack([x, x]), np.expand_dims(x, 1),
              np.squeeze(x[:1])]:
        assert isinstance(y, la.Array)


# reshape --------------------------------------------------------------------
@st.composite
def reshaped(draw, shape):
    """A shape of the same size: adjacent axes merged or split, ones moved."""
    dims = [n for n in shape if n != 1]
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["merge", "split", "one"]))
        i = draw(st.integers(0, max(len(dims) - 1, 0)))
        if op == "merge" and i + 1 < len(dims):
            dims[i:i + 2] = [dims[i] * dims[i + 1]]
        elif op == "split" and dims:
            divisors = [d for d in range(2, dims[i]) if dims[i] % d == 0]
            if divisors:
                d = draw(st.sampled_from(divisors))
                dims[i:i + 1] = [d, dims[i] // d]
        elif op == "one":
            dims.insert(i, 1)
    if dims and 0 not in dims and draw(st.booleans()):
        dims[draw(st.integers(0, len(dims) - 1))] = -1
    return tuple(dims)


@SETTINGS
@given(data=st.data())
def test_reshape_of_any_chunks_matches_numpy(data):
    a, x = data.draw(chunked(max_side=12))
    shape = data.draw(reshaped(a.shape))
    y = x.reshape(shape)
    np.testing.assert_array_equal(compute(y), a.reshape(shape))
    needed = rechunk_for_reshape(x.shape, x.chunks, a.reshape(shape).shape)
    if not needed and isinstance(y.layer, Reshape) and x.size:
        assert y.layer.x == x.layer, "chunks that line up are reshaped without a rechunk"
        assert y.layer.nblocks == x.layer.nblocks
        check_deps_by_brute_force(y.layer, block_ids(x.chunks).reshape(shape))


def test_reshape_names_the_rechunk_it_needs_when_chunks_do_not_line_up():
    x = la.from_array(np.arange(24.0).reshape(6, 4), chunks=(2, 3))
    with pytest.raises(ValueError, match=r"rechunk first with x\.rechunk\(\{1: -1\}\)"):
        reshape_plan(x.shape, x.chunks, (24,))
    y = x.reshape(24)
    assert isinstance(y.layer.x, Rechunk) and y.layer.x.chunks == ((2, 2, 2), (4,))
    np.testing.assert_array_equal(compute(y), np.arange(24.0))


def test_reshape_split_rounds_the_leading_blocks_up_to_whole_rows():
    y = la.arange(24, chunks=5).reshape(6, 4)
    assert y.chunks == ((2, 2, 2), (4,))
    np.testing.assert_array_equal(compute(y), np.arange(24).reshape(6, 4))


def test_reshape_merges_axes_when_trailing_ones_are_one_block():
    a = np.arange(60).reshape(6, 2, 5)
    x = la.from_array(a, chunks=(4, 2, 5))
    y = x.reshape(60)
    assert y.chunks == ((40, 20),)
    np.testing.assert_array_equal(compute(y), a.reshape(60))


def test_reshape_splits_an_axis_with_chunks_multiple_of_the_trailing_size():
    a = np.arange(24)
    y = la.from_array(a, chunks=8).reshape(-1, 2, 2)
    assert y.chunks == ((2, 2, 2), (2,), (2,))
    np.testing.assert_array_equal(compute(y), a.reshape(6, 2, 2))


def test_reshape_adds_and_removes_size_one_axes():
    a = np.arange(12).reshape(3, 1, 4)
    x = la.from_array(a, chunks=(2, 1, 3))
    assert x.reshape(3, 4).chunks == ((2, 1), (3, 1))
    assert x.reshape(1, 3, 4, 1).chunks == ((1,), (2, 1), (3, 1), (1,))
    np.testing.assert_array_equal(compute(x.reshape(1, 3, 4, 1)), a.reshape(1, 3, 4, 1))


def test_reshape_plan_error_names_the_rechunk():
    with pytest.raises(ValueError, match=re.escape("x.rechunk({1: -1})")):
        reshape_plan((6, 4), ((3, 3), (2, 2)), (24,))
    with pytest.raises(ValueError, match=re.escape("x.rechunk({0: 4})")):
        reshape_plan((12,), ((3, 3, 3, 3),), (3, 4))
    assert la.ones(12, chunks=3).reshape(3, 4).chunks == ((1, 1, 1), (4,))


def test_reshape_of_an_empty_array():
    a = np.zeros((0, 6))
    y = la.from_array(a, chunks=(1, 2)).reshape(3, 0, 2)
    assert compute(y).shape == (3, 0, 2)


def test_ravel():
    a = np.arange(12).reshape(3, 4)
    x = la.from_array(a, chunks=(2, 4))
    np.testing.assert_array_equal(compute(ravel(x)), a.ravel())
    np.testing.assert_array_equal(compute(x.ravel()), a.ravel())


@pytest.mark.parametrize("shape, match", [
    ((7,), "cannot reshape array of size 12 into shape"),
    ((-1, -1), "can only specify one unknown dimension"),
    ((5, -1), "cannot reshape array of size 12 into shape"),
    ((-2, 6), "negative dimensions"),
])
def test_bad_reshape_raises_value_error(shape, match):
    with pytest.raises(ValueError, match=re.escape(match)):
        reshape(la.ones((3, 4), chunks=2), shape)


# expand_dims / squeeze ------------------------------------------------------
@SETTINGS
@given(data=st.data())
def test_expand_dims_and_squeeze_match_numpy(data):
    a, x = data.draw(chunked(max_side=3))
    n = data.draw(st.integers(1, 2))
    axes = tuple(data.draw(st.permutations(range(a.ndim + n)))[:n])
    np.testing.assert_array_equal(compute(expand_dims(x, axes)), np.expand_dims(a, axes))
    np.testing.assert_array_equal(compute(squeeze(x)), np.squeeze(a))
    ones = [k for k, s in enumerate(a.shape) if s == 1]
    pick = tuple(data.draw(st.lists(st.sampled_from(ones), unique=True))) if ones else ()
    np.testing.assert_array_equal(compute(squeeze(x, pick)), np.squeeze(a, pick))


def test_squeeze_of_a_longer_axis_raises():
    with pytest.raises(ValueError, match="size not equal to one"):
        squeeze(la.ones((1, 3), chunks=1), 1)


# concatenate / stack --------------------------------------------------------
@st.composite
def concat_case(draw, same_shape=False):
    ndim = draw(st.integers(1, 3))
    axis = draw(st.integers(-ndim, ndim - 1))
    base = draw(st.lists(st.integers(0, 5), min_size=ndim, max_size=ndim))
    arrays, lazy = [], []
    for _ in range(draw(st.integers(1, 3))):
        shape = list(base)
        if not same_shape:
            shape[axis] = draw(st.integers(0, 6))
        dtype = draw(st.sampled_from(DTYPES))
        a = (np.arange(int(np.prod(shape))) % 7).astype(dtype).reshape(shape)
        arrays.append(a)
        lazy.append(la.from_array(a, chunks=draw(chunks_for(tuple(shape)))))
    return arrays, lazy, axis


def check_concatenate_deps(layer):
    """Each output block reads one block of one input: the block its region is."""
    tagged = [k * 10**6 + block_ids(a.chunks) for k, a in enumerate(layer.arrays)]
    ids = np.concatenate(tagged, axis=layer.axis)
    csrs = layer.block_deps(np.arange(layer.nblocks, dtype=np.int64))
    for b, region in regions(layer):
        rows = [flat[ptr[b]:ptr[b + 1]].tolist() for ptr, flat in csrs]
        if ids[region].size:
            (tag,) = np.unique(ids[region])
            k, block = divmod(int(tag), 10**6)
            assert rows == [[block] if j == k else [] for j in range(len(csrs))]
        else:
            assert sum(len(r) for r in rows) == 1


@SETTINGS
@given(case=concat_case())
def test_concatenate_matches_numpy(case):
    arrays, lazy, axis = case
    y = np.concatenate(lazy, axis=axis)
    expected = np.concatenate(arrays, axis=axis)
    assert y.dtype == expected.dtype
    np.testing.assert_array_equal(compute(y), expected)
    if isinstance(y.layer, Concatenate):
        check_concatenate_deps(y.layer)


@SETTINGS
@given(case=concat_case(same_shape=True))
def test_stack_matches_numpy(case):
    arrays, lazy, axis = case
    axis = axis if axis >= 0 else axis - 1
    y = stack(lazy, axis=axis)
    expected = np.stack(arrays, axis=axis)
    assert y.dtype == expected.dtype
    np.testing.assert_array_equal(compute(y), expected)


def test_concatenate_keeps_blocks_and_aligns_other_axes():
    a = la.ones((4, 6), chunks=(2, 3))
    b = la.zeros((3, 6), chunks=(3, 2))
    y = concatenate([a, b])
    assert y.chunks == ((2, 2, 3), (2, 2, 2))
    np.testing.assert_array_equal(compute(y), np.concatenate([np.ones((4, 6)),
                                                              np.zeros((3, 6))]))


def test_concatenate_with_axis_none_and_dtype():
    a = np.arange(6).reshape(2, 3)
    x = la.from_array(a, chunks=(1, 3))
    y = concatenate([x, x], axis=None, dtype=np.float32)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(compute(y), np.concatenate([a, a], axis=None))


def test_concatenate_of_numpy_and_lamina_arrays():
    a = np.arange(5)
    y = np.concatenate([la.from_array(a, chunks=2), a * 2])
    np.testing.assert_array_equal(compute(y), np.concatenate([a, a * 2]))


@pytest.mark.parametrize("arrays, axis, error, match", [
    ([np.ones((2, 3)), np.ones((2, 4))], 0, ValueError, "along dimension 1"),
    ([np.ones((2, 3)), np.ones(3)], 0, ValueError, "same number of dimensions"),
    ([np.float64(1.0)], 0, ValueError, "zero-dimensional"),
    ([], 0, ValueError, "need at least one array"),
    ([np.ones((2, 3))], 2, np.exceptions.AxisError, "out of bounds"),
])
def test_bad_concatenate_raises_like_numpy(arrays, axis, error, match):
    with pytest.raises(error, match=match):
        concatenate([la.from_array(np.asarray(a)) for a in arrays], axis=axis)


def test_stack_of_different_shapes_raises():
    with pytest.raises(ValueError, match="same shape"):
        stack([la.ones((2, 3)), la.ones((3, 2))])


def test_concatenate_refuses_an_unsafe_cast():
    with pytest.raises(TypeError, match="Cannot cast"):
        concatenate([la.ones(3), la.ones(2)], dtype=np.int32)


@pytest.mark.parametrize("axes, error", [
    ((0,), ValueError), ((0, 0), ValueError), ((0, 2), np.exceptions.AxisError),
])
def test_bad_transpose_axes_raise_like_numpy(axes, error):
    with pytest.raises(error):
        transpose(la.ones((2, 3)), axes)
