"""Principal components of a genotype matrix without densifying it.

    u, s, v = pca(genotypes, k=10)            # genotypes: variants x samples, 0/1/2
    scores = v.T * s                          # samples x k principal components

Each variant row is centred by its mean ``μ`` and (``scaler="patterson"``)
divided by ``sqrt(2p(1 − p))``, ``p = μ / 2`` (Patterson, Price, Reich
2006); monomorphic rows become zeros. The scaled matrix is never formed:
the passes apply the scaling inside their products (``Â Z = D⁻¹(G Z −
μ 1ᵀZ)``), reading the uint8 blocks directly, and the row means come from
the first pass itself. Negative codes (missing calls) raise ``ValueError``.
"""

from __future__ import annotations

from typing import Any

from lamina.linalg.randomized import randomized_svd


def pca(genotypes: Any, k: int, scaler: str | None = "patterson", n_power_iter: int = 2,
        iterator: str = "QR", n_oversamples: int = 10, seed: Any = None, dtype: Any = None,
        compute: bool = True, **options: Any) -> tuple:
    """Leading ``k`` components ``Â ≈ u @ diag(s) @ v`` of the scaled genotype matrix.

    ``scaler`` is "patterson", "center" or None (no scaling). Genotype
    spectra decay slowly, hence two QR power iterations by default (three
    passes over the data). Other keywords: see ``randomized_svd``.
    """
    result = randomized_svd(genotypes, k, n_power_iter=n_power_iter, n_oversamples=n_oversamples,
                            iterator=iterator, seed=seed, dtype=dtype, compute=compute,
                            scaler=scaler, **options)
    return result.u, result.s, result.v
