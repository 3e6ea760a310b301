/*
 * stjwt.h - strict JWS/JWT verification for lua-resty-supertokens.
 *
 * The library answers one question: "is this a well-formed compact JWS,
 * correctly signed by a key of this set, and what are its header fields and
 * time claims?"  It knows nothing about SuperTokens sessions beyond the two
 * fixed legacy (v1/v2) header strings.  It does no I/O, keeps no mutable
 * global state and, once a verifier exists, allocates nothing per call.
 *
 * Thread safety: a keyset holds pre-initialised verify contexts that every
 * verification reuses, so a keyset and a verifier must each be used by one
 * thread at a time (one nginx worker: one of each).  Several verifiers of
 * the same thread may share a keyset.
 *
 * Error channel: every function that can fail returns a stjwt_rc_e and, where
 * it has an errmsg parameter, stores a pointer to a static string there.  No
 * message ever contains token bytes, signatures or key material.
 *
 * This header is mirrored 1:1 by lua/resty/supertokens/ffi.lua; `make lint`
 * checks that both declare the same functions.  Every struct shared with Lua
 * has its size pinned by a _Static_assert in stjwt.c.
 */
#ifndef STJWT_H
#define STJWT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(BUILDING_STJWT)
#define STJWT_EXPORT __attribute__((visibility("default")))
#else
#define STJWT_EXPORT
#endif

#define STJWT_WARN_UNUSED __attribute__((warn_unused_result))

/* The ABI of this header (stjwt_version() returns it): 100 was 0.1.0;
 * 101 added stjwt_member_t.name_id and stjwt_verifier_set_names(). */
#define STJWT_VERSION_NUM 101

/* Status codes.  The Lua reason codes are these names, lower-cased and
 * without the STJWT_E_ prefix (STJWT_E_BAD_BASE64 -> "bad_base64"). */
typedef enum {
    STJWT_OK = 0,
    STJWT_E_MALFORMED,        /* not three segments, or an empty header
                                 or payload (an empty signature parses
                                 and fails verify as BAD_SIGNATURE) */
    STJWT_E_BAD_BASE64,       /* non-canonical or invalid base64(url) */
    STJWT_E_BAD_JSON,         /* header/payload not an RFC 8259 object,
                                 invalid UTF-8, lone surrogate escape */
    STJWT_E_DUPLICATE_MEMBER, /* a top-level member name appears twice */
    STJWT_E_TOO_LARGE,        /* token longer than max_token_len */
    STJWT_E_TOO_DEEP,         /* JSON nesting deeper than max_depth */
    STJWT_E_CRIT,             /* header has "crit" */
    STJWT_E_BAD_HEADER,       /* verify: "alg" missing or not a string */
    STJWT_E_ALG_NOT_ALLOWED,  /* alg unknown, "none", or not in alg_mask */
    STJWT_E_UNKNOWN_KID,      /* no key with this kid (or, without a kid,
                                 no single candidate key) */
    STJWT_E_KEY_MISMATCH,     /* key type or JWK "alg" does not fit alg */
    STJWT_E_BAD_SIGNATURE,    /* wrong length or does not verify */
    STJWT_E_BAD_CLAIM,        /* exp/nbf/iat/stt a number that is not
                                 finite (1e400); other JSON types are only
                                 reported in *_type, for the caller */
    STJWT_E_BAD_KEY,          /* JWK import: missing/invalid member, point
                                 not on curve, unsupported kty/crv */
    STJWT_E_WEAK_KEY,         /* JWK import: RSA < 2048 bits, e < 3, or
                                 HMAC secret shorter than its hash */
    STJWT_E_DUPLICATE_KID,    /* JWK import: kid used twice in the set */
    STJWT_E_KEY_USE,          /* JWK import: use != "sig" or key_ops
                                 without "verify" */
    STJWT_E_NO_KEYS,          /* JWKS import: no usable key at all */
    STJWT_E_INVALID_ARG,      /* caller misuse (NULL pointer, bad option) */
    STJWT_E_NOMEM,
    STJWT_E_INTERNAL,         /* unexpected OpenSSL failure */
    STJWT_RC_MAX
} stjwt_rc_e;

