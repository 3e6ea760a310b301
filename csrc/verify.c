/*
 * verify.c - compact JWS parsing and signature verification.
 *
 * The verifier owns everything a call needs: scratch buffers sized from
 * max_token_len, a reusable EVP_MD_CTX and pre-fetched digests, so that
 * parsing allocates nothing and verification adds no allocation of ours
 * (OpenSSL's bignum code still allocates inside EVP_PKEY_verify() and
 * EVP_PKEY_encrypt()).
 */
#define _GNU_SOURCE             /* newlocale(), strtod_l() */

#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "stjwt_int.h"

/* Header segments of the legacy SuperTokens v1/v2 tokens: standard base64
 * of {"alg":"RS256","typ":"JWT","version":"1"} (and "2"), recognised byte
 * for byte, padding included (spec s1.1). */
static const char legacy_hdr[2][57] = {
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsInZlcnNpb24iOiIxIn0=",
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsInZlcnNpb24iOiIyIn0=",
};
static const char legacy_version[2][2] = { "1", "2" };

/* SEQUENCE { INTEGER r, INTEGER s } for P-521: 3 + 2 * (3 + 66) bytes. */
#define ST_DER_MAX (3 + 2 * (3 + ST_EC_MAX_COORD))

/* The caller's names, found by an open-addressing table on (length,
 * first and last byte): a member name costs one or two probes and at
 * most one memcmp. */
#define ST_NAME_SLOTS 64            /* > 1.5 * STJWT_NAMES_MAX */

typedef struct {
    char    text[STJWT_NAMES_MAX][STJWT_NAME_LEN_MAX];
    uint8_t len[STJWT_NAMES_MAX];
    uint8_t slot[ST_NAME_SLOTS];    /* 1-based name id; 0 empty */
} st_names_t;

struct stjwt_verifier_s {
    uint32_t       alg_mask;
    uint32_t       flags;
    uint32_t       max_len;
    uint32_t       max_depth;
    unsigned char *dec;         /* decoded segments, back to back */
    char          *str;         /* unescaped header strings */
    char          *num;         /* NUL-terminated copy of a number */
    st_jobj_t      obj;         /* member index of header, then payload */
    EVP_MD        *md[ST_HASH_MAX];
    EVP_MD_CTX    *mdctx;
    EVP_MD_CTX    *edctx;       /* EdDSA only */
    locale_t       c_locale;    /* JSON numbers use '.' whatever LC_ALL */
    /* Set by parse for verify: */
    const unsigned char *sig;
    size_t         sig_len;
    size_t         signed_len;  /* header "." payload, as received */
    /* The last successful stjwt_parse(), for stjwt_verify_parsed(): a
     * copy of the token and of its result (pointers into this verifier). */
    char          *parsed;
    size_t         parsed_len;
    int            parsed_ok;
    stjwt_result_t parsed_res;
    /* The JSON payload of the last call that succeeded, for
     * stjwt_payload_members(); pay is NULL otherwise. */
    const unsigned char *pay;
    stjwt_member_t *members;    /* obj.cap_mem of them */
    st_names_t     names;       /* stjwt_verifier_set_names() */
};

typedef struct {
    int         rc;
    const char *msg;
} st_err_t;

#define ST_FAIL(e, code, text) \
    do { (e)->rc = (code); (e)->msg = (text); goto done; } while (0)


