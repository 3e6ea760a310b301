--- JWS/JWT verification over libstjwt.
--
-- Keysets and verifiers are C handles owned by Lua objects (freed by the
-- GC or by `:close()`).  A verifier is meant to live for the whole worker;
-- each call reuses one result struct and one error pointer, so the hot path
-- allocates only the Lua result table.
--
-- Failures at run time come back as `nil, reason` where reason is a stable
-- code: `stjwt_rc_name()` of the C status ("bad_signature", "unknown_kid",
-- ...).  Misuse (bad options, wrong argument types) raises.
-- @module resty.supertokens.jwt

local ffi = require "ffi"
local cjson = require("cjson.safe").new()
local stffi = require "resty.supertokens.ffi"

local C = stffi.C
local bit = require "bit"
local band = bit.band
local bor = bit.bor
local lshift = bit.lshift
local rshift = bit.rshift
local error = error
local ffi_gc = ffi.gc
local ffi_new = ffi.new
local ffi_string = ffi.string
local math_floor = math.floor
local next = next
local pairs = pairs
local rawget = rawget
local setmetatable = setmetatable
local tonumber = tonumber
local tostring = tostring
local type = type
local json_decode = cjson.decode
local json_encode = cjson.encode
local json_null = cjson.null
local table_new = require "table.new"


local _M = { _VERSION = "0.1.0" }


local RC_OK = stffi.RC.OK
local RC_MAX = stffi.RC.RC_MAX
local JSON_STRING = stffi.JSON.STRING
local JSON_NUMBER = stffi.JSON.NUMBER
local JSON_NULL = stffi.JSON.NULL
local JSON_TRUE = stffi.JSON.TRUE
local JSON_FALSE = stffi.JSON.FALSE
local ALG_NONE = stffi.ALG.NONE

local DEFAULT_MAX_TOKEN_LEN = 16384
local DEFAULT_MAX_DEPTH = 16
local UINT32_MAX = 4294967295

-- Reason codes are built once so the hot path never converts C strings.
local RC_NAMES = {}
for rc = 0, RC_MAX - 1 do
    RC_NAMES[rc] = ffi_string(C.stjwt_rc_name(rc))
end

local TYPE_NAMES = {
    [stffi.JSON.ABSENT] = "absent",
    [stffi.JSON.NULL] = "null",
    [stffi.JSON.FALSE] = "false",
    [stffi.JSON.TRUE] = "true",
    [stffi.JSON.NUMBER] = "number",
    [stffi.JSON.STRING] = "string",
    [stffi.JSON.ARRAY] = "array",
    [stffi.JSON.OBJECT] = "object",
}

-- One of each per worker: results are copied into Lua values before the
-- next call can overwrite them.
local result = ffi_new("stjwt_result_t")
local errmsg = ffi_new("const char *[1]")
local rc_out = ffi_new("int[1]")
local ks_info = ffi_new("stjwt_keyset_info_t")
local detached = ffi_new("stjwt_detached_t")
local members_out = ffi_new("const stjwt_member_t *[1]")

