/*
 * test_misc.c - version, status names, algorithm names, struct sizes and
 * verifier options.
 */
#include <string.h>

#include "util.h"


static void
test_names(void)
{
    static const char *const names[STJWT_RC_MAX] = {
        "ok", "malformed", "bad_base64", "bad_json", "duplicate_member",
        "too_large", "too_deep", "crit", "bad_header", "alg_not_allowed",
        "unknown_kid", "key_mismatch", "bad_signature", "bad_claim",
        "bad_key", "weak_key", "duplicate_kid", "key_use", "no_keys",
        "invalid_arg", "nomem", "internal"
    };
    int rc, bad = 0;

    for (rc = 0; rc < STJWT_RC_MAX; rc++) {
        bad += strcmp(stjwt_rc_name(rc), names[rc]) != 0;
    }
    ok(bad == 0, "every rc name is the enum name, lower-case");
    ok(strcmp(stjwt_rc_name(STJWT_E_BAD_BASE64), "bad_base64") == 0,
       "bad_base64");
    ok(strcmp(stjwt_rc_name(STJWT_RC_MAX), "unknown") == 0
       && strcmp(stjwt_rc_name(-1), "unknown") == 0
       && strcmp(stjwt_rc_name(1 << 30), "unknown") == 0,
       "out of range: \"unknown\"");
    ok(stjwt_version() == STJWT_VERSION_NUM && stjwt_version() == 101,
       "version 101");
}


static void
test_algs(void)
{
    int a, bad = 0;
    static const char *const not_algs[] = {
        "none", "None", "NONE", "rs256", "RS2560", "RS25", "", "HS256 ",
        "ES256K", "EdDSA\0", "Ed25519", "RSA-OAEP"
    };
    size_t i;

    for (a = 1; a < STJWT_ALG_MAX; a++) {
        bad += stjwt_alg_from_name(alg_name(a), strlen(alg_name(a))) != a;
    }
    ok(bad == 0, "every alg name maps to its id");
    for (i = 0; i < ST_N(not_algs); i++) {
        size_t n = strlen(not_algs[i]) + (i == 9);
        is_rc(stjwt_alg_from_name(not_algs[i], n), STJWT_ALG_NONE,
              "\"%s\" is not an alg", not_algs[i]);
    }
    ok(stjwt_alg_from_name(NULL, 5) == STJWT_ALG_NONE, "NULL name");
    ok(stjwt_alg_from_name("RS256xyz", 5) == STJWT_ALG_RS256,
       "length-delimited name");
}


static void
test_sizes(void)
{
    ok(sizeof(stjwt_result_t) == 128, "sizeof(stjwt_result_t) == 128");
    ok(sizeof(stjwt_options_t) == 16, "sizeof(stjwt_options_t) == 16");
    ok(sizeof(stjwt_keyset_info_t) == 16,
       "sizeof(stjwt_keyset_info_t) == 16");
}


static int
new_rc(uint32_t mask, uint32_t flags, uint32_t len, uint32_t depth)
{
    stjwt_options_t o = { mask, flags, len, depth };
    const char *msg = NULL;
    int rc = -1;
    stjwt_verifier_t *v = stjwt_verifier_new(&o, &rc, &msg);

    if (msg == NULL || (v == NULL) != (rc != STJWT_OK)) {
        ok(0, "verifier_new: errmsg set, NULL iff error");
    }
    stjwt_verifier_free(v);
    return rc;
}


static void
test_options(void)
{
    const char *msg;
    int rc;
    stjwt_verifier_t *v = stjwt_verifier_new(NULL, &rc, &msg);

    ok(v != NULL && rc == STJWT_OK, "NULL options: defaults");
    stjwt_verifier_free(v);
    stjwt_verifier_free(NULL);
    is_rc(new_rc(0, 0, 0, 0), STJWT_OK, "zero options: defaults");
    is_rc(new_rc(0x3ffe, 3, 1 << 24, 1024), STJWT_OK, "every valid option");
    is_rc(new_rc(1, 0, 0, 0), STJWT_E_INVALID_ARG, "alg_mask bit NONE");
    is_rc(new_rc(1u << STJWT_ALG_MAX, 0, 0, 0), STJWT_E_INVALID_ARG,
          "alg_mask bit past the last alg");
    is_rc(new_rc(0, 4, 0, 0), STJWT_E_INVALID_ARG, "unknown flag");
    is_rc(new_rc(0, 0, (1 << 24) + 1, 0), STJWT_E_INVALID_ARG,
          "max_token_len too large");
    is_rc(new_rc(0, 0, 0, 1025), STJWT_E_INVALID_ARG, "max_depth too large");
    is_rc(new_rc(0, 0, 1, 1), STJWT_OK, "tiny limits");
}


int
main(void)
{
    test_names();
    test_algs();
    test_sizes();
    test_options();
    return done_testing();
}
