# mk/90-hardening.mk - hardening: the attack corpus through a real nginx
# (spec/50, data in spec/fixtures/attacks/), core stand-in faults beyond
# spec/21 (spec/51), then the secrets-hygiene scan of every log and body
# the suites left in build/test-logs (spec/59, always last).
#
#   make test-hardening   spec/50..58, then spec/59 (about 45 s)
#   make test-hygiene     only the scan (after other suites ran)
#
# This fragment is included last, so in a serial `make test` the scan runs
# after every other suite of test-all.  ST_TEST_LOG_DIR moves
# build/test-logs.

HARDENING_SPECS := $(filter-out %/59-secrets_hygiene_spec.lua,\
                     $(sort $(wildcard $(TOP)/spec/5[0-9]-*_spec.lua)))

.PHONY: test-hardening test-hygiene

### test-hardening: attack corpus, fault injection, secrets hygiene (~45 s)
test-hardening: $(LIBSTJWT)
	cd $(TOP) && $(BUSTED) $(HARDENING_SPECS)
	@$(MAKE) --no-print-directory test-hygiene

### test-hygiene: scan collected logs/bodies for tokens, keys, API keys
test-hygiene:
	cd $(TOP) && ST_HYGIENE_REQUIRE=1 $(BUSTED) \
	    $(TOP)/spec/59-secrets_hygiene_spec.lua

test-all: test-hardening
