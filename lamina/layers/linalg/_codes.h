/* Missing calls (code 3) in bytes of 2-bit codes, found eight bytes at a time.
 * A code is 3 when both of its bits are set: `w & (w >> 1)` keeps the low
 * bit of each such code, and the 0x55 mask drops the rest. */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* the missing calls of the 8 bytes at p, the low bit of each set */
static inline uint64_t codes_missing_word(const uint8_t *p) {
    uint64_t w;
    memcpy(&w, p, 8);
    return w & (w >> 1) & 0x5555555555555555ULL;
}

/* the missing calls of one byte, the low bit of each set */
static inline unsigned codes_missing_byte(uint8_t b) {
    return b & (b >> 1) & 0x55u;
}

static inline int codes_popcount(uint64_t x) { return __builtin_popcountll(x); }

/* index (0..31) of the lowest missing call of a nonzero codes_missing_word
 * (or 0..3 of a codes_missing_byte) */
static inline int codes_first(uint64_t hits) { return __builtin_ctzll(hits) >> 1; }

/* the columns (< width) of the missing calls in one row of `nbytes` bytes,
 * written to cols (room for 4 nbytes); returns how many */
static inline ptrdiff_t codes_row_missing(const uint8_t *row, ptrdiff_t nbytes,
                                          ptrdiff_t width, ptrdiff_t *cols) {
    ptrdiff_t j = 0, n = 0, base, col;
    uint64_t hits;
    while (j < nbytes) {
        base = 4 * j;
        if (j + 8 <= nbytes) {
            hits = codes_missing_word(row + j);
            j += 8;
        } else {
            hits = codes_missing_byte(row[j]);
            j += 1;
        }
        while (hits) {
            col = base + codes_first(hits);
            hits &= hits - 1;
            if (col < width) cols[n++] = col;
        }
    }
    return n;
}
