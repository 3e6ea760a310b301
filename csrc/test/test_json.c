/*
 * test_json.c - stjwt_json_check() against JSONTestSuite (nst, MIT; copied
 * to spec/fixtures/vectors/jsontestsuite) plus exhaustive UTF-8 and \u
 * escape sweeps, duplicate names and the depth cap.
 *
 * y_ files must be accepted, n_ files rejected (require_object = 0, the
 * default depth cap of 16).  Our choice for each i_ file:
 *
 *   accepted  i_number_*  (10 files)   grammar-valid numbers, whatever
 *             their magnitude; a time claim that does not fit a double is
 *             refused later by stjwt_parse() as bad_claim.
 *   rejected  i_string_*  (22 files)   invalid UTF-8, UTF-16 text, lone
 *             or broken surrogate escapes, Latin-1 bytes.
 *   rejected  i_object_key_lone_2nd_surrogate   lone surrogate escape.
 *   rejected  i_structure_UTF-8_BOM_empty_object   no BOM in RFC 8259 s8.1
 *             ("MUST NOT add a byte order mark").
 *   rejected  i_structure_500_nested_arrays   too_deep at depth 16;
 *             accepted with max_depth 1024 (checked separately).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#ifndef STJWT_TOP
#define STJWT_TOP "."
#endif

#define SUITE STJWT_TOP "/spec/fixtures/vectors/jsontestsuite/test_parsing"


static int
check(const char *s, size_t n, uint32_t depth, int obj, size_t *pos)
{
    return stjwt_json_check(guard_copy(s, n), n, depth, obj, pos);
}


static int
checks(const char *s, int obj)
{
    return check(s, strlen(s), 0, obj, NULL);
}


static int
i_accepted(const char *name)
{
    return strncmp(name, "i_number_", 9) == 0;
}


static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}


static void
test_suite(void)
{
    DIR *d = opendir(SUITE);
    struct dirent *de;
    char *names[400], path[512], *buf = t_alloc(300000);
    size_t n = 0, i, len;
    int ny = 0, nn = 0, ni = 0, bad = 0, want_ok, rc;
    FILE *f;

    ok(d != NULL, "JSONTestSuite at %s", SUITE);
    if (d == NULL) {
        return;
    }
    while ((de = readdir(d)) != NULL && n < ST_N(names)) {
        if (strstr(de->d_name, ".json") != NULL) {
            names[n++] = t_printf("%s", de->d_name);
        }
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), cmp_names);
    ok(n == 318, "318 test files (%zu)", n);

    for (i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/%s", SUITE, names[i]);
        f = fopen(path, "rb");
        if (f == NULL) {
            ok(0, "open %s", names[i]);
            continue;
        }
        len = fread(buf, 1, 300000, f);
        fclose(f);
        rc = check(buf, len, 0, 0, NULL);
        switch (names[i][0]) {
        case 'y':
            want_ok = 1;
            ny++;
            break;
        case 'n':
            want_ok = 0;
            nn++;
            break;
        default:
            want_ok = i_accepted(names[i]);
            ni++;
            break;
        }
        if ((rc == STJWT_OK) != want_ok) {
            bad++;
            diag("%s: got %s", names[i], stjwt_rc_name(rc));
        }
    }
    ok(bad == 0, "JSONTestSuite: %d y_ accepted, %d n_ rejected, %d i_ as "
       "documented (%d wrong)", ny, nn, ni, bad);
    ok(ny == 95 && nn == 188 && ni == 35, "file counts y/n/i");

    snprintf(path, sizeof(path), "%s/i_structure_500_nested_arrays.json",
             SUITE);
    f = fopen(path, "rb");
    len = f ? fread(buf, 1, 300000, f) : 0;
    if (f) {
        fclose(f);
    }
    is_rc(check(buf, len, 1024, 0, NULL), STJWT_OK,
          "500 nested arrays with max_depth 1024");
    is_rc(check(buf, len, 0, 0, NULL), STJWT_E_TOO_DEEP,
          "500 nested arrays with the default cap");
}


/* Independent reference: decode one UTF-8 sequence the long way. */
static int
utf8_ref_valid(const unsigned char *s, size_t n)
{
    unsigned cp, need, min, i;

    if (s[0] < 0x80) {
        return n == 1;
    }
    if ((s[0] & 0xe0) == 0xc0) {
        need = 1, cp = s[0] & 0x1f, min = 0x80;
    } else if ((s[0] & 0xf0) == 0xe0) {
        need = 2, cp = s[0] & 0x0f, min = 0x800;
    } else if ((s[0] & 0xf8) == 0xf0) {
        need = 3, cp = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n != need + 1) {
        return 0;
    }
    for (i = 1; i <= need; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (s[i] & 0x3f);
    }
    return cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
}


