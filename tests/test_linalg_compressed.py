"""Compressed persists (2-bit, Blosc in memory, zarr v3 on disk): bit-exact
round trips, the codec on disk, and SVD passes that decode inside their
own kernels with the same results as on the raw array."""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lamina.array as la
from lamina.layers.linalg.payload import BloscBlock, Packed2Bit
from lamina.layers.linalg.sources import EncodedBlocks, Payloads, ZarrBlocks
from lamina.linalg import (
    genotype_matrix,
    open_zarr,
    persist_compressed,
    randomized_svd,
    write_zarr,
)
from lamina.linalg.passes import payload_layer

SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def coded_case(draw):
    shape = (draw(st.integers(1, 30)), draw(st.integers(1, 30)))
    chunks = (draw(st.integers(1, shape[0])), draw(st.integers(1, shape[1])))
    seed = draw(st.integers(0, 2**32 - 1))
    dtype = draw(st.sampled_from([np.uint8, np.int8, np.int16]))
    values = np.random.default_rng(seed).integers(0, 4, size=shape).astype(dtype)
    return values, chunks


@SETTINGS
@given(case=coded_case(), codec=st.sampled_from(["2bit", "blosc"]))
def test_in_memory_round_trip_is_bit_exact(case, codec):
    values, chunks = case
    y = persist_compressed(la.from_array(values, chunks=chunks), codec=codec)
    assert isinstance(y.layer, EncodedBlocks) and y.chunks == la.from_array(values, chunks).chunks
    out = y.compute()
    assert out.dtype == values.dtype
    np.testing.assert_array_equal(out, values)


@SETTINGS
@given(case=coded_case())
def test_zarr_round_trip_is_bit_exact(case, tmp_path_factory):
    values, chunks = case
    path = tmp_path_factory.mktemp("z") / "a.zarr"
    y = persist_compressed(la.from_array(values, chunks=chunks), codec="blosc", store=path)
    assert isinstance(y.layer, ZarrBlocks)
    np.testing.assert_array_equal(y.compute(), values)
    np.testing.assert_array_equal(zarr.open_array(str(path), mode="r")[...], values)


def test_float_blocks_round_trip_through_blosc():
    x = np.random.default_rng(0).standard_normal((50, 20))
    np.testing.assert_array_equal(persist_compressed(la.from_array(x, chunks=(7, 6)),
                                                     codec="blosc").compute(), x)


def test_two_bit_persist_takes_a_quarter_of_the_memory():
    g = genotype_matrix((400, 200), chunks=(100, 100), seed=0)
    packed = persist_compressed(g, codec="2bit")
    assert packed.layer.nbytes_stored == 400 * 200 // 4
    blosc = persist_compressed(g, codec="blosc")
    assert blosc.layer.nbytes_stored < 400 * 200 // 3


def test_zarr_store_uses_blosc_zstd_with_bit_shuffle(tmp_path):
    path = tmp_path / "g.zarr"
    write_zarr(genotype_matrix((60, 40), chunks=(20, 40), seed=1), path)
    arr = zarr.open_array(str(path), mode="r")
    assert arr.metadata.zarr_format == 3 and arr.chunks == (20, 40)
    blosc = [c for c in arr.metadata.codecs if type(c).__name__ == "BloscCodec"]
    assert len(blosc) == 1
    assert blosc[0].cname.value == "zstd" and blosc[0].shuffle.value == "bitshuffle"


def test_open_zarr_reads_any_zarr_array(tmp_path):
    values = np.arange(35 * 12, dtype=np.int32).reshape(35, 12)
    zarr.create_array(str(tmp_path / "plain.zarr"), data=values, chunks=(10, 5))
    x = open_zarr(tmp_path / "plain.zarr")
    assert x.chunks == ((10, 10, 10, 5), (5, 5, 2))
    np.testing.assert_array_equal(x.compute(), values)
    np.testing.assert_array_equal(open_zarr(tmp_path / "plain.zarr", chunks=(35, 12)).compute(),
                                  values)


def test_passes_take_payloads_not_decoded_blocks(tmp_path):
    g = genotype_matrix((60, 40), chunks=(20, 20), seed=2)
    packed = persist_compressed(g, codec="2bit")
    assert isinstance(payload_layer(packed, pack=False), Payloads)
    value = payload_layer(packed, pack=False).kernel()(0, [])
    assert isinstance(value, Packed2Bit)
    value = payload_layer(persist_compressed(g, codec="blosc"), pack=False).kernel()(0, [])
    assert isinstance(value, BloscBlock)


@pytest.mark.parametrize("single_read", [True, False])
def test_svd_of_every_persist_equals_the_raw_svd(tmp_path, single_read):
    g = genotype_matrix((300, 120), chunks=(100, 40), seed=3)
    raw = la.from_array(g.compute(), chunks=(100, 40))
    ref = randomized_svd(raw, 5, n_power_iter=1, seed=0, scaler="patterson",
                         single_read=single_read)
    inputs = [g, persist_compressed(g, codec="2bit"), persist_compressed(g, codec="blosc"),
              persist_compressed(g, codec="blosc", store=tmp_path / "g.zarr")]
    for x in inputs:
        got = randomized_svd(x, 5, n_power_iter=1, seed=0, scaler="patterson",
                             single_read=single_read)
        assert got.passes == ref.passes
        np.testing.assert_allclose(got.s, ref.s, rtol=1e-13)
        np.testing.assert_allclose(got.v, ref.v, atol=1e-12)


def test_two_bit_persist_rejects_other_values():
    with pytest.raises(ValueError, match="0..3"):
        persist_compressed(la.from_array(np.full((4, 4), 7, dtype=np.uint8), chunks=2))


def test_bad_persist_arguments(tmp_path):
    x = la.from_array(np.zeros((6, 6), dtype=np.uint8), chunks=3)
    with pytest.raises(ValueError, match="codec"):
        persist_compressed(x, codec="lz4")
    with pytest.raises(ValueError, match="blosc"):
        persist_compressed(x, codec="2bit", store=tmp_path / "x.zarr")
    with pytest.raises(ValueError, match="regular"):
        write_zarr(la.from_array(np.zeros((6, 6)), chunks=((2, 4), 6)), tmp_path / "y.zarr")
