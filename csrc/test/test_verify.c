/*
 * test_verify.c - stjwt_parse()/stjwt_verify() on real signatures.
 *
 * Keys are generated here (RSA 2048, P-256/384/521, Ed25519, an HMAC
 * secret), exported as public JWKs and imported with stjwt_keyset_new();
 * tokens are signed with EVP_DigestSign.  Every token is handed to the
 * library from a buffer that ends at a PROT_NONE page, every prefix of a
 * valid token is tried, and the malformed-token list follows libjwt's
 * tests/jwt_security.c (no dots, one dot, many dots, empty header,
 * integer alg, alg none, bad base64url, deep JSON).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "util.h"

static stjwt_result_t R;
static int err_queue_dirty;
static const char *PAYLOAD =
    "{\"sub\":\"user-1\",\"exp\":4102444800,\"iat\":1700000000,"
    "\"sessionHandle\":\"h\"}";

static EVP_PKEY *rsa, *p256, *p384, *p521, *ed;
static unsigned char secret[64];
static stjwt_keyset_t *ks_all, *ks_hs;   /* public keys / HMAC secret */
static stjwt_verifier_t *v_all, *v_def;


/* rc of a verify call, after checking what every call must leave: an
 * errmsg and an empty OpenSSL error queue. */
static int
checked(int rc, const char *msg)
{
    if (msg == NULL) {
        ok(0, "errmsg set");
    }
    if (ERR_peek_error() != 0) {
        err_queue_dirty++;
        ERR_clear_error();
    }
    return rc;
}


static int
verifyn(stjwt_verifier_t *v, const stjwt_keyset_t *ks, const char *tok,
    size_t n)
{
    const char *msg = NULL;
    int rc = stjwt_verify(v, ks, guard_copy(tok, n), n, &R, &msg);

    return checked(rc, msg);
}


static int
verify(stjwt_verifier_t *v, const stjwt_keyset_t *ks, const char *tok)
{
    return verifyn(v, ks, tok, strlen(tok));
}


static int
parse(stjwt_verifier_t *v, const char *tok)
{
    const char *msg = NULL;
    size_t n = strlen(tok);

    return stjwt_parse(v, guard_copy(tok, n), n, &R, &msg);
}


static stjwt_verifier_t *
verifier(uint32_t mask, uint32_t flags, uint32_t max_len, uint32_t depth)
{
    stjwt_options_t o = { mask, flags, max_len, depth };
    const char *msg;
    int rc;
    stjwt_verifier_t *v = stjwt_verifier_new(&o, &rc, &msg);

    if (v == NULL) {
        diag("verifier_new: %s", msg);
        exit(2);
    }
    return v;
}


