"""Randomized SVD (Halko, Martinsson, Tropp 2011) in few passes over the input.

    u, s, v = svd_compressed(a, k=10, n_power_iter=2, iterator="QR", seed=0)
    result = randomized_svd(a, k=10)          # the same, plus the pass count

**Passes.** ``q`` power iterations read the input ``q + 1`` times (Dask:
``2q + 2``). One read of row block ``A_i`` gives both ``Y_i = A_i Z`` and
the partial ``A_iᵀ Y_i`` (see ``passes``), so each iteration
``Z ← orth(Aᵀ A Z)`` is one pass, and the last pass returns ``Y = A Z``
together with ``W = Aᵀ Y``. With ``Y = Q R`` the projected matrix is then
``B = Qᵀ A = R⁻ᵀ Wᵀ`` at no further pass.

**Numerics.** ``R⁻ᵀ Wᵀ`` multiplies the rounding error of ``W`` by
``κ(R) = κ(Y)``; it is used only while ``κ(R) ≤ 1/sqrt(eps)`` (about 7e7
in float64, 3e3 in float32), which keeps at least half of the working
precision. Otherwise (rank-deficient inputs, spectra falling by more than
that within ``l`` values) one more pass computes ``B = Qᵀ A`` directly.
To keep ``κ(Y)`` near ``σ₁/σₗ``, the single-read passes re-orthonormalize
``Z`` between passes (a QR of the small columns x l matrix ``W``) for
*both* iterators: an unnormalized power iteration would make ``κ(Y)``
grow like ``(σ₁/σₗ)^(2q+1)`` and force the extra pass (and, in float32,
lose the trailing directions entirely). In exact arithmetic the span, and
so the result, is the same as for Dask's ``"power"``. The price of the
single read is that each pass forms ``AᵀA Z`` before orthonormalizing, so
directions with ``σᵢ/σ₁`` below ``sqrt(eps)`` are resolved no better than
rounding allows — the limit an unnormalized ``"power"`` iteration hits
after its first step. The split passes keep the two iterators apart:
``"QR"`` orthonormalizes after every product, ``"power"`` only rescales.

**Memory.** Each pass is its own computation returning small results, and
the input is recomputed by the next pass (never pinned). The last pass
factors ``Y`` by TSQR as its blocks appear, so only the row blocks of
``Q`` (rows x l) and then ``u`` (rows x k) grow with the row count;
everything else is columns x l or l x l, plus the blocks in flight.
When a row block is too wide to hold (``passes.ROW_HOLD_BYTES``), the
passes are split in two and ``q`` iterations cost ``2q + 2`` reads.

**Randomness.** ``Ω`` is drawn whole from ``numpy.random.default_rng(seed)``
(columns x l, cast to the compute dtype), so one seed gives the same
result for any chunking of ``a``. It is Gaussian for float inputs and a
matrix of random signs (Rademacher) for integer inputs: the range finder
works as well with either (both are sub-Gaussian test matrices; see
Martinsson and Tropp 2020, "Randomized numerical linear algebra:
foundations and algorithms"), and with signs the first
products of integer codes are exact in float32 (``exact``), which halves
their cost in float64.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lamina.array.core import Array
from lamina.array.creation import asarray, from_array
from lamina.compute import compute_blocks
from lamina.layers.blas import single_threaded_blas
from lamina.layers.linalg.scaling import check_scaler
from lamina.layers.linalg.signs import row_signs
from lamina.linalg.krylov import block_krylov
from lamina.linalg.passes import PassRunner, Progress
from lamina.linalg.tsqr import float_dtype, tsqr

ITERATORS = ("power", "QR")
METHODS = ("power", "krylov")


@dataclass
class SVDResult:
    """A randomized SVD and how it was computed."""

    u: Any
    s: Any
    v: Any
    passes: int
    single_read: bool
    b_from_last_pass: bool
    condition: float
    row_stats: np.ndarray | None = field(default=None, repr=False)


def compute_dtype(input_dtype: Any, dtype: Any = None) -> np.dtype:
    """The float dtype of the products: ``dtype`` if given, float32 for float32
    (and smaller float) inputs, else float64."""
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64, got {dtype}")
        return dtype
    return float_dtype(input_dtype)


def sample_size(shape: tuple[int, int], k: int, n_oversamples: int) -> int:
    """Columns of the sketch: ``k + n_oversamples``, at most ``min(shape)``."""
    m, n = shape
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if k > min(m, n):
        raise ValueError(f"k={k} is larger than the smaller dimension of the {m}x{n} array")
    if n_oversamples < 0:
        raise ValueError(f"n_oversamples must be >= 0, got {n_oversamples}")
    return int(min(k + n_oversamples, m, n))


def sketch_matrix(ncols: int, size: int, seed: Any, dtype: Any,
                  signs: bool = False) -> np.ndarray:
    """``Ω`` (ncols x size) from ``seed``, the same for every chunking.

    Gaussian, or random signs ±1 when ``signs`` (for integer inputs: then
    ``A Ω`` is a product of small integers, exact in float32).
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if signs:
        omega = rng.integers(0, 2, size=(ncols, size), dtype=np.int8)
        return (2 * omega - 1).astype(dtype)
    return rng.standard_normal((ncols, size)).astype(dtype, copy=False)


