/*
 * keyset.c - JWK / JWKS import (RFC 7517, RFC 7518 s6, RFC 8037).
 *
 * Every key is built once with EVP_PKEY_fromdata() and gets, per algorithm
 * it may verify, an EVP_PKEY_CTX that is already verify-initialised with
 * its padding, digest, MGF1 and salt length (or an EVP_MAC_CTX keyed with
 * the secret); RS256/384/512 get one raw-RSA context and the expected
 * EMSA-PKCS1-v1_5 head per hash instead.  Per token the verifier only
 * digests and calls EVP_PKEY_verify() (or EVP_PKEY_encrypt() and two
 * memcmp()s): no algorithm fetch, no key parsing.
 *
 * Those contexts are reused by every verify call, so a keyset must only
 * be used by one thread at a time (one nginx worker: fine).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "stjwt_int.h"

#define ST_RSA_MIN_BITS 2048
#define ST_JWKS_DEPTH   16
#define ST_HMAC_MIN_LEN 32      /* HS256 needs >= 32 bytes (RFC 7518 3.2) */
#define ST_MAX_KEYS     4096

typedef struct {
    const unsigned char *text;
    st_jobj_t  top;
    st_jobj_t  kobj;
    char      *strbuf;        /* unescaped strings of the current key */
    size_t     strbuf_used;
    size_t     cap;
    unsigned char *decbuf;    /* decoded base64url of the current key */
    size_t     decbuf_used;
    EVP_MD    *md[ST_HASH_MAX];
    EVP_MAC   *hmac;
    uint32_t   flags;
} st_import_t;

typedef struct {
    const char *name;
    const char *group;        /* OpenSSL group name */
    uint8_t     crv;
    uint8_t     coord_len;
} st_curve_t;

static const st_curve_t curves[] = {
    { "P-256", "prime256v1", ST_CRV_P256, 32 },
    { "P-384", "secp384r1",  ST_CRV_P384, 48 },
    { "P-521", "secp521r1",  ST_CRV_P521, 66 },
};


int
st_key_fits(const st_key_t *k, int alg)
{
    const st_alg_info_t *ai;

    if (alg <= STJWT_ALG_NONE || alg >= STJWT_ALG_MAX) {
        return 0;
    }
    ai = &st_alg_info[alg];
    if (ai->kty != k->kty || (k->jwk_alg >= 0 && k->jwk_alg != alg)) {
        return 0;
    }
    if ((k->kty == ST_KTY_EC || k->kty == ST_KTY_OKP) && ai->crv != k->crv) {
        return 0;
    }
    if (k->kty == ST_KTY_OCT && k->secret_len < st_hash_len[ai->hash]) {
        return 0;
    }
    return 1;
}


static void
key_clear(st_key_t *k)
{
    size_t a;

    for (a = 0; a < STJWT_ALG_MAX; a++) {
        EVP_PKEY_CTX_free(k->pctx[a]);
        EVP_MAC_CTX_free(k->mac[a]);
    }
    EVP_PKEY_CTX_free(k->rsavp1);
    for (a = 0; a < ST_HASH_MAX; a++) {
        free(k->em_head[a]);
    }
    EVP_MD_CTX_free(k->edtmpl);
    EVP_PKEY_free(k->pkey);
    if (k->secret != NULL) {
        OPENSSL_cleanse(k->secret, k->secret_len);
        free(k->secret);
    }
    free(k->kid);
    memset(k, 0, sizeof(*k));
    k->jwk_alg = -1;
}


/* String member: 1 and (*p, *n) unescaped, 0 absent, -1 not a string. */
static int
get_str(st_import_t *im, size_t base, const char *name, const char **p,
    size_t *n)
{
    const st_jmember_t *m;
    char *dst;

    m = st_json_find(&im->kobj, name, strlen(name));
    if (m == NULL) {
        return 0;
    }
    if (m->type != STJWT_JSON_STRING) {
        return -1;
    }
    dst = im->strbuf + im->strbuf_used;
    *n = st_json_unescape(im->text + base + m->val_off, m->val_len, dst);
    *p = dst;
    im->strbuf_used += *n;
    return 1;
}


