// LZ4 block compression and safe decompression (the contracts are in vm/lz4.h).
//
// A block is a series of sequences: a token (high nibble: literal count, low nibble: match length
// - 4, 15 meaning "more bytes follow", each adding 0..255 until one is below 255), the literals, a
// 16-bit little-endian offset back into the output, and the match length's extra bytes. The last
// sequence has literals only. Compressors must keep the format's end rules, which liblz4's fast
// decoder relies on: the last match starts at least LZ4_MFLIMIT bytes before the end of the input,
// and the last LZ4_LASTLITERALS bytes are literals.
#include "vm/lz4.h"

#include <stdbool.h>

#include "kernel/assert.h"
#include "kernel/compiler.h"
#include "kernel/string.h"

#define LZ4_MINMATCH 4
#define LZ4_MFLIMIT 12
#define LZ4_LASTLITERALS 5
#define LZ4_MAX_OFFSET 65535u

static inline uint32_t read32(const uint8_t *p) {
    uint32_t v;
    __builtin_memcpy(&v, p, sizeof(v));
    return v;
}

static inline uint64_t read64(const uint8_t *p) {
    uint64_t v;
    __builtin_memcpy(&v, p, sizeof(v));
    return v;
}

static inline void copy8(uint8_t *d, const uint8_t *s) {
    uint64_t v;
    __builtin_memcpy(&v, s, sizeof(v));
    __builtin_memcpy(d, &v, sizeof(v));
}

static inline uint32_t hash4(uint32_t v, unsigned log) {
    return (v * 2654435761u) >> (32 - log);
}

// Bytes equal at p and ref (ref < p), counting no further than limit.
static inline size_t count_match(const uint8_t *p, const uint8_t *ref, const uint8_t *limit) {
    const uint8_t *start = p;
    while (p + 8 <= limit) {
        uint64_t diff = read64(p) ^ read64(ref);
        if (diff)
            return (size_t)(p - start) + ((unsigned)__builtin_ctzll(diff) >> 3);
        p += 8;
        ref += 8;
    }
    while (p < limit && *p == *ref) {
        p++;
        ref++;
    }
    return (size_t)(p - start);
}

// Bytes a length needs beyond its 4-bit token field.
static inline size_t extra_len_bytes(size_t len) {
    return len >= 15 ? (len - 15) / 255 + 1 : 0;
}

static inline uint8_t *write_extra_len(uint8_t *op, size_t len) {
    len -= 15;
    while (len >= 255) {
        *op++ = 255;
        len -= 255;
    }
    *op++ = (uint8_t)len;
    return op;
}

// Appends one sequence: lit_len literals from lit, then (if match_len != 0) a match of match_len
// (>= 4) bytes at distance offset. Returns the new output position, or NULL if it does not fit
// before oend.
static uint8_t *emit_sequence(uint8_t *op, const uint8_t *oend, const uint8_t *lit, size_t lit_len,
                              size_t offset, size_t match_len) {
    size_t ml = match_len ? match_len - LZ4_MINMATCH : 0;
    size_t need = 1 + extra_len_bytes(lit_len) + lit_len;
    if (match_len)
        need += 2 + extra_len_bytes(ml);
    if ((size_t)(oend - op) < need)
        return NULL;
    uint8_t *token = op++;
    *token = (uint8_t)((lit_len >= 15 ? 15 : lit_len) << 4);
    if (lit_len >= 15)
        op = write_extra_len(op, lit_len);
    if (lit_len)
        memcpy(op, lit, lit_len);
    op += lit_len;
    if (match_len) {
        DEBUG_ASSERT(offset >= 1 && offset <= LZ4_MAX_OFFSET);
        *op++ = (uint8_t)offset;
        *op++ = (uint8_t)(offset >> 8);
        *token |= (uint8_t)(ml >= 15 ? 15 : ml);
        if (ml >= 15)
            op = write_extra_len(op, ml);
    }
    return op;
}

