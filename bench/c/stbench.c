/*
 * stbench.c - timed verification loops; see stbench.h.
 *
 * The OpenSSL baselines verify the same token bytes with the same key as
 * libstjwt, but get the signature already base64url-decoded (and, for
 * ES256, already DER-encoded): they time the cryptography alone, so the
 * ratio stjwt/evp is the whole cost of parsing and checking.
 */
#define _POSIX_C_SOURCE 200809L

#include "stbench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "stjwt.h"

#define STB_MAX_TOKENS 64

typedef enum { STB_RSA, STB_EC, STB_ED } stb_family_e;

struct stb_s {
    stb_family_e      family;
    int               alg_id;
    const char       *mdname;   /* NULL for EdDSA */
    EVP_PKEY         *pkey;
    EVP_MD           *md;       /* fetched once; NULL for EdDSA */
    EVP_MD_CTX       *ctx;      /* re-initialised per call (STB_EVP) */
    EVP_MD_CTX       *tmpl;     /* initialised once (STB_EVP_COPY) */
    EVP_MD_CTX       *work;
    EVP_MD_CTX       *hctx;     /* hashing for STB_EVP_PKEY */
    EVP_PKEY_CTX     *pctx;     /* verify-initialised once */
    unsigned char     sig[512]; /* first token's signature, as EVP wants */
    size_t            sig_len;
    const char       *input;    /* first token's signing input */
    size_t            input_len;
    char             *tok[STB_MAX_TOKENS];
    size_t            tok_len[STB_MAX_TOKENS];
    int               n_tok;
    char             *pem;      /* NUL-terminated copy for libjwt */
    size_t            pem_len;
    stjwt_keyset_t   *ks;
    stjwt_verifier_t *v;
};

static const char *kind_names[STB_N] = {
    "evp", "evp_copy", "evp_naive", "evp_pkey", "stjwt", "stjwt_parse",
    "libjwt", "pem_parse"
};


const char *
stb_kind_name(int kind)
{
    return (kind >= 0 && kind < STB_N) ? kind_names[kind] : "?";
}


static clockid_t stb_clock = CLOCK_THREAD_CPUTIME_ID;


void
stb_use_cpu_clock(int on)
{
    stb_clock = on ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
}


double
stb_now_ns(void)
{
    struct timespec ts;

    clock_gettime(stb_clock, &ts);
    return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}


static int
b64url_val(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}


/* Lenient decoder: the bench only feeds it signatures it minted. */
static int
b64url_decode(const char *s, size_t len, unsigned char *dst, size_t cap,
    size_t *out)
{
    unsigned acc = 0;
    int      bits = 0;
    size_t   n = 0;

    for (size_t i = 0; i < len; i++) {
        int v = b64url_val((unsigned char) s[i]);
        if (v < 0) return -1;
        acc = (acc << 6) | (unsigned) v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n == cap) return -1;
            dst[n++] = (unsigned char) (acc >> bits);
        }
    }
    *out = n;
    return 0;
}


/* JOSE r||s to the DER ECDSA-Sig-Value EVP verifies. */
static int
raw_to_der(unsigned char *sig, size_t *len, size_t cap)
{
    ECDSA_SIG     *es = NULL;
    BIGNUM        *r = NULL, *s = NULL;
    unsigned char *p = NULL;
    int            n, ok = -1;
    size_t         half = *len / 2;

    es = ECDSA_SIG_new();
    r = BN_bin2bn(sig, (int) half, NULL);
    s = BN_bin2bn(sig + half, (int) half, NULL);
    if (es == NULL || r == NULL || s == NULL) goto done;
    if (!ECDSA_SIG_set0(es, r, s)) goto done;
    r = s = NULL;
    n = i2d_ECDSA_SIG(es, &p);
    if (n <= 0 || (size_t) n > cap) goto done;
    memcpy(sig, p, (size_t) n);
    *len = (size_t) n;
    ok = 0;
done:
    OPENSSL_free(p);
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return ok;
}


static int
split_tokens(stb_t *b, const char *tokens, size_t len)
{
    const char *p = tokens, *end = tokens + len;

    while (p < end && b->n_tok < STB_MAX_TOKENS) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        size_t      n = (size_t) ((nl ? nl : end) - p);
        if (n > 0) {
            char *t = malloc(n + 1);
            if (t == NULL) return -1;
            memcpy(t, p, n);
            t[n] = '\0';
            b->tok[b->n_tok] = t;
            b->tok_len[b->n_tok] = n;
            b->n_tok++;
        }
        p += n + 1;
    }
    return b->n_tok > 0 ? 0 : -1;
}


