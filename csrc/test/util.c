/*
 * util.c - see util.h.
 */
#define _GNU_SOURCE

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "util.h"

static int tap_n, tap_failed;

typedef struct {
    void *p;
    void (*fn)(void *);
} tracked_t;

static tracked_t *tracked;
static size_t n_tracked, cap_tracked;

static unsigned char *guard_base;
static size_t guard_room;

#define GUARD_PAGES 256


static void
die(const char *what)
{
    fprintf(stderr, "test helper failed: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(2);
}


static void
track(void *p, void (*fn)(void *))
{
    if (n_tracked == cap_tracked) {
        cap_tracked = cap_tracked ? cap_tracked * 2 : 256;
        tracked = realloc(tracked, cap_tracked * sizeof(*tracked));
        if (tracked == NULL) {
            die("realloc");
        }
    }
    tracked[n_tracked].p = p;
    tracked[n_tracked].fn = fn;
    n_tracked++;
}


void
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    tap_n++;
    printf("%s %d - ", pass ? "ok" : "not ok", tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!pass) {
        tap_failed++;
        printf("#   failed at %s line %d\n", file, line);
    }
    fflush(stdout);
}


void
tap_is_rc(int got, int want, const char *file, int line, const char *fmt,
    ...)
{
    va_list ap;
    char msg[512];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tap_ok(got == want, file, line, "%s", msg);
    if (got != want) {
        printf("#          got: %s\n#     expected: %s\n",
               stjwt_rc_name(got), stjwt_rc_name(want));
    }
}


void
diag(const char *fmt, ...)
{
    va_list ap;

    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}


int
done_testing(void)
{
    size_t i;

    printf("1..%d\n", tap_n);
    for (i = n_tracked; i-- > 0;) {
        tracked[i].fn(tracked[i].p);
    }
    free(tracked);
    if (guard_base != NULL) {
        munmap(guard_base, (GUARD_PAGES + 1) * (size_t) getpagesize());
    }
    return tap_failed ? 1 : 0;
}


void *
t_alloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);

    if (p == NULL) {
        die("calloc");
    }
    track(p, free);
    return p;
}


char *
t_printf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    s = t_alloc((size_t) n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t) n + 1, fmt, ap);
    va_end(ap);
    return s;
}


char *
t_strndup(const char *s, size_t n)
{
    char *p = t_alloc(n + 1);

    memcpy(p, s, n);
    return p;
}


static void
t_pkey_free(void *p)
{
    EVP_PKEY_free(p);
}


EVP_PKEY *
t_pkey(EVP_PKEY *k)
{
    if (k == NULL) {
        die("key generation");
    }
    track(k, t_pkey_free);
    return k;
}


const char *
guard_copy(const void *s, size_t len)
{
    size_t page = (size_t) getpagesize();

    if (guard_base == NULL) {
        guard_base = mmap(NULL, (GUARD_PAGES + 1) * page,
                          PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE,
                          -1, 0);
        if (guard_base == MAP_FAILED) {
            die("mmap");
        }
        if (mprotect(guard_base + GUARD_PAGES * page, page, PROT_NONE)) {
            die("mprotect");
        }
        guard_room = GUARD_PAGES * page;
    }
    if (len > guard_room) {
        die("guard_copy: input too long");
    }
    memcpy(guard_base + guard_room - len, s, len);
    return (const char *) guard_base + guard_room - len;
}


char *
b64url(const void *p, size_t n)
{
    char *s = t_alloc((n + 2) / 3 * 4 + 1), *q;
    size_t len = stjwt_b64_encode(p, n, s);

    for (q = s; q < s + len; q++) {
        if (*q == '+') {
            *q = '-';
        } else if (*q == '/') {
            *q = '_';
        } else if (*q == '=') {
            *q = '\0';
            break;
        }
    }
    return s;
}


char *
b64std(const void *p, size_t n)
{
    char *s = t_alloc((n + 2) / 3 * 4 + 1);

    stjwt_b64_encode(p, n, s);
    return s;
}


