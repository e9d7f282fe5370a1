"""2-bit packing: bit-exact round trips at any width, the layout of the
"Large SVDs" post, and clear errors for values that do not fit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lamina.layers.linalg.packing import (
    pack_rows_vectorized,
    packed_width,
    unpack_2bit_into,
    unpack_rows_vectorized,
)
from lamina.layers.linalg.payload import BlockView, Packed2Bit, try_pack
from lamina.linalg import pack_2bit, unpack_2bit

SETTINGS = settings(max_examples=60, deadline=None)


def blog_compress(x: np.ndarray) -> np.ndarray:
    """The post's ``compress`` (width a multiple of four)."""
    out = np.zeros_like(x, shape=(x.shape[0], x.shape[1] // 4))
    out += x[:, 0::4]
    out += x[:, 1::4] << 2
    out += x[:, 2::4] << 4
    out += x[:, 3::4] << 6
    return out


@SETTINGS
@given(shape=st.lists(st.integers(0, 9), min_size=1, max_size=3),
       dtype=st.sampled_from([np.uint8, np.int8, np.int32, np.uint16, np.int64]),
       seed=st.integers(0, 2**32 - 1))
def test_round_trip_is_bit_exact_for_any_shape_and_width(shape, dtype, seed):
    x = np.random.default_rng(seed).integers(0, 4, size=shape).astype(dtype)
    packed = pack_2bit(x)
    assert packed.dtype == np.uint8
    assert packed.shape == tuple(shape[:-1]) + (packed_width(shape[-1]),)
    back = unpack_2bit(packed, shape[-1])
    assert back.dtype == np.uint8 and back.shape == x.shape
    np.testing.assert_array_equal(back, x)


@SETTINGS
@given(rows=st.integers(1, 6), groups=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_layout_matches_the_blog_compress(rows, groups, seed):
    x = np.random.default_rng(seed).integers(0, 4, size=(rows, 4 * groups), dtype=np.uint8)
    np.testing.assert_array_equal(pack_2bit(x), blog_compress(x))


def test_large_block_round_trip():
    x = np.random.default_rng(0).integers(0, 4, size=(3001, 997), dtype=np.uint8)
    np.testing.assert_array_equal(unpack_2bit(pack_2bit(x), 997), x)


def test_non_contiguous_input_packs_its_values():
    x = np.random.default_rng(1).integers(0, 4, size=(8, 16), dtype=np.uint8)
    view = x[::2, 1::2]
    np.testing.assert_array_equal(unpack_2bit(pack_2bit(view), view.shape[1]), view)


@SETTINGS
@given(rows=st.integers(0, 7), width=st.integers(1, 23), seed=st.integers(0, 2**32 - 1))
def test_whole_array_formulation_equals_the_compiled_loops(rows, width, seed):
    """The CuPy path's arithmetic, run on NumPy, gives the compiled loops' bytes."""
    x = np.random.default_rng(seed).integers(0, 4, size=(rows, width), dtype=np.uint8)
    packed = pack_2bit(x)
    np.testing.assert_array_equal(pack_rows_vectorized(np, x), packed)
    np.testing.assert_array_equal(unpack_rows_vectorized(np, packed, width), x)


@SETTINGS
@given(rows=st.integers(1, 7), width=st.integers(1, 23),
       dtype=st.sampled_from([np.float32, np.float64, np.uint8, np.int16]),
       seed=st.integers(0, 2**32 - 1))
def test_unpack_into_a_buffer_of_any_dtype_gives_the_codes(rows, width, dtype, seed):
    x = np.random.default_rng(seed).integers(0, 4, size=(rows, width), dtype=np.uint8)
    out = np.full((rows, width), 99, dtype=dtype)
    assert unpack_2bit_into(pack_2bit(x), out) is out
    np.testing.assert_array_equal(out, x.astype(dtype))


def test_unpack_into_a_strided_buffer_fills_the_view():
    x = np.random.default_rng(4).integers(0, 4, size=(5, 9), dtype=np.uint8)
    base = np.zeros((5, 18))
    unpack_2bit_into(pack_2bit(x), base[:, ::2])
    np.testing.assert_array_equal(base[:, ::2], x)
    assert not base[:, 1::2].any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_slabs_of_a_packed_block_are_the_cast_codes(dtype):
    x = np.random.default_rng(5).integers(0, 3, size=(1500, 1001), dtype=np.uint8)
    view = BlockView(try_pack(x))
    got = np.concatenate([slab.copy() for _, _, slab in view.slabs(dtype)])
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, x)


def test_padding_bits_are_zero():
    packed = pack_2bit(np.full((2, 5), 3, dtype=np.uint8))
    np.testing.assert_array_equal(packed[:, 1], [3, 3])


@pytest.mark.parametrize("bad", [4, -1, 255])
def test_values_outside_zero_to_three_raise(bad):
    x = np.zeros((3, 5), dtype=np.int16)
    x[1, 2] = bad
    with pytest.raises(ValueError, match="0..3"):
        pack_2bit(x)


def test_float_input_raises_type_error():
    with pytest.raises(TypeError, match="integer"):
        pack_2bit(np.zeros((2, 4)))


def test_scalar_input_raises():
    with pytest.raises(ValueError, match="dimension"):
        pack_2bit(np.uint8(1))


def test_unpack_with_wrong_width_raises():
    packed = pack_2bit(np.zeros((2, 9), dtype=np.uint8))
    with pytest.raises(ValueError, match="width"):
        unpack_2bit(packed, 4)


def test_unpack_needs_uint8():
    with pytest.raises(TypeError, match="uint8"):
        unpack_2bit(np.zeros((2, 3), dtype=np.int16), 9)


def test_try_pack_packs_genotypes_and_keeps_other_blocks():
    codes = np.random.default_rng(2).integers(0, 3, size=(7, 11), dtype=np.uint8)
    packed = try_pack(codes)
    assert isinstance(packed, Packed2Bit)
    np.testing.assert_array_equal(packed.decode(), codes)
    np.testing.assert_array_equal(packed.rows(2, 5), codes[2:5])
    wide = codes.astype(np.int16) * 3
    assert try_pack(wide) is wide
    negative = codes.astype(np.int8) - 1
    assert try_pack(negative) is negative
    floats = codes.astype(np.float64)
    assert try_pack(floats) is floats


def test_cupy_arrays_stay_on_the_device():
    cupy = pytest.importorskip("cupy")
    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception:
        pytest.skip("no CUDA device")
    x = np.random.default_rng(3).integers(0, 4, size=(33, 17), dtype=np.uint8)
    packed = pack_2bit(cupy.asarray(x))
    assert type(packed).__module__.startswith("cupy")
    np.testing.assert_array_equal(cupy.asnumpy(packed), pack_2bit(x))
    np.testing.assert_array_equal(cupy.asnumpy(unpack_2bit(packed, 17)), x)
