/*
 * test_alloc.c - the hot path allocates nothing of its own.
 *
 * All OpenSSL allocations are counted (CRYPTO_set_mem_functions must run
 * before anything else).  stjwt_parse() must allocate nothing, and a
 * verify must cost no more allocations than the bare OpenSSL calls it is
 * built on (digest + EVP_PKEY_verify on a prepared context), i.e. no
 * per-call fetch and no per-call context.  The library itself calls
 * malloc only in *_new().
 */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "util.h"

static size_t n_alloc;

#define ROUNDS 50


static void *
count_malloc(size_t n, const char *file, int line)
{
    (void) file;
    (void) line;
    n_alloc++;
    return malloc(n);
}


static void *
count_realloc(void *p, size_t n, const char *file, int line)
{
    (void) file;
    (void) line;
    n_alloc++;
    return realloc(p, n);
}


static void
count_free(void *p, const char *file, int line)
{
    (void) file;
    (void) line;
    free(p);
}


static double
now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}


/* The same work done by hand: the floor for an RS256/PS256 verify. */
static size_t
baseline(EVP_PKEY *k, const char *tok, int pss)
{
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    const char *d2 = strrchr(tok, '.');
    unsigned char sig[512], dig[64];
    size_t siglen = sizeof(sig), before = 0, i;
    unsigned dlen;
    int good = 1;

    good &= stjwt_b64url_decode(d2 + 1, strlen(d2 + 1), sig, &siglen)
            == STJWT_OK;
    good &= EVP_PKEY_verify_init(pctx) == 1
            && EVP_PKEY_CTX_set_rsa_padding(pctx, pss ? RSA_PKCS1_PSS_PADDING
                                                      : RSA_PKCS1_PADDING)
               == 1
            && EVP_PKEY_CTX_set_signature_md(pctx, md) == 1
            && (!pss || (EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1
                         && EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32)
                            == 1));
    for (i = 0; i < 3 + ROUNDS; i++) {
        if (i == 3) {
            before = n_alloc;
        }
        good &= EVP_DigestInit_ex2(mctx, md, NULL) == 1
                && EVP_DigestUpdate(mctx, tok, (size_t) (d2 - tok)) == 1
                && EVP_DigestFinal_ex(mctx, dig, &dlen) == 1
                && EVP_PKEY_verify(pctx, sig, siglen, dig, dlen) == 1;
    }
    ok(good, "baseline %s verifies", pss ? "PS256" : "RS256");
    EVP_MD_CTX_free(mctx);
    EVP_MD_free(md);
    EVP_PKEY_CTX_free(pctx);
    return n_alloc - before;
}


/* Allocations over ROUNDS verifies after a warm-up, and time per call. */
static size_t
measure(stjwt_verifier_t *v, stjwt_keyset_t *ks, const char *tok,
    const char *name, int parse_only)
{
    stjwt_result_t r;
    size_t before = 0, i, n = strlen(tok);
    int bad = 0;
    double t0 = 0;

    for (i = 0; i < 3 + ROUNDS; i++) {
        if (i == 3) {
            before = n_alloc;
            t0 = now_us();
        }
        if (parse_only) {
            bad += stjwt_parse(v, tok, n, &r, NULL) != STJWT_OK;
        } else {
            bad += stjwt_verify(v, ks, tok, n, &r, NULL) != STJWT_OK;
        }
    }
    diag("%s: %.1f us/call, %.1f OpenSSL allocations/call", name,
         (now_us() - t0) / ROUNDS, (double) (n_alloc - before) / ROUNDS);
    ok(bad == 0, "%s: every call succeeds", name);
    return n_alloc - before;
}


int
main(void)
{
    static const char *const pl = "{\"sub\":\"u\",\"exp\":4102444800}";
    unsigned char secret[32];
    EVP_PKEY *rsa, *ec, *ed;
    stjwt_keyset_t *ks, *ks_hs;
    stjwt_verifier_t *v;
    const char *msg;
    size_t base, got;
    int rc;
    char *rs, *ps, *es, *eds, *hs;

    ok(CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free),
       "counting OpenSSL allocations");
    rsa = gen_rsa(2048);
    ec = gen_ec("P-256");
    ed = gen_ed25519();
    if (RAND_bytes(secret, sizeof(secret)) != 1) {
        return 2;
    }
    ks = ks_new(t_printf("{\"keys\":[%s,%s,%s]}",
                         jwk_pub(rsa, NULL, "r", NULL),
                         jwk_pub(ec, "P-256", "e", NULL),
                         jwk_pub(ed, NULL, "d", NULL)), 0, &rc);
    ks_hs = ks_new(t_printf("{\"keys\":[%s]}",
                            jwk_oct(secret, 32, "h", NULL)),
                   STJWT_KEYSET_ALLOW_HMAC, &rc);
    v = stjwt_verifier_new(&(stjwt_options_t) { 0x3ffe, 0, 0, 0 }, &rc, &msg);
    ok(ks != NULL && ks_hs != NULL && v != NULL, "keysets and verifier");
    if (ks == NULL || ks_hs == NULL || v == NULL) {
        return done_testing();
    }
    rs = make_jws(rsa, NULL, 0, STJWT_ALG_RS256,
                  "{\"alg\":\"RS256\",\"kid\":\"r\"}", pl);
    ps = make_jws(rsa, NULL, 0, STJWT_ALG_PS256,
                  "{\"alg\":\"PS256\",\"kid\":\"r\"}", pl);
    es = make_jws(ec, NULL, 0, STJWT_ALG_ES256,
                  "{\"alg\":\"ES256\",\"kid\":\"e\"}", pl);
    eds = make_jws(ed, NULL, 0, STJWT_ALG_EDDSA,
                   "{\"alg\":\"EdDSA\",\"kid\":\"d\"}", pl);
    hs = make_jws(NULL, secret, 32, STJWT_ALG_HS256,
                  "{\"alg\":\"HS256\",\"kid\":\"h\"}", pl);

    ok(measure(v, ks, rs, "parse", 1) == 0, "parse allocates nothing");
    base = baseline(rsa, rs, 0);
    got = measure(v, ks, rs, "RS256 verify", 0);
    ok(got <= base, "RS256: no allocation beyond bare EVP_PKEY_verify "
       "(%zu <= %zu per %d)", got, base, ROUNDS);
    got = measure(v, ks, ps, "PS256 verify", 0);
    ok(got <= baseline(rsa, ps, 1), "PS256: no allocation beyond bare "
       "EVP_PKEY_verify (%zu)", got);
    (void) measure(v, ks, es, "ES256 verify", 0);
    (void) measure(v, ks, eds, "EdDSA verify (copy of the key's context)",
                   0);
    got = measure(v, ks_hs, hs, "HS256 verify", 0);
    ok(got <= base, "HS256: no more than the RS256 floor (%zu)", got);

    stjwt_verifier_free(v);
    return done_testing();
}
