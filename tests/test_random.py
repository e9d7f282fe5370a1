"""lamina.random: per-block seeding, reproducibility, distributions, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina
import lamina.random
from lamina.scheduler.lowering import lower
from lamina.scheduler.runner import run_table


@st.composite
def shapes_and_chunks(draw, max_ndim=3, max_side=9):
    """A shape and explicit chunks: a random partition of each axis."""
    ndim = draw(st.integers(0, max_ndim))
    shape, chunks = [], []
    for _ in range(ndim):
        n = draw(st.integers(0, max_side))
        sizes = []
        left = n
        while left:
            size = draw(st.integers(1, left))
            sizes.append(size)
            left -= size
        shape.append(n)
        chunks.append(tuple(sizes) or (0,))
    return tuple(shape), tuple(chunks)


def compute_blocks_alone(x: lamina.Array, flat_ids: list[int]) -> list[np.ndarray]:
    """Compute only the blocks ``flat_ids`` of ``x`` (nothing else is run)."""
    table = lower([x.layer], [np.asarray(flat_ids, dtype=np.int64)])
    store = run_table(table, nthreads=1)
    return [store[t] for t in table.outputs[0].tolist()]


@settings(max_examples=40, deadline=None)
@given(shapes_and_chunks(), st.integers(0, 2**32))
def test_random_has_shape_chunks_and_range(shape_chunks, seed):
    shape, chunks = shape_chunks
    x = lamina.random.default_rng(seed).random(shape, chunks=chunks)
    value = x.compute()
    assert x.shape == shape and x.chunks == chunks and x.dtype == np.float64
    assert value.shape == shape and value.dtype == np.float64
    assert np.all((value >= 0) & (value < 1))


@settings(max_examples=30, deadline=None)
@given(shapes_and_chunks(max_ndim=2), st.integers(0, 2**32))
def test_each_block_is_numpy_seeded_by_seed_call_and_block_index(shape_chunks, seed):
    shape, chunks = shape_chunks
    rng = lamina.random.default_rng(seed)
    rng.random(3)
    x = rng.standard_normal(shape, chunks=chunks)
    value = x.compute()
    starts = [np.concatenate([[0], np.cumsum(c)]) for c in chunks]
    for idx in np.ndindex(*x.numblocks):
        expected = np.random.Generator(np.random.PCG64(
            np.random.SeedSequence(seed, spawn_key=(1,) + idx))).standard_normal(
            tuple(c[i] for c, i in zip(chunks, idx)))
        region = tuple(slice(s[i], s[i + 1]) for s, i in zip(starts, idx))
        np.testing.assert_array_equal(value[region], expected)


def test_same_seed_gives_same_arrays_and_same_layers():
    a = lamina.random.default_rng(7)
    b = lamina.random.default_rng(7)
    xa, ya = a.random((20, 10), chunks=(6, 4)), a.integers(0, 100, size=50, chunks=7)
    xb, yb = b.random((20, 10), chunks=(6, 4)), b.integers(0, 100, size=50, chunks=7)
    np.testing.assert_array_equal(xa.compute(), xb.compute())
    np.testing.assert_array_equal(ya.compute(), yb.compute())
    assert xa.name == xb.name and ya.name == yb.name


def test_recomputing_gives_the_same_values():
    x = lamina.random.default_rng(3).normal(2.0, 3.0, size=(30, 20), chunks=(7, 6))
    np.testing.assert_array_equal(x.compute(), x.compute())


def test_successive_calls_differ():
    rng = lamina.random.default_rng(11)
    first, second = rng.random(100, chunks=10), rng.random(100, chunks=10)
    assert first.name != second.name
    assert not np.array_equal(first.compute(), second.compute())


def test_different_seeds_differ():
    a = lamina.random.default_rng(1).random(100, chunks=10).compute()
    b = lamina.random.default_rng(2).random(100, chunks=10).compute()
    assert not np.array_equal(a, b)


def test_blocks_of_one_array_differ():
    x = lamina.random.default_rng(5).random(40, chunks=10).compute()
    blocks = x.reshape(4, 10)
    assert len({row.tobytes() for row in blocks}) == 4


def test_values_do_not_depend_on_thread_count():
    rng = lamina.random.default_rng(2024)
    x = rng.standard_normal((200, 50), chunks=(10, 7))
    y = rng.integers(-5, 5, size=(200, 50), chunks=(13, 9))
    one = lamina.compute(x, y, nthreads=1)
    two = lamina.compute(x, y, nthreads=2)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])


def test_a_block_computed_alone_equals_the_same_block_in_the_whole():
    x = lamina.random.default_rng(9).random((12, 12), chunks=(5, 5))
    whole = x.compute()
    (alone,) = compute_blocks_alone(x, [4])
    np.testing.assert_array_equal(alone, whole[5:10, 5:10])


def test_seed_none_draws_entropy_once_per_generator():
    rng = lamina.random.default_rng()
    x = rng.random(50, chunks=10)
    np.testing.assert_array_equal(x.compute(), x.compute())
    other = lamina.random.default_rng().random(50, chunks=10)
    assert not np.array_equal(x.compute(), other.compute())
    assert x.layer.entropy == rng._entropy


def test_seed_sequence_and_generator_seeds():
    sequence = np.random.SeedSequence(123)
    a = lamina.random.default_rng(sequence).random(20, chunks=5).compute()
    b = lamina.random.default_rng(123).random(20, chunks=5).compute()
    np.testing.assert_array_equal(a, b)
    rng = lamina.random.default_rng(1)
    assert lamina.random.default_rng(rng) is rng


def test_random_statistics():
    x = lamina.random.default_rng(0).random(200_000, chunks=20_000).compute()
    assert abs(x.mean() - 0.5) < 0.01
    assert abs(x.var() - 1 / 12) < 0.005


def test_standard_normal_and_normal_statistics():
    rng = lamina.random.default_rng(1)
    z = rng.standard_normal(200_000, chunks=30_000).compute()
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02
    n = rng.normal(5.0, 2.0, size=200_000, chunks=30_000).compute()
    assert abs(n.mean() - 5) < 0.03 and abs(n.std() - 2) < 0.03


def test_uniform_bounds_and_mean():
    u = lamina.random.default_rng(2).uniform(-3.0, 1.0, size=100_000, chunks=9_999).compute()
    assert u.min() >= -3.0 and u.max() < 1.0
    assert abs(u.mean() + 1.0) < 0.03


@settings(max_examples=40, deadline=None)
@given(st.integers(-1000, 1000), st.integers(1, 50), st.booleans(),
       st.sampled_from(["int64", "int32", "int16"]))
def test_integers_stay_in_bounds(low, span, endpoint, dtype):
    high = low + span
    x = lamina.random.default_rng(abs(low)).integers(low, high, size=(40, 3), dtype=dtype,
                                                endpoint=endpoint, chunks=(9, 2))
    value = x.compute()
    assert value.dtype == np.dtype(dtype) and x.dtype == np.dtype(dtype)
    assert value.min() >= low
    assert value.max() <= high if endpoint else value.max() < high


def test_integers_endpoint_reaches_high_and_one_bound_means_zero_to_n():
    rng = lamina.random.default_rng(4)
    closed = rng.integers(0, 2, size=3000, endpoint=True, chunks=500).compute()
    assert set(np.unique(closed).tolist()) == {0, 1, 2}
    half_open = rng.integers(3, size=3000, chunks=500).compute()
    assert set(np.unique(half_open).tolist()) == {0, 1, 2}


def test_dtypes():
    rng = lamina.random.default_rng(0)
    assert rng.random(10, dtype=np.float32, chunks=3).compute().dtype == np.float32
    assert rng.standard_normal(10, dtype="f4", chunks=3).compute().dtype == np.float32
    assert rng.integers(0, 200, size=10, dtype=np.uint8, chunks=3).compute().dtype == np.uint8
    assert rng.integers(0, 2, size=10, dtype=bool, chunks=3).compute().dtype == np.bool_
    assert rng.uniform(size=10, chunks=3).dtype == np.float64


def test_size_none_gives_a_zero_dimensional_array():
    x = lamina.random.default_rng(0).normal(size=None)
    assert x.shape == () and np.ndim(x.compute()) == 0


@pytest.mark.parametrize("call, error, match", [
    (lambda r: r.integers(5, 2, size=3), ValueError, "low >= high"),
    (lambda r: r.integers(5, 5, size=3), ValueError, "low >= high"),
    (lambda r: r.integers(-1, 10, size=3, dtype=np.uint8), ValueError, "out of bounds"),
    (lambda r: r.integers(0, 10, size=3, dtype=float), TypeError, "Unsupported dtype"),
    (lambda r: r.random(3, dtype=np.int64), TypeError, "Unsupported dtype"),
    (lambda r: r.standard_normal(3, dtype=np.float16), TypeError, "Unsupported dtype"),
    (lambda r: r.random(3, dtype="no-such-dtype"), TypeError, "not understood"),
    (lambda r: r.random(-1), ValueError, "negative dimensions"),
    (lambda r: r.random((3, -2)), ValueError, "negative dimensions"),
    (lambda r: r.random(2.5), TypeError, "give an int or a tuple of ints"),
    (lambda r: r.normal(0.0, -1.0, size=3), ValueError, "scale < 0"),
    (lambda r: r.uniform(np.zeros(2), 1.0, size=3), ValueError, "must be a scalar"),
    (lambda r: r.random(10, chunks=(3, 3)), ValueError, "one chunk size per dimension"),
])
def test_bad_arguments_raise_like_numpy(call, error, match):
    with pytest.raises(error, match=match):
        call(lamina.random.default_rng(0))


def test_bad_seed_raises_like_numpy():
    with pytest.raises(ValueError, match="non-negative"):
        lamina.random.default_rng(-1)