/* Algorithms, usable as bit positions in stjwt_options_t.alg_mask. */
typedef enum {
    STJWT_ALG_NONE = 0, /* unknown or "none": never verifies */
    STJWT_ALG_RS256,
    STJWT_ALG_RS384,
    STJWT_ALG_RS512,
    STJWT_ALG_PS256,
    STJWT_ALG_PS384,
    STJWT_ALG_PS512,
    STJWT_ALG_ES256,
    STJWT_ALG_ES384,
    STJWT_ALG_ES512,
    STJWT_ALG_EDDSA,
    STJWT_ALG_HS256,
    STJWT_ALG_HS384,
    STJWT_ALG_HS512,
    STJWT_ALG_MAX
} stjwt_alg_e;

#define STJWT_ALG_BIT(a) (1u << (a))

/* JSON type of an extracted member; ABSENT when the member is missing. */
typedef enum {
    STJWT_JSON_ABSENT = 0,
    STJWT_JSON_NULL,
    STJWT_JSON_FALSE,
    STJWT_JSON_TRUE,
    STJWT_JSON_NUMBER,
    STJWT_JSON_STRING,
    STJWT_JSON_ARRAY,
    STJWT_JSON_OBJECT
} stjwt_json_type_e;

/* stjwt_options_t.flags */
#define STJWT_OPT_OPAQUE_PAYLOAD 0x1u /* plain JWS: payload need not be JSON */
#define STJWT_OPT_NO_LEGACY      0x2u /* do not recognise SuperTokens v1/v2 */

/* stjwt_keyset_new() flags */
#define STJWT_KEYSET_STRICT     0x1u /* any bad key fails the whole set */
#define STJWT_KEYSET_ALLOW_HMAC 0x2u /* accept kty "oct" (explicit secrets) */

typedef struct stjwt_keyset_s   stjwt_keyset_t;
typedef struct stjwt_verifier_s stjwt_verifier_t;

typedef struct stjwt_options_s {
    uint32_t alg_mask;      /* STJWT_ALG_BIT()s; 0 means RS256 only */
    uint32_t flags;         /* STJWT_OPT_* */
    uint32_t max_token_len; /* bytes; 0 means 16384 */
    uint32_t max_depth;     /* JSON nesting; 0 means 16 */
} stjwt_options_t;

/* What a keyset import kept and skipped (lenient mode skips bad keys). */
typedef struct stjwt_keyset_info_s {
    uint32_t n_keys;       /* usable keys in the set */
    uint32_t n_skipped;    /* keys rejected and left out */
    int32_t  first_skip_rc;    /* stjwt_rc_e of the first skipped key */
    int32_t  first_skip_index; /* its index in "keys", -1 if none */
} stjwt_keyset_info_t;

/* Result of stjwt_parse()/stjwt_verify().  All pointers point into the
 * verifier's scratch space (or static storage) and stay valid until the
 * next call on the same verifier.  Strings are unescaped JSON strings and
 * are not NUL-terminated.  Filled as far as parsing got, also on failure. */
typedef struct stjwt_result_s {
    const char *payload;     /* decoded payload bytes (JSON text) */
    size_t      payload_len;
    const char *alg;         /* header "alg" when a string */
    size_t      alg_len;
    const char *kid;         /* header "kid" when a string */
    size_t      kid_len;
    const char *typ;         /* header "typ" when a string */
    size_t      typ_len;
    const char *version;     /* header "version" when a string */
    size_t      version_len;
    double      exp;         /* payload claims when *_type == NUMBER */
    double      nbf;
    double      iat;
    double      stt;
    int32_t     alg_id;      /* stjwt_alg_e of "alg" */
    uint8_t     kid_type;    /* stjwt_json_type_e of each member */
    uint8_t     typ_type;
    uint8_t     version_type;
    uint8_t     exp_type;
    uint8_t     nbf_type;
    uint8_t     iat_type;
    uint8_t     stt_type;
    uint8_t     legacy;      /* 1 or 2 for a SuperTokens v1/v2 header */
} stjwt_result_t;

/* One member of a payload's top-level object (stjwt_payload_members()).
 * With plain set, a STRING is value/value_len without quotes (it had no
 * escape) and a NUMBER is `number` (an integer of at most 15 digits, so
 * exact, -0 kept); otherwise value/value_len is the member's JSON text
 * (escaped strings, other numbers, objects and arrays) for the caller's
 * own JSON decoder.  NULL, FALSE and TRUE need no value. */
typedef struct stjwt_member_s {
    const char *name;        /* unescaped; not NUL-terminated */
    size_t      name_len;
    const char *value;
    size_t      value_len;
    double      number;
    uint8_t     type;        /* stjwt_json_type_e */
    uint8_t     plain;
    uint8_t     name_id;     /* stjwt_verifier_set_names(); 0: not listed */
} stjwt_member_t;

