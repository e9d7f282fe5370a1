"""Missing genotype calls are mean-imputed inside the products: a full-rank
decomposition reproduces the densely imputed and scaled matrix, on every
pass layout, and the 2-bit kernels find exactly the missing codes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina.array as la
from lamina.layers.linalg.packing import (
    any_missing,
    missing_positions,
    pack_2bit,
    unpack_2bit_into,
)
from lamina.layers.linalg.payload import Packed2Bit, genotype_payload, missing_as_code
from lamina.linalg import patterson_reference, randomized_svd


def with_missing(seed: int, m: int, n: int, rate: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 3, size=(m, n)).astype(np.int8)
    g[rng.random((m, n)) < rate] = -1
    if m > 3:
        g[1] = -1                     # no call at all
        g[2] = np.where(g[2] < 0, -1, 2)   # monomorphic among the calls
    return g


def imputed_reference(g: np.ndarray, scaler: str) -> np.ndarray:
    """Densely mean-impute each row over its calls, centre (and scale): the definition."""
    out = np.zeros(g.shape)
    for i, row in enumerate(g.astype(np.float64)):
        called = row >= 0
        if not called.any():
            continue
        mean = row[called].mean()
        filled = np.where(called, row, mean) - mean
        if scaler == "patterson":
            p = mean / 2
            scale = np.sqrt(2 * p * (1 - p))
            filled = filled / scale if scale > 0 else filled
        out[i] = filled
    return out


def test_patterson_reference_imputes_like_the_definition():
    g = with_missing(0, 50, 30, 0.2)
    np.testing.assert_allclose(patterson_reference(g), imputed_reference(g, "patterson"),
                               atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), m=st.integers(4, 120), n=st.integers(3, 60),
       rate=st.sampled_from([0.0, 0.02, 0.3, 0.9]), row_chunk=st.integers(1, 120),
       col_chunk=st.integers(1, 60), scaler=st.sampled_from(["patterson", "center"]),
       iters=st.integers(0, 2))
def test_full_rank_decomposition_reproduces_the_imputed_matrix(seed, m, n, rate, row_chunk,
                                                                col_chunk, scaler, iters):
    """Block Krylov with a full basis is exact whatever the sketch (a random sign
    sketch of a few columns is often singular, which the power method cannot fix)."""
    g = with_missing(seed, m, n, rate)
    x = la.from_array(g, chunks=(row_chunk, col_chunk))
    k = min(m, n)
    result = randomized_svd(x, k, n_power_iter=n + iters, n_oversamples=0, scaler=scaler,
                            seed=seed, method="krylov")
    expected = imputed_reference(g, scaler)
    np.testing.assert_allclose(result.u * result.s @ result.v, expected, atol=1e-9)
    ref_s = np.linalg.svd(expected, compute_uv=False)[:k]
    np.testing.assert_allclose(result.s, ref_s, atol=1e-9 * max(1.0, ref_s[0]))


@pytest.mark.parametrize("chunks", [(60, 20), (13, 20), (13, 7)])
@pytest.mark.parametrize("n_power_iter", [0, 2])
def test_power_iteration_reproduces_the_imputed_matrix(chunks, n_power_iter):
    g = with_missing(11, 60, 20, 0.05)
    result = randomized_svd(la.from_array(g, chunks=chunks), 20, n_power_iter=n_power_iter,
                            n_oversamples=0, scaler="patterson", seed=3)
    np.testing.assert_allclose(result.u * result.s @ result.v,
                               imputed_reference(g, "patterson"), atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**16), m=st.integers(0, 9), n=st.integers(0, 90),
       rate=st.sampled_from([0.0, 0.01, 0.25, 1.0]))
def test_missing_positions_and_zeroed_unpacking_match_numpy(seed, m, n, rate):
    """Rows of up to 23 bytes: the eight-byte scan, its tail and sparse or no hits."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 3, size=(m, n)).astype(np.uint8)
    codes[rng.random((m, n)) < rate] = 3
    packed = pack_2bit(codes)
    rows, cols = missing_positions(packed, n)
    want_rows, want_cols = np.nonzero(codes == 3)
    np.testing.assert_array_equal(rows, want_rows)
    np.testing.assert_array_equal(cols, want_cols)
    assert any_missing(packed) == bool((codes == 3).any())
    payload = genotype_payload(packed, (m, n))
    assert payload.missing == bool((codes == 3).any())
    want = np.where(codes == 3, -1, codes.astype(np.int8))
    np.testing.assert_array_equal(payload.decode(), want)
    for dtype in (np.float32, np.float64):
        out = np.empty((m, n), dtype=dtype)
        unpack_2bit_into(packed, out, zero_missing=True)
        np.testing.assert_array_equal(out, np.where(codes == 3, 0, codes))


def test_signed_codes_become_a_packed_block_that_decodes_back():
    g = with_missing(3, 7, 9, 0.3)
    payload = missing_as_code(g)
    assert isinstance(payload, Packed2Bit) and payload.missing
    np.testing.assert_array_equal(payload.decode(), g)
    assert missing_as_code(np.abs(g)) is not None
    assert not isinstance(missing_as_code(np.abs(g)), Packed2Bit)
