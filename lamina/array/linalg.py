"""The Array API ``linalg`` extension: ``lamina.array.linalg``.

    import lamina.array as la
    la.linalg.vector_norm(x, axis=1)          # reductions: any chunking
    la.linalg.inv(stack)                      # each matrix in one block
    q, r = la.linalg.qr(tall)                 # tall and skinny: TSQR

Three kinds of function:

* products and reductions (``matmul``, ``tensordot``, ``vecdot``, ``outer``,
  ``cross``, ``vector_norm``, ``matrix_norm`` with ``ord`` "fro", 1, -1,
  inf, -inf) are built from chunked layers and work with any chunking;
* ``qr`` and ``svd`` (reduced) of a 2-D array chunked along the rows only
  use TSQR (``lamina.array.tsqr``), and ``svdvals`` too;
* the rest work matrix by matrix: the last two axes are rechunked to one
  block when a matrix takes at most ``MATRIX_BYTES`` (the batch axes keep
  their chunks), and NumPy computes each block; a larger matrix raises a
  ValueError naming the chunking they need.

A function with several results (``eigh``, ``slogdet``, ``svd``, ``qr`` of
small matrices) builds one layer per result; each recomputes the
factorization of its blocks.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from lamina.array.contraction import matmul, outer, tensordot
from lamina.array.core import Array
from lamina.array.creation import asarray
from lamina.array.elementwise import elemwise
from lamina.array.map_blocks import map_blocks
from lamina.array.standard import matrix_transpose, vecdot

MATRIX_BYTES = 256 * 2**20


class EighResult(NamedTuple):
    eigenvalues: Array
    eigenvectors: Array


class QRResult(NamedTuple):
    Q: Array
    R: Array


class SlogdetResult(NamedTuple):
    sign: Array
    logabsdet: Array


class SVDResult(NamedTuple):
    U: Array
    S: Array
    Vh: Array


def _whole_matrices(x: Any, name: str, square: bool = False) -> Array:
    """``x`` with its last two axes in one block (the batch axes keep their chunks)."""
    x = asarray(x)
    if x.ndim < 2:
        raise ValueError(f"linalg.{name} needs an array of at least 2 dimensions, got {x.ndim}")
    if square and x.shape[-1] != x.shape[-2]:
        raise ValueError(f"linalg.{name} needs square matrices, got shape {x.shape[-2:]}")
    if x.numblocks[-2:] == (1, 1):
        return x
    nbytes = x.shape[-1] * x.shape[-2] * x.dtype.itemsize
    if nbytes > MATRIX_BYTES:
        raise ValueError(
            f"linalg.{name} computes each matrix in one block, and a {x.shape[-2:]} matrix "
            f"({nbytes / 2**20:.0f} MiB) is larger than lamina.array.linalg.MATRIX_BYTES: "
            "chunk the last two axes as one block (x.rechunk({-2: -1, -1: -1})), or for qr/svd "
            "give a tall-and-skinny 2-D array with one block along the columns")
    return x.rechunk({x.ndim - 2: -1, x.ndim - 1: -1})


def _pick(block: np.ndarray, linalg_func: Callable, index: int | None,
          **kwargs: Any) -> np.ndarray:
    """``linalg_func(block)``, or its ``index``-th result; an array even for 0-d outputs."""
    out = linalg_func(block, **kwargs)
    return np.asarray(out if index is None else out[index])


def _per_matrix(func: Callable, x: Array, tail: Sequence[int], name: str,
                index: int | None = None, square: bool = False, dtype: Any = None,
                **kwargs: Any) -> Array:
    """``func`` applied to each matrix of ``x``; each matrix gives an array of shape ``tail``.

    The output dtype is ``func``'s on a 2 x 2 identity unless ``dtype`` is given.
    """
    x = _whole_matrices(x, name, square)
    batch = x.ndim - 2
    if dtype is None:
        with np.errstate(all="ignore"):
            dtype = _pick(np.eye(2, dtype=x.dtype), func, index, **kwargs).dtype
    chunks = x.chunks[:batch] + tuple((n,) for n in tail)
    return map_blocks(_pick, x, linalg_func=func, index=index, dtype=dtype, chunks=chunks,
                      drop_axis=(batch, batch + 1),
                      new_axis=tuple(range(batch, batch + len(tail))) or None,
                      name=f"linalg.{name}", **kwargs)


def cholesky(x: Any, /, *, upper: bool = False) -> Array:
    """The Cholesky factor of each (Hermitian positive-definite) matrix."""
    n = asarray(x).shape[-1]
    lower = _per_matrix(np.linalg.cholesky, asarray(x), (n, n), "cholesky", square=True)
    return np.conjugate(matrix_transpose(lower)) if upper else lower


def det(x: Any, /) -> Array:
    """The determinant of each matrix."""
    return _per_matrix(np.linalg.det, asarray(x), (), "det", square=True)


def inv(x: Any, /) -> Array:
    """The inverse of each matrix."""
    x = asarray(x)
    return _per_matrix(np.linalg.inv, x, x.shape[-2:], "inv", square=True)


def eigh(x: Any, /) -> EighResult:
    """Eigenvalues (ascending) and eigenvectors of each Hermitian matrix."""
    x = asarray(x)
    n = x.shape[-1]
    return EighResult(_per_matrix(np.linalg.eigh, x, (n,), "eigh", 0, square=True),
                      _per_matrix(np.linalg.eigh, x, (n, n), "eigh", 1, square=True))


def eigvalsh(x: Any, /) -> Array:
    """Eigenvalues (ascending) of each Hermitian matrix."""
    x = asarray(x)
    return _per_matrix(np.linalg.eigvalsh, x, x.shape[-1:], "eigvalsh", square=True)


def slogdet(x: Any, /) -> SlogdetResult:
    """Sign and log of the absolute determinant of each matrix."""
    x = asarray(x)
    return SlogdetResult(_per_matrix(np.linalg.slogdet, x, (), "slogdet", 0, square=True),
                         _per_matrix(np.linalg.slogdet, x, (), "slogdet", 1, square=True))


def matrix_power(x: Any, n: int, /) -> Array:
    """Each matrix to the integer power ``n`` (negative: of its inverse)."""
    x = asarray(x)
    return _per_matrix(np.linalg.matrix_power, x, x.shape[-2:], "matrix_power", square=True,
                       n=int(n))


def pinv(x: Any, /, *, rtol: float | Array | None = None) -> Array:
    """The pseudo-inverse of each matrix (singular values below ``rtol * max`` dropped)."""
    x, rtol = _with_tolerance(asarray(x), rtol)
    dtype = np.linalg.pinv(np.eye(2, dtype=x.dtype)).dtype
    return _per_matrix(_pinv, x, x.shape[-2:][::-1], "pinv", dtype=dtype, rtol=rtol)


def _with_tolerance(x: Array, rtol: Any) -> tuple[Array, Any]:
    """``x`` and ``rtol`` broadcast together; an array ``rtol`` puts ``x`` in one block."""
    if isinstance(rtol, Array):
        rtol = rtol.compute()
    if rtol is None or np.ndim(rtol) == 0:
        return x, rtol
    from lamina.array.creation import broadcast_to

    batch = np.broadcast_shapes(x.shape[:-2], np.shape(rtol))
    x = broadcast_to(x, batch + x.shape[-2:]).rechunk(-1)
    return x, np.ascontiguousarray(np.broadcast_to(rtol, batch))


def _pinv(block: np.ndarray, rtol: Any) -> np.ndarray:
    if block.size == 0:  # NumPy's pinv fails on an empty stack
        shape = block.shape[:-2] + block.shape[-2:][::-1]
        return np.zeros(shape, dtype=np.linalg.pinv(np.eye(2, dtype=block.dtype)).dtype)
    return np.linalg.pinv(block, rtol=rtol)


def matrix_rank(x: Any, /, *, rtol: float | Array | None = None) -> Array:
    """The number of singular values above ``rtol`` times the largest, per matrix."""
    x, rtol = _with_tolerance(asarray(x), rtol)
    return _per_matrix(_matrix_rank, x, (), "matrix_rank", dtype=np.int64, rtol=rtol)


def _matrix_rank(block: np.ndarray, rtol: Any) -> np.ndarray:
    if block.size == 0:
        return np.zeros(block.shape[:-2], dtype=np.int64) if block.ndim > 2 else np.int64(0)
    return np.linalg.matrix_rank(block, rtol=rtol)


def solve(x1: Any, x2: Any, /) -> Array:
    """The solution ``x`` of ``x1 @ x = x2`` for each matrix (``x2`` a vector or matrices)."""
    a = _whole_matrices(x1, "solve", square=True)
    b = asarray(x2)
    n = a.shape[-1]
    vector = b.ndim == 1
    if b.shape[-1 if vector else -2] != n:
        raise ValueError(f"linalg.solve: x2 of shape {b.shape} does not match matrices of "
                         f"{n} rows")
    if vector:
        b = b[:, None]
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = _broadcast_batch(a, batch, a.shape[-2:])
    b = _broadcast_batch(b, batch, b.shape[-2:]).rechunk(
        a.chunks[:len(batch)] + tuple((s,) for s in b.shape[-2:]))
    with np.errstate(all="ignore"):
        probe = np.linalg.solve(np.eye(2, dtype=a.dtype), np.ones((2, 1), dtype=b.dtype))
    out = map_blocks(_solve, a, b, dtype=probe.dtype, chunks=b.chunks, name="linalg.solve")
    return out[..., 0] if vector else out


def _broadcast_batch(x: Array, batch: tuple[int, ...], tail: tuple[int, ...]) -> Array:
    from lamina.array.creation import broadcast_to

    shape = tuple(batch) + tuple(tail)
    return x if x.shape == shape else broadcast_to(x, shape)


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.solve(a, b)


def qr(x: Any, /, *, mode: str = "reduced") -> QRResult:
    """QR of each matrix; a 2-D array chunked along the rows only goes through TSQR."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr mode must be 'reduced' or 'complete', got {mode!r}")
    x = asarray(x)
    if _tall_and_skinny(x) and mode == "reduced":
        from lamina.array.tsqr import qr as tsqr_qr

        return QRResult(*tsqr_qr(x))
    m, n = x.shape[-2:]
    k = m if mode == "complete" else min(m, n)
    return QRResult(_per_matrix(np.linalg.qr, x, (m, k), "qr", 0, mode=mode),
                    _per_matrix(np.linalg.qr, x, (k, n), "qr", 1, mode=mode))


