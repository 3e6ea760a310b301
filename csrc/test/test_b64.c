/*
 * test_b64.c - stjwt_b64url_decode() strictness and stjwt_b64_encode().
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "util.h"

static unsigned char out[4096];


static int
dec(const char *s, size_t *dlen)
{
    size_t n = strlen(s);

    *dlen = sizeof(out);
    return stjwt_b64url_decode(guard_copy(s, n), n, out, dlen);
}


static void
test_vectors(void)
{
    /* RFC 4648 s10, without padding */
    static const char *const enc[] = {
        "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"
    };
    static const char *const plain = "foobar";
    size_t i, n;

    for (i = 0; i < ST_N(enc); i++) {
        is_rc(dec(enc[i], &n), STJWT_OK, "decode \"%s\"", enc[i]);
        ok(n == i && memcmp(out, plain, i) == 0, "\"%s\" is %zu bytes of "
           "foobar", enc[i], i);
    }
    is_rc(dec("-_-_", &n), STJWT_OK, "url alphabet");
    ok(n == 3 && out[0] == 0xfb && out[1] == 0xff && out[2] == 0xbf,
       "-_-_ = fb ff bf");
    is_rc(dec("AAAA____", &n), STJWT_OK, "A and _");
    ok(n == 6 && out[0] == 0 && out[5] == 0xff, "zeros and ones");
}


static void
test_rejects(void)
{
    static const char *const bad[] = {
        "Zg==", "Zg=", "Zm8=", "=", "Zm9v=", "Zm+v", "Zm/v", "Zm9v\n",
        " Zm9v", "Zm9 v", "Zm9v\t", "Z", "Zm9vY", "Zm9vYmFyZ", "Zh", "Zm9",
        "Zm9vYh", "Zm9vYmF", "Zm.v", "Zm9v\r\n", "Zm9v%3D", "\xc3\xa9\xc3",
    };
    size_t i, n;

    for (i = 0; i < ST_N(bad); i++) {
        is_rc(dec(bad[i], &n), STJWT_E_BAD_BASE64, "reject bad[%zu]", i);
    }
    {
        char nul[4] = { 'Z', 'm', '\0', 'v' };
        n = sizeof(out);
        is_rc(stjwt_b64url_decode(guard_copy(nul, 4), 4, out, &n),
              STJWT_E_BAD_BASE64, "NUL inside");
    }
    n = 2;
    is_rc(stjwt_b64url_decode(guard_copy("Zm9v", 4), 4, out, &n),
          STJWT_E_TOO_LARGE, "3 bytes into 2");
    n = 3;
    is_rc(stjwt_b64url_decode(guard_copy("Zm9v", 4), 4, out, &n), STJWT_OK,
          "3 bytes into 3");
    n = 0;
    is_rc(stjwt_b64url_decode("", 0, NULL, &n), STJWT_OK, "empty into NULL");
    is_rc(stjwt_b64url_decode("Zm9v", 4, out, NULL), STJWT_E_INVALID_ARG,
          "NULL dlen");
    n = 5;
    is_rc(stjwt_b64url_decode(NULL, 4, out, &n), STJWT_E_INVALID_ARG,
          "NULL src");
}


/* Every 2- and 3-character string: exactly one encoding per byte string
 * may decode (canonical trailing bits). */
