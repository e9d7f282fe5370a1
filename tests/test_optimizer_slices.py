"""Slice fusion, slice pushdown and reading only the selected region of sources."""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st
from zarr.storage import MemoryStore, WrapperStore

import lamina.array as la
import lamina.optimizer as lo
import lamina.random
from lamina.layers.regions import RandomRegion, ZarrRegion
from lamina.layers.slicing import BasicSlice
from lamina.layers.sources import FromArray, Full, unwrap_array
from lamina.optimizer.rules.indexing import compose
from lamina.scheduler.lowering import lower
from lamina.testing import basic_indices, chunks_for, raw_compute, shapes

KEEP_SOURCES = {"slice_into_source", "blockwise_fusion", "commutative_order_after_fusion",
                "speculative_hints"}


def simplified(y: la.Array, *also_off: str) -> la.Array:
    """``y`` after the simplify rules, sources and fusion left alone."""
    (out,) = lo.optimize(y, disabled_rules=KEEP_SOURCES | set(also_off))
    return out


def optimized(y: la.Array) -> la.Array:
    (out,) = lo.optimize(y)
    return out


@pytest.fixture
def x():
    return la.from_array(np.arange(200.0 * 30).reshape(200, 30), chunks=(7, 4))


def test_a_slice_of_a_slice_is_one_slice(x):
    assert simplified(x[:100][5]).layer == x[5].layer
    assert simplified(x[10:90:3][::-2, 4][1:5]).layer == x[82:58:-6, 4].layer
    np.testing.assert_array_equal(raw_compute(simplified(x[10:90:3][::-2, 4][1:5])),
                                  raw_compute(x)[10:90:3][::-2, 4][1:5])


def test_slices_that_select_everything_disappear(x):
    assert simplified(x[2:][:, :][:-2]).layer == x[2:-2].layer
    assert simplified(x[::-1][::-1]).layer == x.layer


def test_composed_indices_follow_python_ranges():
    assert compose(((0, 100, 1), (0, 30, 1)), (5, (0, 30, 1))) == (5, (0, 30, 1))
    assert compose(((10, -1, -1),), ((2, 8, 3),)) == ((8, 2, -3),)
    assert compose(((0, 10, 1),), ((0, 7, 2),)) == ((0, 8, 2),)
    assert compose(((9, -1, -1),), ((0, 20, 4),)) == ((9, -1, -4),)
    assert compose((None, (0, 5, 1)), (0, 3)) == (3,)
    assert compose((None, (0, 5, 1)), ((1, 1, 1), (0, 5, 1))) is None


def test_a_slice_moves_below_elementwise_operations(x):
    y = la.from_array(np.ones((200, 30)), chunks=(7, 4))
    assert simplified((x + y)[0, :5]).layer == (x[0, :5] + y[0, :5]).layer
    assert simplified(np.sin(x * 2)[3:9, ::2]).layer == np.sin(x[3:9, ::2] * 2).layer


def test_a_slice_follows_broadcasting_into_short_and_length_one_arguments(x):
    row = la.from_array(np.arange(30.0), chunks=4)
    col = la.from_array(np.arange(200.0).reshape(200, 1), chunks=(7, 1))
    got = simplified((x + row + col)[2:6, 7], "commutative_order")
    assert got.layer == ((x[2:6, 7] + row[7]) + col[2:6, 0]).layer
    np.testing.assert_array_equal(raw_compute(got), raw_compute((x + row + col))[2:6, 7])


def test_astype_and_where_are_elementwise(x):
    assert simplified(x.astype(np.float32)[3]).layer == x[3].astype(np.float32).layer
    w = la.where(x > 10, x, 0)[4:6]
    assert simplified(w).layer == la.where(x[4:6] > 10, x[4:6], 0).layer


def test_map_blocks_is_not_sliced_through(x):
    y = x.map_blocks(np.cumsum, dtype=x.dtype)[3]
    assert simplified(y).layer == y.layer


def test_a_slice_of_a_transpose_is_a_slice_of_the_input(x):
    assert simplified(x.T[3, 4]).layer == x[4, 3].layer
    assert simplified(x.T[:, 2]).layer == x[2].layer
    assert simplified(x.T[1:3, ::2]).layer == x[::2, 1:3].T.layer
    cube = la.from_array(np.arange(60.0).reshape(3, 4, 5), chunks=2)
    got = simplified(cube.transpose(2, 0, 1)[None, 1, :, 3])
    np.testing.assert_array_equal(raw_compute(got),
                                  raw_compute(cube).transpose(2, 0, 1)[None, 1, :, 3])


