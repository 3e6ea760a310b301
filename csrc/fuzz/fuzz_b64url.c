/*
 * fuzz_b64url.c - bytes -> strict base64url and standard base64 decode.
 * Invariant: whatever decodes re-encodes to exactly the input (one
 * accepted encoding per byte string; standard base64 may drop padding),
 * and the vector path answers as the scalar loop does, bytes and all.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stjwt_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned char dec[4096];
static unsigned char dec_scalar[4096];
static char enc[8192];


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t dlen = sizeof(dec), n, i;

    if (size > 4096) {
        return 0;
    }
    {
        size_t slen = sizeof(dec_scalar), vlen = sizeof(dec);
        int vrc = stjwt_b64url_decode((const char *) data, size, dec, &vlen);
        int src = st_b64url_decode_scalar((const char *) data, size,
                                          dec_scalar, &slen);

        if (vrc != src
            || (vrc == 0 && (vlen != slen || memcmp(dec, dec_scalar, slen))))
        {
            abort();
        }
    }
    if (stjwt_b64url_decode((const char *) data, size, dec, &dlen) == 0) {
        n = stjwt_b64_encode(dec, dlen, enc);
        for (i = 0; i < n; i++) {
            enc[i] = enc[i] == '+' ? '-' : enc[i] == '/' ? '_' : enc[i];
        }
        while (n > 0 && enc[n - 1] == '=') {
            n--;
        }
        if (n != size || memcmp(enc, data, n) != 0) {
            abort();
        }
    }
    dlen = sizeof(dec);
    if (st_b64std_decode((const char *) data, size, dec, &dlen) == 0) {
        n = stjwt_b64_encode(dec, dlen, enc);
        if (n != size) {
            while (n > 0 && enc[n - 1] == '=') {
                n--;
            }
        }
        if (n != size || memcmp(enc, data, n) != 0) {
            abort();
        }
    }
    return 0;
}
