--- Configuration: validation, the SDK's defaults and normalisation, and
-- the strings the hot path needs, computed once.
--
-- `config.new(user_table)` returns a conf table or `nil, err` where err
-- names the offending field ("supertokens.config: session.anti_csrf: must
-- be one of NONE, VIA_TOKEN, VIA_CUSTOM_HEADER").  Names are the SDK's in
-- snake_case; unknown keys are rejected.  cjson.null (Kong's "unset")
-- counts as absent.
-- @module resty.supertokens.config

local cjson = require "cjson.safe"
local normalise = require "resty.supertokens.normalise"
local psl = require "resty.supertokens.psl"
local outcome = require "resty.supertokens.outcome"
local cors = require "resty.supertokens.cors"
local claims = require "resty.supertokens.claims"

local concat = table.concat
local error = error
local floor = math.floor
local ipairs = ipairs
local next = next
local pairs = pairs
local setmetatable = setmetatable
local sort = table.sort
local sub = string.sub
local tostring = tostring
local type = type
local NULL = cjson.null


local _M = { _VERSION = "0.1.0" }

_M.CDI_VERSION = "5.4"

local PREFIX = "supertokens.config: "


-- Schema: key -> kind.  Tables are nested schemas.
local SCHEMA = {
    connection_uri = "string",
    api_key = "string",
    app_info = {
        api_domain = "string",
        website_domain = "string",
        api_base_path = "string",
        api_gateway_path = "string",
        app_name = "string",
        website_base_path = "string",
    },
    session = {
        anti_csrf = "string",
        get_token_transfer_method = "string",
        session_expired_status_code = "integer",
        invalid_claim_status_code = "integer",
        use_dynamic_access_token_signing_key = "boolean",
        jwks_refresh_interval_sec = "number",
        cookie_domain = "string",
        older_cookie_domain = "string",
        cookie_same_site = "string",
        cookie_secure = "boolean",
        access_token_path = "string",
        expose_access_token_to_frontend_in_cookie_based_auth = "boolean",
    },
    email_verification = {
        mode = "string",
    },
    claims = "list",
    jwks = "string|table",
    jwks_file = "string",
    public_suffix_list = "string",
    shared_dict = "string",
    token_cache_size = "integer",
    token_cache_min_uses = "integer",
    jwks_max_stale_sec = "integer",
    cors = {
        enabled = "boolean",
        origins = "list",
        allow_headers = "list",
        expose_headers = "list",
        max_age = "integer",
    },
    upstream_headers = {
        user_id = "string|false",
        recipe_user_id = "string|false",
        session_handle = "string|false",
        tenant_id = "string|false",
        payload = "string|false",
        strip_incoming = "boolean",
        underscores_in_headers = "boolean",
    },
    http = {
        connect_timeout = "integer",
        send_timeout = "integer",
        read_timeout = "integer",
        ssl_verify = "boolean",
        max_body_size = "integer",
        keepalive_timeout = "integer",
        keepalive_pool = "integer",
    },
    log = {
        level = "string",
        reasons = "boolean",
    },
}


local function fail(field, msg)
    return nil, PREFIX .. field .. ": " .. msg
end


-- Bounds of the numeric settings, inclusive, by dotted path.  The Kong
-- schema takes its `between` ranges from here, so both shells refuse the
-- same values.
local TIMEOUT_RANGE = { 0, 3600000 }
_M.RANGES = {
    token_cache_size = { 0, 10000000 },
    token_cache_min_uses = { 1, 100 },
    jwks_max_stale_sec = { 0, 86400 * 365 },
    ["cors.max_age"] = { 0, 86400 * 365 },
    ["http.connect_timeout"] = TIMEOUT_RANGE,
    ["http.send_timeout"] = TIMEOUT_RANGE,
    ["http.read_timeout"] = TIMEOUT_RANGE,
    ["http.keepalive_timeout"] = TIMEOUT_RANGE,
    ["http.max_body_size"] = { 0, 1073741824 },
    ["http.keepalive_pool"] = { 0, 10000 },
}


-- The first setting of c (checked input) outside its range, as an error.
local function check_ranges(c)
    local bad
    for path, range in pairs(_M.RANGES) do
        local v = c
        for part in path:gmatch("[^.]+") do
            v = type(v) == "table" and v[part] or nil
        end
        if type(v) == "number" and (v ~= v or v < range[1] or v > range[2])
           and (bad == nil or path < bad)
        then
            bad = path
        end
    end
    if bad then
        local range = _M.RANGES[bad]
        return fail(bad, "must be between " .. range[1] .. " and "
                         .. range[2])
    end
    return true
end


local function is_unset(v)
    return v == nil or v == NULL
end


local function is_finite(v)
    return type(v) == "number" and v == v and v ~= math.huge
           and v ~= -math.huge
end


local function type_ok(kind, v)
    local t = type(v)
    if kind == "integer" then
        return is_finite(v) and v == floor(v)
    elseif kind == "list" then
        if t ~= "table" then
            return false
        end
        local n = 0
        for _ in pairs(v) do
            n = n + 1
        end
        return n == #v
    elseif kind == "string|table" then
        return t == "string" or t == "table"
    elseif kind == "string|false" then
        return t == "string" or v == false
    elseif kind == "number" then
        return is_finite(v)
    end
    return t == kind
end


local function collect_unknown(schema, input, path, acc)
    for k, v in pairs(input) do
        local kind = schema[k]
        if kind == nil then
            acc[#acc + 1] = path .. tostring(k)
        elseif type(kind) == "table" and type(v) == "table" then
            collect_unknown(kind, v, path .. k .. ".", acc)
        end
    end
    return acc
end


-- Copies known keys (dropping unset ones) and reports mistyped ones.
local function check(schema, input, path)
    if type(input) ~= "table" then
        return nil, PREFIX .. (path == "" and "config" or path:sub(1, -2))
                    .. ": must be a table"
    end
    if path == "" then
        local unknown = collect_unknown(schema, input, "", {})
        if #unknown > 0 then
            sort(unknown)
            return nil, PREFIX .. "unknown key" .. (#unknown > 1 and "s" or "")
                        .. " " .. concat(unknown, ", ")
        end
    end
    local out = {}
    for k, kind in pairs(schema) do
        local v = input[k]
        if not is_unset(v) then
            if type(kind) == "table" then
                local sub_out, err = check(kind, v, path .. k .. ".")
                if not sub_out then
                    return nil, err
                end
                out[k] = sub_out
            elseif not type_ok(kind, v) then
                local want = kind == "list" and "a list"
                             or kind == "string|false"
                                and "a string or false"
                             or kind == "string|table"
                                and "a JSON string or table"
                             or kind == "number" and "a finite number"
                             or "a" .. (kind == "integer" and "n " or " ")
                                .. kind
                return fail(path .. k, "must be " .. want)
            else
                out[k] = v
            end
        end
    end
    return out
end


local function one_of(field, v, allowed)
    for _, a in ipairs(allowed) do
        if v == a then
            return true
        end
    end
    return nil, PREFIX .. field .. ": must be one of "
                .. concat(allowed, ", ")
end


local function starts_with(s, p)
    return sub(s, 1, #p) == p
end


-- connectionURI.split(";").filter(h => h !== "") then trim each
local function core_hosts(uri)
    local hosts = {}
    for part in (uri .. ";"):gmatch("([^;]*);") do
        if part ~= "" then
            local trimmed = part:match("^%s*(.-)%s*$")
            local l = trimmed:lower()
            if not starts_with(l, "http://")
               and not starts_with(l, "https://")
            then
                return fail("connection_uri", "'" .. trimmed
                            .. "' is not an http(s) URL")
            end
            local domain, err = normalise.domain(trimmed)
            if not domain then
                return fail("connection_uri", err)
            end
            local base_path
            base_path, err = normalise.path(trimmed)
            if not base_path then
                return fail("connection_uri", err)
            end
            hosts[#hosts + 1] = { domain = domain, base_path = base_path }
        end
    end
    return hosts
end


-- A year: past it a JWKS would outlive any key rotation.
local MAX_JWKS_REFRESH_INTERVAL_SEC = 31536000
_M.MAX_JWKS_REFRESH_INTERVAL_SEC = MAX_JWKS_REFRESH_INTERVAL_SEC

local DEFAULT_UPSTREAM = {
    user_id = "X-SuperTokens-User-Id",
    recipe_user_id = "X-SuperTokens-Recipe-User-Id",
    session_handle = "X-SuperTokens-Session-Handle",
    tenant_id = "X-SuperTokens-Tenant-Id",
    payload = "X-SuperTokens-Access-Token-Payload",
    strip_incoming = true,
    underscores_in_headers = false,
}

-- Headers an identity header must not replace or clear: the request's
-- framing and routing, its credentials, and what the SDK itself reads.
local RESERVED_UPSTREAM = {}
for _, name in ipairs({
    "host", "content-length", "transfer-encoding", "connection",
    "keep-alive", "te", "trailer", "upgrade", "proxy-connection",
    "proxy-authorization", "authorization", "cookie", "expect",
    "content-type", "content-encoding", "origin", "rid", "anti-csrf",
    "st-auth-mode", "front-token", "st-access-token", "st-refresh-token",
}) do
    RESERVED_UPSTREAM[name] = true
end

local DEFAULT_HTTP = {
    connect_timeout = 1000,
    send_timeout = 5000,
    read_timeout = 5000,
    ssl_verify = true,
    max_body_size = 1048576,
    keepalive_timeout = 60000,
    keepalive_pool = 32,
}
-- http.options() falls back to the same numbers when it gets no `http`.
_M.DEFAULT_HTTP = DEFAULT_HTTP

local LOG_LEVELS = { "debug", "info", "notice", "warn", "error", "crit" }

local RO_MT = {
    __newindex = function(_, k)
        error(PREFIX .. "conf is read-only (tried to set '"
              .. tostring(k) .. "')", 2)
    end,
}


local function with_defaults(given, defaults)
    local out = {}
    for k, v in pairs(defaults) do
        out[k] = v
    end
    for k, v in pairs(given or {}) do
        out[k] = v
    end
    return out
end


local function status_code(field, v, default)
    if v == nil then
        return default
    end
    if v < 300 or v > 999 then
        return fail(field, "must be an HTTP status code >= 300 (the SDK "
                    .. "refuses to send a non-error status)")
    end
    return v
end


--- Validate a user config and build the conf table.
-- @param user table (README "Configuration reference")
-- @return conf, or nil and an error naming the field
function _M.new(user)
    local c, err = check(SCHEMA, user, "")
    if not c then
        return nil, err
    end
    local ok
    ok, err = check_ranges(c)
    if not ok then
        return nil, err
    end
    local conf = { cdi_version = _M.CDI_VERSION, warnings = {} }

    -- app_info
    local ai = c.app_info
    if not ai then
        return fail("app_info", "required")
    end
    if not ai.api_domain then
        return fail("app_info.api_domain", "required")
    end
    if not ai.website_domain then
        return fail("app_info.website_domain", "required")
    end
    local api_domain
    api_domain, err = normalise.domain(ai.api_domain)
    if not api_domain then
        return fail("app_info.api_domain", err)
    end
    local website_domain
    website_domain, err = normalise.domain(ai.website_domain)
    if not website_domain then
        return fail("app_info.website_domain", err)
    end
    local gateway_path = ""
    if ai.api_gateway_path then
        gateway_path, err = normalise.path(ai.api_gateway_path)
        if not gateway_path then
            return fail("app_info.api_gateway_path", err)
        end
    end
    local base_path
    base_path, err = normalise.path(ai.api_base_path or "/auth")
    if not base_path then
        return fail("app_info.api_base_path", err)
    end
    conf.api_domain = api_domain
    conf.website_domain = website_domain
    conf.api_base_path = gateway_path .. base_path
    conf.refresh_path = conf.api_base_path .. "/session/refresh"

    -- core
    if c.api_key == "" then
        return fail("api_key", "must not be empty (leave it unset for a "
                    .. "core without API keys)")
    end
    conf.api_key = c.api_key
    if c.jwks ~= nil and c.jwks_file ~= nil then
        return fail("jwks_file", "give jwks or jwks_file, not both")
    end
    if c.jwks_file == "" then
        return fail("jwks_file", "must be a file path")
    end
    conf.jwks = c.jwks
    conf.jwks_file = c.jwks_file
    if c.connection_uri then
        local hosts
        hosts, err = core_hosts(c.connection_uri)
        if not hosts then
            return nil, err
        end
        conf.core_hosts = hosts
    else
        conf.core_hosts = {}
    end
    if #conf.core_hosts == 0 and not c.jwks and not c.jwks_file then
        return fail("connection_uri", "required unless jwks or jwks_file "
                    .. "is given")
    end
    conf.jwks_urls = {}
    for i, h in ipairs(conf.core_hosts) do
        conf.jwks_urls[i] = h.domain .. h.base_path
                            .. "/.well-known/jwks.json"
    end

    -- session
    local s = c.session or {}
    local sess = {}
    conf.session = sess

    local ttm = s.get_token_transfer_method or "any"
    ok, err = one_of("session.get_token_transfer_method", ttm,
                     { "any", "cookie", "header" })
    if not ok then
        return nil, err
    end
    sess.get_token_transfer_method = ttm

    local expired_code
    expired_code, err = status_code("session.session_expired_status_code",
                                    s.session_expired_status_code, 401)
    if not expired_code then
        return nil, err
    end
    local claim_code
    claim_code, err = status_code("session.invalid_claim_status_code",
                                  s.invalid_claim_status_code, 403)
    if not claim_code then
        return nil, err
    end
    if expired_code == claim_code then
        -- (the SDK's own message names sessionExpiredStatusCode twice)
        return fail("session.invalid_claim_status_code",
                    "must differ from session.session_expired_status_code "
                    .. "(both are " .. tostring(claim_code) .. ")")
    end
    sess.session_expired_status_code = expired_code
    sess.invalid_claim_status_code = claim_code

    if s.cookie_domain then
        local d
        d, err = normalise.session_scope(s.cookie_domain)
        if not d then
            return fail("session.cookie_domain", err)
        end
        sess.cookie_domain = d
    end
    if s.older_cookie_domain then
        if s.older_cookie_domain == "" then
            sess.older_cookie_domain = ""
        else
            local d
            d, err = normalise.session_scope(s.older_cookie_domain)
            if not d then
                return fail("session.older_cookie_domain", err)
            end
            sess.older_cookie_domain = d
        end
    end

    local same_site = s.cookie_same_site
    if same_site then
        same_site = same_site:match("^%s*(.-)%s*$"):lower()
        ok, err = one_of("session.cookie_same_site", same_site,
                         { "strict", "lax", "none" })
        if not ok then
            return nil, err
        end
    else
        -- getTopLevelDomainForSameSiteResolution + protocol comparison
        local list_path = c.public_suffix_list
        local function suffix_list()
            return psl.load(list_path)
        end
        local api_tld, web_tld
        local api_host = normalise.parse_url(api_domain).hostname
        local web_host = normalise.parse_url(website_domain).hostname
        if api_host == web_host then
            api_tld, web_tld = api_host, web_host
        else
            api_tld, err = normalise.top_level_domain(api_domain, suffix_list)
            if not api_tld then
                return fail("session.cookie_same_site", "cannot derive the "
                            .. "default from app_info.api_domain (" .. err
                            .. "); set it explicitly")
            end
            web_tld, err = normalise.top_level_domain(website_domain,
                                                      suffix_list)
            if not web_tld then
                return fail("session.cookie_same_site", "cannot derive the "
                            .. "default from app_info.website_domain ("
                            .. err .. "); set it explicitly")
            end
        end
        local api_proto = api_domain:match("^(%a+:)")
        local web_proto = website_domain:match("^(%a+:)")
        same_site = (api_tld ~= web_tld or api_proto ~= web_proto)
                    and "none" or "lax"
    end
    sess.cookie_same_site = same_site

    if s.cookie_secure ~= nil then
        sess.cookie_secure = s.cookie_secure
    else
        sess.cookie_secure = starts_with(api_domain, "https")
    end
    if same_site == "none" and not sess.cookie_secure then
        -- the SDK only refuses this when it creates a session
        conf.warnings[#conf.warnings + 1] =
            "cookie_same_site is none but cookie_secure is false: browsers "
            .. "drop such cookies unless both domains are localhost/IPs"
    end

    local anti_csrf = s.anti_csrf
    if anti_csrf then
        ok, err = one_of("session.anti_csrf", anti_csrf,
                         { "NONE", "VIA_TOKEN", "VIA_CUSTOM_HEADER" })
        if not ok then
            return nil, err
        end
    else
        anti_csrf = same_site == "none" and "VIA_CUSTOM_HEADER" or "NONE"
    end
    sess.anti_csrf = anti_csrf

    if s.use_dynamic_access_token_signing_key == nil then
        sess.use_dynamic_access_token_signing_key = true
    else
        sess.use_dynamic_access_token_signing_key =
            s.use_dynamic_access_token_signing_key
    end
    sess.expose_access_token_to_frontend_in_cookie_based_auth =
        s.expose_access_token_to_frontend_in_cookie_based_auth == true

    local jri = s.jwks_refresh_interval_sec or 14400
    if jri <= 0 or jri > MAX_JWKS_REFRESH_INTERVAL_SEC then
        return fail("session.jwks_refresh_interval_sec", "must be > 0 and "
                    .. "at most " .. MAX_JWKS_REFRESH_INTERVAL_SEC)
    end
    sess.jwks_refresh_interval_sec = jri
    conf.jwks_refresh_interval_sec = jri

    local atp = "/"
    if s.access_token_path then
        atp, err = normalise.path(s.access_token_path)
        if not atp then
            return fail("session.access_token_path", err)
        end
        if atp == "" then
            atp = "/"
        end
    end
    sess.access_token_path = atp

    -- claims
    local globals = {}
    if c.email_verification then
        local mode = c.email_verification.mode
        if not mode then
            return fail("email_verification.mode", "required")
        end
        ok, err = one_of("email_verification.mode", mode,
                         { "REQUIRED", "OPTIONAL" })
        if not ok then
            return nil, err
        end
        conf.email_verification = { mode = mode }
        if mode == "REQUIRED" then
            globals[1] = { claim = "st-ev", check = "is_verified" }
        end
    end
    for _, spec in ipairs(c.claims or {}) do
        globals[#globals + 1] = spec
    end
    local compiled
    compiled, err = claims.compile(globals)
    if not compiled then
        return fail("claims", err)
    end
    conf.claim_validators = compiled

    -- gateway-only options
    conf.public_suffix_list = c.public_suffix_list
    conf.shared_dict = c.shared_dict or "supertokens"
    conf.token_cache_size = c.token_cache_size or 10000
    conf.token_cache_min_uses = c.token_cache_min_uses or 2
    conf.jwks_max_stale_sec = c.jwks_max_stale_sec or 86400

    conf.upstream_headers = with_defaults(c.upstream_headers,
                                          DEFAULT_UPSTREAM)
    local names, seen = {}, {}
    for k, v in pairs(conf.upstream_headers) do
        if type(v) == "string" then
            names[#names + 1] = k
        end
    end
    sort(names)
    for _, k in ipairs(names) do
        local v = conf.upstream_headers[k]
        if not cors.is_header_name(v) then
            return fail("upstream_headers." .. k,
                        "must be a valid header name")
        end
        -- one spelling per header, as nginx may read "_" for "-"
        local key = v:lower():gsub("_", "-")
        if RESERVED_UPSTREAM[key] then
            return fail("upstream_headers." .. k, "'" .. v .. "' is a "
                        .. "header the request needs as it is (framing, "
                        .. "routing, credentials or the SDK's own)")
        end
        if seen[key] then
            return fail("upstream_headers." .. k, "'" .. v .. "' is "
                        .. "upstream_headers." .. seen[key] .. " too")
        end
        seen[key] = k
    end

    conf.http = with_defaults(c.http, DEFAULT_HTTP)

    conf.log = with_defaults(c.log, { level = "warn", reasons = true })
    ok, err = one_of("log.level", conf.log.level, LOG_LEVELS)
    if not ok then
        return nil, err
    end

    local cc = c.cors or {}
    conf.cors = {
        enabled = cc.enabled ~= false,
        origins = cc.origins,
        allow_headers = cc.allow_headers or {},
        expose_headers = cc.expose_headers or {},
        max_age = cc.max_age,
    }

    -- strings for the answers (outcome) and CORS, computed once
    ok, err = outcome.prepare(conf)
    if not ok then
        return nil, PREFIX .. err
    end
    ok, err = cors.prepare(conf)
    if not ok then
        return nil, PREFIX .. err
    end

    if next(conf.warnings) == nil then
        conf.warnings = nil
    end
    return setmetatable(conf, RO_MT)
end


return _M
