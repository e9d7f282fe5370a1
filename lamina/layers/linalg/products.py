"""The NumPy work of one block in each SVD pass (called by the pass layers).

Every function reads its input block slab by slab (a few MiB cast to the
compute dtype at a time), so a uint8 block is never converted whole, and
applies the optional row scaling implicitly (see ``scaling``). A product
of small integers (codes times a sign sketch, or times ``Y`` before any
scaling) runs in float32 where that is exact (see ``exact``).

Missing genotype calls (code 3 of a ``Packed2Bit`` with ``missing``) are
mean-imputed per variant without forming the imputed block, as PLINK 2
does. With ``G0`` the codes with missing calls as 0 and ``M`` the 0/1
matrix of missing calls, the imputed and centred block is
``G0 − μ 1ᵀ + diag(μ) M``, so

    Â Z  = D⁻¹ (G0 Z − μ (1ᵀ Z) + μ ∘ (M Z))
    Âᵀ Y = G0ᵀ Yt − 1 (μᵀ Yt) + Mᵀ (μ ∘ Yt),      Yt = D⁻¹ Y

where ``M Z`` and ``Mᵀ (μ ∘ Yt)`` are sparse sums over the missing calls
(read straight from the packed bytes for the fused kernels, from their
listed positions for unpacked slabs) and ``μ`` is the mean of the
called genotypes (its count ``M 1`` comes from the same sparse sum).

* ``row_pass``: one row block ``A_i`` (all its column blocks) gives
  ``Y_i = Â_i Z`` and, from the same read, the partial ``Â_iᵀ Y_i``.
* ``block_y`` / ``block_w``: the same products for one block, when a row
  block is too wide to hold and the pass is split in two.
* ``block_qt_a``: the partial ``Q_iᵀ Â_ij`` of ``B = Qᵀ Â``.

A 2-bit packed block (NumPy) is multiplied straight from its bytes by the
kernels of ``fused`` where ``use_fused`` finds them faster for its shape;
other blocks are unpacked slab by slab and multiplied by the BLAS.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from lamina.layers.linalg.colpacked import (
    ColumnPacked,
    columns_product,
    pack_columns,
    worth_packing,
)
from lamina.layers.linalg.exact import code_bound, product_dtype
from lamina.layers.linalg.fused import (
    CODE_VALUES,
    GENOTYPE_VALUES,
    add_missing_columns,
    add_packed_missing_gty,
    missing_rows_product,
    packed_gty,
    packed_gz,
    packed_missing_gz,
    use_fused,
)
from lamina.layers.linalg.packing import pack_2bit
from lamina.layers.linalg.payload import (
    BlockView,
    Packed2Bit,
    keep,
    missing_as_code,
    open_block,
    slab_rows,
)
from lamina.layers.linalg.scaling import check_codes, row_stats


def row_pass(payloads: Sequence[Any], zs: Sequence[Any], stats: Any, *, dtype: Any,
             scaler: str | None, want_y: bool, want_w: bool, pack: bool) -> tuple:
    """``(Y_i, W_i, stats_i)`` for row block ``i``: ``Y_i = Â_i Z``, ``W_i = Â_iᵀ Y_i``.

    ``payloads`` are the blocks of row ``i`` left to right, ``zs`` the
    matching row blocks of ``Z``. Without ``stats`` and with a scaler, the
    row means come from this same read (a column of ones appended to Z).
    """
    dtype = np.dtype(dtype)
    zs = [np.asarray(z, dtype=dtype) for z in zs]
    ncols = sum(z.shape[0] for z in zs)
    plan = _Rows(zs, stats, dtype, scaler, ncols)
    if want_w and len(payloads) == 1:
        y, w, st = _one_sweep(plan.open(payloads[0]), plan)
        return (y if want_y else None), w, st
    held = []
    p = mz = None
    for payload, z in zip(payloads, plan.zaug):
        view = plan.open(payload)
        if want_w:
            view = _hold(payload, view, pack and len(payloads) > 1, z.shape[1], dtype, held)
        p, mz = _accumulate_rows(view, z, dtype, p, mz)
        del view
    y, st = plan.finish_y(p, 0, mz)
    w = None
    if want_w:
        yt, corr = plan.w_factors(y, st)
        mean = None if st is None else st[:, 0]
        parts = []
        for payload in held:
            if isinstance(payload, ColumnPacked):
                parts.append(_columns_transposed(payload, yt, corr, dtype))
                continue
            parts.append(_transposed_product(plan.open(payload), yt, corr, dtype, mean))
        w = np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]
    return (y if want_y else None), w, st


class _Rows:
    """What the row pass needs besides the blocks: Z, ones column, scaling."""

    def __init__(self, zs: list, stats: Any, dtype: np.dtype, scaler: str | None,
                 ncols: int) -> None:
        self.dtype, self.scaler, self.ncols = dtype, scaler, ncols
        self.stats = None if stats is None else np.asarray(stats, dtype=dtype)
        self.sums = scaler is not None and stats is None
        self.colsum = sum(z.sum(axis=0) for z in zs) if scaler else None
        if self.sums:
            self.zaug = [np.hstack([z, np.ones((z.shape[0], 1), dtype=dtype)]) for z in zs]
        else:
            self.zaug = zs
        self.l = zs[0].shape[1]

    def open(self, payload: Any) -> BlockView:
        return open_codes(payload, self.scaler)

    def finish_y(self, p: Any, start: int = 0, mz: Any = None) -> tuple[Any, Any]:
        """``Y`` rows from the raw products ``p`` (and the row stats they imply).

        ``mz`` is ``M Z`` over the missing calls (None when there are none);
        its ones column gives the count of missing calls per row.
        """
        if self.scaler is None:
            return p, None
        if self.sums:
            called = self.ncols if mz is None else self.ncols - mz[:, self.l]
            st = row_stats(p[:, self.l], called, self.scaler, self.dtype)
        else:
            st = self.stats[start:start + p.shape[0]]
        y = p[:, :self.l] - st[:, :1] * self.colsum[None, :]
        if mz is not None:
            y += st[:, :1] * mz[:, :self.l]
        y /= st[:, 1:]
        return y, st

    def w_factors(self, y: Any, st: Any) -> tuple[Any, Any]:
        """``D⁻¹ Y`` and the centring correction ``μᵀ D⁻¹ Y``."""
        if self.scaler is None:
            return y, None
        yt = y / st[:, 1:]
        return yt, st[:, 0] @ yt


def open_codes(payload: Any, scaler: str | None) -> BlockView:
    """``open_block``, where a scaled product reads signed codes with -1 as missing."""
    if scaler is not None:
        payload = missing_as_code(payload)
    view = open_block(payload)
    if scaler is not None and not view.packed:
        check_codes(view.value)
    return view


def _missing_product(rows: Any, cols: Any, z: Any, nrows: int) -> Any:
    """``M Z`` (nrows x l) for the missing calls at ``(rows, cols)`` of a slab."""
    return missing_rows_product(rows, cols, z, nrows)


def _add_missing_t(wt: Any, rows: Any, cols: Any, mean: Any, yt: Any) -> None:
    """Add ``Mᵀ (μ ∘ Yt)`` into ``wt`` (l x columns); ``mean``, ``yt`` rows of the slab."""
    add_missing_columns(wt.T, rows, cols, mean, yt)


def _accumulate_rows(view: BlockView, z: Any, dtype: np.dtype, p: Any,
                     mz: Any = None) -> tuple[Any, Any]:
    """Add ``G0 Z`` into ``p`` and ``M Z`` (missing calls) into ``mz``."""
    if p is None:
        p = np.zeros((view.shape[0], z.shape[1]), dtype=dtype)
    exact = product_dtype(code_bound(view), view.shape[1], z, dtype)
    zx = z.astype(exact, copy=False)
    if _fused(view, z.shape[1], exact):
        p += packed_gz(view.value.data, view.shape[1], zx, _values(view))
        if view.missing:
            m = packed_missing_gz(view.value.data, view.shape[1], z.astype(dtype, copy=False))
            mz = m if mz is None else mz + m
        return p, mz
    for start, stop, slab in view.slabs(exact):
        p[start:stop] += slab @ zx
        if view.missing:
            if mz is None:
                mz = np.zeros((view.shape[0], z.shape[1]), dtype=dtype)
            rows, cols = view.missing_in(start, stop)
            mz[start:stop] += _missing_product(rows, cols, z.astype(dtype, copy=False),
                                               stop - start)
    return p, mz


def _transposed_product(view: BlockView, yt: Any, corr: Any, dtype: np.dtype,
                        mean: Any = None) -> Any:
    """``Aᵀ Yt`` (columns x l) of one block, accumulated as ``(Ytᵀ A)ᵀ``.

    The slabs' products are added into an l x columns matrix: a short, wide
    accumulator is cheaper to update per slab than its transpose. ``mean``
    (the row means) imputes missing calls.
    """
    if _fused(view, yt.shape[1], dtype):
        return _fused_transposed(view, yt, corr, dtype, mean)
    wt = np.zeros((yt.shape[1], view.shape[1]), dtype=dtype)
    inner = slab_rows(view.shape[1], np.dtype(np.float32).itemsize)
    exact = product_dtype(code_bound(view), inner, yt, dtype)
    yt = yt.astype(exact, copy=False)
    yx = yt.astype(exact, copy=False)
    tmp = np.empty_like(wt, dtype=exact)
    for start, stop, slab in view.slabs(exact):
        np.matmul(yx[start:stop].T, slab, out=tmp)
        wt += tmp
        if view.missing:
            rows, cols = view.missing_in(start, stop)
            _add_missing_t(wt, rows, cols, mean[start:stop], yt[start:stop])
    if corr is not None:
        wt -= corr[:, None]
    return wt.T


def _hold(payload: Any, view: BlockView, pack: bool, width: int, dtype: np.dtype,
          held: list) -> BlockView:
    """Append what to keep of a block for ``Aᵀ Y`` to ``held``; the view for ``A Z``.

    A decoded block of codes 0..3 is kept packed along its columns
    (``colpacked``: ``Aᵀ Y`` then runs on the ``G Z`` kernel), and ``A Z``
    reads a row-packed copy made for it when the fused kernel suits the shape.
    """
    if not view.packed and worth_packing(view.value, width, dtype):
        columns = pack_columns(view.value)
        if columns is not None:
            held.append(columns)
            rows = Packed2Bit(pack_2bit(view.value, check=False), view.shape, view.value.dtype)
            return BlockView(rows) if _fused(BlockView(rows), width, dtype) else view
    held.append(keep(payload, view, pack))
    return _packed_view(view, held[-1], width, dtype)


def _columns_transposed(held: ColumnPacked, yt: Any, corr: Any, dtype: np.dtype) -> Any:
    """``_transposed_product`` of a block kept packed along its columns."""
    w = columns_product(held, yt, dtype)
    if corr is not None:
        w -= corr[None, :]
    return w


def _packed_view(view: BlockView, kept: Any, width: int, dtype: np.dtype) -> BlockView:
    """The packed copy of a block kept for the second product, when the fused
    kernels would read it faster than the decoded block."""
    if view.packed or not isinstance(kept, Packed2Bit) \
            or not use_fused(kept.data, kept.shape[0], width, dtype):
        return view
    return BlockView(kept)


def _fused(view: BlockView, width: int, dtype: np.dtype) -> bool:
    return view.packed and use_fused(view.value.data, view.shape[0], width, dtype)


def _values(view: BlockView) -> tuple:
    """What the codes of a packed block count (a missing call as 0)."""
    return GENOTYPE_VALUES if view.missing else CODE_VALUES


def _fused_transposed(view: BlockView, yt: Any, corr: Any, dtype: np.dtype,
                      mean: Any) -> Any:
    """``_transposed_product`` of a packed block by the fused kernel (whole block)."""
    exact = product_dtype(3, view.shape[0], yt, dtype)
    w = packed_gty(view.value.data, view.shape[1], yt.astype(exact, copy=False),
                   _values(view))
    w = w.astype(dtype, copy=False)
    if view.missing:
        add_packed_missing_gty(w, view.value.data, view.shape[1], mean,
                               yt.astype(dtype, copy=False))
    if corr is not None:
        w -= corr[None, :]
    return w


def _fused_sweep(view: BlockView, plan: _Rows) -> tuple[Any, Any, Any]:
    """``_one_sweep`` of a packed block by the fused kernels: ``Y`` whole, then ``Aᵀ Y``."""
    p, mz = _accumulate_rows(view, plan.zaug[0], plan.dtype, None)
    y, st = plan.finish_y(p, 0, mz)
    yt, corr = plan.w_factors(y, st)
    w = _fused_transposed(view, yt, corr, plan.dtype, None if st is None else st[:, 0])
    return y, w, st


def _one_sweep(view: BlockView, plan: _Rows) -> tuple[Any, Any, Any]:
    """Row block of one column block: Y rows and Aᵀ Y from each slab, cast once."""
    if _fused(view, plan.zaug[0].shape[1], plan.dtype):
        return _fused_sweep(view, plan)
    dtype, bound = plan.dtype, code_bound(view)
    first = product_dtype(bound, view.shape[1], plan.zaug[0], dtype)
    z = plan.zaug[0].astype(first, copy=False)
    y = np.empty((view.shape[0], plan.l), dtype=dtype)
    stats = np.empty((view.shape[0], 2), dtype=dtype) if plan.scaler else None
    wt = np.zeros((plan.l, view.shape[1]), dtype=dtype)
    second = _SlabCasts()
    corr = np.zeros(plan.l, dtype=dtype) if plan.scaler else None
    zd = plan.zaug[0]
    for start, stop, slab in view.slabs(first):
        mz = None
        if view.missing:
            rows, cols = view.missing_in(start, stop)
            mz = _missing_product(rows, cols, zd, stop - start)
        ys, st = plan.finish_y((slab @ z).astype(dtype, copy=False), start, mz)
        y[start:stop] = ys
        yt, c = plan.w_factors(ys, st)
        exact = product_dtype(bound, stop - start, yt, dtype)
        wt += second.matmul(yt.T.astype(exact), second.cast(slab, exact))
        if view.missing:
            _add_missing_t(wt, rows, cols, st[:, 0], yt)
        if st is not None:
            stats[start:stop] = st
            corr += c
    if corr is not None:
        wt -= corr[:, None]
    return y, wt.T, stats


class _SlabCasts:
    """Buffers for a slab cast to a second dtype and for one product per dtype."""

    def __init__(self) -> None:
        self.buffers: dict = {}

    def cast(self, slab: Any, dtype: np.dtype) -> Any:
        if slab.dtype == dtype:
            return slab
        out = self._buffer(("cast", dtype, slab.shape[1]), slab.shape, dtype)
        np.copyto(out, slab)
        return out

    def matmul(self, a: Any, b: Any) -> Any:
        out = self._buffer(("product", b.dtype), (a.shape[0], b.shape[1]), b.dtype)
        return np.matmul(a, b, out=out)

    def _buffer(self, key: tuple, shape: tuple, dtype: np.dtype) -> Any:
        buf = self.buffers.get(key)
        if buf is None or buf.shape[0] < shape[0]:
            buf = self.buffers[key] = np.empty(shape, dtype=dtype)
        return buf[:shape[0]]


def block_y(payload: Any, z: Any, *, dtype: Any, scaler: str | None, with_sums: bool) -> Any:
    """``A_ij [Z_j, 1]`` for one block (the ones column when ``with_sums``), shape (1, m, l)."""
    dtype = np.dtype(dtype)
    z = np.asarray(z, dtype=dtype)
    if with_sums:
        z = np.hstack([z, np.ones((z.shape[0], 1), dtype=dtype)])
    view = open_codes(payload, scaler)
    if view.missing:
        raise ValueError("missing genotype calls are imputed only by single-read passes: "
                         "use smaller row chunks or single_read=True")
    return _accumulate_rows(view, z, dtype, None)[0][None]


def _scaled_rows(m: Any, stats: Any, dtype: np.dtype) -> tuple[Any, Any, Any]:
    """Fold the row scaling into ``m``: (rows divided by scale, mean correction, means)."""
    m = np.asarray(m, dtype=dtype)
    if stats is None:
        return m, None, None
    st = np.asarray(stats, dtype=dtype)
    m = m / st[:, 1:]
    return m, st[:, 0] @ m, st[:, 0]


def block_w(payload: Any, y: Any, stats: Any, *, dtype: Any) -> Any:
    """``Â_ijᵀ Y_i`` for one block, shape (1, n_j, l)."""
    dtype = np.dtype(dtype)
    y, corr, mean = _scaled_rows(y, stats, dtype)
    view = open_codes(payload, None if stats is None else "center")
    return _transposed_product(view, y, corr, dtype, mean)[None]


def block_qt_a(payload: Any, q: Any, stats: Any, *, dtype: Any) -> Any:
    """``Q_iᵀ Â_ij`` for one block, shape (1, l, n_j)."""
    return block_w(payload, q, stats, dtype=dtype).transpose(0, 2, 1)
