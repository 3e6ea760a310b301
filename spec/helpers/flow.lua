-- Shared helpers for the decision-core specs (spec/1[0-6]-*_spec.lua):
-- reference data copied into spec/fixtures/flow/ (see its README), configs, fake
-- requests and a fake env whose core answers are scripted per test.
-- Token parsing is always the real binding (resty.supertokens.jwt).
local cjson = require "cjson.safe"
local config = require "resty.supertokens.config"

local _M = {}

local read = require("spec.helpers.files").must_read
_M.read = read


local FIX = "spec/fixtures/flow/"

local function json_file(name)
    return assert(cjson.decode(read(FIX .. name)))
end
_M.FIX = FIX

_M.wire = json_file("wire-constants.json")
_M.vectors = json_file("sdk-test-suite-vectors.json")
_M.observed = json_file("observed.json")
_M.sdk_norm = json_file("sdk-normalisation.json")
_M.sdk_claims = json_file("sdk-claims.json")
_M.PSL = FIX .. "psl-subset.dat"


--- Oracle configs (observe.js env) as our config tables.
local ORACLE_ENV = {
    default = {},
    viaCustomHeader = { session = { anti_csrf = "VIA_CUSTOM_HEADER" } },
    viaToken = { session = { anti_csrf = "VIA_TOKEN" } },
    optional = {},
    headerOnly = { session = { get_token_transfer_method = "header" } },
    cookieOnly = { session = { get_token_transfer_method = "cookie" } },
    checkDatabase = {},
    staticKey = { session = { use_dynamic_access_token_signing_key = false } },
    crossSite = { app_info = { api_domain = "https://api.other.example",
                               website_domain = "https://app.example.com" } },
    coreDown = { connection_uri = "http://127.0.0.1:3599" },
}
_M.ORACLE_ENV = ORACLE_ENV

local ORACLE_ROUTE = {
    optional = { session_required = false },
    checkDatabase = { check_database = true },
}
_M.ORACLE_ROUTE = ORACLE_ROUTE


local function merge(into, from)
    for k, v in pairs(from or {}) do
        if type(v) == "table" and type(into[k]) == "table" then
            merge(into[k], v)
        else
            into[k] = v
        end
    end
    return into
end


--- The default oracle config (server.js defaults) with overrides.
function _M.user_config(overrides)
    return merge({
        connection_uri = "http://127.0.0.1:3567",
        public_suffix_list = _M.PSL,
        app_info = { api_domain = "http://localhost:3001",
                     website_domain = "http://localhost:3000",
                     api_base_path = "/auth" },
    }, overrides)
end


function _M.conf(overrides)
    local c, err = config.new(_M.user_config(overrides))
    assert(c, err)
    return c
end


function _M.oracle_conf(name)
    return _M.conf(ORACLE_ENV[name])
end


--- A request view.  headers: { name = value } (any case).
function _M.req(method, headers, cookie, path)
    local h = {}
    for k, v in pairs(headers or {}) do
        h[k:lower()] = v
    end
    if cookie == cjson.null then
        cookie = nil
    end
    return {
        method = method or "GET",
        path = path or "/api/user",
        cookie = cookie,
        header = function(name)
            return h[name]
        end,
    }
end


--- Request of an observed case.
function _M.case_req(case)
    local r = case.request
    return _M.req(r.method, r.headers, r.cookies, r.path)
end


