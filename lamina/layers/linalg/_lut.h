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
 *   gty: out (4 nbytes x lp) += G^T Y.  The same tables, built from four
 *        rows of Y (a group) instead of four rows of Z: a sample's codes in
 *        those four rows, gathered into one byte, pick the table row to add
 *        to the sample's output row. Each group's table is built once and
 *        serves every sample, and a sample's sums stay in registers across
 *        `groups` groups, so each byte of G again costs one add of a table
 *        row per four calls (no stores in the inner loop).
 *
 * Every product a dense one has is computed (0 * inf is NaN here too).
 * gz takes rows `chunk` at a time (their bytes stay in cache while every
 * tile reads them; the tables are rebuilt per chunk) and byte columns `tile`
 * at a time so that their tables stay in the L2 cache; a row's sums for up
 * to LUT_CHUNK vectors of columns stay in registers across the tile. Z must
 * have 4 nbytes rows (zero past n).
 * The vectors are GCC/Clang vector extensions of 16 bytes, the SSE2 width
 * every x86-64 has (AVX2's 32 bytes measured no faster: the tables' loads
 * bound the loops, and the Zen 1 cores of the benchmarks split 32-byte
 * operations in two).
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define LUT_CHUNK 12

#define LUT_MAX_GROUPS 32

/* bytes j of rows r0..r0+3 (0 past row m) as one word, row r0 + r in byte r */
static inline uint32_t lut_rows_bytes(const uint8_t *packed, ptrdiff_t m, ptrdiff_t nbytes,
                                      ptrdiff_t r0, ptrdiff_t j) {
    const uint8_t *p = packed + r0 * nbytes + j;
    uint32_t w = 0;
    ptrdiff_t r;
    if (m - r0 >= 4)
        return p[0] | (uint32_t)p[nbytes] << 8 | (uint32_t)p[2 * nbytes] << 16
            | (uint32_t)p[3 * nbytes] << 24;
    for (r = 0; r < m - r0; r++) w |= (uint32_t)p[r * nbytes] << (8 * r);
    return w;
}

/* code k (bits 2k, 2k+1) of each of the four bytes of w, as one byte: byte r's */
/* code in bits 2r, 2r+1, the layout of a byte of codes the tables are indexed by */
static inline unsigned lut_gather(uint32_t w, int k) {
    uint32_t x = (w >> (2 * k)) & 0x03030303u;
    return (x | (x >> 6) | (x >> 12) | (x >> 18)) & 0xFFu;
}

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
/* G^T Y over `gn` groups of four rows from g0: for each sample, one row of */ \
/* each group's table (indexed by the four rows' codes of that sample) is     */ \
/* added to the sample's output row, held in registers across the groups     */ \
static inline __attribute__((always_inline)) void                                   \
lut_gty_cols_##SUFFIX(const uint8_t *packed, ptrdiff_t m, ptrdiff_t nbytes,         \
                      ptrdiff_t g0, ptrdiff_t gn, const T *tables, ptrdiff_t lp,    \
                      ptrdiff_t c0, T *out, const int nv) {                          \
    ptrdiff_t j, g, k, v;                                                            \
    const ptrdiff_t stride = 256 * lp;                                               \
    uint32_t w[LUT_MAX_GROUPS];                                                      \
    for (j = 0; j < nbytes; j++) {                                                   \
        for (g = 0; g < gn; g++)                                                     \
            w[g] = lut_rows_bytes(packed, m, nbytes, 4 * (g0 + g), j);               \
        for (k = 0; k < 4; k++) {                                                    \
            V *dst = (V *)(out + (4 * j + k) * lp + c0);                             \
            V acc[LUT_CHUNK];                                                        \
            for (v = 0; v < nv; v++) acc[v] = dst[v];                                \
            for (g = 0; g < gn; g++) {                                               \
                const V *t = (const V *)(tables + g * stride                         \
                                         + (ptrdiff_t)lut_gather(w[g], k) * lp + c0);\
                for (v = 0; v < nv; v++) acc[v] += t[v];                             \
            }                                                                        \
            for (v = 0; v < nv; v++) dst[v] = acc[v];                                \
        }                                                                            \
    }                                                                                \
}                                                                                    \
                                                                                     \
static void lut_gty_##SUFFIX(const uint8_t *packed, ptrdiff_t m, ptrdiff_t nbytes,  \
                             const T *y, ptrdiff_t lp, const T values[4],           \
                             T *out, T *tables, T *pad, ptrdiff_t groups) {          \
    ptrdiff_t g0, g, gn, c0, ngroups = (m + 3) / 4;                                  \
    const ptrdiff_t per = sizeof(V) / sizeof(T);                                     \
    if (groups > LUT_MAX_GROUPS) groups = LUT_MAX_GROUPS;                            \
    for (g0 = 0; g0 < ngroups; g0 += groups) {                                       \
        gn = ngroups - g0 < groups ? ngroups - g0 : groups;                          \
        for (g = 0; g < gn; g++) {                                                   \
            ptrdiff_t r0 = 4 * (g0 + g), rn = m - r0 < 4 ? m - r0 : 4;               \
            const T *src = y + r0 * lp;                                              \
            if (rn < 4) { /* rows past m count as zero rows of Y */                  \
                memset(pad, 0, sizeof(T) * 4 * lp);                                  \
                memcpy(pad, src, sizeof(T) * rn * lp);                               \
                src = pad;                                                           \
            }                                                                        \
            lut_table_##SUFFIX(src, lp, values, tables + g * 256 * lp);              \
        }                                                                            \
        LUT_OVER_COLUMNS(per, lp, lut_gty_cols_##SUFFIX, packed, m, nbytes, g0, gn,  \
                         tables, lp, c0, out)                                        \
    }                                                                                \
}

LUT_DEFINE(float, lut_vf, f)
LUT_DEFINE(double, lut_vd, d)