size_t lz4_compress_fast(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_cap,
                         struct lz4_workspace *ws) {
    ASSERT(n <= LZ4_MAX_INPUT);
    uint8_t *op = dst;
    const uint8_t *oend = dst + dst_cap;
    size_t anchor = 0;
    if (n >= LZ4_MFLIMIT + 1) {
        memset(&ws->hash[0], 0, sizeof(uint16_t) * ((size_t)1 << LZ4_FAST_HASH_LOG));
        const size_t mflimit = n - LZ4_MFLIMIT;  // a match starts at or before this position
        const uint8_t *matchlimit = src + n - LZ4_LASTLITERALS;  // and ends at or before this
        size_t ip = 1;
        for (;;) {
            // Find a 4-byte match, stepping faster the longer none turns up (incompressible data
            // costs less to reject).
            size_t ref;
            unsigned attempts = 1u << 6;
            for (;;) {
                if (ip > mflimit)
                    goto last_literals;
                uint32_t h = hash4(read32(src + ip), LZ4_FAST_HASH_LOG);
                ref = ws->hash[h];
                ws->hash[h] = (uint16_t)ip;
                if (ref < ip && read32(src + ref) == read32(src + ip))
                    break;
                ip += attempts++ >> 6;
            }
            while (ip > anchor && ref > 0 && src[ip - 1] == src[ref - 1]) {
                ip--;
                ref--;
            }
            size_t len = LZ4_MINMATCH +
                         count_match(src + ip + LZ4_MINMATCH, src + ref + LZ4_MINMATCH, matchlimit);
            op = emit_sequence(op, oend, src + anchor, ip - anchor, ip - ref, len);
            if (!op)
                return 0;
            ip += len;
            anchor = ip;
            if (ip > mflimit)
                break;
            ws->hash[hash4(read32(src + ip - 2), LZ4_FAST_HASH_LOG)] = (uint16_t)(ip - 2);
        }
    }
last_literals:
    op = emit_sequence(op, oend, src + anchor, n - anchor, 0, 0);
    return op ? (size_t)(op - dst) : 0;
}

// The higher-ratio search: hash chains over every position, positions stored +1 (0 = none).
struct hc_state {
    const uint8_t *src;
    const uint8_t *matchlimit;
    struct lz4_workspace *ws;
    size_t next_insert;  // positions below this are in the chains
    unsigned depth;
};

static inline void hc_insert_until(struct hc_state *s, size_t p) {
    struct lz4_workspace *ws = s->ws;
    for (size_t q = s->next_insert; q < p; q++) {
        uint32_t h = hash4(read32(s->src + q), LZ4_HC_HASH_LOG);
        size_t prev = ws->hash[h];
        size_t delta = prev ? q - (prev - 1) : 0;
        ws->chain[q & (LZ4_HC_WINDOW - 1)] = (uint16_t)(delta < LZ4_HC_WINDOW ? delta : 0);
        ws->hash[h] = (uint16_t)(q + 1);
    }
    if (p > s->next_insert)
        s->next_insert = p;
}

// The longest match for position p among up to `depth` chain candidates: its length (0 if none
// of at least 4 bytes) and the candidate's position in *out_ref. Inlined into its two calls: it
// runs at almost every position of a page, and a call's saves and restores were 15% of it.
static inline __attribute__((always_inline)) size_t hc_find_best(struct hc_state *s, size_t p,
                                                                 size_t *out_ref) {
    hc_insert_until(s, p);
    const uint8_t *src = s->src;
    const uint8_t *ip = src + p;
    size_t max_len = (size_t)(s->matchlimit - ip);
    size_t best = LZ4_MINMATCH - 1;
    uint32_t head = read32(ip);
    size_t stored = s->ws->hash[hash4(head, LZ4_HC_HASH_LOG)];
    if (!stored)
        return 0;
    size_t cand = stored - 1;
    for (unsigned d = 0; d < s->depth; d++) {
        if (p - cand >= LZ4_HC_WINDOW)
            break;
        const uint8_t *ref = src + cand;
        // The byte just past the best length decides first: most candidates fail there.
        if (ref[best] == ip[best] && read32(ref) == head) {
            size_t len = LZ4_MINMATCH +
                         count_match(ip + LZ4_MINMATCH, ref + LZ4_MINMATCH, s->matchlimit);
            if (len > best) {
                best = len;
                *out_ref = cand;
                if (len == max_len)
                    break;
            }
        }
        size_t delta = s->ws->chain[cand & (LZ4_HC_WINDOW - 1)];
        if (!delta || delta > cand)
            break;
        cand -= delta;
    }
    return best >= LZ4_MINMATCH ? best : 0;
}

