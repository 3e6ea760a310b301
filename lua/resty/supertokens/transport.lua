--- Where the access token comes from: the `authorization: Bearer` header
-- and the `sAccessToken` cookie, read exactly as supertokens-node 24 reads
-- them through express (`cookie` 0.7.2 parse, latin1 header strings).
-- @module resty.supertokens.transport

local jsonjs = require "resty.supertokens.jsonjs"

local byte = string.byte
local char = string.char
local find = string.find
local gsub = string.gsub
local sub = string.sub
local tonumber = tonumber


local _M = { _VERSION = "0.1.0" }

_M.ACCESS_COOKIE = "sAccessToken"
_M.LEGACY_COOKIE = "sIdRefreshToken"
local BEARER = "Bearer "


------------------------------------------------------------------------
-- decodeURIComponent

local function utf8_valid(s)
    -- strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF), like the
    -- decoder decodeURIComponent uses; it throws URIError otherwise
    local i, n = 1, #s
    while i <= n do
        local c = byte(s, i)
        if c < 0x80 then
            i = i + 1
        else
            local len, min
            if c >= 0xc2 and c <= 0xdf then
                len, min = 2, 0x80
            elseif c >= 0xe0 and c <= 0xef then
                len, min = 3, 0x800
            elseif c >= 0xf0 and c <= 0xf4 then
                len, min = 4, 0x10000
            else
                return false
            end
            local cp = c % (2 ^ (7 - len))
            for k = 1, len - 1 do
                local cc = byte(s, i + k)
                if not cc or cc < 0x80 or cc > 0xbf then
                    return false
                end
                cp = cp * 64 + cc % 64
            end
            if cp < min or cp > 0x10ffff or cp >= 0xd800 and cp <= 0xdfff then
                return false
            end
            i = i + len
        end
    end
    return true
end


local function hexbyte(h)
    return char(tonumber(h, 16))
end


-- module-level so decode_uri_component() creates no closure (JIT-able)
local run_ok

local function decode_run(run)
    local bytes = gsub(run, "%%(%x%x)", hexbyte)
    if not utf8_valid(bytes) then
        run_ok = false
    end
    return bytes
end


--- decodeURIComponent(s) -> string | nil (URIError).  Input bytes are
-- taken as latin1 characters (node's header decoding); only %XX runs that
-- form valid UTF-8 are accepted.
local function decode_uri_component(s)
    if not find(s, "%", 1, true) then
        return s
    end
    -- every '%' must start a %XX escape
    local i = 1
    while true do
        local p = find(s, "%", i, true)
        if not p then
            break
        end
        if not find(sub(s, p + 1, p + 2), "^%x%x$") then
            return nil
        end
        i = p + 3
    end
    -- Each maximal run of escapes must decode to valid UTF-8 on its own
    -- (an escape can't complete a sequence started by a literal char).
    run_ok = true
    local out = gsub(s, "%%%x%x[%%%x]*", decode_run)
    if not run_ok then
        return nil
    end
    return out
end
_M.decode_uri_component = decode_uri_component


------------------------------------------------------------------------
-- Cookie header

local function is_sp(c)
    return c == 0x20 or c == 0x09
end


--- `cookie.parse(header)[name]` (first occurrence, trimmed, unquoted,
-- URL-decoded when it contains '%').  nil when absent.
local function cookie_value(str, name)
    if str == nil then
        return nil
    end
    local len = #str
    if len < 2 or not find(str, name, 1, true) then
        return nil
    end
    local index = 1
    while index <= len do
        local eq = find(str, "=", index, true)
        if not eq then
            break
        end
        local semi = find(str, ";", index, true)
        if not semi then
            semi = len + 1
        elseif eq > semi then
            -- backtrack to the ';' right before '='
            local last = index - 1
            local p = find(str, ";", index, true)
            while p and p < eq do
                last = p
                p = find(str, ";", p + 1, true)
            end
            index = last + 1
            goto continue
        end
        do
            local ks, ke = index, eq - 1
            while ks < eq and is_sp(byte(str, ks)) do
                ks = ks + 1
            end
            while ke >= ks and is_sp(byte(str, ke)) do
                ke = ke - 1
            end
            if sub(str, ks, ke) == name then
                local vs, ve = eq + 1, semi - 1
                while vs < semi and is_sp(byte(str, vs)) do
                    vs = vs + 1
                end
                while ve >= vs and is_sp(byte(str, ve)) do
                    ve = ve - 1
                end
                if byte(str, vs) == 0x22 and byte(str, ve) == 0x22 then
                    vs = vs + 1
                    ve = ve - 1
                end
                local val = sub(str, vs, ve)
                return decode_uri_component(val) or val
            end
        end
        index = semi + 1
        ::continue::
    end
    return nil
end
_M.cookie_value = cookie_value


-- String.prototype.trim() over latin1-decoded header text:
-- TAB LF VT FF CR SPACE and NBSP (0xA0).
local function is_ws_latin1(c)
    return c == 0x20 or c >= 0x09 and c <= 0x0d or c == 0xa0
end


local function js_trim_latin1(s)
    local i, j = 1, #s
    while i <= j and is_ws_latin1(byte(s, i)) do
        i = i + 1
    end
    while j >= i and is_ws_latin1(byte(s, j)) do
        j = j - 1
    end
    if i == 1 and j == #s then
        return s
    end
    return sub(s, i, j)
end
_M.js_trim_latin1 = js_trim_latin1


--- Number of cookies called `name` in the raw header
-- (getCookieNamesFromRequestHeaderAllowingDuplicates); 1 stands for "at
-- most one" when the name occurs once in the header.
function _M.cookie_count(str, name)
    local first = str and find(str, name, 1, true)
    if not first then
        return 0
    end
    if not find(str, name, first + 1, true)
       and not find(str, "%", 1, true)
    then
        return 1        -- the name occurs once: at most one such cookie
    end
    local count = 0
    for pair in (str .. ";"):gmatch("([^;]*);") do
        local key = js_trim_latin1(pair)
        local e = find(key, "=", 1, true)
        if e then
            key = sub(key, 1, e - 1)
        end
        if (decode_uri_component(key) or key) == name then
            count = count + 1
        end
    end
    return count
end


--- The token of `authorization: Bearer <token>` (case-sensitive prefix,
-- remainder trimmed), or nil.
function _M.bearer(value)
    if value == nil or sub(value, 1, 7) ~= BEARER then
        return nil
    end
    return js_trim_latin1(sub(value, 8))
end


local function js_truthy(v)
    return v ~= nil and v ~= false and v ~= 0 and v ~= "" and v == v
           and v ~= jsonjs.null
end


--- The access token cookie value as the express adapter's JSONCookies()
-- leaves it: nil when absent; "j:<JSON>" whose JSON is truthy becomes
-- the parsed value: a string is the token (j:"<token>"), anything else
-- false (not a token).
function _M.access_cookie(raw_cookie)
    local v = cookie_value(raw_cookie, "sAccessToken")
    if v and sub(v, 1, 2) == "j:" then
        local parsed = jsonjs.parse(sub(v, 3))
        if js_truthy(parsed) then
            if type(parsed) == "string" then
                return parsed
            end
            return false
        end
    end
    return v
end


--- Whether a legacy `sIdRefreshToken` cookie is present (any value).
function _M.has_legacy_cookie(raw_cookie)
    return cookie_value(raw_cookie, "sIdRefreshToken") ~= nil
end


return _M
