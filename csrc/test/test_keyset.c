/*
 * test_keyset.c - stjwt_keyset_new(): what is imported, what is refused
 * and how lenient and strict mode differ.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>

#include "util.h"

static stjwt_keyset_info_t info;
static int err_dirty;
static EVP_PKEY *rsa, *p256, *p384, *p521, *ed;


/* Import, remember the info, free; returns rc. */
static int
imp(const char *json, uint32_t flags)
{
    const char *msg = NULL;
    size_t n = strlen(json);
    int rc = -1;
    stjwt_keyset_t *ks = stjwt_keyset_new(guard_copy(json, n), n, flags,
                                          &info, &rc, &msg);

    if ((ks == NULL) != (rc != STJWT_OK) || msg == NULL) {
        ok(0, "keyset_new: NULL iff rc != OK, errmsg set");
    }
    if (ERR_peek_error() != 0) {
        err_dirty++;
        ERR_clear_error();
    }
    stjwt_keyset_free(ks);
    return rc;
}


static int
imp1(const char *jwk, uint32_t flags)
{
    return imp(t_printf("{\"keys\":[%s]}", jwk), flags | STJWT_KEYSET_STRICT);
}


static size_t
bn_param(EVP_PKEY *k, const char *name, unsigned char *buf, size_t pad)
{
    BIGNUM *bn = NULL;
    int n;

    if (EVP_PKEY_get_bn_param(k, name, &bn) != 1) {
        return 0;
    }
    n = pad ? BN_bn2binpad(bn, buf, (int) pad) : BN_bn2bin(bn, buf);
    BN_free(bn);
    return n < 0 ? 0 : (size_t) n;
}


static char *
rsa_jwk(const unsigned char *n, size_t nlen, const unsigned char *e,
    size_t elen)
{
    return t_printf("{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"}",
                    b64url(n, nlen), b64url(e, elen));
}


static void
test_rsa(void)
{
    unsigned char n[600], e[16], big[600];
    size_t nlen = bn_param(rsa, OSSL_PKEY_PARAM_RSA_N, n, 0);
    unsigned char e1[] = { 1 }, e2[] = { 2 }, e3[] = { 3 }, e0[] = { 0 };
    unsigned char e9[9] = { 1, 0, 0, 0, 0, 0, 0, 0, 1 };
    EVP_PKEY *weak = gen_rsa(1024);

    ok(nlen == 256, "2048-bit modulus");
    is_rc(imp1(jwk_pub(rsa, NULL, "r", NULL), 0), STJWT_OK, "RSA 2048");
    ok(info.n_keys == 1 && info.n_skipped == 0
       && info.first_skip_index == -1, "info: one key, none skipped");
    is_rc(imp1(jwk_pub(weak, NULL, "w", NULL), 0), STJWT_E_WEAK_KEY,
          "RSA 1024 is weak");
    is_rc(imp1(rsa_jwk(n, nlen, e1, 1), 0), STJWT_E_WEAK_KEY, "e = 1");
    is_rc(imp1(rsa_jwk(n, nlen, e2, 1), 0), STJWT_E_WEAK_KEY, "e = 2");
    is_rc(imp1(rsa_jwk(n, nlen, e0, 1), 0), STJWT_E_WEAK_KEY, "e = 0");
    is_rc(imp1(rsa_jwk(n, nlen, e3, 1), 0), STJWT_OK, "e = 3 accepted");
    is_rc(imp1(rsa_jwk(n, nlen, e9, 9), 0), STJWT_E_BAD_KEY,
          "e wider than 64 bits");
    memcpy(e, n, 8);
    e[0] |= 1;
    e[7] |= 1;
    is_rc(imp1(rsa_jwk(n, nlen, e, 8), 0), STJWT_OK, "64-bit odd e");
    big[0] = 0;
    memcpy(big + 1, n, nlen);
    is_rc(imp1(rsa_jwk(big, nlen + 1, e3, 1), 0), STJWT_OK,
          "modulus with a leading zero octet");
    memcpy(big, n, nlen);
    big[nlen - 1] &= 0xfe;
    is_rc(imp1(rsa_jwk(big, nlen, e3, 1), 0), STJWT_E_BAD_KEY,
          "even modulus");
    is_rc(imp1("{\"kty\":\"RSA\",\"e\":\"AQAB\"}", 0), STJWT_E_BAD_KEY,
          "missing n");
    is_rc(imp1(t_printf("{\"kty\":\"RSA\",\"n\":\"%s\"}", b64url(n, nlen)),
               0), STJWT_E_BAD_KEY, "missing e");
    is_rc(imp1(t_printf("{\"kty\":\"RSA\",\"n\":\"%s=\",\"e\":\"AQAB\"}",
                        b64url(n, nlen)), 0),
          STJWT_E_BAD_KEY, "padded base64url n");
    {
        char *n64 = b64url(n, nlen);
        n64[10] = '+';
        is_rc(imp1(t_printf("{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}",
                            n64), 0), STJWT_E_BAD_KEY, "'+' in n");
        n64[10] = ' ';
        is_rc(imp1(t_printf("{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}",
                            n64), 0), STJWT_E_BAD_KEY, "space in n");
    }
    is_rc(imp1(t_printf("{\"kty\":\"RSA\",\"n\":%d,\"e\":\"AQAB\"}", 5), 0),
          STJWT_E_BAD_KEY, "numeric n");
}


