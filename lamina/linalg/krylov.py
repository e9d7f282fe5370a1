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
orthonormal and ``H = Vᵀ ÂᵀÂ V`` has been grown block by block from the
``W_i`` (``extend_gram``), so the Rayleigh–Ritz
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

from lamina.layers.linalg.packing import array_module
from lamina.linalg.passes import PassRunner


def _project_out(w: np.ndarray, basis: list[np.ndarray]) -> np.ndarray:
    for _ in range(2):
        for b in basis:
            w = w - b @ (b.T @ w)
    return w


def orthogonalize(w: np.ndarray, basis: list[np.ndarray], width: int,
                  seed: int = 0) -> np.ndarray:
    """``width`` orthonormal columns orthogonal to ``basis``: the directions of ``w``
    with the most left after projecting out the basis first.

    Where ``w`` lies inside the basis (an invariant subspace: the Krylov
    iteration broke down) its residual is rounding noise, which is not
    orthogonal enough once normalized; those directions are replaced by
    random ones, projected out in turn (the basis then keeps growing).
    """
    residual = _project_out(w, basis)
    left, sv, _ = np.linalg.svd(residual, full_matrices=False)
    scale = max(float(np.linalg.norm(w)), np.finfo(w.dtype).tiny)
    good = int(np.sum(sv[:width] > np.sqrt(np.finfo(w.dtype).eps) * scale))
    parts = [left[:, :good]]
    if good < width:
        rng = np.random.default_rng(seed)
        random = rng.standard_normal((w.shape[0], width - good)).astype(w.dtype)
        parts.append(array_module(w).asarray(random))
    out = np.linalg.qr(_project_out(np.concatenate(parts, axis=1), basis))[0]
    return np.linalg.qr(_project_out(out, basis))[0]


def _product(runner: PassRunner, z: np.ndarray,
             want_y: bool) -> tuple[np.ndarray | None, np.ndarray]:
    """``(Â z if want_y, ÂᵀÂ z)``: one read in single-read mode, else two passes."""
    if runner.single_read:
        return runner.sweep(z, want_y=want_y)
    y = runner.apply(z)
    return (y if want_y else None), runner.apply_t(y)


def extend_gram(h: np.ndarray | None, vs: list[np.ndarray], w: np.ndarray) -> np.ndarray:
    """``H = Vᵀ ÂᵀÂ V`` grown by the newest block: only ``Vᵀ W_new`` is computed
    (``ÂᵀÂ`` is symmetric, so the new row block is its transpose)."""
    column = np.concatenate(vs, axis=1).T @ w
    if h is None:
        return (column + column.T) / 2
    old = h.shape[0]
    out = array_module(h).empty((column.shape[0], column.shape[0]), dtype=h.dtype)
    out[:old, :old] = h
    out[:, old:] = column
    out[old:, :old] = column[:old].T
    corner = column[old:]
    out[old:, old:] = (corner + corner.T) / 2
    return out


def ritz(h: np.ndarray, k: int) -> tuple:
    """``(λ, E)``: the top ``k`` eigenpairs of the small matrix ``H``."""
    lam, e = np.linalg.eigh(h)
    order = np.argsort(lam)[::-1][:k]
    return np.clip(lam[order], 0, None), e[:, order]


ROUNDING_CHANGE = 1e3 * np.finfo(np.float64).eps
"""A relative change this small is rounding in the small eigenproblem, not convergence."""


def error_left(changes: list[float]) -> float:
    """Estimated relative error left in the top Ritz values, from the largest
    relative change of each pass so far (``changes[-1]`` the last pass's).

    Ritz values only grow towards the eigenvalues, and on genotype spectra
    each pass's change is a roughly constant (or shrinking) ratio ``r`` of
    the one before, so what is left is the tail of a geometric series:
    ``c r / (1 - r)``, with ``r`` the ratio of the last two changes. While
    the changes do not shrink (``r >= 1``) nothing can be said: infinity.
    """
    if len(changes) < 2 or changes[-2] <= 0:
        return np.inf
    ratio = changes[-1] / changes[-2]
    return changes[-1] * ratio / (1 - ratio) if ratio < 1 else np.inf


def settled(changes: list[float], tol: float) -> bool:
    """Whether to stop: nothing moved in the last pass, or (``tol > 0``) the
    estimated error left (``error_left``) is at most ``tol``, or the change is
    at the rounding level of the small eigenproblem."""
    last = changes[-1]
    if last <= 0:
        return True
    return tol > 0 and (last <= ROUNDING_CHANGE or error_left(changes) <= tol)


def block_krylov(runner: PassRunner, omega: np.ndarray, n_iter: int, k: int,
                 tol: float = 0.0, want_u: bool = True) -> tuple:
    """``(u, s, v)`` of the leading ``k`` triplets after at most ``n_iter + 1``
    products, fewer once the estimated relative error left in the top-``k``
    Ritz values is at most ``tol`` (``settled``); ``tol=0`` stops early only
    when no value moved at all. ``u`` is None unless ``want_u``.

    ``omega`` (columns x l) starts the iteration; it is multiplied as given
    (so a sign matrix keeps the first pass exact in float32) and its
    orthonormalization ``Ω = V_0 T`` is applied to the results afterwards;
    an ill-conditioned ``T`` (a singular sign sketch: likely with few
    columns) multiplies ``V_0`` instead.
    """
    v0, t = np.linalg.qr(omega)
    sv = np.linalg.svd(t, compute_uv=False)
    well_conditioned = sv[-1] * (1 / np.sqrt(np.finfo(t.dtype).eps)) >= sv[0]
    y, w = _product(runner, omega if well_conditioned else v0, want_u)
    xp = array_module(w)  # the blocks' device: Ω was drawn on the host
    v0, t = xp.asarray(v0), xp.asarray(t)
    if well_conditioned:
        w = xp.linalg.solve(t.T, w.T).T
        y = xp.linalg.solve(t.T, y.T).T if want_u else None
    ys, vs = [y], [v0]
    limit = runner.a.shape[1]
    h = extend_gram(None, vs, w)
    lam, e = ritz(h, k)
    changes: list[float] = []
    for _ in range(n_iter):
        width = min(omega.shape[1], limit - sum(b.shape[1] for b in vs))
        if width <= 0:
            break
        z = orthogonalize(w, vs, width, seed=len(vs))
        y, w = _product(runner, z, want_u)
        ys.append(y)
        vs.append(z)
        previous = lam
        h = extend_gram(h, vs, w)
        lam, e = ritz(h, k)
        changes.append(float(np.max((lam - previous) / np.maximum(lam, np.finfo(lam.dtype).tiny))))
        if settled(changes, tol):
            break
    v = (np.concatenate(vs, axis=1) @ e).T
    if not want_u:
        return None, np.sqrt(lam), v
    u = np.concatenate(ys, axis=1) @ e
    s = np.linalg.norm(u, axis=0)
    u /= np.where(s > 0, s, 1)[None, :]
    return u, s, v
