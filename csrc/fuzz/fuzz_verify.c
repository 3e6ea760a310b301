/*
 * fuzz_verify.c - token bytes -> stjwt_parse() + stjwt_verify_parsed()
 * (must equal) stjwt_verify() against
 * fixed keysets (RSA, EC P-256/384/521, Ed25519; an HMAC secret; legacy
 * v1/v2 seeds).  Invariant: verify fails with parse's code whenever parse
 * fails; an accepted token has a real alg.  The payload members of a
 * parse lie inside its payload, plain strings have no quote, backslash or
 * control byte, a plain number is what strtod reads, and a member's
 * name_id names the listed name equal to its own (0 when none is).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stjwt.h"
#include "fuzz_keys.h"

static stjwt_keyset_t *ks, *ks_hs;
static stjwt_verifier_t *v;

/* The claim names jwt.lua registers, and near misses of them. */
static const char *const names[] = {
    "sub", "exp", "iat", "tId", "rsub", "sessionHandle", "refreshTokenHash1",
    "iss", "parentRefreshTokenHash1", "antiCsrfToken", "userId", "userData",
    "expiryTime", "timeCreated", "nbf", "aud", "jti", "st-ev", "st-role",
    "st-perm", "st-mfa", "s", "su", "subb", "a", "\xc3\xa9",
};
#define N_NAMES (sizeof(names) / sizeof(names[0]))
static size_t name_lens[N_NAMES];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    stjwt_options_t o = { 0x3ffe, 0, 0, 0 };
    const char *msg;
    int rc;

    (void) argc;
    (void) argv;
    ks = stjwt_keyset_new(fuzz_jwks, sizeof(fuzz_jwks) - 1,
                          STJWT_KEYSET_ALLOW_HMAC | STJWT_KEYSET_STRICT,
                          NULL, &rc, &msg);
    ks_hs = stjwt_keyset_new(fuzz_jwks_hmac, sizeof(fuzz_jwks_hmac) - 1,
                             STJWT_KEYSET_ALLOW_HMAC, NULL, &rc, &msg);
    v = stjwt_verifier_new(&o, &rc, &msg);
    for (size_t i = 0; i < N_NAMES; i++) {
        name_lens[i] = strlen(names[i]);
    }
    if (ks == NULL || ks_hs == NULL || v == NULL
        || stjwt_keyset_count(ks) != 6
        || stjwt_verifier_set_names(v, names, name_lens, N_NAMES)
           != STJWT_OK)
    {
        abort();
    }
    return 0;
}


static void
check_members(const stjwt_result_t *r)
{
    const stjwt_member_t *m;
    size_t n = stjwt_payload_members(v, &m), i, k;
    char num[32];

    for (i = 0; i < n; i++) {
        for (k = 0; k < N_NAMES; k++) {
            if (m[i].name_len == name_lens[k]
                && memcmp(m[i].name, names[k], name_lens[k]) == 0)
            {
                break;
            }
        }
        if (m[i].name_id != (k < N_NAMES ? k + 1 : 0)) {
            abort();
        }
        if (m[i].value < r->payload
            || m[i].value + m[i].value_len > r->payload + r->payload_len
            || m[i].type == STJWT_JSON_ABSENT
            || m[i].type > STJWT_JSON_OBJECT)
        {
            abort();
        }
        for (k = 0; m[i].plain && m[i].type == STJWT_JSON_STRING
                    && k < m[i].value_len; k++)
        {
            if (m[i].value[k] == '"' || m[i].value[k] == '\\'
                || (unsigned char) m[i].value[k] < 0x20)
            {
                abort();
            }
        }
        if (m[i].plain && m[i].type == STJWT_JSON_NUMBER) {
            if (m[i].value_len >= sizeof(num)) {
                abort();
            }
            memcpy(num, m[i].value, m[i].value_len);
            num[m[i].value_len] = '\0';
            if (strtod(num, NULL) != m[i].number) {
                abort();
            }
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    stjwt_result_t r;
    const char *msg;
    const stjwt_keyset_t *use;
    int prc, vrc, qrc;

    /* parse, then the signature of what was parsed, must answer as one
     * full verify */
    prc = stjwt_parse(v, (const char *) data, size, &r, &msg);
    if (prc == STJWT_OK) {
        check_members(&r);
    }
    use = r.alg_id >= STJWT_ALG_HS256 ? ks_hs : ks;
    qrc = stjwt_verify_parsed(v, use, (const char *) data, size, &msg);
    vrc = stjwt_verify(v, use, (const char *) data, size, &r, &msg);
    if (qrc != vrc || (prc != STJWT_OK && vrc != prc) || msg == NULL
        || (vrc == STJWT_OK && (r.alg_id == STJWT_ALG_NONE
                                || r.payload_len > size)))
    {
        abort();
    }
    return 0;
}
