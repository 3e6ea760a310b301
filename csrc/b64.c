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


/* Unpadded decode with the given alphabet. */
static int
b64_decode(const uint32_t tab[4][256], const unsigned char *src, size_t len,
    unsigned char *dst, size_t *dlen)
{
    size_t rem = len % 4, out, i, o = 0;
    uint32_t v, bad = 0;

    if (rem == 1) {
        return STJWT_E_BAD_BASE64;
    }
    out = len / 4 * 3 + (rem ? rem - 1 : 0);
    if (out > *dlen) {
        return STJWT_E_TOO_LARGE;
    }

    /* A bad character only poisons bad: the bytes written meanwhile stay
     * inside dst and the caller gets no length. */
    for (i = 0; i + 4 <= len; i += 4) {
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
stjwt_b64url_decode(const char *src, size_t len, unsigned char *dst,
    size_t *dlen)
{
    if ((src == NULL && len) || dlen == NULL || (dst == NULL && *dlen)) {
        return STJWT_E_INVALID_ARG;
    }
    return b64_decode(b64url_tab, (const unsigned char *) src, len, dst,
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
    return b64_decode(b64std_tab, s, len, dst, dlen);
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
