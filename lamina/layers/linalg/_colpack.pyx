# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled 2-bit packing along the columns of a block (see ``colpacked``).

``out[j, g]`` holds ``block[4g + k, j]`` in bits ``2k, 2k + 1``: the
row-major 2-bit layout of the block's transpose, so ``Aᵀ Y`` can run on the
fast ``G Z`` kernel. The block is taken in tiles of 256 rows x 64 columns,
a band of 256 rows at a time (its pages stay mapped while the band is
read left to right): each tile's bytes are first packed along the rows in
a small buffer (four contiguous row segments combined, a loop the compiler
vectorizes), then the 64 x 64 buffer is transposed into ``out`` eight by
eight bytes, so every input and output cache line is touched once.
"""

from libc.stdint cimport uint8_t, uint64_t
from libc.string cimport memcpy

DEF TILE = 64


cdef inline uint8_t _pack_tile(const uint8_t *block, Py_ssize_t stride, Py_ssize_t groups,
                               Py_ssize_t width, uint8_t *buf) noexcept nogil:
    """``buf[g * TILE + j]`` = the four rows of group ``g`` at column ``j``; the OR of all."""
    cdef Py_ssize_t g, j
    cdef const uint8_t *r0
    cdef const uint8_t *r1
    cdef const uint8_t *r2
    cdef const uint8_t *r3
    cdef uint8_t *row
    cdef uint8_t seen = 0
    for g in range(groups):
        r0 = block + 4 * g * stride
        r1 = r0 + stride
        r2 = r1 + stride
        r3 = r2 + stride
        row = buf + g * TILE
        for j in range(width):
            seen |= r0[j] | r1[j] | r2[j] | r3[j]
            row[j] = r0[j] | (r1[j] << 2) | (r2[j] << 4) | (r3[j] << 6)
    return seen


cdef inline void _transpose_tile(const uint8_t *buf, uint8_t *out,
                                 Py_ssize_t stride) noexcept nogil:
    """``out[j * stride + g] = buf[g * TILE + j]`` for a full tile, eight by eight bytes.

    Each 8 x 8 block is read as eight words and transposed by three rounds of
    swapping its off-diagonal halves (4 x 4, then 2 x 2, then single bytes).
    """
    cdef Py_ssize_t gb, jb, i, k
    cdef uint64_t x[8]
    cdef uint64_t t
    for gb in range(0, TILE, 8):
        for jb in range(0, TILE, 8):
            for i in range(8):
                memcpy(&x[i], buf + (gb + i) * TILE + jb, 8)
            for i in range(4):
                t = ((x[i] >> 32) ^ x[i + 4]) & 0x00000000FFFFFFFFULL
                x[i] ^= t << 32
                x[i + 4] ^= t
            for k in range(4):
                i = (k & 1) + 4 * (k >> 1)
                t = ((x[i] >> 16) ^ x[i + 2]) & 0x0000FFFF0000FFFFULL
                x[i] ^= t << 16
                x[i + 2] ^= t
            for k in range(4):
                i = 2 * k
                t = ((x[i] >> 8) ^ x[i + 1]) & 0x00FF00FF00FF00FFULL
                x[i] ^= t << 8
                x[i + 1] ^= t
            for i in range(8):
                memcpy(out + (jb + i) * stride + gb, &x[i], 8)


def pack_columns(const uint8_t[:, ::1] block, uint8_t[:, ::1] out) -> bool:
    """Pack ``block`` (m x n) along its columns into ``out`` (n x ceil(m / 4)).

    Returns whether every value was in 0..3 (``out`` is then exact).
    """
    cdef Py_ssize_t m = block.shape[0], n = block.shape[1]
    if out.shape[0] != n or out.shape[1] != (m + 3) // 4:
        raise ValueError(f"out must be {n} x {(m + 3) // 4} for a {m} x {n} block, "
                         f"got {out.shape[0]} x {out.shape[1]}")
    cdef Py_ssize_t full = m // 4, j0, width, g0, groups, j, g, k
    cdef uint8_t seen = 0, v, b
    cdef uint8_t buf[TILE * TILE]
    cdef uint8_t *row
    if m == 0 or n == 0:
        return True
    with nogil:
        for g0 in range(0, full, TILE):
            groups = min(TILE, full - g0)
            for j0 in range(0, n, TILE):
                width = min(TILE, n - j0)
                seen |= _pack_tile(&block[4 * g0, j0], n, groups, width, buf)
                if width == TILE and groups == TILE:
                    _transpose_tile(buf, &out[j0, g0], out.shape[1])
                else:
                    for j in range(width):
                        row = &out[j0 + j, g0]
                        for g in range(groups):
                            row[g] = buf[g * TILE + j]
        if full * 4 < m:
            for j in range(n):
                b = 0
                for k in range(m - full * 4):
                    v = block[full * 4 + k, j]
                    seen |= v
                    b |= v << (2 * k)
                out[j, full] = b
    return seen <= 3