def _validate(a: Any, n_power_iter: int, iterator: str, method: str = "power") -> Array:
    a = asarray(a)
    if method not in METHODS:
        raise ValueError(f"method {method!r} is not known: use 'power' or 'krylov'")
    if a.ndim != 2:
        raise ValueError(f"randomized SVD needs a 2-D array, got {a.ndim} dimensions")
    if iterator not in ITERATORS:
        raise ValueError(f"iterator {iterator!r} is not known: use 'power' or 'QR'")
    if not isinstance(n_power_iter, (int, np.integer)) or n_power_iter < 0:
        raise ValueError(f"n_power_iter must be a non-negative integer, got {n_power_iter!r}")
    return a


def _range(runner: PassRunner, omega: np.ndarray, n_power_iter: int, iterator: str,
           want_b: bool) -> tuple[list, np.ndarray | None, bool, float]:
    """``(row blocks of Q, B, B from the last pass, κ(R))`` after the iterations."""
    z = omega
    for _ in range(n_power_iter):
        if runner.single_read:
            z = np.linalg.qr(runner.sweep(z, want_y=False)[1])[0]
            continue
        y = runner.apply(z)
        w = runner.apply_t(_orthonormal(y, runner) if iterator == "QR" else y)
        z = np.linalg.qr(w)[0] if iterator == "QR" else _unit_columns(w)
    if runner.single_read:
        q_blocks, r, w = runner.final_sweep(z, want_w=want_b)
    else:
        q_blocks, r = _small_qr(runner.apply(z), runner)
        w = None
    condition = _condition(r)
    if not want_b:
        return q_blocks, None, False, condition
    if w is not None and condition <= 1 / np.sqrt(np.finfo(runner.dtype).eps):
        return q_blocks, np.linalg.solve(r.T, w.T), True, condition
    return q_blocks, runner.qt_a(q_blocks), False, condition