/* Most names stjwt_verifier_set_names() takes, and their longest length. */
#define STJWT_NAMES_MAX     32
#define STJWT_NAME_LEN_MAX  64

/* The library version, STJWT_VERSION_NUM. */
STJWT_EXPORT int stjwt_version(void);

/* Wall clock in whole milliseconds since the epoch (Date.now()), read
 * afresh on every call (clock_gettime, vDSO).  For callers that judge
 * expiry to the millisecond without a cached event-loop clock. */
STJWT_EXPORT double stjwt_now_ms(void);

/* A static, lower-case name for rc ("ok", "bad_base64", ...); never NULL. */
STJWT_EXPORT const char *stjwt_rc_name(int rc);

/* Algorithm id for a name ("RS256" ...), STJWT_ALG_NONE if unknown. */
STJWT_EXPORT int stjwt_alg_from_name(const char *name, size_t len);

/* Build a keyset from JWKS JSON ({"keys":[...]}) or a single JWK object.
 * Lenient by default: unusable keys are skipped and counted in *info
 * (may be NULL); a kid seen twice makes every key with that kid unusable.
 * With STJWT_KEYSET_ALLOW_HMAC, a set whose usable keys mix "oct" secrets
 * with public keys fails as a whole with KEY_MISMATCH (HS/RS confusion).
 * Returns NULL with *rc set (NO_KEYS, BAD_JSON, NOMEM, TOO_LARGE for more
 * than 4096 entries, or with STJWT_KEYSET_STRICT the first key's error)
 * and *errmsg static. */
STJWT_EXPORT stjwt_keyset_t *stjwt_keyset_new(const char *json, size_t len,
    uint32_t flags, stjwt_keyset_info_t *info, int *rc, const char **errmsg);

/* Frees a keyset; NULL is fine.  No verifier may use it afterwards. */
STJWT_EXPORT void stjwt_keyset_free(stjwt_keyset_t *ks);

/* Number of usable keys. */
STJWT_EXPORT size_t stjwt_keyset_count(const stjwt_keyset_t *ks);

/* Number of usable keys that fit alg (stjwt_alg_e): the candidates of a
 * token without a string kid (jose: kty, JWK "alg", curve).  0 for an
 * unknown alg. */
STJWT_EXPORT size_t stjwt_keyset_count_fitting(const stjwt_keyset_t *ks,
    int alg);

/* 1 if the set has a usable key with this kid, else 0. */
STJWT_EXPORT int stjwt_keyset_has_kid(const stjwt_keyset_t *ks,
    const char *kid, size_t len);

/* A verifier with its scratch buffers; opts may be NULL for defaults.
 * Returns NULL with *rc set (INVALID_ARG, NOMEM) and *errmsg static. */
STJWT_EXPORT stjwt_verifier_t *stjwt_verifier_new(const stjwt_options_t *opts,
    int *rc, const char **errmsg);

/* Frees a verifier; NULL is fine. */
STJWT_EXPORT void stjwt_verifier_free(stjwt_verifier_t *v);

/* Decode and check a token without verifying its signature: segments,
 * base64(url), JSON, duplicate members, crit, size, header fields and
 * time claims.  Returns STJWT_OK or the first problem found. */
STJWT_EXPORT int stjwt_parse(stjwt_verifier_t *v, const char *token,
    size_t len, stjwt_result_t *out, const char **errmsg) STJWT_WARN_UNUSED;

/* stjwt_parse() plus key selection and signature verification against ks:
 * the alg must be allowed, fit the key type and the JWK "alg"; legacy
 * v1/v2 tokens are tried against every RSA key.  Time claims are returned,
 * not judged: the caller decides expiry with its own clock.
 * Returns STJWT_OK only for a valid signature. */
STJWT_EXPORT int stjwt_verify(stjwt_verifier_t *v, const stjwt_keyset_t *ks,
    const char *token, size_t len, stjwt_result_t *out,
    const char **errmsg) STJWT_WARN_UNUSED;

/* The signature half of stjwt_verify() for the token the last successful
 * stjwt_parse() on v parsed, without parsing it again: the same answer as
 * stjwt_verify() (header fields and claims are in the parse's result).
 * Any other bytes (compared in full with a copy the parse kept), or any
 * call on v in between that parses, mean a full stjwt_verify(). */
STJWT_EXPORT int stjwt_verify_parsed(stjwt_verifier_t *v,
    const stjwt_keyset_t *ks, const char *token, size_t len,
    const char **errmsg) STJWT_WARN_UNUSED;

