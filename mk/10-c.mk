# mk/10-c.mk - libstjwt.so, its C tests (TAP), sanitizer and valgrind
# runs, libFuzzer targets and the C lint.
#
#   make all          build/libstjwt.so (links libcrypto only)
#   make test-c       TAP tests under prove: normal build, then ASan+UBSan
#   make valgrind     the C tests under valgrind (definite leaks, bad reads)
#   make fuzz-short   every fuzz target for FUZZ_SECONDS (default 30) each
#   make fuzz         the same, FUZZ_SECONDS default 600
#   make lint-c       80 columns / no tabs in csrc, exported symbols

CLANG        ?= clang
PROVE        ?= prove
VALGRIND     ?= valgrind

STJWT_SRCS   := $(sort $(wildcard $(TOP)/csrc/*.c))
STJWT_HDRS   := $(sort $(wildcard $(TOP)/csrc/*.h))
STJWT_WARN   := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2
# OPENSSL_NO_DEPRECATED hides the 1.x APIs, so using one fails the build.
STJWT_OSSL   := -I$(OPENSSL_INCDIR) -DOPENSSL_API_COMPAT=30000 \
                -DOPENSSL_NO_DEPRECATED
# Functions start on a cache line: the parse loops otherwise move with
# whatever precedes them (two new PLT entries made stjwt_parse ~40 ns
# slower, bench/README "Code alignment").
STJWT_CFLAGS := -std=c11 -O2 -g -fPIC -fvisibility=hidden -DBUILDING_STJWT \
                -falign-functions=64 $(STJWT_WARN) $(STJWT_OSSL)
STJWT_LIBS   := -L$(OPENSSL_LIBDIR) -lcrypto
SAN_FLAGS    := -fsanitize=address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer

C_TEST_DIR   := $(TOP)/csrc/test
C_TEST_SRCS  := $(sort $(wildcard $(C_TEST_DIR)/test_*.c))
C_TEST_UTIL  := $(C_TEST_DIR)/util.c
C_TEST_HDRS  := $(wildcard $(C_TEST_DIR)/*.h)
C_TEST_NAMES := $(patsubst $(C_TEST_DIR)/%.c,%,$(C_TEST_SRCS))
C_TEST_BINS  := $(addprefix $(BUILD)/ctest/,$(C_TEST_NAMES))
C_ASAN_LIB   := $(BUILD)/asan/libstjwt.so
C_ASAN_BINS  := $(addprefix $(BUILD)/asan/,$(C_TEST_NAMES))
C_TEST_CFLAGS = -std=c11 -O1 -g $(STJWT_WARN) $(STJWT_OSSL) \
                -I$(TOP)/csrc -DSTJWT_TOP='"$(TOP)"'

FUZZ_TARGETS := fuzz_verify fuzz_jwk fuzz_b64url fuzz_json
FUZZ_BINS    := $(addprefix $(BUILD)/fuzz/,$(FUZZ_TARGETS))
FUZZ_CFLAGS  := -std=c11 -O1 -g -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all $(STJWT_WARN) $(STJWT_OSSL) \
                -I$(TOP)/csrc

ASAN_ENV     := ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0 \
                UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
VALGRIND_FLAGS := -q --error-exitcode=99 --leak-check=full \
                  --errors-for-leak-kinds=definite \
                  --show-leak-kinds=definite --track-origins=yes \
                  $(if $(wildcard $(TOP)/csrc/valgrind.supp),\
                      --suppressions=$(TOP)/csrc/valgrind.supp)

.PHONY: test-c test-c-normal test-c-asan valgrind fuzz fuzz-short \
        fuzz-build lint-c

# The compiler and OpenSSL settings of the last build: a build with other
# ones (luarocks make OPENSSL_DIR=/usr/local/kong after a plain make)
# rebuilds instead of keeping a library linked to another libcrypto.
STJWT_FLAGS_STAMP := $(BUILD)/libstjwt.flags
STJWT_FLAGS_NOW   := $(CC) $(STJWT_CFLAGS) $(CFLAGS) $(LDFLAGS) $(STJWT_LIBS)

$(STJWT_FLAGS_STAMP): FORCE
	@mkdir -p $(@D)
	@if [ "$$(cat $@ 2>/dev/null)" != '$(STJWT_FLAGS_NOW)' ]; then \
		printf '%s\n' '$(STJWT_FLAGS_NOW)' > $@; fi

.PHONY: FORCE
FORCE:

$(LIBSTJWT): $(STJWT_SRCS) $(STJWT_HDRS) $(STJWT_FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(STJWT_CFLAGS) $(CFLAGS) -shared -o $@ $(STJWT_SRCS) \
		-Wl,--no-undefined -Wl,-z,relro,-z,now $(LDFLAGS) $(STJWT_LIBS)

$(BUILD)/ctest/%: $(C_TEST_DIR)/%.c $(C_TEST_UTIL) $(C_TEST_HDRS) \
		$(LIBSTJWT)
	@mkdir -p $(@D)
	$(CC) $(C_TEST_CFLAGS) -o $@ $< $(C_TEST_UTIL) -L$(BUILD) -lstjwt \
		-Wl,-rpath,$(BUILD) $(STJWT_LIBS)

$(C_ASAN_LIB): $(STJWT_SRCS) $(STJWT_HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(STJWT_CFLAGS) -O1 $(SAN_FLAGS) -shared -o $@ \
		$(STJWT_SRCS) $(STJWT_LIBS)

$(BUILD)/asan/%: $(C_TEST_DIR)/%.c $(C_TEST_UTIL) $(C_TEST_HDRS) \
		$(C_ASAN_LIB)
	@mkdir -p $(@D)
	$(CLANG) $(C_TEST_CFLAGS) $(SAN_FLAGS) -o $@ $< $(C_TEST_UTIL) \
		-L$(BUILD)/asan -lstjwt -Wl,-rpath,$(BUILD)/asan $(STJWT_LIBS)

### test-c: C TAP tests (normal build, then ASan+UBSan build)
test-c: test-c-normal test-c-asan

test-c-normal: $(LIBSTJWT) $(C_TEST_BINS)
	$(PROVE) --exec '' $(C_TEST_BINS)

test-c-asan: $(C_ASAN_BINS)
	$(ASAN_ENV) $(PROVE) --exec '' $(C_ASAN_BINS)

### valgrind: C TAP tests under valgrind (fails on definite leaks/errors)
valgrind: $(C_TEST_BINS)
	$(PROVE) --exec '$(VALGRIND) $(VALGRIND_FLAGS)' $(C_TEST_BINS)

$(BUILD)/fuzz/%: $(TOP)/csrc/fuzz/%.c $(STJWT_SRCS) $(STJWT_HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $< $(STJWT_SRCS) $(STJWT_LIBS)

fuzz-build: $(FUZZ_BINS)

# Seeds in csrc/fuzz/corpus/<target> are read-only; new inputs go to
# build/fuzz/corpus/<target>.
define fuzz-run
set -o pipefail; for t in $(FUZZ_TARGETS); do \
    mkdir -p $(BUILD)/fuzz/corpus/$$t; \
    $(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
        -rss_limit_mb=2048 -max_len=20000 -print_final_stats=1 \
        $(BUILD)/fuzz/corpus/$$t $(TOP)/csrc/fuzz/corpus/$$t \
        > $(BUILD)/fuzz/$$t.log 2>&1 \
      || { tail -n 60 $(BUILD)/fuzz/$$t.log; \
           echo "fuzz: $$t FAILED (log: $(BUILD)/fuzz/$$t.log)"; exit 1; }; \
    echo "fuzz: $$t ok, execs: $$(sed -n \
        's/^stat::number_of_executed_units: *//p' $(BUILD)/fuzz/$$t.log)" \
        "in $(FUZZ_SECONDS) s"; \
done
endef

### fuzz-short: each libFuzzer target for FUZZ_SECONDS (default 30)
fuzz-short: FUZZ_SECONDS ?= 30
fuzz-short: $(FUZZ_BINS)
	@$(fuzz-run)

### fuzz: long fuzzing runs, FUZZ_SECONDS (default 600) per target
fuzz: FUZZ_SECONDS ?= 600
fuzz: $(FUZZ_BINS)
	@$(fuzz-run)

C_LINT_FILES = $(wildcard $(TOP)/csrc/*.c $(TOP)/csrc/*.h \
                 $(C_TEST_DIR)/*.c $(C_TEST_DIR)/*.h $(TOP)/csrc/fuzz/*.c \
                 $(TOP)/csrc/fuzz/*.h)

### lint-c: C sources <= 80 columns, no tabs; only stjwt_* exported
lint-c: $(LIBSTJWT)
	@if grep -nP '(?<=.{80}).+' $(C_LINT_FILES); then \
	    echo "lint-c: lines over 80 columns"; exit 1; fi
	@if grep -nP '\t' $(C_LINT_FILES); then \
	    echo "lint-c: tabs"; exit 1; fi
	@bad=$$(nm -D --defined-only $(LIBSTJWT) \
	    | awk '$$2 ~ /^[TDBRVW]$$/ { print $$3 }' | grep -v '^stjwt_'); \
	if [ -n "$$bad" ]; then \
	    echo "lint-c: unexpected exports: $$bad"; exit 1; fi
	@missing=; for f in $$(sed -n \
	    's/.*[ *]\(stjwt_[a-z0-9_]*\)(.*/\1/p' $(TOP)/csrc/stjwt.h \
	    | sort -u); do \
	    nm -D --defined-only $(LIBSTJWT) | grep -qw "$$f" \
	        || missing="$$missing $$f"; done; \
	if [ -n "$$missing" ]; then \
	    echo "lint-c: declared but not exported:$$missing"; exit 1; fi
	@echo "lint-c: ok"

test-all: test-c fuzz-short
lint-all: lint-c