static int
str_eq(const char *p, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(p, lit, n) == 0;
}


/* base64url member into decbuf; 0 ok, -1 missing/invalid. */
static int
get_b64(st_import_t *im, size_t base, const char *name,
    const unsigned char **out, size_t *outlen)
{
    const char *p;
    size_t n, dlen;
    unsigned char *dst;

    if (get_str(im, base, name, &p, &n) != 1) {
        return -1;
    }
    dst = im->decbuf + im->decbuf_used;
    dlen = im->cap - im->decbuf_used;
    if (stjwt_b64url_decode(p, n, dst, &dlen) != STJWT_OK) {
        return -1;
    }
    im->decbuf_used += dlen;
    *out = dst;
    *outlen = dlen;
    return 0;
}


/* "use" must be "sig" and "key_ops" must include "verify", if present. */
static int
check_use(st_import_t *im, size_t base)
{
    const st_jmember_t *m;
    const unsigned char *s = im->text + base;
    const char *p;
    size_t n, i, end;
    char *tmp;
    int r, found = 0;

    r = get_str(im, base, "use", &p, &n);
    if (r < 0 || (r == 1 && !str_eq(p, n, "sig"))) {
        return STJWT_E_KEY_USE;
    }

    m = st_json_find(&im->kobj, "key_ops", 7);
    if (m == NULL) {
        return STJWT_OK;
    }
    if (m->type != STJWT_JSON_ARRAY) {
        return STJWT_E_KEY_USE;
    }
    end = m->val_off + m->val_len;
    i = st_json_skip_ws(s, end, m->val_off + 1);
    while (i < end && s[i] != ']') {
        if (s[i] != '"') {
            return STJWT_E_KEY_USE;
        }
        tmp = im->strbuf + im->strbuf_used;
        n = st_json_unescape(s + i, end - i, tmp);
        if (str_eq(tmp, n, "verify")) {
            found = 1;
        }
        i = st_json_skip(s, end, i);
        i = st_json_skip_ws(s, end, i);
        if (i < end && s[i] == ',') {
            i = st_json_skip_ws(s, end, i + 1);
        }
    }
    return found ? STJWT_OK : STJWT_E_KEY_USE;
}


static int
import_rsa(st_import_t *im, size_t base, st_key_t *k)
{
    const unsigned char *nb, *eb;
    size_t nlen, elen;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    BIGNUM *n = NULL, *e = NULL;
    int rc = STJWT_E_BAD_KEY, bits;

    if (get_b64(im, base, "n", &nb, &nlen) != 0
        || get_b64(im, base, "e", &eb, &elen) != 0)
    {
        goto done;
    }
    /* RFC 7518 asks for minimal octets, but encoders that serialise a
     * signed big integer add a zero byte; the value is the same. */
    while (nlen > 0 && nb[0] == 0) {
        nb++;
        nlen--;
    }
    while (elen > 0 && eb[0] == 0) {
        eb++;
        elen--;
    }
    if (nlen == 0 || elen > 8) {
        goto done;
    }
    if (elen == 0) {
        rc = STJWT_E_WEAK_KEY;          /* e = 0 */
        goto done;
    }
    n = BN_bin2bn(nb, (int) nlen, NULL);
    e = BN_bin2bn(eb, (int) elen, NULL);
    if (n == NULL || e == NULL) {
        rc = STJWT_E_NOMEM;
        goto done;
    }
    bits = BN_num_bits(n);
    if (bits > ST_RSA_MAX_BITS || !BN_is_odd(n)) {
        goto done;
    }
    if (bits < ST_RSA_MIN_BITS || !BN_is_odd(e) || BN_is_one(e)
        || BN_cmp(e, n) >= 0)
    {
        rc = STJWT_E_WEAK_KEY;          /* e = 1 or even is never sound */
        goto done;
    }

    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n)
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e)
        || (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
    {
        rc = STJWT_E_NOMEM;
        goto done;
    }
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, &k->pkey, EVP_PKEY_PUBLIC_KEY, params)
           != 1)
    {
        rc = STJWT_E_INTERNAL;
        goto done;
    }
    k->sig_len = (size_t) (bits + 7) / 8;
    rc = STJWT_OK;

done:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return rc;
}


static int
import_ec(st_import_t *im, size_t base, st_key_t *k)
{
    const st_curve_t *cv = NULL;
    const unsigned char *x, *y;
    unsigned char pt[1 + 2 * ST_EC_MAX_COORD];
    const char *crv;
    size_t crvlen, xlen, ylen, i;
    OSSL_PARAM params[3];
    EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
    BIGNUM *order = NULL;
    int rc = STJWT_E_BAD_KEY;

    if (get_str(im, base, "crv", &crv, &crvlen) != 1) {
        goto done;
    }
    for (i = 0; i < ST_ARRAY_LEN(curves); i++) {
        if (str_eq(crv, crvlen, curves[i].name)) {
            cv = &curves[i];
        }
    }
    /* RFC 7518 6.2.1.2: coordinates are full-length octet strings. */
    if (cv == NULL || get_b64(im, base, "x", &x, &xlen) != 0
        || get_b64(im, base, "y", &y, &ylen) != 0
        || xlen != cv->coord_len || ylen != cv->coord_len)
    {
        goto done;
    }
    pt[0] = 0x04;                       /* uncompressed point */
    memcpy(pt + 1, x, xlen);
    memcpy(pt + 1 + xlen, y, ylen);
    params[0] = OSSL_PARAM_construct_utf8_string(
                    OSSL_PKEY_PARAM_GROUP_NAME, (char *) cv->group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(
                    OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * (size_t) xlen);
    params[2] = OSSL_PARAM_construct_end();

    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1) {
        rc = STJWT_E_INTERNAL;
        goto done;
    }
    if (EVP_PKEY_fromdata(ctx, &k->pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
    {
        goto done;                      /* x/y not a point of the curve */
    }
    /* fromdata already refuses points off the curve; the full public check
     * also rejects the point at infinity and wrong-order points. */
    chk = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
    if (chk == NULL || EVP_PKEY_public_check(chk) != 1) {
        goto done;
    }
    if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_ORDER, &order)
            != 1
        || BN_bn2binpad(order, k->order, cv->coord_len) != cv->coord_len)
    {
        rc = STJWT_E_INTERNAL;
        goto done;
    }
    k->crv = cv->crv;
    k->coord_len = cv->coord_len;
    k->sig_len = 2 * (size_t) cv->coord_len;
    rc = STJWT_OK;

done:
    BN_free(order);
    EVP_PKEY_CTX_free(chk);
    EVP_PKEY_CTX_free(ctx);
    return rc;
}


static int
import_okp(st_import_t *im, size_t base, st_key_t *k)
{
    const unsigned char *x;
    const char *crv;
    size_t crvlen, xlen;

    /* Ed448 and the X* (key agreement) curves are not supported. */
    if (get_str(im, base, "crv", &crv, &crvlen) != 1
        || !str_eq(crv, crvlen, "Ed25519")
        || get_b64(im, base, "x", &x, &xlen) != 0 || xlen != 32)
    {
        return STJWT_E_BAD_KEY;
    }
    k->pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, x,
                                             xlen);
    if (k->pkey == NULL) {
        return STJWT_E_BAD_KEY;
    }
    k->crv = ST_CRV_ED25519;
    k->sig_len = 64;
    return STJWT_OK;
}