/* The members of the payload object of the last stjwt_parse() or
 * stjwt_verify() on v, in no particular order (names are unique), so that
 * a caller can build its own representation without a second JSON parse.
 * Returns their number and points *out at the verifier's array, valid
 * until the next call on v; 0 (and *out NULL) when that call failed, had
 * an opaque payload, or there was none. */
STJWT_EXPORT size_t stjwt_payload_members(stjwt_verifier_t *v,
    const stjwt_member_t **out);

/* Names the caller already holds as strings (the claims it expects):
 * from then on stjwt_payload_members() sets a member's name_id to the
 * 1-based position of its name in this list, 0 for any other name, so the
 * caller can use its own string for the name instead of making one per
 * member.  The names are copied; a call replaces the list (n = 0 clears
 * it).  STJWT_E_INVALID_ARG (list unchanged) for more than
 * STJWT_NAMES_MAX names, an empty one, one longer than
 * STJWT_NAME_LEN_MAX bytes, or one listed twice. */
STJWT_EXPORT int stjwt_verifier_set_names(stjwt_verifier_t *v,
    const char *const *names, const size_t *lens, size_t n);

/* Strict base64url (no padding, no whitespace, canonical trailing bits)
 * into dst of *dlen bytes; *dlen becomes the decoded length.  Any of the
 * *dlen bytes may be written, also on failure (32-byte vector stores).
 * Returns STJWT_OK, STJWT_E_BAD_BASE64 or STJWT_E_TOO_LARGE. */
STJWT_EXPORT int stjwt_b64url_decode(const char *src, size_t len,
    unsigned char *dst, size_t *dlen) STJWT_WARN_UNUSED;

/* Standard base64 with padding, as the SuperTokens front-token needs;
 * dst must hold ((len + 2) / 3) * 4 bytes.  Returns the bytes written. */
STJWT_EXPORT size_t stjwt_b64_encode(const unsigned char *src, size_t len,
    char *dst);

/* Validate one JSON text (RFC 8259, UTF-8, depth cap).  With
 * require_object, the top level must be an object without duplicate
 * member names.  Returns STJWT_OK, BAD_JSON, TOO_DEEP or DUPLICATE_MEMBER;
 * *err_pos (may be NULL) gets the byte offset of the problem. */
STJWT_EXPORT int stjwt_json_check(const char *json, size_t len,
    uint32_t max_depth, int require_object, size_t *err_pos)
    STJWT_WARN_UNUSED;

/* Whether JSON.stringify(JSON.parse(json)) prints a valid JSON text as it
 * is, judged conservatively: 1 when it has no whitespace, no backslash,
 * no number but integers of at most 15 digits (no fraction, exponent or
 * -0), no member name that starts with a digit (JavaScript lists
 * array-index names first) and no name repeated in an object (JSON.parse
 * keeps one member); 0 means "not sure" (also past 64 names in the open
 * objects or 32 nested objects).  For the payloads a core mints, so they
 * need not be parsed and printed again. */
STJWT_EXPORT int stjwt_json_js_plain(const char *json, size_t len);

/* A signature over caller-supplied bytes, for test vectors and plain JWS
 * with detached content (RFC 7515 App. F).  msg is the exact signing input;
 * sig is the raw JWS signature (already base64url-decoded). */
typedef struct stjwt_detached_s {
    int32_t              alg;      /* stjwt_alg_e */
    const char          *kid;      /* NULL: no kid (single candidate key) */
    size_t               kid_len;
    const unsigned char *msg;
    size_t               msg_len;
    const unsigned char *sig;
    size_t               sig_len;
} stjwt_detached_t;

/* Key selection + signature check exactly as in stjwt_verify() (alg must be
 * in the verifier's alg_mask and fit the key's kty/crv/JWK "alg"; ES raw
 * r||s of exactly 2*coord bytes; PS salt length = hash length; HS
 * full-length tag, CRYPTO_memcmp), without parsing a token.  No per-call
 * allocation.  Returns STJWT_OK only for a valid signature, else
 * ALG_NOT_ALLOWED, UNKNOWN_KID, KEY_MISMATCH, BAD_SIGNATURE, INVALID_ARG or
 * INTERNAL. */
STJWT_EXPORT int stjwt_verify_detached(stjwt_verifier_t *v,
    const stjwt_keyset_t *ks, const stjwt_detached_t *d,
    const char **errmsg) STJWT_WARN_UNUSED;

#ifdef __cplusplus
}
#endif

#endif /* STJWT_H */
