/*
 * json.c - strict RFC 8259 validator with a top-level member index.
 *
 * One pass, no recursion (depth is a bit stack), no allocation: the
 * caller hands in the member/name workspace.  Accepts exactly RFC 8259:
 * whitespace is SP/HT/LF/CR, numbers follow the grammar, strings are valid
 * UTF-8 (no overlongs, no surrogates, <= U+10FFFF) with no raw control
 * characters, and \u escapes must not leave a lone surrogate.
 * Duplicate detection compares unescaped names, so "a" and "\u0061" are
 * the same member (JSON.parse would keep the last one; we refuse).
 */
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "stjwt_int.h"

#define IS_WS(c) ((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\r')
#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')

enum { S_VALUE, S_NAME, S_AFTER };


size_t
st_json_skip_ws(const unsigned char *s, size_t len, size_t i)
{
    while (i < len && IS_WS(s[i])) {
        i++;
    }
    return i;
}


static int
hexval(unsigned char c)
{
    if (IS_DIGIT(c)) {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}


/* Four hex digits at s[i..i+3]; -1 if out of bounds or not hex. */
static int
hex4(const unsigned char *s, size_t len, size_t i, unsigned *out)
{
    unsigned v = 0;
    size_t k;
    int h;

    if (i > len || len - i < 4) {
        return -1;
    }
    for (k = 0; k < 4; k++) {
        h = hexval(s[i + k]);
        if (h < 0) {
            return -1;
        }
        v = v << 4 | (unsigned) h;
    }
    *out = v;
    return 0;
}


/* Length of the valid UTF-8 sequence at s (Unicode table 3-7), 0 if the
 * bytes are not well-formed. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    unsigned lo = 0x80, hi = 0xbf;

#define CONT(b) ((b) >= 0x80 && (b) <= 0xbf)
    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        return n >= 2 && CONT(s[1]) ? 2 : 0;
    }
    if (c >= 0xe0 && c <= 0xef) {
        if (c == 0xe0) {
            lo = 0xa0;                  /* overlong */
        } else if (c == 0xed) {
            hi = 0x9f;                  /* UTF-16 surrogates */
        }
        return n >= 3 && s[1] >= lo && s[1] <= hi && CONT(s[2]) ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (c == 0xf0) {
            lo = 0x90;                  /* overlong */
        } else if (c == 0xf4) {
            hi = 0x8f;                  /* > U+10FFFF */
        }
        return n >= 4 && s[1] >= lo && s[1] <= hi && CONT(s[2])
               && CONT(s[3]) ? 4 : 0;
    }
    return 0;
#undef CONT
}


/* stjwt_json_js_plain(): names and objects it keeps track of at once. */
#define ST_JS_PLAIN_NAMES 64
#define ST_JS_PLAIN_DEPTH 32

#define ST_ONES 0x0101010101010101ull
#define ST_HIGH 0x8080808080808080ull

/* Index of the first byte at or after i that is not printable ASCII other
 * than '"' and '\\', or the start of the last short run.  Sixteen bytes a
 * step with SSE2 (every x86-64 CPU has it; a signed "below 0x20" also
 * catches every byte >= 0x80), then eight (SWAR): each SWAR test flags its
 * first hit exactly; later flags may be false, so only the lowest one is
 * used. */
static size_t
plain_run(const unsigned char *s, size_t len, size_t i)
{
    uint64_t x, q, b, m;

#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);

    while (len - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *) (const void *) (s + i));
        __m128i hit = _mm_or_si128(
                          _mm_or_si128(_mm_cmpeq_epi8(v, quote),
                                       _mm_cmpeq_epi8(v, bslash)),
                          _mm_cmplt_epi8(v, space));
        unsigned mask = (unsigned) _mm_movemask_epi8(hit);

        if (mask != 0) {
            return i + (size_t) __builtin_ctz(mask);
        }
        i += 16;
    }
#endif
    while (len - i >= 8) {
        memcpy(&x, s + i, 8);
        q = x ^ (ST_ONES * '"');
        b = x ^ (ST_ONES * '\\');
        m = (x | ((x - ST_ONES * 0x20) & ~x) | ((q - ST_ONES) & ~q)
             | ((b - ST_ONES) & ~b)) & ST_HIGH;
        if (m != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            i += (size_t) __builtin_ctzll(m) >> 3;
#endif
            return i;
        }
        i += 8;
    }
    return i;
}


/* s[*pi] is '"'.  On success *pi is just past the closing quote and the
 * result is 1 if the string has a backslash escape, else 0; -1 if it is
 * not a valid string. */
