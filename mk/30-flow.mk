# mk/30-flow.mk - the gateway-neutral decision core (resty.supertokens.
# config/transport/token/csrf/claims/outcome/cors/decide): busted specs
# 10-17, plain LuaJIT, no nginx, real libstjwt parse, faked signatures
# (17: the Querier, resty.supertokens.core, with a scripted client).
#
#   make test-flow   spec/10..17 (about 1 s)

FLOW_SPECS   := $(sort $(wildcard $(TOP)/spec/1[0-7]-*_spec.lua))

.PHONY: test-flow

### test-flow: decision-core specs (config, transport, token, decide, claims, outcome, cors)
test-flow: $(LIBSTJWT)
	cd $(TOP) && $(BUSTED) $(FLOW_SPECS)

test-all: test-flow
