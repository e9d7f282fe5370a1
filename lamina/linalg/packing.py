"""2-bit packing: four values 0..3 in one byte, along the last axis.

Genotype codes 0/1/2 need two bits, not eight; packing cuts the memory of a
held or persisted genotype block by four::

    packed = pack_2bit(block)                 # (rows, ceil(cols / 4)) uint8
    block2 = unpack_2bit(packed, cols)        # bit-exact copy, uint8

Value ``k`` of each group of four sits in bits ``2k, 2k + 1`` of its byte
(the layout of the bit-twiddling ``compress`` in the "Large SVDs" post);
any width works: the last byte of a row is padded with zeros. The functions
use the array module of their input, so CuPy arrays stay on the device.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

SLAB_VALUES = 2**20


def array_module(x: Any) -> Any:
    """NumPy, or CuPy for a CuPy array."""
    if type(x).__module__.split(".")[0] == "cupy":
        import cupy

        return cupy
    return np


def packed_width(width: int) -> int:
    """Bytes per row that hold ``width`` 2-bit values."""
    return -(-int(width) // 4)


def pack_2bit(x: Any, check: bool = True) -> Any:
    """Pack integers 0..3 along the last axis, four per byte.

    Raises ``ValueError`` for values outside 0..3 (with ``check=True``): they
    do not fit in two bits, and a silent wrap would corrupt the data.
    """
    xp = array_module(x)
    x = xp.asarray(x)
    if x.ndim == 0:
        raise ValueError("pack_2bit needs an array with at least one dimension")
    if x.dtype.kind not in "biu":
        raise TypeError(f"pack_2bit packs integer codes, got dtype {x.dtype}: cast to uint8 first")
    if check and x.size:
        lo, hi = int(x.min()), int(x.max())
        if lo < 0 or hi > 3:
            raise ValueError(
                f"pack_2bit stores values 0..3, found values in [{lo}, {hi}]: "
                "filter or recode them first"
            )
    width = x.shape[-1]
    nbytes = packed_width(width)
    rows = x.reshape(math.prod(x.shape[:-1]), width)
    out = xp.empty((rows.shape[0], nbytes), dtype=np.uint8)
    for start, stop in _slabs(xp, rows.shape[0], width):
        out[start:stop] = _pack_rows(xp, rows[start:stop], width, nbytes)
    return out.reshape(x.shape[:-1] + (nbytes,))


def _pack_rows(xp: Any, rows: Any, width: int, nbytes: int) -> Any:
    if width % 4 == 0 and rows.dtype.itemsize == 1 and rows.flags.c_contiguous:
        padded = rows.view(np.uint8)
    else:
        padded = xp.zeros((rows.shape[0], nbytes * 4), dtype=np.uint8)
        padded[:, :width] = rows
    words = padded.view(_word_dtype()).astype(np.uint32, copy=False)
    # bytes b0..b3 of a word: b1 joins b0 at bits 2-3, b3 joins b2 at bits 18-19,
    # then the b2|b3 nibble moves down to bits 4-7
    pairs = words | (words >> 6)
    pairs |= pairs >> 12
    return pairs.astype(np.uint8)


def unpack_2bit(packed: Any, width: int) -> Any:
    """Inverse of ``pack_2bit``: ``width`` uint8 values per row, 0..3."""
    xp = array_module(packed)
    packed = xp.asarray(packed)
    if packed.dtype != np.uint8:
        raise TypeError(f"unpack_2bit reads uint8 bytes, got dtype {packed.dtype}")
    if packed.ndim == 0:
        raise ValueError("unpack_2bit needs an array with at least one dimension")
    if packed.shape[-1] != packed_width(width):
        raise ValueError(
            f"{packed.shape[-1]} bytes per row hold {4 * packed.shape[-1] - 3} to "
            f"{4 * packed.shape[-1]} values, not width {width}: pass the width the data was "
            "packed with"
        )
    rows = packed.reshape(math.prod(packed.shape[:-1]), packed.shape[-1])
    out = xp.empty((rows.shape[0], width), dtype=np.uint8)
    for start, stop in _slabs(xp, rows.shape[0], width):
        words = rows[start:stop].astype(np.uint32)
        words |= words << 12
        words |= words << 6
        words &= 0x03030303
        values = xp.ascontiguousarray(words.astype(_word_dtype(), copy=False)).view(np.uint8)
        out[start:stop] = values[:, :width]
    return out.reshape(packed.shape[:-1] + (width,))


def _slabs(xp: Any, nrows: int, width: int) -> list[tuple[int, int]]:
    """Row ranges of about ``SLAB_VALUES`` values (one range on a GPU)."""
    step = nrows if xp is not np else max(1, SLAB_VALUES // max(width, 1))
    return [(s, min(s + step, nrows)) for s in range(0, max(nrows, 1), max(step, 1))]


def _word_dtype() -> Any:
    """A little-endian 32-bit word, so byte ``k`` of a word is value ``k``."""
    return np.uint32 if sys.byteorder == "little" else np.dtype("<u4")
