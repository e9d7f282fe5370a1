"""Row scalings applied implicitly inside the products of the SVD passes.

PCA of a genotype matrix ``G`` (variants x samples) works on
``Â = D⁻¹ (G − μ 1ᵀ)``: each variant row centred by its mean ``μ`` and, for
Patterson scaling, divided by ``sqrt(2 p (1 − p))`` with ``p = μ / 2``.
``Â`` is never formed: the pass kernels compute

    Â Z  = D⁻¹ (G Z − μ (1ᵀ Z))
    Âᵀ Y = Gᵀ (D⁻¹ Y) − 1 (μᵀ D⁻¹ Y)

from the raw (uint8) blocks. ``stats`` holds ``[μ, d]`` per row.
"""

from __future__ import annotations

from typing import Any

import numpy as np

SCALERS = (None, "center", "patterson")


def check_scaler(scaler: str | None) -> str | None:
    """Validate a scaler name; ``"none"`` means no scaling."""
    if scaler == "none":
        return None
    if scaler not in SCALERS:
        raise ValueError(f"scaler {scaler!r} is not known: use 'patterson', 'center' or None")
    return scaler


def row_stats(row_sums: Any, ncols: int, scaler: str, dtype: Any) -> Any:
    """``[μ, d]`` per row from the row sums: the mean and the divisor."""
    mean = (row_sums / max(ncols, 1)).astype(dtype, copy=False)
    if scaler == "patterson":
        p = mean / 2
        scale = np.sqrt(np.clip(2 * p * (1 - p), 0, None))
        scale = np.where(scale > 0, scale, 1).astype(dtype, copy=False)
    else:
        scale = np.ones_like(mean)
    return np.stack([mean, scale], axis=1)


def patterson_reference(genotypes: np.ndarray) -> np.ndarray:
    """The scaled matrix ``(x − 2p) / sqrt(2p(1 − p))`` formed densely (for checks).

    Monomorphic rows (p = 0 or 1) become zeros.
    """
    g = np.asarray(genotypes, dtype=np.float64)
    p = g.mean(axis=1, keepdims=True) / 2
    scale = np.sqrt(2 * p * (1 - p))
    return (g - 2 * p) / np.where(scale > 0, scale, 1)


def check_codes(block: Any) -> None:
    """Reject negative genotype codes (missing calls) with a clear message."""
    if block.dtype.kind in "iuf" and block.size and block.dtype.kind != "u":
        low = block.min()
        if low < 0:
            raise ValueError(
                f"genotype codes must be 0, 1 or 2, found a negative code ({low}): missing "
                "calls are not supported by pca; impute them or drop those variants first"
            )
