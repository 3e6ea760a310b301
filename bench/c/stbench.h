/*
 * stbench.h - timed verification loops for `make bench`.
 *
 * Every loop runs in C and returns nanoseconds per operation, so the same
 * code times OpenSSL, libstjwt and libjwt whether the caller is the C
 * driver (bench_c.c) or LuaJIT (bench/lua/micro.lua, which interleaves
 * these C loops with Lua-level loops in one process).  Also loaded by the
 * bench nginx for the "bare verify" scenario (stb_bare_verify).
 */
#ifndef STBENCH_H
#define STBENCH_H

#include <stddef.h>

typedef struct stb_s stb_t;

typedef enum {
    STB_EVP = 0,     /* EVP_DigestVerifyInit_ex + EVP_DigestVerify, ctx
                        reused, pre-built EVP_PKEY (re-init per call) */
    STB_EVP_COPY,    /* EVP_DigestVerify on a copy of a ctx initialised
                        once (no fetch per call) */
    STB_EVP_NAIVE,   /* per call: EVP_MD_fetch + EVP_MD_CTX_new + init +
                        EVP_DigestVerify + free (what most code does) */
    STB_EVP_PKEY,    /* hash + EVP_PKEY_verify on a ctx initialised once
                        (lowest level; not for EdDSA) */
    STB_STJWT,       /* stjwt_verify(): parse + checks + signature */
    STB_STJWT_PARSE, /* stjwt_parse(): everything but the signature */
    STB_LIBJWT,      /* libjwt 1.10 jwt_decode(&jwt, token, pem, len) */
    STB_PEM,         /* PEM_read_bio_PUBKEY alone: what libjwt and
                        lua-resty-jwt redo on every call */
    STB_N
} stb_kind_e;

/* tokens: newline-separated (at most 64 are used, cycled); pem: SPKI
 * public key; jwks: JWKS JSON for libstjwt.  NULL + message on failure. */
stb_t *stb_new(const char *alg, const char *tokens, size_t tokens_len,
    const char *pem, size_t pem_len, const char *jwks, size_t jwks_len,
    char *err, size_t err_len);
void stb_free(stb_t *b);

/* Name of a kind ("evp", "stjwt", ...). */
const char *stb_kind_name(int kind);

/* Runs kind iters times; ns per op, -1 if any op failed, -2 if the kind
 * does not apply to this algorithm. */
double stb_run(stb_t *b, int kind, long iters);

/* One verification of the first token on the fastest EVP path; 1 if the
 * signature verified.  For the bench nginx's /bare location. */
int stb_bare_verify(stb_t *b);

/* The clock of stb_run() and stb_now_ns(): 1 (default) = CPU time of the
 * calling thread, which time stolen by other processes on a shared
 * machine does not inflate; 0 = wall clock (CLOCK_MONOTONIC). */
void stb_use_cpu_clock(int on);

/* Now on the selected clock, in ns, for callers that time their own
 * loops. */
double stb_now_ns(void);

#endif /* STBENCH_H */
