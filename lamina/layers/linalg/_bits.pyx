# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled 2-bit packing loops for NumPy arrays (see ``packing``).

Four codes 0..3 share one byte, value ``k`` of a group in bits ``2k, 2k+1``.
The NumPy formulation of these loops makes several full-size temporaries
per call; here one pass over the bytes does the work, and unpacking can
write floats directly, so a pass kernel's slab goes from 2-bit codes to
its compute dtype without a uint8 copy in between.
"""

from libc.stdint cimport uint8_t, uint32_t
from libc.string cimport memcpy

ctypedef fused real:
    float
    double

cdef uint32_t _BYTES[256]
cdef float _FLOATS[256][4]
cdef double _DOUBLES[256][4]


cdef void _fill_tables():
    cdef int b, k
    cdef uint8_t values[4]
    for b in range(256):
        for k in range(4):
            values[k] = (b >> (2 * k)) & 3
            _FLOATS[b][k] = values[k]
            _DOUBLES[b][k] = values[k]
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


def unpack_real(const uint8_t[:, ::1] packed, real[:, ::1] out) -> None:
    """Unpack codes straight into floats (float32 or float64) of ``out``."""
    cdef Py_ssize_t nrows = out.shape[0], width = out.shape[1]
    cdef Py_ssize_t full = width // 4, i, j, k
    with nogil:
        for i in range(nrows):
            for j in range(full):
                if real is float:
                    memcpy(&out[i, 4 * j], &_FLOATS[packed[i, j]][0], 4 * sizeof(float))
                else:
                    memcpy(&out[i, 4 * j], &_DOUBLES[packed[i, j]][0], 4 * sizeof(double))
            if full * 4 < width:
                for k in range(width - full * 4):
                    out[i, full * 4 + k] = (packed[i, full] >> (2 * k)) & 3
