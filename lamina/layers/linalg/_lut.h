/* Products of a 2-bit packed matrix with a thin dense one, by byte tables.
 *
 * G is m x n codes 0..3, four per byte (value k of a byte in bits 2k, 2k+1),
 * each row `nbytes` bytes; `values[code]` is the number a code stands for
 * (0, 1, 2 and 0 for a missing call; PLINK's own byte order works as well).
 * Z, Y and the results are row-major with `lp` columns, a multiple of one
 * 16-byte vector (2 doubles or 4 floats).
 *
 *   gz:  out (m x lp) += G Z.  For each byte column j a table
 *        T_j[b] = sum_k values[code_k(b)] Z[4j + k] (256 x lp) turns four
 *        multiply-adds per column of Z into one add of a table row.
 *   gty: out (4 nbytes x lp) += G^T Y.  Rows of Y are summed into 256
 *        buckets per byte column by the value of their byte; the buckets
 *        then give the four output rows (marginal sums over the other three
 *        codes), so each byte of G costs one add per column of Y.
 *
 * Every product a dense one has is computed (0 * inf is NaN here too).
 * Rows are taken `chunk` at a time (their bytes stay in cache while every
 * tile reads them; the tables are rebuilt, the buckets emptied per chunk),
 * byte columns `tile` at a time so that their tables stay in the L2 cache; a row's sums for up to CHUNK vectors of columns stay in
 * registers across the tile. Z must have 4 nbytes rows (zero past n).
 * The vectors are GCC/Clang vector extensions of 16 bytes, the SSE2 width
 * every x86-64 has (wider ones would be spilled to memory without AVX).
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define LUT_CHUNK 12

typedef double lut_vd __attribute__((vector_size(16), aligned(8)));
typedef float lut_vf __attribute__((vector_size(16), aligned(4)));

/* call F(..., nv) with nv a constant 1..LUT_CHUNK, so that the loops over */
/* the nv vectors unroll and their sums stay in registers                  */
#define LUT_DISPATCH(nv, F, ...)                                                     \
    switch (nv) {                                                                    \
    case 1: F(__VA_ARGS__, 1); break;                                                \
    case 2: F(__VA_ARGS__, 2); break;                                                \
    case 3: F(__VA_ARGS__, 3); break;                                                \
    case 4: F(__VA_ARGS__, 4); break;                                                \
    case 5: F(__VA_ARGS__, 5); break;                                                \
    case 6: F(__VA_ARGS__, 6); break;                                                \
    case 7: F(__VA_ARGS__, 7); break;                                                \
    case 8: F(__VA_ARGS__, 8); break;                                                \
    case 9: F(__VA_ARGS__, 9); break;                                                \
    case 10: F(__VA_ARGS__, 10); break;                                              \
    case 11: F(__VA_ARGS__, 11); break;                                              \
    default: F(__VA_ARGS__, 12);                                                     \
    }

/* F over the columns of one tile, LUT_CHUNK vectors of `per` values at a time */
#define LUT_OVER_COLUMNS(per, lp, F, ...)                                            \
    for (c0 = 0; c0 < lp; c0 += LUT_CHUNK * per) {                                   \
        ptrdiff_t nv = (lp - c0) / per;                                              \
        LUT_DISPATCH(nv < LUT_CHUNK ? nv : LUT_CHUNK, F, __VA_ARGS__)                \
    }

#define LUT_DEFINE(T, V, SUFFIX)                                                     \
                                                                                     \
static void lut_gz_part_##SUFFIX(const uint8_t *, ptrdiff_t, ptrdiff_t, const T *,  \
                                 ptrdiff_t, const T[4], T *, T *, ptrdiff_t);        \
static void lut_gty_part_##SUFFIX(const uint8_t *, ptrdiff_t, ptrdiff_t, const T *, \
                                  ptrdiff_t, const T[4], T *, T *, T *, ptrdiff_t);  \
                                                                                     \
