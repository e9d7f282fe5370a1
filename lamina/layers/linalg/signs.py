"""The sign convention of every SVD in ``lamina.linalg``.

A singular triplet is defined up to a joint sign flip of ``u_i`` and
``v_i``. lamina fixes it: **the largest-magnitude entry of each right
singular vector (each row of ``v``) is positive**; on an exact tie the
first such entry decides. The same matrix therefore gives the same
vectors whatever its chunking, seed-independent algorithms agree with
each other, and ``u`` follows from ``v``.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def flip_signs(u: Any, vt: Any) -> tuple[Any, Any]:
    """Flip columns of ``u`` and rows of ``vt`` jointly to the convention above."""
    signs = row_signs(vt)
    return u * signs[None, :], vt * signs[:, None]


def row_signs(vt: Any) -> Any:
    """+1 or -1 per row: the sign of the row's largest-magnitude entry (+1 for a zero row)."""
    if vt.shape[1] == 0:
        return np.ones(vt.shape[0], dtype=vt.dtype)
    peak = vt[np.arange(vt.shape[0]), np.argmax(np.abs(vt), axis=1)]
    return np.where(peak < 0, -1, 1).astype(vt.dtype)