def _tall_and_skinny(x: Array) -> bool:
    return (x.ndim == 2 and x.numblocks[0] > 1 and x.numblocks[1] == 1
            and x.shape[0] >= x.shape[1] and x.dtype.kind in "fiub")


def svd(x: Any, /, *, full_matrices: bool = True) -> SVDResult:
    """``x = U @ diag(S) @ Vh`` for each matrix; TSQR for tall-and-skinny 2-D arrays."""
    x = asarray(x)
    m, n = x.shape[-2:]
    k = min(m, n)
    if _tall_and_skinny(x) and not full_matrices:
        from lamina.array.tsqr import svd as tsqr_svd

        return SVDResult(*tsqr_svd(x))
    um, vn = (m, n) if full_matrices else (k, k)
    kw = {"full_matrices": full_matrices}
    return SVDResult(_per_matrix(np.linalg.svd, x, (m, um), "svd", 0, **kw),
                     _per_matrix(np.linalg.svd, x, (k,), "svd", 1, **kw),
                     _per_matrix(np.linalg.svd, x, (vn, n), "svd", 2, **kw))


def svdvals(x: Any, /) -> Array:
    """The singular values of each matrix, descending."""
    x = asarray(x)
    if _tall_and_skinny(x):
        return svd(x, full_matrices=False).S
    return _per_matrix(np.linalg.svd, x, (min(x.shape[-2:]),), "svdvals", compute_uv=False)


def trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> Array:
    """The sum along a diagonal of each matrix (``offset`` above the main one)."""
    x = asarray(x)
    return _per_matrix(_trace, x, (), "trace", offset=int(offset),
                       dtype_=None if dtype is None else np.dtype(dtype))


def _trace(block: np.ndarray, offset: int, dtype_: Any) -> np.ndarray:
    return np.trace(block, offset=offset, axis1=-2, axis2=-1, dtype=dtype_)


def diagonal(x: Any, /, *, offset: int = 0) -> Array:
    """The diagonal of each matrix (``offset`` above the main one)."""
    x = asarray(x)
    m, n = x.shape[-2:]
    length = max(0, min(m, n - offset) if offset >= 0 else min(m + offset, n))
    return _per_matrix(_diagonal, x, (length,), "diagonal", offset=int(offset))


def _diagonal(block: np.ndarray, offset: int) -> np.ndarray:
    return np.diagonal(block, offset=offset, axis1=-2, axis2=-1).copy()


def cross(x1: Any, x2: Any, /, *, axis: int = -1) -> Array:
    """The cross product of 3-vectors along ``axis`` (broadcasting the others)."""
    a, b = asarray(x1), asarray(x2)
    ndim = max(a.ndim, b.ndim)
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for {ndim} dimensions")
    axis = axis - ndim if axis >= 0 else axis
    if -axis > min(a.ndim, b.ndim) or a.shape[axis] != 3 or b.shape[axis] != 3:
        raise ValueError(f"linalg.cross needs length 3 along axis {axis} in both arrays, got "
                         f"shapes {a.shape} and {b.shape}")
    a = a.rechunk({a.ndim + axis: -1})
    b = b.rechunk({b.ndim + axis: -1})
    return elemwise(_cross, a, b, dtype=np.result_type(a.dtype, b.dtype), name="linalg.cross",
                    axis=axis)


