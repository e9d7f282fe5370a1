"""Rechunk: the same values in new blocks, each new block reading exactly
the old blocks it overlaps."""

from __future__ import annotations

import numpy as np
import pytest
from block_reference import block_ids
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina.array as la
from lamina.layers.chunks import offsets
from lamina.layers.rechunk import Rechunk

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def partition(draw, n, allow_empty=False):
    """Random block sizes adding up to ``n`` (zero-size blocks if allowed)."""
    if n == 0:
        return (0,) * draw(st.integers(1, 2 if allow_empty else 1))
    cuts = draw(st.lists(st.integers(0 if allow_empty else 1, n if allow_empty else n - 1),
                         max_size=4, unique=not allow_empty)) if (n > 1 or allow_empty) else []
    bounds = [0, *sorted(cuts), n]
    return tuple(b - a for a, b in zip(bounds[:-1], bounds[1:]))


@st.composite
def rechunk_case(draw, allow_empty=False):
    shape = tuple(draw(st.lists(st.integers(0, 10), max_size=3)))
    old = tuple(draw(partition(n, allow_empty)) for n in shape)
    new = tuple(draw(partition(n, allow_empty)) for n in shape)
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    return a, la.from_array(a, chunks=old), new


@SETTINGS
@given(case=rechunk_case())
def test_rechunk_keeps_the_values(case):
    a, x, new = case
    y = x.rechunk(new)
    assert y.chunks == new
    np.testing.assert_array_equal(np.asarray(y.compute()), a)


@SETTINGS
@given(case=rechunk_case(allow_empty=True))
def test_rechunk_with_zero_size_blocks_keeps_the_values(case):
    a, x, new = case
    y = x.rechunk(new)
    assert y.chunks == new
    np.testing.assert_array_equal(np.asarray(y.compute()), a)


@SETTINGS
@given(case=rechunk_case())
def test_each_new_block_reads_the_old_blocks_it_overlaps(case):
    a, x, new = case
    layer = Rechunk(x.layer, new)
    ids = block_ids(x.chunks)
    indptr, flat = layer.block_deps(np.arange(layer.nblocks, dtype=np.int64))[0]
    starts = [offsets(c) for c in new]
    for b in range(layer.nblocks):
        idx = layer.block_index(b)
        region = ids[tuple(slice(s[i], s[i + 1]) for s, i in zip(starts, idx))]
        row = flat[indptr[b]:indptr[b + 1]].tolist()
        if region.size:
            assert row == np.unique(region).tolist()
        else:
            assert row and all(0 <= r < x.layer.nblocks for r in row)


def test_rechunk_accepts_a_dict_and_keeps_unchanged_arrays():
    x = la.ones((6, 8), chunks=(2, 4))
    assert x.rechunk({1: -1}).chunks == ((2, 2, 2), (8,))
    assert x.rechunk({-2: 3}).chunks == ((3, 3), (4, 4))
    assert x.rechunk((None, 2)).chunks == ((2, 2, 2), (2, 2, 2, 2))
    assert x.rechunk((2, 4)) is x


def test_rechunk_of_a_zero_dimensional_array():
    x = la.from_array(np.array(3.5))
    assert float(x.rechunk(()).compute()) == 3.5


def test_rechunk_block_deps_is_vectorized_over_many_blocks():
    x = la.zeros((1000, 1000), chunks=(3, 7))
    layer = x.rechunk((4, 5)).layer
    indptr, flat = layer.block_deps(np.arange(layer.nblocks, dtype=np.int64))[0]
    assert len(indptr) == layer.nblocks + 1
    assert int(indptr[-1]) > layer.nblocks


@pytest.mark.parametrize("chunks, match", [
    ((4, 4, 4), "give one chunk size per dimension"),
    (((3, 2), (5,)), "must add up to its length"),
    ((0, 2), "must be positive"),
])
def test_bad_chunks_raise_value_error(chunks, match):
    with pytest.raises(ValueError, match=match):
        la.ones((6, 5), chunks=2).rechunk(chunks)
