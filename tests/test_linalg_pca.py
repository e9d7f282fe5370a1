"""Genotype PCA: implicit centring and Patterson scaling equal the reference
formula, bad codes are rejected, and the demo genotype source is
deterministic with visible population structure."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina.array as la
from lamina.layers.linalg.signs import flip_signs
from lamina.linalg import genotype_matrix, patterson_reference, pca, randomized_svd


def genotypes(seed=0, m=240, n=90):
    g = np.random.default_rng(seed).integers(0, 3, size=(m, n), dtype=np.uint8)
    g[5] = 0
    g[6] = 2
    return g


def test_patterson_reference_is_the_textbook_formula():
    g = genotypes()
    p = g.mean(axis=1) / 2
    expected = np.zeros(g.shape)
    for i in range(g.shape[0]):
        if 0 < p[i] < 1:
            expected[i] = (g[i] - 2 * p[i]) / np.sqrt(2 * p[i] * (1 - p[i]))
    np.testing.assert_allclose(patterson_reference(g), expected, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(7, 240), cols=st.integers(5, 90),
       scaler=st.sampled_from(["patterson", "center"]), single_read=st.booleans())
def test_full_rank_pca_reproduces_the_scaled_matrix(seed, rows, cols, scaler, single_read):
    g = genotypes(seed % 1000)
    x = la.from_array(g, chunks=(rows, cols))
    k = min(g.shape)
    result = randomized_svd(x, k, scaler=scaler, seed=seed, n_oversamples=0,
                            single_read=single_read)
    dense = patterson_reference(g) if scaler == "patterson" else g - g.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(result.u * result.s @ result.v, dense, atol=1e-9)
    mean = g.mean(axis=1)
    np.testing.assert_allclose(result.row_stats[:, 0], mean, atol=1e-12)
    if scaler == "patterson":
        scale = np.sqrt(2 * (mean / 2) * (1 - mean / 2))
        np.testing.assert_allclose(result.row_stats[:, 1], np.where(scale > 0, scale, 1))


def test_leading_components_match_the_dense_svd():
    g = genotype_matrix((400, 150), chunks=(100, 50), seed=3).compute()
    u_ref, s_ref, v_ref = np.linalg.svd(patterson_reference(g), full_matrices=False)
    u_ref, v_ref = flip_signs(u_ref[:, :3], v_ref[:3])
    u, s, v = pca(la.from_array(g, chunks=(100, 50)), 3, n_power_iter=6, seed=0)
    np.testing.assert_allclose(s, s_ref[:3], rtol=1e-8)
    np.testing.assert_allclose(v, v_ref, atol=1e-4)
    np.testing.assert_allclose(u, u_ref, atol=1e-4)


def test_pca_reads_the_input_as_uint8_blocks():
    g = genotype_matrix((300, 80), chunks=(100, 40), seed=1)
    assert g.dtype == np.uint8
    u, s, v = pca(g, 3, seed=0)
    assert s.dtype == np.float64 and u.shape == (300, 3) and v.shape == (3, 80)


def test_negative_float_codes_are_rejected_with_a_clear_message():
    g = genotypes().astype(np.float64)
    g[17, 3] = -1
    with pytest.raises(ValueError, match="signed integer"):
        pca(la.from_array(g, chunks=(60, 45)), 3, seed=0)


def test_missing_calls_refuse_split_passes():
    g = genotypes().astype(np.int8)
    g[17, 3] = -1
    with pytest.raises(ValueError, match="single-read"):
        pca(la.from_array(g, chunks=(60, 45)), 3, seed=0, single_read=False)


def test_codes_above_two_beside_missing_calls_are_rejected():
    g = genotypes().astype(np.int8)
    g[17, 3], g[2, 2] = -1, 3
    with pytest.raises(ValueError, match="-1, 0, 1 or 2"):
        pca(la.from_array(g, chunks=(60, 45)), 3, seed=0)


def test_unscaled_pca_is_the_plain_svd():
    g = genotypes(2)
    plain = randomized_svd(la.from_array(g, chunks=(60, 45)), 5, n_power_iter=2, seed=4)
    u, s, v = pca(la.from_array(g, chunks=(60, 45)), 5, scaler=None, n_power_iter=2,
                  iterator="power", seed=4)
    np.testing.assert_allclose(s, plain.s, rtol=1e-12)


def test_unknown_scaler_raises():
    with pytest.raises(ValueError, match="scaler"):
        pca(genotypes(), 2, scaler="standard")


def test_genotype_source_is_deterministic_and_valid():
    a = genotype_matrix((500, 300), chunks=(128, 100), seed=9).compute()
    b = genotype_matrix((500, 300), chunks=(128, 100), seed=9).compute()
    c = genotype_matrix((500, 300), chunks=(128, 100), seed=10).compute()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.dtype == np.uint8 and set(np.unique(a)) == {0, 1, 2}


def test_genotype_blocks_depend_only_on_seed_and_block():
    full = genotype_matrix((300, 200), chunks=(100, 100), seed=2)
    block = full.layer.load_block(3)
    np.testing.assert_array_equal(block, full.compute()[100:200, 100:200])


def test_genotype_source_has_population_structure():
    g = genotype_matrix((2000, 400), chunks=(500, 400), seed=0, n_populations=4).compute()
    s = np.linalg.svd(patterson_reference(g), compute_uv=False)
    assert s[2] > 2 * s[3]
    assert s[3] < 1.1 * s[10]


@pytest.mark.parametrize("kwargs,match", [
    (dict(shape=(10,)), "2-D"),
    (dict(shape=(10, 10), n_populations=0), "n_populations"),
    (dict(shape=(10, 10), fst=1.5), "fst"),
])
def test_genotype_source_arguments_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        genotype_matrix(**kwargs)