static int
scan_string(const unsigned char *s, size_t len, size_t *pi)
{
    size_t i = *pi + 1, n;
    unsigned u, lo;
    unsigned char c;
    int esc = 0;

    while (i < len) {
        i = plain_run(s, len, i);
        if (i >= len) {
            break;
        }
        c = s[i];
        if (c == '"') {
            *pi = i + 1;
            return esc;
        }
        if (c == '\\') {
            esc = 1;
            if (++i >= len) {
                break;
            }
            c = s[i];
            if (c == 'u') {
                if (hex4(s, len, i + 1, &u) != 0) {
                    break;
                }
                i += 5;
                if (u >= 0xdc00 && u <= 0xdfff) {
                    break;              /* lone low surrogate */
                }
                if (u >= 0xd800 && u <= 0xdbff) {
                    if (i + 2 > len || s[i] != '\\' || s[i + 1] != 'u'
                        || hex4(s, len, i + 2, &lo) != 0
                        || lo < 0xdc00 || lo > 0xdfff)
                    {
                        break;          /* lone high surrogate */
                    }
                    i += 6;
                }
                continue;
            }
            if (c != '"' && c != '\\' && c != '/' && c != 'b' && c != 'f'
                && c != 'n' && c != 'r' && c != 't')
            {
                break;
            }
            i++;
            continue;
        }
        if (c < 0x20) {
            break;
        }
        if (c < 0x80) {
            i++;
            continue;
        }
        n = utf8_seq(s + i, len - i);
        if (n == 0) {
            break;
        }
        i += n;
    }
    *pi = i;
    return -1;
}


static int
scan_digits(const unsigned char *s, size_t len, size_t *pi)
{
    size_t i = *pi;

    if (i >= len || !IS_DIGIT(s[i])) {
        return -1;
    }
    while (i < len && IS_DIGIT(s[i])) {
        i++;
    }
    *pi = i;
    return 0;
}


/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int
scan_number(const unsigned char *s, size_t len, size_t *pi)
{
    size_t i = *pi;

    if (s[i] == '-') {
        i++;
    }
    if (i < len && s[i] == '0') {
        i++;
    } else if (scan_digits(s, len, &i) != 0) {
        goto bad;
    }
    if (i < len && s[i] == '.') {
        i++;
        if (scan_digits(s, len, &i) != 0) {
            goto bad;
        }
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-')) {
            i++;
        }
        if (scan_digits(s, len, &i) != 0) {
            goto bad;
        }
    }
    *pi = i;
    return 0;

bad:
    *pi = i;
    return -1;
}


static int
scan_literal(const unsigned char *s, size_t len, size_t *pi,
    const char *lit, size_t n)
{
    if (len - *pi < n || memcmp(s + *pi, lit, n) != 0) {
        return -1;
    }
    *pi += n;
    return 0;
}


static uint32_t
type_of(unsigned char c)
{
    switch (c) {
    case '{': return STJWT_JSON_OBJECT;
    case '[': return STJWT_JSON_ARRAY;
    case '"': return STJWT_JSON_STRING;
    case 't': return STJWT_JSON_TRUE;
    case 'f': return STJWT_JSON_FALSE;
    case 'n': return STJWT_JSON_NULL;
    default:  return STJWT_JSON_NUMBER;
    }
}


size_t
st_json_unescape(const unsigned char *s, size_t len, char *dst)
{
    size_t i = 1, o = 0;
    unsigned u, lo;
    unsigned char c;

    /* s[0] is the opening quote; the text was validated by the scanner. */
    while (i < len && s[i] != '"') {
        c = s[i];
        if (c != '\\') {
            dst[o++] = (char) c;
            i++;
            continue;
        }
        c = s[i + 1];
        i += 2;
        switch (c) {
        case 'b': dst[o++] = '\b'; continue;
        case 'f': dst[o++] = '\f'; continue;
        case 'n': dst[o++] = '\n'; continue;
        case 'r': dst[o++] = '\r'; continue;
        case 't': dst[o++] = '\t'; continue;
        case 'u': break;
        default:  dst[o++] = (char) c; continue;
        }
        (void) hex4(s, len, i, &u);
        i += 4;
        if (u >= 0xd800 && u <= 0xdbff) {
            (void) hex4(s, len, i + 2, &lo);
            i += 6;
            u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
        }
        if (u < 0x80) {
            dst[o++] = (char) u;
        } else if (u < 0x800) {
            dst[o++] = (char) (0xc0 | u >> 6);
            dst[o++] = (char) (0x80 | (u & 0x3f));
        } else if (u < 0x10000) {
            dst[o++] = (char) (0xe0 | u >> 12);
            dst[o++] = (char) (0x80 | ((u >> 6) & 0x3f));
            dst[o++] = (char) (0x80 | (u & 0x3f));
        } else {
            dst[o++] = (char) (0xf0 | u >> 18);
            dst[o++] = (char) (0x80 | ((u >> 12) & 0x3f));
            dst[o++] = (char) (0x80 | ((u >> 6) & 0x3f));
            dst[o++] = (char) (0x80 | (u & 0x3f));
        }
    }
    return o;
}


