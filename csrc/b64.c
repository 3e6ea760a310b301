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

/* Entries for bytes >= 128 are implied -1 (see b64_val). */
static const signed char b64url_tab[128] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
    -1,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
};

static const signed char b64std_tab[128] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1, -1, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
    -1,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, -1,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
};

static const char b64std_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


static int
b64_val(const signed char *tab, unsigned char c)
{
    return c < 128 ? tab[c] : -1;
}


/* Unpadded decode with the given alphabet. */
static int
b64_decode(const signed char *tab, const unsigned char *src, size_t len,
    unsigned char *dst, size_t *dlen)
{
    size_t rem = len % 4, out, i, o = 0;
    int a, b, c, d;

    if (rem == 1) {
        return STJWT_E_BAD_BASE64;
    }
    out = len / 4 * 3 + (rem ? rem - 1 : 0);
    if (out > *dlen) {
        return STJWT_E_TOO_LARGE;
    }

    for (i = 0; i + 4 <= len; i += 4) {
        a = b64_val(tab, src[i]);
        b = b64_val(tab, src[i + 1]);
        c = b64_val(tab, src[i + 2]);
        d = b64_val(tab, src[i + 3]);
        if ((a | b | c | d) < 0) {
            return STJWT_E_BAD_BASE64;
        }
        dst[o++] = (unsigned char) (a << 2 | b >> 4);
        dst[o++] = (unsigned char) ((b & 0x0f) << 4 | c >> 2);
        dst[o++] = (unsigned char) ((c & 0x03) << 6 | d);
    }

    if (rem >= 2) {
        a = b64_val(tab, src[i]);
        b = b64_val(tab, src[i + 1]);
        c = rem == 3 ? b64_val(tab, src[i + 2]) : 0;
        if ((a | b | c) < 0) {
            return STJWT_E_BAD_BASE64;
        }
        /* Unused low bits must be zero, else two encodings decode to the
         * same bytes (signature malleability). */
        if ((rem == 2 && (b & 0x0f)) || (rem == 3 && (c & 0x03))) {
            return STJWT_E_BAD_BASE64;
        }
        dst[o++] = (unsigned char) (a << 2 | b >> 4);
        if (rem == 3) {
            dst[o++] = (unsigned char) ((b & 0x0f) << 4 | c >> 2);
        }
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
