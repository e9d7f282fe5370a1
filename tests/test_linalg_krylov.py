"""Block Krylov PCA: a full basis reproduces the matrix exactly, and at the
defaults every top-10 eigenvalue of population-structure data is within a
small multiple of ``tol`` (1e-5) of numpy.linalg.eigh of the dense scaled
Gram matrix; the stopping rule's error estimate is the tail of a geometric
series; an explicit n_power_iter keeps Dask's power iteration."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import lamina.array as la
from lamina.linalg import genotype_matrix, patterson_reference, pca, randomized_svd
from lamina.linalg.krylov import error_left, orthogonalize, settled
from lamina.linalg.pca import KRYLOV_TOL, pca_result


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), m=st.integers(2, 80), n=st.integers(2, 40),
       row_chunk=st.integers(1, 80), col_chunk=st.integers(1, 40), iters=st.integers(0, 6),
       single_read=st.booleans(), special=st.sampled_from(["none", "zero_rows", "rank1"]))
def test_krylov_reproduces_the_matrix_when_the_basis_is_full(seed, m, n, row_chunk, col_chunk,
                                                             iters, single_read, special):
    a = np.random.default_rng(seed).standard_normal((m, n))
    if special == "zero_rows":
        a[::2] = 0.0
    elif special == "rank1":
        a = np.outer(a[:, 0], a[0])
    k = min(m, n)
    result = randomized_svd(la.from_array(a, chunks=(row_chunk, col_chunk)), k,
                            n_power_iter=max(iters, k), n_oversamples=0, seed=seed,
                            method="krylov", single_read=single_read)
    ref = np.linalg.svd(a, compute_uv=False)
    np.testing.assert_allclose(result.s, ref[:k], atol=1e-9 * max(ref[0], 1))
    np.testing.assert_allclose(result.u * result.s @ result.v, a, atol=1e-8 * max(ref[0], 1))


def test_orthogonalize_gives_a_basis_orthogonal_to_the_earlier_blocks():
    rng = np.random.default_rng(0)
    first = np.linalg.qr(rng.standard_normal((50, 6)))[0]
    new = orthogonalize(rng.standard_normal((50, 4)) + first[:, :4], [first], 4)
    np.testing.assert_allclose(new.T @ new, np.eye(4), atol=1e-12)
    np.testing.assert_allclose(first.T @ new, 0, atol=1e-12)
    inside = orthogonalize(first[:, :3] @ rng.standard_normal((3, 4)), [first], 2)
    np.testing.assert_allclose(inside.T @ inside, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(first.T @ inside, 0, atol=1e-12)


@pytest.mark.parametrize("data_seed, seed", [(5, 0), (7, 1)])
def test_default_pca_leaves_about_tol_on_every_top_ten_eigenvalue(data_seed, seed):
    g = genotype_matrix((6000, 500), chunks=(1500, 500), seed=data_seed, n_populations=3,
                        fst=0.05).compute()
    x = patterson_reference(g)
    exact = np.linalg.eigvalsh(x.T @ x)[::-1][:10]
    result = pca_result(la.from_array(g, chunks=(1500, 500)), 10, seed=seed)
    err = np.abs(result.s**2 - exact) / exact
    assert err.max() < 3 * KRYLOV_TOL, err
    assert 2 <= result.passes <= 31
    looser = pca_result(la.from_array(g, chunks=(1500, 500)), 10, seed=seed, tol=1e-3)
    assert looser.passes < result.passes
    assert (np.abs(looser.s**2 - exact) / exact).max() > err.max()


@settings(max_examples=50, deadline=None)
@given(ratio=st.floats(0.01, 0.9), first=st.floats(1e-6, 0.5), passes=st.integers(2, 12))
def test_error_left_is_the_geometric_tail_of_ritz_values(ratio, first, passes):
    """Ritz values ``λ_j = λ (1 - first ratio^j)`` converge geometrically: the
    estimate from two relative changes is the true relative error left, to
    the first order in ``first`` (and above rounding)."""
    assume(first * ratio ** passes > 1e-8)
    lam = 1.0 - first * ratio ** np.arange(passes + 1)
    changes = list((lam[1:] - lam[:-1]) / lam[1:])
    truth = 1.0 - lam[-1]
    np.testing.assert_allclose(error_left(changes), truth, rtol=4 * first + 1e-5)
    assert settled(changes, truth * 1.5) and not settled(changes, truth / 1.5)


def test_settled_without_a_shrinking_change_waits():
    assert not settled([1e-3], 1.0)                   # one change: no ratio yet
    assert not settled([1e-3, 2e-3], 1.0)             # growing: no estimate
    assert error_left([1e-3, 1e-3]) == np.inf
    assert settled([1e-3, 0.0], 0.0)                  # nothing moved: done at any tol
    assert settled([1e-3, -1e-17], 0.0)
    assert not settled([1e-3, 1e-9], 0.0)             # tol=0 runs every pass asked for
    assert settled([1e-3, 2e-3, 1e-15], 1e-12)        # rounding level: done


def test_krylov_beats_power_iteration_at_equal_passes():
    g = genotype_matrix((4000, 400), chunks=(1000, 400), seed=6, n_populations=3,
                        fst=0.05).compute()
    x = patterson_reference(g)
    exact = np.linalg.eigvalsh(x.T @ x)[::-1][:10]
    x_in = la.from_array(g, chunks=(1000, 400))
    power = pca_result(x_in, 10, n_power_iter=4, seed=0)
    krylov = pca_result(x_in, 10, n_power_iter=4, method="krylov", tol=0, seed=0)
    assert power.passes == krylov.passes == 5
    err_power = np.abs(power.s**2 - exact).max()
    err_krylov = np.abs(krylov.s**2 - exact).max()
    assert err_krylov < err_power / 2


def test_explicit_n_power_iter_is_dasks_power_iteration():
    g = genotype_matrix((300, 80), chunks=(100, 40), seed=1).compute()
    x = la.from_array(g, chunks=(100, 40))
    u, s, v = pca(x, 4, n_power_iter=2, iterator="power", seed=3)
    plain = randomized_svd(x, 4, n_power_iter=2, iterator="power", seed=3,
                           scaler="patterson")
    np.testing.assert_array_equal(s, plain.s)


def test_bad_method_and_tol_are_rejected():
    x = la.from_array(np.ones((10, 5)), chunks=(5, 5))
    with pytest.raises(ValueError, match="method"):
        randomized_svd(x, 2, method="lanczos")
    with pytest.raises(ValueError, match="tol"):
        pca(x, 2, tol=-1.0)


def test_without_u_the_values_and_vectors_are_the_same():
    g = genotype_matrix((1200, 150), chunks=(300, 150), seed=2, n_populations=3).compute()
    x = la.from_array(g, chunks=(300, 150))
    full = pca_result(x, 5, seed=1)
    bare = pca_result(x, 5, seed=1, want_u=False)
    assert bare.u is None and bare.passes == full.passes
    np.testing.assert_allclose(bare.s, full.s, rtol=1e-10)
    np.testing.assert_allclose(bare.v, full.v, atol=1e-8)