size_t
st_json_skip(const unsigned char *s, size_t len, size_t i)
{
    size_t depth = 0;

    if (i >= len) {
        return len;
    }
    if (s[i] != '"' && s[i] != '{' && s[i] != '[') {
        while (i < len && !IS_WS(s[i]) && s[i] != ',' && s[i] != ']'
               && s[i] != '}')
        {
            i++;
        }
        return i;
    }
    while (i < len) {
        switch (s[i]) {
        case '"':
            for (i++; i < len && s[i] != '"'; i++) {
                if (s[i] == '\\') {
                    i++;
                }
            }
            break;
        case '{':
        case '[':
            depth++;
            break;
        case '}':
        case ']':
            depth--;
            break;
        default:
            break;
        }
        i++;
        if (depth == 0) {
            return i;
        }
    }
    return len;
}


static int
member_cmp(const st_jmember_t *a, const char *bname, size_t blen)
{
    size_t n = a->name_len < blen ? a->name_len : blen;
    int c = n ? memcmp(a->name, bname, n) : 0;

    if (c != 0) {
        return c;
    }
    return (a->name_len > blen) - (a->name_len < blen);
}


static int
member_cmp2(const st_jmember_t *a, const st_jmember_t *b)
{
    return member_cmp(a, b->name, b->name_len);
}


static int
same_name(const st_jmember_t *a, const char *name, size_t len)
{
    return a->name_len == len
           && (len == 0 || (a->name[0] == name[0]
                            && memcmp(a->name, name, len) == 0));
}


static void
sift_down(st_jmember_t *m, size_t root, size_t end)
{
    st_jmember_t tmp;
    size_t child;

    while ((child = 2 * root + 1) < end) {
        if (child + 1 < end && member_cmp2(&m[child], &m[child + 1])
                               < 0)
        {
            child++;
        }
        if (member_cmp2(&m[root], &m[child]) >= 0) {
            return;
        }
        tmp = m[root];
        m[root] = m[child];
        m[child] = tmp;
        root = child;
    }
}


/* Heapsort: O(n log n) whatever names an attacker picks, no recursion,
 * no allocation (a hash table would need a secret seed). */
static void
sort_members(st_jmember_t *m, size_t n)
{
    st_jmember_t tmp;
    size_t start, end;

    if (n < 2) {
        return;
    }
    for (start = n / 2; start-- > 0;) {
        sift_down(m, start, n);
    }
    for (end = n - 1; end > 0; end--) {
        tmp = m[0];
        m[0] = m[end];
        m[end] = tmp;
        sift_down(m, 0, end);
    }
}


size_t
st_json_members_cap(size_t len)
{
    /* The smallest member, "":0 plus a separator, takes 5 bytes. */
    return len / 4 + 2;
}


