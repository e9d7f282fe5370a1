"""zarr v3 I/O: round trips, reading only the needed chunks, aligned writes."""

from __future__ import annotations

import pickle
import tempfile

import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st
from zarr.storage import MemoryStore, WrapperStore

import lamina.array as la
from lamina.array.zarr_io import align_to_grid, from_zarr, to_zarr
from lamina.layers import zarr_io as zarr_layers
from lamina.scheduler.lowering import lower
from lamina.scheduler.runner import run_table


class CountingStore(WrapperStore):
    """A store that records the keys of the chunks read from it."""

    def __init__(self, store):
        super().__init__(store)
        self.chunk_reads: list[str] = []

    async def get(self, key, prototype, byte_range=None):
        if "zarr.json" not in key:
            self.chunk_reads.append(key)
        return await super().get(key, prototype, byte_range)


def counted_array(data: np.ndarray, chunks: tuple[int, ...]) -> tuple[zarr.Array, CountingStore]:
    store = CountingStore(MemoryStore())
    array = zarr.create_array(store=store, shape=data.shape, dtype=data.dtype, chunks=chunks)
    array[...] = data
    store.chunk_reads.clear()
    return array, store


def compute_blocks_alone(x: la.Array, flat_ids: list[int]) -> list[np.ndarray]:
    table = lower([x.layer], [np.asarray(flat_ids, dtype=np.int64)])
    store = run_table(table, nthreads=2)
    return [store[t] for t in table.outputs[0].tolist()]


@st.composite
def arrays_with_chunks(draw):
    ndim = draw(st.integers(0, 3))
    shape = tuple(draw(st.integers(0, 8)) for _ in range(ndim))
    block = tuple(draw(st.integers(1, 5)) for _ in range(ndim))
    zarr_chunks = tuple(draw(st.integers(1, 5)) for _ in range(ndim))
    dtype = draw(st.sampled_from(["f8", "f4", "i4", "u1", "bool", "c16"]))
    data = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    data = (data * 7 % 11).astype(dtype)
    return data, block, zarr_chunks


@pytest.fixture
def tmpdir_path(tmp_path):
    return str(tmp_path)


@settings(max_examples=30, deadline=None)
@given(arrays_with_chunks(), st.integers(1, 6))
def test_round_trip_equals_numpy(case, read_chunk):
    data, block, zarr_chunks = case
    x = la.from_array(data, chunks=block)
    with tempfile.TemporaryDirectory() as root:
        path = root + "/a.zarr"
        assert to_zarr(x, path, chunks=zarr_chunks) is None
        stored = zarr.open_array(path, mode="r")
        assert tuple(stored.chunks) == zarr_chunks
        np.testing.assert_array_equal(stored[...], data)
        back = from_zarr(path)
        assert back.dtype == data.dtype and back.shape == data.shape
        np.testing.assert_array_equal(back.compute(), data)
        np.testing.assert_array_equal(from_zarr(path, chunks=read_chunk).compute(), data)


def test_default_chunks_are_the_zarr_chunks_or_shards(tmpdir_path):
    data = np.arange(60.0).reshape(6, 10)
    plain = zarr.create_array(store=tmpdir_path, name="plain", shape=data.shape, dtype="f8",
                              chunks=(4, 3))
    plain[...] = data
    sharded = zarr.create_array(store=tmpdir_path, name="sharded", shape=data.shape,
                                dtype="f8", chunks=(2, 2), shards=(4, 4))
    sharded[...] = data
    x = from_zarr(tmpdir_path, component="plain")
    assert x.chunks == ((4, 2), (3, 3, 3, 1))
    np.testing.assert_array_equal(x.compute(), data)
    y = from_zarr(tmpdir_path, component="sharded")
    assert y.chunks == ((4, 2), (4, 4, 2))
    np.testing.assert_array_equal(y.compute(), data)


def test_reading_some_blocks_reads_only_their_chunks():
    data = np.arange(100 * 40, dtype=np.int32).reshape(100, 40)
    array, store = counted_array(data, (10, 10))
    x = from_zarr(array)
    assert x.numblocks == (10, 4)
    (block,) = compute_blocks_alone(x, [2 * 4 + 3])
    np.testing.assert_array_equal(block, data[20:30, 30:40])
    assert store.chunk_reads == ["c/2/3"]


def test_a_block_over_several_chunks_reads_exactly_those_chunks():
    data = np.arange(100 * 40, dtype=np.int32).reshape(100, 40)
    array, store = counted_array(data, (10, 10))
    x = from_zarr(array, chunks=(25, 20))
    (block,) = compute_blocks_alone(x, [1 * 2 + 0])
    np.testing.assert_array_equal(block, data[25:50, 0:20])
    assert sorted(store.chunk_reads) == sorted(
        f"c/{i}/{j}" for i in range(2, 5) for j in range(0, 2))


def test_slicing_reads_only_the_chunks_under_the_slice():
    pytest.importorskip("lamina.array.slicing")
    data = np.arange(100 * 40, dtype=np.int32).reshape(100, 40)
    array, store = counted_array(data, (10, 10))
    x = from_zarr(array)
    np.testing.assert_array_equal(x[15:25, 5].compute(), data[15:25, 5])
    assert sorted(store.chunk_reads) == ["c/1/0", "c/2/0"]