static char *
ec_jwk(const char *crv, const unsigned char *x, size_t xl,
    const unsigned char *y, size_t yl)
{
    return t_printf("{\"kty\":\"EC\",\"crv\":\"%s\",\"x\":\"%s\","
                    "\"y\":\"%s\"}", crv, b64url(x, xl), b64url(y, yl));
}


static void
test_ec(void)
{
    unsigned char x[66], y[66];
    size_t xl = bn_param(p256, OSSL_PKEY_PARAM_EC_PUB_X, x, 32);
    size_t yl = bn_param(p256, OSSL_PKEY_PARAM_EC_PUB_Y, y, 32);

    is_rc(imp1(jwk_pub(p256, "P-256", "a", NULL), 0), STJWT_OK, "P-256");
    is_rc(imp1(jwk_pub(p384, "P-384", "a", NULL), 0), STJWT_OK, "P-384");
    is_rc(imp1(jwk_pub(p521, "P-521", "a", NULL), 0), STJWT_OK, "P-521");
    is_rc(imp1(ec_jwk("P-256", x, xl, y, yl), 0), STJWT_OK,
          "P-256 rebuilt from x/y");
    y[31] ^= 1;
    is_rc(imp1(ec_jwk("P-256", x, xl, y, yl), 0), STJWT_E_BAD_KEY,
          "point not on the curve");
    y[31] ^= 1;
    is_rc(imp1(ec_jwk("P-384", x, xl, y, yl), 0), STJWT_E_BAD_KEY,
          "P-256 coordinates labelled P-384");
    is_rc(imp1(ec_jwk("P-256", x + 1, xl - 1, y, yl), 0), STJWT_E_BAD_KEY,
          "31-byte x");
    is_rc(imp1(ec_jwk("P-256", x, xl, y, yl - 1), 0), STJWT_E_BAD_KEY,
          "31-byte y");
    is_rc(imp1(ec_jwk("secp256k1", x, xl, y, yl), 0), STJWT_E_BAD_KEY,
          "unsupported curve");
    is_rc(imp1(ec_jwk("p-256", x, xl, y, yl), 0), STJWT_E_BAD_KEY,
          "curve names are case-sensitive");
    memset(x, 0xff, 32);
    is_rc(imp1(ec_jwk("P-256", x, xl, y, yl), 0), STJWT_E_BAD_KEY,
          "x >= p");
    memset(x, 0, 32);
    memset(y, 0, 32);
    is_rc(imp1(ec_jwk("P-256", x, xl, y, yl), 0), STJWT_E_BAD_KEY,
          "(0, 0)");
    is_rc(imp1("{\"kty\":\"EC\",\"x\":\"AA\",\"y\":\"AA\"}", 0),
          STJWT_E_BAD_KEY, "missing crv");
    is_rc(imp1(jwk_pub(p256, "P-256", "a", "\"alg\":\"ES256\""), 0),
          STJWT_OK, "P-256 with alg ES256");
    is_rc(imp1(jwk_pub(p256, "P-256", "a", "\"alg\":\"ES384\""), 0),
          STJWT_E_BAD_KEY, "P-256 with alg ES384");
}