static int
setup_evp(stb_t *b)
{
    BIO        *bio = NULL;
    const char *t = b->tok[0], *dot;
    int         ok = -1;

    bio = BIO_new_mem_buf(b->pem, (int) b->pem_len);
    if (bio == NULL) goto done;
    b->pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    if (b->pkey == NULL) goto done;

    dot = strrchr(t, '.');
    if (dot == NULL) goto done;
    b->input = t;
    b->input_len = (size_t) (dot - t);
    if (b64url_decode(dot + 1, strlen(dot + 1), b->sig, sizeof(b->sig),
                      &b->sig_len) != 0)
        goto done;
    if (b->family == STB_EC
        && raw_to_der(b->sig, &b->sig_len, sizeof(b->sig)) != 0)
        goto done;

    if (b->mdname != NULL) {
        b->md = EVP_MD_fetch(NULL, b->mdname, NULL);
        if (b->md == NULL) goto done;
    }
    b->ctx = EVP_MD_CTX_new();
    b->tmpl = EVP_MD_CTX_new();
    b->work = EVP_MD_CTX_new();
    b->hctx = EVP_MD_CTX_new();
    if (!b->ctx || !b->tmpl || !b->work || !b->hctx) goto done;
    if (EVP_DigestVerifyInit_ex(b->tmpl, NULL, b->mdname, NULL, NULL,
                                b->pkey, NULL) != 1)
        goto done;

    if (b->family != STB_ED) {
        b->pctx = EVP_PKEY_CTX_new_from_pkey(NULL, b->pkey, NULL);
        if (b->pctx == NULL || EVP_PKEY_verify_init(b->pctx) != 1) goto done;
        if (b->family == STB_RSA
            && EVP_PKEY_CTX_set_rsa_padding(b->pctx, RSA_PKCS1_PADDING) != 1)
            goto done;
        if (EVP_PKEY_CTX_set_signature_md(b->pctx, b->md) != 1) goto done;
    }
    ok = 0;
done:
    BIO_free(bio);
    if (ok != 0) ERR_clear_error();
    return ok;
}


stb_t *
stb_new(const char *alg, const char *tokens, size_t tokens_len,
    const char *pem, size_t pem_len, const char *jwks, size_t jwks_len,
    char *err, size_t err_len)
{
    stb_t           *b;
    stjwt_options_t  opts;
    const char      *msg = "out of memory";
    int              rc;

    b = calloc(1, sizeof(*b));
    if (b == NULL) goto fail;

    b->alg_id = stjwt_alg_from_name(alg, strlen(alg));
    if (strcmp(alg, "RS256") == 0) {
        b->family = STB_RSA;
        b->mdname = "SHA256";
    } else if (strcmp(alg, "ES256") == 0) {
        b->family = STB_EC;
        b->mdname = "SHA256";
    } else if (strcmp(alg, "EdDSA") == 0) {
        b->family = STB_ED;
    } else {
        msg = "unsupported alg";
        goto fail;
    }

    b->pem = malloc(pem_len + 1);
    if (b->pem == NULL) goto fail;
    memcpy(b->pem, pem, pem_len);
    b->pem[pem_len] = '\0';
    b->pem_len = pem_len;

    if (split_tokens(b, tokens, tokens_len) != 0) {
        msg = "no tokens";
        goto fail;
    }
    if (setup_evp(b) != 0) {
        msg = "OpenSSL setup failed (key or signature)";
        goto fail;
    }

    b->ks = stjwt_keyset_new(jwks, jwks_len, 0, NULL, &rc, &msg);
    if (b->ks == NULL) goto fail;
    memset(&opts, 0, sizeof(opts));
    opts.alg_mask = STJWT_ALG_BIT(b->alg_id);
    b->v = stjwt_verifier_new(&opts, &rc, &msg);
    if (b->v == NULL) goto fail;
    return b;

fail:
    if (err != NULL && err_len > 0) snprintf(err, err_len, "%s", msg);
    stb_free(b);
    return NULL;
}


void
stb_free(stb_t *b)
{
    if (b == NULL) return;
    for (int i = 0; i < b->n_tok; i++) free(b->tok[i]);
    free(b->pem);
    EVP_PKEY_CTX_free(b->pctx);
    EVP_MD_CTX_free(b->hctx);
    EVP_MD_CTX_free(b->work);
    EVP_MD_CTX_free(b->tmpl);
    EVP_MD_CTX_free(b->ctx);
    EVP_MD_free(b->md);
    EVP_PKEY_free(b->pkey);
    stjwt_verifier_free(b->v);
    stjwt_keyset_free(b->ks);
    free(b);
}