def _unit_columns(w: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(w, axis=0)
    return w / np.where(norms > 0, norms, 1)


def _condition(r: np.ndarray) -> float:
    s = np.linalg.svd(r, compute_uv=False)
    return float(s[0] / s[-1]) if s[-1] > 0 else float("inf")


def _small_qr(y: np.ndarray, runner: PassRunner) -> tuple[list, np.ndarray]:
    """TSQR of the in-memory rows x l matrix ``Y``: row blocks of ``Q`` (as ``a``'s) and ``R``."""
    q, r = tsqr(from_array(y, chunks=(runner.a.chunks[0], y.shape[1])))
    q_blocks, r_blocks = compute_blocks(q, r, nthreads=runner.nthreads, optimize_graph=False)
    return q_blocks, r_blocks[0]


def _orthonormal(y: np.ndarray, runner: PassRunner) -> np.ndarray:
    return np.concatenate(_small_qr(y, runner)[0], axis=0)


def _times(blocks: list, factor: np.ndarray, nrows: int) -> np.ndarray:
    """``[Q_0; Q_1; ...] @ factor`` filled block by block."""
    out = np.empty((nrows, factor.shape[1]), dtype=np.result_type(blocks[0], factor))
    start = 0
    for block in blocks:
        out[start:start + block.shape[0]] = block @ factor
        start += block.shape[0]
    return out


def randomized_svd(a: Any, k: int, n_power_iter: int = 0, n_oversamples: int = 10,
                   iterator: str = "power", seed: Any = None, dtype: Any = None,
                   compute: bool = True, scaler: str | None = None,
                   single_read: bool | None = None, split_every: int | None = None,
                   nthreads: int | None = None, progress: Progress | None = None,
                   method: str = "power", tol: float = 0.0,
                   want_u: bool = True) -> SVDResult:
    """``svd_compressed`` returning an ``SVDResult`` (the vectors plus pass statistics).

    ``method="krylov"`` keeps every iterate (block Krylov, ``lamina.linalg.krylov``:
    the same ``n_power_iter + 1`` passes, far more accurate on flat spectra);
    ``"power"`` is Dask's algorithm, whose result uses the last iterate only.
    With ``"krylov"``, ``tol > 0`` stops early once the relative error left in
    the top-``k`` values, estimated from the last two passes' changes, is at
    most ``tol`` (``krylov.settled``); ``n_power_iter`` then caps it,
    and ``want_u=False`` (PCA scores need only ``s`` and ``v``) returns
    ``u=None`` without holding the rows x l products between passes.
    ``scaler`` ("center" or "patterson") decomposes the row-scaled matrix
    (see ``pca``); ``single_read`` forces (True) or forbids (False) the
    one-read-per-pass mode, chosen by row-block size when None;
    ``progress(label, done, total)`` is called as tasks finish.
    """
    a = _validate(a, n_power_iter, iterator, method)
    scaler = check_scaler(scaler)
    dtype = compute_dtype(a.dtype, dtype)
    size = sample_size(a.shape, k, n_oversamples)
    runner = PassRunner(a, dtype, scaler, single_read, split_every, nthreads, progress)
    omega = sketch_matrix(a.shape[1], size, seed, dtype, signs=a.dtype.kind in "biu")
    from_last, condition = True, 1.0
    with single_threaded_blas():
        if method == "krylov":
            u, s, vt = block_krylov(runner, omega, n_power_iter, k, tol, want_u)
        else:
            q, b, from_last, condition = _range(runner, omega, n_power_iter, iterator, True)
            ub, s, vt = np.linalg.svd(b, full_matrices=False)
            u = _times(q, ub[:, :k], a.shape[0])
            del q
    signs = row_signs(vt[:k])
    if u is not None and want_u:
        u *= signs[None, :]
    else:
        u = None
    v = vt[:k] * signs[:, None]
    s = s[:k]
    if not compute:
        u = None if u is None else from_array(u, chunks=(a.chunks[0], k))
        s = from_array(s, chunks=-1)
        v = from_array(v, chunks=(k, a.chunks[1]))
    return SVDResult(u, s, v, runner.passes, runner.single_read, from_last, condition,
                     runner.stats)


def svd_compressed(a: Any, k: int, n_power_iter: int = 0, n_oversamples: int = 10,
                   iterator: str = "power", seed: Any = None, dtype: Any = None,
                   compute: bool = False, **options: Any) -> tuple:
    """Leading ``k`` singular triplets ``a ≈ u @ diag(s) @ v`` by randomized SVD.

    ``n_power_iter`` iterations sharpen slowly decaying spectra; each costs
    one pass over ``a`` (see the module docs, also for ``iterator``, which
    only matters when a row block is too wide to read once per pass). ``dtype=np.float32`` computes uint8
    (or other) inputs in float32; float64 otherwise, float32 for float32
    input. The passes always run now (each is its own computation, so ``a``
    is never pinned between them); ``compute=True`` returns NumPy arrays,
    ``False`` wraps them as ``Array``s chunked like ``a``. More keywords:
    see ``randomized_svd``.
    """
    result = randomized_svd(a, k, n_power_iter=n_power_iter, n_oversamples=n_oversamples,
                            iterator=iterator, seed=seed, dtype=dtype, compute=compute,
                            **options)
    return result.u, result.s, result.v


def compression_matrix(a: Any, q: int, iterator: str = "power", n_power_iter: int = 0,
                       n_oversamples: int = 10, seed: Any = None, compute: bool = False,
                       dtype: Any = None, **options: Any) -> Any:
    """``Qᵀ`` (l x rows, orthonormal rows) whose span captures the range of ``a``.

    ``l = q + n_oversamples`` (at most ``min(a.shape)``); ``Qᵀ a`` is the
    compressed matrix. Costs ``n_power_iter + 1`` passes over ``a``.
    """
    a = _validate(a, n_power_iter, iterator)
    dtype = compute_dtype(a.dtype, dtype)
    size = sample_size(a.shape, q, n_oversamples)
    runner = PassRunner(a, dtype, check_scaler(options.pop("scaler", None)), **options)
    omega = sketch_matrix(a.shape[1], size, seed, dtype, signs=a.dtype.kind in "biu")
    with single_threaded_blas():
        blocks = _range(runner, omega, n_power_iter, iterator, False)[0]
    basis = np.concatenate(blocks, axis=0).T
    return basis if compute else from_array(basis, chunks=(size, a.chunks[0]))