static int
import_oct(st_import_t *im, size_t base, st_key_t *k)
{
    const unsigned char *kb;
    size_t klen, min = ST_HMAC_MIN_LEN;

    if (!(im->flags & STJWT_KEYSET_ALLOW_HMAC)) {
        return STJWT_E_BAD_KEY;
    }
    if (get_b64(im, base, "k", &kb, &klen) != 0) {
        return STJWT_E_BAD_KEY;
    }
    if (k->jwk_alg > 0) {
        min = st_hash_len[st_alg_info[k->jwk_alg].hash];
    }
    if (klen < min) {
        return STJWT_E_WEAK_KEY;
    }
    k->secret = malloc(klen);
    if (k->secret == NULL) {
        return STJWT_E_NOMEM;
    }
    memcpy(k->secret, kb, klen);
    k->secret_len = klen;
    return STJWT_OK;
}


/* DER of DigestInfo up to the digest (RFC 8017 9.2, note 1). */
static const unsigned char digest_info_prefix[ST_HASH_MAX][19] = {
    [ST_HASH_SHA256] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86,
                         0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
                         0x00, 0x04, 0x20 },
    [ST_HASH_SHA384] = { 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86,
                         0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05,
                         0x00, 0x04, 0x30 },
    [ST_HASH_SHA512] = { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86,
                         0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
                         0x00, 0x04, 0x40 },
};


/* RSASSA-PKCS1-v1_5 for one hash: the raw RSA context (shared by the
 * hashes) and EMSA-PKCS1-v1_5 up to the digest.  Verifying by encoding and
 * comparing, as RFC 8017 8.2.2 does, accepts exactly what OpenSSL's
 * RSA_verify() accepts (it too compares with the encoding it builds) and
 * skips its padding parse and two allocations per call. */
static int
prepare_rsa_pkcs1(st_key_t *k, int hash)
{
    size_t k_len = k->sig_len, h_len = st_hash_len[hash];
    size_t t_len = sizeof(digest_info_prefix[hash]) + h_len;
    unsigned char *head;

    if (k_len < t_len + 11) {
        return STJWT_E_BAD_KEY;     /* unreachable for >= 2048 bits */
    }
    if (k->rsavp1 == NULL) {
        k->rsavp1 = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
        if (k->rsavp1 == NULL || EVP_PKEY_encrypt_init(k->rsavp1) != 1
            || EVP_PKEY_CTX_set_rsa_padding(k->rsavp1, RSA_NO_PADDING) <= 0)
        {
            return STJWT_E_INTERNAL;
        }
    }
    if (k->em_head[hash] != NULL) {
        return STJWT_OK;
    }
    head = malloc(k_len - h_len);
    if (head == NULL) {
        return STJWT_E_NOMEM;
    }
    head[0] = 0x00;
    head[1] = 0x01;
    memset(head + 2, 0xff, k_len - t_len - 3);
    head[k_len - t_len - 1] = 0x00;
    memcpy(head + k_len - t_len, digest_info_prefix[hash],
           sizeof(digest_info_prefix[hash]));
    k->em_head[hash] = head;
    return STJWT_OK;
}


