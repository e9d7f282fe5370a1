"""Exact TSQR, QR and SVD against NumPy on random shapes, chunkings and
tree widths, with the documented sign conventions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina
import lamina.array as la
from lamina.layers.linalg.signs import flip_signs
from lamina.linalg import qr, svd, tsqr

SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def partition(draw, n, min_size=1):
    """Random block sizes (each >= min_size) adding up to ``n``."""
    sizes, left = [], n
    while left > 0:
        size = draw(st.integers(min(min_size, left), left))
        sizes.append(size)
        left -= size
    return tuple(sizes)


@st.composite
def tall_case(draw):
    ncols = draw(st.integers(1, 6))
    nrows = draw(st.integers(ncols, 40))
    rows = draw(partition(nrows))
    seed = draw(st.integers(0, 2**32 - 1))
    x = np.random.default_rng(seed).standard_normal((nrows, ncols))
    split = draw(st.integers(2, 4))
    return x, la.from_array(x, chunks=(rows, ncols)), split


@SETTINGS
@given(case=tall_case())
def test_tsqr_factors_the_array(case):
    x, a, split = case
    q, r = lamina.compute(*tsqr(a, split_every=split))
    np.testing.assert_allclose(q @ r, x, atol=1e-12)
    np.testing.assert_allclose(q.T @ q, np.eye(q.shape[1]), atol=1e-12)
    assert np.all(np.diag(r) >= 0)
    np.testing.assert_allclose(np.tril(r, -1), 0, atol=1e-12)


@SETTINGS
@given(case=tall_case())
def test_tsqr_r_equals_numpy_r_up_to_row_signs(case):
    x, a, split = case
    r = tsqr(a, split_every=split)[1].compute()
    r_np = np.linalg.qr(x)[1]
    r_np = r_np * np.where(np.diag(r_np) < 0, -1, 1)[:, None]
    np.testing.assert_allclose(r, r_np, atol=1e-10)


@SETTINGS
@given(case=tall_case())
def test_svd_matches_numpy_with_the_sign_convention(case):
    x, a, split = case
    u, s, v = lamina.compute(*svd(a, split_every=split))
    u_np, s_np, v_np = np.linalg.svd(x, full_matrices=False)
    np.testing.assert_allclose(s, s_np, atol=1e-10)
    np.testing.assert_allclose(u * s @ v, x, atol=1e-10)
    np.testing.assert_allclose(v @ v.T, np.eye(len(s)), atol=1e-10)
    well_separated = np.all(np.diff(s_np) < -1e-6 * max(s_np[0], 1)) and s_np[-1] > 1e-8
    if well_separated:
        u_ref, v_ref = flip_signs(u_np, v_np)
        np.testing.assert_allclose(v, v_ref, atol=1e-8)
        np.testing.assert_allclose(u, u_ref, atol=1e-8)


@SETTINGS
@given(case=tall_case())
def test_short_fat_svd_is_the_transposed_problem(case):
    x, _, split = case
    y = x.T.copy()
    cols = tuple(c for c in la.from_array(x, chunks=(5, -1)).chunks[0])
    a = la.from_array(y, chunks=(y.shape[0], cols))
    u, s, v = lamina.compute(*svd(a, split_every=split))
    np.testing.assert_allclose(s, np.linalg.svd(y, compute_uv=False), atol=1e-10)
    np.testing.assert_allclose(u * s @ v, y, atol=1e-10)
    peaks = v[np.arange(v.shape[0]), np.argmax(np.abs(v), axis=1)]
    assert np.all(peaks > 0)


def test_right_singular_vectors_have_a_positive_largest_entry():
    x = np.random.default_rng(5).standard_normal((200, 6))
    u, s, v = lamina.compute(*svd(la.from_array(x, chunks=(30, 6))))
    peaks = v[np.arange(6), np.argmax(np.abs(v), axis=1)]
    assert np.all(peaks > 0)


def test_same_results_for_every_chunking():
    x = np.random.default_rng(6).standard_normal((300, 5))
    ref = lamina.compute(*svd(la.from_array(x, chunks=(300, 5))))
    for rows in [7, 50, 151]:
        got = lamina.compute(*svd(la.from_array(x, chunks=(rows, 5)), split_every=3))
        for a, b in zip(got, ref):
            np.testing.assert_allclose(a, b, atol=1e-12)


def test_recursive_tree_with_blocks_smaller_than_the_width():
    x = np.random.default_rng(7).standard_normal((37, 6))
    q, r = lamina.compute(*tsqr(la.from_array(x, chunks=(2, 6)), split_every=2))
    np.testing.assert_allclose(q @ r, x, atol=1e-12)
    np.testing.assert_allclose(q.T @ q, np.eye(6), atol=1e-12)


def test_integer_and_float32_inputs():
    x = np.random.default_rng(8).integers(0, 3, size=(60, 4), dtype=np.uint8)
    q, r = lamina.compute(*tsqr(la.from_array(x, chunks=(20, 4))))
    assert q.dtype == np.float64
    np.testing.assert_allclose(q @ r, x, atol=1e-12)
    f = x.astype(np.float32)
    u, s, v = lamina.compute(*svd(la.from_array(f, chunks=(20, 4))))
    assert s.dtype == np.float32
    np.testing.assert_allclose(s, np.linalg.svd(x.astype(float), compute_uv=False), rtol=1e-5)


def test_rank_deficient_tsqr_still_orthonormal():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((80, 2)) @ rng.standard_normal((2, 5))
    q, r = lamina.compute(*tsqr(la.from_array(x, chunks=(16, 5))))
    np.testing.assert_allclose(q @ r, x, atol=1e-12)
    np.testing.assert_allclose(q.T @ q, np.eye(5), atol=1e-12)


def test_short_fat_qr():
    x = np.random.default_rng(10).standard_normal((4, 30))
    q, r = lamina.compute(*qr(la.from_array(x, chunks=(4, (8, 10, 12)))))
    np.testing.assert_allclose(q @ r, x, atol=1e-12)
    np.testing.assert_allclose(q.T @ q, np.eye(4), atol=1e-12)
    assert np.all(np.diag(r[:, :4]) >= 0)


def test_short_fat_qr_needs_a_wide_first_block():
    with pytest.raises(ValueError, match="at least as wide"):
        qr(la.from_array(np.ones((5, 30)), chunks=(5, 3)))


def test_svd_of_an_array_chunked_both_ways_points_to_svd_compressed():
    a = la.from_array(np.ones((20, 20)), chunks=(10, 10))
    with pytest.raises(ValueError, match="svd_compressed"):
        svd(a)
    with pytest.raises(ValueError, match="rechunk"):
        qr(a)
    with pytest.raises(ValueError, match="one block along the columns"):
        tsqr(a)


def test_bad_inputs():
    with pytest.raises(ValueError, match="2-D"):
        svd(la.from_array(np.ones(5), chunks=2))
    with pytest.raises(TypeError, match="complex"):
        tsqr(la.from_array(np.ones((4, 2), dtype=complex), chunks=(2, 2)))
    with pytest.raises(ValueError, match="split_every"):
        tsqr(la.from_array(np.ones((4, 2)), chunks=(2, 2)), split_every=1)


def test_tall_blocks_are_factored_in_cache_sized_pieces(monkeypatch):
    from lamina.layers.linalg import tsqr_layers

    monkeypatch.setattr(tsqr_layers, "PIECE_BYTES", 8 * 5 * 7)
    x = np.random.default_rng(11).standard_normal((200, 5))
    pieces, _ = tsqr_layers.local_qr(x[:90])
    assert len(pieces) == 9
    u, s, v = lamina.compute(*svd(la.from_array(x, chunks=(90, 5))))
    np.testing.assert_allclose(u * s @ v, x, atol=1e-12)
    np.testing.assert_allclose(u.T @ u, np.eye(5), atol=1e-12)
    np.testing.assert_allclose(s, np.linalg.svd(x, compute_uv=False), rtol=1e-12)
