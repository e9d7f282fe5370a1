"""Layers of direct TSQR (Benson, Gleich, Demmel 2013).

Up the tree: ``BlockQR`` factors each row block ``A_i = Q_i R_i``;
``StackQR`` stacks the ``R`` of a group of children and factors the stack
again, level after level, until one ``R`` is left. Down the tree: the top
gives a factor ``F`` (a diagonal sign matrix for QR, the left singular
vectors of ``R`` for the SVD); ``ChildFactor`` passes to each child the
rows of its parent's ``Q`` that belong to it times the parent's factor,
and ``ApplyFactor`` multiplies each ``Q_i`` by its factor. So ``Q`` (or
``U``) is formed stably without ever holding more than one block of it.

A short-and-fat array (one row block) needs no tree: ``FirstBlockQR``
factors its first column block and ``ShortFatR`` gives each column block
of ``R``.

Tuple-valued layers (``BlockQR``, ``StackQR``, ``TopFactor``,
``FirstBlockQR``) have nominal chunks: one entry per block.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from lamina.layers.base import CSR, Chunks, Kernel, Layer, one_to_one
from lamina.layers.blas import blas_kernel
from lamina.layers.deps import AxisMap, product_deps
from lamina.layers.linalg.device import asarray
from lamina.layers.linalg.packing import array_module
from lamina.layers.linalg.signs import flip_signs
from lamina.layers.registry import trusted

PIECE_BYTES = 2**20


def _ranks(sizes: tuple[int, ...], ncols: int) -> tuple[int, ...]:
    return tuple(min(s, ncols) for s in sizes)


@trusted(version=1)
class BlockQR(Layer):
    """Block ``i``: ``(pieces, R_i)`` of row block ``i`` of ``x`` (one column block),
    ``Q_i`` in the form of ``local_qr``."""

    _parameters = ("x", "compute_dtype")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return (self.x.chunks[0],), self.compute_dtype

    @cached_property
    def ranks(self) -> tuple[int, ...]:
        """Rows of each ``R_i``."""
        return _ranks(self.x.chunks[0], self.x.shape[1])

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        return [one_to_one(out_blocks)]

    def kernel(self) -> Kernel:
        dtype = self.compute_dtype
        return blas_kernel(lambda block, inputs: local_qr(asarray(inputs[0], dtype)))


def local_qr(x: np.ndarray) -> tuple[list, np.ndarray]:
    """QR of one block as ``(pieces, R)``, itself by TSQR over cache-sized pieces.

    ``Q = [q_0 @ t_0; q_1 @ t_1; ...]`` for ``pieces = [(q_0, t_0), ...]``
    (``t`` None for a block of one piece). Factoring pieces of about
    ``PIECE_BYTES`` and then their stacked ``R`` is about twice as fast as
    one LAPACK call on a tall block and as stable; ``Q`` is only formed when
    its factor from the tree is known (``apply_pieces``), in one product.
    """
    nrows, ncols = x.shape
    step = max(2 * ncols, PIECE_BYTES // max(ncols * x.itemsize, 1))
    if nrows <= step:
        q, r = np.linalg.qr(x)
        return [(q, None)], r
    qs, rs = zip(*(np.linalg.qr(x[s:s + step]) for s in range(0, nrows, step)))
    q_top, r = np.linalg.qr(np.concatenate(rs, axis=0))
    cuts = np.cumsum([piece.shape[0] for piece in rs])[:-1]
    return list(zip(qs, np.split(q_top, cuts, axis=0))), r


def apply_pieces(pieces: list, factor: np.ndarray) -> np.ndarray:
    """``Q_i @ factor`` for the ``pieces`` of ``local_qr``."""
    if len(pieces) == 1 and pieces[0][1] is None:
        return pieces[0][0] @ factor
    nrows = sum(q.shape[0] for q, _ in pieces)
    xp = array_module(factor)
    out = xp.empty((nrows, factor.shape[1]), dtype=np.result_type(pieces[0][0].dtype,
                                                                  factor.dtype))
    row = 0
    for q, top in pieces:
        out[row:row + q.shape[0]] = q @ (top @ factor)
        row += q.shape[0]
    return out


@trusted(version=1)
class StackQR(Layer):
    """Block ``g``: QR of the stacked ``R`` of children ``g*s .. g*s+s-1``.

    The value is ``(pieces, R)``: the rows of the stack's ``Q`` that belong
    to each child, and the stack's ``R``.
    """

    _parameters = ("child", "split_every")

    @cached_property
    def groups(self) -> AxisMap:
        return AxisMap.groups(self.child.nblocks, self.split_every)

    @cached_property
    def ranks(self) -> tuple[int, ...]:
        ncols = self.child_ncols
        child = self.child.ranks
        return tuple(min(sum(child[a:b]), ncols)
                     for a, b in zip(self.groups.indptr[:-1], self.groups.indptr[1:]))

    @cached_property
    def child_ncols(self) -> int:
        node = self.child
        while isinstance(node, StackQR):
            node = node.child
        return node.x.shape[1]

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return ((1,) * (len(self.groups.indptr) - 1),), self.child.dtype

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        return [product_deps(out_blocks, self.numblocks, [self.groups], self.child.numblocks)]

    def kernel(self) -> Kernel:
        def run(block: int, inputs: list) -> tuple:
            rs = [value[1] for value in inputs]
            q, r = np.linalg.qr(np.concatenate(rs, axis=0) if len(rs) > 1 else rs[0])
            cuts = np.cumsum([x.shape[0] for x in rs])[:-1]
            return np.split(q, cuts, axis=0), r

        return blas_kernel(run)


@trusted(version=1)
class TopFactor(Layer):
    """The factor handed down from the top ``R``, with the small results.

    ``mode="qr"``: ``(D, D R)`` with ``D`` the signs that make ``diag(R) ≥ 0``.
    ``mode="svd"``: ``(U_R, s, Vᵀ)`` of ``R = U_R diag(s) Vᵀ``, each row of
    ``Vᵀ`` with its largest-magnitude entry positive.
    """

    _parameters = ("top", "mode")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return ((1,),), self.top.dtype

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        return [one_to_one(out_blocks)]

    def kernel(self) -> Kernel:
        if self.mode == "qr":
            return lambda block, inputs: qr_signs(inputs[0][1])
        return lambda block, inputs: svd_of_r(inputs[0][1])


def qr_signs(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(D, D R)``: flip rows of ``R`` so that its diagonal is non-negative."""
    d = np.sign(np.diagonal(r)).astype(r.dtype)
    d[d == 0] = 1
    return np.diag(d), r * d[:, None]