/* Contexts for every algorithm this key may verify. */
static int
prepare_contexts(st_import_t *im, st_key_t *k)
{
    const st_alg_info_t *ai;
    OSSL_PARAM params[2];
    EVP_PKEY_CTX *pctx;
    EVP_MD *md;
    int a;

    for (a = STJWT_ALG_NONE + 1; a < STJWT_ALG_MAX; a++) {
        if (!st_key_fits(k, a)) {
            continue;
        }
        ai = &st_alg_info[a];
        if (k->kty == ST_KTY_OKP) {
            /* EdDSA cannot prehash, so there is no EVP_PKEY_verify():
             * a DigestVerify context is prepared here and copied per
             * call (a fresh init costs more than the copy). */
            k->edtmpl = EVP_MD_CTX_new();
            if (k->edtmpl == NULL
                || EVP_DigestVerifyInit_ex(k->edtmpl, NULL, NULL, NULL, NULL,
                                           k->pkey, NULL) != 1)
            {
                return STJWT_E_INTERNAL;
            }
            continue;
        }
        md = im->md[ai->hash];
        if (k->kty == ST_KTY_OCT) {
            params[0] = OSSL_PARAM_construct_utf8_string(
                            OSSL_MAC_PARAM_DIGEST,
                            (char *) st_hash_name[ai->hash], 0);
            params[1] = OSSL_PARAM_construct_end();
            k->mac[a] = EVP_MAC_CTX_new(im->hmac);
            if (k->mac[a] == NULL
                || EVP_MAC_init(k->mac[a], k->secret, k->secret_len,
                                params) != 1)
            {
                return STJWT_E_INTERNAL;
            }
            continue;
        }
        if (k->kty == ST_KTY_RSA && !ai->pss) {
            int rc = prepare_rsa_pkcs1(k, ai->hash);
            if (rc != STJWT_OK) {
                return rc;
            }
            continue;
        }
        pctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
        k->pctx[a] = pctx;
        if (pctx == NULL || EVP_PKEY_verify_init(pctx) != 1) {
            return STJWT_E_INTERNAL;
        }
        if (k->kty == ST_KTY_RSA) {
            if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING)
                <= 0)
            {
                return STJWT_E_INTERNAL;
            }
        }
        if (EVP_PKEY_CTX_set_signature_md(pctx, md) <= 0) {
            return STJWT_E_INTERNAL;
        }
        /* RFC 7518 3.5: MGF1 with the same hash, salt = hash length.
         * Pinned, not "auto": auto would accept any salt length. */
        if (ai->pss
            && (EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) <= 0
                || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
                       (int) st_hash_len[ai->hash]) <= 0))
        {
            return STJWT_E_INTERNAL;
        }
    }
    return STJWT_OK;
}


/* The kid is taken first so that duplicate detection sees it even when
 * the rest of the key is bad. */
static int
import_kid(st_import_t *im, size_t base, st_key_t *k)
{
    const char *p;
    size_t n;
    int r;

    r = get_str(im, base, "kid", &p, &n);
    if (r < 0) {
        return STJWT_E_BAD_KEY;
    }
    if (r == 1) {
        k->kid = malloc(n ? n : 1);
        if (k->kid == NULL) {
            return STJWT_E_NOMEM;
        }
        memcpy(k->kid, p, n);
        k->kid_len = n;
        k->has_kid = 1;
    }
    return STJWT_OK;
}


static int
import_one(st_import_t *im, size_t off, size_t len, st_key_t *k)
{
    const char *p;
    size_t n;
    int rc, r;

    im->strbuf_used = 0;
    im->decbuf_used = 0;
    if (im->text[off] != '{') {
        return STJWT_E_BAD_KEY;
    }
    rc = st_json_scan(im->text + off, len, ST_JWKS_DEPTH, &im->kobj, NULL);
    if (rc != STJWT_OK) {
        return rc == STJWT_E_DUPLICATE_MEMBER ? rc : STJWT_E_BAD_KEY;
    }
    rc = import_kid(im, off, k);
    if (rc != STJWT_OK) {
        return rc;
    }

    if (get_str(im, off, "kty", &p, &n) != 1) {
        return STJWT_E_BAD_KEY;
    }
    if (str_eq(p, n, "RSA")) {
        k->kty = ST_KTY_RSA;
    } else if (str_eq(p, n, "EC")) {
        k->kty = ST_KTY_EC;
    } else if (str_eq(p, n, "OKP")) {
        k->kty = ST_KTY_OKP;
    } else if (str_eq(p, n, "oct")) {
        k->kty = ST_KTY_OCT;
    } else {
        return STJWT_E_BAD_KEY;
    }

    rc = check_use(im, off);
    if (rc != STJWT_OK) {
        return rc;
    }

    r = get_str(im, off, "alg", &p, &n);
    if (r < 0) {
        return STJWT_E_BAD_KEY;
    }
    if (r == 1) {
        k->jwk_alg = stjwt_alg_from_name(p, n);
        if (k->jwk_alg == STJWT_ALG_NONE
            || st_alg_info[k->jwk_alg].kty != k->kty)
        {
            return STJWT_E_BAD_KEY;
        }
    }

    switch (k->kty) {
    case ST_KTY_RSA:
        rc = import_rsa(im, off, k);
        break;
    case ST_KTY_EC:
        rc = import_ec(im, off, k);
        break;
    case ST_KTY_OKP:
        rc = import_okp(im, off, k);
        break;
    default:
        rc = import_oct(im, off, k);
        break;
    }
    if (rc != STJWT_OK) {
        return rc;
    }
    if (k->jwk_alg > 0 && !st_key_fits(k, k->jwk_alg)) {
        return STJWT_E_BAD_KEY;     /* e.g. "ES384" on a P-256 key */
    }
    return prepare_contexts(im, k);
}


