# lua-resty-supertokens: SuperTokens session verification in OpenResty and Kong.
#
# `make demo` and `make test` are the two commands of the README; both
# install what is missing on a Debian 12 machine first (.ci/deps.sh).
# Each area keeps its rules in mk/<area>.mk; this file holds the shared
# variables and the top-level targets.

SHELL        := /bin/bash
.DEFAULT_GOAL := all

TOP          := $(CURDIR)
BUILD        := $(TOP)/build
LUAJIT       ?= luajit
BUSTED       ?= $(LUAJIT) /usr/bin/busted
NGINX        ?= nginx
CC           ?= cc
PKG_CONFIG   ?= pkg-config

# luarocks passes these (rockspec build_variables / install_variables).
OPENSSL_INCDIR ?= /usr/include
OPENSSL_LIBDIR ?= /usr/lib/x86_64-linux-gnu
INST_PREFIX  ?= /usr/local
INST_LUADIR  ?= $(INST_PREFIX)/share/lua/5.1
INST_LIBDIR  ?= $(INST_PREFIX)/lib/lua/5.1
INST_BINDIR  ?= $(INST_PREFIX)/bin

# Where tests find our modules and libstjwt.so (via package.cpath).
export LUA_PATH  := $(TOP)/lua/?.lua;$(TOP)/lua/?/init.lua;$(TOP)/?.lua;/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua;;
export LUA_CPATH := $(BUILD)/?.so;/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;;

LIBSTJWT     := $(BUILD)/libstjwt.so

.PHONY: all deps test lint bench install clean help demo docs fuzz soak

### all: build libstjwt.so into build/
all: $(LIBSTJWT)

### deps: install the missing Debian packages for build and test
deps:
	@.ci/deps.sh test

# Each fragment adds its own targets to test-all / lint-all, in file order.
.PHONY: test-all lint-all
test-all:
lint-all:
include $(sort $(wildcard mk/*.mk))

### test: install what is missing, build, and run every test
test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory lint-all
	@$(MAKE) --no-print-directory test-all

### lint: luacheck, C warnings as errors, line length/tabs, cdef = header
lint: lint-all

### install: copy the Lua modules, libstjwt.so and bin/stjwt (INST_*DIR)
install: $(LIBSTJWT)
	install -d $(DESTDIR)$(INST_LUADIR) $(DESTDIR)$(INST_LIBDIR)
	cd lua && find resty kong -name '*.lua' -exec \
		install -D -m 0644 {} $(DESTDIR)$(INST_LUADIR)/{} \;
	install -m 0755 $(LIBSTJWT) $(DESTDIR)$(INST_LIBDIR)/libstjwt.so
	install -D -m 0755 bin/stjwt $(DESTDIR)$(INST_BINDIR)/stjwt

### clean: remove build outputs
clean:
	rm -rf $(BUILD)

### help: list the targets
help:
	@grep -hE '^### ' $(MAKEFILE_LIST) | sed 's/^### /  /'