def test_each_block_is_read_with_one_region_read(tmpdir_path, monkeypatch):
    data = np.arange(48.0).reshape(6, 8)
    to_zarr(la.from_array(data, chunks=(3, 4)), tmpdir_path)
    x = from_zarr(tmpdir_path)
    regions = []
    original = zarr.Array.__getitem__

    def recording_getitem(self, selection):
        regions.append(selection)
        return original(self, selection)

    monkeypatch.setattr(zarr.Array, "__getitem__", recording_getitem)
    np.testing.assert_array_equal(x.compute(), data)
    assert sorted(regions, key=str) == sorted(
        [(slice(r, r + 3), slice(c, c + 4)) for r in (0, 3) for c in (0, 4)], key=str)


def test_the_array_is_opened_once_per_process(tmpdir_path, monkeypatch):
    data = np.arange(400.0).reshape(20, 20)
    to_zarr(la.from_array(data, chunks=2), tmpdir_path)
    x = from_zarr(tmpdir_path)
    monkeypatch.setattr(zarr_layers, "_OPEN", {})
    opens = []
    original = zarr.open_array

    def counting_open(*args, **kwargs):
        opens.append(kwargs.get("store"))
        return original(*args, **kwargs)

    monkeypatch.setattr(zarr, "open_array", counting_open)
    np.testing.assert_array_equal(x.compute(nthreads=1), data)
    np.testing.assert_array_equal(x.compute(nthreads=1), data)
    assert opens == [tmpdir_path]


def test_a_path_is_held_as_a_plain_value(tmpdir_path):
    to_zarr(la.ones((4, 4), chunks=2), tmpdir_path, component="ones")
    x = from_zarr(tmpdir_path, component="ones")
    assert x.layer.source == tmpdir_path and x.layer.component == "ones"
    assert from_zarr(tmpdir_path, component="ones").name == x.name
    opened = zarr.open_array(tmpdir_path, path="ones", mode="r")
    assert from_zarr(opened).name == x.name
    assert len(pickle.dumps(x.layer)) < 2000


def test_recreating_the_array_with_another_layout_is_read_correctly(tmpdir_path):
    first = np.arange(24.0).reshape(4, 6)
    to_zarr(la.from_array(first, chunks=(2, 3)), tmpdir_path)
    np.testing.assert_array_equal(from_zarr(tmpdir_path).compute(), first)
    second = -np.arange(24.0).reshape(4, 6)
    to_zarr(la.from_array(second, chunks=(4, 2)), tmpdir_path, overwrite=True)
    x = from_zarr(tmpdir_path)
    assert x.chunks == ((4,), (2, 2, 2))
    np.testing.assert_array_equal(x.compute(), second)


def test_misaligned_blocks_are_rechunked_to_whole_zarr_chunks(tmpdir_path):
    data = np.arange(30 * 17, dtype=np.int64).reshape(30, 17)
    x = la.from_array(data, chunks=(7, 5))
    flags = to_zarr(x, tmpdir_path, chunks=(4, 6), compute=False)
    written = flags.layer.x
    for sizes, unit in zip(written.chunks, (4, 6)):
        assert all(s % unit == 0 for s in sizes[:-1])
    flags.compute(nthreads=2)
    np.testing.assert_array_equal(zarr.open_array(tmpdir_path, mode="r")[...], data)


def test_aligned_blocks_are_kept_even_when_larger_than_a_chunk(tmpdir_path):
    x = la.from_array(np.arange(40.0).reshape(8, 5), chunks=(4, 5))
    flags = to_zarr(x, tmpdir_path, chunks=(2, 5), compute=False)
    assert flags.layer.x is x.layer


@pytest.mark.parametrize("chunks, grid, expected", [
    (((3, 3, 3, 1),), (3,), ((3, 3, 3, 1),)),
    (((3, 3, 3, 1),), (4,), ((4, 4, 2),)),
    (((2, 2, 2, 2),), (4,), ((4, 4),)),
    (((6, 4),), (2,), ((6, 4),)),
    (((5, 5), (1, 1, 1)), (3, 2), ((6, 4), (2, 1))),
])
def test_align_to_grid(chunks, grid, expected):
    shape = tuple(sum(c) for c in chunks)
    x = la.zeros(shape, chunks=chunks)
    assert align_to_grid(x, grid).chunks == expected


def test_compute_false_writes_only_when_computed(tmpdir_path):
    data = np.arange(1.0, 13.0).reshape(3, 4)
    flags = to_zarr(la.from_array(data, chunks=(2, 2)), tmpdir_path, compute=False)
    assert flags.dtype == np.bool_ and flags.shape == (2, 2)
    np.testing.assert_array_equal(zarr.open_array(tmpdir_path, mode="r")[...], 0)
    np.testing.assert_array_equal(flags.compute(), np.ones((2, 2), dtype=bool))
    np.testing.assert_array_equal(zarr.open_array(tmpdir_path, mode="r")[...], data)