static char *
hdr(int alg, const char *kid)
{
    if (kid == NULL) {
        return t_printf("{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg_name(alg));
    }
    return t_printf("{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\","
                    "\"version\":\"5\"}", alg_name(alg), kid);
}


static EVP_PKEY *
key_for(int alg)
{
    switch (alg) {
    case STJWT_ALG_ES256: return p256;
    case STJWT_ALG_ES384: return p384;
    case STJWT_ALG_ES512: return p521;
    case STJWT_ALG_EDDSA: return ed;
    default:
        return alg >= STJWT_ALG_HS256 ? NULL : rsa;
    }
}


static const char *
kid_for(int alg)
{
    switch (alg) {
    case STJWT_ALG_ES256: return "ec256";
    case STJWT_ALG_ES384: return "ec384";
    case STJWT_ALG_ES512: return "ec521";
    case STJWT_ALG_EDDSA: return "ed1";
    default:
        return alg >= STJWT_ALG_HS256 ? "hs1" : "rsa1";
    }
}


static const stjwt_keyset_t *
ks_for(int alg)
{
    return alg >= STJWT_ALG_HS256 ? ks_hs : ks_all;
}


static char *
tok_for(int alg, const char *header, const char *payload)
{
    return make_jws(key_for(alg), secret, sizeof(secret), alg, header,
                    payload);
}


/* Token of segments h.p.s with s replaced. */
static char *
with_sig(const char *tok, const char *sig64)
{
    const char *d2 = strrchr(tok, '.');

    return t_printf("%.*s.%s", (int) (d2 - tok), tok, sig64);
}


static char *
seg(const char *tok, int i)
{
    const char *p = tok, *e;

    while (i-- > 0) {
        p = strchr(p, '.') + 1;
    }
    e = strchr(p, '.');
    return t_strndup(p, e ? (size_t) (e - p) : strlen(p));
}


static const char b64u_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


/* Another base64url character: flips the lowest bit of its sextet. */
static char
flip(char c)
{
    return b64u_chars[(strchr(b64u_chars, c) - b64u_chars) ^ 1];
}


/* Same bytes, other encoding: flip an unused low bit of the last char. */
static char *
noncanonical(const char *s64)
{
    char *s = t_strndup(s64, strlen(s64));
    size_t n = strlen(s);

    while (n > 0 && s[n - 1] == '=') {
        n--;                                /* standard base64 */
    }
    s[n - 1] = s[n - 1] == '+' ? '/' : s[n - 1] == '/' ? '+'
                                                        : flip(s[n - 1]);
    return s;
}


static void
test_every_alg(void)
{
    int alg, rc, bad_prefix, crash_free;
    char *tok, *t2;
    size_t i, n, siglen;
    unsigned char *sig;

    for (alg = STJWT_ALG_RS256; alg < STJWT_ALG_MAX; alg++) {
        const char *name = alg_name(alg), *kid = kid_for(alg);

        tok = tok_for(alg, hdr(alg, kid), PAYLOAD);
        rc = verify(v_all, ks_for(alg), tok);
        is_rc(rc, STJWT_OK, "%s: valid token verifies", name);
        ok(R.alg_id == alg && R.alg_len == strlen(name)
           && memcmp(R.alg, name, R.alg_len) == 0, "%s: alg reported", name);
        ok(R.kid_type == STJWT_JSON_STRING && R.kid_len == strlen(kid)
           && memcmp(R.kid, kid, R.kid_len) == 0, "%s: kid reported", name);
        ok(R.exp_type == STJWT_JSON_NUMBER && R.exp == 4102444800.0
           && R.iat == 1700000000.0 && R.nbf_type == STJWT_JSON_ABSENT
           && R.stt_type == STJWT_JSON_ABSENT, "%s: claims", name);
        ok(R.payload_len == strlen(PAYLOAD)
           && memcmp(R.payload, PAYLOAD, R.payload_len) == 0,
           "%s: payload bytes", name);
        is_rc(parse(v_def, tok), STJWT_OK, "%s: parse without keys", name);

        /* tampered payload, original signature */
        t2 = t_printf("%s.%s.%s", seg(tok, 0),
                      b64url("{\"sub\":\"admin\"}", 15), seg(tok, 2));
        is_rc(verify(v_all, ks_for(alg), t2), STJWT_E_BAD_SIGNATURE,
              "%s: tampered payload", name);

        /* tampered signature bytes */
        sig = sign_raw(key_for(alg), secret, sizeof(secret), alg, "x", 1,
                       &siglen);
        n = strlen(seg(tok, 2));
        t2 = t_strndup(tok, strlen(tok));
        t2[strlen(tok) - n / 2] = flip(t2[strlen(tok) - n / 2]);
        is_rc(verify(v_all, ks_for(alg), t2), STJWT_E_BAD_SIGNATURE,
              "%s: flipped signature bit", name);
        is_rc(verify(v_all, ks_for(alg), with_sig(tok, b64url(sig, siglen))),
              STJWT_E_BAD_SIGNATURE, "%s: signature of other message",
              name);

        /* header names another alg of the same key type */
        if (alg == STJWT_ALG_RS256 || alg == STJWT_ALG_PS256) {
            int other = alg == STJWT_ALG_RS256 ? STJWT_ALG_PS256
                                               : STJWT_ALG_RS256;
            t2 = t_printf("%s.%s.%s",
                          b64url(hdr(other, kid), strlen(hdr(other, kid))),
                          seg(tok, 1), seg(tok, 2));
            is_rc(verify(v_all, ks_for(alg), t2), STJWT_E_BAD_SIGNATURE,
                  "%s: same signature under %s", name, alg_name(other));
        }

        is_rc(verify(v_def, ks_for(alg), tok),
              alg == STJWT_ALG_RS256 ? STJWT_OK : STJWT_E_ALG_NOT_ALLOWED,
              "%s: default alg_mask is RS256 only", name);

        /* no kid: the one key of that type is used */
        t2 = tok_for(alg, hdr(alg, NULL), PAYLOAD);
        is_rc(verify(v_all, ks_for(alg), t2), STJWT_OK,
              "%s: no kid, single candidate key", name);

        /* every prefix and every one-byte extension must fail */
        bad_prefix = 0;
        n = strlen(tok);
        for (i = 0; i < n; i++) {
            if (verifyn(v_all, ks_for(alg), tok, i) == STJWT_OK) {
                bad_prefix++;
            }
        }
        ok(bad_prefix == 0, "%s: none of %zu prefixes verifies", name, n);
        crash_free = 0;
        for (i = 0; i < 4; i++) {
            t2 = t_printf("%s%c", tok, "A=.-"[i]);
            crash_free += verify(v_all, ks_for(alg), t2) != STJWT_OK;
        }
        ok(crash_free == 4, "%s: appended byte fails", name);
    }
}


static void
test_malformed(void)
{
    char *tok = tok_for(STJWT_ALG_RS256, hdr(STJWT_ALG_RS256, "rsa1"),
                        PAYLOAD);
    char *h = seg(tok, 0), *p = seg(tok, 1), *s = seg(tok, 2);
    char *none_h;
    static const char *const nones[] = { "none", "None", "NONE", "nOnE" };
    size_t i;

    is_rc(verify(v_def, ks_all, ""), STJWT_E_MALFORMED, "empty token");
    is_rc(verify(v_def, ks_all, h), STJWT_E_MALFORMED, "no dots");
    is_rc(verify(v_def, ks_all, t_printf("%s.%s", h, p)), STJWT_E_MALFORMED,
          "one dot");
    is_rc(verify(v_def, ks_all, t_printf("%s.%s.%s.%s", h, p, s, s)),
          STJWT_E_MALFORMED, "three dots");
    is_rc(verify(v_def, ks_all, t_printf("%s.%s.%s.%s.%s", h, p, s, p, s)),
          STJWT_E_MALFORMED, "four dots (JWE-like)");
    is_rc(verify(v_def, ks_all, t_printf("%s.", tok)), STJWT_E_MALFORMED,
          "trailing dot");
    is_rc(verify(v_def, ks_all, ".."), STJWT_E_MALFORMED, "only dots");
    is_rc(verify(v_def, ks_all, t_printf(".%s.%s", p, s)),
          STJWT_E_MALFORMED, "empty header");
    /* node parses a token with an empty signature and fails it at the
     * signature stage (try refresh), so the empty signature is a
     * signature failure, not a malformed token. */
    is_rc(parse(v_def, t_printf("%s.%s.", h, p)), STJWT_OK,
          "empty signature parses");
    is_rc(verify(v_def, ks_all, t_printf("%s.%s.", h, p)),
          STJWT_E_BAD_SIGNATURE, "empty signature");
    is_rc(verify(v_def, ks_all, t_printf("%s..%s", h, s)),
          STJWT_E_MALFORMED, "empty payload");

    is_rc(verify(v_def, ks_all, tok_for(STJWT_ALG_RS256,
                                        "{\"alg\":256,\"kid\":\"rsa1\"}",
                                        PAYLOAD)),
          STJWT_E_BAD_HEADER, "integer alg");
    is_rc(verify(v_def, ks_all, tok_for(STJWT_ALG_RS256,
                                        "{\"kid\":\"rsa1\"}", PAYLOAD)),
          STJWT_E_BAD_HEADER, "missing alg");
    is_rc(verify(v_def, ks_all, tok_for(STJWT_ALG_RS256,
                                        "{\"alg\":null}", PAYLOAD)),
          STJWT_E_BAD_HEADER, "null alg");
    is_rc(verify(v_def, ks_all, tok_for(STJWT_ALG_RS256,
                                        "{\"alg\":[\"RS256\"]}", PAYLOAD)),
          STJWT_E_BAD_HEADER, "array alg");
    is_rc(verify(v_all, ks_all, tok_for(STJWT_ALG_RS256,
                                        "{\"alg\":\"rs256\"}", PAYLOAD)),
          STJWT_E_ALG_NOT_ALLOWED, "alg names are case-sensitive");

    for (i = 0; i < ST_N(nones); i++) {
        none_h = b64url(t_printf("{\"alg\":\"%s\"}", nones[i]),
                        strlen(nones[i]) + 10);
        is_rc(verify(v_all, ks_all, t_printf("%s.%s.", none_h, p)),
              STJWT_E_ALG_NOT_ALLOWED, "alg %s, empty signature", nones[i]);
        is_rc(verify(v_all, ks_all, t_printf("%s.%s.%s", none_h, p, s)),
              STJWT_E_ALG_NOT_ALLOWED, "alg %s with a signature", nones[i]);
        is_rc(parse(v_all, t_printf("%s.%s.%s", none_h, p, s)), STJWT_OK,
              "alg %s parses (alg judged by verify)", nones[i]);
        ok(R.alg_id == STJWT_ALG_NONE, "alg %s has alg_id NONE", nones[i]);
    }

    /* base64url strictness */
    is_rc(verify(v_def, ks_all, t_printf("%s=.%s.%s", h, p, s)),
          STJWT_E_BAD_BASE64, "padding on header");
    is_rc(verify(v_def, ks_all, t_printf("%s.%s.%s==", h, p, s)),
          STJWT_E_BAD_BASE64, "padding on signature");
    {
        char *s2 = t_strndup(s, strlen(s));
        s2[3] = '+';
        is_rc(verify(v_def, ks_all, t_printf("%s.%s.%s", h, p, s2)),
              STJWT_E_BAD_BASE64, "'+' in signature");
        s2[3] = '/';
        is_rc(verify(v_def, ks_all, t_printf("%s.%s.%s", h, p, s2)),
              STJWT_E_BAD_BASE64, "'/' in signature");
    }
    is_rc(verify(v_def, ks_all, t_printf("%s.%.4s %s.%s", h, p, p + 4, s)),
          STJWT_E_BAD_BASE64, "space in payload");
    is_rc(verify(v_def, ks_all, t_printf("%s.%.4s\n%s.%s", h, p, p + 4, s)),
          STJWT_E_BAD_BASE64, "newline in payload");
    is_rc(verify(v_def, ks_all, t_printf(" %s", tok)), STJWT_E_BAD_BASE64,
          "leading space");
    is_rc(verify(v_def, ks_all, t_printf("%s\r\n", tok)),
          STJWT_E_BAD_BASE64, "trailing CRLF");
    is_rc(verify(v_def, ks_all, t_printf("%s.%s%.*s.%s", h, p,
                                         (int) (5 - strlen(p) % 4) % 4,
                                         "AAA", s)),
          STJWT_E_BAD_BASE64, "payload length %% 4 == 1");
    ok(strlen(s) % 4 == 2, "RS256 signature segment has unused bits");
    is_rc(verify(v_def, ks_all, t_printf("%s.%s.%s", h, p,
                                         noncanonical(s))),
          STJWT_E_BAD_BASE64, "non-canonical trailing bits in signature");
    {
        /* payload whose encoding has unused bits: 1 byte over a multiple */
        char *pl = t_printf("{\"sub\":\"x\",\"exp\":1}");
        char *t2 = tok_for(STJWT_ALG_RS256, hdr(STJWT_ALG_RS256, "rsa1"),
                           pl);
        char *p2 = seg(t2, 1);
        ok(strlen(p2) % 4 != 0, "payload segment has unused bits");
        is_rc(verify(v_def, ks_all, t2), STJWT_OK, "canonical payload ok");
        is_rc(verify(v_def, ks_all, t_printf("%s.%s.%s", seg(t2, 0),
                                             noncanonical(p2), seg(t2, 2))),
              STJWT_E_BAD_BASE64, "non-canonical trailing bits in payload");
    }
    {
        char *t2 = t_strndup(tok, strlen(tok));
        t2[5] = (char) 0xc3;
        is_rc(verify(v_def, ks_all, t2), STJWT_E_BAD_BASE64,
              "non-ASCII byte");
        t2[5] = '\0';
        is_rc(verifyn(v_def, ks_all, t2, strlen(tok)), STJWT_E_BAD_BASE64,
              "NUL byte inside the token");
    }
    is_rc(verify(v_def, ks_all, t_printf("%s.%s.%s", h,
                                         b64url("[1,2]", 5), s)),
          STJWT_E_BAD_JSON, "payload is an array");
    is_rc(verify(v_def, ks_all, t_printf("%s.%s.%s", h,
                                         b64url("\"s\"", 3), s)),
          STJWT_E_BAD_JSON, "payload is a string");
    is_rc(verify(v_def, ks_all, t_printf("%s.%s.%s", h,
                                         b64url("{} x", 4), s)),
          STJWT_E_BAD_JSON, "payload with trailing garbage");
    is_rc(verify(v_def, ks_all, t_printf("%s.%s.%s",
                                         b64url("{\"alg\":\"RS256\"", 14),
                                         p, s)),
          STJWT_E_BAD_JSON, "truncated header JSON");
    ok(R.alg == NULL, "no alg reported for a header that is not JSON");
}


static void
test_header_rules(void)
{
    char *t;
    const char *pl = PAYLOAD;
    int A = STJWT_ALG_RS256;

    t = tok_for(A, "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"crit\":[\"exp\"],"
                   "\"exp\":1}", pl);
    is_rc(verify(v_def, ks_all, t), STJWT_E_CRIT, "crit");
    ok(R.kid_len == 4 && R.alg_id == A, "crit: header fields still filled");
    t = tok_for(A, "{\"alg\":\"RS256\",\"crit\":[]}", pl);
    is_rc(verify(v_def, ks_all, t), STJWT_E_CRIT, "crit: empty list");
    t = tok_for(A, "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"b64\":false}", pl);
    /* RFC 7797 3: b64 only applies when listed in crit (which we
     * refuse); jose ignores it otherwise, and so do we: the signature is
     * still over the base64url segments. */
    is_rc(verify(v_def, ks_all, t), STJWT_OK, "b64:false without crit");
    t = tok_for(A, "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"b64\":true}", pl);
    is_rc(verify(v_def, ks_all, t), STJWT_OK, "b64:true is the default");

    /* never take a key from the token */
    {
        char *jwk = jwk_pub(p256, "P-256", NULL, NULL);
        t = tok_for(STJWT_ALG_ES256,
                    t_printf("{\"alg\":\"ES256\",\"kid\":\"nope\","
                             "\"jwk\":%s,\"jku\":\"http://x/\"}", jwk), pl);
        is_rc(verify(v_all, ks_all, t), STJWT_E_UNKNOWN_KID,
              "embedded jwk/jku ignored");
    }

    /* duplicate members, compared after unescaping */
    t = tok_for(A, "{\"alg\":\"RS256\",\"alg\":\"RS256\"}", pl);
    is_rc(verify(v_def, ks_all, t), STJWT_E_DUPLICATE_MEMBER,
          "duplicate alg");
    t = tok_for(A, "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"kid\":\"x\"}", pl);
    is_rc(verify(v_def, ks_all, t), STJWT_E_DUPLICATE_MEMBER,
          "duplicate kid");
    t = tok_for(A, "{\"\\u0061lg\":\"RS256\",\"alg\":\"RS256\"}", pl);
    is_rc(verify(v_def, ks_all, t), STJWT_E_DUPLICATE_MEMBER,
          "duplicate alg, one name escaped");
    t = tok_for(A, "{\"al\\u0067\":\"RS256\",\"kid\":\"rsa1\"}", pl);
    is_rc(verify(v_def, ks_all, t), STJWT_OK, "escaped member name found");
    t = tok_for(A, hdr(A, "rsa1"),
                "{\"sub\":\"a\",\"exp\":1,\"exp\":4102444800}");
    is_rc(verify(v_def, ks_all, t), STJWT_E_DUPLICATE_MEMBER,
          "duplicate exp");
    t = tok_for(A, hdr(A, "rsa1"), "{\"sub\":\"a\",\"s\\u0075b\":\"b\"}");
    is_rc(verify(v_def, ks_all, t), STJWT_E_DUPLICATE_MEMBER,
          "duplicate sub (\\u0075 escaped)");
    t = tok_for(A, hdr(A, "rsa1"), "{\"a\":{\"b\":1,\"b\":2},\"c\":1}");
    is_rc(verify(v_def, ks_all, t), STJWT_OK,
          "nested duplicate members are not top-level");

    /* kid selection */
    t = tok_for(A, "{\"alg\":\"RS256\",\"kid\":\"rsa1\\u0000x\"}", pl);
    is_rc(verify(v_def, ks_all, t), STJWT_E_UNKNOWN_KID, "kid with NUL");
    ok(R.kid_len == 6 && R.kid[4] == '\0', "kid with NUL reported whole");
    t = tok_for(A, "{\"alg\":\"RS256\",\"kid\":\"../../../etc/passwd\"}",
                pl);
    is_rc(verify(v_def, ks_all, t), STJWT_E_UNKNOWN_KID,
          "kid with path traversal");
    {
        char *big = t_alloc(10241);
        memset(big, 'k', 10240);
        t = tok_for(A, t_printf("{\"alg\":\"RS256\",\"kid\":\"%s\"}", big),
                    pl);
        is_rc(verify(v_def, ks_all, t), STJWT_E_UNKNOWN_KID, "10 KB kid");
        ok(R.kid_len == 10240, "10 KB kid reported");
    }
    t = tok_for(A, "{\"alg\":\"RS256\",\"kid\":\"ec256\"}", pl);
    is_rc(verify(v_def, ks_all, t), STJWT_E_KEY_MISMATCH,
          "RS256 token naming an EC key");
    t = tok_for(STJWT_ALG_ES256, "{\"alg\":\"ES256\",\"kid\":\"ec384\"}",
                pl);
    is_rc(verify(v_all, ks_all, t), STJWT_E_KEY_MISMATCH,
          "ES256 token naming a P-384 key");
    t = tok_for(STJWT_ALG_EDDSA, "{\"alg\":\"EdDSA\",\"kid\":\"rsa1\"}", pl);
    is_rc(verify(v_all, ks_all, t), STJWT_E_KEY_MISMATCH,
          "EdDSA token naming an RSA key");
    t = tok_for(A, "{\"alg\":\"RS256\",\"kid\":123}", pl);
    is_rc(verify(v_def, ks_all, t), STJWT_OK,
          "numeric kid: treated as no kid, single RSA key");
    ok(R.kid_type == STJWT_JSON_NUMBER && R.kid == NULL,
       "numeric kid: only the type is reported");
    t = tok_for(A, "{\"alg\":\"RS256\",\"kid\":null}", pl);
    is_rc(verify(v_def, ks_all, t), STJWT_OK, "null kid: as no kid");
    ok(R.kid_type == STJWT_JSON_NULL, "null kid: type NULL");
    t = tok_for(A, "{\"alg\":\"XY999\",\"kid\":\"rsa1\"}", pl);
    is_rc(parse(v_all, t), STJWT_OK, "unknown alg parses");
    is_rc(verify(v_all, ks_all, t), STJWT_E_ALG_NOT_ALLOWED,
          "unknown alg not allowed");
    t = tok_for(A, "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":\"at+jwt\","
                   "\"version\":5}", pl);
    is_rc(verify(v_def, ks_all, t), STJWT_OK, "typ/version are not judged");
    ok(R.typ_type == STJWT_JSON_STRING && R.typ_len == 6
       && memcmp(R.typ, "at+jwt", 6) == 0
       && R.version_type == STJWT_JSON_NUMBER && R.version == NULL,
       "typ string and version type reported");
}


static void
test_json_payloads(void)
{
    int A = STJWT_ALG_RS256;
    char *h = hdr(A, "rsa1"), *deep, *t;
    int i;

#define PL(json) tok_for(A, h, json)
    is_rc(verify(v_def, ks_all, PL("{\"exp\":1e400}")), STJWT_E_BAD_CLAIM,
          "exp 1e400");
    ok(R.exp_type == STJWT_JSON_NUMBER, "exp 1e400: type reported");
    is_rc(verify(v_def, ks_all, PL("{\"nbf\":-1e400}")), STJWT_E_BAD_CLAIM,
          "nbf -1e400");
    is_rc(verify(v_def, ks_all, PL("{\"iat\":1E+999}")), STJWT_E_BAD_CLAIM,
          "iat 1E+999");
    is_rc(verify(v_def, ks_all, PL("{\"stt\":1e309}")), STJWT_E_BAD_CLAIM,
          "stt 1e309");
    t = t_alloc(420);
    memset(t, '9', 400);
    is_rc(verify(v_def, ks_all, PL(t_printf("{\"exp\":%s}", t))),
          STJWT_E_BAD_CLAIM, "400-digit exp is not finite");
    is_rc(verify(v_def, ks_all,
                 PL("{\"exp\":123456789012345678901234567890}")),
          STJWT_OK, "huge integer exp");
    ok(R.exp > 1.234567890123e29 && R.exp < 1.234567890124e29,
       "huge integer exp value");
    is_rc(verify(v_def, ks_all, PL("{\"exp\":-0}")), STJWT_OK, "exp -0");
    ok(R.exp == 0 && signbit(R.exp), "exp -0 keeps its sign");
    is_rc(verify(v_def, ks_all, PL("{\"exp\":1e-400}")), STJWT_OK,
          "exp underflow is finite");
    is_rc(verify(v_def, ks_all, PL("{\"exp\":4102444800.5,\"nbf\":1,"
                                   "\"iat\":2.5e3,\"stt\":0}")), STJWT_OK,
          "fractional and exponent numbers");
    ok(R.exp == 4102444800.5 && R.nbf == 1 && R.iat == 2500
       && R.stt_type == STJWT_JSON_NUMBER && R.stt == 0,
       "claim values");
    is_rc(verify(v_def, ks_all, PL("{\"exp\":\"4102444800\",\"nbf\":null,"
                                   "\"iat\":[1],\"stt\":{}}")), STJWT_OK,
          "non-number claims are not an error");
    ok(R.exp_type == STJWT_JSON_STRING && R.nbf_type == STJWT_JSON_NULL
       && R.iat_type == STJWT_JSON_ARRAY && R.stt_type == STJWT_JSON_OBJECT,
       "non-number claim types reported");
    is_rc(verify(v_def, ks_all, PL("{\"exp\":true,\"nbf\":false}")),
          STJWT_OK, "boolean claims");
    ok(R.exp_type == STJWT_JSON_TRUE && R.nbf_type == STJWT_JSON_FALSE,
       "boolean claim types");
    is_rc(verify(v_def, ks_all, PL("{\"a\":{\"exp\":1e400}}")), STJWT_OK,
          "nested exp is not a claim");
    ok(R.exp_type == STJWT_JSON_ABSENT, "nested exp: top-level absent");
    is_rc(verify(v_def, ks_all, PL("{\"exp\":01}")), STJWT_E_BAD_JSON,
          "leading zero number");
    is_rc(verify(v_def, ks_all, PL("{\"exp\":+1}")), STJWT_E_BAD_JSON,
          "plus sign number");
    is_rc(verify(v_def, ks_all, PL("{\"exp\":.5}")), STJWT_E_BAD_JSON,
          "number without integer part");
    is_rc(verify(v_def, ks_all, PL("{\"exp\":NaN}")), STJWT_E_BAD_JSON,
          "NaN");
    is_rc(verify(v_def, ks_all, PL("{\"exp\":Infinity}")), STJWT_E_BAD_JSON,
          "Infinity");
    is_rc(verify(v_def, ks_all, PL("{\"exp\":0x10}")), STJWT_E_BAD_JSON,
          "hex number");

    /* UTF-8 and escapes */
    is_rc(verify(v_def, ks_all, PL("{\"sub\":\"\xc0\xaf\"}")),
          STJWT_E_BAD_JSON, "overlong UTF-8 (C0 AF)");
    is_rc(verify(v_def, ks_all, PL("{\"sub\":\"\xe0\x80\xaf\"}")),
          STJWT_E_BAD_JSON, "overlong UTF-8 (E0 80 AF)");
    is_rc(verify(v_def, ks_all, PL("{\"sub\":\"\xf0\x80\x80\xaf\"}")),
          STJWT_E_BAD_JSON, "overlong UTF-8 (F0 80 80 AF)");
    is_rc(verify(v_def, ks_all, PL("{\"sub\":\"\xed\xa0\x80\"}")),
          STJWT_E_BAD_JSON, "UTF-8 encoded surrogate");
    is_rc(verify(v_def, ks_all, PL("{\"sub\":\"\xf4\x90\x80\x80\"}")),
          STJWT_E_BAD_JSON, "code point above U+10FFFF");
    is_rc(verify(v_def, ks_all, PL("{\"sub\":\"\xf4\x8f\xbf\xbf\"}")),
          STJWT_OK, "U+10FFFF");
    is_rc(verify(v_def, ks_all, PL("{\"sub\":\"\xff\"}")), STJWT_E_BAD_JSON,
          "byte FF");
    is_rc(verify(v_def, ks_all, PL("{\"sub\":\"\\ud800\"}")),
          STJWT_E_BAD_JSON, "lone high surrogate escape");
    is_rc(verify(v_def, ks_all, PL("{\"sub\":\"\\udc00\"}")),
          STJWT_E_BAD_JSON, "lone low surrogate escape");
    is_rc(verify(v_def, ks_all, PL("{\"sub\":\"\\ud800\\u0041\"}")),
          STJWT_E_BAD_JSON, "high surrogate + non-surrogate escape");
    is_rc(verify(v_def, ks_all, PL("{\"sub\":\"\\ud83d\\ude00\"}")),
          STJWT_OK, "surrogate pair escape");
    is_rc(verify(v_def, ks_all, PL("{\"sub\":\"a\tb\"}")), STJWT_E_BAD_JSON,
          "raw tab in string");
    is_rc(verify(v_def, ks_all, PL("{\"sub\":\"\\x41\"}")), STJWT_E_BAD_JSON,
          "invalid escape");
    is_rc(verify(v_def, ks_all, PL("\xef\xbb\xbf{}")), STJWT_E_BAD_JSON,
          "UTF-8 BOM");
    is_rc(verify(v_def, ks_all, PL(" \t\r\n{ } \n")), STJWT_OK,
          "JSON whitespace around the object");
    is_rc(verify(v_def, ks_all, PL("{\"a\":1,}")), STJWT_E_BAD_JSON,
          "trailing comma");
    is_rc(verify(v_def, ks_all, PL("{\"a\":1}{}")), STJWT_E_BAD_JSON,
          "two objects");

    /* depth: 16 levels including the top object pass, 17 do not */
    deep = t_alloc(64);
    strcpy(deep, "{\"a\":");
    for (i = 0; i < 15; i++) {
        strcat(deep, "[");
    }
    strcat(deep, "1");
    for (i = 0; i < 15; i++) {
        strcat(deep, "]");
    }
    strcat(deep, "}");
    is_rc(verify(v_def, ks_all, PL(deep)), STJWT_OK, "depth 16");
    deep = t_printf("{\"a\":[%.*s]}", (int) strlen(deep) - 6, deep + 5);
    is_rc(verify(v_def, ks_all, PL(deep)), STJWT_E_TOO_DEEP, "depth 17");
    {
        char *d = t_alloc(20010);
        for (i = 0; i < 12500; i++) {
            d[i] = '[';
        }
        is_rc(verify(v_def, ks_all, PL(t_printf("{\"a\":%s}", d))),
              STJWT_E_TOO_LARGE, "12500 open brackets: too large first");
        d[1000] = '\0';
        is_rc(verify(v_def, ks_all, PL(t_printf("{\"a\":%s}", d))),
              STJWT_E_TOO_DEEP, "1000 open brackets");
    }
    {
        stjwt_verifier_t *v4 = verifier(0, 0, 0, 4);
        is_rc(verify(v4, ks_all, PL("{\"a\":[[[1]]]}")), STJWT_OK,
              "max_depth 4: depth 4");
        is_rc(verify(v4, ks_all, PL("{\"a\":[[[[1]]]]}")), STJWT_E_TOO_DEEP,
              "max_depth 4: depth 5");
        stjwt_verifier_free(v4);
    }
    is_rc(verify(v_def, ks_all, tok_for(A, "{\"alg\":\"RS256\",\"x\":"
                                        "[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}",
                                        PAYLOAD)),
          STJWT_E_TOO_DEEP, "deep header");
#undef PL
}


/* Header/payload lookups on both member paths (pairwise up to 16, sorted
 * above), escaped and plain string values, and the integer claim fast
 * path against strtod. */
static void
test_member_lookups(void)
{
    static const char *const nums[] = {
        "0", "7", "4102444800", "999999999999999", "1000000000000000",
        "9007199254740993", "18446744073709551617", "-5", "-0", "12.5",
        "1e3", "123456789012345678901234567890",
    };
    int A = STJWT_ALG_RS256, n, i;
    char pad[512], *p, *t;
    size_t k;

    for (n = 0; n <= 14; n += 14) {
        p = pad;
        *p = '\0';
        for (i = 0; i < n; i++) {
            p += sprintf(p, ",\"p%02d\":[%d]", i, i);
        }
        t = tok_for(A, t_printf("{\"alg\":\"RS256\",\"kid\":\"rsa1\","
                                "\"typ\":\"JWT\",\"version\":\"5\"%s}", pad),
                    PAYLOAD);
        is_rc(verify(v_def, ks_all, t), STJWT_OK, "%d header members",
              n + 4);
        ok(R.kid_len == 4 && memcmp(R.kid, "rsa1", 4) == 0
           && R.typ_len == 3 && memcmp(R.typ, "JWT", 3) == 0
           && R.version_len == 1 && R.version[0] == '5'
           && R.alg_id == A, "%d header members: fields found", n + 4);
        t = tok_for(A, t_printf("{\"alg\":\"RS256\",\"kid\":\"rsa\\u0031\","
                                "\"typ\":\"J\\u0057T\"%s}", pad), PAYLOAD);
        is_rc(verify(v_def, ks_all, t), STJWT_OK,
              "%d header members, escaped values", n + 3);
        ok(R.kid_len == 4 && memcmp(R.kid, "rsa1", 4) == 0
           && R.typ_len == 3 && memcmp(R.typ, "JWT", 3) == 0,
           "%d header members: escaped values unescaped", n + 3);
        t = tok_for(A, t_printf("{\"alg\":\"RS256\",\"kid\":\"rsa1\","
                                "\"cr\\u0069t\":[]%s}", pad), PAYLOAD);
        is_rc(verify(v_def, ks_all, t), STJWT_E_CRIT,
              "%d header members, escaped crit", n + 3);
        t = tok_for(A, t_printf("{\"alg\":\"RS256\",\"kid\":\"rsa1\"%s,"
                                "\"k\\u0069d\":\"rsa1\"}", pad), PAYLOAD);
        is_rc(verify(v_def, ks_all, t), STJWT_E_DUPLICATE_MEMBER,
              "%d header members, kid twice", n + 3);
        t = tok_for(A, hdr(A, "rsa1"),
                    t_printf("{\"sub\":\"u\"%s,\"exp\":4102444800,"
                             "\"iat\":17}", pad));
        is_rc(verify(v_def, ks_all, t), STJWT_OK, "%d payload members",
              n + 3);
        ok(R.exp == 4102444800.0 && R.iat == 17.0
           && R.nbf_type == STJWT_JSON_ABSENT,
           "%d payload members: claims found", n + 3);
    }
    for (k = 0; k < ST_N(nums); k++) {
        t = tok_for(A, hdr(A, "rsa1"),
                    t_printf("{\"exp\":%s}", nums[k]));
        is_rc(verify(v_def, ks_all, t), STJWT_OK, "exp %s", nums[k]);
        ok(R.exp_type == STJWT_JSON_NUMBER
           && memcmp(&R.exp, &(double) { strtod(nums[k], NULL) },
                     sizeof(double)) == 0,
           "exp %s is strtod's value", nums[k]);
    }
}


static void
test_size_cap(void)
{
    char *big = t_alloc(16386), *t;
    stjwt_verifier_t *small = verifier(0, 0, 600, 0);

    memset(big, 'A', 16385);
    is_rc(verify(v_def, ks_all, big), STJWT_E_TOO_LARGE,
          "16385 bytes without dots: size checked first");
    big[16384] = '\0';
    is_rc(verify(v_def, ks_all, big), STJWT_E_MALFORMED,
          "16384 bytes: within the cap");
    t = tok_for(STJWT_ALG_RS256, hdr(STJWT_ALG_RS256, "rsa1"), PAYLOAD);
    is_rc(verify(small, ks_all, t), STJWT_OK, "max_token_len 600: fits");
    t = tok_for(STJWT_ALG_RS256, hdr(STJWT_ALG_RS256, "rsa1"),
                "{\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}");
    is_rc(verify(small, ks_all, t), STJWT_E_TOO_LARGE,
          "max_token_len 600: too large");
    stjwt_verifier_free(small);
}


static void
test_key_confusion(void)
{
    unsigned char *der = NULL;
    int derlen = i2d_PUBKEY(rsa, &der);
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem, *jwks, *t, *jwk = jwk_pub(rsa, NULL, "rsa1", NULL);
    long pemlen;
    stjwt_keyset_t *ks;
    stjwt_verifier_t *v = verifier(STJWT_ALG_BIT(STJWT_ALG_RS256)
                                   | STJWT_ALG_BIT(STJWT_ALG_HS256), 0, 0, 0);
    int rc;

    ok(derlen > 0 && bio != NULL && PEM_write_bio_PUBKEY(bio, rsa) == 1,
       "RSA public key as DER and PEM");
    pemlen = BIO_get_mem_data(bio, &pem);
    jwks = t_printf("{\"keys\":[%s]}", jwk);
    ks = ks_new(jwks, STJWT_KEYSET_ALLOW_HMAC, &rc);
    is_rc(rc, STJWT_OK, "RSA-only keyset with HMAC allowed");

    t = make_jws(NULL, der, (size_t) derlen, STJWT_ALG_HS256,
                 "{\"alg\":\"HS256\",\"kid\":\"rsa1\"}", PAYLOAD);
    is_rc(verify(v, ks, t), STJWT_E_KEY_MISMATCH,
          "HS256 keyed with the RSA DER, kid of the RSA key");
    t = make_jws(NULL, (unsigned char *) pem, (size_t) pemlen,
                 STJWT_ALG_HS256, "{\"alg\":\"HS256\",\"kid\":\"rsa1\"}",
                 PAYLOAD);
    is_rc(verify(v, ks, t), STJWT_E_KEY_MISMATCH,
          "HS256 keyed with the RSA PEM, kid of the RSA key");
    t = make_jws(NULL, (unsigned char *) pem, (size_t) pemlen,
                 STJWT_ALG_HS256, "{\"alg\":\"HS256\"}", PAYLOAD);
    is_rc(verify(v, ks, t), STJWT_E_UNKNOWN_KID,
          "HS256 keyed with the RSA PEM, no kid");
    t = make_jws(NULL, (unsigned char *) jwks, strlen(jwks),
                 STJWT_ALG_HS256, "{\"alg\":\"HS256\"}", PAYLOAD);
    is_rc(verify(v, ks, t), STJWT_E_UNKNOWN_KID,
          "HS256 keyed with the JWKS text, no kid");
    OPENSSL_free(der);
    BIO_free(bio);
    stjwt_verifier_free(v);
}


static void
test_ecdsa_sigs(void)
{
    char *tok = tok_for(STJWT_ALG_ES256, hdr(STJWT_ALG_ES256, "ec256"),
                        PAYLOAD);
    unsigned char raw[64], order[32], der[80];
    BIGNUM *n = NULL;
    size_t siglen, i;
    unsigned char *sig;
    int derlen;

    ok(EVP_PKEY_get_bn_param(p256, OSSL_PKEY_PARAM_EC_ORDER, &n) == 1
       && BN_bn2binpad(n, order, 32) == 32, "P-256 order");
    BN_free(n);

    memset(raw, 0, 64);
    is_rc(verify(v_all, ks_all, with_sig(tok, b64url(raw, 64))),
          STJWT_E_BAD_SIGNATURE, "ES256 r = s = 0");
    raw[31] = 1;
    is_rc(verify(v_all, ks_all, with_sig(tok, b64url(raw, 64))),
          STJWT_E_BAD_SIGNATURE, "ES256 r = 1, s = 0");
    memcpy(raw, order, 32);
    memset(raw + 32, 0, 32);
    raw[63] = 1;
    is_rc(verify(v_all, ks_all, with_sig(tok, b64url(raw, 64))),
          STJWT_E_BAD_SIGNATURE, "ES256 r = n");
    memset(raw, 0xff, 64);
    is_rc(verify(v_all, ks_all, with_sig(tok, b64url(raw, 64))),
          STJWT_E_BAD_SIGNATURE, "ES256 r, s > n");

    sig = sign_raw(p256, NULL, 0, STJWT_ALG_ES256, tok,
                   strlen(tok) - strlen(seg(tok, 2)) - 1, &siglen);
    is_rc(verify(v_all, ks_all, with_sig(tok, b64url(sig, 64))), STJWT_OK,
          "ES256 re-signed");
    /* s + n does not fit; r || (n - s) is the other valid signature and
     * JOSE does not forbid it, so only lengths are tested here. */
    is_rc(verify(v_all, ks_all, with_sig(tok, b64url(sig, 63))),
          STJWT_E_BAD_SIGNATURE, "ES256 63-byte signature");
    {
        unsigned char longer[65];
        memcpy(longer + 1, sig, 64);
        longer[0] = 0;
        is_rc(verify(v_all, ks_all, with_sig(tok, b64url(longer, 65))),
              STJWT_E_BAD_SIGNATURE, "ES256 65-byte signature");
    }
    {
        /* the same signature DER-encoded, as OpenSSL produces it */
        ECDSA_SIG *es = ECDSA_SIG_new();
        unsigned char *pder = der;
        BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32,
                                                             NULL);
        ok(es != NULL && ECDSA_SIG_set0(es, r, s) == 1, "ECDSA_SIG");
        derlen = i2d_ECDSA_SIG(es, &pder);
        ECDSA_SIG_free(es);
        is_rc(verify(v_all, ks_all,
                     with_sig(tok, b64url(der, (size_t) derlen))),
              STJWT_E_BAD_SIGNATURE, "ES256 DER signature refused");
    }
    for (i = 0; i < 64; i++) {
        raw[i] = sig[i];
    }
    raw[0] ^= 0x80;
    is_rc(verify(v_all, ks_all, with_sig(tok, b64url(raw, 64))),
          STJWT_E_BAD_SIGNATURE, "ES256 r with top bit flipped");
    {
        size_t n2 = 0;
        unsigned char *s2 = sign_raw(p521, NULL, 0, STJWT_ALG_ES512, "m", 1,
                                     &n2);
        ok(n2 == 132, "ES512 signature is 132 bytes");
        (void) s2;
    }
    {
        /* RSA and Ed25519 signature lengths */
        char *rt = tok_for(STJWT_ALG_RS256, hdr(STJWT_ALG_RS256, "rsa1"),
                           PAYLOAD);
        char *et = tok_for(STJWT_ALG_EDDSA, hdr(STJWT_ALG_EDDSA, "ed1"),
                           PAYLOAD);
        memset(raw, 1, 64);
        is_rc(verify(v_all, ks_all, with_sig(rt, b64url(raw, 64))),
              STJWT_E_BAD_SIGNATURE, "RS256 64-byte signature");
        is_rc(verify(v_all, ks_all, with_sig(et, b64url(raw, 63))),
              STJWT_E_BAD_SIGNATURE, "EdDSA 63-byte signature");
        is_rc(verify(v_all, ks_all, with_sig(et, b64url(raw, 64))),
              STJWT_E_BAD_SIGNATURE, "EdDSA garbage signature");
    }
}