static int
kid_cmp(const void *a, const void *b)
{
    const st_key_t *x = *(const st_key_t *const *) a;
    const st_key_t *y = *(const st_key_t *const *) b;

    if (x->kid_len != y->kid_len) {
        return x->kid_len < y->kid_len ? -1 : 1;
    }
    return x->kid_len ? memcmp(x->kid, y->kid, x->kid_len) : 0;
}


/* A kid seen twice is ambiguous: no key of that kid is used, whatever
 * else is wrong with either of them.  Sorted, so a set of many kids costs
 * n log n, not n^2. */
static int
mark_duplicate_kids(stjwt_keyset_t *ks, int *rcs)
{
    st_key_t **by_kid = malloc((ks->n ? ks->n : 1) * sizeof(*by_kid));
    size_t i, j, k, m = 0, idx;

    if (by_kid == NULL) {
        return STJWT_E_NOMEM;
    }
    for (i = 0; i < ks->n; i++) {
        if (ks->keys[i].has_kid) {
            by_kid[m++] = &ks->keys[i];
        }
    }
    qsort(by_kid, m, sizeof(*by_kid), kid_cmp);
    for (i = 0; i < m; i = j) {
        for (j = i + 1; j < m && kid_cmp(&by_kid[i], &by_kid[j]) == 0; j++) {
            continue;
        }
        for (k = i; j - i > 1 && k < j; k++) {
            idx = (size_t) (by_kid[k] - ks->keys);
            if (rcs[idx] == STJWT_OK) {
                rcs[idx] = STJWT_E_DUPLICATE_KID;
            }
        }
    }
    free(by_kid);
    return STJWT_OK;
}


static const char *
import_msg(int rc)
{
    switch (rc) {
    case STJWT_OK:                 return "ok";
    case STJWT_E_BAD_JSON:         return "JWKS is not a JSON object";
    case STJWT_E_NO_KEYS:          return "no usable key in the JWKS";
    case STJWT_E_NOMEM:            return "out of memory";
    case STJWT_E_INVALID_ARG:      return "invalid argument";
    case STJWT_E_BAD_KEY:          return "invalid or unsupported JWK";
    case STJWT_E_WEAK_KEY:         return "JWK too weak";
    case STJWT_E_DUPLICATE_KID:    return "kid used by more than one JWK";
    case STJWT_E_KEY_USE:          return "JWK not usable for verification";
    case STJWT_E_DUPLICATE_MEMBER: return "JWK has a duplicate member";
    case STJWT_E_KEY_MISMATCH:     return "JWKS mixes secrets and public keys";
    case STJWT_E_TOO_LARGE:        return "JWKS has more than 4096 keys";
    default:                       return "JWK import failed";
    }
}


static void
import_free(st_import_t *im)
{
    size_t i;

    free(im->top.mem);
    free(im->top.names);
    free(im->kobj.mem);
    free(im->kobj.names);
    free(im->strbuf);
    free(im->decbuf);
    for (i = 0; i < ST_HASH_MAX; i++) {
        EVP_MD_free(im->md[i]);
    }
    EVP_MAC_free(im->hmac);
}


