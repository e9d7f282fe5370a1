"""Products that contract axes: tensordot, dot, matmul, vdot; and outer.

    a = la.from_array(np.ones((100, 60)), chunks=(10, 20))
    b = la.from_array(np.ones((60, 30)), chunks=(15, 30))
    (a @ b).compute()                 # b is rechunked to a's chunks of k
    np.tensordot(a, b, axes=1)        # lazy, like a @ b
    la_x @ np.ones((60, 5))           # a NumPy operand is wrapped as one block

Each task multiplies one block of ``a`` by one block of ``b``
(``lamina.layers.contraction``); partial products along contracted axes
with several blocks are summed by a tree reduction, ``split_every`` blocks
per group (default: few enough that a group stays small in memory).
Contracted axes must have the same length; their chunks are made to line
up by rechunking one operand (a NumPy operand, else the smaller one).
"""

from __future__ import annotations

import math
import operator
from typing import Any, Sequence

import numpy as np

from lamina.array.core import Array
from lamina.layers.contraction import Contraction, check_grid
from lamina.layers.reductions import combine_tree, default_split_every

_SIGNATURE = "(n?,k),(k,m?)->(n?,m?)"


def _operand(value: Any) -> tuple[Array, bool]:
    """An Array for ``value`` and whether it was an in-memory array."""
    if isinstance(value, Array):
        return value, False
    from lamina.array.creation import from_array

    return from_array(value, chunks=-1), True


def _align(a: Array, b: Array, pairs: Sequence[tuple[int, int]], a_follows: bool
           ) -> tuple[Array, Array]:
    """Rechunk the follower so that each pair of axes has the same chunks."""
    leader, follower = (b, a) if a_follows else (a, b)
    new = {}
    for ka, kb in pairs:
        kl, kf = (kb, ka) if a_follows else (ka, kb)
        if leader.chunks[kl] != follower.chunks[kf]:
            new[kf] = leader.chunks[kl]
    if new:
        follower = follower.rechunk(new)
    return (follower, leader) if a_follows else (leader, follower)


def _a_follows(a: Array, b: Array, a_memory: bool, b_memory: bool) -> bool:
    if a_memory != b_memory:
        return a_memory
    return a.nbytes <= b.nbytes


def _contract(kind: str, a: Array, b: Array, a_map: Sequence[tuple[str, int]],
              b_map: Sequence[tuple[str, int]], out_shape: tuple[int, ...], dtype: np.dtype,
              block_axes: tuple, split_every: int | None) -> Array:
    """Build the contraction of aligned operands and the sum over contracted blocks.

    ``a_map[j]`` is ``("out", i)`` for an axis of ``a`` that becomes output
    axis ``i``, or ``("sum", p)`` for one side of contracted pair ``p``.
    """
    out_chunks = []
    for i, n in enumerate(out_shape):
        found = [arr.chunks[k] for arr, amap in ((a, a_map), (b, b_map))
                 for k, m in enumerate(amap) if m == ("out", i) and arr.shape[k] == n]
        out_chunks.append(max(found, key=len) if found else (n,))
    pair_chunks: dict[int, tuple[int, ...]] = {}
    for k, (role, p) in enumerate(a_map):
        if role == "sum":
            pair_chunks[p] = a.chunks[k]
    multi = [p for p in sorted(pair_chunks) if len(pair_chunks[p]) > 1]
    grid_chunks = tuple(out_chunks) + tuple((1,) * len(pair_chunks[p]) for p in multi)
    ndim = len(out_shape)

    def grid_of(amap: Sequence[tuple[str, int]]) -> tuple:
        return tuple(i if role == "out" else (ndim + multi.index(i) if i in multi else None)
                     for role, i in amap)

    a_grid, b_grid = grid_of(a_map), grid_of(b_map)
    check_grid(a.layer, b.layer, a_grid, b_grid, grid_chunks)
    layer = Contraction(a.layer, b.layer, kind, a_grid, b_grid, block_axes, grid_chunks,
                        np.dtype(dtype), len(multi))
    if not multi:
        return Array(layer)
    nblocks = [len(pair_chunks[p]) for p in multi]
    if split_every is None:
        width = math.prod(max(c) if c else 1 for c in out_chunks)
        split = default_split_every(nblocks, width * np.dtype(dtype).itemsize)
    else:
        total = operator.index(split_every)
        if total < 2:
            raise ValueError(f"split_every={split_every} must be at least 2 (blocks per group)")
        split = default_split_every(nblocks, total=total)
    axes = tuple(range(ndim, ndim + len(multi)))
    return Array(combine_tree(layer, "sum", axes, split, False, np.dtype(dtype)))


