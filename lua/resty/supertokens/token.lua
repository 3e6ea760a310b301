--- SuperTokens access tokens on top of the binding's parse result:
-- version detection (jwt.ts parseJWTWithoutSignatureVerification),
-- structure rules (accessToken.ts validateAccessTokenStructure), the
-- values the SDK extracts (getInfoFromAccessToken) and the time checks
-- (jose jwtVerify claim checks + the SDK's expiry test).
-- @module resty.supertokens.token

local cjson = require "cjson.safe"

local byte = string.byte
local find = string.find
local floor = math.floor
local huge = math.huge
local sub = string.sub
local tonumber = tonumber
local type = type
local NULL = cjson.null


local _M = { _VERSION = "0.1.0" }


------------------------------------------------------------------------
-- JavaScript string helpers over UTF-8

-- Length of a JS WhiteSpace/LineTerminator code point starting at byte i
-- (String.prototype.trim, parseInt), else nil.
local function ws_len(s, i)
    local c = byte(s, i)
    if c == nil then
        return nil
    end
    if c == 0x20 or c >= 0x09 and c <= 0x0d then
        return 1
    end
    if c == 0xc2 then
        return byte(s, i + 1) == 0xa0 and 2 or nil
    end
    if c == 0xe1 then
        return byte(s, i + 1) == 0x9a and byte(s, i + 2) == 0x80 and 3 or nil
    end
    if c == 0xe2 then
        local c2, c3 = byte(s, i + 1, i + 2)
        if c2 == 0x80 and c3 and (c3 >= 0x80 and c3 <= 0x8a or c3 == 0xa8
                                  or c3 == 0xa9 or c3 == 0xaf)
           or c2 == 0x81 and c3 == 0x9f
        then
            return 3
        end
        return nil
    end
    if c == 0xe3 then
        return byte(s, i + 1) == 0x80 and byte(s, i + 2) == 0x80 and 3 or nil
    end
    if c == 0xef then
        return byte(s, i + 1) == 0xbb and byte(s, i + 2) == 0xbf and 3 or nil
    end
    return nil
end


-- The index of the first byte at or after i that does not start JS
-- whitespace.
local function skip_ws(s, i)
    while true do
        local l = ws_len(s, i)
        if not l then
            return i
        end
        i = i + l
    end
end


local WS_LAST = {
    [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1, [0x20] = 1,
    [0xa0] = 2, [0x80] = 3, [0x81] = 3, [0x82] = 3, [0x83] = 3, [0x84] = 3,
    [0x85] = 3, [0x86] = 3, [0x87] = 3, [0x88] = 3, [0x89] = 3, [0x8a] = 3,
    [0xa8] = 3, [0xa9] = 3, [0xaf] = 3, [0x9f] = 3, [0xbf] = 3,
}


--- String.prototype.trim() of a UTF-8 string.
local function js_trim(s)
    local n = #s
    if n == 0 then
        return s
    end
    local first, last = byte(s, 1), byte(s, n)
    if not (first == 0x20 or first >= 0x09 and first <= 0x0d
            or first >= 0xc2 and (first == 0xc2 or first == 0xe1
                                  or first == 0xe2 or first == 0xe3
                                  or first == 0xef))
       and not WS_LAST[last]
    then
        return s
    end
    local i = skip_ws(s, 1)
    local j = n
    while j >= i do
        local l = WS_LAST[byte(s, j)]
        if not l or j - l + 1 < i or ws_len(s, j - l + 1) ~= l then
            break
        end
        j = j - l
    end
    return sub(s, i, j)
end
_M.js_trim = js_trim


--- Number.parseInt(s) (no radix): a number or nil for NaN.
local function parse_int(s)
    local n = #s
    if n == 1 then
        local c = byte(s)
        if c >= 0x30 and c <= 0x39 then
            return c - 0x30     -- the usual "5"
        end
    end
    local i = skip_ws(s, 1)
    local sign = 1
    local c = byte(s, i)
    if c == 0x2d then
        sign = -1
        i = i + 1
    elseif c == 0x2b then
        i = i + 1
    end
    local digits
    if find(s, "^0[xX]", i) then
        digits = s:match("^%x+", i + 2)
        if not digits then
            return nil
        end
        return sign * tonumber(digits, 16)
    end
    digits = s:match("^%d+", i)
    if not digits then
        return nil
    end
    return sign * tonumber(digits)
end
_M.parse_int = parse_int


local function is_integer(x)
    return x ~= nil and x == x and x ~= huge and x ~= -huge and x == floor(x)
end


-- sanitizeStringInput(): trimmed string, or nil for non-strings
local function str(v)
    if type(v) ~= "string" then
        return nil
    end
    return js_trim(v)
end


------------------------------------------------------------------------

--- Version and kid from the header (parseJWTWithoutSignatureVerification).
-- Returns version, kid (nil for v2 or a non-string kid); or nil, why.
local function detect(res)
    if res.legacy == 1 or res.legacy == 2 then
        return 2, nil
    end
    local version
    local vt = res.version_type
    if vt == "absent" or vt == nil then
        version = 3
    elseif vt ~= "string" then
        return nil, "header_version_type"
    else
        version = parse_int(res.version)
    end
    if res.typ_type ~= "string" or res.typ ~= "JWT" then
        return nil, "header_typ"
    end
    if not is_integer(version) or version < 3 then
        return nil, "header_version"
    end
    if res.kid_type == "absent" or res.kid_type == nil then
        return nil, "header_kid"
    end
    return version, res.kid
end
_M.detect = detect


--- Version + structure + extraction.  `res` is the binding's successful
-- parse result.  Returns info, or nil and why the SDK would ignore it.
-- A cached token's res comes back on every request that repeats it, with
-- the info remember() kept in it; a new token's res gets none (stored
-- into the binding's full 8-node result table, the answer rehashed it on
-- every new token: 1.9 % of req/s with a new token per request, 40
-- interleaved rounds).  Both are shared from then on: read-only.
local inspect

function _M.inspect(res)
    local info = res.inspected
    if info then
        return info
    end
    return inspect(res)
end


--- Keep inspect()'s answer `info` in the parse result `res` it came
-- from, for the requests that bring the same res again (the
-- verified-token cache calls this when it keeps res).
function _M.remember(res, info)
    res.inspected = info
end

inspect = function(res)
    local version, kid = detect(res)
    if not version then
        return nil, kid
    end

    local p = res.payload
    if type(p) ~= "table" then
        return nil, "payload_type"
    end
    local stt = p.stt
    if stt ~= nil and stt ~= 0 then
        return nil, "stt"
    end
    if version >= 3 then
        if type(p.sub) ~= "string" or type(p.exp) ~= "number"
           or type(p.iat) ~= "number" or type(p.sessionHandle) ~= "string"
           or type(p.refreshTokenHash1) ~= "string"
           or version >= 5 and type(p.rsub) ~= "string"
        then
            return nil, "structure"
        end
    elseif type(p.sessionHandle) ~= "string" or type(p.userId) ~= "string"
           or type(p.refreshTokenHash1) ~= "string" or p.userData == nil
           or type(p.expiryTime) ~= "number"
           or type(p.timeCreated) ~= "number"
    then
        return nil, "structure"
    end

    local v2 = version == 2
    local user_id = str(v2 and p.userId or p.sub)
    local tenant_id = "public"      -- v3 ignores a custom tId claim
    if version >= 4 then
        tenant_id = str(p.tId)
    end
    local info = {
        version = version,
        kid = kid,
        kid_type = res.kid_type,
        alg = res.alg,      -- for log lines; judged by the signature check
        user_id = user_id,
        recipe_user_id = str(p.rsub) or user_id,
        handle = str(p.sessionHandle),
        refresh_token_hash1 = str(p.refreshTokenHash1),
        parent_refresh_token_hash1 = str(p.parentRefreshTokenHash1),
        anti_csrf = str(p.antiCsrfToken),
        tenant_id = tenant_id,
        expiry_ms = v2 and p.expiryTime or p.exp * 1000,
        time_created_ms = v2 and p.timeCreated or p.iat * 1000,
        payload = p,
        payload_json = res.payload_json,
        -- decide.lua's answer for this token on its plain path: info lives
        -- as long as the token's cache entry, so a repeated token reuses it
        plain_out = false,
    }
    return info
end


--- jose's claim checks (iat/nbf/exp types, nbf, exp with now in whole
-- seconds) and the SDK's `expiryTime < Date.now()`.  Returns nil when the
-- token is in its validity window, else a reason.
function _M.check_time(info, now_ms)
    local p = info.payload
    local now_s = floor(now_ms / 1000)
    local iat, nbf, exp = p.iat, p.nbf, p.exp
    if iat ~= nil and type(iat) ~= "number" then
        return "bad_time_claim"
    end
    if nbf ~= nil then
        if type(nbf) ~= "number" then
            return "bad_time_claim"
        end
        if nbf > now_s then
            return "not_before"
        end
    end
    if exp ~= nil then
        if type(exp) ~= "number" then
            return "bad_time_claim"
        end
        if exp <= now_s then
            return "expired"
        end
    end
    return nil
end


--- The SDK's own expiry test (after the anti-csrf claim check).
function _M.expired(info, now_ms)
    return info.expiry_ms < now_ms
end


--- The v2 "maybe signed by a newer key" fallback condition
-- (sessionFunctions.getSession), on the unverified payload.
function _M.v2_core_fallback(info, now_ms, refresh_interval_sec)
    local p = info.payload
    local created, expiry = p.timeCreated, p.expiryTime
    if type(created) ~= "number" or type(expiry) ~= "number" then
        return false
    end
    if expiry < now_ms then
        return false
    end
    return created > now_ms - refresh_interval_sec * 1000
end


_M.NULL = NULL

return _M