static int
import_init(st_import_t *im, const char *json, size_t len, uint32_t flags)
{
    size_t cap_mem = st_json_members_cap(len), i;

    memset(im, 0, sizeof(*im));
    im->text = (const unsigned char *) json;
    im->flags = flags;
    im->cap = len ? len : 1;
    im->top.cap_mem = im->kobj.cap_mem = cap_mem;
    im->top.cap_names = im->kobj.cap_names = len;
    im->top.mem = malloc(cap_mem * sizeof(st_jmember_t));
    im->kobj.mem = malloc(cap_mem * sizeof(st_jmember_t));
    im->top.names = malloc(im->cap);
    im->kobj.names = malloc(im->cap);
    im->strbuf = malloc(im->cap);
    im->decbuf = malloc(im->cap);
    if (im->top.mem == NULL || im->kobj.mem == NULL || im->top.names == NULL
        || im->kobj.names == NULL || im->strbuf == NULL
        || im->decbuf == NULL)
    {
        return STJWT_E_NOMEM;
    }
    for (i = 0; i < ST_HASH_MAX; i++) {
        im->md[i] = EVP_MD_fetch(NULL, st_hash_name[i], NULL);
        if (im->md[i] == NULL) {
            return STJWT_E_INTERNAL;
        }
    }
    if (flags & STJWT_KEYSET_ALLOW_HMAC) {
        im->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        if (im->hmac == NULL) {
            return STJWT_E_INTERNAL;
        }
    }
    return STJWT_OK;
}


/* Spans of the JWKs: the "keys" array elements, or the whole text. */
static size_t
list_entries(st_import_t *im, size_t len, const st_jmember_t *keys,
    size_t *off, size_t *elen, size_t max)
{
    const unsigned char *s = im->text;
    size_t i, end, e, n = 0;

    if (keys == NULL) {
        if (max > 0) {
            off[0] = st_json_skip_ws(s, len, 0);
            elen[0] = st_json_skip(s, len, off[0]) - off[0];
        }
        return 1;
    }
    end = keys->val_off + keys->val_len;
    i = st_json_skip_ws(s, end, keys->val_off + 1);
    while (i < end && s[i] != ']') {
        e = st_json_skip(s, end, i);
        if (n < max) {
            off[n] = i;
            elen[n] = e - i;
        }
        n++;
        i = st_json_skip_ws(s, end, e);
        if (i < end && s[i] == ',') {
            i = st_json_skip_ws(s, end, i + 1);
        }
    }
    return n;
}