def _product_dtype(func: Any, a: Array, b: Array) -> np.dtype:
    return np.asarray(func(np.ones((1, 1), dtype=a.dtype), np.ones((1, 1), dtype=b.dtype))).dtype


def _tensordot_axes(axes: Any, a_ndim: int, b_ndim: int) -> tuple[list[int], list[int]]:
    """NumPy's reading of ``axes``: an int N (last N of a, first N of b) or two lists."""
    try:
        iter(axes)
    except TypeError:
        n = operator.index(axes)
        axes_a, axes_b = list(range(-n, 0)), list(range(0, n))
    else:
        axes_a, axes_b = axes
    axes_a = list(axes_a) if isinstance(axes_a, (list, tuple)) else [axes_a]
    axes_b = list(axes_b) if isinstance(axes_b, (list, tuple)) else [axes_b]
    out = []
    for group, ndim in ((axes_a, a_ndim), (axes_b, b_ndim)):
        norm = []
        for ax in group:
            ax = operator.index(ax)
            if not -ndim <= ax < ndim:
                raise np.exceptions.AxisError(ax, ndim)
            norm.append(ax % ndim)
        out.append(norm)
    return out[0], out[1]


def tensordot(a: Any, b: Any, axes: Any = 2, split_every: int | None = None) -> Array:
    """Sum products over ``axes`` of ``a`` and ``b``, like ``np.tensordot``."""
    (a, a_mem), (b, b_mem) = _operand(a), _operand(b)
    axes_a, axes_b = _tensordot_axes(axes, a.ndim, b.ndim)
    if len(axes_a) != len(axes_b) or any(a.shape[i] != b.shape[j]
                                         for i, j in zip(axes_a, axes_b)):
        raise ValueError(
            f"shape-mismatch for sum: axes {axes_a} of shape {a.shape} and {axes_b} of shape "
            f"{b.shape} must have equal lengths"
        )
    dtype = _product_dtype(np.dot, a, b)
    pairs = list(zip(axes_a, axes_b))
    a, b = _align(a, b, pairs, _a_follows(a, b, a_mem, b_mem))
    free_a = [k for k in range(a.ndim) if k not in axes_a]
    free_b = [k for k in range(b.ndim) if k not in axes_b]
    a_map = [("sum", axes_a.index(k)) if k in axes_a else ("out", free_a.index(k))
             for k in range(a.ndim)]
    b_map = [("sum", axes_b.index(k)) if k in axes_b else ("out", len(free_a) + free_b.index(k))
             for k in range(b.ndim)]
    out_shape = tuple(a.shape[k] for k in free_a) + tuple(b.shape[k] for k in free_b)
    return _contract("tensordot", a, b, a_map, b_map, out_shape, dtype,
                     (tuple(axes_a), tuple(axes_b)), split_every)