static inline __attribute__((always_inline)) void                                   \
lut_gz_rows_##SUFFIX(const uint8_t *packed, ptrdiff_t m, ptrdiff_t nbytes,          \
                     ptrdiff_t jn, const T *tables, ptrdiff_t lp, ptrdiff_t c0,     \
                     T *out, const int nv) {                                         \
    ptrdiff_t i, jj, v;                                                              \
    const ptrdiff_t stride = 256 * lp;                                               \
    for (i = 0; i < m; i++) {                                                        \
        const uint8_t *row = packed + i * nbytes;                                    \
        V *dst = (V *)(out + i * lp + c0);                                           \
        V acc[LUT_CHUNK];                                                            \
        for (v = 0; v < nv; v++) acc[v] = dst[v];                                    \
        for (jj = 0; jj < jn; jj++) {                                                \
            const V *t = (const V *)(tables + jj * stride + (ptrdiff_t)row[jj] * lp  \
                                     + c0);                                          \
            for (v = 0; v < nv; v++) acc[v] += t[v];                                 \
        }                                                                            \
        for (v = 0; v < nv; v++) dst[v] = acc[v];                                    \
    }                                                                                \
}                                                                                    \
                                                                                     \
static inline __attribute__((always_inline)) void                                   \
lut_gty_rows_##SUFFIX(const uint8_t *packed, ptrdiff_t m, ptrdiff_t nbytes,         \
                      ptrdiff_t jn, T *buckets, const T *y, ptrdiff_t lp,           \
                      ptrdiff_t c0, const int nv) {                                  \
    ptrdiff_t i, jj, v;                                                              \
    const ptrdiff_t stride = 256 * lp;                                               \
    for (i = 0; i < m; i++) {                                                        \
        const uint8_t *row = packed + i * nbytes;                                    \
        const V *yi = (const V *)(y + i * lp + c0);                                  \
        V val[LUT_CHUNK];                                                            \
        for (v = 0; v < nv; v++) val[v] = yi[v];                                     \
        for (jj = 0; jj < jn; jj++) {                                                \
            V *s = (V *)(buckets + jj * stride + (ptrdiff_t)row[jj] * lp + c0);      \
            for (v = 0; v < nv; v++) s[v] += val[v];                                 \
        }                                                                            \
    }                                                                                \
}                                                                                    \
                                                                                     \
/* the 256 x lp table of one byte column from its four rows of Z */                 \
static void lut_table_##SUFFIX(const T *z, ptrdiff_t lp, const T values[4],         \
                               T *table) {                                           \
    ptrdiff_t b, c, k, size = 1;                                                     \
    for (c = 0; c < lp; c++) table[c] = 0;                                           \
    for (k = 0; k < 4; k++) {                                                        \
        const T *zk = z + k * lp;                                                    \
        /* entries with code k extend those of the codes below k */                  \
        for (b = size * 4 - 1; b >= 0; b--) {                                        \
            ptrdiff_t low = b % size, code = b / size;                               \
            T x = values[code];                                                      \
            T *dst = table + b * lp;                                                 \
            const T *src = table + low * lp;                                         \
            for (c = 0; c < lp; c++) dst[c] = src[c] + x * zk[c];                    \
        }                                                                            \
        size *= 4;                                                                   \
    }                                                                                \
}                                                                                    \
                                                                                     \
static void lut_gz_##SUFFIX(const uint8_t *packed, ptrdiff_t m, ptrdiff_t nbytes,   \
                            const T *z, ptrdiff_t lp, const T values[4],            \
                            T *out, T *tables, ptrdiff_t tile, ptrdiff_t chunk) {    \
    ptrdiff_t i0;                                                                    \
    for (i0 = 0; i0 < m; i0 += chunk)                                                \
        lut_gz_part_##SUFFIX(packed + i0 * nbytes, m - i0 < chunk ? m - i0 : chunk,  \
                             nbytes, z, lp, values, out + i0 * lp, tables, tile);    \
}                                                                                    \
                                                                                     \
static void lut_gz_part_##SUFFIX(const uint8_t *packed, ptrdiff_t m, ptrdiff_t nbytes, \
                            const T *z, ptrdiff_t lp, const T values[4],            \
                            T *out, T *tables, ptrdiff_t tile) {                     \
    ptrdiff_t j0, jj, c0;                                                            \
    const ptrdiff_t per = sizeof(V) / sizeof(T);                                     \
    for (j0 = 0; j0 < nbytes; j0 += tile) {                                          \
        ptrdiff_t jn = nbytes - j0 < tile ? nbytes - j0 : tile;                      \
        for (jj = 0; jj < jn; jj++)                                                  \
            lut_table_##SUFFIX(z + 4 * (j0 + jj) * lp, lp, values,                   \
                               tables + jj * 256 * lp);                              \
        LUT_OVER_COLUMNS(per, lp, lut_gz_rows_##SUFFIX, packed + j0, m, nbytes, jn,  \
                         tables, lp, c0, out)                                        \
    }                                                                                \
}                                                                                    \
                                                                                     \