stjwt_verifier_t *
stjwt_verifier_new(const stjwt_options_t *opts, int *rc_out,
    const char **errmsg)
{
    stjwt_verifier_t *v = NULL;
    stjwt_options_t o = { 0, 0, 0, 0 };
    uint32_t valid_algs = 0;
    st_err_t e = { STJWT_OK, "ok" };
    size_t i;
    int a;

    if (opts != NULL) {
        o = *opts;
    }
    for (a = STJWT_ALG_NONE + 1; a < STJWT_ALG_MAX; a++) {
        valid_algs |= STJWT_ALG_BIT(a);
    }
    if (o.alg_mask == 0) {
        o.alg_mask = STJWT_ALG_BIT(STJWT_ALG_RS256);
    }
    o.max_token_len = o.max_token_len ? o.max_token_len : ST_DEFAULT_MAX_LEN;
    o.max_depth = o.max_depth ? o.max_depth : ST_DEFAULT_MAX_DEPTH;
    if (o.alg_mask & ~valid_algs) {
        ST_FAIL(&e, STJWT_E_INVALID_ARG, "alg_mask has an unknown bit");
    }
    if (o.flags & ~(uint32_t) (STJWT_OPT_OPAQUE_PAYLOAD | STJWT_OPT_NO_LEGACY))
    {
        ST_FAIL(&e, STJWT_E_INVALID_ARG, "unknown option flag");
    }
    if (o.max_token_len > ST_MAX_TOKEN_LIMIT) {
        ST_FAIL(&e, STJWT_E_INVALID_ARG, "max_token_len too large");
    }
    if (o.max_depth > ST_JSON_DEPTH_LIMIT) {
        ST_FAIL(&e, STJWT_E_INVALID_ARG, "max_depth too large");
    }

    v = calloc(1, sizeof(*v));
    if (v == NULL) {
        ST_FAIL(&e, STJWT_E_NOMEM, "out of memory");
    }
    v->alg_mask = o.alg_mask;
    v->flags = o.flags;
    v->max_len = o.max_token_len;
    v->max_depth = o.max_depth;
    v->dec = malloc(v->max_len);
    v->str = malloc(v->max_len);
    v->num = malloc((size_t) v->max_len + 1);
    v->obj.cap_mem = st_json_members_cap(v->max_len);
    v->obj.mem = malloc(v->obj.cap_mem * sizeof(st_jmember_t));
    v->obj.cap_names = v->max_len;
    v->obj.names = malloc(v->max_len);
    v->parsed = malloc(v->max_len);
    v->members = malloc(v->obj.cap_mem * sizeof(stjwt_member_t));
    v->mdctx = EVP_MD_CTX_new();
    v->edctx = EVP_MD_CTX_new();
    v->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t) 0);
    if (v->dec == NULL || v->str == NULL || v->num == NULL
        || v->obj.mem == NULL || v->obj.names == NULL || v->parsed == NULL
        || v->members == NULL
        || v->mdctx == NULL
        || v->edctx == NULL || v->c_locale == (locale_t) 0)
    {
        ST_FAIL(&e, STJWT_E_NOMEM, "out of memory");
    }
    /* Fetched once: an implicit fetch per call costs ~3 us in OpenSSL 3. */
    for (i = 0; i < ST_HASH_MAX; i++) {
        v->md[i] = EVP_MD_fetch(NULL, st_hash_name[i], NULL);
        if (v->md[i] == NULL) {
            ST_FAIL(&e, STJWT_E_INTERNAL, "digest not available");
        }
    }

done:
    if (e.rc != STJWT_OK) {
        stjwt_verifier_free(v);
        v = NULL;
        ERR_clear_error();
    }
    if (rc_out != NULL) {
        *rc_out = e.rc;
    }
    if (errmsg != NULL) {
        *errmsg = e.msg;
    }
    return v;
}


void
stjwt_verifier_free(stjwt_verifier_t *v)
{
    size_t i;

    if (v == NULL) {
        return;
    }
    for (i = 0; i < ST_HASH_MAX; i++) {
        EVP_MD_free(v->md[i]);
    }
    EVP_MD_CTX_free(v->mdctx);
    EVP_MD_CTX_free(v->edctx);
    if (v->c_locale != (locale_t) 0) {
        freelocale(v->c_locale);
    }
    free(v->dec);
    free(v->str);
    free(v->num);
    free(v->obj.mem);
    free(v->obj.names);
    free(v->parsed);
    free(v->members);
    free(v);
}


static int
json_rc_to_msg(int rc, const char **msg, const char *bad_json)
{
    switch (rc) {
    case STJWT_E_TOO_DEEP:
        *msg = "JSON nested too deeply";
        break;
    case STJWT_E_DUPLICATE_MEMBER:
        *msg = "duplicate JSON member name";
        break;
    case STJWT_E_BAD_JSON:
        *msg = bad_json;
        break;
    default:
        *msg = "JSON scanner workspace too small";
        break;
    }
    return rc;
}


/* Header member as an unescaped string in v->str. */
static void
header_str(stjwt_verifier_t *v, const unsigned char *hdr, const char *name,
    size_t *str_used, const char **p, size_t *n, uint8_t *type)
{
    const st_jmember_t *m = st_json_find(&v->obj, name, strlen(name));

    if (m == NULL) {
        return;
    }
    if (type != NULL) {
        *type = (uint8_t) m->type;
    }
    if (m->type == STJWT_JSON_STRING && !m->val_esc) {
        /* Nothing to unescape: the decoded header holds the bytes. */
        *p = (const char *) hdr + m->val_off + 1;
        *n = m->val_len - 2;
    } else if (m->type == STJWT_JSON_STRING) {
        *p = v->str + *str_used;
        *n = st_json_unescape(hdr + m->val_off, m->val_len,
                              v->str + *str_used);
        *str_used += *n;
    }
}