def svd_of_r(r: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(U_R, s, Vᵀ)`` of a small ``R`` with the package's sign convention."""
    u, s, vt = np.linalg.svd(r, full_matrices=False)
    u, vt = flip_signs(u, vt)
    return u, s, vt


@trusted(version=1)
class ChildFactor(Layer):
    """Block ``c``: the factor of child ``c`` = its rows of the parent's ``Q`` @ parent factor.

    ``level`` is the ``StackQR`` whose groups are these children; ``parent``
    holds one factor per group (flat block ``g``); ``top_index`` picks the
    factor out of a ``TopFactor`` tuple (None for a plain array).
    """

    _parameters = ("level", "parent", "top_index")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return ((1,) * self.level.child.nblocks,), self.level.dtype

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        group = np.asarray(out_blocks, dtype=np.int64) // self.level.split_every
        ptr = np.arange(len(group) + 1, dtype=np.int64)
        return [(ptr, group), (ptr, group)]

    def kernel(self) -> Kernel:
        split, index = self.level.split_every, self.top_index

        def run(block: int, inputs: list) -> np.ndarray:
            pieces = inputs[0][0]
            factor = inputs[1] if index is None else inputs[1][index]
            return pieces[block - (block // split) * split] @ factor

        return blas_kernel(run)


@trusted(version=1)
class ApplyFactor(Layer):
    """Block ``i`` of ``Q`` (or ``U``): ``Q_i @ F_i``."""

    _parameters = ("blocks", "factors", "ncols")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return (self.blocks.x.chunks[0], (self.ncols,)), self.blocks.dtype

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        return [one_to_one(out_blocks), one_to_one(out_blocks)]

    def kernel(self) -> Kernel:
        return blas_kernel(lambda block, inputs: apply_pieces(inputs[0][0], inputs[1]))


@trusted(version=1)
class ColumnSigns(Layer):
    """Signs that make the largest-magnitude entry of each column of ``x`` positive.

    One task reads every block of ``x`` (one column block); on ties the
    first entry in row order decides.
    """

    _parameters = ("x",)

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return ((self.x.shape[1],),), self.x.dtype

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        n = self.x.nblocks
        return [(np.array([0, n], dtype=np.int64), np.arange(n, dtype=np.int64))]

    def kernel(self) -> Kernel:
        def run(block: int, inputs: list) -> np.ndarray:
            best = np.full(inputs[0].shape[1], -1.0)
            sign = np.ones(inputs[0].shape[1], dtype=inputs[0].dtype)
            for value in inputs:
                if value.shape[0] == 0:
                    continue
                rows = np.argmax(np.abs(value), axis=0)
                peak = value[rows, np.arange(value.shape[1])]
                better = np.abs(peak) > best
                best = np.where(better, np.abs(peak), best)
                sign = np.where(better, np.where(peak < 0, -1, 1), sign).astype(sign.dtype)
            return sign

        return run


@trusted(version=1)
class FirstBlockQR(Layer):
    """``(Q, R_0)`` of the first column block of a one-row-block array, ``diag(R_0) ≥ 0``."""

    _parameters = ("x", "compute_dtype")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return ((1,),), self.compute_dtype

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        return [(np.array([0, 1], dtype=np.int64), np.zeros(1, dtype=np.int64))]

    def kernel(self) -> Kernel:
        dtype = self.compute_dtype

        def run(block: int, inputs: list) -> tuple:
            q, r = np.linalg.qr(asarray(inputs[0], dtype))
            d, r = qr_signs(r)
            return q @ d, r

        return run


@trusted(version=1)
class ShortFatR(Layer):
    """Block ``j`` of ``R``: ``R_0`` for ``j = 0``, else ``Qᵀ A_j``."""

    _parameters = ("x", "first")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return self.x.chunks, self.first.dtype

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        n = len(out_blocks)
        return [one_to_one(out_blocks),
                (np.arange(n + 1, dtype=np.int64), np.zeros(n, dtype=np.int64))]

    def kernel(self) -> Kernel:
        def run(block: int, inputs: list) -> np.ndarray:
            q, r0 = inputs[1]
            return r0 if block == 0 else q.T @ np.asarray(inputs[0], dtype=q.dtype)

        return run
