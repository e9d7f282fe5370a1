"""The passes of a randomized SVD over one input, each its own computation.

A ``PassRunner`` owns the input and runs one lamina computation per pass:
the pass reads (recomputes) every input block once and returns small NumPy
results (``Y`` is rows x l, ``W`` is columns x l), which the next pass
takes as in-memory inputs. Nothing of the input survives a pass, so the
input is never pinned in memory between passes.

Two ways to read the input:

* **single read** (``RowPass``): one task per row block reads all its
  column blocks once and returns both ``Y_i = Â_i Z`` and ``Â_iᵀ Y_i``;
  ``sweep`` is then one pass for ``Â Z`` and ``Âᵀ Â Z`` together. The task
  holds its row block while it works (2-bit packed when the values are
  genotype codes), so this is chosen when a row block is small enough.
* **split** (``BlockY`` / ``BlockW``): one task per block, one product per
  pass, for row blocks too wide to hold.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

import lamina
from lamina.array.core import Array
from lamina.array.creation import from_array
from lamina.compute import compute_blocks
from lamina.layers.base import Layer
from lamina.layers.linalg.combine import DEFAULT_SPLIT_EVERY, Drain, Pick, TreeSum, tree_sum
from lamina.layers.linalg.device import asarray
from lamina.layers.linalg.pass_layers import BlockQtA, BlockW, BlockY, RowPass
from lamina.layers.linalg.scaling import row_stats
from lamina.layers.linalg.sources import EncodedSource, HoldPacked, Payloads
from lamina.layers.sources import FromBlocks, hold_blocks
from lamina.linalg.tsqr import tsqr

ROW_HOLD_BYTES = 512 * 2**20
PACK_ROW_BYTES = 64 * 2**20

Progress = Callable[[str, int, int], None]


class PassRunner:
    """Runs the passes of one randomized SVD over ``a`` and counts them."""

    def __init__(self, a: Array, dtype: Any, scaler: str | None = None,
                 single_read: bool | None = None, split_every: int | None = None,
                 nthreads: int | None = None, progress: Progress | None = None) -> None:
        self.a = a
        self.dtype = np.dtype(dtype)
        self.scaler = scaler
        self.split_every = split_every
        self.nthreads = nthreads
        self.progress = progress
        self.passes = 0
        self.stats: np.ndarray | None = None
        widest = max(a.chunks[0]) * a.shape[1]
        packable = a.dtype.kind in "biu"
        held = widest * (0.25 if packable else a.dtype.itemsize)
        missing = scaler is not None and (a.dtype.kind == "i"
                                          or getattr(a.layer, "missing_calls", False))
        if missing and single_read is False:
            raise ValueError("genotypes with missing calls (signed codes, or a PLINK/VCF "
                             "reader) are mean-imputed only by single-read passes: leave "
                             "single_read unset")
        self.single_read = (missing or a.numblocks[1] == 1 or held <= ROW_HOLD_BYTES) \
            if single_read is None else bool(single_read)
        self.pack = packable and a.numblocks[1] > 1 and widest * a.dtype.itemsize > PACK_ROW_BYTES
        self.payloads = payload_layer(a, self.pack and self.single_read)

    # pieces --------------------------------------------------------------
    def _column_matrix(self, z: np.ndarray) -> Layer:
        z = asarray(z, self.dtype)
        return from_array(z, chunks=(self.a.chunks[1], z.shape[1])).layer

    def _row_matrix(self, y: np.ndarray) -> Layer:
        y = asarray(y, self.dtype)
        return from_array(y, chunks=(self.a.chunks[0], y.shape[1])).layer

    def _stats_layer(self) -> Layer | None:
        return None if self.stats is None else self._row_matrix(self.stats)

    def _callback(self, label: str) -> Callable[[int, int], None] | None:
        if self.progress is None:
            return None
        progress, name = self.progress, f"pass {self.passes}: {label}"
        return lambda done, total: progress(name, done, total)

    def _run(self, label: str, *layers: Layer) -> list[np.ndarray]:
        self.passes += 1
        return list(lamina.compute(*[Array(x) for x in layers], nthreads=self.nthreads,
                                   on_progress=self._callback(label)))

    def _sum(self, partials: Layer) -> Layer:
        return tree_sum(partials, axis=0, split_every=self.split_every)

    # passes --------------------------------------------------------------
    def sweep(self, z: np.ndarray, want_y: bool) -> tuple[np.ndarray | None, np.ndarray]:
        """One single-read pass: ``(Â Z if want_y, Âᵀ Â Z)``."""
        return self._row_pass(z, want_y, True)

    def apply(self, z: np.ndarray) -> np.ndarray:
        """``Â Z`` in one pass."""
        if self.single_read:
            return self._row_pass(z, True, False)[0]
        with_sums = self.scaler is not None and self.stats is None
        layer = BlockY(self.payloads, self._column_matrix(z), self.dtype, self.scaler, with_sums)
        (p,) = self._run("A·Z", self._sum(layer))
        p = p[0]
        ncols = z.shape[1]
        if with_sums:
            self.stats = row_stats(p[:, ncols], self.a.shape[1], self.scaler, self.dtype)
        if self.scaler is None:
            return p
        colsum = asarray(z, self.dtype).sum(axis=0)
        return (p[:, :ncols] - self.stats[:, :1] * colsum[None, :]) / self.stats[:, 1:]

    def apply_t(self, y: np.ndarray) -> np.ndarray:
        """``Âᵀ Y`` in one pass (block by block)."""
        layer = BlockW(self.payloads, self._row_matrix(y), self._stats_layer(), self.dtype)
        (w,) = self._run("Aᵀ·Y", self._sum(layer))
        return w[0]

    def qt_a(self, q_blocks: list) -> np.ndarray:
        """``Qᵀ Â`` in one pass (block by block), ``Q`` given by its row blocks."""
        layer = BlockQtA(self.payloads, self.row_blocks(q_blocks), self._stats_layer(), self.dtype)
        (b,) = self._run("Qᵀ·A", self._sum(layer))
        return b[0]

    def final_sweep(self, z: np.ndarray, want_w: bool) -> tuple[list, np.ndarray, Any]:
        """Last single-read pass: ``Y = Â Z`` factored by TSQR in the same computation.

        Returns the row blocks of ``Q``, ``R`` and ``W = Âᵀ Y`` (None unless
        ``want_w``); ``Y`` itself is dropped block by block once factored.
        """
        out = self._single_read(z, True, want_w, factor=True)
        return out["q"], out["r"][0], out["w"][0][0] if want_w else None

    def row_blocks(self, blocks: list) -> Layer:
        """An in-memory rows x l matrix given as row blocks chunked like ``a``."""
        return FromBlocks(hold_blocks(blocks), (self.a.chunks[0], (blocks[0].shape[1],)),
                          self.dtype, "rows")

    def _row_pass(self, z: np.ndarray, want_y: bool, want_w: bool) -> tuple:
        out = self._single_read(z, want_y, want_w, factor=False)
        y = np.concatenate(out["y"], axis=0) if want_y else None
        return y, out["w"][0][0] if want_w else None

    def _single_read(self, z: np.ndarray, want_y: bool, want_w: bool, factor: bool) -> dict:
        """One ``RowPass`` computation; its results by name, as lists of blocks.

        A ``Drain`` root puts each row block's small consumers right after it
        in the runner's priority order (see ``combine.Drain``).
        """
        a, ncols = self.a, z.shape[1]
        split = max(int(self.split_every or DEFAULT_SPLIT_EVERY), 2)
        first = self.scaler is not None and self.stats is None
        rp = RowPass(self.payloads, self._column_matrix(z), self._stats_layer(), self.dtype,
                     self.scaler, want_y, want_w, self.pack)
        parts: list[Layer] = []
        groups: list[Layer] = []
        roots: dict[str, Layer] = {}
        if want_y:
            y = Pick(rp, 0, (a.chunks[0], (ncols,)), self.dtype)
            if factor:
                q, r = tsqr(Array(y), split_every=self.split_every)
                parts.append(q.layer.blocks)
                roots.update(q=q.layer, r=r.layer)
            else:
                parts.append(y)
                roots["y"] = y
        if want_w:
            partials = Pick(rp, 1, ((1,) * a.numblocks[0], (a.shape[1],), (ncols,)), self.dtype,
                            True)
            level0 = TreeSum(partials, 0, split)
            parts.append(partials)
            groups.append(level0)
            roots["w"] = tree_sum(level0, 0, split)
        if first:
            roots["stats"] = Pick(rp, 2, (a.chunks[0], (2,)), self.dtype)
            parts.append(roots["stats"])
        self.passes += 1
        label = "A·Z" + (" and Aᵀ·(A·Z)" if want_w else "") + (", QR" if factor else "")
        blocks = compute_blocks(Drain(tuple(parts), tuple(groups), split), *roots.values(),
                                nthreads=self.nthreads, optimize_graph=False,
                                on_progress=self._callback(label))
        out = dict(zip(roots, blocks[1:]))
        if first:
            self.stats = np.concatenate(out["stats"], axis=0)
        return out


def payload_layer(a: Array, pack: bool) -> Layer:
    """The layer whose blocks the pass kernels read for ``a``."""
    if isinstance(a.layer, EncodedSource):
        return Payloads(a.layer)
    if pack:
        return HoldPacked(a.layer)
    return a.layer