static int
one_evp(stb_t *b)
{
    if (EVP_MD_CTX_reset(b->ctx) != 1
        || EVP_DigestVerifyInit_ex(b->ctx, NULL, b->mdname, NULL, NULL,
                                   b->pkey, NULL) != 1)
        return 0;
    return EVP_DigestVerify(b->ctx, b->sig, b->sig_len,
                            (const unsigned char *) b->input,
                            b->input_len) == 1;
}


static int
one_evp_copy(stb_t *b)
{
    if (EVP_MD_CTX_copy_ex(b->work, b->tmpl) != 1) return 0;
    /* Without FINALISE, the final step duplicates the pkey ctx again. */
    EVP_MD_CTX_set_flags(b->work, EVP_MD_CTX_FLAG_FINALISE);
    return EVP_DigestVerify(b->work, b->sig, b->sig_len,
                            (const unsigned char *) b->input,
                            b->input_len) == 1;
}


static int
one_evp_naive(stb_t *b)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_MD     *md = NULL;
    int         ok = 0;

    if (ctx == NULL) goto done;
    if (b->mdname != NULL) {
        md = EVP_MD_fetch(NULL, b->mdname, NULL);
        if (md == NULL) goto done;
    }
    if (EVP_DigestVerifyInit(ctx, NULL, md, NULL, b->pkey) != 1) goto done;
    ok = EVP_DigestVerify(ctx, b->sig, b->sig_len,
                          (const unsigned char *) b->input,
                          b->input_len) == 1;
done:
    EVP_MD_free(md);
    EVP_MD_CTX_free(ctx);
    return ok;
}


static int
one_evp_pkey(stb_t *b)
{
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int  hl;

    if (EVP_DigestInit_ex(b->hctx, b->md, NULL) != 1
        || EVP_DigestUpdate(b->hctx, b->input, b->input_len) != 1
        || EVP_DigestFinal_ex(b->hctx, h, &hl) != 1)
        return 0;
    return EVP_PKEY_verify(b->pctx, b->sig, b->sig_len, h, hl) == 1;
}


static int
one_pem(stb_t *b)
{
    BIO      *bio = BIO_new_mem_buf(b->pem, (int) b->pem_len);
    EVP_PKEY *k = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    int       ok = k != NULL;

    EVP_PKEY_free(k);
    BIO_free(bio);
    return ok;
}


static int
one_libjwt(stb_t *b, int i)
{
    jwt_t *jwt = NULL;
    int    rc;

    rc = jwt_decode(&jwt, b->tok[i], (const unsigned char *) b->pem,
                    (int) b->pem_len);
    jwt_free(jwt);
    return rc == 0;
}


double
stb_run(stb_t *b, int kind, long iters)
{
    stjwt_result_t res;
    const char    *msg;
    double         t0;
    long           bad = 0;
    int            j = 0;

    if (kind == STB_EVP_PKEY && b->family == STB_ED) return -2;
    if (kind == STB_LIBJWT && b->family == STB_ED) return -2;

    t0 = stb_now_ns();
    for (long i = 0; i < iters; i++) {
        int ok;
        switch (kind) {
        case STB_EVP:         ok = one_evp(b); break;
        case STB_EVP_COPY:    ok = one_evp_copy(b); break;
        case STB_EVP_NAIVE:   ok = one_evp_naive(b); break;
        case STB_EVP_PKEY:    ok = one_evp_pkey(b); break;
        case STB_STJWT:
            ok = stjwt_verify(b->v, b->ks, b->tok[j], b->tok_len[j], &res,
                              &msg) == STJWT_OK;
            break;
        case STB_STJWT_PARSE:
            ok = stjwt_parse(b->v, b->tok[j], b->tok_len[j], &res,
                             &msg) == STJWT_OK;
            break;
        case STB_LIBJWT:      ok = one_libjwt(b, j); break;
        case STB_PEM:         ok = one_pem(b); break;
        default:              return -2;
        }
        bad += !ok;
        if (++j == b->n_tok) j = 0;
    }
    if (bad) {
        ERR_clear_error();
        return -1;
    }
    return (stb_now_ns() - t0) / (double) (iters > 0 ? iters : 1);
}


int
stb_bare_verify(stb_t *b)
{
    return b->family == STB_ED ? one_evp_copy(b) : one_evp_pkey(b);
}