static EVP_PKEY *
keygen(const char *type, const OSSL_PARAM *params)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *k = NULL;

    if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1
        || (params && EVP_PKEY_CTX_set_params(ctx, params) != 1)
        || EVP_PKEY_keygen(ctx, &k) != 1)
    {
        die("keygen");
    }
    EVP_PKEY_CTX_free(ctx);
    return t_pkey(k);
}


EVP_PKEY *
gen_rsa(int bits)
{
    unsigned b = (unsigned) bits;
    OSSL_PARAM params[] = {
        OSSL_PARAM_uint(OSSL_PKEY_PARAM_RSA_BITS, &b),
        OSSL_PARAM_END
    };

    return keygen("RSA", params);
}


static const char *
ossl_group(const char *crv)
{
    if (strcmp(crv, "P-256") == 0) {
        return "prime256v1";
    }
    if (strcmp(crv, "P-384") == 0) {
        return "secp384r1";
    }
    return "secp521r1";
}


static size_t
coord_len(const char *crv)
{
    return strcmp(crv, "P-256") == 0 ? 32 : strcmp(crv, "P-384") == 0 ? 48
                                                                      : 66;
}


EVP_PKEY *
gen_ec(const char *crv)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                               (char *) ossl_group(crv), 0),
        OSSL_PARAM_END
    };

    return keygen("EC", params);
}


EVP_PKEY *
gen_ed25519(void)
{
    return keygen("ED25519", NULL);
}


static char *
bn_b64url(EVP_PKEY *k, const char *param, size_t pad)
{
    BIGNUM *bn = NULL;
    unsigned char buf[1024];
    int n;
    char *s;

    if (EVP_PKEY_get_bn_param(k, param, &bn) != 1) {
        die("get_bn_param");
    }
    n = pad ? BN_bn2binpad(bn, buf, (int) pad) : BN_bn2bin(bn, buf);
    BN_free(bn);
    if (n < 0) {
        die("bn2bin");
    }
    s = b64url(buf, (size_t) n);
    return s;
}


char *
jwk_pub(EVP_PKEY *k, const char *crv, const char *kid, const char *extra)
{
    char *kidm = kid ? t_printf("\"kid\":\"%s\",", kid) : "";
    const char *sep = extra ? "," : "";

    extra = extra ? extra : "";
    if (EVP_PKEY_is_a(k, "RSA")) {
        return t_printf("{%s\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"%s%s}",
                        kidm, bn_b64url(k, OSSL_PKEY_PARAM_RSA_N, 0),
                        bn_b64url(k, OSSL_PKEY_PARAM_RSA_E, 0), sep, extra);
    }
    if (EVP_PKEY_is_a(k, "EC")) {
        size_t c = coord_len(crv);
        return t_printf("{%s\"kty\":\"EC\",\"crv\":\"%s\",\"x\":\"%s\","
                        "\"y\":\"%s\"%s%s}", kidm, crv,
                        bn_b64url(k, OSSL_PKEY_PARAM_EC_PUB_X, c),
                        bn_b64url(k, OSSL_PKEY_PARAM_EC_PUB_Y, c), sep,
                        extra);
    }
    {
        unsigned char pub[32];
        size_t n = sizeof(pub);
        if (EVP_PKEY_get_raw_public_key(k, pub, &n) != 1) {
            die("raw public key");
        }
        return t_printf("{%s\"kty\":\"OKP\",\"crv\":\"Ed25519\","
                        "\"x\":\"%s\"%s%s}", kidm, b64url(pub, n), sep,
                        extra);
    }
}


char *
jwk_oct(const unsigned char *k, size_t n, const char *kid,
    const char *extra)
{
    char *kidm = kid ? t_printf("\"kid\":\"%s\",", kid) : "";

    return t_printf("{%s\"kty\":\"oct\",\"k\":\"%s\"%s%s}", kidm,
                    b64url(k, n), extra ? "," : "", extra ? extra : "");
}


const char *
hash_of(int alg)
{
    switch (alg) {
    case STJWT_ALG_RS384: case STJWT_ALG_PS384: case STJWT_ALG_ES384:
    case STJWT_ALG_HS384:
        return "SHA384";
    case STJWT_ALG_RS512: case STJWT_ALG_PS512: case STJWT_ALG_ES512:
    case STJWT_ALG_HS512:
        return "SHA512";
    default:
        return "SHA256";
    }
}