size_t lz4_compress_hc(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_cap,
                       unsigned depth, struct lz4_workspace *ws) {
    ASSERT(n <= LZ4_MAX_INPUT);
    if (depth == 0)
        return lz4_compress_fast(src, n, dst, dst_cap, ws);
    uint8_t *op = dst;
    const uint8_t *oend = dst + dst_cap;
    size_t anchor = 0;
    if (n >= LZ4_MFLIMIT + 1) {
        memset(ws->hash, 0, sizeof(ws->hash));
        struct hc_state s = {
            .src = src,
            .matchlimit = src + n - LZ4_LASTLITERALS,
            .ws = ws,
            .next_insert = 0,
            .depth = depth,
        };
        const size_t mflimit = n - LZ4_MFLIMIT;
        size_t ip = 0;
        while (ip <= mflimit) {
            size_t ref = 0;
            size_t len = hc_find_best(&s, ip, &ref);
            if (!len) {
                ip++;
                continue;
            }
            // Lazy matching: while the next position has a longer match, emit this byte as a
            // literal and take that one instead.
            while (ip + 1 <= mflimit && len < (size_t)(s.matchlimit - (src + ip))) {
                size_t ref2 = 0;
                size_t len2 = hc_find_best(&s, ip + 1, &ref2);
                if (len2 <= len)
                    break;
                ip++;
                len = len2;
                ref = ref2;
            }
            while (ip > anchor && ref > 0 && src[ip - 1] == src[ref - 1]) {
                ip--;
                ref--;
                len++;
            }
            op = emit_sequence(op, oend, src + anchor, ip - anchor, ip - ref, len);
            if (!op)
                return 0;
            ip += len;
            anchor = ip;
        }
    }
    op = emit_sequence(op, oend, src + anchor, n - anchor, 0, 0);
    return op ? (size_t)(op - dst) : 0;
}

// Reads a length's extra bytes (after a 15 in its token field), adding them to *len. Returns false
// if the input ends first or the length passes `bound` (no valid block can need more).
static inline bool read_extra_len(const uint8_t **ipp, const uint8_t *iend, size_t *len,
                                  size_t bound) {
    const uint8_t *ip = *ipp;
    uint8_t b;
    do {
        if (ip >= iend)
            return false;
        b = *ip++;
        *len += b;
        if (*len > bound)
            return false;
    } while (b == 255);
    *ipp = ip;
    return true;
}

static inline void write64(uint8_t *p, uint64_t v) {
    __builtin_memcpy(p, &v, sizeof(v));
}

// The fast loop's margins: a sequence takes it when at least FAST_IN input bytes are left before
// its token (token, 16 literal bytes moved, the offset) and FAST_OUT output bytes after op (16
// literal bytes, then 24 match bytes from at most 14 further on).
#define FAST_IN 19
#define FAST_OUT 40