static void
test_utf8_sweep(void)
{
    unsigned char s[8];
    unsigned a, b, c, mismatch = 0, tried = 0;
    size_t n;
    static const unsigned leads[] = { 0xe0, 0xe1, 0xed, 0xee, 0xef, 0xf0,
                                      0xf1, 0xf4, 0xf5, 0xf8, 0xff };

    /* every single byte as string content */
    for (a = 0; a < 0x100; a++) {
        int want = a >= 0x20 && a < 0x80 && a != '"' && a != '\\';
        s[0] = '"';
        s[1] = (unsigned char) a;
        s[2] = '"';
        tried++;
        mismatch += want != (check((char *) s, 3, 0, 0, NULL) == STJWT_OK);
    }
    /* every two-byte content with a non-ASCII first byte */
    for (a = 0x80; a < 0x100; a++) {
        for (b = 0; b < 0x100; b++) {
            s[0] = '"';
            s[1] = (unsigned char) a;
            s[2] = (unsigned char) b;
            s[3] = '"';
            tried++;
            mismatch += utf8_ref_valid(s + 1, 2)
                        != (check((char *) s, 4, 0, 0, NULL) == STJWT_OK);
        }
    }
    /* 3- and 4-byte leads with every second byte */
    for (a = 0; a < ST_N(leads); a++) {
        n = leads[a] >= 0xf0 ? 4 : 3;
        for (b = 0; b < 0x100; b++) {
            for (c = 0x7f; c <= 0x80; c++) {
                s[0] = '"';
                s[1] = (unsigned char) leads[a];
                s[2] = (unsigned char) b;
                s[3] = (unsigned char) c;
                s[4] = 0x80;
                s[1 + n] = '"';
                tried++;
                mismatch += utf8_ref_valid(s + 1, n)
                            != (check((char *) s, n + 2, 0, 0, NULL)
                                == STJWT_OK);
            }
        }
    }
    ok(mismatch == 0, "UTF-8 sweep: %u strings agree with the reference "
       "decoder (%u mismatches)", tried, mismatch);
}


static void
test_escape_sweep(void)
{
    char s[32];
    unsigned u, bad = 0;

    for (u = 0; u < 0x10000; u++) {
        int surrogate = u >= 0xd800 && u <= 0xdfff;
        snprintf(s, sizeof(s), "\"\\u%04x\"", u);
        bad += (check(s, 8, 0, 0, NULL) == STJWT_OK) == surrogate;
    }
    ok(bad == 0, "every single \\uXXXX: accepted iff not a surrogate");
    bad = 0;
    for (u = 0; u < 0x10000; u++) {
        int low = u >= 0xdc00 && u <= 0xdfff;
        snprintf(s, sizeof(s), "\"\\uD83D\\u%04X\"", u);
        bad += (check(s, 14, 0, 0, NULL) == STJWT_OK) != low;
    }
    ok(bad == 0, "high surrogate + every \\uXXXX: accepted iff low");
    is_rc(checks("\"\\uD83D\"", 0), STJWT_E_BAD_JSON, "high at the end");
    is_rc(checks("\"\\uD83D\\\"", 0), STJWT_E_BAD_JSON,
          "high then other escape");
    is_rc(checks("\"\\uD83Dx\"", 0), STJWT_E_BAD_JSON, "high then char");
    is_rc(checks("\"\\uD83D\\u\"", 0), STJWT_E_BAD_JSON, "truncated pair");
    is_rc(checks("\"\\u12G4\"", 0), STJWT_E_BAD_JSON, "non-hex digit");
    is_rc(checks("\"\\U0041\"", 0), STJWT_E_BAD_JSON, "\\U");
}