def test_writing_a_lazy_expression_from_zarr_to_zarr(tmpdir_path):
    data = np.arange(50.0).reshape(10, 5)
    to_zarr(la.from_array(data, chunks=3), tmpdir_path, component="a")
    to_zarr(from_zarr(tmpdir_path, component="a") * 2 + 1, tmpdir_path, component="b")
    np.testing.assert_array_equal(from_zarr(tmpdir_path, component="b").compute(),
                                  data * 2 + 1)


def test_into_an_existing_zarr_array():
    target = zarr.create_array(store=MemoryStore(), shape=(9, 4), chunks=(3, 4), dtype="i8")
    data = np.arange(36).reshape(9, 4)
    to_zarr(la.from_array(data, chunks=(2, 3)), target)
    np.testing.assert_array_equal(target[...], data)
    np.testing.assert_array_equal(from_zarr(target).compute(), data)


def test_codec_options_reach_zarr(tmpdir_path):
    data = np.arange(100, dtype=np.int16).reshape(10, 10)
    to_zarr(la.from_array(data, chunks=5), tmpdir_path, component="plain", compressors=None,
            attributes={"origin": "test"})
    stored = zarr.open_array(tmpdir_path, path="plain", mode="r")
    assert stored.compressors == () and stored.attrs["origin"] == "test"
    np.testing.assert_array_equal(from_zarr(tmpdir_path, component="plain").compute(), data)
    to_zarr(la.from_array(data, chunks=5), tmpdir_path, component="blosc",
            compressors=zarr.codecs.BloscCodec(cname="lz4"))
    np.testing.assert_array_equal(from_zarr(tmpdir_path, component="blosc").compute(), data)


def test_sharded_writes_align_to_shards(tmpdir_path):
    data = np.arange(12 * 12, dtype=np.float32).reshape(12, 12)
    flags = to_zarr(la.from_array(data, chunks=(3, 5)), tmpdir_path, chunks=(2, 2),
                    shards=(6, 6), compute=False)
    assert flags.layer.x.chunks == ((6, 6), (6, 6))
    flags.compute()
    np.testing.assert_array_equal(from_zarr(tmpdir_path).compute(), data)


def test_zero_dimensional_and_empty_arrays(tmpdir_path):
    to_zarr(la.from_array(np.float32(2.5)), tmpdir_path, component="scalar")
    assert from_zarr(tmpdir_path, component="scalar").compute() == np.float32(2.5)
    to_zarr(la.zeros((0, 3), chunks=2), tmpdir_path, component="empty")
    assert from_zarr(tmpdir_path, component="empty").compute().shape == (0, 3)


def test_existing_array_without_overwrite_raises(tmpdir_path):
    to_zarr(la.ones(4, chunks=2), tmpdir_path)
    with pytest.raises(zarr.errors.ContainsArrayError) as info:
        to_zarr(la.zeros(4, chunks=2), tmpdir_path)
    assert isinstance(info.value, ValueError)
    assert any("overwrite=True" in note for note in info.value.__notes__)


def test_shape_mismatch_with_an_existing_zarr_array_raises():
    target = zarr.create_array(store=MemoryStore(), shape=(5,), chunks=(5,), dtype="f8")
    with pytest.raises(ValueError, match="cannot hold an array of shape"):
        to_zarr(la.ones(6, chunks=3), target)


def test_creation_options_with_an_existing_zarr_array_raise():
    target = zarr.create_array(store=MemoryStore(), shape=(5,), chunks=(5,), dtype="f8")
    with pytest.raises(ValueError, match="give a path or URL"):
        to_zarr(la.ones(5, chunks=5), target, compressors=None)


def test_group_needs_a_component(tmpdir_path):
    group = zarr.open_group(tmpdir_path, mode="w")
    array = group.create_array("x", shape=(4,), chunks=(2,), dtype="i4")
    array[...] = np.arange(4)
    with pytest.raises(ValueError, match="component="):
        from_zarr(group)
    np.testing.assert_array_equal(from_zarr(group, component="x").compute(), np.arange(4))


def test_missing_path_and_bad_source_raise(tmpdir_path):
    with pytest.raises(FileNotFoundError):
        from_zarr(tmpdir_path + "/missing.zarr")
    with pytest.raises(TypeError, match="expected a path"):
        from_zarr(12)


@settings(max_examples=20, deadline=None)
@given(arrays_with_chunks(), st.data())
def test_store_deps_are_one_block_of_x_per_flag(case, data):
    source, block, zarr_chunks = case
    x = la.from_array(source, chunks=block)
    with tempfile.TemporaryDirectory() as root:
        flags = to_zarr(x, root, chunks=zarr_chunks, compute=False)
        layer = flags.layer
        assert layer.numblocks == layer.x.numblocks
        wanted = np.array(sorted(data.draw(st.sets(st.integers(0, layer.nblocks - 1)))),
                          dtype=np.int64)
        ((indptr, indices),) = layer.block_deps(wanted)
        assert [indices[indptr[i]:indptr[i + 1]].tolist() for i in range(len(wanted))] == [
            [int(b)] for b in wanted]