def matmul(a: Any, b: Any, split_every: int | None = None) -> Array:
    """Matrix product with NumPy's rules: 1-D operands, broadcast batch axes."""
    (a, a_mem), (b, b_mem) = _operand(a), _operand(b)
    for i, x in enumerate((a, b)):
        if x.ndim == 0:
            raise ValueError(
                f"matmul: Input operand {i} does not have enough dimensions (has 0, gufunc "
                f"core with signature {_SIGNATURE} requires 1): use multiply for scalars"
            )
    ka, kb = a.ndim - 1, (b.ndim - 2 if b.ndim >= 2 else 0)
    if a.shape[ka] != b.shape[kb]:
        raise ValueError(
            f"matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc "
            f"signature {_SIGNATURE} (size {b.shape[kb]} is different from {a.shape[ka]})"
        )
    batch_a = a.shape[:-2] if a.ndim >= 2 else ()
    batch_b = b.shape[:-2] if b.ndim >= 2 else ()
    batch = np.broadcast_shapes(batch_a, batch_b)
    dtype = _product_dtype(np.matmul, a, b)
    nb = len(batch)
    out_shape = batch + (a.shape[-2:-1] if a.ndim >= 2 else ()) + (
        b.shape[-1:] if b.ndim >= 2 else ())
    a_map = [("out", k + nb - len(batch_a)) for k in range(len(batch_a))]
    if a.ndim >= 2:
        a_map.append(("out", nb))
    a_map.append(("sum", 0))
    b_map = [("out", k + nb - len(batch_b)) for k in range(len(batch_b))]
    b_map.append(("sum", 0))
    if b.ndim >= 2:
        b_map.append(("out", len(out_shape) - 1))
    pairs = [(ka, kb)]
    for i in range(nb):
        ia, ib = i - (nb - len(batch_a)), i - (nb - len(batch_b))
        if ia >= 0 and ib >= 0 and a.shape[ia] == b.shape[ib]:
            pairs.append((ia, ib))
    a, b = _align(a, b, pairs, _a_follows(a, b, a_mem, b_mem))
    return _contract("matmul", a, b, a_map, b_map, out_shape, dtype, (), split_every)


def dot(a: Any, b: Any, split_every: int | None = None) -> Array:
    """``np.dot``: matmul for 2-D, inner product for 1-D, last axis of a with b's
    second-to-last otherwise; a product when either is 0-d."""
    (a, _), (b, _) = _operand(a), _operand(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    kb = max(b.ndim - 2, 0)
    if a.shape[-1] != b.shape[kb]:
        raise ValueError(
            f"shapes {a.shape} and {b.shape} not aligned: {a.shape[-1]} (dim {a.ndim - 1}) "
            f"!= {b.shape[kb]} (dim {kb})"
        )
    return tensordot(a, b, axes=([a.ndim - 1], [kb]), split_every=split_every)


def _flat(x: Array) -> Array:
    """``x`` as 1-D in C order, rechunked so that blocks stay about as large."""
    if x.ndim == 1:
        return x
    if x.ndim == 0:
        return x.reshape(1)
    rest = math.prod(x.shape[1:])
    rows = max(math.prod(x.chunksize) // max(rest, 1), 1)
    return x.rechunk((rows,) + (-1,) * (x.ndim - 1)).reshape(-1)


def vdot(a: Any, b: Any, split_every: int | None = None) -> Array:
    """Dot product of the flattened arrays, conjugating ``a`` (``np.vdot``)."""
    (a, _), (b, _) = _operand(a), _operand(b)
    if a.size != b.size:
        raise ValueError(
            f"vdot: arrays of shapes {a.shape} and {b.shape} have different sizes: "
            "give arrays with the same number of elements"
        )
    if a.dtype.kind == "c":
        a = np.conjugate(a)
    if a.shape != b.shape:
        a, b = _flat(a), _flat(b)
    return tensordot(a, b, axes=a.ndim, split_every=split_every)


def outer(a: Any, b: Any) -> Array:
    """Outer product of the flattened arrays, elementwise like ``np.outer``.

    NumPy defines it as ``a.ravel()[:, None] * b.ravel()[None, :]``; a
    matrix product would lose NaN and -0.0 (BLAS skips zero factors).
    """
    (a, _), (b, _) = _operand(a), _operand(b)
    a, b = _flat(a), _flat(b)
    return np.multiply(a.reshape(a.size, 1), b.reshape(1, b.size))