--- A fake env.  opts:
--   now_ms        (default: observed run, 2026-11-27T09:28:50Z)
--   sig           function(token, info) -> true|nil, reason (default ok)
--   core          { ["POST /recipe/session/verify"] = body | function } ...
--   no_core       true: env.core absent
-- env.calls records { method, path, query, body, rid } in order.
function _M.env(opts)
    opts = opts or {}
    local calls = {}
    local now = opts.now_ms or 1795771730000
    local env = {
        calls = calls,
        now_ms = function()
            return now
        end,
        check_signature = opts.sig or function()
            return true
        end,
    }
    if not opts.no_core then
        env.core = {
            request = function(method, path, query, body, rid)
                calls[#calls + 1] = { method = method, path = path,
                                      query = query, body = body, rid = rid }
                local answer = (opts.core or {})[method .. " " .. path]
                if type(answer) == "function" then
                    return answer(body, query, #calls)
                end
                if answer == nil then
                    return nil, "connection refused"
                end
                return answer
            end,
        }
    end
    return env
end


local B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

--- base64url without padding (a test-side encoder, independent of ours).
function _M.b64url(s)
    local out = {}
    for i = 1, #s, 3 do
        local a, b, c = s:byte(i, i + 2)
        local n = a * 65536 + (b or 0) * 256 + (c or 0)
        local chars = 2 + (b and 1 or 0) + (c and 1 or 0)
        for k = 1, chars do
            local shift = 18 - 6 * (k - 1)
            local idx = math.floor(n / 2 ^ shift) % 64
            out[#out + 1] = B64URL:sub(idx + 1, idx + 1)
        end
    end
    return table.concat(out)
end


--- Decode std base64 / base64url (test-side).
function _M.unb64(s)
    s = s:gsub("[=%s]", ""):gsub("%+", "-"):gsub("/", "_")
    local out, bits, nbits = {}, 0, 0
    for i = 1, #s do
        local v = B64URL:find(s:sub(i, i), 1, true) - 1
        bits = bits * 64 + v
        nbits = nbits + 6
        if nbits >= 8 then
            nbits = nbits - 8
            local byte = math.floor(bits / 2 ^ nbits)
            out[#out + 1] = string.char(byte)
            bits = bits - byte * 2 ^ nbits
        end
    end
    return table.concat(out)
end


--- std base64 with padding (test-side).
function _M.b64std(s)
    local u = _M.b64url(s):gsub("-", "+"):gsub("_", "/")
    return u .. ("="):rep((4 - #u % 4) % 4)
end


--- A v3+ token from raw JSON texts (unsigned: signatures are faked).
function _M.jwt(header_json, payload_json)
    return _M.b64url(header_json) .. "." .. _M.b64url(payload_json) .. "."
           .. _M.b64url("signature")
end


_M.V5_HEADER = '{"alg":"RS256","typ":"JWT","kid":"d-1700000000000",'
               .. '"version":"5"}'

--- A v5 payload JSON in core order; fields override/extend (string JSON
-- fragments appended verbatim when `extra` is given).
function _M.v5_payload(f)
    f = f or {}
    local function q(v)
        if v == nil then
            return "null"
        end
        return cjson.encode(v)
    end
    local parts = {
        '"sub":' .. q(f.sub or "user-1"),
        '"exp":' .. (f.exp or "4102444800"),
        '"iat":' .. (f.iat or "1700000000"),
        '"tId":' .. q(f.tId or "public"),
        '"rsub":' .. q(f.rsub or f.sub or "user-1"),
        '"sessionHandle":' .. q(f.sessionHandle or "handle-1"),
        '"refreshTokenHash1":' .. q(f.rth or "rth"),
        '"parentRefreshTokenHash1":' .. (f.prth and q(f.prth) or "null"),
        '"antiCsrfToken":' .. (f.anti_csrf and q(f.anti_csrf) or "null"),
        '"iss":"http://localhost:3001/auth"',
    }
    local s = "{" .. table.concat(parts, ",")
    if f.extra then
        s = s .. "," .. f.extra
    end
    return s .. "}"
end


function _M.v5(f, header)
    return _M.jwt(header or _M.V5_HEADER, _M.v5_payload(f))
end


_M.V2_HEADER = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsInZlcnNpb24iOiIyIn0="

function _M.v2(payload_json)
    return _M.V2_HEADER .. "." .. _M.b64std(payload_json) .. "."
           .. _M.b64std("signature-bytes")
end


--- Header list -> { lname = { values... } }
function _M.by_name(headers)
    local t = {}
    for _, h in ipairs(headers or {}) do
        local k = h[1]:lower()
        t[k] = t[k] or {}
        table.insert(t[k], h[2])
    end
    return t
end


--- Header list with lower-cased names, for comparing with wire constants.
function _M.lower_list(headers)
    local out = {}
    for i, h in ipairs(headers or {}) do
        out[i] = { h[1]:lower(), h[2] }
    end
    return out
end


--- Observed Set-Cookie/front-token/... headers of a case, in our list form
-- (without the CORS and content-type headers express/cors add).
local SKIP = { ["access-control-allow-origin"] = true, vary = true,
               ["access-control-allow-credentials"] = true,
               ["content-type"] = true }
function _M.observed_sdk_headers(case)
    local out = {}
    for name, v in pairs(case.headers) do
        if not SKIP[name] then
            out[name] = type(v) == "table" and v or { v }
        end
    end
    return out
end


function _M.decode_json(s)
    return cjson.decode(s)
end

_M.null = cjson.null

return _M
