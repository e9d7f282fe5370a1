"""Layers of one pass over the input of a randomized SVD.

``a`` is a layer of input payloads (see ``payload``), its grid ``I x J``.

* ``RowPass(a, z, stats, ...)``: block ``i`` reads row block ``A_i`` once
  (all ``J`` column blocks) and returns ``(Y_i, W_i, stats_i)`` with
  ``Y_i = Â_i Z`` and ``W_i = Â_iᵀ Y_i`` (``Pick`` them apart; ``tree_sum``
  the ``W_i``).
* ``BlockY(a, z, ...)``: block ``(j, i)`` is ``A_ij Z_j`` (summed over ``j``
  by ``tree_sum`` on axis 0).
* ``BlockW(a, y, stats, ...)``: block ``(i, j)`` is ``Â_ijᵀ Y_i``.
* ``BlockQtA(a, q, stats, ...)``: block ``(i, 0, j)`` is ``Q_iᵀ Â_ij``.

``z`` has ``a``'s column chunks and one column block; ``y``, ``q`` and
``stats`` have ``a``'s row chunks and one column block.
"""

from __future__ import annotations

import numpy as np

from lamina.layers.base import CSR, Chunks, Kernel, Layer
from lamina.layers.blas import blas_kernel
from lamina.layers.deps import AxisMap, product_deps
from lamina.layers.linalg import device, products
from lamina.layers.linalg.memory import trimming_kernel
from lamina.layers.registry import trusted


def _all_of(n: int) -> AxisMap:
    """One table row listing blocks 0..n-1 (an axis read whole)."""
    return AxisMap(np.array([0, n], dtype=np.int64), np.arange(n, dtype=np.int64))


def _row_vector_deps(out_blocks: np.ndarray, out_numblocks: tuple, x: Layer,
                     out_axis: int) -> CSR:
    """Block ``k`` along ``out_axis`` reads block ``(k, 0)`` of ``x``."""
    return product_deps(out_blocks, out_numblocks,
                        [AxisMap.identity(x.numblocks[0]), AxisMap.constant(1)],
                        x.numblocks, [out_axis, None])


@trusted(version=1)
class RowPass(Layer):
    """One read of each row block gives ``Â_i Z`` and ``Â_iᵀ (Â_i Z)``."""

    _parameters = ("a", "z", "stats", "compute_dtype", "scaler", "want_y", "want_w", "pack")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return (self.a.chunks[0],), self.compute_dtype

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        ni, nj = self.a.numblocks
        out = [product_deps(out_blocks, self.numblocks, [AxisMap.identity(ni), _all_of(nj)],
                            self.a.numblocks, [0, None])]
        out.append(product_deps(out_blocks, self.numblocks, [_all_of(nj), AxisMap.constant(1)],
                                self.z.numblocks, [None, None]))
        if isinstance(self.stats, Layer):
            out.append(_row_vector_deps(out_blocks, self.numblocks, self.stats, 0))
        return out

    def kernel(self) -> Kernel:
        nj = self.a.numblocks[1]
        has_stats = isinstance(self.stats, Layer)
        options = dict(dtype=self.compute_dtype, scaler=self.scaler, want_y=self.want_y,
                       want_w=self.want_w, pack=self.pack)

        def run(block: int, inputs: list) -> tuple:
            stats = inputs[2 * nj] if has_stats else None
            kernels = device if device.on_device(inputs[0]) else products
            return kernels.row_pass(inputs[:nj], inputs[nj:2 * nj], stats, **options)

        return trimming_kernel(blas_kernel(run))


@trusted(version=1)
class BlockY(Layer):
    """Block ``(j, i, 0)``: ``A_ij [Z_j, 1]``, shape ``(1, m_i, l (+1))``."""

    _parameters = ("a", "z", "compute_dtype", "scaler", "with_sums")

    def _meta(self) -> tuple[Chunks, np.dtype]:
        width = self.z.shape[1] + int(self.with_sums)
        return ((1,) * self.a.numblocks[1], self.a.chunks[0], (width,)), self.compute_dtype

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        ni, nj = self.a.numblocks
        return [
            product_deps(out_blocks, self.numblocks, [AxisMap.identity(ni), AxisMap.identity(nj)],
                         self.a.numblocks, [1, 0]),
            _row_vector_deps(out_blocks, self.numblocks, self.z, 0),
        ]

    def kernel(self) -> Kernel:
        options = dict(dtype=self.compute_dtype, scaler=self.scaler, with_sums=self.with_sums)
        return trimming_kernel(blas_kernel(
            lambda block, inputs: products.block_y(inputs[0], inputs[1], **options)))


class _PerBlock(Layer):
    """Shared deps of ``BlockW`` / ``BlockQtA``: block (i, j) of ``a``, row block i of the rest."""

    _parameters = ("a", "rows", "stats", "compute_dtype")
    _a_axes: tuple[int, int] = (0, 1)

    def block_deps(self, out_blocks: np.ndarray) -> list[CSR]:
        ni, nj = self.a.numblocks
        i_axis, j_axis = self._a_axes
        out = [product_deps(out_blocks, self.numblocks, [AxisMap.identity(ni),
                                                         AxisMap.identity(nj)],
                            self.a.numblocks, [i_axis, j_axis]),
               _row_vector_deps(out_blocks, self.numblocks, self.rows, i_axis)]
        if isinstance(self.stats, Layer):
            out.append(_row_vector_deps(out_blocks, self.numblocks, self.stats, i_axis))
        return out


@trusted(version=1)
class BlockW(_PerBlock):
    """Block ``(i, j, 0)``: ``Â_ijᵀ Y_i``, shape ``(1, n_j, l)``."""

    _a_axes = (0, 1)

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return ((1,) * self.a.numblocks[0], self.a.chunks[1], (self.rows.shape[1],)), \
            self.compute_dtype

    def kernel(self) -> Kernel:
        dtype = self.compute_dtype
        has_stats = isinstance(self.stats, Layer)
        return trimming_kernel(blas_kernel(lambda block, inputs: products.block_w(
            inputs[0], inputs[1], inputs[2] if has_stats else None, dtype=dtype)))


@trusted(version=1)
class BlockQtA(_PerBlock):
    """Block ``(i, 0, j)``: ``Q_iᵀ Â_ij``, shape ``(1, l, n_j)``."""

    _a_axes = (0, 2)

    def _meta(self) -> tuple[Chunks, np.dtype]:
        return ((1,) * self.a.numblocks[0], (self.rows.shape[1],), self.a.chunks[1]), \
            self.compute_dtype

    def kernel(self) -> Kernel:
        dtype = self.compute_dtype
        has_stats = isinstance(self.stats, Layer)
        return trimming_kernel(blas_kernel(lambda block, inputs: products.block_qt_a(
            inputs[0], inputs[1], inputs[2] if has_stats else None, dtype=dtype)))
