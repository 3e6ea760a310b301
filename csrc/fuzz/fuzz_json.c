/*
 * fuzz_json.c - bytes -> stjwt_json_check() with and without
 * require_object, at depth 16 and 1024.
 * Invariants: an accepted object is accepted as plain JSON; what passes
 * the small depth cap passes the large one.
 */
#include <stdint.h>
#include <stdlib.h>

#include "stjwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *) data;
    size_t pos;
    int obj, any, deep;

    obj = stjwt_json_check(s, size, 16, 1, &pos);
    any = stjwt_json_check(s, size, 16, 0, &pos);
    deep = stjwt_json_check(s, size, 1024, 0, NULL);
    if ((obj == STJWT_OK && any != STJWT_OK)
        || (any == STJWT_OK && deep != STJWT_OK)
        || (any != STJWT_OK && pos > size)
        || (obj == STJWT_E_DUPLICATE_MEMBER && any != STJWT_OK))
    {
        abort();
    }
    return 0;
}
