/* Missing calls (code 3) in bytes of 2-bit codes, found eight bytes at a time.
 * A code is 3 when both of its bits are set: `w & (w >> 1)` keeps the low
 * bit of each such code, and the 0x55 mask drops the rest. */

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