static void
test_jwk_alg_pin(void)
{
    char *jwks = t_printf("{\"keys\":[%s]}",
                          jwk_pub(rsa, NULL, "pin",
                                  "\"alg\":\"RS256\",\"use\":\"sig\""));
    stjwt_keyset_t *ks = ks_new(jwks, 0, NULL);
    char *t;

    t = tok_for(STJWT_ALG_RS256, hdr(STJWT_ALG_RS256, "pin"), PAYLOAD);
    is_rc(verify(v_all, ks, t), STJWT_OK, "JWK alg RS256: RS256 token");
    t = tok_for(STJWT_ALG_PS256, hdr(STJWT_ALG_PS256, "pin"), PAYLOAD);
    is_rc(verify(v_all, ks, t), STJWT_E_KEY_MISMATCH,
          "JWK alg RS256: PS256 token (valid signature) refused");
    t = tok_for(STJWT_ALG_RS512, hdr(STJWT_ALG_RS512, NULL), PAYLOAD);
    is_rc(verify(v_all, ks, t), STJWT_E_UNKNOWN_KID,
          "JWK alg RS256: RS512 token without kid has no candidate");
}


static void
test_no_kid_ambiguity(void)
{
    EVP_PKEY *rsa2 = gen_rsa(2048);
    char *jwks = t_printf("{\"keys\":[%s,%s]}",
                          jwk_pub(rsa, NULL, "a", NULL),
                          jwk_pub(rsa2, NULL, "b", NULL));
    stjwt_keyset_t *ks = ks_new(jwks, 0, NULL);
    char *t = tok_for(STJWT_ALG_RS256, hdr(STJWT_ALG_RS256, NULL), PAYLOAD);

    is_rc(verify(v_def, ks, t), STJWT_E_UNKNOWN_KID,
          "no kid, two RSA keys: unknown_kid");
    t = tok_for(STJWT_ALG_RS256, hdr(STJWT_ALG_RS256, "a"), PAYLOAD);
    is_rc(verify(v_def, ks, t), STJWT_OK, "kid picks the right key");
    t = tok_for(STJWT_ALG_RS256, hdr(STJWT_ALG_RS256, "b"), PAYLOAD);
    is_rc(verify(v_def, ks, t), STJWT_E_BAD_SIGNATURE,
          "kid of the other key: bad signature");
}


