# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled products of 2-bit packed codes with thin dense matrices (see ``fused``).

The loops are in ``_lut.h``: per-byte tables of partial products, built
from four rows of ``Z`` for ``G Z`` and from four rows of ``Y`` for ``Gᵀ Y``,
so the codes are never unpacked to floats. These wrappers check shapes, allocate the tables and release
the GIL.
"""

from libc.stdint cimport uint8_t
from libc.stdlib cimport free, malloc

cdef extern from "_lut.h" nogil:
    void lut_gz_f(const uint8_t *packed, Py_ssize_t m, Py_ssize_t nbytes, const float *z,
                  Py_ssize_t lp, const float *values, float *out, float *tables,
                  Py_ssize_t tile, Py_ssize_t chunk)
    void lut_gz_d(const uint8_t *packed, Py_ssize_t m, Py_ssize_t nbytes, const double *z,
                  Py_ssize_t lp, const double *values, double *out, double *tables,
                  Py_ssize_t tile, Py_ssize_t chunk)
    void lut_gty_f(const uint8_t *packed, Py_ssize_t m, Py_ssize_t nbytes, const float *y,
                   Py_ssize_t lp, const float *values, float *out, float *tables,
                   float *pad, Py_ssize_t groups)
    void lut_gty_d(const uint8_t *packed, Py_ssize_t m, Py_ssize_t nbytes, const double *y,
                   Py_ssize_t lp, const double *values, double *out, double *tables,
                   double *pad, Py_ssize_t groups)
    Py_ssize_t LUT_MAX_GROUPS

cdef extern from "_codes.h" nogil:
    Py_ssize_t codes_row_missing(const uint8_t *row, Py_ssize_t nbytes, Py_ssize_t width,
                                 Py_ssize_t *cols)

ctypedef fused real:
    float
    double


cdef int _check(str name, bint shapes_match, str shapes, Py_ssize_t lp, Py_ssize_t per,
                Py_ssize_t tile, Py_ssize_t chunk, str tile_name="tile") except -1:
    if not shapes_match:
        raise ValueError(f"{name}: shapes do not match: {shapes}")
    if chunk <= 0:
        raise ValueError(f"chunk must be positive, got {chunk}")
    if lp % per or lp <= 0:
        raise ValueError(f"the dense operand needs a positive multiple of {per} columns "
                         f"(one 16-byte vector), got {lp}")
    if tile <= 0:
        raise ValueError(f"{tile_name} must be positive, got {tile}")


def gz(const uint8_t[:, ::1] packed, const real[:, ::1] z, real[:, ::1] out,
       const real[::1] values, Py_ssize_t tile, Py_ssize_t chunk) -> None:
    """``out += G z``: ``packed`` m x nbytes, ``z`` 4 nbytes x lp, ``out`` m x lp."""
    cdef Py_ssize_t m = packed.shape[0], nbytes = packed.shape[1], lp = z.shape[1]
    _check("gz", z.shape[0] == 4 * nbytes and out.shape[0] == m and out.shape[1] == lp
           and values.shape[0] == 4, f"packed {m} x {nbytes}, z {z.shape[0]} x {lp}, out "
           f"{out.shape[0]} x {out.shape[1]}", lp, 16 // sizeof(real), tile, chunk)
    if m == 0 or nbytes == 0:
        return
    tile = min(tile, nbytes)
    cdef real *tables = <real *> malloc(tile * 256 * lp * sizeof(real))
    if tables == NULL:
        raise MemoryError()
    with nogil:
        if real is float:
            lut_gz_f(&packed[0, 0], m, nbytes, &z[0, 0], lp, &values[0], &out[0, 0], tables,
                     tile, chunk)
        else:
            lut_gz_d(&packed[0, 0], m, nbytes, &z[0, 0], lp, &values[0], &out[0, 0], tables,
                     tile, chunk)
    free(tables)


def gty(const uint8_t[:, ::1] packed, const real[:, ::1] y, real[:, ::1] out,
        const real[::1] values, Py_ssize_t groups) -> None:
    """``out += Gᵀ y``: ``packed`` m x nbytes, ``y`` m x lp, ``out`` 4 nbytes x lp.

    ``groups`` groups of four rows (at most ``LUT_MAX_GROUPS``) share the cache.
    """
    cdef Py_ssize_t m = packed.shape[0], nbytes = packed.shape[1], lp = y.shape[1]
    _check("gty", y.shape[0] == m and out.shape[0] == 4 * nbytes and out.shape[1] == lp
           and values.shape[0] == 4, f"packed {m} x {nbytes}, y {y.shape[0]} x {lp}, out "
           f"{out.shape[0]} x {out.shape[1]}", lp, 16 // sizeof(real), groups, 1, "groups")
    if m == 0 or nbytes == 0:
        return
    groups = min(groups, LUT_MAX_GROUPS, (m + 3) // 4)
    cdef real *tables = <real *> malloc(groups * 256 * lp * sizeof(real))
    cdef real *pad = <real *> malloc(4 * lp * sizeof(real))
    if tables == NULL or pad == NULL:
        free(tables)
        free(pad)
        raise MemoryError()
    with nogil:
        if real is float:
            lut_gty_f(&packed[0, 0], m, nbytes, &y[0, 0], lp, &values[0], &out[0, 0], tables,
                      pad, groups)
        else:
            lut_gty_d(&packed[0, 0], m, nbytes, &y[0, 0], lp, &values[0], &out[0, 0], tables,
                      pad, groups)
    free(tables)
    free(pad)


def scatter_rows(const long long[::1] rows, const long long[::1] cols, const real[:, :] z,
                 real[:, :] out) -> None:
    """``out[rows[t]] += z[cols[t]]`` for every t: ``M Z`` over a list of missing calls."""
    cdef Py_ssize_t t, c, width = z.shape[1]
    if rows.shape[0] != cols.shape[0] or out.shape[1] != width:
        raise ValueError("scatter_rows: rows and cols differ in length or z and out in width")
    with nogil:
        for t in range(rows.shape[0]):
            for c in range(width):
                out[rows[t], c] += z[cols[t], c]


def scatter_scaled(const long long[::1] rows, const long long[::1] cols,
                   const real[::1] scale, const real[:, :] y, real[:, :] out) -> None:
    """``out[cols[t]] += scale[rows[t]] y[rows[t]]`` for every t: ``Mᵀ (μ ∘ Y)``."""
    cdef Py_ssize_t t, c, width = y.shape[1]
    cdef real s
    if rows.shape[0] != cols.shape[0] or out.shape[1] != width:
        raise ValueError("scatter_scaled: rows and cols differ in length or y and out in width")
    with nogil:
        for t in range(rows.shape[0]):
            s = scale[rows[t]]
            for c in range(width):
                out[cols[t], c] += s * y[rows[t], c]


cdef Py_ssize_t *_column_buffer(Py_ssize_t nbytes) except NULL:
    cdef Py_ssize_t *cols = <Py_ssize_t *> malloc(max(4 * nbytes, 1) * sizeof(Py_ssize_t))
    if cols == NULL:
        raise MemoryError()
    return cols


def missing_sums(const uint8_t[:, ::1] packed, Py_ssize_t width, const real[::1] scale,
                 const real[:, ::1] x, real[:, ::1] out, bint transposed) -> None:
    """Sums over the code-3 calls (missing) ``(i, col)`` of ``packed``, read straight
    from the bytes eight at a time (``codes_row_missing``), with no list of positions:

    * ``transposed`` false: ``out[i] += x[col]``, that is ``out += M x``
      (``out`` m x l, ``x`` width x l; ``scale`` unused);
    * ``transposed``: ``out[col] += scale[i] x[i]``, that is ``out += Mᵀ (scale ∘ x)``
      (``out`` width x l, ``x`` m x l).
    """
    cdef Py_ssize_t m = packed.shape[0], nbytes = packed.shape[1], l = x.shape[1]
    cdef Py_ssize_t i, t, c, n
    cdef real s = 1
    cdef const real *src
    cdef real *dst
    cdef bint shapes = (x.shape[0] == m and out.shape[0] == width and scale.shape[0] == m
                        if transposed else x.shape[0] == width and out.shape[0] == m)
    if not shapes or out.shape[1] != l or 4 * nbytes < width:
        raise ValueError(f"missing_sums: shapes do not match: packed {m} x {nbytes} for "
                         f"{width} codes, scale {scale.shape[0]}, x {x.shape[0]} x {l}, out "
                         f"{out.shape[0]} x {out.shape[1]}")
    if m == 0 or nbytes == 0 or l == 0:
        return
    cdef Py_ssize_t *cols = _column_buffer(nbytes)
    with nogil:
        for i in range(m):
            n = codes_row_missing(&packed[i, 0], nbytes, width, cols)
            if transposed:
                src = &x[i, 0]
                s = scale[i]
                for t in range(n):
                    dst = &out[cols[t], 0]
                    for c in range(l):
                        dst[c] += s * src[c]
            else:
                dst = &out[i, 0]
                for t in range(n):
                    src = &x[cols[t], 0]
                    for c in range(l):
                        dst[c] += src[c]
    free(cols)