static int
parse_header(stjwt_verifier_t *v, const unsigned char *hdr, size_t len,
    stjwt_result_t *out, st_err_t *e)
{
    size_t used = 0;
    uint8_t alg_type = STJWT_JSON_ABSENT;
    int rc;

    rc = st_json_scan(hdr, len, v->max_depth, &v->obj, NULL);
    if (rc != STJWT_OK) {
        e->rc = json_rc_to_msg(rc, &e->msg, "header is not a JSON object");
        return rc;
    }
    /* Fill every field first so a rejected token can still be logged by
     * kid and alg. */
    header_str(v, hdr, "alg", &used, &out->alg, &out->alg_len, &alg_type);
    header_str(v, hdr, "kid", &used, &out->kid, &out->kid_len,
               &out->kid_type);
    header_str(v, hdr, "typ", &used, &out->typ, &out->typ_len,
               &out->typ_type);
    header_str(v, hdr, "version", &used, &out->version, &out->version_len,
               &out->version_type);
    if (out->alg != NULL) {
        out->alg_id = stjwt_alg_from_name(out->alg, out->alg_len);
    }

    /* We implement no extension, so any "crit" is one we don't
     * understand (RFC 7515 4.1.11). */
    if (st_json_find(&v->obj, "crit", 4) != NULL) {
        e->rc = STJWT_E_CRIT;
        e->msg = "header has crit";
        return e->rc;
    }
    /* "b64" only means something when "crit" lists it (RFC 7797 3, and
     * jose ignores it otherwise); "crit" is refused above.  The alg is
     * judged by stjwt_verify(): SuperTokens parses tokens before looking
     * at the alg, and a token with a bad alg must fail at the signature
     * stage, not look unparsable. */
    return STJWT_OK;
}


/* An integer of at most 15 digits (exact in a double), as strtod reads
 * it; 0 for anything else. */
static int
plain_integer(const unsigned char *q, size_t len, double *out)
{
    uint64_t u = 0;
    size_t k, neg = (len > 0 && q[0] == '-');

    if (len - neg == 0 || len - neg > 15) {
        return 0;
    }
    for (k = neg; k < len; k++) {
        if (q[k] < '0' || q[k] > '9') {
            return 0;
        }
        u = u * 10 + (uint64_t) (q[k] - '0');
    }
    *out = neg ? -(double) u : (double) u;
    return 1;
}


static int
claim(stjwt_verifier_t *v, const unsigned char *p, const char *name,
    double *val, uint8_t *type)
{
    const st_jmember_t *m = st_json_find(&v->obj, name, strlen(name));
    double d;

    if (m == NULL) {
        return STJWT_OK;
    }
    *type = (uint8_t) m->type;
    if (m->type != STJWT_JSON_NUMBER) {
        return STJWT_OK;        /* the caller judges wrong types */
    }
    /* Timestamps are plain integers: strtod's answer without its cost. */
    if (plain_integer(p + m->val_off, m->val_len, val)) {
        return STJWT_OK;
    }
    /* strtod needs a terminator; the copy is bounded by the payload. */
    memcpy(v->num, p + m->val_off, m->val_len);
    v->num[m->val_len] = '\0';
    d = strtod_l(v->num, NULL, v->c_locale);
    if (!isfinite(d)) {
        return STJWT_E_BAD_CLAIM;
    }
    *val = d;
    return STJWT_OK;
}


static int
parse_payload(stjwt_verifier_t *v, const unsigned char *p, size_t len,
    stjwt_result_t *out, st_err_t *e)
{
    int rc, bad = 0;

    rc = st_json_scan(p, len, v->max_depth, &v->obj, NULL);
    if (rc != STJWT_OK) {
        e->rc = json_rc_to_msg(rc, &e->msg, "payload is not a JSON object");
        return rc;
    }
    bad |= claim(v, p, "exp", &out->exp, &out->exp_type);
    bad |= claim(v, p, "nbf", &out->nbf, &out->nbf_type);
    bad |= claim(v, p, "iat", &out->iat, &out->iat_type);
    bad |= claim(v, p, "stt", &out->stt, &out->stt_type);
    if (bad) {
        e->rc = STJWT_E_BAD_CLAIM;
        e->msg = "time claim is not a finite number";
        return e->rc;
    }
    return STJWT_OK;
}


