"""Blocks packed along their columns (``colpacked``): the packing is the row packing of
the transpose, ``Aᵀ Y`` from it equals NumPy's (exactly for integer ``Y``, float32
pieces included), and row passes that hold blocks this way give the dense answers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lamina.layers.linalg import colpacked, fused, products
from lamina.layers.linalg.colpacked import PIECE_ROWS, columns_product, pack_columns
from lamina.layers.linalg.packing import pack_2bit, unpack_2bit
from lamina.layers.linalg.scaling import patterson_reference


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(0, 150), n=st.integers(0, 90),
       dtype=st.sampled_from([np.uint8, np.int8, np.bool_]))
def test_packing_along_columns_is_the_transposes_row_packing(seed, m, n, dtype):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 2 if dtype is np.bool_ else 4, size=(m, n)).astype(dtype)
    held = pack_columns(codes)
    assert held is not None and held.shape == (m, n)
    assert len(held.pieces) == -(-m // PIECE_ROWS)
    if m:
        piece = held.pieces[0]
        assert np.array_equal(piece, pack_2bit(codes.T.astype(np.uint8)))
        assert np.array_equal(unpack_2bit(piece, m), codes.T.astype(np.uint8))


@pytest.mark.parametrize("bad", [4, 255])
def test_codes_that_do_not_fit_two_bits_are_not_packed(bad):
    codes = np.zeros((9, 5), dtype=np.uint8)
    codes[8, 4] = bad
    assert pack_columns(codes) is None
    assert pack_columns(np.full((3, 3), -1, dtype=np.int8)) is None
    assert pack_columns(np.zeros((3, 3), dtype=np.uint16)) is None
    assert pack_columns(np.zeros((3, 3), dtype=np.float64)) is None


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(0, 60), n=st.integers(1, 40),
       l=st.integers(1, 25), piece=st.sampled_from([4, 8, 12, 4096]),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_columns_product_equals_numpy(seed, m, n, l, piece, dtype):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(m, n)).astype(np.uint8)
    y = rng.standard_normal((m, l)).astype(dtype)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(colpacked, "PIECE_ROWS", piece)
        w = columns_product(pack_columns(codes), y, dtype)
    assert w.dtype == dtype and w.shape == (n, l)
    reference = codes.T.astype(np.float64) @ y.astype(np.float64)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(w, reference, rtol=tol, atol=tol * max(1, m))


def test_integer_y_runs_exactly_in_float32_pieces(monkeypatch):
    """Large integer sums: the float32 pieces give the float64 answer bit for bit."""
    rng = np.random.default_rng(3)
    m, n, l = 3 * PIECE_ROWS + 7, 33, 5
    codes = rng.integers(0, 4, size=(m, n)).astype(np.uint8)
    y = rng.integers(-1365, 1366, size=(m, l)).astype(np.float64)
    seen = []
    real = colpacked.packed_gz
    monkeypatch.setattr(colpacked, "packed_gz",
                        lambda p, k, z, v: seen.append(z.dtype) or real(p, k, z, v))
    w = columns_product(pack_columns(codes), y, np.float64)
    assert seen == [np.dtype(np.float32)] * 4
    assert np.array_equal(w, codes.T.astype(np.int64) @ y.astype(np.int64))
    seen.clear()
    columns_product(pack_columns(codes), y + 0.5, np.float64)
    assert seen == [np.dtype(np.float64)] * 4


def test_columns_product_checks_the_rows_of_y():
    with pytest.raises(ValueError, match="y must have 6 rows"):
        columns_product(pack_columns(np.zeros((6, 2), dtype=np.uint8)), np.zeros((5, 1)),
                        np.float64)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 700),
       widths=st.lists(st.integers(1, 300), min_size=2, max_size=3),
       scaler=st.sampled_from([None, "center", "patterson"]),
       signs=st.booleans(), piece=st.sampled_from([8, 4096]),
       min_rows=st.sampled_from([1, fused.MIN_ROWS]))
def test_row_pass_holding_columns_equals_dense(seed, m, widths, scaler, signs, piece,
                                               min_rows):
    """Row blocks of several column blocks, held packed along columns where the fused
    kernels suit the shape (all of them with ``min_rows`` 1)."""
    rng = np.random.default_rng(seed)
    blocks = [rng.integers(0, 3, size=(m, w)).astype(np.uint8) for w in widths]
    a = np.hstack(blocks).astype(np.float64)
    n, l = a.shape[1], 6
    z = np.sign(rng.standard_normal((n, l))) if signs else rng.standard_normal((n, l))
    zs = np.split(z, np.cumsum(widths)[:-1])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(colpacked, "PIECE_ROWS", piece)
        patch.setattr(fused, "MIN_ROWS", min_rows)
        y, w, _ = products.row_pass(blocks, zs, None, dtype=np.float64, scaler=scaler,
                                    want_y=True, want_w=True, pack=True)
    if scaler == "center":
        a = a - a.mean(axis=1, keepdims=True)
    elif scaler == "patterson":
        a = patterson_reference(a)
    np.testing.assert_allclose(y, a @ z, rtol=1e-10, atol=1e-9 * n)
    np.testing.assert_allclose(w, a.T @ (a @ z), rtol=1e-10, atol=1e-9 * n * m)
