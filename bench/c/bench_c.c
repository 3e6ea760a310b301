/*
 * bench_c.c - C-level verify benchmark: libstjwt vs raw OpenSSL EVP vs
 * libjwt, same tokens, same keys, one process.
 *
 * Usage: bench_c DATADIR ROUNDS TARGET_MS [cpu|wall]
 * Each round times every (alg, kind) for about TARGET_MS, in SUBS
 * interleaved slices and a rotated order, so no kind always runs first or
 * right after another.  Times are thread CPU time unless "wall".
 * Prints JSON: {"openssl": "...", "algs": {"rs256": {"evp": [ns, ...],
 * ...}, ...}}; the driver (bench/run.lua) takes medians and ratios.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "stbench.h"

#define MAX_ROUNDS 200
#define SUBS       5

static const struct { const char *file; const char *alg; } algs[] = {
    { "rs256", "RS256" }, { "es256", "ES256" }, { "eddsa", "EdDSA" },
};
#define N_ALGS (sizeof(algs) / sizeof(algs[0]))

static double results[N_ALGS][STB_N][MAX_ROUNDS];


static char *
slurp(const char *dir, const char *name, const char *ext, size_t *len)
{
    char  path[4096];
    FILE *f;
    char *buf = NULL;
    long  n;

    snprintf(path, sizeof(path), "%s/%s%s", dir, name, ext);
    f = fopen(path, "rb");
    if (f == NULL) goto done;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) goto done;
    rewind(f);
    buf = malloc((size_t) n + 1);
    if (buf == NULL) goto done;
    if (fread(buf, 1, (size_t) n, f) != (size_t) n) {
        free(buf);
        buf = NULL;
        goto done;
    }
    buf[n] = '\0';
    *len = (size_t) n;
done:
    if (f != NULL) fclose(f);
    if (buf == NULL) fprintf(stderr, "bench_c: cannot read %s\n", path);
    return buf;
}


int
main(int argc, char **argv)
{
    stb_t  *b[N_ALGS] = { 0 };
    long    iters[N_ALGS][STB_N];
    int     rounds, rc = 1;
    double  target_ns;

    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: bench_c DATADIR ROUNDS TARGET_MS "
                "[cpu|wall]\n");
        return 2;
    }
    stb_use_cpu_clock(argc == 4 || strcmp(argv[4], "wall") != 0);
    rounds = atoi(argv[2]);
    if (rounds < 1 || rounds > MAX_ROUNDS) rounds = 5;
    target_ns = atof(argv[3]) * 1e6;

    for (size_t a = 0; a < N_ALGS; a++) {
        size_t tl, pl, jl;
        char   err[256];
        char  *tok = slurp(argv[1], algs[a].file, ".tokens", &tl);
        char  *pem = slurp(argv[1], algs[a].file, ".pub.pem", &pl);
        char  *jwks = slurp(argv[1], algs[a].file, ".jwks.json", &jl);

        if (tok && pem && jwks) {
            b[a] = stb_new(algs[a].alg, tok, tl, pem, pl, jwks, jl, err,
                           sizeof(err));
            if (b[a] == NULL)
                fprintf(stderr, "bench_c: %s: %s\n", algs[a].alg, err);
        }
        free(tok);
        free(pem);
        free(jwks);
        if (b[a] == NULL) goto done;

        /* Warm up, check every kind verifies, then size the loops. */
        for (int k = 0; k < STB_N; k++) {
            double ns = stb_run(b[a], k, 50);
            if (ns == -1) {
                fprintf(stderr, "bench_c: %s %s: verification failed\n",
                        algs[a].alg, stb_kind_name(k));
                goto done;
            }
            ns = stb_run(b[a], k, 50);
            iters[a][k] = ns > 0 ? (long) (target_ns / ns) + 1 : 0;
            if (iters[a][k] < 20 && ns > 0) iters[a][k] = 20;
        }
    }

    /* Each round is SUBS passes over every (alg, kind), so a burst of
     * load from elsewhere lands on all of them alike. */
    for (int r = 0; r < rounds; r++) {
        double acc[N_ALGS][STB_N] = { { 0 } };
        for (int s = 0; s < SUBS; s++) {
            for (int i = 0; i < (int) (N_ALGS * STB_N); i++) {
                int    slot = (i + r * 3 + s) % (int) (N_ALGS * STB_N);
                size_t a = (size_t) slot / STB_N;
                int    k = slot % STB_N;
                double ns;
                if (iters[a][k] == 0 || acc[a][k] < 0) continue;
                ns = stb_run(b[a], k, iters[a][k] / SUBS);
                acc[a][k] = ns < 0 ? ns : acc[a][k] + ns / SUBS;
            }
        }
        for (size_t a = 0; a < N_ALGS; a++) {
            for (int k = 0; k < STB_N; k++) {
                results[a][k][r] = iters[a][k] > 0 ? acc[a][k] : -2;
            }
        }
    }

    printf("{\"openssl\":\"%s\",\"rounds\":%d,\"target_ms\":%g,"
           "\"clock\":\"%s\",\"algs\":{",
           OpenSSL_version(OPENSSL_VERSION), rounds, target_ns / 1e6,
           (argc == 4 || strcmp(argv[4], "wall") != 0) ? "thread_cpu"
                                                       : "wall");
    for (size_t a = 0; a < N_ALGS; a++) {
        printf("%s\"%s\":{", a ? "," : "", algs[a].file);
        for (int k = 0; k < STB_N; k++) {
            printf("%s\"%s\":[", k ? "," : "", stb_kind_name(k));
            for (int r = 0; r < rounds; r++) {
                double ns = results[a][k][r];
                if (ns < 0) printf("%snull", r ? "," : "");
                else printf("%s%.1f", r ? "," : "", ns);
            }
            printf("]");
        }
        printf("}");
    }
    printf("}}\n");
    rc = 0;
done:
    for (size_t a = 0; a < N_ALGS; a++) stb_free(b[a]);
    return rc;
}
