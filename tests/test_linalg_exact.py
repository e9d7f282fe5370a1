"""Products of small integers run in float32 only where that is exact: the
pass kernels then give the float64 products bit for bit, and fall back to
float64 for anything else."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lamina.layers.linalg import products
from lamina.layers.linalg.exact import EXACT_FLOAT32, code_bound, integer_bound, product_dtype
from lamina.layers.linalg.payload import BlockView, try_pack
from lamina.linalg.randomized import sketch_matrix

SETTINGS = settings(max_examples=30, deadline=None)


def codes(seed, m, n, top=3):
    return np.random.default_rng(seed).integers(0, top, size=(m, n), dtype=np.uint8)


def signs(seed, n, l):
    return sketch_matrix(n, l, seed, np.float64, signs=True)


def test_code_bound_is_the_largest_magnitude_of_integer_codes():
    x = codes(0, 4, 8)
    x[1, 2] = 2
    assert code_bound(BlockView(try_pack(x))) == 3
    assert code_bound(BlockView(x)) == 2
    assert code_bound(BlockView(x.astype(np.int8) - 5)) == 5
    assert code_bound(BlockView(x.astype(np.int64) * 1000)) == 2000
    assert code_bound(BlockView(x.astype(bool))) == 1
    assert code_bound(BlockView(np.zeros((0, 3), dtype=np.uint8))) == 0
    assert code_bound(BlockView(x.astype(np.float64))) is None


def test_integer_bound_needs_every_entry_integer_and_finite():
    assert integer_bound(np.array([[1.0, -7.0], [0.0, 3.0]])) == 7
    assert integer_bound(np.array([1.0, 0.5])) is None
    assert integer_bound(np.array([1.0, np.inf])) is None
    assert integer_bound(np.array([1.0, np.nan])) is None
    assert integer_bound(np.zeros((0, 3))) == 0


def test_product_dtype_is_float32_only_below_the_exact_bound():
    z = np.ones((10, 2))
    limit = EXACT_FLOAT32 // 3
    assert product_dtype(3, limit - 1, z, np.float64) == np.float32
    assert product_dtype(3, limit + 1, z, np.float64) == np.float64
    assert product_dtype(3, 10, z + 0.5, np.float64) == np.float64
    assert product_dtype(None, 10, z, np.float64) == np.float64
    assert product_dtype(3, 10, z, np.float32) == np.float32


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 300), n=st.integers(1, 60),
       l=st.integers(1, 6), packed=st.booleans(), top=st.sampled_from([3, 256]),
       wide=st.booleans())
def test_sign_sketch_products_equal_float64_bit_for_bit(seed, m, n, l, packed, top, wide):
    g = codes(seed, m, n, 4 if packed else top)
    if wide and not packed:
        g = g.astype(np.int32) * 1000
    z = signs(seed, n, l)
    payload = try_pack(g) if packed else g
    y, w, _ = products.row_pass([payload], [z], None, dtype=np.float64, scaler=None,
                                want_y=True, want_w=True, pack=False)
    dense = g.astype(np.float64)
    np.testing.assert_array_equal(y, dense @ z)
    np.testing.assert_array_equal(w, dense.T @ (dense @ z))


def test_sums_past_the_float32_bound_stay_exact_in_float64():
    # 255 * 70_000 > 2**24: float32 could not hold the sums, so float64 is used
    g = np.full((2, 70_000), 255, dtype=np.uint8)
    z = np.ones((70_000, 1))
    y, _, _ = products.row_pass([g], [z], None, dtype=np.float64, scaler=None, want_y=True,
                                want_w=False, pack=False)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, [[255 * 70_000], [255 * 70_000]])


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.integers(1, 30), max_size=3, unique=True))
def test_split_rows_with_signs_equal_float64_bit_for_bit(seed, cuts):
    g = codes(seed, 50, 31)
    z = signs(seed, 31, 4)
    bounds = [0, *sorted(cuts), 31]
    blocks = [try_pack(g[:, a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    zs = [z[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    y, w, _ = products.row_pass(blocks, zs, None, dtype=np.float64, scaler=None, want_y=True,
                                want_w=True, pack=False)
    dense = g.astype(np.float64)
    np.testing.assert_array_equal(y, dense @ z)
    np.testing.assert_array_equal(w, dense.T @ (dense @ z))


@pytest.mark.parametrize("scaler", ["center", "patterson"])
def test_scaled_products_keep_float64_accuracy(scaler):
    from lamina.layers.linalg.scaling import patterson_reference

    g = codes(3, 400, 90)
    z = signs(3, 90, 5)
    dense = patterson_reference(g) if scaler == "patterson" else g - g.mean(axis=1, keepdims=True)
    y, w, _ = products.row_pass([g], [z], None, dtype=np.float64, scaler=scaler, want_y=True,
                                want_w=True, pack=False)
    np.testing.assert_allclose(y, dense @ z, rtol=1e-13, atol=1e-11)
    np.testing.assert_allclose(w, dense.T @ (dense @ z), rtol=1e-13, atol=1e-9)


def test_sign_sketch_is_plus_or_minus_one_and_depends_only_on_the_seed():
    omega = sketch_matrix(1000, 7, 5, np.float64, signs=True)
    assert set(np.unique(omega)) == {-1.0, 1.0}
    assert abs(omega.mean()) < 0.05
    np.testing.assert_array_equal(omega, sketch_matrix(1000, 7, 5, np.float64, signs=True))