stjwt_keyset_t *
stjwt_keyset_new(const char *json, size_t len, uint32_t flags,
    stjwt_keyset_info_t *info, int *rc_out, const char **errmsg)
{
    st_import_t im;
    stjwt_keyset_t *ks = NULL;
    const st_jmember_t *keys;
    size_t *off = NULL, *elen = NULL, n = 0, i, j, u;
    int *rcs = NULL;
    int rc;
    stjwt_keyset_info_t inf = { 0, 0, STJWT_OK, -1 };

    memset(&im, 0, sizeof(im));
    if (json == NULL
        || (flags & ~(uint32_t) (STJWT_KEYSET_STRICT
                                 | STJWT_KEYSET_ALLOW_HMAC)))
    {
        rc = STJWT_E_INVALID_ARG;
        goto done;
    }
    if (len > UINT32_MAX) {
        rc = STJWT_E_BAD_JSON;
        goto done;
    }
    rc = import_init(&im, json, len, flags);
    if (rc != STJWT_OK) {
        goto done;
    }
    rc = st_json_scan(im.text, len, ST_JWKS_DEPTH, &im.top, NULL);
    if (rc != STJWT_OK) {
        rc = rc == STJWT_E_INTERNAL ? rc : STJWT_E_BAD_JSON;
        goto done;
    }
    keys = st_json_find(&im.top, "keys", 4);
    if (keys != NULL && keys->type != STJWT_JSON_ARRAY) {
        rc = STJWT_E_BAD_JSON;
        goto done;
    }

    n = list_entries(&im, len, keys, NULL, NULL, 0);
    if (n == 0) {
        rc = STJWT_E_NO_KEYS;
        goto done;
    }
    if (n > ST_MAX_KEYS) {
        rc = STJWT_E_TOO_LARGE;     /* ~300 bytes of state per entry */
        goto done;
    }
    ks = calloc(1, sizeof(*ks));
    off = calloc(n, sizeof(*off));
    elen = calloc(n, sizeof(*elen));
    rcs = calloc(n, sizeof(*rcs));
    if (ks == NULL || off == NULL || elen == NULL || rcs == NULL
        || (ks->keys = calloc(n, sizeof(st_key_t))) == NULL)
    {
        rc = STJWT_E_NOMEM;
        goto done;
    }
    ks->n = n;
    (void) list_entries(&im, len, keys, off, elen, n);

    for (i = 0; i < n; i++) {
        ks->keys[i].jwk_alg = -1;
        rcs[i] = import_one(&im, off[i], elen[i], &ks->keys[i]);
        if (rcs[i] == STJWT_E_NOMEM) {
            rc = STJWT_E_NOMEM;
            goto done;
        }
    }

    rc = mark_duplicate_kids(ks, rcs);
    if (rc != STJWT_OK) {
        goto done;
    }

    for (i = 0, u = 0; i < n; i++) {
        if (rcs[i] == STJWT_OK) {
            inf.n_keys++;
            ks->keys[u++] = ks->keys[i];    /* compact: usable keys only */
            continue;
        }
        if (inf.n_skipped++ == 0) {
            inf.first_skip_rc = rcs[i];
            inf.first_skip_index = (int32_t) i;
        }
        key_clear(&ks->keys[i]);
    }
    ks->n = u;
    ks->n_usable = u;

    if ((flags & STJWT_KEYSET_STRICT) && inf.n_skipped > 0) {
        rc = inf.first_skip_rc;
        goto done;
    }
    /* A public key set "extended" with a shared secret is how HS/RS key
     * confusion setups arise: refuse the mix as a whole. */
    for (i = 0, j = 0; i < ks->n; i++) {
        j += ks->keys[i].kty == ST_KTY_OCT;
    }
    if (j > 0 && j < ks->n) {
        rc = STJWT_E_KEY_MISMATCH;
        goto done;
    }
    rc = ks->n_usable ? STJWT_OK : STJWT_E_NO_KEYS;

done:
    if (rc != STJWT_OK) {
        stjwt_keyset_free(ks);
        ks = NULL;
    }
    /* Also after a lenient success: skipped keys leave OpenSSL errors. */
    ERR_clear_error();
    import_free(&im);
    free(off);
    free(elen);
    free(rcs);
    if (info != NULL) {
        *info = inf;
    }
    if (rc_out != NULL) {
        *rc_out = rc;
    }
    if (errmsg != NULL) {
        *errmsg = import_msg(rc);
    }
    return ks;
}


void
stjwt_keyset_free(stjwt_keyset_t *ks)
{
    size_t i;

    if (ks == NULL) {
        return;
    }
    if (ks->keys != NULL) {
        for (i = 0; i < ks->n; i++) {
            key_clear(&ks->keys[i]);
        }
        free(ks->keys);
    }
    free(ks);
}


size_t
stjwt_keyset_count(const stjwt_keyset_t *ks)
{
    return ks != NULL ? ks->n_usable : 0;
}


size_t
stjwt_keyset_count_fitting(const stjwt_keyset_t *ks, int alg)
{
    size_t i, n = 0;

    if (ks == NULL) {
        return 0;
    }
    for (i = 0; i < ks->n; i++) {
        n += (size_t) st_key_fits(&ks->keys[i], alg);
    }
    return n;
}


int
stjwt_keyset_has_kid(const stjwt_keyset_t *ks, const char *kid, size_t len)
{
    size_t i;

    if (ks == NULL || (kid == NULL && len)) {
        return 0;
    }
    for (i = 0; i < ks->n; i++) {
        if (ks->keys[i].has_kid && ks->keys[i].kid_len == len
            && (len == 0 || memcmp(ks->keys[i].kid, kid, len) == 0))
        {
            return 1;
        }
    }
    return 0;
}
