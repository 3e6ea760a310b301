rockspec_format = "3.0"
package = "lua-resty-supertokens"
version = "scm-1"

source = {
    url = "git+https://github.com/supertokens/lua-resty-supertokens.git",
    branch = "main",
}

description = {
    summary = "SuperTokens session verification for OpenResty and Kong",
    detailed = [[
        Verifies SuperTokens access tokens (and any JWS/JWT) in OpenResty
        and Kong with libstjwt, a small C library over OpenSSL 3 EVP,
        bound through the LuaJIT FFI.  Ships the OpenResty module, the
        Kong plugin, the C library and the `stjwt` CLI.
    ]],
    homepage = "https://github.com/supertokens/lua-resty-supertokens",
    license = "Apache-2.0",
}

-- Runs on LuaJIT (OpenResty/Kong).  lua-cjson, lua-resty-core and
-- lua-resty-lrucache come with OpenResty and Kong, so they are not listed
-- here: a rocks tree without them must get them from the platform.
dependencies = {
    "lua >= 5.1",
}

-- Build against the same OpenSSL the target nginx/Kong links.
external_dependencies = {
    OPENSSL = {
        header = "openssl/evp.h",
        library = "crypto",
    },
}

build = {
    type = "make",
    build_variables = {
        CFLAGS = "$(CFLAGS)",
        OPENSSL_INCDIR = "$(OPENSSL_INCDIR)",
        OPENSSL_LIBDIR = "$(OPENSSL_LIBDIR)",
    },
    install_variables = {
        INST_PREFIX = "$(PREFIX)",
        INST_LIBDIR = "$(LIBDIR)",
        INST_LUADIR = "$(LUADIR)",
        INST_BINDIR = "$(BINDIR)",
        OPENSSL_INCDIR = "$(OPENSSL_INCDIR)",
        OPENSSL_LIBDIR = "$(OPENSSL_LIBDIR)",
    },
    install = {
        bin = { stjwt = "bin/stjwt" },
    },
}

-- bin/stjwt needs LuaJIT's FFI; luarocks would wrap it to run under the
-- configured interpreter (often lua5.1).  Unwrapped, its shebang picks
-- luajit and it finds the modules relative to <tree>/bin.
deploy = {
    wrap_bin_scripts = false,
}