typedef int (*st_decode_fn)(const char *, size_t, unsigned char *,
    size_t *);


static int
decode_seg(stjwt_verifier_t *v, st_decode_fn fn, const char *src,
    size_t len, size_t *used, const unsigned char **out, size_t *outlen)
{
    size_t dlen = v->max_len - *used;
    int rc;

    rc = fn(src, len, v->dec + *used, &dlen);
    if (rc != STJWT_OK) {
        return STJWT_E_BAD_BASE64;
    }
    *out = v->dec + *used;
    *outlen = dlen;
    *used += dlen;
    return STJWT_OK;
}


static int
parse_token(stjwt_verifier_t *v, const char *token, size_t len,
    stjwt_result_t *out, st_err_t *e)
{
    const char *d1, *d2, *end;
    const unsigned char *hdr, *pay, *sig;
    size_t hlen, plen, slen, hdlen, pdlen, sdlen, used = 0;
    st_decode_fn dec = stjwt_b64url_decode;
    int legacy = 0, opaque = (v->flags & STJWT_OPT_OPAQUE_PAYLOAD) != 0;

    memset(out, 0, sizeof(*out));
    v->sig = NULL;
    v->sig_len = 0;
    v->signed_len = 0;
    v->parsed_ok = 0;           /* the scratch is about to change */
    v->pay = NULL;

    if (len > v->max_len) {
        ST_FAIL(e, STJWT_E_TOO_LARGE, "token longer than max_token_len");
    }
    if (len == 0) {
        ST_FAIL(e, STJWT_E_MALFORMED, "empty token");
    }
    end = token + len;
    d1 = memchr(token, '.', len);
    d2 = d1 ? memchr(d1 + 1, '.', (size_t) (end - d1 - 1)) : NULL;
    if (d2 == NULL || memchr(d2 + 1, '.', (size_t) (end - d2 - 1))) {
        ST_FAIL(e, STJWT_E_MALFORMED, "token is not three segments");
    }
    hlen = (size_t) (d1 - token);
    plen = (size_t) (d2 - d1 - 1);
    slen = (size_t) (end - d2 - 1);
    /* An empty signature parses (it fails in stjwt_verify()), as in jose. */
    if (hlen == 0 || (plen == 0 && !opaque)) {
        ST_FAIL(e, STJWT_E_MALFORMED, "token has an empty segment");
    }

    if (!(v->flags & STJWT_OPT_NO_LEGACY) && hlen == 56) {
        if (memcmp(token, legacy_hdr[0], 56) == 0) {
            legacy = 1;
        } else if (memcmp(token, legacy_hdr[1], 56) == 0) {
            legacy = 2;
        }
    }

    if (legacy) {
        out->legacy = (uint8_t) legacy;
        out->alg = "RS256";
        out->alg_len = 5;
        out->alg_id = STJWT_ALG_RS256;
        out->typ = "JWT";
        out->typ_len = 3;
        out->typ_type = STJWT_JSON_STRING;
        out->version = legacy_version[legacy - 1];
        out->version_len = 1;
        out->version_type = STJWT_JSON_STRING;
        dec = st_b64std_decode;
        opaque = 0;                 /* legacy payloads are JSON */
    } else {
        if (decode_seg(v, stjwt_b64url_decode, token, hlen, &used, &hdr,
                       &hdlen) != STJWT_OK)
        {
            ST_FAIL(e, STJWT_E_BAD_BASE64, "bad base64url in header");
        }
        if (parse_header(v, hdr, hdlen, out, e) != STJWT_OK) {
            goto done;
        }
    }

    if (decode_seg(v, dec, d1 + 1, plen, &used, &pay, &pdlen) != STJWT_OK) {
        ST_FAIL(e, STJWT_E_BAD_BASE64, "bad base64 in payload");
    }
    out->payload = (const char *) pay;
    out->payload_len = pdlen;
    if (decode_seg(v, dec, d2 + 1, slen, &used, &sig, &sdlen) != STJWT_OK) {
        ST_FAIL(e, STJWT_E_BAD_BASE64, "bad base64 in signature");
    }
    if (!opaque && parse_payload(v, pay, pdlen, out, e) != STJWT_OK) {
        goto done;
    }

    v->sig = sig;
    v->sig_len = sdlen;
    v->signed_len = (size_t) (d2 - token);
    v->pay = opaque ? NULL : pay;
    e->rc = STJWT_OK;
    e->msg = "ok";

done:
    return e->rc;
}


