"""Principal components of a genotype matrix without densifying it.

    u, s, v = pca(genotypes, k=10)            # genotypes: variants x samples, 0/1/2
    scores = v.T * s                          # samples x k principal components
    eigenvalues = s**2 / n_variants           # of the GRM, as PLINK reports them

Each variant row is centred by its mean ``μ`` and (``scaler="patterson"``)
divided by ``sqrt(2p(1 − p))``, ``p = μ / 2`` (Patterson, Price, Reich
2006); monomorphic rows become zeros. The scaled matrix is never formed:
the passes apply the scaling inside their products (``Â Z = D⁻¹(G Z −
μ 1ᵀZ)``), reading the uint8 blocks directly, and the row means come from
the first pass itself. Missing calls (-1 in signed codes, or from the PLINK
and VCF Zarr readers) are imputed with their variant's mean, implicitly.

By default the components come from block Krylov iteration
(``lamina.linalg.krylov``), run until the relative error left in the top-``k``
eigenvalues, estimated from how the last two passes moved them, is at most
``tol``, at most ``KRYLOV_MAX_ITER + 1`` passes;
``n_power_iter=q`` instead runs Dask's power iteration exactly (``q + 1``
passes, or ``2q + 2`` when a row block is too wide to read once per pass).
"""

from __future__ import annotations

from typing import Any

from lamina.linalg.randomized import SVDResult, randomized_svd

KRYLOV_MAX_ITER = 30
KRYLOV_TOL = 1e-5
"""Estimated relative error left at which block Krylov stops: below what
``plink2 --pca approx`` leaves on population-structure cohorts (a few 1e-6
to 1e-5; ``docs/genotypes.md``)."""


def pca_result(genotypes: Any, k: int, scaler: str | None = "patterson",
               n_power_iter: int | None = None, method: str | None = None,
               tol: float = KRYLOV_TOL, iterator: str = "QR", n_oversamples: int = 10,
               seed: Any = None, dtype: Any = None, compute: bool = True,
               **options: Any) -> SVDResult:
    """``pca`` returning the ``SVDResult`` (vectors plus the passes it took)."""
    if method is None:
        method = "krylov" if n_power_iter is None else "power"
    if n_power_iter is None:
        n_power_iter = KRYLOV_MAX_ITER if method == "krylov" else 2
    if not tol >= 0:
        raise ValueError(f"tol must be >= 0, got {tol!r}")
    return randomized_svd(genotypes, k, n_power_iter=n_power_iter, n_oversamples=n_oversamples,
                          iterator=iterator, seed=seed, dtype=dtype, compute=compute,
                          scaler=scaler, method=method,
                          tol=tol if method == "krylov" else 0.0, **options)


def pca(genotypes: Any, k: int, scaler: str | None = "patterson",
        n_power_iter: int | None = None, method: str | None = None, tol: float = KRYLOV_TOL,
        iterator: str = "QR", n_oversamples: int = 10, seed: Any = None, dtype: Any = None,
        compute: bool = True, **options: Any) -> tuple:
    """Leading ``k`` components ``Â ≈ u @ diag(s) @ v`` of the scaled genotype matrix.

    ``scaler`` is "patterson", "center" or None (no scaling). Genotype
    spectra have a flat bulk just below the population structure, hence
    block Krylov by default (``method="krylov"``, see the module docs);
    ``n_power_iter`` alone selects Dask's power iteration. Other keywords:
    see ``randomized_svd``.
    """
    result = pca_result(genotypes, k, scaler, n_power_iter, method, tol, iterator,
                        n_oversamples, seed, dtype, compute, **options)
    return result.u, result.s, result.v
