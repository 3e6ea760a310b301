/*
 * fuzz_json.c - bytes -> stjwt_json_check() with and without
 * require_object, at depth 16 and 1024, and stjwt_json_js_plain().
 * Invariants: an accepted object is accepted as plain JSON; what passes
 * the small depth cap passes the large one; valid JSON that js_plain()
 * passes has no backslash and no newline (which only whitespace can be).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stjwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *) data;
    size_t pos;
    int obj, any, deep, plain;

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
    plain = stjwt_json_js_plain(s, size);
    if (plain == 1 && any == STJWT_OK && (memchr(s, '\\', size) != NULL
                       || memchr(s, '\n', size) != NULL))
    {
        abort();
    }
    return 0;
}