static void
test_okp_oct(void)
{
    unsigned char k[64] = { 1, 2, 3 };

    is_rc(imp1(jwk_pub(ed, NULL, "a", NULL), 0), STJWT_OK, "Ed25519");
    is_rc(imp1("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}", 0),
          STJWT_E_BAD_KEY, "Ed25519 with 3-byte x");
    is_rc(imp1(t_printf("{\"kty\":\"OKP\",\"crv\":\"Ed448\",\"x\":\"%s\"}",
                        b64url(k, 57)), 0),
          STJWT_E_BAD_KEY, "Ed448 unsupported");
    is_rc(imp1(t_printf("{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"%s\"}",
                        b64url(k, 32)), 0),
          STJWT_E_BAD_KEY, "X25519 is not a signature key");
    is_rc(imp1(jwk_pub(ed, NULL, "a", "\"alg\":\"EdDSA\""), 0), STJWT_OK,
          "Ed25519 with alg EdDSA");

    is_rc(imp1(jwk_oct(k, 32, "h", NULL), 0), STJWT_E_BAD_KEY,
          "oct refused without STJWT_KEYSET_ALLOW_HMAC");
    is_rc(imp1(jwk_oct(k, 32, "h", NULL), STJWT_KEYSET_ALLOW_HMAC),
          STJWT_OK, "oct 32 bytes with ALLOW_HMAC");
    is_rc(imp1(jwk_oct(k, 31, "h", NULL), STJWT_KEYSET_ALLOW_HMAC),
          STJWT_E_WEAK_KEY, "oct 31 bytes");
    is_rc(imp1(jwk_oct(k, 32, "h", "\"alg\":\"HS512\""),
               STJWT_KEYSET_ALLOW_HMAC),
          STJWT_E_WEAK_KEY, "oct 32 bytes for HS512");
    is_rc(imp1(jwk_oct(k, 64, "h", "\"alg\":\"HS512\""),
               STJWT_KEYSET_ALLOW_HMAC),
          STJWT_OK, "oct 64 bytes for HS512");
    is_rc(imp1("{\"kty\":\"oct\",\"k\":\"\"}", STJWT_KEYSET_ALLOW_HMAC),
          STJWT_E_WEAK_KEY, "empty oct key");
    is_rc(imp1(jwk_oct(k, 64, "h", "\"alg\":\"RS256\""),
               STJWT_KEYSET_ALLOW_HMAC),
          STJWT_E_BAD_KEY, "oct with alg RS256");
}


static void
test_members(void)
{
    char *r = jwk_pub(rsa, NULL, NULL, NULL);
    const char *body = r + 1;   /* members after '{' */

    is_rc(imp1(t_printf("{\"use\":\"sig\",%s", body), 0), STJWT_OK,
          "use sig");
    is_rc(imp1(t_printf("{\"use\":\"enc\",%s", body), 0), STJWT_E_KEY_USE,
          "use enc");
    is_rc(imp1(t_printf("{\"use\":true,%s", body), 0), STJWT_E_KEY_USE,
          "use not a string");
    is_rc(imp1(t_printf("{\"key_ops\":[\"verify\"],%s", body), 0), STJWT_OK,
          "key_ops verify");
    is_rc(imp1(t_printf("{\"key_ops\":[\"sign\", \"verify\"],%s", body), 0),
          STJWT_OK, "key_ops sign+verify");
    is_rc(imp1(t_printf("{\"key_ops\":[\"sign\"],%s", body), 0),
          STJWT_E_KEY_USE, "key_ops sign only");
    is_rc(imp1(t_printf("{\"key_ops\":[],%s", body), 0), STJWT_E_KEY_USE,
          "key_ops empty");
    is_rc(imp1(t_printf("{\"key_ops\":\"verify\",%s", body), 0),
          STJWT_E_KEY_USE, "key_ops not an array");
    is_rc(imp1(t_printf("{\"key_ops\":[1,\"verify\"],%s", body), 0),
          STJWT_E_KEY_USE, "key_ops with a number");
    is_rc(imp1(t_printf("{\"key_ops\":[\"ver\\u0069fy\"],%s", body), 0),
          STJWT_OK, "key_ops escaped verify");
    is_rc(imp1(t_printf("{\"alg\":\"none\",%s", body), 0), STJWT_E_BAD_KEY,
          "alg none");
    is_rc(imp1(t_printf("{\"alg\":\"RSA-OAEP\",%s", body), 0),
          STJWT_E_BAD_KEY, "alg RSA-OAEP");
    is_rc(imp1(t_printf("{\"alg\":\"ES256\",%s", body), 0), STJWT_E_BAD_KEY,
          "RSA key with alg ES256");
    is_rc(imp1(t_printf("{\"alg\":\"PS384\",%s", body), 0), STJWT_OK,
          "RSA key with alg PS384");
    is_rc(imp1(t_printf("{\"alg\":5,%s", body), 0), STJWT_E_BAD_KEY,
          "numeric alg");
    is_rc(imp1(t_printf("{\"kid\":5,%s", body), 0), STJWT_E_BAD_KEY,
          "numeric kid");
    is_rc(imp1(t_printf("{\"kty\":\"RSA\",%s", body), 0),
          STJWT_E_DUPLICATE_MEMBER, "kty twice");
    is_rc(imp1(t_printf("{\"k\\u0074y\":\"RSA\",%s", body + 12), 0),
          STJWT_OK, "escaped member name");
    ok(strncmp(body, "\"kty\":\"RSA\",", 12) == 0, "(kty is first)");
    is_rc(imp1("{\"kty\":\"foo\"}", 0), STJWT_E_BAD_KEY, "unknown kty");
    is_rc(imp1("{\"kty\":\"rsa\"}", 0), STJWT_E_BAD_KEY, "kty lower-case");
    is_rc(imp1("{\"n\":\"AQAB\"}", 0), STJWT_E_BAD_KEY, "missing kty");
    is_rc(imp1("{\"kty\":null}", 0), STJWT_E_BAD_KEY, "null kty");
    is_rc(imp1(t_printf("{\"d\":\"AQAB\",\"x5c\":[\"MII\"],\"jku\":\"x\","
                        "%s", body), 0),
          STJWT_OK, "private and certificate members ignored");
}


