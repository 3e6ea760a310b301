# Benchmarks and soak (bench/): not part of test-all; see bench/README.md.
#   make bench [QUICK=1] [LRJ_PATH=/path/to/lua-resty-jwt]
#   make soak [SOAK_SECONDS=300] [SOAK_HOSTILE_PCT=20]

BENCH_BUILD  := $(BUILD)/bench
BENCH_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -fPIC \
                -I$(TOP)/csrc -I$(TOP)/bench/c -I$(OPENSSL_INCDIR)
BENCH_LIBS   := -L$(BUILD) -lstjwt -L$(OPENSSL_LIBDIR) -lcrypto -ljwt \
                -Wl,-rpath,$(BUILD)
BENCH_ENV     = QUICK=$(QUICK) LRJ_PATH=$(LRJ_PATH) LRJ_DEPS=$(LRJ_DEPS) \
                SOAK_SECONDS=$(SOAK_SECONDS) \
                SOAK_HOSTILE_PCT=$(SOAK_HOSTILE_PCT) \
                BUILD=$(BUILD) BENCH_NGINX=$(NGINX) TOP=$(TOP)

# One bench or soak at a time: they share build/bench/ and would also
# measure each other.  -o: the nginx and sleep children do not inherit the
# lock, so a run killed half-way does not keep it.
BENCH_LOCK    = flock -o $(BENCH_BUILD)/.lock

.PHONY: bench-deps bench-build

bench-deps:
	@.ci/deps.sh bench

$(BENCH_BUILD)/libstbench.so: bench/c/stbench.c bench/c/stbench.h \
                              csrc/stjwt.h $(LIBSTJWT)
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -shared -o $@ bench/c/stbench.c $(BENCH_LIBS)

$(BENCH_BUILD)/bench_c: bench/c/bench_c.c $(BENCH_BUILD)/libstbench.so
	$(CC) $(BENCH_CFLAGS) -o $@ bench/c/bench_c.c -L$(BENCH_BUILD) \
		-lstbench $(BENCH_LIBS) -Wl,-rpath,$(BENCH_BUILD)

bench-build: $(LIBSTJWT) $(BENCH_BUILD)/bench_c

### bench: verify cost vs OpenSSL/libjwt/nginx -> bench/results/ (QUICK=1)
bench: bench-deps
	@$(MAKE) --no-print-directory bench-build
	$(BENCH_ENV) $(BENCH_LOCK) $(LUAJIT) bench/run.lua bench

### soak: nginx at saturation, hostile tokens -> bench/results/soak.json
soak: bench-deps
	@$(MAKE) --no-print-directory bench-build
	$(BENCH_ENV) $(BENCH_LOCK) $(LUAJIT) bench/run.lua soak

### bench-probe: nginx scenarios only, CPU us per request (PROBE=...)
bench-probe: bench-deps
	@$(MAKE) --no-print-directory bench-build
	$(BENCH_ENV) PROBE="$(PROBE)" PROBE_ROUNDS=$(PROBE_ROUNDS) \
		PROBE_ONLY=$(PROBE_ONLY) BENCH_JITV=$(BENCH_JITV) \
		$(BENCH_LOCK) $(LUAJIT) bench/run.lua probe

### bench-serve: the bench nginx alone, for profiling by hand (Enter stops)
bench-serve: bench-deps
	@$(MAKE) --no-print-directory bench-build
	$(BENCH_ENV) BENCH_SERVE_SECONDS=$(BENCH_SERVE_SECONDS) \
		$(BENCH_LOCK) $(LUAJIT) bench/run.lua serve