/* Contexts reused across calls must never keep the previous call's key:
 * OpenSSL 3.0's DigestVerifyInit on a used EVP_MD_CTX ignores the new key
 * unless the context is reset (found by Wycheproof ed25519 groups). */
static void
test_key_switching(void)
{
    EVP_PKEY *ed2 = gen_ed25519(), *ec2 = gen_ec("P-256"),
             *rsa2 = gen_rsa(2048);
    stjwt_keyset_t *ks2 = ks_new(t_printf("{\"keys\":[%s,%s,%s,%s]}",
                                 jwk_pub(ed, NULL, "a", NULL),
                                 jwk_pub(ed2, NULL, "b", NULL),
                                 jwk_pub(ec2, "P-256", "c", NULL),
                                 jwk_pub(rsa2, NULL, "d", NULL)), 0, NULL);
    struct { int alg; EVP_PKEY *k; const char *kid; int want; } c[] = {
        { STJWT_ALG_EDDSA, ed, "a", STJWT_OK },
        { STJWT_ALG_EDDSA, ed2, "b", STJWT_OK },
        { STJWT_ALG_EDDSA, ed, "b", STJWT_E_BAD_SIGNATURE },
        { STJWT_ALG_EDDSA, ed2, "a", STJWT_E_BAD_SIGNATURE },
        { STJWT_ALG_ES256, p256, "c", STJWT_E_BAD_SIGNATURE },
        { STJWT_ALG_ES256, ec2, "c", STJWT_OK },
        { STJWT_ALG_RS256, rsa, "d", STJWT_E_BAD_SIGNATURE },
        { STJWT_ALG_RS256, rsa2, "d", STJWT_OK },
    };
    size_t i, round;
    int bad = 0;

    for (round = 0; round < 2; round++) {
        for (i = 0; i < ST_N(c); i++) {
            char *t = make_jws(c[i].k, NULL, 0, c[i].alg,
                               t_printf("{\"alg\":\"%s\",\"kid\":\"%s\"}",
                                        alg_name(c[i].alg), c[i].kid),
                               PAYLOAD);
            int rc = verify(v_all, ks2, t);
            if (rc != c[i].want) {
                diag("round %zu case %zu: %s", round, i, stjwt_rc_name(rc));
                bad++;
            }
            /* the same verifier, another keyset in between */
            t = tok_for(c[i].alg, hdr(c[i].alg, kid_for(c[i].alg)), PAYLOAD);
            bad += verify(v_all, ks_all, t) != STJWT_OK;
        }
    }
    ok(bad == 0, "keys and keysets alternate on one verifier");
}


