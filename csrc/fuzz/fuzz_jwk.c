/*
 * fuzz_jwk.c - bytes -> stjwt_keyset_new(), strict and lenient.
 * Invariant: a set that imports strictly imports leniently, same count.
 */
#include <stdint.h>
#include <stdlib.h>

#include "stjwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    stjwt_keyset_info_t info;
    stjwt_keyset_t *strict, *lenient;
    const char *msg;
    int rc;

    strict = stjwt_keyset_new((const char *) data, size,
                              STJWT_KEYSET_STRICT | STJWT_KEYSET_ALLOW_HMAC,
                              NULL, &rc, &msg);
    lenient = stjwt_keyset_new((const char *) data, size,
                               STJWT_KEYSET_ALLOW_HMAC, &info, &rc, &msg);
    if ((strict != NULL && (lenient == NULL || info.n_skipped != 0
                            || stjwt_keyset_count(strict)
                               != stjwt_keyset_count(lenient)))
        || (lenient != NULL && stjwt_keyset_count(lenient) != info.n_keys))
    {
        abort();
    }
    stjwt_keyset_free(strict);
    stjwt_keyset_free(lenient);
    return 0;
}