static void
test_objects(void)
{
    size_t pos = 99;

    is_rc(checks("{\"a\":1,\"a\":2}", 1), STJWT_E_DUPLICATE_MEMBER,
          "duplicate name");
    is_rc(check("{\"a\":1,\"a\":2}", 13, 0, 1, &pos),
          STJWT_E_DUPLICATE_MEMBER, "duplicate name (err_pos)");
    ok(pos == 7, "err_pos at the second name (%zu)", pos);
    is_rc(checks("{\"a\":1,\"a\":2}", 0), STJWT_OK,
          "duplicates allowed without require_object");
    is_rc(checks("{\"\\u00e9\":1,\"\xc3\xa9\":2}", 1),
          STJWT_E_DUPLICATE_MEMBER, "escaped and raw U+00E9");
    is_rc(checks("{\"\\/\":1,\"/\":2}", 1), STJWT_E_DUPLICATE_MEMBER,
          "\\/ and /");
    is_rc(checks("{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}", 1),
          STJWT_E_DUPLICATE_MEMBER, "surrogate pair and UTF-8");
    is_rc(checks("{\"a\\u0000\":1,\"a\":2}", 1), STJWT_OK,
          "a\\0 and a differ");
    is_rc(checks("{\"a\":1,\"ab\":2,\"\":3,\"b\":{\"a\":1,\"a\":1}}", 1),
          STJWT_OK, "prefix names, empty name, nested duplicate");
    is_rc(checks("{\"\":1,\"\":2}", 1), STJWT_E_DUPLICATE_MEMBER,
          "empty name twice");
    is_rc(checks("[]", 1), STJWT_E_BAD_JSON, "array when object required");
    is_rc(checks("1", 1), STJWT_E_BAD_JSON, "number when object required");
    is_rc(checks("  {}  ", 1), STJWT_OK, "object with whitespace");
    is_rc(check("{\"a\":1,}", 8, 0, 0, &pos), STJWT_E_BAD_JSON,
          "trailing comma");
    ok(pos == 7, "err_pos at the bad byte (%zu)", pos);
    is_rc(check("{\"a\"", 4, 0, 0, &pos), STJWT_E_BAD_JSON, "truncated");
    ok(pos == 4, "err_pos at the end (%zu)", pos);
    is_rc(check("", 0, 0, 0, &pos), STJWT_E_BAD_JSON, "empty text");
    is_rc(stjwt_json_check(NULL, 0, 0, 0, NULL), STJWT_E_BAD_JSON,
          "NULL, 0");
    is_rc(stjwt_json_check(NULL, 3, 0, 0, NULL), STJWT_E_INVALID_ARG,
          "NULL, 3");
    is_rc(stjwt_json_check("{}", 2, 5000, 0, NULL), STJWT_E_INVALID_ARG,
          "max_depth above 1024");
    {
        /* many members: the sort and the member bound */
        char *big = t_alloc(200000), *p = big;
        int i;
        p += sprintf(p, "{");
        for (i = 0; i < 20000; i++) {
            p += sprintf(p, "%s\"%d\":0", i ? "," : "", (i * 7919) % 20000);
        }
        p += sprintf(p, "}");
        is_rc(check(big, (size_t) (p - big), 0, 1, NULL), STJWT_OK,
              "20000 distinct members");
        p[-1] = ',';
        p += sprintf(p, "\"19999\":1}");
        is_rc(check(big, (size_t) (p - big), 0, 1, &pos),
              STJWT_E_DUPLICATE_MEMBER, "20001st member repeats one");
        p = big;
        p += sprintf(p, "{\"\":0");
        for (i = 0; i < 1000; i++) {
            p += sprintf(p, ",\"%c%c%c\":0", 'a' + i % 26,
                         'a' + i / 26 % 26, 'a' + i / 676);
        }
        p += sprintf(p, "}");
        is_rc(check(big, (size_t) (p - big), 0, 1, NULL), STJWT_OK,
              "dense short names");
    }
}


/* Strings are skipped 16 bytes (SSE2) and then 8 bytes (SWAR) at a time:
 * every byte value at every offset of a string long enough for several
 * steps of both must get the byte-by-byte verdict. */
