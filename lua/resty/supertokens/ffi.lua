--- The one FFI mirror of csrc/stjwt.h.
--
-- Declares the header's types and functions (no other module may call
-- `ffi.cdef` for `stjwt_` symbols), loads libstjwt from the directories
-- of `package.cpath` and names the enum and flag constants the FFI cannot
-- see.  Keep it 1:1 with the header: `make lint` (tools/check-cdef.lua)
-- compares functions, struct layouts, enum values and flag values.
--
-- Fields: `C` (the clib), `path` (the loaded file), `RC`, `ALG`, `JSON`
-- (enums), `VERSION_NUM`, `OPT_*`, `KEYSET_*`, `NAMES_MAX`, `NAME_LEN_MAX`
-- (#defines).
-- @module resty.supertokens.ffi

local ffi = require "ffi"

local error = error
local io_open = io.open
local package = package
local string_gmatch = string.gmatch
local string_match = string.match
local table_concat = table.concat


local _M = { _VERSION = "0.1.0" }


ffi.cdef[[
typedef struct stjwt_keyset_s   stjwt_keyset_t;
typedef struct stjwt_verifier_s stjwt_verifier_t;

typedef struct stjwt_options_s {
    uint32_t alg_mask;
    uint32_t flags;
    uint32_t max_token_len;
    uint32_t max_depth;
} stjwt_options_t;

typedef struct stjwt_keyset_info_s {
    uint32_t n_keys;
    uint32_t n_skipped;
    int32_t  first_skip_rc;
    int32_t  first_skip_index;
} stjwt_keyset_info_t;

typedef struct stjwt_result_s {
    const char *payload;
    size_t      payload_len;
    const char *alg;
    size_t      alg_len;
    const char *kid;
    size_t      kid_len;
    const char *typ;
    size_t      typ_len;
    const char *version;
    size_t      version_len;
    double      exp;
    double      nbf;
    double      iat;
    double      stt;
    int32_t     alg_id;
    uint8_t     kid_type;
    uint8_t     typ_type;
    uint8_t     version_type;
    uint8_t     exp_type;
    uint8_t     nbf_type;
    uint8_t     iat_type;
    uint8_t     stt_type;
    uint8_t     legacy;
} stjwt_result_t;

typedef struct stjwt_member_s {
    const char *name;
    size_t      name_len;
    const char *value;
    size_t      value_len;
    double      number;
    uint8_t     type;
    uint8_t     plain;
    uint8_t     name_id;
} stjwt_member_t;

int stjwt_version(void);
double stjwt_now_ms(void);
const char *stjwt_rc_name(int rc);
int stjwt_alg_from_name(const char *name, size_t len);
stjwt_keyset_t *stjwt_keyset_new(const char *json, size_t len,
    uint32_t flags, stjwt_keyset_info_t *info, int *rc, const char **errmsg);
void stjwt_keyset_free(stjwt_keyset_t *ks);
size_t stjwt_keyset_count(const stjwt_keyset_t *ks);
size_t stjwt_keyset_count_fitting(const stjwt_keyset_t *ks, int alg);
int stjwt_keyset_has_kid(const stjwt_keyset_t *ks,
    const char *kid, size_t len);
stjwt_verifier_t *stjwt_verifier_new(const stjwt_options_t *opts,
    int *rc, const char **errmsg);
void stjwt_verifier_free(stjwt_verifier_t *v);
int stjwt_parse(stjwt_verifier_t *v, const char *token,
    size_t len, stjwt_result_t *out, const char **errmsg);
int stjwt_verify(stjwt_verifier_t *v, const stjwt_keyset_t *ks,
    const char *token, size_t len, stjwt_result_t *out,
    const char **errmsg);
int stjwt_verify_parsed(stjwt_verifier_t *v, const stjwt_keyset_t *ks,
    const char *token, size_t len, const char **errmsg);
size_t stjwt_payload_members(stjwt_verifier_t *v,
    const stjwt_member_t **out);
int stjwt_verifier_set_names(stjwt_verifier_t *v,
    const char *const *names, const size_t *lens, size_t n);
int stjwt_b64url_decode(const char *src, size_t len,
    unsigned char *dst, size_t *dlen);
size_t stjwt_b64_encode(const unsigned char *src, size_t len,
    char *dst);
int stjwt_json_check(const char *json, size_t len,
    uint32_t max_depth, int require_object, size_t *err_pos);
int stjwt_json_js_plain(const char *json, size_t len);

typedef struct stjwt_detached_s {
    int32_t              alg;
    const char          *kid;
    size_t               kid_len;
    const unsigned char *msg;
    size_t               msg_len;
    const unsigned char *sig;
    size_t               sig_len;
} stjwt_detached_t;

int stjwt_verify_detached(stjwt_verifier_t *v,
    const stjwt_keyset_t *ks, const stjwt_detached_t *d,
    const char **errmsg);
]]


-- stjwt_rc_e, in header order.
_M.RC = {
    OK = 0,
    E_MALFORMED = 1,
    E_BAD_BASE64 = 2,
    E_BAD_JSON = 3,
    E_DUPLICATE_MEMBER = 4,
    E_TOO_LARGE = 5,
    E_TOO_DEEP = 6,
    E_CRIT = 7,
    E_BAD_HEADER = 8,
    E_ALG_NOT_ALLOWED = 9,
    E_UNKNOWN_KID = 10,
    E_KEY_MISMATCH = 11,
    E_BAD_SIGNATURE = 12,
    E_BAD_CLAIM = 13,
    E_BAD_KEY = 14,
    E_WEAK_KEY = 15,
    E_DUPLICATE_KID = 16,
    E_KEY_USE = 17,
    E_NO_KEYS = 18,
    E_INVALID_ARG = 19,
    E_NOMEM = 20,
    E_INTERNAL = 21,
    RC_MAX = 22,
}

-- stjwt_alg_e; the value is also the bit position in alg_mask.
_M.ALG = {
    NONE = 0,
    RS256 = 1,
    RS384 = 2,
    RS512 = 3,
    PS256 = 4,
    PS384 = 5,
    PS512 = 6,
    ES256 = 7,
    ES384 = 8,
    ES512 = 9,
    EDDSA = 10,
    HS256 = 11,
    HS384 = 12,
    HS512 = 13,
    MAX = 14,
}

-- stjwt_json_type_e.
_M.JSON = {
    ABSENT = 0,
    NULL = 1,
    FALSE = 2,
    TRUE = 3,
    NUMBER = 4,
    STRING = 5,
    ARRAY = 6,
    OBJECT = 7,
}

-- #defines the FFI cannot see.
_M.VERSION_NUM = 101
_M.OPT_OPAQUE_PAYLOAD = 0x1
_M.OPT_NO_LEGACY = 0x2
_M.KEYSET_STRICT = 0x1
_M.KEYSET_ALLOW_HMAC = 0x2
_M.NAMES_MAX = 32
_M.NAME_LEN_MAX = 64


local function load_shared_lib(so_name)
    local tried = {}
    local seen = {}

    for entry in string_gmatch(package.cpath, "[^;]+") do
        local dir = string_match(entry, "^(.*/)")
        if dir then
            local fpath = dir .. so_name
            if not seen[fpath] then
                seen[fpath] = true
                local f = io_open(fpath)
                if f then
                    f:close()
                    return ffi.load(fpath), fpath
                end
                tried[#tried + 1] = fpath
            end
        end
    end

    return nil, tried
end


local SO_NAME = ffi.os == "OSX" and "libstjwt.dylib" or "libstjwt.so"

local clib, where = load_shared_lib(SO_NAME)
if not clib then
    error("supertokens.ffi: could not load " .. SO_NAME
          .. " from the following paths:\n  "
          .. table_concat(where, "\n  "), 2)
end

-- A library from another build would read our structs with the wrong
-- layout; refuse it before any call that passes one.
local lib_version = clib.stjwt_version()
if lib_version ~= _M.VERSION_NUM then
    error("supertokens.ffi: " .. where .. " is version " .. lib_version
          .. ", expected " .. _M.VERSION_NUM, 2)
end

_M.C = clib
_M.path = where


return _M