long lz4_decompress(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_cap) {
    const uint8_t *ip = src;
    const uint8_t *const iend = src + src_len;
    uint8_t *op = dst;
    uint8_t *const oend = dst + dst_cap;
    // Addresses as integers, so that no pointer is formed outside the buffers. A too short input or
    // output turns the fast loop off (ilimit 0: no input pointer is at or below it).
    uintptr_t ilimit = 0, olimit = 0;
    if (src_len >= FAST_IN && dst_cap >= FAST_OUT) {
        ilimit = (uintptr_t)iend - FAST_IN;
        olimit = (uintptr_t)oend - FAST_OUT;
    }
    // No length can exceed what is left of the output, so bounding each by dst_cap (checked as
    // bytes are added) keeps the sums far from overflow.
    for (;;) {
        size_t offset, len;
        // The common case first: short literals and a short match, far from both ends. Sixteen
        // literal bytes and 24 match bytes are moved whatever the lengths (the excess is
        // overwritten later), so only the offset needs checking.
        if (likely((uintptr_t)ip <= ilimit && (uintptr_t)op <= olimit)) {
            size_t token = *ip, ml = token & 15;
            if (likely(token < 0xf0 && ml != 15)) {
                size_t lit = token >> 4;
                copy8(op, ip + 1);
                copy8(op + 8, ip + 9);
                op += lit;
                ip += lit + 1;
                offset = (size_t)ip[0] | (size_t)ip[1] << 8;
                ip += 2;
                len = ml + LZ4_MINMATCH;
                // 8 <= offset <= op - dst (as integers: no pointer before dst is formed).
                uintptr_t ma = (uintptr_t)op - offset;
                if (likely(offset >= 8 && ma >= (uintptr_t)dst)) {
                    const uint8_t *m = (const uint8_t *)ma;
                    copy8(op, m);
                    copy8(op + 8, m + 8);
                    copy8(op + 16, m + 16);
                    op += len;
                    continue;
                }
                goto match;  // a short period or a bad offset: the careful path
            }
        }
        if (ip >= iend)
            return -1;
        unsigned token = *ip++;
        size_t lit = token >> 4;
        if (lit == 15 && !read_extra_len(&ip, iend, &lit, dst_cap))
            return -1;
        if (lit > (size_t)(iend - ip) || lit > (size_t)(oend - op))
            return -1;
        // Short literal runs go in two 8-byte moves when both buffers have room past them; the
        // bytes written past the run are overwritten by what follows.
        if (lit <= 16 && (size_t)(iend - ip) >= 16 && (size_t)(oend - op) >= 16) {
            copy8(op, ip);
            copy8(op + 8, ip + 8);
        } else {
            memcpy(op, ip, lit);
        }
        ip += lit;
        op += lit;
        if (ip == iend)
            return (long)(op - dst);  // the last sequence: literals only

        if ((size_t)(iend - ip) < 2)
            return -1;
        offset = (size_t)ip[0] | (size_t)ip[1] << 8;
        ip += 2;
        len = token & 15;
        if (len == 15 && !read_extra_len(&ip, iend, &len, dst_cap))
            return -1;
        len += LZ4_MINMATCH;
    match:
        if (offset == 0 || offset > (size_t)(op - dst) || len > (size_t)(oend - op))
            return -1;
        const uint8_t *match = op - offset;
        uint8_t *const mend = op + len;
        if (unlikely((size_t)(oend - mend) < 32)) {
            while (op < mend)
                *op++ = *match++;
            continue;
        }
        // Room for moves that may run up to 31 bytes past the match's end.
        if (offset < 8) {
            // A short period. One that divides 8 (runs of one byte, 2- and 4-byte patterns: most
            // short periods) is one 8-byte word stored again and again; the others copy their
            // first 8 bytes one by one, then move 8 at a time from a multiple of the period at
            // least 8 back, which repeats the same pattern.
            uint64_t v;
            if (offset == 1) {
                v = match[0] * 0x0101010101010101ull;
            } else if (offset == 2) {
                v = (uint64_t)(match[0] | match[1] << 8) * 0x0001000100010001ull;
            } else if (offset == 4) {
                v = (uint64_t)read32(match) * 0x0000000100000001ull;
            } else {
                for (int i = 0; i < 8; i++)
                    op[i] = match[i];
                size_t step = offset * ((8 + offset - 1) / offset);
                op += 8;
                match = op - step;
                goto copy;
            }
            for (; op < mend; op += 16) {
                write64(op, v);
                write64(op + 8, v);
            }
            op = mend;
            continue;
        }
    copy:
        // Offsets of 8 and more: each 8-byte load reads only bytes already final.
        for (; op + 16 < mend; op += 32, match += 32) {
            copy8(op, match);
            copy8(op + 8, match + 8);
            copy8(op + 16, match + 16);
            copy8(op + 24, match + 24);
        }
        if (op < mend) {
            copy8(op, match);
            copy8(op + 8, match + 8);
        }
        op = mend;
    }
}