static char *
legacy_token(EVP_PKEY *k, int version, const char *payload, int pad)
{
    static const char *const h[2] = {
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsInZlcnNpb24iOiIxIn0=",
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsInZlcnNpb24iOiIyIn0=",
    };
    char *p = b64std(payload, strlen(payload)), *q;

    if (!pad && (q = strchr(p, '=')) != NULL) {
        *q = '\0';
    }
    return sign_segments(k, NULL, 0, STJWT_ALG_RS256, h[version - 1], p, 1);
}


static void
test_legacy(void)
{
    EVP_PKEY *k1 = gen_rsa(2048), *k2 = gen_rsa(2048), *k3 = gen_rsa(2048);
    char *jwks = t_printf("{\"keys\":[%s,%s,%s,%s]}",
                          jwk_pub(k1, NULL, "s-1", NULL),
                          jwk_pub(p256, "P-256", "e-1", NULL),
                          jwk_pub(k2, NULL, "d-2", "\"alg\":\"RS256\""),
                          jwk_pub(k3, NULL, "d-3", NULL));
    const char *pl = "{\"userId\":\"u1\",\"expiryTime\":4102444800000,"
                     "\"timeCreated\":1700000000000,\"sessionHandle\":"
                     "\"h\",\"userData\":{\"a\":\"~~~\"}}";
    stjwt_keyset_t *ks = ks_new(jwks, 0, NULL), *ks_ec;
    stjwt_verifier_t *nolegacy = verifier(0, STJWT_OPT_NO_LEGACY, 0, 0);
    stjwt_verifier_t *es_only = verifier(STJWT_ALG_BIT(STJWT_ALG_ES256), 0,
                                         0, 0);
    char *t, *t1;
    int bad = 0;
    size_t i;

    t = legacy_token(k2, 2, pl, 1);
    ok(strchr(seg(t, 1), '+') != NULL && strchr(seg(t, 1), '=') != NULL,
       "legacy payload uses '+' and padding");
    ok(strchr(seg(t, 2), '=') != NULL, "legacy signature is padded");
    is_rc(verify(v_def, ks, t), STJWT_OK, "v2 token signed by key 2 of 3");
    ok(R.legacy == 2 && R.alg_id == STJWT_ALG_RS256
       && R.version_len == 1 && R.version[0] == '2'
       && R.kid_type == STJWT_JSON_ABSENT && R.typ_len == 3,
       "v2 header fields");
    ok(R.payload_len == strlen(pl) && memcmp(R.payload, pl, strlen(pl)) == 0,
       "v2 payload decoded");
    t1 = legacy_token(k3, 1, pl, 1);
    is_rc(verify(v_def, ks, t1), STJWT_OK, "v1 token signed by key 3");
    ok(R.legacy == 1 && R.version[0] == '1', "v1 reported");
    is_rc(verify(v_def, ks, legacy_token(k1, 2, pl, 0)), STJWT_OK,
          "v2 with unpadded payload");
    is_rc(verify(v_def, ks, legacy_token(rsa, 2, pl, 1)),
          STJWT_E_BAD_SIGNATURE, "v2 signed by a key not in the set");
    is_rc(verify(v_def, ks, t_printf("%s.%s.%s", seg(t, 0),
                                     b64std("{\"userId\":\"x\"}", 14),
                                     seg(t, 2))),
          STJWT_E_BAD_SIGNATURE, "v2 tampered payload");
    is_rc(verify(v_def, ks, legacy_token(k1, 2, "[1]", 1)), STJWT_E_BAD_JSON,
          "v2 payload must be an object");
    is_rc(verify(v_def, ks, t_printf("%s.%s.%s", seg(t, 0),
                                     b64url(pl, strlen(pl)), seg(t, 2))),
          STJWT_E_BAD_BASE64, "v2 payload in base64url alphabet");
    is_rc(verify(v_def, ks, t_printf("%s.%s.%s", seg(t, 0), seg(t, 1),
                                     noncanonical(seg(t, 2)))),
          STJWT_E_BAD_BASE64, "v2 non-canonical signature");
    is_rc(verify(v_def, ks, t_printf("%s.%s.%s=", seg(t, 0), seg(t, 1),
                                     seg(t, 2))),
          STJWT_E_BAD_BASE64, "v2 extra padding");
    is_rc(verify(nolegacy, ks, t), STJWT_E_BAD_BASE64,
          "STJWT_OPT_NO_LEGACY: padded header is bad base64url");
    is_rc(verify(es_only, ks, t), STJWT_E_ALG_NOT_ALLOWED,
          "legacy needs RS256 in alg_mask");
    ks_ec = ks_new(t_printf("{\"keys\":[%s]}",
                            jwk_pub(p256, "P-256", "e-1", NULL)), 0, NULL);
    is_rc(verify(v_def, ks_ec, t), STJWT_E_UNKNOWN_KID,
          "legacy with no RSA key in the set");
    /* Padding is optional in legacy segments, so the token without its
     * trailing "==" is the same token; no other prefix may verify. */
    for (i = 0; i < strlen(t); i++) {
        if (verifyn(v_def, ks, t, i) == STJWT_OK
            && strspn(t + i, "=") != strlen(t + i))
        {
            bad++;
        }
    }
    ok(bad == 0, "no prefix of a legacy token verifies (but unpadded)");
    is_rc(verifyn(v_def, ks, t, strlen(t) - 2), STJWT_OK,
          "legacy token without signature padding");
    stjwt_verifier_free(nolegacy);
    stjwt_verifier_free(es_only);
}


static void
test_opaque(void)
{
    stjwt_verifier_t *v = verifier(0, STJWT_OPT_OPAQUE_PAYLOAD, 0, 0);
    char *t = tok_for(STJWT_ALG_RS256, hdr(STJWT_ALG_RS256, "rsa1"),
                      "hello, not JSON");
    char *h64 = b64url(hdr(STJWT_ALG_RS256, "rsa1"),
                       strlen(hdr(STJWT_ALG_RS256, "rsa1")));

    is_rc(verify(v, ks_all, t), STJWT_OK, "opaque payload");
    ok(R.payload_len == 15 && R.exp_type == STJWT_JSON_ABSENT,
       "opaque payload: bytes, no claims");
    is_rc(verify(v_def, ks_all, t), STJWT_E_BAD_JSON,
          "same token without the option");
    t = sign_segments(rsa, NULL, 0, STJWT_ALG_RS256, h64, "", 0);
    is_rc(verify(v, ks_all, t), STJWT_OK, "opaque empty payload");
    is_rc(verify(v_def, ks_all, t), STJWT_E_MALFORMED,
          "empty payload without the option");
    stjwt_verifier_free(v);
}

