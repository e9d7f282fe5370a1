"""Reshaping and reorganizing arrays: rechunk (more to come in this module).

    x.rechunk((100, -1))     # one block along the second axis
"""

from __future__ import annotations

from typing import Any

from lamina.array.core import Array
from lamina.layers.chunks import normalize_chunks
from lamina.layers.rechunk import Rechunk


def rechunk(x: Array, chunks: Any) -> Array:
    """The same values cut into new blocks; a dict changes only some axes."""
    if isinstance(chunks, dict):
        chunks = tuple(chunks.get(i, chunks.get(i - x.ndim, x.chunks[i])) for i in range(x.ndim))
    elif isinstance(chunks, (tuple, list)) and len(chunks) == x.ndim:
        chunks = tuple(x.chunks[i] if c is None else c for i, c in enumerate(chunks))
    new = normalize_chunks(chunks, x.shape, x.dtype)
    if new == x.chunks:
        return x
    return Array(Rechunk(x.layer, new))
