"""2-bit packing: four values 0..3 in one byte, along the last axis.

Genotype codes 0/1/2 need two bits, not eight; packing cuts the memory of a
held or persisted genotype block by four::

    packed = pack_2bit(block)                 # (rows, ceil(cols / 4)) uint8
    block2 = unpack_2bit(packed, cols)        # bit-exact copy, uint8

Value ``k`` of each group of four sits in bits ``2k, 2k + 1`` of its byte
(the layout of the bit-twiddling ``compress`` in the "Large SVDs" post);
any width works: the last byte of a row is padded with zeros. The functions
use the array module of their input, so CuPy arrays stay on the device;
NumPy arrays go through compiled loops (``_bits``), one pass over the bytes.
``unpack_2bit_into(packed, out)`` decodes straight into a float buffer.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from lamina.layers.linalg import _bits


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
    rows = x.reshape(math.prod(x.shape[:-1]), width)
    if xp is np:
        out = np.empty((rows.shape[0], packed_width(width)), dtype=np.uint8)
        _bits.pack_rows(np.ascontiguousarray(rows, dtype=np.uint8), out)
    else:
        out = pack_rows_vectorized(xp, rows)
    return out.reshape(x.shape[:-1] + (out.shape[1],))


def pack_rows_vectorized(xp: Any, rows: Any) -> Any:
    """``pack_2bit`` of 2-D ``rows`` in whole-array operations (the CuPy path)."""
    width = rows.shape[1]
    nbytes = packed_width(width)
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
    if xp is np:
        out = np.empty((rows.shape[0], width), dtype=np.uint8)
        _bits.unpack_rows(np.ascontiguousarray(rows), out)
    else:
        out = unpack_rows_vectorized(xp, rows, width)
    return out.reshape(packed.shape[:-1] + (width,))


def unpack_rows_vectorized(xp: Any, rows: Any, width: int) -> Any:
    """``unpack_2bit`` of 2-D ``rows`` in whole-array operations (the CuPy path)."""
    words = rows.astype(np.uint32)
    words |= words << 12
    words |= words << 6
    words &= 0x03030303
    values = xp.ascontiguousarray(words.astype(_word_dtype(), copy=False)).view(np.uint8)
    return xp.ascontiguousarray(values[:, :width])


def _word_dtype() -> Any:
    """A little-endian 32-bit word, so byte ``k`` of a word is value ``k``."""
    return np.uint32 if sys.byteorder == "little" else np.dtype("<u4")


def unpack_2bit_into(packed: Any, out: Any, zero_missing: bool = False) -> Any:
    """Decode 2-D ``packed`` rows into ``out`` (``out.shape[1]`` values a row), any dtype.

    A pass kernel casts its slab to float32/float64 this way in one step;
    ``out`` must be C-contiguous with as many rows as ``packed``. With
    ``zero_missing`` code 3 (a missing genotype call) decodes as 0.
    """
    if array_module(packed) is np and out.flags.c_contiguous:
        if out.dtype in (np.float32, np.float64):
            _bits.unpack_real(np.ascontiguousarray(packed), out, zero_missing)
            return out
        if out.dtype == np.uint8 and not zero_missing:
            _bits.unpack_rows(np.ascontiguousarray(packed), out)
            return out
    codes = unpack_2bit(packed, out.shape[1])
    if zero_missing:
        codes[codes == 3] = 0
    out[...] = codes
    return out


def any_missing(packed: Any) -> bool:
    """Whether 2-D ``packed`` holds a code 3 (a missing call)."""
    xp = array_module(packed)
    if xp is np:
        return _bits.any_missing(np.ascontiguousarray(packed))
    return bool(((packed & (packed >> 1) & 0x55) != 0).any())


def missing_positions(packed: Any, width: int) -> tuple[Any, Any]:
    """``(rows, cols)`` of the entries equal to 3 (missing calls) in 2-D ``packed``."""
    xp = array_module(packed)
    if xp is np:
        return _bits.missing_positions(np.ascontiguousarray(packed), int(width))
    return xp.nonzero(unpack_2bit(packed, width) == 3)