static void
test_string_offsets(void)
{
    static const size_t lens[] = { 24, 64 };    /* SSE2 + SWAR + tail */
    char buf[72];
    size_t off, bad = 0, li, n, q;
    int b, want, got;

    for (li = 0; li < ST_N(lens); li++) {
        n = lens[li];
        q = n + 1;                              /* the closing quote */
        for (off = 1; off < q; off++) {
            for (b = 0; b < 256; b++) {
                memset(buf, 'a', sizeof(buf));
                buf[0] = '"';
                buf[q] = '"';
                buf[off] = (char) b;
                want = b >= 0x20 && b < 0x80 && b != '"' && b != '\\'
                       ? STJWT_OK : STJWT_E_BAD_JSON;
                got = check(buf, q + 1, 0, 0, NULL);
                if (got != want) {
                    bad++;
                    diag("byte 0x%02x at offset %zu of %zu: rc %d", b, off,
                         n, got);
                }
            }
            memset(buf, 'a', sizeof(buf));
            buf[0] = '"';
            buf[q] = '"';
            if (off + 3 <= q) {
                memcpy(buf + off, "\xe2\x82\xac", 3);
                bad += check(buf, q + 1, 0, 0, NULL) != STJWT_OK;
                memcpy(buf + off, "\xe0\x82\xac", 3);   /* overlong */
                bad += check(buf, q + 1, 0, 0, NULL) != STJWT_E_BAD_JSON;
                memcpy(buf + off, "\xed\xa0\x80", 3);   /* surrogate */
                bad += check(buf, q + 1, 0, 0, NULL) != STJWT_E_BAD_JSON;
                memcpy(buf + off, "\\n\\", 3);          /* bad escape */
                bad += check(buf, q + 1, 0, 0, NULL) != STJWT_E_BAD_JSON;
                memcpy(buf + off, "\\\\a", 3);
                bad += check(buf, q + 1, 0, 0, NULL) != STJWT_OK;
            }
        }
    }
    ok(bad == 0, "every byte at every offset of 24- and 64-byte strings");
}


/* Up to 16 top-level members are checked pairwise, more are sorted; both
 * must compare unescaped names and report the later member. */
static void
test_member_paths(void)
{
    char buf[1024], *p;
    size_t pos = 0;
    int n, i;

    for (n = 15; n <= 18; n++) {
        p = buf;
        p += sprintf(p, "{\"\\u0078\":0");
        for (i = 1; i < n - 1; i++) {
            p += sprintf(p, ",\"m%02d\":%d", i, i);
        }
        p += sprintf(p, ",\"y\":1}");
        is_rc(check(buf, (size_t) (p - buf), 0, 1, NULL), STJWT_OK,
              "%d distinct members", n);
        p -= 7;
        p += sprintf(p, ",\"x\":1}");
        is_rc(check(buf, (size_t) (p - buf), 0, 1, &pos),
              STJWT_E_DUPLICATE_MEMBER,
              "%d members, first (escaped) and last the same", n);
        ok(pos == (size_t) (p - buf) - 6, "%d members: err_pos at the "
           "last name (%zu)", n, pos);
    }
    is_rc(check("{\"a\":1,\"b\":2,\"a\":3}", 19, 0, 1, &pos),
          STJWT_E_DUPLICATE_MEMBER, "a, b, a");
    ok(pos == 13, "a, b, a: err_pos at the third name (%zu)", pos);
    is_rc(checks("{\"ab\":1,\"ac\":2,\"a\":3,\"b\":4,\"abc\":5}", 1),
          STJWT_OK, "same length and first byte, different names");
    is_rc(checks("{\"ab\":1,\"a\\u0000\":2,\"a\":3}", 1), STJWT_OK,
          "a\\0 differs from a and ab");
}


static void
test_depth(void)
{
    char buf[2100];
    int i;

    for (i = 0; i < 16; i++) {
        buf[i] = '[';
        buf[32 - 1 - i] = ']';
    }
    is_rc(check(buf, 32, 0, 0, NULL), STJWT_OK, "depth 16, default cap");
    is_rc(check(buf, 32, 16, 0, NULL), STJWT_OK, "depth 16, cap 16");
    is_rc(check(buf, 32, 15, 0, NULL), STJWT_E_TOO_DEEP, "depth 16, cap 15");
    for (i = 0; i < 1025; i++) {
        buf[i] = '[';
        buf[2050 - 1 - i] = ']';
    }
    is_rc(check(buf + 1, 2048, 1024, 0, NULL), STJWT_OK, "depth 1024");
    is_rc(check(buf, 2050, 1024, 0, NULL), STJWT_E_TOO_DEEP, "depth 1025");
    buf[1024] = '{';
    buf[1025] = '}';
    is_rc(check(buf + 1, 2048, 1024, 0, NULL), STJWT_OK,
          "depth 1024, innermost an object");
}