-- Claim names the C scan reports by number (stjwt_member_t.name_id), so
-- that a member with one of them needs no string of its own: those of
-- SuperTokens access tokens v2 to v5 and its claim validators.  The first
-- ten are the slots payload_table() reserves.
local CLAIM_NAMES = {
    "sub", "exp", "iat", "tId", "rsub", "sessionHandle", "refreshTokenHash1",
    "iss", "parentRefreshTokenHash1", "antiCsrfToken",
    "userId", "userData", "expiryTime", "timeCreated", "nbf", "aud", "jti",
    "st-ev", "st-role", "st-perm", "st-mfa",
}
local claim_names = ffi_new("const char *[?]", #CLAIM_NAMES, CLAIM_NAMES)
local claim_lens = ffi_new("size_t[?]", #CLAIM_NAMES)
for i, name in ipairs(CLAIM_NAMES) do
    claim_lens[i - 1] = #name
end

-- JOSE algorithm name -> stjwt_alg_e, for verify_detached().
local ALG_IDS = {}
for name, id in pairs(stffi.ALG) do
    if id > stffi.ALG.NONE and id < stffi.ALG.MAX then
        ALG_IDS[name == "EDDSA" and "EdDSA" or name] = id
    end
end


local function rc_name(rc)
    return RC_NAMES[rc] or "internal"
end


-- The result table keeps eight keys, so its hash part has eight nodes
-- (a ninth key doubles it: +192 bytes on every verification, and the
-- bytes are what a busy worker pays for, in allocation and collection).
-- The keys filled in later (payload_json, payload) must be reserved in
-- the constructor with a value that is not a constant: LuaJIT's template
-- drops a constant nil key when it grows, and the first store after the
-- constructor then rehashes the table (a new node array, every key placed
-- again) on every token.
-- The rest is packed into the number `types` and read through RESULT_MT:
-- the JSON type of each header field and time claim (3 bits apiece), the
-- alg id, the legacy version and "typ is the string JWT".  A typ of any
-- other string, nbf and stt are stored only when the token has them.
local NO_VALUE = nil   -- a nil the parser cannot fold (see above)

local TYPE_SHIFT = {
    kid_type = 0, typ_type = 3, version_type = 6, exp_type = 9,
    nbf_type = 12, iat_type = 15, stt_type = 18,
}
local ALG_ID_SHIFT = 21         -- 4 bits: stjwt_alg_e
assert(stffi.ALG.MAX <= 16, "supertokens.jwt: alg ids outgrew 4 bits")
local LEGACY_SHIFT = 25         -- 2 bits: 0, 1 or 2
local TYP_JWT = 0x8000000       -- bit 27

-- Values go through a local before `return`: after `return band(...)`
-- (a tail call to a builtin) a side trace of this function cannot return
-- to its caller's frame ("NYI: return to lower frame at bit.band"); the
-- exit of `res.legacy` was left to the interpreter after a few aborts,
-- and with it the rest of the caller, on every new token.
local RESULT_MT = {
    __index = function(res, key)
        local types = rawget(res, "types")
        local shift = TYPE_SHIFT[key]
        if shift then
            return TYPE_NAMES[band(rshift(types, shift), 7)]
        elseif key == "alg_id" then
            local id = band(rshift(types, ALG_ID_SHIFT), 15)
            return id
        elseif key == "legacy" then
            local legacy = band(rshift(types, LEGACY_SHIFT), 3)
            return legacy
        elseif key == "typ" and band(types, TYP_JWT) ~= 0 then
            return "JWT"
        end
        return nil
    end,
}


-- Header fields and time claims; never the token or the signature.
-- Kept as one flat function: small helpers called several times per
-- token would become hot on their own and start traces of their own.
local function result_table(r)
    local alg, kid, typ, version
    if r.alg ~= nil then
        alg = ffi_string(r.alg, r.alg_len)
    end
    local kid_type, typ_type, version_type = r.kid_type, r.typ_type,
                                             r.version_type
    if kid_type == JSON_STRING and r.kid ~= nil then
        kid = ffi_string(r.kid, r.kid_len)
    end
    local typ_jwt = 0
    if typ_type == JSON_STRING and r.typ ~= nil then
        typ = ffi_string(r.typ, r.typ_len)
        if typ == "JWT" then
            typ, typ_jwt = nil, TYP_JWT
        end
    end
    if version_type == JSON_STRING and r.version ~= nil then
        version = ffi_string(r.version, r.version_len)
    end
    local exp_type, nbf_type, iat_type, stt_type = r.exp_type, r.nbf_type,
                                                   r.iat_type, r.stt_type

    local res = setmetatable({
        alg = alg,
        kid = kid,
        version = version,
        exp = exp_type == JSON_NUMBER and r.exp or nil,
        iat = iat_type == JSON_NUMBER and r.iat or nil,
        types = bor(kid_type, lshift(typ_type, 3), lshift(version_type, 6),
                    lshift(exp_type, 9), lshift(nbf_type, 12),
                    lshift(iat_type, 15), lshift(stt_type, 18),
                    lshift(r.alg_id, ALG_ID_SHIFT),
                    lshift(r.legacy, LEGACY_SHIFT), typ_jwt),
        payload_json = NO_VALUE,
        payload = NO_VALUE,
    }, RESULT_MT)
    if typ ~= nil then
        res.typ = typ
    end
    if nbf_type == JSON_NUMBER then
        res.nbf = r.nbf
    end
    if stt_type == JSON_NUMBER then
        res.stt = r.stt
    end
    return res
end


local function check_opts(opts, known, fn)
    if opts == nil then
        return {}
    end
    if type(opts) ~= "table" then
        error("supertokens.jwt: " .. fn .. ": opts must be a table", 3)
    end
    for k in pairs(opts) do
        if not known[k] then
            error("supertokens.jwt: " .. fn .. ": unknown option '"
                  .. tostring(k) .. "'", 3)
        end
    end
    return opts
end


local function check_bool(opts, name, fn, default)
    local v = opts[name]
    if v == nil then
        return default
    end
    if type(v) ~= "boolean" then
        error("supertokens.jwt: " .. fn .. ": " .. name
              .. " must be a boolean", 3)
    end
    return v
end


local function check_uint(opts, name, fn, default)
    local v = opts[name]
    if v == nil then
        return default
    end
    if type(v) ~= "number" or v ~= math_floor(v) or v < 1
       or v > UINT32_MAX
    then
        error("supertokens.jwt: " .. fn .. ": " .. name
              .. " must be a positive integer", 3)
    end
    return v
end


------------------------------------------------------------------------
-- Keysets
------------------------------------------------------------------------

local keyset_mt = {}
keyset_mt.__index = keyset_mt

local KEYSET_OPTS = { strict = true, allow_hmac = true }


--- Build a keyset from a JWKS (or a single JWK).
-- @param jwks JWKS JSON text, or a decoded table (re-encoded with cjson)
-- @param opts optional table: `strict` (any bad key fails the whole set,
--   default false), `allow_hmac` (accept kty "oct" secrets, default
--   false; a set mixing secrets with public keys is then refused with
--   "key_mismatch")
-- @return keyset object, or nil on failure
-- @return nil, or the reason code on failure ("no_keys", "bad_json",
--   "weak_key", ...)
-- @return info table `{ n_keys, n_skipped, first_skip_reason,
--   first_skip_index }`; `first_skip_index` is the 1-based position in
--   "keys" of the first key left out (nil when none was)
function _M.keyset(jwks, opts)
    opts = check_opts(opts, KEYSET_OPTS, "keyset")

    if type(jwks) == "table" then
        local encoded, err = json_encode(jwks)
        if not encoded then
            error("supertokens.jwt: keyset: cannot encode jwks: "
                  .. tostring(err), 2)
        end
        jwks = encoded
    elseif type(jwks) ~= "string" then
        error("supertokens.jwt: keyset: jwks must be a string or a table",
              2)
    end

    local flags = 0
    if check_bool(opts, "strict", "keyset", false) then
        flags = bor(flags, stffi.KEYSET_STRICT)
    end
    if check_bool(opts, "allow_hmac", "keyset", false) then
        flags = bor(flags, stffi.KEYSET_ALLOW_HMAC)
    end

    ks_info.n_keys = 0
    ks_info.n_skipped = 0
    ks_info.first_skip_rc = 0
    ks_info.first_skip_index = -1
    rc_out[0] = 0
    errmsg[0] = nil

    local handle = C.stjwt_keyset_new(jwks, #jwks, flags, ks_info, rc_out,
                                      errmsg)

    local info = {
        n_keys = ks_info.n_keys,
        n_skipped = ks_info.n_skipped,
        first_skip_reason = nil,
        first_skip_index = nil,
    }
    if ks_info.first_skip_index >= 0 then
        info.first_skip_reason = rc_name(ks_info.first_skip_rc)
        info.first_skip_index = ks_info.first_skip_index + 1
    end

    if handle == nil then
        local rc = rc_out[0]
        return nil, rc ~= RC_OK and rc_name(rc) or "internal", info
    end

    ffi_gc(handle, C.stjwt_keyset_free)

    return setmetatable({ handle = handle }, keyset_mt), nil, info
end


--- A keyset with at least one usable key from JWKS text (or a table),
-- for key sources that must not fail on bad input: nil and a reason
-- code ("bad_jwks", "no_keys", or keyset()'s) instead of raising.
-- @param jwks JWKS JSON text, or a decoded table
-- @return keyset, or nil
-- @return nil, or the reason code
function _M.usable_keyset(jwks)
    local ok, ks, err = pcall(_M.keyset, jwks)
    if not ok then
        return nil, "bad_jwks"
    end
    if not ks then
        return nil, err or "no_keys"
    end
    if ks:count() < 1 then
        return nil, "no_keys"
    end
    return ks
end


local function keyset_handle(ks, fn)
    local h = type(ks) == "table" and ks.handle
    if not h then
        error("supertokens.jwt: " .. fn
              .. ": expected an open keyset from jwt.keyset()", 3)
    end
    return h
end


--- Number of usable keys (0 once closed).
-- @return integer
function keyset_mt:count()
    local h = self.handle
    if not h then
        return 0
    end
    return tonumber(C.stjwt_keyset_count(h))
end


--- Number of usable keys a token of this algorithm without a string kid
-- could be checked with (jose's candidates: key type, JWK "alg", curve).
-- @param alg JOSE algorithm name ("RS256", "EdDSA", ...); 0 for one this
--   library does not know
-- @return integer
function keyset_mt:count_fitting(alg)
    if type(alg) ~= "string" then
        error("supertokens.jwt: count_fitting: alg must be a string", 2)
    end
    local h = self.handle
    local id = ALG_IDS[alg]
    if not h or not id then
        return 0
    end
    return tonumber(C.stjwt_keyset_count_fitting(h, id))
end


--- Whether the set holds a usable key with this kid.
-- @param kid string
-- @return boolean
function keyset_mt:has_kid(kid)
    if type(kid) ~= "string" then
        error("supertokens.jwt: has_kid: kid must be a string", 2)
    end
    local h = self.handle
    if not h then
        return false
    end
    return C.stjwt_keyset_has_kid(h, kid, #kid) == 1
end


--- Free the C keyset now instead of at GC time.  Idempotent; verifying
-- against a closed keyset raises.
function keyset_mt:close()
    local h = self.handle
    if h then
        self.handle = nil
        C.stjwt_keyset_free(ffi_gc(h, nil))
    end
end


------------------------------------------------------------------------
-- Verifiers
------------------------------------------------------------------------

local verifier_mt = {}
verifier_mt.__index = verifier_mt

local VERIFIER_OPTS = {
    algs = true, max_token_len = true, max_depth = true,
    opaque_payload = true, legacy = true,
}


local function alg_mask(algs)
    if algs == nil then
        return lshift(1, stffi.ALG.RS256)
    end
    if type(algs) ~= "table" or next(algs) == nil then
        error("supertokens.jwt: verifier: algs must be a non-empty list "
              .. "of algorithm names", 3)
    end

    local mask = 0
    for i, name in pairs(algs) do
        if type(i) ~= "number" or type(name) ~= "string" then
            error("supertokens.jwt: verifier: algs must be a list of "
                  .. "strings", 3)
        end
        local id = C.stjwt_alg_from_name(name, #name)
        if id == ALG_NONE then
            error("supertokens.jwt: verifier: unsupported alg '" .. name
                  .. "'", 3)
        end
        mask = bor(mask, lshift(1, id))
    end
    return mask
end


--- Create a verifier (one per worker; it owns C scratch buffers).
-- @param opts optional table:
--   `algs` list of allowed algorithm names (default `{ "RS256" }`),
--   `max_token_len` bytes (default 16384),
--   `max_depth` JSON nesting (default 16),
--   `opaque_payload` plain JWS: payload need not be JSON and is not
--   decoded (default false),
--   `legacy` recognise SuperTokens v1/v2 headers (default true)
-- @return verifier object, or nil, error message when out of memory
-- @raise on invalid options
function _M.verifier(opts)
    opts = check_opts(opts, VERIFIER_OPTS, "verifier")

    local opaque = check_bool(opts, "opaque_payload", "verifier", false)
    local legacy = check_bool(opts, "legacy", "verifier", true)

    local copts = ffi_new("stjwt_options_t")
    copts.alg_mask = alg_mask(opts.algs)
    copts.max_token_len = check_uint(opts, "max_token_len", "verifier",
                                     DEFAULT_MAX_TOKEN_LEN)
    copts.max_depth = check_uint(opts, "max_depth", "verifier",
                                 DEFAULT_MAX_DEPTH)
    local flags = 0
    if opaque then
        flags = bor(flags, stffi.OPT_OPAQUE_PAYLOAD)
    end
    if not legacy then
        flags = bor(flags, stffi.OPT_NO_LEGACY)
    end
    copts.flags = flags

    rc_out[0] = 0
    errmsg[0] = nil
    local handle = C.stjwt_verifier_new(copts, rc_out, errmsg)
    if handle == nil then
        local msg = errmsg[0] ~= nil and ffi_string(errmsg[0])
                    or rc_name(rc_out[0])
        if rc_out[0] == stffi.RC.E_INVALID_ARG then
            error("supertokens.jwt: verifier: " .. msg, 2)
        end
        return nil, "supertokens.jwt: verifier: " .. msg
    end
    ffi_gc(handle, C.stjwt_verifier_free)
    if C.stjwt_verifier_set_names(handle, claim_names, claim_lens,
                                  #CLAIM_NAMES) ~= RC_OK then
        error("supertokens.jwt: verifier: CLAIM_NAMES refused", 2)
    end

    return setmetatable({ handle = handle, opaque = opaque }, verifier_mt)
end


local function verifier_handle(v, fn)
    local h = type(v) == "table" and v.handle
    if not h then
        error("supertokens.jwt: " .. fn
              .. ": expected an open verifier (use v:" .. fn .. "(...))", 3)
    end
    return h
end


local function check_token(token, fn)
    if type(token) ~= "string" then
        error("supertokens.jwt: " .. fn .. ": token must be a string", 3)
    end
end


-- The payload object the verifier just scanned, as cjson.decode() would
-- give it, built from the C scan's members: plain strings and integers
-- (nearly every claim) need no second JSON parse; cjson decodes the rest
-- (objects, arrays, escaped strings, other numbers) member by member.
-- nil when cjson refuses a member (C validated the JSON: only a cjson
-- limit can get here).
local function payload_table(vh)
    local n = tonumber(C.stjwt_payload_members(vh, members_out))
    local m = members_out[0]
    local t
    if n > 8 and n <= 16 then
        -- The claims of a SuperTokens access token, reserved (sixteen
        -- nodes, as table.new(0, 9..16) would have): storing them finds
        -- their node instead of placing a new key.
        t = { sub = NO_VALUE, exp = NO_VALUE, iat = NO_VALUE,
              tId = NO_VALUE, rsub = NO_VALUE, sessionHandle = NO_VALUE,
              refreshTokenHash1 = NO_VALUE, iss = NO_VALUE,
              parentRefreshTokenHash1 = NO_VALUE, antiCsrfToken = NO_VALUE }
    else
        t = table_new(0, n)
    end
    for i = 0, n - 1 do
        local e = m[i]
        local ty = e.type
        local val
        if e.plain ~= 0 then
            if ty == JSON_STRING then
                val = ffi_string(e.value, e.value_len)
            else
                val = e.number
            end
        elseif ty == JSON_NULL then
            val = json_null
        elseif ty == JSON_TRUE then
            val = true
        elseif ty == JSON_FALSE then
            val = false
        else
            val = json_decode(ffi_string(e.value, e.value_len))
            if val == nil then
                return nil
            end
        end
        local id = e.name_id
        if id ~= 0 then
            t[CLAIM_NAMES[id]] = val
        else
            t[ffi_string(e.name, e.name_len)] = val
        end
    end
    return t
end


-- Successful parse/verify: header fields, claims and the decoded payload.
local function success(self, vh)
    local res = result_table(result)
    if result.payload ~= nil then
        res.payload_json = ffi_string(result.payload, result.payload_len)
        if not self.opaque then
            local payload = payload_table(vh)
            if payload == nil then
                return nil, "bad_json", res
            end
            res.payload = payload
        end
    end
    return res
end


--- Decode and check a token without verifying its signature.
-- @param token compact JWS string
-- @return result table (see module docs), or nil on failure
-- @return nil, or the reason code
-- @return on failure, the header fields parsed so far (for logging)
function verifier_mt:parse(token)
    local vh = verifier_handle(self, "parse")
    check_token(token, "parse")
    local rc = C.stjwt_parse(vh, token, #token, result, errmsg)
    if rc ~= RC_OK then
        return nil, rc_name(rc), result_table(result)
    end
    return success(self, vh)
end


--- Parse a token and verify its signature against a keyset.  Time claims
-- are returned, not judged.
-- @param ks keyset from `jwt.keyset()`
-- @param token compact JWS string
-- @return result table: `alg, alg_id, kid, typ, version, legacy,
--   kid_type, typ_type, version_type, exp, nbf, iat, stt, exp_type,
--   nbf_type, iat_type, stt_type, payload_json, payload` (payload is the
--   table cjson.decode() would give, cjson.null kept; nil for opaque
--   payloads).  The `*_type` fields ("absent", "string", "number", ...),
--   `alg_id`, `legacy` and a `typ` of "JWT" are read through the table's
--   metatable from one packed `types` number, and `nbf`, `stt` and any
--   other `typ` are stored only when present, so `pairs()` lists `types`
--   instead of them
-- @return nil, or the reason code
-- @return on failure, the header fields parsed so far (for logging)
function verifier_mt:verify(ks, token)
    local vh = verifier_handle(self, "verify")
    local h = keyset_handle(ks, "verify")
    check_token(token, "verify")
    local rc = C.stjwt_verify(vh, h, token, #token, result, errmsg)
    if rc ~= RC_OK then
        return nil, rc_name(rc), result_table(result)
    end
    return success(self, vh)
end


--- Verify only the signature; no Lua-side result or payload decode.
-- @param ks keyset from `jwt.keyset()`
-- @param token compact JWS string
-- @return true, or nil on failure
-- @return nil, or the reason code
function verifier_mt:check_signature(ks, token)
    local vh = verifier_handle(self, "check_signature")
    local h = keyset_handle(ks, "check_signature")
    check_token(token, "check_signature")
    local rc = C.stjwt_verify(vh, h, token, #token, result, errmsg)
    if rc ~= RC_OK then
        return nil, rc_name(rc)
    end
    return true
end


--- `check_signature()` for the token this verifier's last `parse()`
-- parsed, without parsing it again (any other token is parsed in full:
-- C compares the bytes with a copy the parse kept).
-- @return true, or nil on failure
-- @return nil, or the reason code
function verifier_mt:check_parsed_signature(ks, token)
    local vh = verifier_handle(self, "check_parsed_signature")
    local h = keyset_handle(ks, "check_parsed_signature")
    check_token(token, "check_parsed_signature")
    local rc = C.stjwt_verify_parsed(vh, h, token, #token, errmsg)
    if rc ~= RC_OK then
        return nil, rc_name(rc)
    end
    return true
end


--- Verify a signature over caller-supplied bytes: JWS with detached
-- content (RFC 7515 Appendix F) and primitive test vectors.  Key
-- selection and the signature check are those of `verify()`.
-- @param ks keyset from `jwt.keyset()`
-- @param alg algorithm name ("RS256", "EdDSA", ...); it must be allowed
--   by this verifier
-- @param msg the exact signing input (bytes)
-- @param sig the raw signature (bytes, not base64url)
-- @param kid optional kid string; without it the set must hold exactly
--   one key that fits `alg`
-- @return true, or nil on failure
-- @return nil, or the reason code
function verifier_mt:verify_detached(ks, alg, msg, sig, kid)
    local vh = verifier_handle(self, "verify_detached")
    local h = keyset_handle(ks, "verify_detached")
    if type(alg) ~= "string" or type(msg) ~= "string"
       or type(sig) ~= "string" or (kid ~= nil and type(kid) ~= "string")
    then
        error("supertokens.jwt: verify_detached: expected alg, msg and sig "
              .. "strings and an optional kid string", 2)
    end

    detached.alg = ALG_IDS[alg] or ALG_NONE
    detached.kid = kid
    detached.kid_len = kid and #kid or 0
    detached.msg = msg
    detached.msg_len = #msg
    detached.sig = sig
    detached.sig_len = #sig
    local rc = C.stjwt_verify_detached(vh, h, detached, errmsg)
    detached.kid, detached.msg, detached.sig = nil, nil, nil
    if rc ~= RC_OK then
        return nil, rc_name(rc)
    end
    return true
end


--- Free the C verifier now instead of at GC time.  Idempotent.
function verifier_mt:close()
    local h = self.handle
    if h then
        self.handle = nil
        C.stjwt_verifier_free(ffi_gc(h, nil))
    end
end


-- Scratch for base64(); grown, never shrunk, so a steady state allocates
-- nothing per call.
local b64_buf, b64_cap = nil, 0

--- Standard base64 with '=' padding (`stjwt_b64_encode()`), the encoding
-- of SuperTokens' front-token header (node's `toString("base64")`).
-- @tparam string s bytes
-- @treturn string
function _M.base64(s)
    if type(s) ~= "string" then
        error("supertokens.jwt: base64: expects a string", 2)
    end
    local need = math_floor((#s + 2) / 3) * 4
    if need > b64_cap then
        b64_cap = need < 1024 and 1024 or need
        b64_buf = ffi_new("char[?]", b64_cap)
    end
    local n = C.stjwt_b64_encode(s, #s, b64_buf)
    return ffi_string(b64_buf, n)
end


--- The reason code for a C status (`stjwt_rc_name()`), e.g. for tests.
-- @param rc integer status
-- @return string
function _M.reason(rc)
    return rc_name(rc)
end


return _M
