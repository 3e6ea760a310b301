/*
 * stjwt.c - version, status names, algorithm table.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <string.h>
#include <time.h>

#include "stjwt_int.h"

/* These structs are mirrored by the LuaJIT cdef; a layout change must be
 * made on both sides (x86_64 / LP64 sizes). */
#if defined(__x86_64__) || defined(__aarch64__)
_Static_assert(sizeof(stjwt_result_t) == 128,
               "stjwt_result_t layout changed: update ffi.lua");
_Static_assert(sizeof(stjwt_options_t) == 16,
               "stjwt_options_t layout changed: update ffi.lua");
_Static_assert(sizeof(stjwt_keyset_info_t) == 16,
               "stjwt_keyset_info_t layout changed: update ffi.lua");
_Static_assert(sizeof(stjwt_detached_t) == 56,
               "stjwt_detached_t layout changed: update ffi.lua");
_Static_assert(sizeof(stjwt_member_t) == 48,
               "stjwt_member_t layout changed: update ffi.lua");
#endif
_Static_assert(STJWT_ALG_MAX <= 32, "alg_mask is 32 bits");


static const char *const rc_names[STJWT_RC_MAX] = {
    [STJWT_OK] = "ok",
    [STJWT_E_MALFORMED] = "malformed",
    [STJWT_E_BAD_BASE64] = "bad_base64",
    [STJWT_E_BAD_JSON] = "bad_json",
    [STJWT_E_DUPLICATE_MEMBER] = "duplicate_member",
    [STJWT_E_TOO_LARGE] = "too_large",
    [STJWT_E_TOO_DEEP] = "too_deep",
    [STJWT_E_CRIT] = "crit",
    [STJWT_E_BAD_HEADER] = "bad_header",
    [STJWT_E_ALG_NOT_ALLOWED] = "alg_not_allowed",
    [STJWT_E_UNKNOWN_KID] = "unknown_kid",
    [STJWT_E_KEY_MISMATCH] = "key_mismatch",
    [STJWT_E_BAD_SIGNATURE] = "bad_signature",
    [STJWT_E_BAD_CLAIM] = "bad_claim",
    [STJWT_E_BAD_KEY] = "bad_key",
    [STJWT_E_WEAK_KEY] = "weak_key",
    [STJWT_E_DUPLICATE_KID] = "duplicate_kid",
    [STJWT_E_KEY_USE] = "key_use",
    [STJWT_E_NO_KEYS] = "no_keys",
    [STJWT_E_INVALID_ARG] = "invalid_arg",
    [STJWT_E_NOMEM] = "nomem",
    [STJWT_E_INTERNAL] = "internal",
};


const st_alg_info_t st_alg_info[STJWT_ALG_MAX] = {
    [STJWT_ALG_NONE]  = { "none",  ST_KTY_NONE, ST_HASH_NONE, 0, 0 },
    [STJWT_ALG_RS256] = { "RS256", ST_KTY_RSA, ST_HASH_SHA256, 0, 0 },
    [STJWT_ALG_RS384] = { "RS384", ST_KTY_RSA, ST_HASH_SHA384, 0, 0 },
    [STJWT_ALG_RS512] = { "RS512", ST_KTY_RSA, ST_HASH_SHA512, 0, 0 },
    [STJWT_ALG_PS256] = { "PS256", ST_KTY_RSA, ST_HASH_SHA256, 0, 1 },
    [STJWT_ALG_PS384] = { "PS384", ST_KTY_RSA, ST_HASH_SHA384, 0, 1 },
    [STJWT_ALG_PS512] = { "PS512", ST_KTY_RSA, ST_HASH_SHA512, 0, 1 },
    [STJWT_ALG_ES256] = { "ES256", ST_KTY_EC, ST_HASH_SHA256,
                          ST_CRV_P256, 0 },
    [STJWT_ALG_ES384] = { "ES384", ST_KTY_EC, ST_HASH_SHA384,
                          ST_CRV_P384, 0 },
    [STJWT_ALG_ES512] = { "ES512", ST_KTY_EC, ST_HASH_SHA512,
                          ST_CRV_P521, 0 },
    [STJWT_ALG_EDDSA] = { "EdDSA", ST_KTY_OKP, ST_HASH_NONE,
                          ST_CRV_ED25519, 0 },
    [STJWT_ALG_HS256] = { "HS256", ST_KTY_OCT, ST_HASH_SHA256, 0, 0 },
    [STJWT_ALG_HS384] = { "HS384", ST_KTY_OCT, ST_HASH_SHA384, 0, 0 },
    [STJWT_ALG_HS512] = { "HS512", ST_KTY_OCT, ST_HASH_SHA512, 0, 0 },
};

const char *const st_hash_name[ST_HASH_MAX] = {
    "SHA256", "SHA384", "SHA512"
};

const size_t st_hash_len[ST_HASH_MAX] = { 32, 48, 64 };


int
stjwt_version(void)
{
    return STJWT_VERSION_NUM;
}


double
stjwt_now_ms(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        return 0;
    }
    return (double) ts.tv_sec * 1000 + (double) (ts.tv_nsec / 1000000);
}


const char *
stjwt_rc_name(int rc)
{
    if (rc < 0 || rc >= STJWT_RC_MAX || rc_names[rc] == NULL) {
        return "unknown";
    }
    return rc_names[rc];
}


int
stjwt_alg_from_name(const char *name, size_t len)
{
    int i;

    if (name == NULL) {
        return STJWT_ALG_NONE;
    }
    /* Exact, case-sensitive match (RFC 7515 4.1.1); "none" in any case
     * stays STJWT_ALG_NONE because index 0 is skipped. */
    for (i = STJWT_ALG_NONE + 1; i < STJWT_ALG_MAX; i++) {
        const char *n = st_alg_info[i].name;
        if (strlen(n) == len && memcmp(n, name, len) == 0) {
            return i;
        }
    }
    return STJWT_ALG_NONE;
}
