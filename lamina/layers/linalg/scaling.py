"""Row scalings applied implicitly inside the products of the SVD passes.

PCA of a genotype matrix ``G`` (variants x samples) works on
``Â = D⁻¹ (G − μ 1ᵀ)``: each variant row centred by its mean ``μ`` and, for
Patterson scaling, divided by ``sqrt(2 p (1 − p))`` with ``p = μ / 2``.
``Â`` is never formed: the pass kernels compute

    Â Z  = D⁻¹ (G Z − μ (1ᵀ Z))
    Âᵀ Y = Gᵀ (D⁻¹ Y) − 1 (μᵀ D⁻¹ Y)

from the raw (uint8) blocks. ``stats`` holds ``[μ, d]`` per row. With
missing calls, ``μ`` is the mean of the called genotypes and the missing
ones are imputed with it (``products`` says how, without densifying).
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


def row_stats(row_sums: Any, ncols: Any, scaler: str, dtype: Any) -> Any:
    """``[μ, d]`` per row from the row sums: the mean and the divisor.

    ``ncols`` is the number of called genotypes: one number, or one per row.
    """
    mean = (row_sums / np.maximum(ncols, 1)).astype(dtype, copy=False)
    if scaler == "patterson":
        p = mean / 2
        scale = np.sqrt(np.clip(2 * p * (1 - p), 0, None))
        scale = np.where(scale > 0, scale, 1).astype(dtype, copy=False)
    else:
        scale = np.ones_like(mean)
    return np.stack([mean, scale], axis=1)


def patterson_reference(genotypes: np.ndarray) -> np.ndarray:
    """The scaled matrix ``(x − 2p) / sqrt(2p(1 − p))`` formed densely (for checks).

    Monomorphic rows (p = 0 or 1) become zeros. Negative codes are missing
    calls: ``p`` comes from the called genotypes and missing entries become
    0 (mean imputation).
    """
    g = np.asarray(genotypes, dtype=np.float64)
    called = g >= 0
    g = np.where(called, g, np.nan)
    p = np.nanmean(np.where(called.any(axis=1, keepdims=True), g, 0), axis=1, keepdims=True) / 2
    scale = np.sqrt(2 * p * (1 - p))
    return np.nan_to_num((g - 2 * p) / np.where(scale > 0, scale, 1), nan=0.0)


def check_codes(block: Any) -> None:
    """Reject negative float codes with a clear message (integer ones are missing calls)."""
    if block.dtype.kind == "f" and block.size:
        low = block.min()
        if low < 0:
            raise ValueError(
                f"genotype codes must be 0, 1 or 2, found a negative code ({low}) in a float "
                "array: give missing calls as -1 in a signed integer array (int8)"
            )
