# mk/60-kong.mk - the Kong plugin (lua/kong/plugins/supertokens).
#
# Kong is not installable here, so the plugin runs inside plain nginx
# through spec/kong/runner.lua (Kong-like phases) and
# spec/helpers/kong_pdk.lua (the PDK calls it uses, written from Kong's PDK
# reference); its schema goes through spec/helpers/kong_schema.lua.
#
#   make test-kong           schema spec (30), handler spec (31, real nginx),
#                            conformance replay through spec/kong/gateway
#                            (KONG_CONFORMANCE_CONFIGS, about 90 s in all)
#   make test-kong-full      the same plus 2000 generated cases
#   make conformance-kong    the replay only

KONG_SPECS   := $(TOP)/spec/30-kong_schema_spec.lua \
                $(TOP)/spec/31-kong_handler_spec.lua
# customCodes answers 499, which nginx cannot send through
# kong.response.exit() (the schema refuses 444/499; see
# examples/kong/README.md), so no Kong replay runs it.
KONG_CONFORMANCE_CONFIGS ?= default,viaToken,crossSite,emailVerification,staticKeys,headerOnly,cookieOnly,roles,rolesMaxAge,mfa,gatewayExpose,apiKey
KONG_CONFORMANCE_GEN     ?= 0
# below the ephemeral port range, like the OpenResty run's 27300
KONG_CONFORMANCE_PORT    ?= 27900
# run.js takes the gateway script from CONFORMANCE_GATEWAY; its state
# (core keys, gateway prefixes) goes under build/, out of reach of
# anything that cleans /tmp meanwhile.
KONG_CONF_DIR := $(BUILD)/kong-conformance

.PHONY: test-kong test-kong-full test-kong-specs conformance-kong

### test-kong: Kong plugin schema + handler specs and conformance replay
test-kong: test-kong-specs conformance-kong

test-kong-specs: $(LIBSTJWT)
	cd $(TOP) && $(BUSTED) $(KONG_SPECS)

### conformance-kong: the conformance cases through spec/kong/gateway
conformance-kong: $(LIBSTJWT)
	@test -d $(TOP)/spec/conformance/node_modules || \
	    (cd $(TOP)/spec/conformance && npm ci --silent)
	@rm -rf $(KONG_CONF_DIR) && mkdir -p $(KONG_CONF_DIR)/tmp
	cd $(TOP) && TMPDIR=$(KONG_CONF_DIR)/tmp \
	    CONFORMANCE_GATEWAY=$(TOP)/spec/kong/gateway \
	    CONFORMANCE_CONFIGS=$(KONG_CONFORMANCE_CONFIGS) \
	    CONFORMANCE_GEN=$(KONG_CONFORMANCE_GEN) \
	    CONFORMANCE_PORT=$(KONG_CONFORMANCE_PORT) \
	    node $(TOP)/spec/conformance/run.js

### test-kong-full: test-kong plus 2000 generated conformance cases
test-kong-full:
	@$(MAKE) --no-print-directory test-kong KONG_CONFORMANCE_GEN=2000

test-all: test-kong
