# mk/20-lua.mk - the Lua binding (resty.supertokens.ffi/jwt), bin/stjwt
# and the rockspec: busted specs 01-06 and the Lua lint.
#
#   make test-lua   spec/01..06 under LuaJIT busted (about 10 s)
#   make lint-lua   luacheck, 80 columns / no tabs, cdef == stjwt.h

LUACHECK     ?= luacheck
LUA_SPECS    := $(sort $(wildcard $(TOP)/spec/0[1-6]*_spec.lua))
LUA_LINT     := $(TOP)/lua $(TOP)/bin/stjwt $(TOP)/spec $(TOP)/tools \
                $(TOP)/bench
LUA_LONG     := $(shell find $(TOP)/lua $(TOP)/tools $(TOP)/bench -name '*.lua' \
                    2>/dev/null) $(TOP)/bin/stjwt

.PHONY: test-lua lint-lua

### test-lua: Lua binding, vectors, JIT, CLI and luarocks specs (01-06)
test-lua: $(LIBSTJWT)
	cd $(TOP) && $(BUSTED) $(LUA_SPECS)

### lint-lua: luacheck lua/ bin/ spec/ tools/ bench/, cdef mirror of stjwt.h
lint-lua:
	cd $(TOP) && $(LUACHECK) -q $(LUA_LINT)
	@if grep -nP '(?<=.{80}).+' $(LUA_LONG); then \
	    echo "lint-lua: lines over 80 columns"; exit 1; fi
	@if grep -nP '\t' $(LUA_LONG); then \
	    echo "lint-lua: tabs"; exit 1; fi
	$(LUAJIT) $(TOP)/tools/check-cdef.lua $(TOP)

test-all: test-lua
lint-all: lint-lua
