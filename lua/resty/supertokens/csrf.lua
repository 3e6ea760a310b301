--- Anti-CSRF as getSessionFromRequest / sessionFunctions.getSession do it.
-- Every failure is TRY_REFRESH_TOKEN (401 "try refresh token").
-- @module resty.supertokens.csrf

local byte = string.byte
local char = string.char
local find = string.find
local floor = math.floor
local gsub = string.gsub

local _M = { _VERSION = "0.1.0" }


--- Whether the check applies: route override, else any method but GET;
-- never for header transport or without a token.
function _M.should_check(route, method_lower, transfer, has_token)
    local check = route.anti_csrf_check
    if check == nil then
        check = method_lower ~= "get"
    end
    if transfer == "header" or not has_token then
        return false
    end
    return check
end


--- VIA_CUSTOM_HEADER: any `rid` value (even empty) passes.  Returns the
-- new doAntiCsrfCheck and, on failure, a reason.
function _M.custom_header(mode, do_check, header)
    if do_check and mode == "VIA_CUSTOM_HEADER" then
        if header("rid") == nil then
            return false, "anti_csrf_rid_missing"
        end
        return false
    end
    return do_check
end


--- The header's text as node holds it, in UTF-8: node reads header bytes
-- as latin1 (a character per byte) and writes the characters out as
-- UTF-8 (the core call's JSON, the anti-csrf echo), so byte 0xE9 is
-- "\195\169".  ASCII (every real anti-CSRF token) is returned as it is.
local function latin1_to_utf8(s)
    if s == nil or not find(s, "[\128-\255]") then
        return s
    end
    return (gsub(s, "[\128-\255]", function(c)
        local b = byte(c)
        return char(0xC0 + floor(b / 64), 0x80 + b % 64)
    end))
end
_M.latin1_to_utf8 = latin1_to_utf8


-- Whether header bytes, read as node reads a header (latin1: one
-- character per byte), spell the same characters as a claim in UTF-8.
local function latin1_equals_utf8(latin1, utf8)
    return latin1_to_utf8(latin1) == utf8
end
_M.latin1_equals_utf8 = latin1_equals_utf8


--- VIA_TOKEN: the request's `anti-csrf` header must equal the token's
-- (trimmed) antiCsrfToken.  Returns nil when fine, else a reason.
-- node compares the header as latin1 text with the claim as UTF-8 text:
-- the same bytes match only when they are ASCII.
function _M.via_token(request_value, token_value)
    if request_value == nil then
        return "anti_csrf_header_missing"
    end
    if token_value == nil
       or not latin1_equals_utf8(request_value, token_value)
    then
        return "anti_csrf_mismatch"
    end
    return nil
end


return _M