static const stjwt_member_t *
member(const stjwt_member_t *m, size_t n, const char *name)
{
    size_t i, len = strlen(name);

    for (i = 0; i < n; i++) {
        if (m[i].name_len == len && memcmp(m[i].name, name, len) == 0) {
            return &m[i];
        }
    }
    return NULL;
}


static int
member_is(const stjwt_member_t *m, size_t n, const char *name, int type,
    int plain, const char *value)
{
    const stjwt_member_t *e = member(m, n, name);

    return e != NULL && e->type == type && e->plain == plain
           && (value == NULL || (e->value_len == strlen(value)
                                 && memcmp(e->value, value,
                                           e->value_len) == 0));
}


/* stjwt_payload_members(): what a caller needs to build the payload
 * without a second JSON parse, and only after a call that succeeded. */
static void
test_payload_members(void)
{
    int A = STJWT_ALG_RS256;
    char *h = hdr(A, "rsa1"), *t, *big;
    const stjwt_member_t *m = NULL, *e;
    stjwt_verifier_t *v;
    size_t n, i;

    t = tok_for(A, h, "{\"s\":\"plain\",\"e\":\"a\\nb\",\"i\":1795862479,"
                "\"n\":-42,\"z\":-0,\"f\":1.5,\"x\":1e3,"
                "\"d16\":1234567890123456,\"d15\":123456789012345,"
                "\"t\":true,\"F\":false,\"N\":null,\"o\":{\"a\":[1]},"
                "\"a\":[1,\"x\"],\"k\\u00e9y\":\"v\",\"u\":\"\\u00e9\"}");
    is_rc(verify(v_def, ks_all, t), STJWT_OK, "members: verify");
    n = stjwt_payload_members(v_def, &m);
    ok(n == 16 && m != NULL, "members: 16 (%zu)", n);
    ok(member_is(m, n, "s", STJWT_JSON_STRING, 1, "plain"),
       "plain string: its bytes, no quotes");
    ok(member_is(m, n, "e", STJWT_JSON_STRING, 0, "\"a\\nb\""),
       "escaped string: its JSON text");
    ok(member_is(m, n, "u", STJWT_JSON_STRING, 0, "\"\\u00e9\""),
       "\\u escape: its JSON text");
    e = member(m, n, "i");
    ok(e && e->type == STJWT_JSON_NUMBER && e->plain
       && e->number == 1795862479.0, "integer: exact number");
    e = member(m, n, "n");
    ok(e && e->plain && e->number == -42.0, "negative integer");
    e = member(m, n, "z");
    ok(e && e->plain && e->number == 0 && signbit(e->number),
       "-0 keeps its sign");
    ok(member_is(m, n, "d15", STJWT_JSON_NUMBER, 1, NULL)
       && member(m, n, "d15")->number == 123456789012345.0,
       "15 digits: plain");
    ok(member_is(m, n, "d16", STJWT_JSON_NUMBER, 0, "1234567890123456"),
       "16 digits: JSON text (may not be exact)");
    ok(member_is(m, n, "f", STJWT_JSON_NUMBER, 0, "1.5"),
       "fraction: JSON text");
    ok(member_is(m, n, "x", STJWT_JSON_NUMBER, 0, "1e3"),
       "exponent: JSON text");
    ok(member_is(m, n, "t", STJWT_JSON_TRUE, 0, NULL)
       && member_is(m, n, "F", STJWT_JSON_FALSE, 0, NULL)
       && member_is(m, n, "N", STJWT_JSON_NULL, 0, NULL),
       "true, false, null");
    ok(member_is(m, n, "o", STJWT_JSON_OBJECT, 0, "{\"a\":[1]}")
       && member_is(m, n, "a", STJWT_JSON_ARRAY, 0, "[1,\"x\"]"),
       "object and array: their JSON text");
    ok(member_is(m, n, "k\xc3\xa9y", STJWT_JSON_STRING, 1, "v"),
       "escaped name: unescaped");

    /* More members than the pairwise limit: the scan sorts them. */
    big = t_printf("{\"m39\":39");
    for (i = 1; i < 40; i++) {
        big = t_printf("%s,\"m%02zu\":%zu", big, 39 - i, 39 - i);
    }
    big = t_printf("%s}", big);
    is_rc(verify(v_def, ks_all, tok_for(A, h, big)), STJWT_OK,
          "40 members: verify");
    n = stjwt_payload_members(v_def, &m);
    ok(n == 40, "40 members (%zu)", n);
    for (i = 0; i < 40; i++) {
        e = member(m, n, t_printf("m%02zu", i));
        if (e == NULL || !e->plain || e->number != (double) i) {
            break;
        }
    }
    ok(i == 40, "40 members: each once, with its value");

    /* Nothing after a call that failed, or without a JSON payload. */
    is_rc(verify(v_def, ks_all, with_sig(t, "AAAA")),
          STJWT_E_BAD_SIGNATURE, "members: bad signature");
    ok(stjwt_payload_members(v_def, &m) == 0 && m == NULL,
       "no members after a failed verify");
    is_rc(parse(v_def, t), STJWT_OK, "members: parse");
    ok(stjwt_payload_members(v_def, &m) == 16, "members after parse");
    is_rc(parse(v_def, "a.b"), STJWT_E_MALFORMED, "members: bad token");
    ok(stjwt_payload_members(v_def, &m) == 0 && m == NULL,
       "no members after a failed parse");
    v = verifier(0, STJWT_OPT_OPAQUE_PAYLOAD, 0, 0);
    is_rc(verify(v, ks_all, t), STJWT_OK, "members: opaque verify");
    ok(stjwt_payload_members(v, &m) == 0 && m == NULL,
       "no members for an opaque payload");
    stjwt_verifier_free(v);
    ok(stjwt_payload_members(NULL, &m) == 0 && m == NULL,
       "NULL verifier");
    ok(stjwt_payload_members(v_def, NULL) == 0, "NULL out");
}


/* stjwt_verifier_set_names(): members named in the list carry its 1-based
 * position, every other member 0; bad lists are refused whole. */
static void
test_member_names(void)
{
    int A = STJWT_ALG_RS256;
    const char *names[STJWT_NAMES_MAX + 1];
    size_t lens[STJWT_NAMES_MAX + 1];
    char buf[STJWT_NAMES_MAX + 1][8], longname[STJWT_NAME_LEN_MAX + 2];
    const char *three[3] = { "sub", "k\xc3\xa9y", "exp" };
    size_t three_lens[3] = { 3, 4, 3 };
    const stjwt_member_t *m = NULL, *e;
    stjwt_verifier_t *v = verifier(0, 0, 0, 0);
    char *t;
    size_t n, i;

    t = tok_for(A, hdr(A, "rsa1"), "{\"sub\":\"u\",\"exp\":1,\"iat\":2,"
                "\"su\":3,\"subx\":4,\"k\\u00e9y\":5,\"\":6}");
    is_rc(verify(v, ks_all, t), STJWT_OK, "names: verify, no list");
    n = stjwt_payload_members(v, &m);
    for (i = 0; i < n && m[i].name_id == 0; i++) {
    }
    ok(n == 7 && i == n, "no list: every name_id is 0");

    is_rc(stjwt_verifier_set_names(v, three, three_lens, 3), STJWT_OK,
          "set three names");
    is_rc(verify(v, ks_all, t), STJWT_OK, "names: verify");
    n = stjwt_payload_members(v, &m);
    ok(n == 7, "names: 7 members (%zu)", n);
    ok((e = member(m, n, "sub")) && e->name_id == 1, "sub is name 1");
    ok((e = member(m, n, "k\xc3\xa9y")) && e->name_id == 2,
       "an escaped name matches its unescaped text");
    ok((e = member(m, n, "exp")) && e->name_id == 3, "exp is name 3");
    ok(member(m, n, "iat")->name_id == 0 && member(m, n, "su")->name_id == 0
       && member(m, n, "subx")->name_id == 0
       && member(m, n, "")->name_id == 0,
       "unlisted names, prefixes and extensions: 0");
    is_rc(parse(v, t), STJWT_OK, "names: parse");
    n = stjwt_payload_members(v, &m);
    ok(member(m, n, "exp")->name_id == 3, "parse sets name_id too");

    /* A full list: every slot of the table, each name found. */
    for (i = 0; i < STJWT_NAMES_MAX + 1; i++) {
        snprintf(buf[i], sizeof(buf[i]), "n%zu", i);
        names[i] = buf[i];
        lens[i] = strlen(buf[i]);
    }
    is_rc(stjwt_verifier_set_names(v, names, lens, STJWT_NAMES_MAX + 1),
          STJWT_E_INVALID_ARG, "one name too many");
    is_rc(verify(v, ks_all, t), STJWT_OK, "refused list: verify");
    n = stjwt_payload_members(v, &m);
    ok(member(m, n, "exp")->name_id == 3, "a refused list changes nothing");
    is_rc(stjwt_verifier_set_names(v, names, lens, STJWT_NAMES_MAX),
          STJWT_OK, "STJWT_NAMES_MAX names");
    t = t_printf("{\"n0\":0");
    for (i = 1; i < STJWT_NAMES_MAX + 1; i++) {
        t = t_printf("%s,\"n%zu\":%zu", t, i, i);
    }
    t = tok_for(A, hdr(A, "rsa1"), t_printf("%s}", t));
    is_rc(verify(v, ks_all, t), STJWT_OK, "full list: verify");
    n = stjwt_payload_members(v, &m);
    for (i = 0; i < STJWT_NAMES_MAX; i++) {
        e = member(m, n, buf[i]);
        if (e == NULL || e->name_id != i + 1) {
            break;
        }
    }
    ok(i == STJWT_NAMES_MAX && member(m, n, buf[STJWT_NAMES_MAX])->name_id
       == 0, "full list: each name its position, the next one 0");

    /* Refused: duplicates, empty, too long, NULLs. */
    names[1] = "n0";
    lens[1] = 2;
    is_rc(stjwt_verifier_set_names(v, names, lens, 2), STJWT_E_INVALID_ARG,
          "a name listed twice");
    lens[1] = 0;
    is_rc(stjwt_verifier_set_names(v, names, lens, 2), STJWT_E_INVALID_ARG,
          "an empty name");
    memset(longname, 'x', sizeof(longname));
    names[1] = longname;
    lens[1] = STJWT_NAME_LEN_MAX + 1;
    is_rc(stjwt_verifier_set_names(v, names, lens, 2), STJWT_E_INVALID_ARG,
          "a name too long");
    lens[1] = STJWT_NAME_LEN_MAX;
    is_rc(stjwt_verifier_set_names(v, names, lens, 2), STJWT_OK,
          "a name of STJWT_NAME_LEN_MAX bytes");
    names[1] = NULL;
    is_rc(stjwt_verifier_set_names(v, names, lens, 2), STJWT_E_INVALID_ARG,
          "a NULL name");
    is_rc(stjwt_verifier_set_names(v, NULL, lens, 1), STJWT_E_INVALID_ARG,
          "NULL names");
    is_rc(stjwt_verifier_set_names(NULL, names, lens, 0),
          STJWT_E_INVALID_ARG, "NULL verifier");
    is_rc(stjwt_verifier_set_names(v, NULL, NULL, 0), STJWT_OK,
          "n = 0 clears the list");
    is_rc(verify(v, ks_all, t), STJWT_OK, "cleared: verify");
    n = stjwt_payload_members(v, &m);
    ok(member(m, n, "n0")->name_id == 0, "cleared: name_id 0");
    stjwt_verifier_free(v);
}