int
st_json_scan(const unsigned char *s, size_t len, uint32_t max_depth,
    st_jobj_t *obj, size_t *err_pos)
{
    uint64_t is_obj[ST_JSON_DEPTH_LIMIT / 64] = { 0 };
    st_jmember_t *m = NULL;
    size_t i, j, k, start, names_len = 0;
    uint32_t depth = 0;
    int state = S_VALUE, rc = STJWT_E_BAD_JSON, esc;
    unsigned char c;

    if (max_depth > ST_JSON_DEPTH_LIMIT) {
        max_depth = ST_JSON_DEPTH_LIMIT;
    }
    if (obj != NULL) {
        obj->n = 0;
    }
    i = st_json_skip_ws(s, len, 0);
    if (obj != NULL && (i >= len || s[i] != '{')) {
        goto done;
    }

    for (;;) {
        switch (state) {
        case S_VALUE:
            i = st_json_skip_ws(s, len, i);
            if (i >= len) {
                goto done;
            }
            c = s[i];
            if (m != NULL && depth == 1) {
                m->val_off = (uint32_t) i;
                m->type = (uint16_t) type_of(c);
            }
            if (c == '{' || c == '[') {
                if (depth >= max_depth) {
                    rc = STJWT_E_TOO_DEEP;
                    goto done;
                }
                if (c == '{') {
                    is_obj[depth / 64] |= (uint64_t) 1 << (depth % 64);
                } else {
                    is_obj[depth / 64] &= ~((uint64_t) 1 << (depth % 64));
                }
                depth++;
                i = st_json_skip_ws(s, len, i + 1);
                if (i < len && s[i] == (c == '{' ? '}' : ']')) {
                    i++;
                    depth--;
                    state = S_AFTER;
                } else {
                    state = c == '{' ? S_NAME : S_VALUE;
                }
                break;
            }
            if (c == '"') {
                esc = scan_string(s, len, &i);
                if (esc < 0) {
                    goto done;
                }
                if (m != NULL && depth == 1) {
                    m->val_esc = (uint16_t) esc;
                }
            } else if (c == 't') {
                if (scan_literal(s, len, &i, "true", 4) != 0) {
                    goto done;
                }
            } else if (c == 'f') {
                if (scan_literal(s, len, &i, "false", 5) != 0) {
                    goto done;
                }
            } else if (c == 'n') {
                if (scan_literal(s, len, &i, "null", 4) != 0) {
                    goto done;
                }
            } else if (c == '-' || IS_DIGIT(c)) {
                if (scan_number(s, len, &i) != 0) {
                    goto done;
                }
            } else {
                goto done;
            }
            state = S_AFTER;
            break;

        case S_NAME:
            if (i >= len || s[i] != '"') {
                goto done;
            }
            start = i;
            esc = scan_string(s, len, &i);
            if (esc < 0) {
                goto done;
            }
            if (obj != NULL && depth == 1) {
                if (obj->n >= obj->cap_mem
                    || obj->cap_names - names_len < i - start)
                {
                    rc = STJWT_E_INTERNAL;      /* workspace undersized */
                    goto done;
                }
                m = &obj->mem[obj->n++];
                m->raw_off = (uint32_t) start;
                if (esc) {
                    m->name = obj->names + names_len;
                    m->name_len = (uint32_t) st_json_unescape(s + start,
                                      i - start, obj->names + names_len);
                    names_len += m->name_len;
                } else {
                    m->name = (const char *) s + start + 1;
                    m->name_len = (uint32_t) (i - start - 2);
                }
                m->val_off = 0;
                m->val_len = 0;
                m->val_esc = 0;
            }
            i = st_json_skip_ws(s, len, i);
            if (i >= len || s[i] != ':') {
                goto done;
            }
            i++;
            state = S_VALUE;
            break;

        default: /* S_AFTER: a value ended at i */
            if (m != NULL && depth == 1) {
                m->val_len = (uint32_t) (i - m->val_off);
                m = NULL;
            }
            i = st_json_skip_ws(s, len, i);
            if (depth == 0) {
                if (i != len) {
                    goto done;
                }
                rc = STJWT_OK;
                goto done;
            }
            if (i >= len) {
                goto done;
            }
            c = s[i];
            if (is_obj[(depth - 1) / 64] >> ((depth - 1) % 64) & 1) {
                if (c == ',') {
                    i = st_json_skip_ws(s, len, i + 1);
                    state = S_NAME;
                } else if (c == '}') {
                    i++;
                    depth--;
                } else {
                    goto done;
                }
            } else {
                if (c == ',') {
                    i++;
                    state = S_VALUE;
                } else if (c == ']') {
                    i++;
                    depth--;
                } else {
                    goto done;
                }
            }
            break;
        }
    }

done:
    if (rc == STJWT_OK && obj != NULL && obj->n <= ST_JSON_PAIRWISE_MAX) {
        for (k = 1; k < obj->n && rc == STJWT_OK; k++) {
            for (j = 0; j < k; j++) {
                if (same_name(&obj->mem[j], obj->mem[k].name,
                              obj->mem[k].name_len))
                {
                    rc = STJWT_E_DUPLICATE_MEMBER;
                    i = obj->mem[k].raw_off;
                    break;
                }
            }
        }
    } else if (rc == STJWT_OK && obj != NULL) {
        sort_members(obj->mem, obj->n);
        for (k = 1; k < obj->n; k++) {
            if (member_cmp2(&obj->mem[k - 1], &obj->mem[k]) == 0) {
                rc = STJWT_E_DUPLICATE_MEMBER;
                i = obj->mem[k - 1].raw_off > obj->mem[k].raw_off
                    ? obj->mem[k - 1].raw_off : obj->mem[k].raw_off;
                break;
            }
        }
    }
    if (err_pos != NULL) {
        *err_pos = rc == STJWT_OK ? 0 : (i < len ? i : len);
    }
    return rc;
}