int
stjwt_parse(stjwt_verifier_t *v, const char *token, size_t len,
    stjwt_result_t *out, const char **errmsg)
{
    st_err_t e = { STJWT_OK, "ok" };
    stjwt_result_t tmp;

    if (out == NULL) {
        out = &tmp;
    }
    if (v == NULL || (token == NULL && len)) {
        e.rc = STJWT_E_INVALID_ARG;
        e.msg = "invalid argument";
        memset(out, 0, sizeof(*out));
    } else if (parse_token(v, token, len, out, &e) == STJWT_OK) {
        memcpy(v->parsed, token, len);
        v->parsed_len = len;
        v->parsed_res = *out;
        v->parsed_ok = 1;
    }
    if (errmsg != NULL) {
        *errmsg = e.msg;
    }
    return e.rc;
}


static int
digest(stjwt_verifier_t *v, int hash, const char *msg, size_t len,
    unsigned char *dig, unsigned *dlen)
{
    if (EVP_DigestInit_ex2(v->mdctx, v->md[hash], NULL) != 1
        || EVP_DigestUpdate(v->mdctx, msg, len) != 1
        || EVP_DigestFinal_ex(v->mdctx, dig, dlen) != 1)
    {
        return STJWT_E_INTERNAL;
    }
    return STJWT_OK;
}


static int
all_zero(const unsigned char *p, size_t n)
{
    unsigned char acc = 0;

    while (n--) {
        acc |= *p++;
    }
    return acc == 0;
}


static size_t
der_int(unsigned char *d, const unsigned char *x, size_t n)
{
    size_t pad;

    while (n > 1 && x[0] == 0) {
        x++;
        n--;
    }
    pad = (x[0] & 0x80) ? 1 : 0;
    d[0] = 0x02;
    d[1] = (unsigned char) (n + pad);
    d[2] = 0;
    memcpy(d + 2 + pad, x, n);
    return 2 + pad + n;
}


/* JOSE r||s (RFC 7518 3.4) to DER.  r and s must lie in [1, n-1]; OpenSSL
 * checks that too, but a zero r/s is the classic ECDSA bypass
 * (CVE-2022-21449), so it is refused here before any crypto. */
static int
ecdsa_der(const st_key_t *k, const unsigned char *sig, unsigned char *der,
    size_t *derlen)
{
    unsigned char body[ST_DER_MAX];
    const unsigned char *r = sig, *s = sig + k->coord_len;
    size_t c = k->coord_len, n, o = 0;

    if (all_zero(r, c) || all_zero(s, c) || memcmp(r, k->order, c) >= 0
        || memcmp(s, k->order, c) >= 0)
    {
        return STJWT_E_BAD_SIGNATURE;
    }
    n = der_int(body, r, c);
    n += der_int(body + n, s, c);
    der[o++] = 0x30;
    if (n >= 128) {
        der[o++] = 0x81;
    }
    der[o++] = (unsigned char) n;
    memcpy(der + o, body, n);
    *derlen = o + n;
    return STJWT_OK;
}


/* RFC 8017 8.2.2: RSAVP1 (s must lie below n: OpenSSL refuses the
 * operation otherwise), then the encoding of the digest compared whole. */
static int
rsa_pkcs1_check(const st_key_t *k, int hash, const unsigned char *sig,
    size_t slen, const unsigned char *dig, size_t dlen)
{
    unsigned char em[ST_RSA_MAX_BYTES];
    size_t emlen = sizeof(em), head = slen - dlen;

    if (EVP_PKEY_encrypt(k->rsavp1, em, &emlen, sig, slen) != 1
        || emlen != slen
        || memcmp(em, k->em_head[hash], head) != 0
        || memcmp(em + head, dig, dlen) != 0)
    {
        return STJWT_E_BAD_SIGNATURE;
    }
    return STJWT_OK;
}


