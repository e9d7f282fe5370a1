# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled 2-bit packing loops for NumPy arrays (see ``packing``).

Four codes 0..3 share one byte, value ``k`` of a group in bits ``2k, 2k+1``.
The NumPy formulation of these loops makes several full-size temporaries
per call; here one pass over the bytes does the work, and unpacking can
write floats directly, so a pass kernel's slab goes from 2-bit codes to
its compute dtype without a uint8 copy in between.

Genotype blocks read from PLINK or VCF files use code 3 for a missing call;
``unpack_real(..., zero_missing=True)`` decodes it as 0 (the products add
the mean imputation back, see ``products``) and ``missing_positions``
lists where those calls are.
"""

from libc.stdint cimport uint8_t, uint32_t
from libc.string cimport memcpy

ctypedef fused real:
    float
    double

cdef uint32_t _BYTES[256]
cdef float _FLOATS[256][4]
cdef double _DOUBLES[256][4]
cdef float _FLOATS_Z[256][4]
cdef double _DOUBLES_Z[256][4]


cdef void _fill_tables():
    cdef int b, k
    cdef uint8_t values[4]
    for b in range(256):
        for k in range(4):
            values[k] = (b >> (2 * k)) & 3
            _FLOATS[b][k] = values[k]
            _DOUBLES[b][k] = values[k]
            _FLOATS_Z[b][k] = 0 if values[k] == 3 else values[k]
            _DOUBLES_Z[b][k] = 0 if values[k] == 3 else values[k]
        memcpy(&_BYTES[b], values, 4)


_fill_tables()


def pack_rows(const uint8_t[:, ::1] src, uint8_t[:, ::1] out) -> None:
    """Pack each row of ``src`` (values 0..3, checked by the caller) into ``out``."""
    cdef Py_ssize_t nrows = src.shape[0], width = src.shape[1]
    cdef Py_ssize_t full = width // 4, i, j, k, base
    cdef uint8_t v, byte
    with nogil:
        for i in range(nrows):
            for j in range(full):
                base = 4 * j
                out[i, j] = (src[i, base] | (src[i, base + 1] << 2)
                             | (src[i, base + 2] << 4) | (src[i, base + 3] << 6))
            if full * 4 < width:
                byte = 0
                for k in range(width - full * 4):
                    v = src[i, full * 4 + k]
                    byte |= v << (2 * k)
                out[i, full] = byte


def unpack_rows(const uint8_t[:, ::1] packed, uint8_t[:, ::1] out) -> None:
    """Unpack ``out.shape[1]`` codes per row of ``packed`` into ``out``."""
    cdef Py_ssize_t nrows = out.shape[0], width = out.shape[1]
    cdef Py_ssize_t full = width // 4, i, j, k
    cdef uint32_t word
    with nogil:
        for i in range(nrows):
            for j in range(full):
                memcpy(&out[i, 4 * j], &_BYTES[packed[i, j]], 4)
            if full * 4 < width:
                word = _BYTES[packed[i, full]]
                for k in range(width - full * 4):
                    out[i, full * 4 + k] = (<uint8_t *> &word)[k]


def unpack_real(const uint8_t[:, ::1] packed, real[:, ::1] out,
                bint zero_missing=False) -> None:
    """Unpack codes straight into floats (float32 or float64) of ``out``.

    With ``zero_missing`` code 3 (a missing call) becomes 0.
    """
    cdef Py_ssize_t nrows = out.shape[0], width = out.shape[1]
    cdef Py_ssize_t full = width // 4, i, j, k
    cdef uint8_t code
    with nogil:
        for i in range(nrows):
            for j in range(full):
                if real is float:
                    if zero_missing:
                        memcpy(&out[i, 4 * j], &_FLOATS_Z[packed[i, j]][0], 4 * sizeof(float))
                    else:
                        memcpy(&out[i, 4 * j], &_FLOATS[packed[i, j]][0], 4 * sizeof(float))
                else:
                    if zero_missing:
                        memcpy(&out[i, 4 * j], &_DOUBLES_Z[packed[i, j]][0], 4 * sizeof(double))
                    else:
                        memcpy(&out[i, 4 * j], &_DOUBLES[packed[i, j]][0], 4 * sizeof(double))
            if full * 4 < width:
                for k in range(width - full * 4):
                    code = (packed[i, full] >> (2 * k)) & 3
                    out[i, full * 4 + k] = 0 if (zero_missing and code == 3) else code


cdef extern from "_codes.h" nogil:
    unsigned long long codes_missing_word(const uint8_t *p)
    unsigned codes_missing_byte(uint8_t b)
    int codes_popcount(unsigned long long x)


cdef Py_ssize_t _count_missing(const uint8_t[:, ::1] packed) noexcept nogil:
    """Code-3 entries of ``packed``, eight bytes at a time."""
    cdef Py_ssize_t nrows = packed.shape[0], nbytes = packed.shape[1], i, j, n = 0
    for i in range(nrows):
        j = 0
        while j + 8 <= nbytes:
            n += codes_popcount(codes_missing_word(&packed[i, j]))
            j += 8
        while j < nbytes:
            n += codes_popcount(codes_missing_byte(packed[i, j]))
            j += 1
    return n


def missing_positions(const uint8_t[:, ::1] packed, Py_ssize_t width):
    """``(rows, cols)`` int64 arrays of the code-3 entries, row by row.

    Eight bytes with no missing call (the common case) cost one test; a
    block with none is scanned once.
    """
    import numpy as np
    cdef Py_ssize_t nrows = packed.shape[0], nbytes = packed.shape[1], i, j, k, n, col
    cdef uint8_t hits
    with nogil:
        n = _count_missing(packed)
    rows_arr = np.empty(n, dtype=np.int64)
    cols_arr = np.empty(n, dtype=np.int64)
    if n == 0:
        return rows_arr, cols_arr
    cdef long long[::1] rows = rows_arr
    cdef long long[::1] cols = cols_arr
    n = 0
    with nogil:
        for i in range(nrows):
            j = 0
            while j < nbytes:
                if j + 8 <= nbytes and codes_missing_word(&packed[i, j]) == 0:
                    j += 8
                    continue
                hits = codes_missing_byte(packed[i, j])
                for k in range(4):
                    col = 4 * j + k
                    if (hits >> (2 * k)) & 1 and col < width:
                        rows[n] = i
                        cols[n] = col
                        n += 1
                j += 1
    return rows_arr[:n], cols_arr[:n]


def any_missing(const uint8_t[:, ::1] packed) -> bool:
    """Whether ``packed`` holds a code-3 entry (a missing call), eight bytes at a time."""
    cdef bint found
    with nogil:
        found = _count_missing(packed) > 0
    return found


def remap_bytes(const uint8_t[:, ::1] src, const uint8_t[::1] table,
                uint8_t[:, ::1] out) -> bool:
    """``out = table[src]`` byte by byte (recoding four 2-bit codes at once).

    Returns whether ``out`` holds a code 3 (a missing call), found on the way.
    """
    cdef Py_ssize_t nrows = src.shape[0], width = src.shape[1], i, j
    cdef uint8_t code, seen = 0
    with nogil:
        for i in range(nrows):
            for j in range(width):
                code = table[src[i, j]]
                out[i, j] = code
                seen |= code & (code >> 1)
    return (seen & 0x55) != 0