static void
test_exhaustive(void)
{
    static const char a[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=."
        " ";
    size_t na = strlen(a), i, j, k, n, valid = 0;
    char s[4] = { 0 };
    unsigned char *seen = t_alloc(65536);
    int dup = 0;

    for (i = 0; i < na; i++) {
        for (j = 0; j < na; j++) {
            s[0] = a[i];
            s[1] = a[j];
            s[2] = '\0';
            if (dec(s, &n) == STJWT_OK) {
                valid++;
                dup += seen[out[0]]++ != 0;
            }
        }
    }
    ok(valid == 256 && dup == 0, "2 chars: 256 valid, one per byte (%zu)",
       valid);
    memset(seen, 0, 65536);
    valid = 0;
    for (i = 0; i < na; i++) {
        for (j = 0; j < na; j++) {
            for (k = 0; k < na; k++) {
                s[0] = a[i];
                s[1] = a[j];
                s[2] = a[k];
                if (dec(s, &n) == STJWT_OK) {
                    valid++;
                    dup += seen[out[0] << 8 | out[1]]++ != 0;
                }
            }
        }
    }
    ok(valid == 65536 && dup == 0, "3 chars: 65536 valid, one per pair "
       "(%zu)", valid);
}


/* The decoder reads a quantum at a time and checks the alphabet once at
 * the end: a single bad byte anywhere in a long input must still fail. */
static void
test_bad_byte_anywhere(void)
{
    static const char *const alpha =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char buf[44];
    size_t pos, n, fails = 0, tried = 0;
    int b;

    for (pos = 0; pos < sizeof(buf); pos++) {
        for (b = 0; b < 256; b++) {
            if (b != 0 && strchr(alpha, b) != NULL) {
                continue;
            }
            memset(buf, 'A', sizeof(buf));
            buf[pos] = (char) b;
            n = sizeof(out);
            tried++;
            if (stjwt_b64url_decode(guard_copy(buf, sizeof(buf)),
                                    sizeof(buf), out, &n)
                != STJWT_E_BAD_BASE64)
            {
                fails++;
            }
        }
    }
    ok(fails == 0, "a bad byte at any of 44 positions is refused "
       "(%zu of %zu accepted)", fails, tried);
    /* 43 chars: the last quantum has 3, its low 2 bits must be zero */
    memset(buf, 'A', sizeof(buf));
    buf[42] = 'B';
    n = sizeof(out);
    is_rc(stjwt_b64url_decode(guard_copy(buf, 43), 43, out, &n),
          STJWT_E_BAD_BASE64, "non-zero trailing bits after long input");
    buf[42] = 'E';
    n = sizeof(out);
    is_rc(stjwt_b64url_decode(guard_copy(buf, 43), 43, out, &n), STJWT_OK,
          "zero trailing bits after long input");
    ok(n == 32 && out[31] == 0x01, "43 chars are 32 bytes");
}


/* Plain reference decoder: one character at a time through strchr. */
static int
ref_decode(const char *s, size_t len, unsigned char *dst, size_t *dlen)
{
    static const char *const alpha =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint32_t acc = 0;
    size_t i, bits = 0, o = 0;
    const char *p;

    if (len % 4 == 1) {
        return STJWT_E_BAD_BASE64;
    }
    for (i = 0; i < len; i++) {
        if (s[i] == '\0' || (p = strchr(alpha, s[i])) == NULL) {
            return STJWT_E_BAD_BASE64;
        }
        acc = acc << 6 | (uint32_t) (p - alpha);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            dst[o++] = (unsigned char) (acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) {
        return STJWT_E_BAD_BASE64;          /* non-zero unused bits */
    }
    *dlen = o;
    return STJWT_OK;
}


/* Long inputs take the 32-character vector path where the CPU has one
 * (AVX2 on x86-64); it must agree with the reference on every character
 * in every position of a block, and on every byte outside the alphabet. */
static void
test_vector_path(void)
{
    static const char *const alpha =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    static const size_t lens[] = { 64, 66, 67, 95, 96, 128, 131, 200 };
    unsigned char want[256], *exact;
    char buf[200];
    size_t li, len, pos, n, wn, i, differ = 0, tried = 0;
    int b, rc, wrc;

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    diag("AVX2: %s", __builtin_cpu_supports("avx2") ? "yes" : "no");
#endif
    for (li = 0; li < ST_N(lens); li++) {
        len = lens[li];
        for (pos = 0; pos < len; pos++) {
            for (b = 0; b < 256; b++) {
                for (i = 0; i < len; i++) {
                    buf[i] = alpha[(i * 37 + li) % 64];
                }
                if (len % 4 != 0) {
                    buf[len - 1] = 'A';     /* zero unused bits */
                }
                buf[pos] = (char) b;
                n = sizeof(out);
                wn = sizeof(want);
                rc = stjwt_b64url_decode(guard_copy(buf, len), len, out, &n);
                wrc = ref_decode(buf, len, want, &wn);
                tried++;
                if (rc != wrc
                    || (rc == STJWT_OK
                        && (n != wn || memcmp(out, want, n) != 0)))
                {
                    differ++;
                }
            }
        }
    }
    ok(differ == 0, "lengths 64..200, every byte at every position: "
       "decoder = reference (%zu of %zu differ)", differ, tried);

    /* An output buffer of exactly the decoded size: the vector path must
     * not store past it (ASan build). */
    differ = 0;
    for (len = 64; len <= 200; len++) {
        if (len % 4 == 1) {
            continue;
        }
        for (i = 0; i < len; i++) {
            buf[i] = alpha[(i * 7) % 64];
        }
        if (len % 4 != 0) {
            buf[len - 1] = 'A';
        }
        wn = sizeof(want);
        if (ref_decode(buf, len, want, &wn) != STJWT_OK) {
            differ++;
            continue;
        }
        exact = malloc(wn);
        n = wn;
        rc = stjwt_b64url_decode(guard_copy(buf, len), len, exact, &n);
        if (rc != STJWT_OK || n != wn || memcmp(exact, want, wn) != 0) {
            differ++;
        }
        n = wn - 1;
        if (stjwt_b64url_decode(guard_copy(buf, len), len, exact, &n)
            != STJWT_E_TOO_LARGE)
        {
            differ++;
        }
        free(exact);
    }
    ok(differ == 0, "lengths 64..200 into an exact-size buffer (%zu wrong)",
       differ);
}


static void
test_roundtrip(void)
{
    unsigned char in[300];
    char std[420];
    size_t len, n, bad = 0, m;

    for (len = 0; len < sizeof(in); len++) {
        if (RAND_bytes(in, (int) (len ? len : 1)) != 1) {
            bad++;
            continue;
        }
        m = stjwt_b64_encode(in, len, std);
        if (m != (len + 2) / 3 * 4) {
            bad++;
        }
        if (dec(b64url(in, len), &n) != STJWT_OK || n != len
            || memcmp(in, out, len) != 0)
        {
            bad++;
        }
    }
    ok(bad == 0, "random round trips, lengths 0..299");
}


static void
test_encode(void)
{
    char buf[16];
    size_t n;

    n = stjwt_b64_encode((const unsigned char *) "f", 1, buf);
    ok(n == 4 && memcmp(buf, "Zg==", 4) == 0, "encode f");
    n = stjwt_b64_encode((const unsigned char *) "fo", 2, buf);
    ok(n == 4 && memcmp(buf, "Zm8=", 4) == 0, "encode fo");
    n = stjwt_b64_encode((const unsigned char *) "foobar", 6, buf);
    ok(n == 8 && memcmp(buf, "Zm9vYmFy", 8) == 0, "encode foobar");
    n = stjwt_b64_encode((const unsigned char *) "\xfb\xff\xbf", 3, buf);
    ok(n == 4 && memcmp(buf, "+/+/", 4) == 0, "standard alphabet");
    ok(stjwt_b64_encode((const unsigned char *) "", 0, buf) == 0,
       "encode empty");
    ok(stjwt_b64_encode(NULL, 3, buf) == 0, "encode NULL");
}


int
main(void)
{
    test_vectors();
    test_rejects();
    test_exhaustive();
    test_bad_byte_anywhere();
    test_vector_path();
    test_roundtrip();
    test_encode();
    return done_testing();
}