static void
test_sets(void)
{
    char *a = jwk_pub(rsa, NULL, "x", NULL), *b = jwk_pub(p256, "P-256",
                                                          "x", NULL);
    char *c = jwk_pub(ed, NULL, "y", NULL);
    char *all;
    size_t i;
    stjwt_keyset_t *ks;
    int rc;

    all = t_printf("{\"keys\":[%s,%s,%s]}", a, b, c);
    is_rc(imp(all, 0), STJWT_OK, "duplicate kid, lenient");
    ok(info.n_keys == 1 && info.n_skipped == 2
       && info.first_skip_rc == STJWT_E_DUPLICATE_KID
       && info.first_skip_index == 0, "both keys of kid x skipped");
    ks = ks_new(all, 0, &rc);
    ok(ks != NULL && stjwt_keyset_count(ks) == 1
       && !stjwt_keyset_has_kid(ks, "x", 1)
       && stjwt_keyset_has_kid(ks, "y", 1), "kid x unusable, y usable");
    is_rc(imp(all, STJWT_KEYSET_STRICT), STJWT_E_DUPLICATE_KID,
          "duplicate kid, strict");

    all = t_printf("{\"keys\":[%s,%s]}", c,
                   jwk_pub(rsa, NULL, "y", "\"use\":\"enc\""));
    is_rc(imp(all, 0), STJWT_E_NO_KEYS, "duplicate kid with a bad key");
    ok(info.n_keys == 0 && info.n_skipped == 2
       && info.first_skip_rc == STJWT_E_DUPLICATE_KID,
       "a bad key still makes its kid ambiguous");

    all = t_printf("{\"keys\":[%s,%s]}",
                   jwk_pub(gen_rsa(1024), NULL, "w", NULL), c);
    is_rc(imp(all, 0), STJWT_OK, "weak key skipped, lenient");
    ok(info.n_keys == 1 && info.n_skipped == 1
       && info.first_skip_rc == STJWT_E_WEAK_KEY
       && info.first_skip_index == 0, "info names the weak key");
    is_rc(imp(all, STJWT_KEYSET_STRICT), STJWT_E_WEAK_KEY,
          "weak key, strict");

    {
        /* lenient import where OpenSSL itself refused a key */
        unsigned char x[32], y[32];
        size_t xl = bn_param(p256, OSSL_PKEY_PARAM_EC_PUB_X, x, 32);
        size_t yl = bn_param(p256, OSSL_PKEY_PARAM_EC_PUB_Y, y, 32);
        y[0] ^= 0x40;
        all = t_printf("{\"keys\":[%s,%s]}", ec_jwk("P-256", x, xl, y, yl),
                       c);
        is_rc(imp(all, 0), STJWT_OK, "off-curve key skipped, lenient");
        ok(info.n_keys == 1 && info.first_skip_rc == STJWT_E_BAD_KEY,
           "off-curve key counted as bad_key");
    }

    {
        /* secrets and public keys never share a set */
        unsigned char sk[32] = { 9 };
        char *o1 = jwk_oct(sk, 32, "h1", NULL), *o2 = jwk_oct(sk, 32, "h2",
                                                              NULL);
        const uint32_t H = STJWT_KEYSET_ALLOW_HMAC;
        all = t_printf("{\"keys\":[%s,%s]}", o1, a);
        is_rc(imp(all, H), STJWT_E_KEY_MISMATCH, "oct + RSA, lenient");
        is_rc(imp(all, H | STJWT_KEYSET_STRICT), STJWT_E_KEY_MISMATCH,
              "oct + RSA, strict");
        is_rc(imp(t_printf("{\"keys\":[%s,%s]}", c, o1), H),
              STJWT_E_KEY_MISMATCH, "Ed25519 + oct");
        is_rc(imp(t_printf("{\"keys\":[%s,%s]}", o1, o2), H), STJWT_OK,
              "two secrets");
        is_rc(imp(t_printf("{\"keys\":[%s,%s]}", o1,
                           jwk_pub(rsa, NULL, "r", "\"use\":\"enc\"")), H),
              STJWT_OK, "secret + unusable public key, lenient");
        ok(info.n_keys == 1 && info.n_skipped == 1, "only the secret kept");
        is_rc(imp(all, 0), STJWT_OK, "oct + RSA without ALLOW_HMAC");
        ok(info.n_keys == 1 && info.first_skip_rc == STJWT_E_BAD_KEY,
           "the secret is skipped as bad_key");
    }

    all = t_printf("{\"keys\":[%s,5,\"x\",null,[],%s]}", c,
                   jwk_pub(rsa, NULL, "r", NULL));
    is_rc(imp(all, 0), STJWT_OK, "non-object entries skipped");
    ok(info.n_keys == 2 && info.n_skipped == 4
       && info.first_skip_rc == STJWT_E_BAD_KEY
       && info.first_skip_index == 1, "4 entries skipped from index 1");

    is_rc(imp("{\"keys\":[5]}", 0), STJWT_E_NO_KEYS, "no usable key");
    ok(info.n_skipped == 1, "the bad entry is counted");
    is_rc(imp("{\"keys\":[]}", 0), STJWT_E_NO_KEYS, "empty keys");
    is_rc(imp("{\"keys\":[]}", STJWT_KEYSET_STRICT), STJWT_E_NO_KEYS,
          "empty keys, strict");
    is_rc(imp("{\"keys\":{}}", 0), STJWT_E_BAD_JSON, "keys is an object");
    is_rc(imp("{\"keys\":[],\"keys\":[]}", 0), STJWT_E_BAD_JSON,
          "keys twice");
    is_rc(imp("[]", 0), STJWT_E_BAD_JSON, "top-level array");
    is_rc(imp("", 0), STJWT_E_BAD_JSON, "empty text");
    is_rc(imp("{\"keys\":[", 0), STJWT_E_BAD_JSON, "truncated JSON");
    is_rc(imp("<html>", 0), STJWT_E_BAD_JSON, "HTML");
    is_rc(imp("{}", 0), STJWT_E_NO_KEYS, "empty object: a JWK without kty");
    is_rc(imp("{\"keys\":[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]}", 0),
          STJWT_E_BAD_JSON, "deeply nested");
    is_rc(imp(jwk_pub(rsa, NULL, "single", NULL), 0), STJWT_OK,
          "single JWK without keys");
    is_rc(imp(t_printf(" {\"keys\" : [ %s , %s ] } ", c, a), 0), STJWT_OK,
          "whitespace everywhere");
    ok(info.n_keys == 2, "two keys");

    all = t_printf("{\"keys\":[%s,%s]}", jwk_pub(rsa, NULL, NULL, NULL),
                   jwk_pub(ed, NULL, "", NULL));
    ks = ks_new(all, 0, &rc);
    ok(ks != NULL && stjwt_keyset_count(ks) == 2
       && stjwt_keyset_has_kid(ks, "", 0)
       && !stjwt_keyset_has_kid(ks, "x", 1), "no kid and empty kid");
    ok(stjwt_keyset_count_fitting(ks, STJWT_ALG_RS256) == 1
       && stjwt_keyset_count_fitting(ks, STJWT_ALG_PS512) == 1
       && stjwt_keyset_count_fitting(ks, STJWT_ALG_EDDSA) == 1
       && stjwt_keyset_count_fitting(ks, STJWT_ALG_ES256) == 0
       && stjwt_keyset_count_fitting(ks, STJWT_ALG_HS256) == 0
       && stjwt_keyset_count_fitting(ks, STJWT_ALG_NONE) == 0
       && stjwt_keyset_count_fitting(ks, STJWT_ALG_MAX) == 0
       && stjwt_keyset_count_fitting(ks, -1) == 0,
       "keys fitting each alg: kty, none for unknown algs");

    /* jose's candidates for a token without a string kid: kty, JWK alg,
     * curve; two RSA keys are two candidates */
    all = t_printf("{\"keys\":[%s,%s,%s,%s]}",
                   jwk_pub(rsa, NULL, "r1", NULL),
                   jwk_pub(rsa, NULL, "r2", "\"alg\":\"RS256\""),
                   jwk_pub(p256, "P-256", "e1", NULL),
                   jwk_pub(p384, "P-384", "e2", "\"alg\":\"ES384\""));
    ks = ks_new(all, 0, &rc);
    ok(ks != NULL && stjwt_keyset_count(ks) == 4
       && stjwt_keyset_count_fitting(ks, STJWT_ALG_RS256) == 2
       && stjwt_keyset_count_fitting(ks, STJWT_ALG_PS256) == 1
       && stjwt_keyset_count_fitting(ks, STJWT_ALG_ES256) == 1
       && stjwt_keyset_count_fitting(ks, STJWT_ALG_ES384) == 1
       && stjwt_keyset_count_fitting(ks, STJWT_ALG_ES512) == 0
       && stjwt_keyset_count_fitting(ks, STJWT_ALG_EDDSA) == 0,
       "keys fitting each alg: JWK alg and curve count");

    {
        /* many keys: the same RSA key under 40 kids */
        size_t cap = 40 * (strlen(a) + 8) + 16, len;
        char *big = t_alloc(cap);
        len = (size_t) sprintf(big, "{\"keys\":[");
        for (i = 0; i < 40; i++) {
            len += (size_t) sprintf(big + len, "%s{\"kid\":\"k%zu\",%s",
                                    i ? "," : "", i, a + 11);
        }
        sprintf(big + len, "]}");
        ok(strncmp(a, "{\"kid\":\"x\",", 11) == 0, "(kid is first)");
        ks = ks_new(big, STJWT_KEYSET_STRICT, &rc);
        ok(ks != NULL && stjwt_keyset_count(ks) == 40
           && stjwt_keyset_has_kid(ks, "k39", 3), "40 keys");
    }
    {
        /* entry count cap, and many kids (the duplicate check sorts) */
        char *big = t_alloc(4097 * 16 + 32), *p = big;
        p += sprintf(p, "{\"keys\":[");
        for (i = 0; i < 4096; i++) {
            p += sprintf(p, "%s{\"kid\":\"%zu\"}", i ? "," : "",
                         i % 4000);
        }
        sprintf(p, "]}");
        is_rc(imp(big, 0), STJWT_E_NO_KEYS, "4096 entries, none usable");
        ok(info.n_skipped == 4096 && info.first_skip_rc == STJWT_E_BAD_KEY,
           "4096 entries examined");
        sprintf(p, ",{}]}");
        is_rc(imp(big, 0), STJWT_E_TOO_LARGE, "4097 entries");
    }

    {
        const char *msg;
        is_rc((stjwt_keyset_new(NULL, 0, 0, NULL, &rc, &msg), rc),
              STJWT_E_INVALID_ARG, "NULL json");
        is_rc((stjwt_keyset_new("{}", 2, 0x80, NULL, &rc, &msg), rc),
              STJWT_E_INVALID_ARG, "unknown flag");
        ok(stjwt_keyset_count(NULL) == 0 && !stjwt_keyset_has_kid(NULL,
                                                                  "x", 1)
           && stjwt_keyset_count_fitting(NULL, STJWT_ALG_RS256) == 0,
           "NULL keyset queries");
        stjwt_keyset_free(NULL);
    }
}


int
main(void)
{
    rsa = gen_rsa(2048);
    p256 = gen_ec("P-256");
    p384 = gen_ec("P-384");
    p521 = gen_ec("P-521");
    ed = gen_ed25519();

    test_rsa();
    test_ec();
    test_okp_oct();
    test_members();
    test_sets();
    ok(err_dirty == 0, "OpenSSL error queue clear after every import");
    return done_testing();
}
