"""Block Krylov (block Lanczos) iteration for the leading singular triplets.

The power iteration keeps only its last iterate ``(ÂᵀÂ)^q Ω``; the
directions just below the top ones, in the flat bulk of a genotype
spectrum, converge slowly that way. Block Krylov methods (Musco and Musco
2015) keep every iterate and extract the best approximation from the
whole space ``K = [Ω, ÂᵀÂ Ω, ..., (ÂᵀÂ)^q Ω]``: the error then falls with
``q²`` where the power method's falls with ``q`` (gap-free bounds).

lamina builds ``K`` on the short side (samples, ``n`` columns of ``Â``)
with full reorthogonalization (block Lanczos): each pass reads ``Â`` once
and returns ``Y_i = Â V_i`` and ``W_i = ÂᵀÂ V_i`` for the newest block
``V_i`` (``l`` columns), the next block is ``W_i`` orthogonalized against
all earlier ones. After ``q + 1`` passes ``V = [V_0 ... V_q]`` is
orthonormal and ``ÂᵀÂ V = [W_0 ... W_q]`` is known, so the Rayleigh–Ritz
step is a small eigenproblem ``H = Vᵀ ÂᵀÂ V = E Λ Eᵀ`` with no further
read: ``v = (V E)ᵀ`` and ``[Y_0 ... Y_q] E = Â V E = u diag(s)`` (``s`` from
its column norms, not ``sqrt(Λ)``, so small singular values keep full
precision rather than ``sqrt(eps)``).

Trade-off: every pass costs a power iteration's (width ``l``), but the
``Y_i`` are kept (``rows x l (q + 1)`` floats) to give ``u`` without an
extra pass, and the small dense steps grow with ``(l (q + 1))²``.
Musco and Musco's variant instead multiplies by the whole basis in one
more, ``q + 1`` times wider, pass.
"""

from __future__ import annotations

import numpy as np

from lamina.linalg.passes import PassRunner


def orthogonalize(w: np.ndarray, basis: list[np.ndarray]) -> np.ndarray:
    """Orthonormal columns spanning ``w`` minus its projection on ``basis``.

    Project then normalize, twice: when ``w`` lies almost inside the basis
    (a converged, invariant subspace) the first normalization magnifies
    what rounding left of the basis, and the second projection removes it.
    """
    for _ in range(2):
        for b in basis:
            w = w - b @ (b.T @ w)
        w = np.linalg.qr(w)[0]
    return w


def _product(runner: PassRunner, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(Â z, ÂᵀÂ z)``: one read in single-read mode, else two passes."""
    if runner.single_read:
        return runner.sweep(z, want_y=True)
    y = runner.apply(z)
    return y, runner.apply_t(y)


def ritz(vs: list[np.ndarray], ws: list[np.ndarray], k: int) -> tuple:
    """``(λ, E)``: the top ``k`` Ritz pairs of ``ÂᵀÂ`` on ``span(V)``, ``ÂᵀÂ V = W``."""
    basis = np.concatenate(vs, axis=1)
    h = basis.T @ np.concatenate(ws, axis=1)
    lam, e = np.linalg.eigh((h + h.T) / 2)
    order = np.argsort(lam)[::-1][:k]
    return np.clip(lam[order], 0, None), e[:, order]


def block_krylov(runner: PassRunner, omega: np.ndarray, n_iter: int, k: int,
                 tol: float = 0.0) -> tuple:
    """``(u, s, v)`` of the leading ``k`` triplets after at most ``n_iter + 1``
    products, fewer once no top-``k`` Ritz value moved by more than ``tol``
    (relative) in the last pass.

    Ritz values only grow towards the eigenvalues, by a roughly constant
    factor less each pass on genotype spectra, so the last step bounds the
    error left to within a small factor (``docs/genotypes.md`` shows both).
    ``omega`` (columns x l) starts the iteration; it is multiplied as given
    (so a sign matrix keeps the first pass exact in float32) and its
    orthonormalization ``Ω = V_0 T`` is applied to the results afterwards.
    """
    v0, t = np.linalg.qr(omega)
    y, w = _product(runner, omega)
    ys, vs, ws = [np.linalg.solve(t.T, y.T).T], [v0], [np.linalg.solve(t.T, w.T).T]
    limit = runner.a.shape[1]
    lam, e = ritz(vs, ws, k)
    for _ in range(n_iter):
        width = min(omega.shape[1], limit - sum(b.shape[1] for b in vs))
        if width <= 0:
            break
        z = orthogonalize(ws[-1], vs)[:, :width]
        y, w = _product(runner, z)
        ys.append(y)
        vs.append(z)
        ws.append(w)
        previous = lam
        lam, e = ritz(vs, ws, k)
        if np.all(lam - previous <= tol * np.maximum(lam, np.finfo(lam.dtype).tiny)):
            break
    v = (np.concatenate(vs, axis=1) @ e).T
    u = np.concatenate(ys, axis=1) @ e
    s = np.linalg.norm(u, axis=0)
    u /= np.where(s > 0, s, 1)[None, :]
    return u, s, v
