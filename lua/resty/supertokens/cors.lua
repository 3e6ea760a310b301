--- CORS the way SuperTokens documents it, reproducing the answers of the
-- express `cors` package (2.8) configured as
-- `cors({ origin, allowedHeaders: ["content-type", ...getAllCORSHeaders()],
--         credentials: true })`.
-- One configured origin behaves like cors' fixed-string origin (always
-- sent); several behave like its array form (the request's Origin is
-- reflected when listed).  "*" is refused: it cannot carry credentials.
-- @module resty.supertokens.cors

local concat = table.concat
local ipairs = ipairs
local tostring = tostring
local type = type


local _M = { _VERSION = "0.1.0" }

-- supertokens.getAllCORSHeaders(): Set(rid, fdi-version) + session's list
_M.SDK_HEADERS = { "rid", "fdi-version", "anti-csrf", "authorization",
                   "st-auth-mode" }
_M.METHODS = "GET,HEAD,PUT,PATCH,POST,DELETE"


-- RFC 9110 token: what a header name may be
local function is_header_name(h)
    return type(h) == "string" and h:match("^[%w!#$%%&'*+.^_`|~-]+$") ~= nil
end
_M.is_header_name = is_header_name


--- Precompute header values; called by config.new().
function _M.prepare(conf)
    local c = conf.cors
    local origins = c.origins or { conf.website_domain }
    if #origins == 0 then
        return nil, "cors.origins: must list at least one origin"
    end
    local set = {}
    for i, o in ipairs(origins) do
        if type(o) ~= "string" or o == "" then
            return nil, "cors.origins[" .. i .. "]: must be a string"
        end
        if o == "*" then
            return nil, "cors.origins: '*' cannot be combined with "
                        .. "credentials; list the website origins"
        end
        -- what a browser sends in Origin: no path, no trailing "/"
        if not o:match("^%a[%w+.-]*://[^/?#%s]+$") then
            return nil, "cors.origins[" .. i .. "]: '" .. o .. "' is not "
                        .. "an origin (scheme://host[:port], no path)"
        end
        set[o] = true
    end
    local allow = { "content-type" }
    for _, h in ipairs(_M.SDK_HEADERS) do
        allow[#allow + 1] = h
    end
    for i, h in ipairs(c.allow_headers) do
        if not is_header_name(h) then
            return nil, "cors.allow_headers[" .. i .. "]: must be a header "
                        .. "name"
        end
        allow[#allow + 1] = h
    end
    for i, h in ipairs(c.expose_headers) do
        if not is_header_name(h) then
            return nil, "cors.expose_headers[" .. i .. "]: must be a "
                        .. "header name"
        end
    end
    c.origins = origins
    c.origin_set = set
    c.fixed_origin = #origins == 1 and origins[1] or nil
    c.allow_headers_value = concat(allow, ",")
    c.expose_headers_value = #c.expose_headers > 0
                             and concat(c.expose_headers, ",") or nil
    c.max_age_value = c.max_age and tostring(c.max_age) or nil
    return true
end


local function origin_headers(c, req, list)
    local acao = c.fixed_origin
    if not acao then
        local o = req.header("origin")
        if o and c.origin_set[o] then
            acao = o
        end
    end
    if acao then
        list[#list + 1] = { "Access-Control-Allow-Origin", acao }
    end
    list[#list + 1] = { "Vary", "Origin" }
    list[#list + 1] = { "Access-Control-Allow-Credentials", "true" }
    return list
end


--- The answer to an OPTIONS request (cors answers every OPTIONS request
-- itself, with 204), or nil when CORS is disabled or this is not OPTIONS.
function _M.preflight(conf, req)
    local c = conf.cors
    local method = req.method
    if not c.enabled
       or method ~= "OPTIONS" and (#method ~= 7 or method:upper() ~= "OPTIONS")
    then
        return nil
    end
    local list = origin_headers(c, req, {})
    list[#list + 1] = { "Access-Control-Allow-Methods", _M.METHODS }
    list[#list + 1] = { "Access-Control-Allow-Headers",
                        c.allow_headers_value }
    if c.max_age_value then
        list[#list + 1] = { "Access-Control-Max-Age", c.max_age_value }
    end
    if c.expose_headers_value then
        list[#list + 1] = { "Access-Control-Expose-Headers",
                            c.expose_headers_value }
    end
    list[#list + 1] = { "Content-Length", "0" }
    return {
        pass = false, status = 204, body = "", headers = list,
        class = "preflight", reason = "cors_preflight",
    }
end


--- Headers for every other response (upstream ones and our 401/403).
-- Merge "Vary" and "Access-Control-Expose-Headers" with existing values
-- (outcome.merge_vary / outcome.merge_expose); set the others.
function _M.headers(conf, req)
    local c = conf.cors
    if not c.enabled then
        return {}
    end
    local list = origin_headers(c, req, {})
    if c.expose_headers_value then
        list[#list + 1] = { "Access-Control-Expose-Headers",
                            c.expose_headers_value }
    end
    return list
end


return _M
