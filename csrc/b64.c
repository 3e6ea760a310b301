/*
 * b64.c - strict base64url (RFC 4648 s5, JWS) and standard base64
 * (SuperTokens legacy tokens, front-token).
 *
 * Strict means: only the alphabet, no whitespace, no padding for base64url,
 * a length that can come from an encoder (len % 4 != 1) and zero unused
 * trailing bits, so every byte string has exactly one accepted encoding.
 */
#include <string.h>

#include "stjwt_int.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define ST_B64_AVX2 1
#endif

/* Decoding goes a quantum at a time through four tables per alphabet that
 * hold each character's 6 bits already shifted into place, so a quantum
 * is four loads and three ORs.  Characters outside the alphabet (every
 * byte >= 128 included) set bits 24..31, which no valid quantum has. */
#define B64_BAD 0xff000000u

#define B64_VAL(c, c62, c63) \
    ((c) >= 'A' && (c) <= 'Z' ? (c) - 'A' \
     : (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26 \
     : (c) >= '0' && (c) <= '9' ? (c) - '0' + 52 \
     : (c) == (c62) ? 62 : (c) == (c63) ? 63 : -1)
#define B64_ENT(c, c62, c63, sh) \
    (B64_VAL(c, c62, c63) < 0 ? B64_BAD \
     : (uint32_t) B64_VAL(c, c62, c63) << (sh))

#define B64_R4(f, n)   f(n), f((n) + 1), f((n) + 2), f((n) + 3)
#define B64_R16(f, n)  B64_R4(f, n), B64_R4(f, (n) + 4), \
                       B64_R4(f, (n) + 8), B64_R4(f, (n) + 12)
#define B64_R64(f, n)  B64_R16(f, n), B64_R16(f, (n) + 16), \
                       B64_R16(f, (n) + 32), B64_R16(f, (n) + 48)
#define B64_R256(f)    B64_R64(f, 0), B64_R64(f, 64), B64_R64(f, 128), \
                       B64_R64(f, 192)

#define URL0(c) B64_ENT(c, '-', '_', 18)
#define URL1(c) B64_ENT(c, '-', '_', 12)
#define URL2(c) B64_ENT(c, '-', '_', 6)
#define URL3(c) B64_ENT(c, '-', '_', 0)
#define STD0(c) B64_ENT(c, '+', '/', 18)
#define STD1(c) B64_ENT(c, '+', '/', 12)
#define STD2(c) B64_ENT(c, '+', '/', 6)
#define STD3(c) B64_ENT(c, '+', '/', 0)

static const uint32_t b64url_tab[4][256] = {
    { B64_R256(URL0) }, { B64_R256(URL1) },
    { B64_R256(URL2) }, { B64_R256(URL3) },
};

static const uint32_t b64std_tab[4][256] = {
    { B64_R256(STD0) }, { B64_R256(STD1) },
    { B64_R256(STD2) }, { B64_R256(STD3) },
};

static const char b64std_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


#ifdef ST_B64_AVX2

/* Muła's nibble classification, for the base64url alphabet.  Each high
 * nibble h of the alphabet is a class with one bit (HI); LO[l] holds the
 * bits of the classes in which low nibble l is not in the alphabet, and
 * one bit (0x40) that every class outside it has, bytes >= 0x80 included:
 * a byte is valid iff HI[h] & LO[l] == 0.
 *   h=2 '-' (l=d)   h=3 '0'-'9' (l<=9)   h=4 'A'-'O' (l>=1)
 *   h=5 'P'-'Z' (l<=a), '_' (l=f)       h=6 'a'-'o' (l>=1)   h=7 'p'-'z' (l<=a)
 * ROLL[h] is the offset from a character to its 6-bit value; '_' is the
 * one character whose offset differs from its class's (slot 13). */
#define ST_LO_BITS(l) (0x40 \
    | ((l) != 0xd ? 0x01 : 0) | ((l) > 9 ? 0x02 : 0) | ((l) == 0 ? 0x04 : 0) \
    | ((l) >= 0xb && (l) <= 0xe ? 0x08 : 0) | ((l) == 0 ? 0x10 : 0) \
    | ((l) > 0xa ? 0x20 : 0))
