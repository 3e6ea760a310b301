# mk/80-docs.mk - operator experience: API docs (LDoc) and the ops specs
# (Prometheus metrics through nginx, `stjwt explain`, `stjwt mint`).
#
#   make docs         HTML API reference in build/docs (config.ld)
#   make docs-check   LDoc parses every module; no warning in DOCS_STRICT
#   make test-ops     spec/40-42 (about 15 s)

# ldoc's shebang (lua-any) picks Lua 5.2, which cannot see lua-markdown
# (installed for 5.1): run it under LuaJIT instead.
LDOC         ?= $(LUAJIT) /usr/bin/ldoc
DOCS_DIR     := $(BUILD)/docs
# Modules whose LDoc comments must be warning-free (grow this list as the
# other modules' comments are cleaned up).
DOCS_STRICT  ?= lua/resty/supertokens/metrics.lua \
                lua/resty/supertokens/reasons.lua \
                lua/resty/supertokens/cli/
OPS_SPECS    := $(sort $(wildcard $(TOP)/spec/4[0-2]-*_spec.lua))

.PHONY: docs docs-check test-ops

### docs: HTML API reference from the LDoc comments into build/docs
docs:
	@rm -rf $(DOCS_DIR)
	@cd $(TOP) && $(LDOC) -q -c config.ld -d $(DOCS_DIR) .
	@echo "docs: $(DOCS_DIR)/index.html"

### docs-check: LDoc runs cleanly (part of lint)
docs-check:
	@rm -rf $(BUILD)/docs-check; mkdir -p $(BUILD)
	@cd $(TOP) && $(LDOC) -c config.ld -d $(BUILD)/docs-check . \
		> $(BUILD)/docs-check.log 2>&1 \
		|| { cat $(BUILD)/docs-check.log; exit 1; }
	@bad=0; for f in $(DOCS_STRICT); do \
		if grep -F "$(TOP)/$$f" $(BUILD)/docs-check.log; then bad=1; fi; \
	done; \
	if [ $$bad = 1 ]; then echo "docs-check: LDoc warnings above"; \
		exit 1; fi
	@rm -rf $(BUILD)/docs-check $(BUILD)/docs-check.log
	@echo "docs-check: ok"

### test-ops: metrics (real nginx, 2 workers), stjwt explain and mint
test-ops: $(LIBSTJWT)
	cd $(TOP) && $(BUSTED) $(OPS_SPECS)

test-all: test-ops
lint-all: docs-check