def test_a_slice_of_a_rechunk_rechunks_only_the_selection(x):
    y = x.rechunk((50, 30))[60:70]
    got = simplified(y)
    assert got.layer == x[60:70].rechunk(((10,), (30,))).layer
    assert got.chunks == y.chunks
    assert simplified(x.rechunk((7, 4))[3:9]).layer == x[3:9].layer


def test_noop_transposes_and_rechunks_are_dropped(x):
    assert simplified(x.T.T).layer == x.layer
    assert simplified(x.rechunk(10).rechunk((7, 4))).layer == x.layer
    cube = la.ones((2, 3, 4), chunks=2)
    assert simplified(cube.transpose(1, 2, 0).transpose(2, 0, 1)).layer == cube.layer


MILLION = dict(shape=(100_000, 100_000), chunks=(100, 100))


@pytest.mark.parametrize("make", [
    lambda x: (x + 1)[0, :5],
    lambda x: x.T[3, 4],
])
def test_one_element_of_a_million_chunk_array_lowers_to_one_task(make):
    x = la.ones(MILLION["shape"], chunks=MILLION["chunks"])
    y = optimized(make(x))
    assert lower([y.layer]).n_tasks == 1
    np.testing.assert_array_equal(raw_compute(y), raw_compute(make(la.ones((200, 200),
                                                                             chunks=100))))


def test_a_row_of_a_million_chunk_array_reads_one_block_row_one_task_each():
    x = la.ones(MILLION["shape"], chunks=MILLION["chunks"])
    y = optimized(x[:1000][5])
    assert isinstance(y.layer, Full) and y.shape == (100_000,)
    assert lower([y.layer]).n_tasks == 1000


def test_random_blocks_are_drawn_only_where_selected_with_the_same_values():
    x = lamina.random.default_rng(7).random((400, 300), chunks=(40, 30))
    whole = raw_compute(x)
    (row,) = lo.optimize(x[:1000][5])
    assert isinstance(row.layer, RandomRegion) and lower([row.layer]).n_tasks == 10
    np.testing.assert_array_equal(raw_compute(row), whole[5])


def test_selections_of_random_arrays_fuse_with_what_reads_them():
    x = lamina.random.default_rng(7).random((400, 300), chunks=(40, 30))
    whole = raw_compute(x)
    for index in [(5, slice(None, 50)), (slice(100, 150, 7), slice(None, None, -11)),
                  (None, 399, 299)]:
        y = optimized((x * 2)[index])
        table = lower([y.layer])
        assert table.n_tasks == y.npartitions
        np.testing.assert_array_equal(raw_compute(y), (whole * 2)[index])


def test_a_slice_of_an_in_memory_array_becomes_a_view():
    data = np.arange(1000.0).reshape(40, 25)
    x = la.from_array(data, chunks=(8, 5))
    y = optimized(x[3:30:2, 7])
    assert isinstance(y.layer, FromArray)
    assert np.shares_memory(unwrap_array(y.layer.array), data)
    np.testing.assert_array_equal(raw_compute(y), data[3:30:2, 7])


def test_a_view_of_an_in_memory_array_is_named_without_hashing_its_bytes(monkeypatch):
    import lamina.tokenize

    data = np.arange(1000.0).reshape(40, 25)
    x = la.from_array(data, chunks=(8, 5))
    hashed = []
    feed = lamina.tokenize._feed_ndarray
    monkeypatch.setattr(lamina.tokenize, "_feed_ndarray",
                        lambda h, arr: (hashed.append(arr.nbytes), feed(h, arr)))
    first, again, other = optimized(x[1:30, 2:]), optimized(x[1:30, 2:]), optimized(x[2:30, 2:])
    assert hashed == []
    assert first.layer == again.layer and first.layer != other.layer
    np.testing.assert_array_equal(raw_compute(first[:28] - other), data[1:29, 2:] - data[2:30, 2:])
    assert optimized(la.from_array(data.copy(), chunks=(8, 5))[1:30, 2:]).layer == first.layer


def test_a_slice_of_an_integer_range_is_a_range():
    y = optimized(la.arange(1000, chunks=64)[100:900:7][::-1])
    assert type(y.layer).__name__ == "Arange"
    np.testing.assert_array_equal(raw_compute(y), np.arange(1000)[100:900:7][::-1])
    floats = simplified(la.arange(0.0, 10.0, 0.1, chunks=16)[5:50], "blockwise_fusion")
    assert isinstance(optimized(floats).layer, lo.Fused)


class CountingStore(WrapperStore):
    def __init__(self, store):
        super().__init__(store)
        self.reads: list[str] = []

    async def get(self, key, prototype, byte_range=None):
        if "zarr.json" not in key:
            self.reads.append(key)
        return await super().get(key, prototype, byte_range)