#define ST_LO_ROW \
    ST_LO_BITS(0), ST_LO_BITS(1), ST_LO_BITS(2), ST_LO_BITS(3), \
    ST_LO_BITS(4), ST_LO_BITS(5), ST_LO_BITS(6), ST_LO_BITS(7), \
    ST_LO_BITS(8), ST_LO_BITS(9), ST_LO_BITS(10), ST_LO_BITS(11), \
    ST_LO_BITS(12), ST_LO_BITS(13), ST_LO_BITS(14), ST_LO_BITS(15)
#define ST_HI_ROW \
    0x40, 0x40, 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, \
    0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40
#define ST_ROLL_ROW \
    0, 0, 62 - '-', 52 - '0', -'A', -'A', 26 - 'a', 26 - 'a', \
    0, 0, 0, 0, 0, 63 - '_', 0, 0

/* Decodes whole 32-character blocks of base64url (24 bytes each) while
 * both a block and a 32-byte store fit; returns the characters consumed
 * (a multiple of 32), or (size_t) -1 on a character outside the alphabet.
 * The scalar loop does the rest, so the two agree on every input. */
__attribute__((target("avx2"))) static size_t
b64url_avx2(const unsigned char *src, size_t len, unsigned char *dst,
    size_t cap)
{
    const __m256i lo_lut = _mm256_setr_epi8(ST_LO_ROW, ST_LO_ROW);
    const __m256i hi_lut = _mm256_setr_epi8(ST_HI_ROW, ST_HI_ROW);
    const __m256i roll_lut = _mm256_setr_epi8(ST_ROLL_ROW, ST_ROLL_ROW);
    const __m256i nibble = _mm256_set1_epi8(0x0f);
    const __m256i underscore = _mm256_set1_epi8('_');
    const __m256i underscore_slot = _mm256_set1_epi8(13 - 5);
    const __m256i pack_shuf = _mm256_setr_epi8(
        2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,
        2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
    const __m256i pack_perm = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7);
    size_t i = 0, o = 0;

    while (len - i >= 32 && cap - o >= 32) {
        __m256i c = _mm256_loadu_si256((const __m256i *) (src + i));
        __m256i hi = _mm256_and_si256(_mm256_srli_epi32(c, 4), nibble);
        __m256i lo = _mm256_and_si256(c, nibble);
        __m256i slot, v;

        if (!_mm256_testz_si256(_mm256_shuffle_epi8(lo_lut, lo),
                                _mm256_shuffle_epi8(hi_lut, hi)))
        {
            return (size_t) -1;
        }
        slot = _mm256_add_epi8(hi, _mm256_and_si256(
            _mm256_cmpeq_epi8(c, underscore), underscore_slot));
        v = _mm256_add_epi8(c, _mm256_shuffle_epi8(roll_lut, slot));
        /* Four 6-bit values -> one 24-bit big-endian group per 32 bits. */
        v = _mm256_maddubs_epi16(v, _mm256_set1_epi32(0x01400140));
        v = _mm256_madd_epi16(v, _mm256_set1_epi32(0x00011000));
        v = _mm256_shuffle_epi8(v, pack_shuf);
        v = _mm256_permutevar8x32_epi32(v, pack_perm);
        _mm256_storeu_si256((__m256i *) (dst + o), v);
        i += 32;
        o += 24;
    }
    return i;
}

#undef ST_LO_BITS
#undef ST_LO_ROW
#undef ST_HI_ROW
#undef ST_ROLL_ROW


/* A load and a bit test: libgcc / compiler-rt fill the CPU model before
 * any constructor of ours runs, so there is nothing to initialise. */
static int
have_avx2(void)
{
    return __builtin_cpu_supports("avx2");
}

#endif


/* Unpadded decode with the given alphabet.  With url_vector (tab is
 * b64url_tab), whole 32-character blocks go through the AVX2 loop first
 * where the CPU has it: tokens are 0.5-1 KB of base64url, eight times
 * fewer steps per character than the table loop. */
