-- LuaJIT side of bench/c/stbench.c: loads build/bench/libstbench.so and
-- wraps its timed C loops, so a Lua benchmark can interleave them with
-- its own loops in one process.  Also used by the bench nginx's /bare
-- location (one OpenSSL verify per request, nothing else).

local ffi = require "ffi"

local ffi_new = ffi.new
local ffi_string = ffi.string
local io_open = io.open

local _M = { _VERSION = "0.1.0" }

ffi.cdef[[
typedef struct stb_s stb_t;
stb_t *stb_new(const char *alg, const char *tokens, size_t tokens_len,
    const char *pem, size_t pem_len, const char *jwks, size_t jwks_len,
    char *err, size_t err_len);
void stb_free(stb_t *b);
double stb_run(stb_t *b, int kind, long iters);
int stb_bare_verify(stb_t *b);
void stb_use_cpu_clock(int on);
double stb_now_ns(void);
]]

_M.KIND = {
    evp = 0, evp_copy = 1, evp_naive = 2, evp_pkey = 3, stjwt = 4,
    stjwt_parse = 5, libjwt = 6, pem_parse = 7,
}

_M.ALG = { rs256 = "RS256", es256 = "ES256", eddsa = "EdDSA" }

local lib


function _M.read(path)
    local f, err = io_open(path, "rb")
    if not f then
        error("stbench: " .. err, 2)
    end
    local s = f:read("*a")
    f:close()
    return s
end


function _M.lines(path)
    local t = {}
    for line in _M.read(path):gmatch("[^\n]+") do
        t[#t + 1] = line
    end
    return t
end


function _M.load(build_dir)
    if not lib then
        lib = ffi.load(build_dir .. "/bench/libstbench.so")
        _M.lib = lib
        _M.now = lib.stb_now_ns
    end
    return lib
end


-- A C bench case for one algorithm ("rs256", "es256", "eddsa") from the
-- fixtures gen.js wrote into data_dir.
function _M.new(name, data_dir)
    local tokens = _M.read(data_dir .. "/" .. name .. ".tokens")
    local pem = _M.read(data_dir .. "/" .. name .. ".pub.pem")
    local jwks = _M.read(data_dir .. "/" .. name .. ".jwks.json")
    local err = ffi_new("char[256]")
    local b = lib.stb_new(_M.ALG[name], tokens, #tokens, pem, #pem, jwks,
                          #jwks, err, 256)
    if b == nil then
        error("stbench: " .. name .. ": " .. ffi_string(err), 2)
    end
    return ffi.gc(b, lib.stb_free)
end


function _M.run(b, kind, iters)
    return lib.stb_run(b, _M.KIND[kind], iters)
end


return _M