const st_jmember_t *
st_json_find(const st_jobj_t *obj, const char *name, size_t len)
{
    size_t lo = 0, hi = obj->n, mid;
    int c;

    if (obj->n <= ST_JSON_PAIRWISE_MAX) {
        for (mid = 0; mid < obj->n; mid++) {
            if (same_name(&obj->mem[mid], name, len)) {
                return &obj->mem[mid];
            }
        }
        return NULL;
    }
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = member_cmp(&obj->mem[mid], name, len);
        if (c == 0) {
            return &obj->mem[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}


int
stjwt_json_check(const char *json, size_t len, uint32_t max_depth,
    int require_object, size_t *err_pos)
{
    st_jobj_t obj;
    int rc;

    if (err_pos != NULL) {
        *err_pos = 0;
    }
    if ((json == NULL && len) || max_depth > ST_JSON_DEPTH_LIMIT) {
        return STJWT_E_INVALID_ARG;
    }
    if (max_depth == 0) {
        max_depth = ST_DEFAULT_MAX_DEPTH;
    }
    if (!require_object) {
        return st_json_scan((const unsigned char *) json, len, max_depth,
                            NULL, err_pos);
    }
    if (len > UINT32_MAX) {
        return STJWT_E_TOO_LARGE;       /* member offsets are 32-bit */
    }

    /* Not a hot-path function: the workspace is allocated per call. */
    memset(&obj, 0, sizeof(obj));
    obj.cap_mem = st_json_members_cap(len);
    obj.cap_names = len;
    obj.mem = malloc(obj.cap_mem * sizeof(st_jmember_t));
    obj.names = malloc(len ? len : 1);
    if (obj.mem == NULL || obj.names == NULL) {
        rc = STJWT_E_NOMEM;
        goto done;
    }
    rc = st_json_scan((const unsigned char *) json, len, max_depth, &obj,
                      err_pos);

done:
    free(obj.mem);
    free(obj.names);
    return rc;
}


int
stjwt_json_js_plain(const char *json, size_t len)
{
    const unsigned char *s = (const unsigned char *) json;
    size_t i = 0, open, k, n;
    /* The member names of the open objects, innermost last: JSON.parse
     * keeps one member of a repeated name, so such a text is printed
     * differently.  More names or objects than these hold: "not sure". */
    size_t name_at[ST_JS_PLAIN_NAMES], name_len[ST_JS_PLAIN_NAMES];
    size_t frame[ST_JS_PLAIN_DEPTH];
    size_t depth = 0, names = 0;
    unsigned run = 0;
    unsigned char c;

    if (json == NULL || len == 0) {
        return 0;
    }
    while (i < len) {
        c = s[i];
        if (c == '{') {
            if (depth == ST_JS_PLAIN_DEPTH) {
                return 0;
            }
            frame[depth++] = names;
            run = 0;
            i++;
            continue;
        }
        if (c == '}') {
            if (depth == 0) {
                return 0;
            }
            names = frame[--depth];
            run = 0;
            i++;
            continue;
        }
        if (c == '"') {
            open = i;
            if (scan_string(s, len, &i) != 0) {
                return 0;       /* an escape (printed again), or no string */
            }
            if (i < len && s[i] == ':') {
                n = i - open - 2;       /* the name, without its quotes */
                if (n > 0 && IS_DIGIT(s[open + 1])) {
                    return 0;           /* a name that may be an index */
                }
                if (depth == 0 || names == ST_JS_PLAIN_NAMES) {
                    return 0;
                }
                for (k = frame[depth - 1]; k < names; k++) {
                    if (name_len[k] == n
                        && memcmp(s + name_at[k], s + open + 1, n) == 0)
                    {
                        return 0;       /* a repeated name */
                    }
                }
                name_at[names] = open + 1;
                name_len[names++] = n;
            }
            run = 0;
            continue;
        }
        if (IS_DIGIT(c)) {
            if (++run > 15) {
                return 0;               /* may lose digits in a double */
            }
            i++;
            continue;
        }
        if (c <= ' ' || c == '.' || c == '\\'
            || (run > 0 && (c == 'e' || c == 'E'))
            || (c == '-' && i + 1 < len && s[i + 1] == '0'))
        {
            return 0;                   /* space, fraction, exponent, -0 */
        }
        run = 0;
        i++;
    }
    return 1;
}