/* dst[0:lp] += sum over the `count` buckets b of values[(b / step) % 4] bucket[b] */ \
static void lut_marginal_##SUFFIX(const T *buckets, ptrdiff_t count, ptrdiff_t step, \
                                  ptrdiff_t lp, const T values[4], T *dst) {        \
    ptrdiff_t b, c;                                                                  \
    for (b = 0; b < count; b++) {                                                    \
        T x = values[(b / step) % 4];                                                \
        const T *src = buckets + b * lp;                                             \
        for (c = 0; c < lp; c++) dst[c] += x * src[c];                               \
    }                                                                                \
}                                                                                    \
                                                                                     \
/* dst[r] = sum of the four runs src[r + q count], r < count, q < 4 */              \
static void lut_fold_##SUFFIX(const T *src, ptrdiff_t count, ptrdiff_t lp, T *dst) { \
    ptrdiff_t r, c, q = count * lp;                                                  \
    for (r = 0; r < count * lp; r += lp)                                             \
        for (c = 0; c < lp; c++)                                                     \
            dst[r + c] = src[r + c] + src[q + r + c] + src[2 * q + r + c]            \
                + src[3 * q + r + c];                                                \
}                                                                                    \
                                                                                     \
/* the four output rows of one byte column from its 256 buckets; `work` holds */     \
/* 64 + 16 rows of lp                                                           */  \
static void lut_finish_##SUFFIX(const T *buckets, ptrdiff_t lp, const T values[4],  \
                                T *out, T *work) {                                   \
    T *a = work, *b = work + 64 * lp;                                                \
    lut_marginal_##SUFFIX(buckets, 256, 64, lp, values, out + 3 * lp);               \
    lut_fold_##SUFFIX(buckets, 64, lp, a);                                           \
    lut_marginal_##SUFFIX(a, 64, 16, lp, values, out + 2 * lp);                      \
    lut_fold_##SUFFIX(a, 16, lp, b);                                                 \
    lut_marginal_##SUFFIX(b, 16, 4, lp, values, out + lp);                           \
    lut_fold_##SUFFIX(b, 4, lp, a);                                                  \
    lut_marginal_##SUFFIX(a, 4, 1, lp, values, out);                                 \
}                                                                                    \
                                                                                     \
static void lut_gty_##SUFFIX(const uint8_t *packed, ptrdiff_t m, ptrdiff_t nbytes,  \
                             const T *y, ptrdiff_t lp, const T values[4],           \
                             T *out, T *buckets, T *work, ptrdiff_t tile,            \
                             ptrdiff_t chunk) {                                      \
    ptrdiff_t i0;                                                                    \
    for (i0 = 0; i0 < m; i0 += chunk)                                                \
        lut_gty_part_##SUFFIX(packed + i0 * nbytes, m - i0 < chunk ? m - i0 : chunk, \
                              nbytes, y + i0 * lp, lp, values, out, buckets, work,   \
                              tile);                                                 \
}                                                                                    \
                                                                                     \
static void lut_gty_part_##SUFFIX(const uint8_t *packed, ptrdiff_t m, ptrdiff_t nbytes, \
                             const T *y, ptrdiff_t lp, const T values[4],           \
                             T *out, T *buckets, T *work, ptrdiff_t tile) {          \
    ptrdiff_t j0, jj, c0;                                                            \
    const ptrdiff_t per = sizeof(V) / sizeof(T);                                     \
    for (j0 = 0; j0 < nbytes; j0 += tile) {                                          \
        ptrdiff_t jn = nbytes - j0 < tile ? nbytes - j0 : tile;                      \
        memset(buckets, 0, sizeof(T) * jn * 256 * lp);                               \
        LUT_OVER_COLUMNS(per, lp, lut_gty_rows_##SUFFIX, packed + j0, m, nbytes, jn, \
                         buckets, y, lp, c0)                                         \
        for (jj = 0; jj < jn; jj++)                                                  \
            lut_finish_##SUFFIX(buckets + jj * 256 * lp, lp, values,                 \
                                out + 4 * (j0 + jj) * lp, work);                     \
    }                                                                                \
}

LUT_DEFINE(float, lut_vf, f)
LUT_DEFINE(double, lut_vd, d)
