"""Index grids and triangles: ``eye``, ``tril``/``triu``, ``meshgrid``, ``broadcast_arrays``.

    la.eye(1000, k=1, chunks=100)      # compared index ranges, no dense source
    la.tril(x, k=-1)                   # zeros above the k-th diagonal
    xx, yy = la.meshgrid(x, y)         # broadcast views, like np.meshgrid
    a2, b2 = la.broadcast_arrays(a, b)

The diagonals come from comparing two lazy ``arange`` axes, so each block
is made where it is needed, in the chunks asked for.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.array.core import Array, asanyarray_like
from lamina.array.creation import arange, asarray, broadcast_to
from lamina.array.elementwise import where
from lamina.array.manipulation import reshape
from lamina.layers.chunks import normalize_chunks


def _offsets(rows: tuple[int, ...], cols: tuple[int, ...]) -> Array:
    """``col - row`` for every position of a ``len(rows) x len(cols)`` grid, in these chunks."""
    r = reshape(arange(sum(rows), chunks=(rows,)), (-1, 1))
    c = reshape(arange(sum(cols), chunks=(cols,)), (1, -1))
    return c - r


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = float, chunks: Any = "auto",
        order: str = "C") -> Array:
    """Ones on the ``k``-th diagonal, zeros elsewhere, like ``np.eye``."""
    if order != "C":
        raise NotImplementedError(f"eye order {order!r} is not supported: use order='C'")
    M = N if M is None else M
    dtype = np.dtype(float if dtype is None else dtype)
    rows, cols = normalize_chunks(chunks, (int(N), int(M)), dtype)
    return (_offsets(rows, cols) == int(k)).astype(dtype)


def _triangle(m: Any, k: int, keep_lower: bool) -> Array:
    m = asarray(m)
    if m.ndim == 0:
        raise TypeError(f"{'tril' if keep_lower else 'triu'} needs an array of at least one "
                        "dimension")
    # As in NumPy, a 1-D array is a row broadcast over a square.
    offsets = _offsets(m.chunks[-2] if m.ndim > 1 else m.chunks[-1], m.chunks[-1])
    mask = offsets <= int(k) if keep_lower else offsets >= int(k)
    return where(mask, m, np.zeros(1, dtype=m.dtype))


def tril(m: Any, k: int = 0) -> Array:
    """Zeros above the ``k``-th diagonal of the last two axes, like ``np.tril``."""
    return _triangle(m, k, keep_lower=True)


def triu(m: Any, k: int = 0) -> Array:
    """Zeros below the ``k``-th diagonal of the last two axes, like ``np.triu``."""
    return _triangle(m, k, keep_lower=False)


def meshgrid(*xi: Any, copy: bool = True, sparse: bool = False, indexing: str = "xy"
             ) -> tuple[Array, ...]:
    """Coordinate arrays from coordinate vectors, like ``np.meshgrid``."""
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    arrays = [reshape(a, (-1,)) for a in asanyarray_like(xi)]
    ndim = len(arrays)
    out = []
    for i, a in enumerate(arrays):
        shape = [1] * ndim
        shape[i] = -1
        if indexing == "xy" and ndim > 1 and i < 2:
            shape[0], shape[1] = shape[1], shape[0]
        out.append(reshape(a, tuple(shape)))
    if not sparse:
        full = np.broadcast_shapes(*[a.shape for a in out])
        out = [broadcast_to(a, full) for a in out]
    return tuple(out)


def broadcast_arrays(*args: Any, subok: bool = False) -> tuple[Array, ...]:
    """The arguments broadcast to one shape, like ``np.broadcast_arrays``."""
    arrays = asanyarray_like(args)
    shape = np.broadcast_shapes(*[a.shape for a in arrays])
    return tuple(a if a.shape == shape else broadcast_to(a, shape) for a in arrays)


__all__ = ["broadcast_arrays", "eye", "meshgrid", "tril", "triu"]
