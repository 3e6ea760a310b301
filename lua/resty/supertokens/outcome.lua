--- The one place that builds answers: status codes, exact bodies, the
-- token-clearing header set, relayed tokens and the front token, byte for
-- byte what supertokens-node 24 (express adapter, `cookie` 0.7.2) sends.
-- @module resty.supertokens.outcome

local jsonjs = require "resty.supertokens.jsonjs"
local jwt = require "resty.supertokens.jwt"
local normalise = require "resty.supertokens.normalise"

local concat = table.concat
local find = string.find
local floor = math.floor
local format = string.format
local os_date = os.date
local sub = string.sub
local type = type


local _M = { _VERSION = "0.1.0" }

local CT = "application/json; charset=utf-8"
_M.CONTENT_TYPE = CT

local EXPOSE = "Access-Control-Expose-Headers"
local ONE_YEAR_MS = 31536000000
local EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"

local BODY_UNAUTHORISED = '{"message":"unauthorised"}'
local BODY_TRY_REFRESH = '{"message":"try refresh token"}'
local BODY_INTERNAL = '{"message":"internal error"}'
_M.BODY_UNAUTHORISED = BODY_UNAUTHORISED
_M.BODY_TRY_REFRESH = BODY_TRY_REFRESH
_M.BODY_INTERNAL = BODY_INTERNAL

local SAME_SITE = { lax = "Lax", strict = "Strict", none = "None" }


------------------------------------------------------------------------
-- small helpers

-- Standard base64 with '=' padding (Buffer.toString("base64")), from
-- libstjwt, which also decodes the tokens.
local b64 = jwt.base64
_M.base64 = b64


local DAYS = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" }
local MONTHS = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
                 "Sep", "Oct", "Nov", "Dec" }


--- Date.prototype.toUTCString() of epoch milliseconds (locale-free).
local function http_date(ms)
    local t = os_date("!*t", floor(ms / 1000))
    return format("%s, %02d %s %04d %02d:%02d:%02d GMT", DAYS[t.wday],
                  t.day, MONTHS[t.month], t.year, t.hour, t.min, t.sec)
end
_M.http_date = http_date


--- node's setHeader(name, value, allowDuplicateKey=true): append with
-- ", " unless the existing value already contains it (substring test).
function _M.merge_expose(existing, value)
    if existing == nil or existing == "" then
        return value
    end
    if find(existing, value, 1, true) then
        return existing
    end
    return existing .. ", " .. value
end


--- vary(res, field) of the `vary` package, for one field name.
function _M.merge_vary(existing, field)
    if existing == nil or existing == "" then
        return field
    end
    if existing == "*" then
        return existing
    end
    local lf = field:lower()
    for v in existing:gmatch("[^,%s]+") do
        if v:lower() == lf or v == "*" then
            return existing
        end
    end
    return existing .. ", " .. field
end


-- Ordered response headers with node's overwrite/append semantics.
local function headers_new()
    return { list = {}, n = 0, pos = {} }
end


local function h_set(h, name, value)
    local p = h.pos[name]
    if p then
        h.list[p][2] = value
        return
    end
    local n = h.n + 1
    h.n = n
    h.list[n] = { name, value }
    h.pos[name] = n
end


local function h_expose(h, value)
    local p = h.pos[EXPOSE]
    if p then
        h.list[p][2] = _M.merge_expose(h.list[p][2], value)
        return
    end
    h_set(h, EXPOSE, value)
end


local function h_cookie(h, value)
    local n = h.n + 1
    h.n = n
    h.list[n] = { "Set-Cookie", value }
end


------------------------------------------------------------------------
-- cookie attributes (validated like `cookie` 0.7.2 serialize())

local function valid_cookie_domain(d)
    -- ^([.]?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)([.][a-z0-9](...)?)*$/i
    local s = d
    if sub(s, 1, 1) == "." then
        s = sub(s, 2)
    end
    if s == "" then
        return false
    end
    for label in (s .. "."):gmatch("([^.]*)%.") do
        if not find(label, "^[%w]$") and not find(label, "^[%w][%w%-]*[%w]$")
           or #label > 63
        then
            return false
        end
    end
    return true
end


local function valid_cookie_path(p)
    return not find(p, "[^\32-\58\61-\126]")
end


--- Precompute the attribute strings and the clearing header set.
-- Called by config.new(); returns true or nil, err.
function _M.prepare(conf)
    local s = conf.session
    local domain = s.cookie_domain
    if domain and domain ~= "" and not valid_cookie_domain(domain) then
        return nil, "session.cookie_domain: '" .. domain .. "' is not a "
                    .. "valid cookie Domain (the SDK fails to set cookies)"
    end
    if not valid_cookie_path(s.access_token_path)
       or not valid_cookie_path(conf.refresh_path)
    then
        return nil, "session.access_token_path/app_info.api_base_path: "
                    .. "not a valid cookie Path"
    end
    local older = s.older_cookie_domain
    if older and older ~= "" and not valid_cookie_domain(older) then
        return nil, "session.older_cookie_domain: '" .. older .. "' is not "
                    .. "a valid cookie Domain"
    end
    local dom = (domain and domain ~= "") and ("; Domain=" .. domain) or ""
    local suffix = "; HttpOnly" .. (s.cookie_secure and "; Secure" or "")
                   .. "; SameSite=" .. SAME_SITE[s.cookie_same_site]
    local out = {
        access_attrs = dom .. "; Path=" .. s.access_token_path,
        refresh_attrs = dom .. "; Path=" .. conf.refresh_path,
        suffix = suffix,
        expired_status = s.session_expired_status_code,
        claim_status = s.invalid_claim_status_code,
    }
    out.clear_access_cookie = "sAccessToken=" .. out.access_attrs
                              .. "; Expires=" .. EPOCH .. suffix
    out.clear_refresh_cookie = "sRefreshToken=" .. out.refresh_attrs
                               .. "; Expires=" .. EPOCH .. suffix
    conf.out = out
    return true