static int
check_sig(stjwt_verifier_t *v, const st_key_t *k, int alg,
    const char *msg, size_t mlen, const unsigned char *sig, size_t slen)
{
    const st_alg_info_t *ai = &st_alg_info[alg];
    unsigned char dig[EVP_MAX_MD_SIZE], der[ST_DER_MAX];
    size_t maclen;
    unsigned dlen;
    int rc;

    if (k->kty == ST_KTY_OCT) {
        if (slen != st_hash_len[ai->hash]) {
            return STJWT_E_BAD_SIGNATURE;
        }
        /* Re-initialising with a NULL key keeps the prepared key. */
        if (EVP_MAC_init(k->mac[alg], NULL, 0, NULL) != 1
            || EVP_MAC_update(k->mac[alg], (const unsigned char *) msg,
                              mlen) != 1
            || EVP_MAC_final(k->mac[alg], dig, &maclen, sizeof(dig)) != 1
            || maclen != slen)
        {
            return STJWT_E_INTERNAL;
        }
        return CRYPTO_memcmp(dig, sig, slen) == 0 ? STJWT_OK
                                                  : STJWT_E_BAD_SIGNATURE;
    }
    if (slen != k->sig_len) {
        return STJWT_E_BAD_SIGNATURE;
    }
    if (k->kty == ST_KTY_OKP) {
        /* EdDSA hashes the message itself and cannot take a digest, so
         * the key's DigestVerify context, initialised at import, is
         * copied (it allocates inside OpenSSL).  The copy resets v->edctx
         * and takes a duplicate of the key's pkey ctx, so no key of an
         * earlier call survives (OpenSSL 3.0 re-initialising a reused
         * context kept its old key).  FINALISE: the one-shot verify then
         * works on the copy instead of duplicating it once more. */
        if (k->edtmpl == NULL
            || EVP_MD_CTX_copy_ex(v->edctx, k->edtmpl) != 1)
        {
            return STJWT_E_INTERNAL;
        }
        EVP_MD_CTX_set_flags(v->edctx, EVP_MD_CTX_FLAG_FINALISE);
        return EVP_DigestVerify(v->edctx, sig, slen,
                                (const unsigned char *) msg, mlen) == 1
               ? STJWT_OK : STJWT_E_BAD_SIGNATURE;
    }
    if (k->kty == ST_KTY_EC) {
        rc = ecdsa_der(k, sig, der, &slen);
        if (rc != STJWT_OK) {
            return rc;
        }
        sig = der;
    }
    rc = digest(v, ai->hash, msg, mlen, dig, &dlen);
    if (rc != STJWT_OK) {
        return rc;
    }
    if (k->kty == ST_KTY_RSA && !ai->pss) {
        return rsa_pkcs1_check(k, ai->hash, sig, slen, dig, dlen);
    }
    return EVP_PKEY_verify(k->pctx[alg], sig, slen, dig, dlen) == 1
           ? STJWT_OK : STJWT_E_BAD_SIGNATURE;
}


/* Legacy v1/v2 tokens carry no kid: like supertokens-node, try every RSA
 * key of the set; the first that verifies wins. */
static int
verify_legacy(stjwt_verifier_t *v, const stjwt_keyset_t *ks,
    const char *token, st_err_t *e)
{
    size_t i, tried = 0;
    int rc;

    for (i = 0; i < ks->n; i++) {
        if (!st_key_fits(&ks->keys[i], STJWT_ALG_RS256)) {
            continue;
        }
        tried++;
        rc = check_sig(v, &ks->keys[i], STJWT_ALG_RS256, token,
                       v->signed_len, v->sig, v->sig_len);
        if (rc == STJWT_OK) {
            ERR_clear_error();      /* failures of earlier keys */
            e->rc = STJWT_OK;
            e->msg = "ok";
            return STJWT_OK;
        }
        if (rc != STJWT_E_BAD_SIGNATURE) {
            e->rc = rc;
            e->msg = "signature check failed";
            return rc;
        }
    }
    e->rc = tried ? STJWT_E_BAD_SIGNATURE : STJWT_E_UNKNOWN_KID;
    e->msg = tried ? "signature does not verify" : "no RSA key in the set";
    return e->rc;
}


