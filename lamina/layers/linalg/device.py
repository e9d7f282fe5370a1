"""The row pass on the device that holds the blocks (CuPy), written once for any array module.

When a block of the input is a CuPy array (or a ``Packed2Bit`` whose bytes
are), ``RowPass`` runs ``row_pass`` here instead of the host kernels of
``products``: the block is decoded whole on the device (a 2-bit block by
``decode_2bit``, one CuPy elementwise kernel over the packed bytes),
missing calls are imputed densely with their variant's mean, and the two
products go to the device BLAS. A GPU has the memory bandwidth and the
FLOPs to make the dense form the fast one; the host kernels' slab-by-slab
sparse corrections exist to keep a CPU's caches warm.

Everything is written against ``xp`` (the module of the block), so NumPy
runs the same code: the tests compare it with the host kernels that way.
Untested on a GPU so far (see docs/genotypes.md).
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import numpy as np

from lamina.layers.linalg.packing import array_module, unpack_rows_vectorized
from lamina.layers.linalg.payload import BlockRef, Packed2Bit
from lamina.layers.linalg.scaling import row_stats

DECODE_2BIT = """
const long long r = i / cols, c = i % cols;
const unsigned char code = (packed[r * nbytes + c / 4] >> (2 * (c % 4))) & 3;
out = (code == 3 && missing_value != 3) ? (T)missing_value : (T)code;
"""
"""Entry ``i`` of the decoded block: code ``c % 4`` of byte ``c / 4`` of row ``r``."""


def asarray(x: Any, dtype: Any) -> Any:
    """``x`` as ``dtype`` in its own array module (``np.asarray`` would copy a CuPy array
    to the host, or refuse to)."""
    xp = array_module(x)
    return xp.asarray(x, dtype=dtype)


def payload_module(payload: Any) -> Any:
    """The array module of a pass payload's data (NumPy for a ref to a file)."""
    if isinstance(payload, BlockRef):
        return np
    return array_module(payload.data if isinstance(payload, Packed2Bit) else payload)


def on_device(payload: Any) -> bool:
    """Whether a payload's data lives outside host memory (a CuPy array)."""
    return payload_module(payload) is not np


@functools.lru_cache(maxsize=None)
def _decode_kernel(xp: Any) -> Any:
    return xp.ElementwiseKernel("raw uint8 packed, int64 cols, int64 nbytes, "
                                "int32 missing_value", "T out", DECODE_2BIT,
                                "lamina_decode_2bit")


def decode_2bit(xp: Any, packed: Packed2Bit, dtype: Any, missing_value: float) -> Any:
    """The block of ``packed`` as ``dtype``, missing calls (code 3) as ``missing_value``.

    ``missing_value`` is 3 to keep the code, else an integer (0 or -1).
    """
    rows, cols = packed.shape
    if xp is np:
        codes = unpack_rows_vectorized(np, packed.data, cols).astype(dtype)
        if packed.missing and missing_value != 3:
            codes[codes == 3] = missing_value
        return codes
    out = xp.empty((rows, cols), dtype=dtype)
    if out.size:
        missing = int(missing_value) if packed.missing else 3
        _decode_kernel(xp)(xp.ascontiguousarray(packed.data), cols, packed.data.shape[1],
                           missing, out)
    return out


def decode(xp: Any, payload: Any, dtype: Any, scaler: str | None) -> Any:
    """A payload decoded to ``dtype`` on ``xp``; with a scaler, missing calls as NaN."""
    if isinstance(payload, BlockRef):
        payload = payload.load()
    if isinstance(payload, Packed2Bit):
        missing = -1 if scaler is not None else 0
        block = decode_2bit(xp, payload, dtype, missing)
    else:
        block = xp.asarray(payload).astype(dtype)
    if scaler is not None:
        block[block < 0] = np.nan
        if bool((block > 2).any()):
            raise ValueError("genotype codes must be 0, 1 or 2 (negative for missing) for a "
                             f"scaled product, found {float(block[block > 2][0])}")
    return block


def row_pass(payloads: Sequence[Any], zs: Sequence[Any], stats: Any, *, dtype: Any,
             scaler: str | None, want_y: bool, want_w: bool, pack: bool = False) -> tuple:
    """``products.row_pass`` for blocks on a device (see the module docs): ``(Y_i, W_i, stats_i)``.

    ``Â_i`` is formed densely: each missing call replaced by its variant's
    mean, rows centred and scaled as the host kernels do.
    """
    xp = payload_module(payloads[0])
    dtype = np.dtype(dtype)
    g = xp.concatenate([decode(xp, p, dtype, scaler) for p in payloads], axis=1)
    z = xp.concatenate([xp.asarray(x).astype(dtype) for x in zs], axis=0)
    st = None
    if scaler is not None:
        called = ~xp.isnan(g)
        if stats is None:
            st = row_stats(xp.where(called, g, 0).sum(axis=1), called.sum(axis=1), scaler,
                           dtype)
        else:
            st = xp.asarray(stats).astype(dtype)
        g = xp.where(called, g, st[:, :1])
        g -= st[:, :1]
        g /= st[:, 1:]
    y = g @ z
    w = g.T @ y if want_w else None
    return (y if want_y else None), w, st
