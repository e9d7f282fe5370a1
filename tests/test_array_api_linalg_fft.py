"""The ``linalg`` and ``fft`` extensions against numpy.linalg and numpy.fft, uneven chunks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina.array as la
from lamina.array import linalg as linalg_module
from lamina.testing.strategies import chunks_for


def _stack(data, n: int, m: int, batch: int = 2, dtype=np.float64) -> tuple[np.ndarray, la.Array]:
    """A stack of matrices (well conditioned) and a lamina Array of it in random chunks."""
    seed = data.draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    values = (rng.standard_normal((batch, n, m)) + 3 * np.eye(n, m)).astype(dtype)
    chunks = data.draw(chunks_for(values.shape))
    return values, la.from_array(values, chunks=chunks)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_square_matrix_functions_match_numpy(data):
    n = data.draw(st.integers(1, 5))
    values, x = _stack(data, n, n)
    spd = values @ np.swapaxes(values, -1, -2) + n * np.eye(n)
    s = la.from_array(spd, chunks=x.chunks)
    np.testing.assert_allclose(la.linalg.inv(x).compute(), np.linalg.inv(values), rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(la.linalg.det(x).compute(), np.linalg.det(values), rtol=1e-10)
    sign, logdet = la.linalg.slogdet(x)
    ref = np.linalg.slogdet(values)
    np.testing.assert_array_equal(sign.compute(), ref.sign)
    np.testing.assert_allclose(logdet.compute(), ref.logabsdet, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(la.linalg.cholesky(s).compute(), np.linalg.cholesky(spd),
                               rtol=1e-10)
    np.testing.assert_allclose(la.linalg.cholesky(s, upper=True).compute(),
                               np.swapaxes(np.linalg.cholesky(spd), -1, -2), rtol=1e-10)
    w, v = la.linalg.eigh(s)
    np.testing.assert_allclose(w.compute(), np.linalg.eigvalsh(spd), rtol=1e-10)
    rebuilt = (v * w[..., None, :]) @ la.matrix_transpose(v)
    np.testing.assert_allclose(rebuilt.compute(), spd, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(la.linalg.matrix_power(x, 3).compute(),
                               np.linalg.matrix_power(values, 3), rtol=1e-10)
    b = values[..., 0] + 1
    np.testing.assert_allclose(la.linalg.solve(x, la.asarray(b[0])).compute(),
                               np.linalg.solve(values, b[0][None, :, None])[..., 0], rtol=1e-9)
    np.testing.assert_allclose(la.linalg.solve(x, x).compute(),
                               np.linalg.solve(values, values), rtol=1e-9, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_rectangular_functions_match_numpy(data):
    n, m = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    values, x = _stack(data, n, m)
    np.testing.assert_allclose(la.linalg.svdvals(x).compute(),
                               np.linalg.svd(values, compute_uv=False), rtol=1e-10)
    for full in (True, False):
        u, s, vh = la.linalg.svd(x, full_matrices=full)
        ref = np.linalg.svd(values, full_matrices=full)
        assert u.shape == ref.U.shape and vh.shape == ref.Vh.shape
        k = min(n, m)
        rebuilt = (u[..., :k] * s[..., None, :]) @ vh[..., :k, :]
        np.testing.assert_allclose(rebuilt.compute(), values, rtol=1e-9, atol=1e-12)
    q, r = la.linalg.qr(x)
    np.testing.assert_allclose((q @ r).compute(), values, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(la.linalg.pinv(x).compute(), np.linalg.pinv(values), rtol=1e-8,
                               atol=1e-10)
    np.testing.assert_array_equal(la.linalg.matrix_rank(x).compute(),
                                  np.linalg.matrix_rank(values))
    offset = data.draw(st.integers(-2, 2))
    np.testing.assert_array_equal(la.linalg.trace(x, offset=offset).compute(),
                                  np.trace(values, offset=offset, axis1=-2, axis2=-1))
    np.testing.assert_array_equal(la.linalg.diagonal(x, offset=offset).compute(),
                                  np.diagonal(values, offset=offset, axis1=-2, axis2=-1))


def test_per_matrix_tolerance_follows_each_matrix_across_blocks():
    values = np.random.default_rng(1).standard_normal((4, 3, 3))
    rtol = np.array([0.0, 0.3, 0.6, 0.99])
    x = la.from_array(values, chunks=(1, 2, 2))
    np.testing.assert_allclose(la.linalg.pinv(x, rtol=la.asarray(rtol)).compute(),
                               np.linalg.pinv(values, rtol=rtol), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(la.linalg.matrix_rank(x, rtol=rtol).compute(),
                                  np.linalg.matrix_rank(values, rtol=rtol))


def test_tall_and_skinny_qr_and_svd_use_tsqr():
    rng = np.random.default_rng(0)
    values = rng.standard_normal((40, 4))
    x = la.from_array(values, chunks=((7, 13, 20), 4))
    q, r = la.linalg.qr(x)
    assert q.numblocks[0] > 1  # not gathered into one block
    np.testing.assert_allclose((q @ r).compute(), values, rtol=1e-10, atol=1e-12)
    u, s, vh = la.linalg.svd(x, full_matrices=False)
    np.testing.assert_allclose(s.compute(), np.linalg.svd(values, compute_uv=False), rtol=1e-10)
    np.testing.assert_allclose(((u * s) @ vh).compute(), values, rtol=1e-10, atol=1e-12)


def test_too_large_matrix_names_the_chunking(monkeypatch):
    monkeypatch.setattr(linalg_module, "MATRIX_BYTES", 64)
    x = la.from_array(np.eye(6), chunks=3)
    with pytest.raises(ValueError, match=r"rechunk\(\{-2: -1, -1: -1\}\)"):
        la.linalg.inv(x)
    with pytest.raises(ValueError, match="square"):
        la.linalg.det(la.ones((2, 3)))


SPECIAL = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1.5, -2.0, 3.0])


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_norms_match_numpy_with_special_values(data):
    shape = data.draw(st.tuples(st.integers(1, 5), st.integers(1, 5)))
    seed = data.draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    values = rng.choice(SPECIAL, size=shape) if data.draw(st.booleans()) else \
        rng.standard_normal(shape)
    x = la.from_array(values, chunks=data.draw(chunks_for(shape)))
    ord_ = data.draw(st.sampled_from([2, 1, 0, np.inf, -np.inf, 3, 0.5]))
    axis = data.draw(st.sampled_from([None, 0, 1, (0, 1)]))
    keepdims = data.draw(st.booleans())
    with np.errstate(all="ignore"):
        got = la.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord_).compute()
        expected = np.linalg.vector_norm(values, axis=axis, keepdims=keepdims, ord=ord_)
        np.testing.assert_allclose(got, expected, rtol=1e-12)
        finite = np.nan_to_num(values, nan=1.0, posinf=2.0, neginf=-3.0)
        y = la.from_array(finite, chunks=x.chunks)
        mord = data.draw(st.sampled_from(["fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]))
        np.testing.assert_allclose(la.linalg.matrix_norm(y, ord=mord, keepdims=keepdims).compute(),
                                   np.linalg.matrix_norm(finite, ord=mord, keepdims=keepdims),
                                   rtol=1e-10, atol=1e-12)


def test_cross_and_products():
    a = np.arange(12.0).reshape(4, 3)
    b = a[::-1] - 5
    x = la.from_array(a, chunks=(3, 2))
    y = la.from_array(b, chunks=(1, 1))
    np.testing.assert_array_equal(la.linalg.cross(x, y).compute(), np.cross(a, b))
    np.testing.assert_array_equal(la.linalg.matmul(x, y.T).compute(), a @ b.T)
    np.testing.assert_array_equal(la.linalg.outer(x[0], y[1]).compute(), np.outer(a[0], b[1]))
    np.testing.assert_array_equal(la.linalg.tensordot(x, y, axes=2).compute(),
                                  np.tensordot(a, b, axes=2))
    np.testing.assert_array_equal(la.linalg.vecdot(x, y).compute(), np.sum(a * b, axis=-1))


FFTS = {"fft": "c", "ifft": "c", "rfft": "r", "irfft": "c", "hfft": "c", "ihfft": "r"}


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_fft_matches_numpy(data):
    shape = data.draw(st.tuples(st.integers(1, 6), st.integers(2, 6)))
    seed = data.draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    name = data.draw(st.sampled_from(sorted(FFTS)))
    single = data.draw(st.booleans())
    values = rng.standard_normal(shape)
    if FFTS[name] == "c":
        values = values + 1j * rng.standard_normal(shape)
    if single:
        values = values.astype(np.complex64 if FFTS[name] == "c" else np.float32)
    x = la.from_array(values, chunks=data.draw(chunks_for(shape)))
    axis = data.draw(st.sampled_from([0, 1, -1]))
    n = data.draw(st.sampled_from([None, 2, 5]))
    norm = data.draw(st.sampled_from(["backward", "ortho", "forward"]))
    try:
        expected = getattr(np.fft, name)(values, n=n, axis=axis, norm=norm)
    except ValueError:  # no output points (irfft/hfft of one point): an error, as in NumPy
        with pytest.raises(ValueError, match="invalid number of data points"):
            getattr(la.fft, name)(x, n=n, axis=axis, norm=norm)
        return
    got = getattr(la.fft, name)(x, n=n, axis=axis, norm=norm)
    computed = got.compute()
    assert got.dtype == computed.dtype == expected.dtype
    assert got.chunks[1 - axis % 2] == x.chunks[1 - axis % 2]  # the other axis keeps its chunks
    np.testing.assert_allclose(computed, expected, rtol=1e-4 if single else 1e-10, atol=1e-5)


@settings(max_examples=20, deadline=None)
@given(st.data())
def test_fftn_and_shifts_match_numpy(data):
    shape = data.draw(st.tuples(st.integers(1, 5), st.integers(2, 5), st.integers(2, 4)))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    values = rng.standard_normal(shape)
    x = la.from_array(values, chunks=data.draw(chunks_for(shape)))
    axes = data.draw(st.sampled_from([None, (0, 2), (-1,), (2, 1)]))
    for name in ("fftn", "ifftn", "rfftn"):
        np.testing.assert_allclose(getattr(la.fft, name)(x, axes=axes).compute(),
                                   getattr(np.fft, name)(values, axes=axes), rtol=1e-10,
                                   atol=1e-12)
    spectrum = np.fft.rfftn(values, axes=axes)
    np.testing.assert_allclose(la.fft.irfftn(la.asarray(spectrum), axes=axes).compute(),
                               np.fft.irfftn(spectrum, axes=axes), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(la.fft.fftshift(x, axes=axes).compute(),
                                  np.fft.fftshift(values, axes=axes))
    np.testing.assert_array_equal(la.fft.ifftshift(x, axes=axes).compute(),
                                  np.fft.ifftshift(values, axes=axes))
    np.testing.assert_array_equal(la.fft.fftfreq(7, d=0.5).compute(), np.fft.fftfreq(7, d=0.5))
    np.testing.assert_array_equal(la.fft.rfftfreq(8).compute(), np.fft.rfftfreq(8))