end


------------------------------------------------------------------------
-- answers

local function answer(status, body, list, n, class, reason)
    n = n + 1
    list[n] = { "Content-Type", CT }
    return {
        pass = false, status = status, body = body, headers = list,
        class = class, reason = reason,
    }
end


--- 401 {"message":"try refresh token"}; never touches tokens.
function _M.try_refresh(conf, reason)
    return answer(conf.out.expired_status, BODY_TRY_REFRESH, {}, 0,
                  "try_refresh", reason)
end


--- clearSessionFromAllTokenTransferMethods(): cookie then header.
local function clear_all(conf)
    local h = headers_new()
    local o = conf.out
    -- clearSession(cookie)
    h_cookie(h, o.clear_access_cookie)
    h_cookie(h, o.clear_refresh_cookie)
    h_set(h, "front-token", "remove")
    h_expose(h, "front-token")
    -- clearSession(header)
    h_set(h, "st-access-token", "")
    h_expose(h, "st-access-token")
    h_set(h, "st-refresh-token", "")
    h_expose(h, "st-refresh-token")
    h_set(h, "front-token", "remove")
    h_expose(h, "front-token")
    return h
end


--- 401 {"message":"unauthorised"}, with the clearing set when `clear`.
function _M.unauthorised(conf, clear, reason)
    if not clear then
        return answer(conf.out.expired_status, BODY_UNAUTHORISED, {}, 0,
                      "unauthorised", reason)
    end
    local h = clear_all(conf)
    local out = answer(conf.out.expired_status, BODY_UNAUTHORISED, h.list,
                       h.n, "unauthorised", reason)
    out.clear = true
    return out
end


--- 403 {"message":"invalid claim","claimValidationErrors":[...]}
-- @param errors_json the JSON text of the claimValidationErrors array
function _M.invalid_claims(conf, errors_json, detail)
    local out = answer(conf.out.claim_status,
                       '{"message":"invalid claim","claimValidationErrors":'
                       .. errors_json .. "}", {}, 0, "invalid_claim",
                       "claims")
    out.detail = detail
    return out
end


--- 500 for failures node surfaces as a plain Error (core unreachable...).
function _M.internal_error(reason, detail)
    local out = answer(500, BODY_INTERNAL, {}, 0, "error", reason)
    out.detail = detail
    return out
end


--- Let the request through.
function _M.pass(class, reason, session, headers)
    return {
        pass = true, class = class, reason = reason, session = session,
        headers = headers,
    }
end


--- buildFrontToken(uid, ate, up): std base64 of {"uid","ate","up"}.
-- @param up_json JSON.stringify()ed payload text (nil: omitted)
function _M.front_token(uid, ate, up_json)
    local parts = { "{" }
    local n = 1
    local sep = ""
    if type(uid) == "string" then
        n = n + 1
        parts[n] = '"uid":' .. jsonjs.quote(uid)
        sep = ","
    end
    local ate_s = type(ate) == "number" and jsonjs.number_tostring(ate)
    if type(ate) == "number" then
        n = n + 1
        parts[n] = sep .. '"ate":' .. (ate_s or "null")
        sep = ","
    end
    if up_json then
        n = n + 1
        parts[n] = sep .. '"up":' .. up_json
    end
    n = n + 1
    parts[n] = "}"
    return b64(concat(parts, "", 1, n))
end


--- Headers for a (re)issued access token, in the request's transport:
-- setAccessTokenInResponse() then the anti-csrf echo of
-- Session.attachToRequestResponse().
-- @param transfer "cookie" | "header"
-- @param anti_csrf the request's anti-csrf header value, or nil
function _M.relay(conf, transfer, token, front, anti_csrf, now_ms)
    local h = headers_new()
    h_set(h, "front-token", front)
    h_expose(h, "front-token")
    local o = conf.out
    local expose_cookie_token =
        conf.session.expose_access_token_to_frontend_in_cookie_based_auth
    if transfer == "cookie" then
        h_cookie(h, "sAccessToken=" .. normalise.encode_uri_component(token)
                    .. o.access_attrs .. "; Expires="
                    .. http_date(now_ms + ONE_YEAR_MS) .. o.suffix)
    end
    if transfer == "header" or expose_cookie_token then
        h_set(h, "st-access-token", token)
        h_expose(h, "st-access-token")
    end
    if anti_csrf ~= nil then
        h_set(h, "anti-csrf", anti_csrf)
        h_expose(h, "anti-csrf")
    end
    return h.list
end


_M.ONE_YEAR_MS = ONE_YEAR_MS
_M.EPOCH = EPOCH

return _M