/* Names of the open objects (64) and nesting (32) that js_plain tracks:
 * at the limit a text is judged, past it "not sure". */
static void
test_js_plain_limits(void)
{
    char buf[2048];
    size_t m;
    int j, names, depth;

    for (names = 64; names <= 65; names++) {
        m = 0;
        buf[m++] = '{';
        for (j = 0; j < names; j++) {
            m += (size_t) snprintf(buf + m, sizeof(buf) - m, "%s\"k%d\":1",
                                   j ? "," : "", j);
        }
        buf[m++] = '}';
        ok(stjwt_json_js_plain(guard_copy(buf, m), m) == (names == 64),
           "js_plain %d names in one object", names);
    }
    for (depth = 32; depth <= 33; depth++) {
        m = 0;
        for (j = 0; j < depth - 1; j++) {
            memcpy(buf + m, "{\"a\":", 5);
            m += 5;
        }
        memcpy(buf + m, "{}", 2);
        m += 2;
        for (j = 0; j < depth - 1; j++) {
            buf[m++] = '}';
        }
        ok(stjwt_json_js_plain(guard_copy(buf, m), m) == (depth == 32),
           "js_plain %d nested objects", depth);
    }
}


/* Each text is given exactly (guard_copy: no byte past len is read). */
static void
test_js_plain(void)
{
    static const struct {
        const char *json;
        int         plain;
    } cases[] = {
        { "{\"sub\":\"u\",\"exp\":1795775124,\"p\":null,\"ok\":true}", 1 },
        { "{\"a\":[1,-2,{}],\"b\":{\"c\":false},\"e\":\"1.5e3 -0\"}", 1 },
        { "{\"n\":123456789012345}", 1 },
        { "{\"n\":1234567890123456}", 0 },
        { "{\"n\":1.5}", 0 },
        { "{\"n\":1e2}", 0 },
        { "{\"n\":1E2}", 0 },
        { "{\"n\":-0}", 0 },
        { "{\"n\":-0.5}", 0 },
        { "{\"n\":-5}", 1 },
        { "{\"n\":0}", 1 },
        { "{\"a\": 1}", 0 },
        { "{\"a\":1}\n", 0 },
        { "{\"a\":\"\\/\"}", 0 },
        { "{\"a\":\"x\\u0041\"}", 0 },
        { "{\"10\":1}", 0 },
        { "{\"a\":{\"0\":1}}", 0 },
        { "{\"x1\":1,\"\":2}", 1 },
        { "{\"a\":\"10\",\"b\":\"0\"}", 1 },
        { "{\"a\":\"\xc3\xa9\"}", 1 },
        { "{\"a\":1,\"a\":2}", 0 },
        { "{\"a\":{\"b\":1,\"b\":2}}", 0 },
        { "{\"x\":{\"y\":{\"z\":1,\"w\":[],\"z\":1}}}", 0 },
        { "{\"a\":{\"b\":1},\"c\":{\"b\":2},\"b\":3}", 1 },
        { "{\"a\":[{\"b\":1},{\"b\":2}],\"b\":[\"b\"]}", 1 },
        { "{\"ab\":1,\"a\":2,\"\":3,\"b\":{\"\":1,\"ab\":2}}", 1 },
        { "{\"a\":1}}", 0 },
        { "\"a\":1", 0 },
        { "\"", 0 },
        { "", 0 },
    };
    size_t i, n;

    for (i = 0; i < ST_N(cases); i++) {
        n = strlen(cases[i].json);
        ok(stjwt_json_js_plain(guard_copy(cases[i].json, n), n)
           == cases[i].plain, "js_plain %s", cases[i].json);
    }
    ok(stjwt_json_js_plain(NULL, 0) == 0, "js_plain NULL");
    test_js_plain_limits();
}


int
main(void)
{
    test_suite();
    test_utf8_sweep();
    test_escape_sweep();
    test_objects();
    test_string_offsets();
    test_member_paths();
    test_depth();
    test_js_plain();
    return done_testing();
}
