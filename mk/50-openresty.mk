# mk/50-openresty.mk - the OpenResty shell (resty.supertokens, keys, http,
# core, cache, env), the example nginx.conf, the demo and the conformance
# gateway: busted specs 20-29 against real nginx + the core stand-in.
#
#   make test-nginx   spec/20..29 (about 45 s on 2 cores)
#   make demo         nginx in the foreground on 127.0.0.1:$(PORT)
#   make lint-openresty  bash -n on the scripts, nginx -t on the example

NGINX_SPECS  := $(sort $(wildcard $(TOP)/spec/2[0-9]-*_spec.lua))
OR_SCRIPTS   := $(TOP)/examples/openresty/render.sh \
                $(TOP)/examples/openresty/demo.sh \
                $(TOP)/examples/openresty/dev-mint.sh \
                $(TOP)/spec/conformance/gateway

.PHONY: test-nginx demo lint-openresty

### test-nginx: OpenResty shell through real nginx + core stand-in (20-29)
test-nginx: $(LIBSTJWT)
	cd $(TOP) && $(BUSTED) $(NGINX_SPECS)

### demo: nginx + lua-resty-supertokens on 127.0.0.1:$PORT (8080), no core needed
demo:
	@$(TOP)/.ci/deps.sh demo
	@$(MAKE) --no-print-directory all
	@$(TOP)/examples/openresty/demo.sh

### lint-openresty: shell syntax of the scripts, nginx -t of the example conf
lint-openresty:
	@for f in $(OR_SCRIPTS); do bash -n $$f || exit 1; done
	@d=$$(mktemp -d); \
	    conf=$$(ST_DEFAULT_JWKS=$(TOP)/spec/fixtures/openresty/jwks.json \
	            ST_BACKEND_URL=http://127.0.0.1:3001 \
	            $(TOP)/examples/openresty/render.sh $$d) && \
	    nginx -t -q -p $$d/ -c $$conf; rc=$$?; rm -rf $$d; exit $$rc

test-all: test-nginx
lint-all: lint-openresty
