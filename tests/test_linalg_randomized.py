"""Randomized SVD on matrices of known spectrum (fast decay, slow decay,
spikes over a Marchenko–Pastur bulk): accuracy that tightens with the power
iterations, the HMT error bound, exact recovery of low rank, agreement with
NumPy, chunking independence, and the number of passes over the input."""

from __future__ import annotations

import threading
from collections import Counter

import numpy as np
import pytest

import lamina.array as la
from lamina.array.core import Array
from lamina.layers.chunks import normalize_chunks
from lamina.layers.linalg.signs import flip_signs
from lamina.layers.linalg.sources import EncodedSource
from lamina.layers.sources import SourceLayer, unwrap_array, wrap_array
from lamina.linalg import compression_matrix, randomized_svd, svd_compressed
from lamina.linalg import passes as passes_module

M, N, K = 600, 200, 10


def orthonormal(rng, m, n):
    return np.linalg.qr(rng.standard_normal((m, n)))[0]


def known_spectrum(kind: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(A, singular values)`` with random singular vectors."""
    rng = np.random.default_rng(seed)
    u, v = orthonormal(rng, M, N), orthonormal(rng, N, N)
    i = np.arange(N)
    if kind == "fast":
        s = 0.7 ** i
    elif kind == "slow":
        s = 1.0 / (1 + i)
    else:
        spikes = np.array([30.0, 20.0, 15.0, 10.0, 8.0])
        a = (u[:, :5] * spikes) @ v[:, :5].T + rng.standard_normal((M, N)) / np.sqrt(N)
        return a, np.linalg.svd(a, compute_uv=False)
    return (u * s) @ v.T, s


SPECTRA = {kind: known_spectrum(kind) for kind in ("fast", "slow", "spikes")}


def relative_error(s_hat, s, k=K):
    return float(np.max(np.abs(s_hat[:k] - s[:k]) / s[:k]))


def median_error(kind, q, iterator, k=K, seeds=range(3)):
    a, s = SPECTRA[kind]
    x = la.from_array(a, chunks=(100, 50))
    return float(np.median([relative_error(randomized_svd(x, k, n_power_iter=q,
                                                          iterator=iterator, seed=seed).s, s, k)
                            for seed in seeds]))


@pytest.mark.parametrize("kind", ["fast", "slow", "spikes"])
@pytest.mark.parametrize("iterator", ["power", "QR"])
def test_estimates_never_exceed_the_true_singular_values(kind, iterator):
    a, s = SPECTRA[kind]
    for q in (0, 1, 2):
        r = randomized_svd(la.from_array(a, chunks=(150, 100)), K, n_power_iter=q,
                           iterator=iterator, seed=q)
        assert np.all(r.s <= s[:K] * (1 + 1e-12)), (q, r.s / s[:K])
        assert np.all(np.diff(r.s) <= 0)


@pytest.mark.parametrize("kind,tolerances", [
    ("fast", [1e-3, 1e-10, 1e-13]),
    ("slow", [0.3, 1e-2, 5e-4]),
])
def test_error_shrinks_with_power_iterations(kind, tolerances):
    errors = [median_error(kind, q, "QR") for q in range(3)]
    for err, tol in zip(errors, tolerances):
        assert err <= tol, errors
    assert errors[0] > errors[1] > errors[2] or errors[2] < 1e-13


def test_spikes_over_a_marchenko_pastur_bulk():
    errors = [median_error("spikes", q, "QR", k=5) for q in range(3)]
    assert errors[0] < 0.5 and errors[1] < 5e-3 and errors[2] < 1e-4, errors
    assert errors[0] > errors[1] > errors[2]


def test_power_and_qr_iterators_agree_on_well_conditioned_input():
    for q in (1, 2):
        assert median_error("slow", q, "power") == pytest.approx(median_error("slow", q, "QR"),
                                                                 rel=1e-3)


@pytest.mark.parametrize("kind", ["fast", "slow", "spikes"])
def test_singular_vectors_are_orthonormal(kind):
    a, _ = SPECTRA[kind]
    r = randomized_svd(la.from_array(a, chunks=(100, 60)), K, n_power_iter=1, seed=3)
    np.testing.assert_allclose(r.u.T @ r.u, np.eye(K), atol=1e-12)
    np.testing.assert_allclose(r.v @ r.v.T, np.eye(K), atol=1e-12)


def hmt_bound(s, k, p, q):
    """HMT 2011, Thm 10.6 / Cor 10.10: bound on E||A − QQᵀA|| with q power iterations."""
    t = s ** (2 * q + 1)
    bound = (1 + np.sqrt(k / (p - 1))) * t[k] + np.e * np.sqrt(k + p) / p * np.sqrt(
        np.sum(t[k:] ** 2))
    return bound ** (1 / (2 * q + 1))


@pytest.mark.parametrize("kind", ["slow", "spikes"])
@pytest.mark.parametrize("q", [0, 1])
def test_median_error_is_within_the_hmt_bound(kind, q):
    a, s = SPECTRA[kind]
    k, p = 5, 5
    x = la.from_array(a, chunks=(100, 50))
    errors = []
    for seed in range(5):
        qt = compression_matrix(x, k, n_power_iter=q, n_oversamples=p, seed=seed, compute=True)
        errors.append(np.linalg.norm(a - qt.T @ (qt @ a), 2))
    assert np.median(errors) <= hmt_bound(s, k, p, q)
    assert np.min(errors) >= s[k + p] * (1 - 1e-9)


def test_rank_r_matrix_is_recovered_exactly_when_k_plus_p_reaches_r():
    rng = np.random.default_rng(4)
    r_true = 8
    a = orthonormal(rng, M, r_true) * np.linspace(5, 1, r_true) @ orthonormal(rng, N, r_true).T
    result = randomized_svd(la.from_array(a, chunks=(100, 50)), r_true, n_oversamples=2, seed=0)
    np.testing.assert_allclose(result.s, np.linspace(5, 1, r_true), rtol=1e-12)
    np.testing.assert_allclose(result.u * result.s @ result.v, a, atol=1e-12)
    assert result.passes == 2 and not result.b_from_last_pass


def test_equals_numpy_when_the_sketch_spans_the_whole_space():
    a, _ = SPECTRA["slow"]
    small = a[:80, :30]
    u, s, v = svd_compressed(la.from_array(small, chunks=(20, 10)), 30, seed=0, compute=True)
    u_np, s_np, v_np = np.linalg.svd(small, full_matrices=False)
    u_np, v_np = flip_signs(u_np, v_np)
    np.testing.assert_allclose(s, s_np, rtol=1e-10)
    np.testing.assert_allclose(np.abs(u.T @ u_np), np.eye(30), atol=1e-6)
    np.testing.assert_allclose(v[:10], v_np[:10], atol=1e-8)
    np.testing.assert_allclose(u[:, :10], u_np[:, :10], atol=1e-8)


@pytest.mark.parametrize("iterator,tol", [("power", 1e-9), ("QR", 1e-12)])
def test_same_result_for_every_chunking_with_one_seed(iterator, tol):
    """Equal up to rounding: "power" amplifies it by κ(Y), "QR" does not."""
    a, _ = SPECTRA["slow"]
    ref = randomized_svd(la.from_array(a, chunks=(M, N)), K, n_power_iter=2, iterator=iterator,
                         seed=7)
    for chunks in [(100, 50), (137, 61), (600, 13)]:
        for single_read in (True, False):
            got = randomized_svd(la.from_array(a, chunks=chunks), K, n_power_iter=2,
                                 iterator=iterator, seed=7, single_read=single_read)
            np.testing.assert_allclose(got.s, ref.s, rtol=tol)
            np.testing.assert_allclose(got.u, ref.u, atol=100 * tol)
            np.testing.assert_allclose(got.v, ref.v, atol=100 * tol)


def test_sign_convention_makes_the_largest_entry_of_each_v_row_positive():
    a, _ = SPECTRA["fast"]
    v = randomized_svd(la.from_array(a, chunks=(100, 50)), K, seed=0).v
    assert np.all(v[np.arange(K), np.argmax(np.abs(v), axis=1)] > 0)


class _Counting(SourceLayer):
    """Source that counts how often each block is computed."""

    _parameters = ("array", "in_chunks", "tag")
    counts: dict = {}
    lock = threading.Lock()

    def _meta(self):
        return self.in_chunks, unwrap_array(self.array).dtype

    def kernel(self):
        array, region, counts, lock = unwrap_array(self.array), self.block_region, \
            _Counting.counts.setdefault(self.tag, Counter()), _Counting.lock

        def run(block, inputs):
            with lock:
                counts[block] += 1
            return array[region(block)]

        return run


class _CountingRefs(EncodedSource):
    """Encoded source whose blocks are loaded by the consuming kernel; counts loads."""

    _parameters = ("array", "in_chunks", "tag")

    def _meta(self):
        return self.in_chunks, unwrap_array(self.array).dtype

    def load_block(self, block):
        with _Counting.lock:
            _Counting.counts.setdefault(self.tag, Counter())[block] += 1
        return unwrap_array(self.array)[self.block_region(block)]


def counted(cls, a, chunks, tag):
    layer = cls(wrap_array(a), normalize_chunks(chunks, a.shape), tag)
    return Array(layer), lambda: _Counting.counts.get(tag, Counter())


@pytest.mark.parametrize("q", [0, 1, 3])
@pytest.mark.parametrize("cls", [_Counting, _CountingRefs])
def test_each_block_is_read_q_plus_one_times(q, cls):
    a, _ = SPECTRA["slow"]
    x, counts = counted(cls, a, (100, 50), f"{cls.__name__}-q{q}")
    result = randomized_svd(x, K, n_power_iter=q, iterator="QR", seed=0)
    assert result.passes == q + 1 and result.single_read and result.b_from_last_pass
    assert sorted(counts()) == list(range(x.layer.nblocks))
    assert set(counts().values()) == {q + 1}


def test_split_passes_read_each_block_twice_per_iteration():
    a, _ = SPECTRA["slow"]
    x, counts = counted(_Counting, a, (100, 50), "split")
    result = randomized_svd(x, K, n_power_iter=2, iterator="QR", seed=0, single_read=False)
    assert result.passes == 6 and set(counts().values()) == {6}


@pytest.mark.parametrize("iterator", ["power", "QR"])
def test_a_spectrum_steeper_than_the_precision_takes_one_more_pass(iterator):
    rng = np.random.default_rng(12)
    s = 0.3 ** np.arange(N)
    a = (orthonormal(rng, M, N) * s) @ orthonormal(rng, N, N).T
    x, counts = counted(_Counting, a, (100, 50), f"fallback-{iterator}")
    result = randomized_svd(x, K, n_power_iter=1, iterator=iterator, seed=0)
    assert result.condition > 1e8 and not result.b_from_last_pass
    assert result.passes == 3 and set(counts().values()) == {3}
    assert relative_error(result.s, s, k=5) < 1e-10


def test_power_iterations_stay_well_conditioned_in_single_read_passes():
    a, s = SPECTRA["fast"]
    x, counts = counted(_Counting, a, (100, 50), "power-single-read")
    result = randomized_svd(x, K, n_power_iter=3, iterator="power", seed=0)
    assert result.condition < 1e4 and result.b_from_last_pass
    assert result.passes == 4 and set(counts().values()) == {4}
    assert relative_error(result.s, s) < 1e-12


def test_held_row_blocks_are_packed_when_wide(monkeypatch):
    monkeypatch.setattr(passes_module, "PACK_ROW_BYTES", 0)
    g = np.random.default_rng(5).integers(0, 3, size=(300, 120), dtype=np.uint8)
    ref = randomized_svd(la.from_array(g, chunks=(300, 120)), 4, n_power_iter=1, seed=1)
    for cls in (_Counting, _CountingRefs):
        x, counts = counted(cls, g, (50, 40), f"packed-{cls.__name__}")
        got = randomized_svd(x, 4, n_power_iter=1, seed=1)
        assert set(counts().values()) == {2}
        np.testing.assert_allclose(got.s, ref.s, rtol=1e-12)
        np.testing.assert_allclose(got.v, ref.v, atol=1e-10)


@pytest.mark.parametrize("iterator", ["power", "QR"])
def test_float32_compute_from_uint8_input(iterator):
    g = np.random.default_rng(6).integers(0, 3, size=(400, 150), dtype=np.uint8)
    x = la.from_array(g, chunks=(100, 50))
    r32 = randomized_svd(x, 5, n_power_iter=2, iterator=iterator, seed=0, dtype=np.float32)
    r64 = randomized_svd(x, 5, n_power_iter=2, iterator=iterator, seed=0)
    assert r32.u.dtype == r32.s.dtype == r32.v.dtype == np.float32
    assert r64.s.dtype == np.float64
    assert r32.passes == 3 and r32.b_from_last_pass
    np.testing.assert_allclose(r32.s, r64.s, rtol=1e-4)


def test_integer_input_sketch_is_as_accurate_as_a_gaussian_one():
    """Integer inputs get a sign sketch (exact float32 products); float inputs a Gaussian."""
    from lamina.linalg import genotype_matrix

    g = genotype_matrix((600, 200), chunks=(100, 50), seed=3).compute()
    exact = np.linalg.svd(g.astype(np.float64), compute_uv=False)
    errors = {}
    for name, data in (("signs", g), ("gaussian", g.astype(np.float64))):
        x = la.from_array(data, chunks=(100, 50))
        errors[name] = np.median([relative_error(randomized_svd(x, 4, n_power_iter=1,
                                                                seed=seed).s, exact, 4)
                                  for seed in range(7)])
    assert errors["signs"] <= 1.5 * errors["gaussian"]
    assert errors["signs"] < 0.03


def test_integer_low_rank_matrix_is_recovered_to_float64_precision():
    rng = np.random.default_rng(8)
    r_true = 6
    a = (rng.integers(0, 2, (M, r_true)) @ rng.integers(0, 2, (r_true, N))).astype(np.uint8)
    exact = np.linalg.svd(a.astype(np.float64), compute_uv=False)[:r_true]
    for q in (0, 1):
        result = randomized_svd(la.from_array(a, chunks=(100, 50)), r_true, n_power_iter=q,
                                n_oversamples=2, seed=0)
        np.testing.assert_allclose(result.s, exact, rtol=1e-12)
        np.testing.assert_allclose(result.u * result.s @ result.v, a, atol=1e-10)


def test_float32_input_computes_in_float32():
    a = SPECTRA["slow"][0].astype(np.float32)
    assert svd_compressed(la.from_array(a, chunks=(100, 50)), 3, seed=0, compute=True)[1].dtype \
        == np.float32


def test_compute_false_returns_arrays_chunked_like_the_input():
    a, _ = SPECTRA["slow"]
    u, s, v = svd_compressed(la.from_array(a, chunks=(100, 50)), 4, seed=0)
    assert isinstance(u, Array) and u.chunks == ((100,) * 6, (4,))
    assert v.chunks == ((4,), (50,) * 4)
    u2, s2, v2 = svd_compressed(la.from_array(a, chunks=(100, 50)), 4, seed=0, compute=True)
    np.testing.assert_array_equal(u.compute(), u2)
    np.testing.assert_array_equal(s.compute(), s2)


def test_numpy_input_and_generator_seed():
    a, _ = SPECTRA["slow"]
    u1, s1, _ = svd_compressed(a, 3, seed=np.random.default_rng(9), compute=True)
    u2, s2, _ = svd_compressed(a, 3, seed=9, compute=True)
    np.testing.assert_array_equal(s1, s2)


def test_compression_matrix_has_orthonormal_rows():
    a, _ = SPECTRA["slow"]
    qt = compression_matrix(la.from_array(a, chunks=(100, 50)), 5, n_power_iter=1, seed=0)
    assert qt.shape == (15, M)
    values = qt.compute()
    np.testing.assert_allclose(values @ values.T, np.eye(15), atol=1e-12)


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(k=0), ValueError, "positive"),
    (dict(k=N + 1), ValueError, "larger than"),
    (dict(k=3, iterator="lanczos"), ValueError, "iterator"),
    (dict(k=3, n_power_iter=-1), ValueError, "n_power_iter"),
    (dict(k=3, n_oversamples=-2), ValueError, "n_oversamples"),
    (dict(k=3, dtype=np.int32), TypeError, "float32 or float64"),
    (dict(k=3, scaler="zscore"), ValueError, "scaler"),
])
def test_bad_arguments_raise(kwargs, error, match):
    a, _ = SPECTRA["slow"]
    with pytest.raises(error, match=match):
        randomized_svd(la.from_array(a, chunks=(100, 50)), **kwargs)


def test_one_dimensional_input_raises():
    with pytest.raises(ValueError, match="2-D"):
        svd_compressed(la.from_array(np.ones(10), chunks=5), 1)
