/*
 * stjwt_int.h - internal interfaces shared by the libstjwt sources.
 * Nothing here is exported (the library is built -fvisibility=hidden).
 */
#ifndef STJWT_INT_H
#define STJWT_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "stjwt.h"

#define ST_DEFAULT_MAX_LEN   16384u
#define ST_DEFAULT_MAX_DEPTH 16u
/* The scanner keeps one bit per level on the stack, so the cap is fixed. */
#define ST_JSON_DEPTH_LIMIT  1024u
/* Larger tokens make no sense for a cookie/header and would only let a
 * caller size scratch buffers absurdly. */
#define ST_MAX_TOKEN_LIMIT   (1u << 24)

#define ST_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- base64 (b64.c) ---------------------------------------------------- */

/* stjwt_b64url_decode() without the vector path, for tests and fuzzing
 * to compare with (no argument checks). */
int st_b64url_decode_scalar(const char *src, size_t len, unsigned char *dst,
    size_t *dlen);

/* Standard alphabet, '=' padding optional but canonical when present. */
int st_b64std_decode(const char *src, size_t len, unsigned char *dst,
    size_t *dlen);

/* ---- JSON scanner (json.c) --------------------------------------------- */

/* One member of a top-level object.  The unescaped name points into the
 * scanned text when it has no escape, else into the scan's name buffer;
 * the value is a span of the scanned text. */
typedef struct {
    const char *name;
    uint32_t name_len;
    uint32_t raw_off;   /* opening quote of the name in the text */
    uint32_t val_off;
    uint32_t val_len;
    uint16_t type;      /* stjwt_json_type_e */
    uint16_t val_esc;   /* string value with a backslash escape */
} st_jmember_t;

/* Up to this many members, duplicates are found pairwise and lookups are
 * linear (cheaper than sorting for JWT-sized objects); above it the
 * members are sorted (O(n log n) whatever names an attacker picks). */
#define ST_JSON_PAIRWISE_MAX 16u

/* Caller-owned workspace for st_json_scan(); sized with
 * st_json_members_cap() and >= the text length for names. */
typedef struct {
    st_jmember_t *mem;
    size_t        cap_mem;
    char         *names;
    size_t        cap_names;
    size_t        n;       /* members recorded; sorted by name when
                              n > ST_JSON_PAIRWISE_MAX, else in text
                              order */
} st_jobj_t;

/* Upper bound of members an object in len bytes of text can have. */
size_t st_json_members_cap(size_t len);

/* Validate one JSON text.  With obj, the top level must be an object whose
 * members are recorded and checked for duplicates (by unescaped name).
 * Returns OK, BAD_JSON, TOO_DEEP, DUPLICATE_MEMBER. */
int st_json_scan(const unsigned char *s, size_t len, uint32_t max_depth,
    st_jobj_t *obj, size_t *err_pos);

/* Member with this unescaped name, or NULL. */
const st_jmember_t *st_json_find(const st_jobj_t *obj, const char *name,
    size_t len);

/* Unescape the validated string token at s (starting at its quote) into
 * dst, which must hold as many bytes as the token; returns the length. */
size_t st_json_unescape(const unsigned char *s, size_t len, char *dst);

/* End (exclusive) of the validated value starting at s[i]. */
size_t st_json_skip(const unsigned char *s, size_t len, size_t i);

/* Index of the first non-whitespace byte at or after i. */
size_t st_json_skip_ws(const unsigned char *s, size_t len, size_t i);

/* ---- algorithms (stjwt.c) ---------------------------------------------- */

typedef enum {
    ST_KTY_NONE = 0,
    ST_KTY_RSA,
    ST_KTY_EC,
    ST_KTY_OKP,
    ST_KTY_OCT
} st_kty_e;

typedef enum {
    ST_HASH_NONE = -1,
    ST_HASH_SHA256 = 0,
    ST_HASH_SHA384,
    ST_HASH_SHA512,
    ST_HASH_MAX
} st_hash_e;

typedef enum {
    ST_CRV_NONE = 0,
    ST_CRV_P256,
    ST_CRV_P384,
    ST_CRV_P521,
    ST_CRV_ED25519
} st_crv_e;

typedef struct {
    const char *name;
    uint8_t     kty;     /* st_kty_e */
    int8_t      hash;    /* st_hash_e */
    uint8_t     crv;     /* st_crv_e for EC/OKP */
    uint8_t     pss;
} st_alg_info_t;

extern const st_alg_info_t st_alg_info[STJWT_ALG_MAX];
extern const char *const   st_hash_name[ST_HASH_MAX];
extern const size_t        st_hash_len[ST_HASH_MAX];

/* ---- keys (keyset.c) --------------------------------------------------- */

#define ST_EC_MAX_COORD 66  /* P-521 */
#define ST_RSA_MAX_BITS 16384   /* OPENSSL_RSA_MAX_MODULUS_BITS */
#define ST_RSA_MAX_BYTES (ST_RSA_MAX_BITS / 8)

typedef struct {
    char          *kid;
    size_t         kid_len;
    int            has_kid;
    int            usable;
    uint8_t        kty;       /* st_kty_e */
    uint8_t        crv;       /* st_crv_e */
    int32_t        jwk_alg;   /* stjwt_alg_e from JWK "alg", or -1 */
    size_t         sig_len;   /* RSA modulus bytes, 2 * EC coord, 64 */
    size_t         coord_len; /* EC only */
    unsigned char  order[ST_EC_MAX_COORD]; /* EC group order, coord_len */
    EVP_PKEY      *pkey;
    /* Initialised once at import: EVP_PKEY_verify() per call, no fetch
     * (RSASSA-PSS, ECDSA). */
    EVP_PKEY_CTX  *pctx[STJWT_ALG_MAX];
    /* RSASSA-PKCS1-v1_5 as RFC 8017 8.2.2 states it: m = s^e mod n
     * (EVP_PKEY_encrypt without padding), compared with the encoding of
     * the digest: em_head[hash] (k - hLen bytes: 00 01 FF..FF 00 and the
     * DigestInfo prefix) followed by the digest. */
    EVP_PKEY_CTX  *rsavp1;
    unsigned char *em_head[ST_HASH_MAX];
    EVP_MAC_CTX   *mac[STJWT_ALG_MAX];
    /* EdDSA: DigestVerifyInit done once; each call verifies on a copy. */
    EVP_MD_CTX    *edtmpl;
    unsigned char *secret;
    size_t         secret_len;
} st_key_t;

struct stjwt_keyset_s {
    st_key_t *keys;
    size_t    n;
    size_t    n_usable;
};

/* 1 if key may verify a token with this alg (kty, curve, JWK "alg",
 * HMAC secret length). */
int st_key_fits(const st_key_t *k, int alg);

#endif /* STJWT_INT_H */