static int
detached(const stjwt_keyset_t *ks, int alg, const char *kid,
    const void *msg, size_t mlen, const unsigned char *sig, size_t slen)
{
    stjwt_detached_t d = { alg, kid, kid ? strlen(kid) : 0, msg, mlen, sig,
                           slen };
    const char *errmsg = NULL;
    int rc = stjwt_verify_detached(v_all, ks, &d, &errmsg);

    if (errmsg == NULL) {
        ok(0, "detached: errmsg set");
    }
    if (ERR_peek_error() != 0) {
        err_queue_dirty++;
        ERR_clear_error();
    }
    return rc;
}


static void
test_detached(void)
{
    unsigned char msg[300], *sig, bad[300];
    size_t n;
    int alg;

    if (RAND_bytes(msg, sizeof(msg)) != 1) {
        ok(0, "RAND_bytes");
        return;
    }
    for (alg = STJWT_ALG_RS256; alg < STJWT_ALG_MAX; alg++) {
        const char *name = alg_name(alg);
        sig = sign_raw(key_for(alg), secret, sizeof(secret), alg,
                       (char *) msg, sizeof(msg), &n);
        is_rc(detached(ks_for(alg), alg, kid_for(alg), msg, sizeof(msg), sig,
                       n), STJWT_OK, "detached %s", name);
        is_rc(detached(ks_for(alg), alg, NULL, msg, sizeof(msg), sig, n),
              STJWT_OK, "detached %s, no kid", name);
        is_rc(detached(ks_for(alg), alg, kid_for(alg), msg, sizeof(msg) - 1,
                       sig, n), STJWT_E_BAD_SIGNATURE,
              "detached %s, shorter message", name);
        memcpy(bad, sig, n);
        bad[n / 2] ^= 0x10;
        is_rc(detached(ks_for(alg), alg, kid_for(alg), msg, sizeof(msg), bad,
                       n), STJWT_E_BAD_SIGNATURE,
              "detached %s, flipped bit", name);
        is_rc(detached(ks_for(alg), alg, kid_for(alg), msg, sizeof(msg), sig,
                       n - 1), STJWT_E_BAD_SIGNATURE,
              "detached %s, truncated signature", name);
        sig = sign_raw(key_for(alg), secret, sizeof(secret), alg, "", 0, &n);
        is_rc(detached(ks_for(alg), alg, kid_for(alg), NULL, 0, sig, n),
              STJWT_OK, "detached %s, empty message", name);
    }
    is_rc(detached(ks_all, STJWT_ALG_RS256, "nope", msg, 1, bad, 256),
          STJWT_E_UNKNOWN_KID, "detached: unknown kid");
    is_rc(detached(ks_all, STJWT_ALG_RS256, "ec256", msg, 1, bad, 256),
          STJWT_E_KEY_MISMATCH, "detached: kid of another key type");
    is_rc(detached(ks_all, STJWT_ALG_NONE, NULL, msg, 1, bad, 256),
          STJWT_E_ALG_NOT_ALLOWED, "detached: alg none");
    is_rc(detached(ks_all, STJWT_ALG_MAX, NULL, msg, 1, bad, 256),
          STJWT_E_ALG_NOT_ALLOWED, "detached: alg out of range");
    is_rc(detached(ks_all, -1, NULL, msg, 1, bad, 256),
          STJWT_E_ALG_NOT_ALLOWED, "detached: negative alg");
    is_rc(detached(ks_all, STJWT_ALG_HS256, NULL, msg, 1, bad, 32),
          STJWT_E_UNKNOWN_KID, "detached: HS256 against public keys");
    memset(bad, 0, 64);
    is_rc(detached(ks_all, STJWT_ALG_ES256, NULL, msg, 1, bad, 64),
          STJWT_E_BAD_SIGNATURE, "detached: ES256 r = s = 0");
    {
        stjwt_detached_t d = { STJWT_ALG_RS256, NULL, 0, NULL, 5, bad, 256 };
        const char *errmsg;
        is_rc(stjwt_verify_detached(v_all, ks_all, &d, &errmsg),
              STJWT_E_INVALID_ARG, "detached: NULL msg with a length");
        is_rc(stjwt_verify_detached(v_all, ks_all, NULL, &errmsg),
              STJWT_E_INVALID_ARG, "detached: NULL descriptor");
        d.msg = msg;
        is_rc(stjwt_verify_detached(v_def, ks_all, &d, NULL),
              STJWT_E_BAD_SIGNATURE, "detached: default verifier, RS256");
        d.alg = STJWT_ALG_PS256;
        is_rc(stjwt_verify_detached(v_def, ks_all, &d, NULL),
              STJWT_E_ALG_NOT_ALLOWED, "detached: alg_mask applies");
    }
}


/* ---- RSASSA-PKCS1-v1_5 by encoding and comparing ---------------------- */

/* What OpenSSL's own PKCS#1 v1.5 verification says of sig. */
static int
openssl_rs_verdict(int alg, const unsigned char *msg, size_t mlen,
    const unsigned char *sig, size_t slen)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int good = c != NULL
               && EVP_DigestVerifyInit_ex(c, NULL, hash_of(alg), NULL, NULL,
                                          rsa, NULL) == 1
               && EVP_DigestVerify(c, sig, slen, msg, mlen) == 1;

    EVP_MD_CTX_free(c);
    ERR_clear_error();
    return good ? STJWT_OK : STJWT_E_BAD_SIGNATURE;
}


/* The signature whose s^e mod n is em (k bytes, em < n): raw RSA with
 * the private key. */
static unsigned char *
raw_rsa_sign(const unsigned char *em, size_t k)
{
    unsigned char *sig = t_alloc(k);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, rsa, NULL);
    size_t n = k;

    if (c == NULL || EVP_PKEY_decrypt_init(c) != 1
        || EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING) <= 0
        || EVP_PKEY_decrypt(c, sig, &n, em, k) != 1 || n != k)
    {
        diag("raw RSA private operation failed");
        exit(2);
    }
    EVP_PKEY_CTX_free(c);
    return sig;
}


/* EMSA-PKCS1-v1_5 with the DigestInfo t (t_len bytes) in a k-byte em. */
static void
emsa(unsigned char *em, size_t k, const unsigned char *t, size_t t_len)
{
    em[0] = 0x00;
    em[1] = 0x01;
    memset(em + 2, 0xff, k - t_len - 3);
    em[k - t_len - 1] = 0x00;
    memcpy(em + k - t_len, t, t_len);
}


/* DigestInfo of msg for RS256/384/512 (RFC 8017 9.2 note 1: SEQUENCE {
 * SEQUENCE { OID sha2-x, NULL }, OCTET STRING digest }) into t; returns
 * its length, 19 + the digest's. */
static size_t
digest_info(int alg, const unsigned char *msg, size_t mlen, unsigned char *t)
{
    static const unsigned char oid_tail[3] = { 0x01, 0x02, 0x03 };
    int hi = alg - STJWT_ALG_RS256;
    size_t h_len = hi == 0 ? 32 : hi == 1 ? 48 : 64;
    const unsigned char head[19] = {
        0x30, (unsigned char) (17 + h_len), 0x30, 0x0d, 0x06, 0x09,
        0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
        oid_tail[hi], 0x05, 0x00, 0x04, (unsigned char) h_len };
    unsigned int dl;

    memcpy(t, head, 19);
    if (EVP_Digest(msg, mlen, t + 19, &dl,
                   EVP_get_digestbyname(hash_of(alg)), NULL) != 1
        || dl != h_len)
    {
        diag("EVP_Digest failed");
        exit(2);
    }
    return 19 + h_len;
}


/* RS256/384/512 are checked as RFC 8017 8.2.2 states it (s^e mod n
 * compared with the encoding of the digest), not by EVP_PKEY_verify():
 * each crafted encoding below is signed with the raw private key, and the
 * verdict must be the one expected and the one OpenSSL's RSA_verify()
 * gives. */