def _cross(a: np.ndarray, b: np.ndarray, axis: int) -> np.ndarray:
    return np.cross(a, b, axis=axis)


def vector_norm(x: Any, /, *, axis: Any = None, keepdims: bool = False,
                ord: int | float = 2) -> Array:
    """The ``ord``-norm over ``axis`` (all axes by default), reduced chunk by chunk."""
    x = asarray(x)
    a = abs(x)
    real = np.dtype(a.dtype)
    if ord == 2:
        out = np.sqrt((a * a).sum(axis=axis, keepdims=keepdims))
    elif ord == 1:
        out = a.sum(axis=axis, keepdims=keepdims)
    elif ord == np.inf:
        out = _extreme(a, "max", axis, keepdims)
    elif ord == -np.inf:
        out = _extreme(a, "min", axis, keepdims)
    elif ord == 0:
        out = (a != 0).astype(real).sum(axis=axis, keepdims=keepdims)
    else:
        out = ((a ** float(ord)).sum(axis=axis, keepdims=keepdims)) ** (1.0 / float(ord))
    return out.astype(real)


def _extreme(a: Array, op: str, axis: Any, keepdims: bool) -> Array:
    if a.size == 0:
        raise ValueError(f"vector_norm with ord={'-' if op == 'min' else ''}inf of an empty "
                         "array has no value")
    return getattr(a, op)(axis=axis, keepdims=keepdims)


def matrix_norm(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Array:
    """The ``ord``-norm of each matrix (the last two axes)."""
    x = asarray(x)
    if x.ndim < 2:
        raise ValueError(f"linalg.matrix_norm needs at least 2 dimensions, got {x.ndim}")
    rows, cols = x.ndim - 2, x.ndim - 1
    a = abs(x)
    if ord == "fro":
        out = np.sqrt((a * a).sum(axis=(rows, cols), keepdims=keepdims))
    elif ord in (1, -1, np.inf, -np.inf):
        summed, across = (rows, cols) if ord in (1, -1) else (cols, rows)
        sums = a.sum(axis=summed, keepdims=True)
        out = getattr(sums, "max" if ord > 0 else "min")(axis=across, keepdims=True)
        if not keepdims:
            out = out.reshape(out.shape[:-2])
    elif ord in ("nuc", 2, -2):
        s = svdvals(x)
        out = s.sum(axis=-1) if ord == "nuc" else (s.max(axis=-1) if ord == 2 else
                                                   s.min(axis=-1))
        if keepdims:
            out = out.reshape(out.shape + (1, 1))
    else:
        raise ValueError(f"matrix_norm ord must be 'fro', 'nuc', 1, -1, 2, -2, inf or -inf, "
                         f"got {ord!r}")
    return out.astype(a.dtype)


__all__ = ["EighResult", "MATRIX_BYTES", "QRResult", "SVDResult", "SlogdetResult", "cholesky",
           "cross", "det", "diagonal", "eigh", "eigvalsh", "inv", "matmul", "matrix_norm",
           "matrix_power", "matrix_rank", "matrix_transpose", "outer", "pinv", "qr", "slogdet",
           "solve", "svd", "svdvals", "tensordot", "trace", "vecdot", "vector_norm"]
