/*
 * util.h - helpers for the libstjwt TAP tests: a tiny TAP writer, guard
 * page copies, key generation, public JWK export and JWS signing.
 * Everything a helper returns is freed by done_testing().
 */
#ifndef STJWT_TEST_UTIL_H
#define STJWT_TEST_UTIL_H

#include <stddef.h>

#include <openssl/evp.h>

#include "stjwt.h"

#define ST_N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- TAP ---- */
void tap_ok(int pass, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void tap_is_rc(int got, int want, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int done_testing(void);

#define ok(c, ...) tap_ok(!!(c), __FILE__, __LINE__, __VA_ARGS__)
#define is_rc(got, want, ...) \
    tap_is_rc((got), (want), __FILE__, __LINE__, __VA_ARGS__)

/* ---- memory released by done_testing() ---- */
void *t_alloc(size_t n);
char *t_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *t_strndup(const char *s, size_t n);
EVP_PKEY *t_pkey(EVP_PKEY *k);            /* track for EVP_PKEY_free */

/* A copy of s whose last byte is followed by a PROT_NONE page, so any
 * read past the end faults.  Valid until the next call. */
const char *guard_copy(const void *s, size_t len);

/* ---- encoding ---- */
char *b64url(const void *p, size_t n);
char *b64std(const void *p, size_t n);   /* with '=' padding */

/* ---- keys ---- */
EVP_PKEY *gen_rsa(int bits);
EVP_PKEY *gen_ec(const char *group);     /* "P-256", "P-384", "P-521" */
EVP_PKEY *gen_ed25519(void);

/* Public JWK JSON.  crv is the JWK curve for EC ("P-256"...), NULL
 * otherwise.  extra (may be NULL) is appended as raw members. */
char *jwk_pub(EVP_PKEY *k, const char *crv, const char *kid,
    const char *extra);
char *jwk_oct(const unsigned char *k, size_t n, const char *kid,
    const char *extra);

/* JOSE signature bytes (r||s for ECDSA) over msg. */
unsigned char *sign_raw(EVP_PKEY *k, const unsigned char *secret,
    size_t secret_len, int alg, const char *msg, size_t len,
    size_t *siglen);

/* Compact JWS: b64url(header) "." b64url(payload) "." b64url(sig). */
char *make_jws(EVP_PKEY *k, const unsigned char *secret, size_t secret_len,
    int alg, const char *header, const char *payload);

/* Same, with explicit segments (no encoding of header/payload). */
char *sign_segments(EVP_PKEY *k, const unsigned char *secret,
    size_t secret_len, int alg, const char *h64, const char *p64,
    int std_b64_sig);

stjwt_keyset_t *ks_new(const char *json, uint32_t flags, int *rc);

const char *alg_name(int alg);
const char *hash_of(int alg);            /* "SHA256", ... (EVP name) */

#endif