static int
b64_decode(const uint32_t tab[4][256], int url_vector,
    const unsigned char *src, size_t len, unsigned char *dst, size_t *dlen)
{
    size_t rem = len % 4, out, i = 0, o = 0;
    uint32_t v, bad = 0;

    if (rem == 1) {
        return STJWT_E_BAD_BASE64;
    }
    out = len / 4 * 3 + (rem ? rem - 1 : 0);
    if (out > *dlen) {
        return STJWT_E_TOO_LARGE;
    }
#ifdef ST_B64_AVX2
    if (url_vector && len >= 64 && have_avx2()) {
        i = b64url_avx2(src, len, dst, *dlen);
        if (i == (size_t) -1) {
            return STJWT_E_BAD_BASE64;
        }
        o = i / 4 * 3;
    }
#else
    (void) url_vector;
#endif

    /* A bad character only poisons bad: the bytes written meanwhile stay
     * inside dst and the caller gets no length. */
    for (; i + 4 <= len; i += 4) {
        v = tab[0][src[i]] | tab[1][src[i + 1]] | tab[2][src[i + 2]]
            | tab[3][src[i + 3]];
        bad |= v;
        dst[o] = (unsigned char) (v >> 16);
        dst[o + 1] = (unsigned char) (v >> 8);
        dst[o + 2] = (unsigned char) v;
        o += 3;
    }

    if (rem >= 2) {
        v = tab[0][src[i]] | tab[1][src[i + 1]];
        if (rem == 3) {
            v |= tab[2][src[i + 2]];
        }
        /* Unused low bits must be zero, else two encodings decode to the
         * same bytes (signature malleability). */
        if (v & (rem == 2 ? 0xf000u : 0x00c0u)) {
            bad |= B64_BAD;
        }
        bad |= v;
        dst[o++] = (unsigned char) (v >> 16);
        if (rem == 3) {
            dst[o++] = (unsigned char) (v >> 8);
        }
    }

    if (bad & B64_BAD) {
        return STJWT_E_BAD_BASE64;
    }
    *dlen = o;
    return STJWT_OK;
}


int
st_b64url_decode_scalar(const char *src, size_t len, unsigned char *dst,
    size_t *dlen)
{
    return b64_decode(b64url_tab, 0, (const unsigned char *) src, len, dst,
                      dlen);
}


int
stjwt_b64url_decode(const char *src, size_t len, unsigned char *dst,
    size_t *dlen)
{
    if ((src == NULL && len) || dlen == NULL || (dst == NULL && *dlen)) {
        return STJWT_E_INVALID_ARG;
    }
    return b64_decode(b64url_tab, 1, (const unsigned char *) src, len, dst,
                      dlen);
}


int
st_b64std_decode(const char *src, size_t len, unsigned char *dst,
    size_t *dlen)
{
    const unsigned char *s = (const unsigned char *) src;
    size_t pad = 0;

    if (len && s[len - 1] == '=') {
        /* Padding only completes the last quantum: "xx==" or "xxx=". */
        if (len % 4 != 0) {
            return STJWT_E_BAD_BASE64;
        }
        pad = (len >= 2 && s[len - 2] == '=') ? 2 : 1;
        len -= pad;
        if (len % 4 != 4 - pad) {
            return STJWT_E_BAD_BASE64;
        }
    }
    return b64_decode(b64std_tab, 0, s, len, dst, dlen);
}


size_t
stjwt_b64_encode(const unsigned char *src, size_t len, char *dst)
{
    size_t i, o = 0;
    unsigned v;

    if (src == NULL || dst == NULL) {
        return 0;
    }
    for (i = 0; i + 3 <= len; i += 3) {
        v = (unsigned) src[i] << 16 | (unsigned) src[i + 1] << 8 | src[i + 2];
        dst[o++] = b64std_chars[v >> 18];
        dst[o++] = b64std_chars[(v >> 12) & 0x3f];
        dst[o++] = b64std_chars[(v >> 6) & 0x3f];
        dst[o++] = b64std_chars[v & 0x3f];
    }
    if (len - i == 1) {
        v = (unsigned) src[i] << 16;
        dst[o++] = b64std_chars[v >> 18];
        dst[o++] = b64std_chars[(v >> 12) & 0x3f];
        dst[o++] = '=';
        dst[o++] = '=';
    } else if (len - i == 2) {
        v = (unsigned) src[i] << 16 | (unsigned) src[i + 1] << 8;
        dst[o++] = b64std_chars[v >> 18];
        dst[o++] = b64std_chars[(v >> 12) & 0x3f];
        dst[o++] = b64std_chars[(v >> 6) & 0x3f];
        dst[o++] = '=';
    }
    return o;
}