/* kid NULL: no kid. */
static const st_key_t *
select_key(const stjwt_keyset_t *ks, int alg, const char *kid,
    size_t kid_len, st_err_t *e)
{
    const st_key_t *k, *found = NULL;
    size_t i, n = 0;

    if (kid != NULL) {
        for (i = 0; i < ks->n; i++) {
            k = &ks->keys[i];
            if (k->has_kid && k->kid_len == kid_len
                && (kid_len == 0 || memcmp(k->kid, kid, kid_len) == 0))
            {
                if (!st_key_fits(k, alg)) {
                    e->rc = STJWT_E_KEY_MISMATCH;
                    e->msg = "key does not fit the token alg";
                    return NULL;
                }
                return k;
            }
        }
        e->rc = STJWT_E_UNKNOWN_KID;
        e->msg = "no key with this kid";
        return NULL;
    }
    /* No kid: usable only if exactly one key fits (jose semantics). */
    for (i = 0; i < ks->n; i++) {
        if (st_key_fits(&ks->keys[i], alg)) {
            found = &ks->keys[i];
            n++;
        }
    }
    if (n != 1) {
        e->rc = STJWT_E_UNKNOWN_KID;
        e->msg = n ? "no kid and several candidate keys"
                   : "no kid and no candidate key";
        return NULL;
    }
    return found;
}


/* The end of every verify entry point: a failure leaves no OpenSSL error
 * queue behind, and errmsg gets the static text. */
static int
finish(const st_err_t *e, const char **errmsg)
{
    if (e->rc != STJWT_OK) {
        ERR_clear_error();
    }
    if (errmsg != NULL) {
        *errmsg = e->msg;
    }
    return e->rc;
}


/* The signature half of stjwt_verify(), on a token parse_token() took
 * apart into r and v's scratch. */
static void
check_token_sig(stjwt_verifier_t *v, const stjwt_keyset_t *ks,
    const char *token, const stjwt_result_t *r, st_err_t *e)
{
    const st_key_t *k;
    int alg;

    if (r->alg == NULL) {
        e->rc = STJWT_E_BAD_HEADER;
        e->msg = "header alg missing or not a string";
        return;
    }
    alg = r->alg_id;
    if (alg == STJWT_ALG_NONE || !(v->alg_mask & STJWT_ALG_BIT(alg))) {
        e->rc = STJWT_E_ALG_NOT_ALLOWED;
        e->msg = "alg not allowed";
        return;
    }
    if (v->sig_len == 0) {
        e->rc = STJWT_E_BAD_SIGNATURE;
        e->msg = "empty signature";
        return;
    }
    if (r->legacy) {
        (void) verify_legacy(v, ks, token, e);
        return;
    }
    k = select_key(ks, alg,
                   r->kid_type == STJWT_JSON_STRING ? r->kid : NULL,
                   r->kid_len, e);
    if (k == NULL) {
        return;
    }
    e->rc = check_sig(v, k, alg, token, v->signed_len, v->sig, v->sig_len);
    e->msg = e->rc == STJWT_OK ? "ok"
             : e->rc == STJWT_E_BAD_SIGNATURE ? "signature does not verify"
             : "signature check failed";
}


int
stjwt_verify(stjwt_verifier_t *v, const stjwt_keyset_t *ks,
    const char *token, size_t len, stjwt_result_t *out,
    const char **errmsg)
{
    st_err_t e = { STJWT_OK, "ok" };
    stjwt_result_t tmp;

    if (out == NULL) {
        out = &tmp;
    }
    if (v == NULL || ks == NULL || (token == NULL && len)) {
        memset(out, 0, sizeof(*out));
        ST_FAIL(&e, STJWT_E_INVALID_ARG, "invalid argument");
    }
    if (parse_token(v, token, len, out, &e) != STJWT_OK) {
        goto done;
    }
    check_token_sig(v, ks, token, out, &e);
    if (e.rc != STJWT_OK) {
        v->pay = NULL;
    }

done:
    return finish(&e, errmsg);
}


int
stjwt_verify_parsed(stjwt_verifier_t *v, const stjwt_keyset_t *ks,
    const char *token, size_t len, const char **errmsg)
{
    st_err_t e = { STJWT_OK, "ok" };

    if (v == NULL || ks == NULL || (token == NULL && len)) {
        ST_FAIL(&e, STJWT_E_INVALID_ARG, "invalid argument");
    }
    if (!v->parsed_ok || len != v->parsed_len
        || memcmp(token, v->parsed, len) != 0)
    {
        return stjwt_verify(v, ks, token, len, NULL, errmsg);
    }
    check_token_sig(v, ks, token, &v->parsed_res, &e);

done:
    return finish(&e, errmsg);
}