static void
test_rsa_pkcs1_encodings(void)
{
    unsigned char msg[200], other[200], em[256], t[83], *sig, raw[258];
    size_t k = 256, h_len, t_len, i;
    BIGNUM *n = NULL;
    int alg;

    if (RAND_bytes(msg, sizeof(msg)) != 1) {
        ok(0, "RAND_bytes");
        return;
    }
    memcpy(other, msg, sizeof(other));
    other[0] ^= 1;
    for (alg = STJWT_ALG_RS256; alg <= STJWT_ALG_RS512; alg++) {
        const char *name = alg_name(alg);

        t_len = digest_info(alg, msg, sizeof(msg), t);
        h_len = t_len - 19;

#define RS_CASE(what_, want_)                                              \
        do {                                                               \
            sig = raw_rsa_sign(em, k);                                     \
            int got_ = detached(ks_all, alg, "rsa1", msg, sizeof(msg),     \
                                sig, k);                                   \
            is_rc(got_, (want_), "%s: %s", name, (what_));                 \
            is_rc(got_, openssl_rs_verdict(alg, msg, sizeof(msg), sig, k), \
                  "%s: %s: same verdict as OpenSSL", name, (what_));       \
        } while (0)

        emsa(em, k, t, t_len);
        RS_CASE("the encoding itself", STJWT_OK);
        {
            unsigned char *good = raw_rsa_sign(em, k);
            is_rc(detached(ks_all, alg, "rsa1", other, sizeof(other), good,
                           k), STJWT_E_BAD_SIGNATURE,
                  "%s: another message", name);
            raw[0] = 0;
            memcpy(raw + 1, good, k);
            is_rc(detached(ks_all, alg, "rsa1", msg, sizeof(msg), raw,
                           k + 1), STJWT_E_BAD_SIGNATURE,
                  "%s: leading zero byte added", name);
        }
        em[k - 1] ^= 1;
        RS_CASE("last digest bit flipped", STJWT_E_BAD_SIGNATURE);
        emsa(em, k, t, t_len);
        em[1] = 0x02;
        RS_CASE("block type 2", STJWT_E_BAD_SIGNATURE);
        emsa(em, k, t, t_len);
        em[0] = 0x01;
        em[1] = 0xff;
        RS_CASE("no leading zero byte", STJWT_E_BAD_SIGNATURE);
        emsa(em, k, t, t_len);
        em[40] = 0xfe;
        RS_CASE("a padding byte not FF", STJWT_E_BAD_SIGNATURE);
        emsa(em, k, t, t_len);
        em[k - t_len - 1] = 0x01;
        RS_CASE("no zero separator", STJWT_E_BAD_SIGNATURE);
        /* Bleichenbacher 2006: short padding, garbage after the digest */
        memset(em, 0xab, k);
        em[0] = 0x00;
        em[1] = 0x01;
        memset(em + 2, 0xff, 8);
        em[10] = 0x00;
        memcpy(em + 11, t, t_len);
        RS_CASE("short padding, garbage after DigestInfo",
                STJWT_E_BAD_SIGNATURE);
        /* parameters absent instead of NULL ("MissingNull") */
        {
            unsigned char t2[81];
            t2[0] = 0x30;
            t2[1] = (unsigned char) (15 + h_len);
            t2[2] = 0x30;
            t2[3] = 0x0b;
            memcpy(t2 + 4, t + 4, 11);
            memcpy(t2 + 15, t + 17, 2 + h_len);
            emsa(em, k, t2, t_len - 2);
            RS_CASE("DigestInfo without NULL parameters",
                    STJWT_E_BAD_SIGNATURE);
        }
        /* the DigestInfo of another SHA-2 of the same message */
        {
            int oa = alg == STJWT_ALG_RS256 ? STJWT_ALG_RS384
                                            : STJWT_ALG_RS256;
            unsigned char t2[83];

            emsa(em, k, t2, digest_info(oa, msg, sizeof(msg), t2));
            RS_CASE("DigestInfo of another hash", STJWT_E_BAD_SIGNATURE);
        }
#undef RS_CASE
    }

    /* Signatures that are not in [0, n - 1] or have the wrong length. */
    ok(EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_N, &n) == 1
       && BN_bn2binpad(n, raw, (int) k) == (int) k, "RSA modulus");
    BN_free(n);
    is_rc(detached(ks_all, STJWT_ALG_RS256, "rsa1", msg, sizeof(msg), raw,
                   k), STJWT_E_BAD_SIGNATURE, "RS256: s = n");
    for (i = k; i-- > 0 && raw[i] == 0;) {
        raw[i] = 0xff;
    }
    raw[i]--;
    is_rc(detached(ks_all, STJWT_ALG_RS256, "rsa1", msg, sizeof(msg), raw,
                   k), STJWT_E_BAD_SIGNATURE, "RS256: s = n - 1");
    memset(raw, 0xff, k);
    is_rc(detached(ks_all, STJWT_ALG_RS256, "rsa1", msg, sizeof(msg), raw,
                   k), STJWT_E_BAD_SIGNATURE, "RS256: s > n");
    memset(raw, 0, k);
    is_rc(detached(ks_all, STJWT_ALG_RS256, "rsa1", msg, sizeof(msg), raw,
                   k), STJWT_E_BAD_SIGNATURE, "RS256: s = 0");
    raw[k - 1] = 1;
    is_rc(detached(ks_all, STJWT_ALG_RS256, "rsa1", msg, sizeof(msg), raw,
                   k), STJWT_E_BAD_SIGNATURE, "RS256: s = 1");
    is_rc(detached(ks_all, STJWT_ALG_RS256, "rsa1", msg, sizeof(msg),
                   raw + 1, k - 1), STJWT_E_BAD_SIGNATURE,
          "RS256: 255-byte signature");
}


static void
test_args(void)
{
    const char *msg = NULL;
    char *t = tok_for(STJWT_ALG_RS256, hdr(STJWT_ALG_RS256, "rsa1"),
                      PAYLOAD);

    is_rc(stjwt_verify(NULL, ks_all, t, strlen(t), &R, &msg),
          STJWT_E_INVALID_ARG, "NULL verifier");
    is_rc(stjwt_verify(v_def, NULL, t, strlen(t), &R, &msg),
          STJWT_E_INVALID_ARG, "NULL keyset");
    is_rc(stjwt_verify(v_def, ks_all, NULL, 5, &R, &msg),
          STJWT_E_INVALID_ARG, "NULL token");
    is_rc(stjwt_verify(v_def, ks_all, t, strlen(t), NULL, NULL), STJWT_OK,
          "NULL result and errmsg are fine");
    is_rc(stjwt_parse(v_def, NULL, 0, &R, &msg), STJWT_E_MALFORMED,
          "empty token parse");
    ok(strstr(msg, "rsa1") == NULL, "errmsg is static text");
}


static int
verify_parsed(stjwt_verifier_t *v, const stjwt_keyset_t *ks, const char *tok)
{
    const char *msg = NULL;
    size_t n = strlen(tok);
    int rc = stjwt_verify_parsed(v, ks, guard_copy(tok, n), n, &msg);

    return checked(rc, msg);
}


/* stjwt_verify_parsed() after stjwt_parse() answers what stjwt_verify()
 * answers, and never trusts a parse of other bytes. */
static void
test_verify_parsed(void)
{
    static const int algs[] = { STJWT_ALG_RS256, STJWT_ALG_PS384,
                                STJWT_ALG_ES256, STJWT_ALG_ES512,
                                STJWT_ALG_EDDSA };
    static const char *const kids[] = { "rsa1", "rsa1", "ec256", "ec521",
                                        "ed1" };
    stjwt_keyset_t *ks_rsa = ks_new(t_printf("{\"keys\":[%s]}",
                                             jwk_pub(rsa, NULL, "rsa1",
                                                     NULL)), 0, NULL);
    char *good, *other, *bad_sig, *unknown, *es;
    const char *msg;
    size_t i, n;
    int mismatch = 0;

    for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        char *t = tok_for(algs[i], hdr(algs[i], kids[i]), PAYLOAD);

        if (parse(v_all, t) != STJWT_OK
            || verify_parsed(v_all, ks_all, t) != STJWT_OK)
        {
            diag("%s: parse + verify_parsed failed", alg_name(algs[i]));
            mismatch++;
        }
        /* the same bytes again: still the parse's scratch */
        if (verify_parsed(v_all, ks_all, t) != STJWT_OK) {
            mismatch++;
        }
    }
    ok(mismatch == 0, "parse + verify_parsed verifies every alg");

    good = tok_for(STJWT_ALG_RS256, hdr(STJWT_ALG_RS256, "rsa1"), PAYLOAD);
    other = tok_for(STJWT_ALG_RS256, hdr(STJWT_ALG_RS256, "rsa1"),
                    "{\"sub\":\"user-2\",\"exp\":4102444800}");
    n = strlen(good);
    bad_sig = t_printf("%s", good);
    bad_sig[n - 2] = bad_sig[n - 2] == 'A' ? 'B' : 'A';
    unknown = tok_for(STJWT_ALG_RS256, hdr(STJWT_ALG_RS256, "nope"),
                      PAYLOAD);
    es = tok_for(STJWT_ALG_ES256, hdr(STJWT_ALG_ES256, "ec256"), PAYLOAD);

    is_rc(parse(v_all, good), STJWT_OK, "parse good");
    is_rc(verify_parsed(v_all, ks_all, bad_sig), STJWT_E_BAD_SIGNATURE,
          "other bytes of the same length after the parse: full verify");
    is_rc(parse(v_all, good), STJWT_OK, "parse good again");
    is_rc(verify_parsed(v_all, ks_all, other), STJWT_OK,
          "another valid token after the parse: verified on its own");
    is_rc(verify_parsed(v_all, ks_all, good), STJWT_OK,
          "the parsed token after a full verify of another: full verify");
    is_rc(parse(v_all, bad_sig), STJWT_OK, "a bad signature parses");
    is_rc(verify_parsed(v_all, ks_all, bad_sig), STJWT_E_BAD_SIGNATURE,
          "and fails verify_parsed");
    is_rc(parse(v_all, unknown), STJWT_OK, "unknown kid parses");
    is_rc(verify_parsed(v_all, ks_all, unknown), STJWT_E_UNKNOWN_KID,
          "and verify_parsed names it");
    is_rc(parse(v_def, es), STJWT_OK, "ES256 parses on an RS256 verifier");
    is_rc(verify_parsed(v_def, ks_all, es), STJWT_E_ALG_NOT_ALLOWED,
          "and is refused by verify_parsed");
    is_rc(parse(v_all, es), STJWT_OK, "ES256 parses");
    is_rc(verify_parsed(v_all, ks_rsa, es), verifyn(v_all, ks_rsa, es,
                                                    strlen(es)),
          "no EC key: verify_parsed = verify");
    is_rc(parse(v_all, "a.b"), STJWT_E_MALFORMED, "a failed parse");
    is_rc(verify_parsed(v_all, ks_all, "a.b"), STJWT_E_MALFORMED,
          "then verify_parsed parses itself");
    is_rc(stjwt_verify_parsed(NULL, ks_all, good, n, &msg),
          STJWT_E_INVALID_ARG, "NULL verifier");
    is_rc(stjwt_verify_parsed(v_all, NULL, good, n, &msg),
          STJWT_E_INVALID_ARG, "NULL keyset");
    is_rc(stjwt_verify_parsed(v_all, ks_all, NULL, 3, &msg),
          STJWT_E_INVALID_ARG, "NULL token");
}


int
main(void)
{
    char *jwks;
    int rc;

    rsa = gen_rsa(2048);
    p256 = gen_ec("P-256");
    p384 = gen_ec("P-384");
    p521 = gen_ec("P-521");
    ed = gen_ed25519();
    if (RAND_bytes(secret, sizeof(secret)) != 1) {
        return 2;
    }
    jwks = t_printf("{\"keys\":[%s,%s,%s,%s,%s]}",
                    jwk_pub(rsa, NULL, "rsa1", "\"use\":\"sig\""),
                    jwk_pub(p256, "P-256", "ec256", NULL),
                    jwk_pub(p384, "P-384", "ec384", NULL),
                    jwk_pub(p521, "P-521", "ec521", NULL),
                    jwk_pub(ed, NULL, "ed1", "\"key_ops\":[\"verify\"]"));
    ks_all = ks_new(jwks, STJWT_KEYSET_ALLOW_HMAC | STJWT_KEYSET_STRICT,
                    &rc);
    is_rc(rc, STJWT_OK, "keyset with every public key type");
    ks_hs = ks_new(t_printf("{\"keys\":[%s]}",
                            jwk_oct(secret, sizeof(secret), "hs1", NULL)),
                   STJWT_KEYSET_ALLOW_HMAC | STJWT_KEYSET_STRICT, &rc);
    is_rc(rc, STJWT_OK, "keyset with an HMAC secret");
    if (ks_all == NULL || ks_hs == NULL) {
        return done_testing();
    }
    ok(stjwt_keyset_count(ks_all) == 5, "5 public keys");
    v_all = verifier(0x3ffe, 0, 0, 0);
    v_def = verifier(0, 0, 0, 0);

    test_every_alg();
    test_malformed();
    test_header_rules();
    test_json_payloads();
    test_member_lookups();
    test_size_cap();
    test_key_confusion();
    test_ecdsa_sigs();
    test_jwk_alg_pin();
    test_no_kid_ambiguity();
    test_key_switching();
    test_legacy();
    test_opaque();
    test_payload_members();
    test_member_names();
    test_detached();
    test_rsa_pkcs1_encodings();
    test_verify_parsed();
    test_args();
    ok(err_queue_dirty == 0, "OpenSSL error queue empty after every call "
       "(%d dirty)", err_queue_dirty);

    stjwt_verifier_free(v_all);
    stjwt_verifier_free(v_def);
    return done_testing();
}
