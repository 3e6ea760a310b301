# mk/40-conformance.mk - the differential suite: the gateway against the
# real supertokens-node 24.0.3 (spec/conformance/), and the core stand-in.
#
#   make conformance        every case in 8 configurations (about 75 s)
#   make conformance-setup  npm ci in spec/conformance when the lockfile
#                           is newer than node_modules
#   make conformance-self   the harness against itself (SDK vs SDK)
#   make test-browser       headless Chromium + supertokens-website through
#                           the gateway, cookie and header mode (about 15 s)
#
# Env passed through: CONFORMANCE_SEED, CONFORMANCE_GEN, CONFORMANCE_CONFIGS,
# CONFORMANCE_ONLY, CONFORMANCE_PORT, CONFORMANCE_VERBOSE.

CONFORMANCE_DIR   := $(TOP)/spec/conformance
CONFORMANCE_STAMP := $(CONFORMANCE_DIR)/node_modules/.package-lock.json
NODE              ?= node
NPM               ?= npm

BROWSER_DIR       := $(CONFORMANCE_DIR)/browser
BROWSER_STAMP     := $(BROWSER_DIR)/node_modules/.package-lock.json

.PHONY: conformance conformance-setup conformance-self test-browser

# npm writes node_modules/.package-lock.json on every install: it is older
# than the lockfile exactly when node_modules is stale.
$(CONFORMANCE_STAMP): $(CONFORMANCE_DIR)/package-lock.json \
                      $(CONFORMANCE_DIR)/package.json
	cd $(CONFORMANCE_DIR) && $(NPM) ci --no-audit --no-fund
	@touch $@

$(BROWSER_STAMP): $(BROWSER_DIR)/package-lock.json $(BROWSER_DIR)/package.json
	cd $(BROWSER_DIR) && $(NPM) ci --no-audit --no-fund
	@touch $@

conformance-setup: $(CONFORMANCE_STAMP) $(BROWSER_STAMP)

### conformance: differential suite, gateway vs supertokens-node (~75 s)
conformance: $(CONFORMANCE_STAMP) $(LIBSTJWT)
	cd $(CONFORMANCE_DIR) && $(NODE) run.js

### conformance-self: conformance harness self-check (SDK vs SDK)
conformance-self: $(CONFORMANCE_STAMP)
	cd $(CONFORMANCE_DIR) && CONFORMANCE_TARGET=sdk $(NODE) run.js

### test-browser: supertokens-website in headless Chromium via the gateway
test-browser: $(CONFORMANCE_STAMP) $(BROWSER_STAMP) $(LIBSTJWT)
	cd $(BROWSER_DIR) && $(NODE) run-browser.js

test-all: conformance
test-all: test-browser