int
stjwt_verify_detached(stjwt_verifier_t *v, const stjwt_keyset_t *ks,
    const stjwt_detached_t *d, const char **errmsg)
{
    static const unsigned char empty[1];
    st_err_t e = { STJWT_OK, "ok" };
    const st_key_t *k;
    int alg;

    if (v == NULL || ks == NULL || d == NULL
        || (d->msg == NULL && d->msg_len) || (d->sig == NULL && d->sig_len))
    {
        ST_FAIL(&e, STJWT_E_INVALID_ARG, "invalid argument");
    }
    alg = d->alg;
    if (alg <= STJWT_ALG_NONE || alg >= STJWT_ALG_MAX
        || !(v->alg_mask & STJWT_ALG_BIT(alg)))
    {
        ST_FAIL(&e, STJWT_E_ALG_NOT_ALLOWED, "alg not allowed");
    }
    k = select_key(ks, alg, d->kid, d->kid_len, &e);
    if (k == NULL) {
        goto done;
    }
    e.rc = check_sig(v, k, alg,
                     d->msg ? (const char *) d->msg : (const char *) empty,
                     d->msg_len, d->sig ? d->sig : empty, d->sig_len);
    e.msg = e.rc == STJWT_OK ? "ok"
            : e.rc == STJWT_E_BAD_SIGNATURE ? "signature does not verify"
            : "signature check failed";

done:
    return finish(&e, errmsg);
}


static unsigned
name_slot(const char *name, size_t len)
{
    return (unsigned) (len * 7u + (unsigned char) name[0] * 3u
                       + (unsigned char) name[len - 1]) % ST_NAME_SLOTS;
}


static uint8_t
name_id(const st_names_t *t, const char *name, size_t len)
{
    unsigned h;
    uint8_t id;

    if (len == 0 || len > STJWT_NAME_LEN_MAX) {
        return 0;
    }
    for (h = name_slot(name, len); (id = t->slot[h]) != 0;
         h = (h + 1) % ST_NAME_SLOTS)
    {
        if (t->len[id - 1] == len && memcmp(t->text[id - 1], name, len) == 0)
        {
            return id;
        }
    }
    return 0;
}


int
stjwt_verifier_set_names(stjwt_verifier_t *v, const char *const *names,
    const size_t *lens, size_t n)
{
    st_names_t t;
    size_t i;
    unsigned h;

    if (v == NULL || (n > 0 && (names == NULL || lens == NULL))
        || n > STJWT_NAMES_MAX)
    {
        return STJWT_E_INVALID_ARG;
    }
    memset(&t, 0, sizeof(t));
    for (i = 0; i < n; i++) {
        if (names[i] == NULL || lens[i] == 0
            || lens[i] > STJWT_NAME_LEN_MAX
            || name_id(&t, names[i], lens[i]) != 0)
        {
            return STJWT_E_INVALID_ARG;
        }
        memcpy(t.text[i], names[i], lens[i]);
        t.len[i] = (uint8_t) lens[i];
        for (h = name_slot(names[i], lens[i]); t.slot[h] != 0;
             h = (h + 1) % ST_NAME_SLOTS)
        {
            /* a free slot exists: ST_NAME_SLOTS > STJWT_NAMES_MAX */
        }
        t.slot[h] = (uint8_t) (i + 1);
    }
    v->names = t;
    return STJWT_OK;
}


size_t
stjwt_payload_members(stjwt_verifier_t *v, const stjwt_member_t **out)
{
    const st_jmember_t *m;
    stjwt_member_t *r;
    size_t i;

    if (out != NULL) {
        *out = NULL;
    }
    if (v == NULL || out == NULL || v->pay == NULL) {
        return 0;
    }
    for (i = 0; i < v->obj.n; i++) {
        m = &v->obj.mem[i];
        r = &v->members[i];
        r->name = m->name;
        r->name_len = m->name_len;
        r->value = (const char *) v->pay + m->val_off;
        r->value_len = m->val_len;
        r->number = 0;
        r->type = (uint8_t) m->type;
        r->plain = 0;
        r->name_id = name_id(&v->names, m->name, m->name_len);
        if (m->type == STJWT_JSON_STRING && !m->val_esc) {
            r->value++;
            r->value_len -= 2;
            r->plain = 1;
        } else if (m->type == STJWT_JSON_NUMBER) {
            r->plain = (uint8_t) plain_integer(v->pay + m->val_off,
                                               m->val_len, &r->number);
        }
    }
    *out = v->members;
    return v->obj.n;
}