/* DER ECDSA-Sig-Value to fixed-size r||s. */
static size_t
der_to_raw(const unsigned char *der, size_t len, unsigned char *out,
    size_t c)
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long) len);
    const BIGNUM *r, *s;

    if (sig == NULL) {
        die("d2i_ECDSA_SIG");
    }
    ECDSA_SIG_get0(sig, &r, &s);
    if (BN_bn2binpad(r, out, (int) c) < 0
        || BN_bn2binpad(s, out + c, (int) c) < 0)
    {
        die("bn2binpad");
    }
    ECDSA_SIG_free(sig);
    return 2 * c;
}


unsigned char *
sign_raw(EVP_PKEY *k, const unsigned char *secret, size_t secret_len,
    int alg, const char *msg, size_t len, size_t *siglen)
{
    EVP_MD_CTX *ctx;
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *sig, *raw;
    size_t n = 0;
    const char *md = hash_of(alg);

    if (alg >= STJWT_ALG_HS256) {
        sig = t_alloc(64);
        if (EVP_Q_mac(NULL, "HMAC", NULL, md, NULL, secret, secret_len,
                      (const unsigned char *) msg, len, sig, 64, siglen)
            == NULL)
        {
            die("EVP_Q_mac");
        }
        return sig;
    }
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL
        || EVP_DigestSignInit_ex(ctx, &pctx,
                                 alg == STJWT_ALG_EDDSA ? NULL : md, NULL,
                                 NULL, k, NULL) != 1)
    {
        die("DigestSignInit");
    }
    if (alg >= STJWT_ALG_PS256 && alg <= STJWT_ALG_PS512
        && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1
            || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
                                                RSA_PSS_SALTLEN_DIGEST) != 1))
    {
        die("PSS params");
    }
    if (EVP_DigestSign(ctx, NULL, &n, (const unsigned char *) msg, len)
        != 1)
    {
        die("DigestSign size");
    }
    sig = t_alloc(n);
    if (EVP_DigestSign(ctx, sig, &n, (const unsigned char *) msg, len)
        != 1)
    {
        die("DigestSign");
    }
    EVP_MD_CTX_free(ctx);
    if (alg >= STJWT_ALG_ES256 && alg <= STJWT_ALG_ES512) {
        size_t c = alg == STJWT_ALG_ES256 ? 32 : alg == STJWT_ALG_ES384
                                                   ? 48 : 66;
        raw = t_alloc(2 * c);
        *siglen = der_to_raw(sig, n, raw, c);
        return raw;
    }
    *siglen = n;
    return sig;
}


char *
sign_segments(EVP_PKEY *k, const unsigned char *secret, size_t secret_len,
    int alg, const char *h64, const char *p64, int std_b64_sig)
{
    char *input = t_printf("%s.%s", h64, p64);
    size_t n;
    unsigned char *sig = sign_raw(k, secret, secret_len, alg, input,
                                  strlen(input), &n);

    return t_printf("%s.%s", input, std_b64_sig ? b64std(sig, n)
                                                : b64url(sig, n));
}


char *
make_jws(EVP_PKEY *k, const unsigned char *secret, size_t secret_len,
    int alg, const char *header, const char *payload)
{
    return sign_segments(k, secret, secret_len, alg,
                         b64url(header, strlen(header)),
                         b64url(payload, strlen(payload)), 0);
}


static void
ks_free(void *p)
{
    stjwt_keyset_free(p);
}


stjwt_keyset_t *
ks_new(const char *json, uint32_t flags, int *rc)
{
    const char *msg;
    int r;
    stjwt_keyset_t *ks = stjwt_keyset_new(guard_copy(json, strlen(json)),
                                          strlen(json), flags, NULL, &r,
                                          &msg);

    if (rc != NULL) {
        *rc = r;
    }
    if (ks != NULL) {
        track(ks, ks_free);
    }
    return ks;
}


const char *
alg_name(int alg)
{
    static const char *const names[] = {
        "none", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
        "ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512"
    };

    return alg >= 0 && alg < STJWT_ALG_MAX ? names[alg] : "?";
}