def test_a_slice_of_a_zarr_array_reads_only_the_chunks_under_the_selection():
    data = np.arange(100 * 40, dtype=np.int32).reshape(100, 40)
    store = CountingStore(MemoryStore())
    array = zarr.create_array(store=store, shape=data.shape, dtype=data.dtype, chunks=(10, 10))
    array[...] = data
    x = la.from_zarr(array, chunks=(50, 40))
    y = optimized((x + 1)[15:25, 5])
    store.reads.clear()
    np.testing.assert_array_equal(raw_compute(y), (data + 1)[15:25, 5])
    assert sorted(store.reads) == ["c/1/0", "c/2/0"]
    store.reads.clear()
    raw_compute((x + 1)[15:25, 5])
    assert len(store.reads) == 20


@pytest.mark.parametrize("index", [
    (slice(None, None, -3), slice(3, 40, 7)), (None, slice(50, 2, -2), 7), (slice(5, 5), 3),
    (4, 4), (slice(None), None, slice(-1, None, -1))])
def test_zarr_regions_equal_numpy_for_steps_new_axes_and_empty_selections(index):
    data = np.arange(60 * 50, dtype="f8").reshape(60, 50)
    array = zarr.create_array(store=MemoryStore(), shape=data.shape, chunks=(10, 10), dtype="f8")
    array[...] = data
    x = la.from_zarr(array, chunks=(25, 20))
    y = optimized(x[2:][index])
    assert isinstance(y.layer, (ZarrRegion, lo.Fused))
    np.testing.assert_array_equal(raw_compute(y), data[2:][index])


def test_random_arrays_with_several_draws_per_value_keep_the_slice():
    x = lamina.random.default_rng(3).standard_normal((40, 60), chunks=(10, 20))
    (y,) = lo.optimize(x[1:3], disabled_rules={"blockwise_fusion"})
    assert isinstance(y.layer, BasicSlice) and y.layer.x == x.layer


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_a_selection_of_a_random_array_draws_only_its_values_and_equals_the_whole(data):
    shape = data.draw(shapes(max_ndim=3, min_ndim=1, max_side=9))
    chunks = data.draw(chunks_for(shape))
    rng = lamina.random.default_rng(data.draw(st.integers(0, 100)))
    x = rng.random(shape, chunks=chunks) if data.draw(st.booleans()) else \
        rng.uniform(-3, 2, size=shape, chunks=chunks)
    index = data.draw(basic_indices(shape))
    (y,) = lo.optimize(x[index], disabled_rules={"blockwise_fusion"})
    expected = raw_compute(x)[index]
    assert isinstance(y.layer, RandomRegion) or y.layer == x.layer
    np.testing.assert_array_equal(raw_compute(y), expected)


def test_a_slice_of_a_concatenation_selects_from_the_parts():
    a = la.from_array(np.arange(40.0).reshape(10, 4), chunks=(3, 2))
    b = la.from_array(np.arange(24.0).reshape(6, 4), chunks=(4, 2))
    both = la.concatenate([a, b])
    assert simplified(both[3:12]).layer == la.concatenate([a[3:10], b[0:2]]).layer
    assert simplified(both[12, 1:]).layer == b[2, 1:].layer
    assert simplified(both[14:1:-4]).layer == la.concatenate([b[4::-4], a[6::-4]]).layer
    ints = la.from_array(np.arange(8).reshape(2, 4), chunks=2)
    mixed = la.concatenate([ints, b])[1]
    assert simplified(mixed).layer == ints[1].astype(np.float64).layer
    np.testing.assert_array_equal(raw_compute(simplified(both[14:1:-4])),
                                  raw_compute(both)[14:1:-4])


def test_a_slice_of_a_reduction_reduces_only_the_selection(x):
    assert simplified(x.sum(axis=0)[5]).layer == x[:, 5].sum(axis=0).layer
    assert simplified(x.mean(axis=1)[3:9]).layer == x[3:9].mean(axis=1).layer
    kept = x.max(axis=0, keepdims=True)[:, 2:4]
    assert simplified(kept).layer == x[:, 2:4].max(axis=0, keepdims=True).layer
    np.testing.assert_array_equal(raw_compute(simplified(x.sum(axis=0)[5])),
                                  raw_compute(x).sum(axis=0)[5])


def test_positional_reductions_are_not_sliced_through(x):
    y = x.argmax(axis=0)[5]
    assert simplified(y).layer == y.layer


def test_optimizing_an_optimized_plan_changes_nothing():
    import lamina.random

    a = la.from_array(np.zeros((0, 1, 1)))
    r = lamina.random.default_rng(0).random((1,), chunks=1)
    (once,) = lo.optimize((la.concatenate([abs(a), a], axis=1) + r)[:, :, 0])
    (twice,) = lo.optimize(once)
    assert twice.layer == once.layer
