-- A config table from ST_* environment variables, for the demo, the
-- conformance gateway and the Kong example.  Empty values count as unset.
--
--   ST_CONNECTION_URI ST_API_KEY ST_API_DOMAIN ST_WEBSITE_DOMAIN
--   ST_API_BASE_PATH ST_ANTI_CSRF ST_TOKEN_TRANSFER_METHOD
--   ST_SESSION_EXPIRED_STATUS_CODE ST_INVALID_CLAIM_STATUS_CODE
--   ST_USE_DYNAMIC_ACCESS_TOKEN_SIGNING_KEY ST_EMAIL_VERIFICATION
--   ST_COOKIE_DOMAIN ST_OLDER_COOKIE_DOMAIN ST_COOKIE_SAME_SITE
--   ST_COOKIE_SECURE ST_JWKS_REFRESH_INTERVAL_SEC ST_JWKS_FILE
--   ST_JWKS_MAX_STALE_SEC ST_CLAIMS ST_API_GATEWAY_PATH ST_ACCESS_TOKEN_PATH
--   ST_EXPOSE_ACCESS_TOKEN_TO_FRONTEND_IN_COOKIE_BASED_AUTH
--
-- ST_CLAIMS is the `claims` option (global claim validators) as a JSON
-- list, e.g. [{"claim":"st-role","check":"includes","value":"admin"}].
--
-- Without ST_CONNECTION_URI and ST_JWKS_FILE the keys come from
-- opts.default_jwks_file (the demo's local JWKS).  Values are checked for
-- their type here (the message names the variable); config.new() checks
-- the rest.
--
-- In nginx, read them in init_by_lua (the master still has the whole
-- environment); workers only see variables listed with `env NAME;`.

local cjson = require "cjson.safe"

local os_getenv = os.getenv
local pairs = pairs
local type = type
local tonumber = tonumber
local error = error
local math_floor = math.floor
local math_huge = math.huge
local ipairs = ipairs
local string_upper = string.upper
local string_lower = string.lower
local table_concat = table.concat

local _M = { _VERSION = "0.1.0" }

_M.NAMES = {
    "ST_CONNECTION_URI", "ST_API_KEY", "ST_API_DOMAIN", "ST_WEBSITE_DOMAIN",
    "ST_API_BASE_PATH", "ST_ANTI_CSRF", "ST_TOKEN_TRANSFER_METHOD",
    "ST_SESSION_EXPIRED_STATUS_CODE", "ST_INVALID_CLAIM_STATUS_CODE",
    "ST_USE_DYNAMIC_ACCESS_TOKEN_SIGNING_KEY", "ST_EMAIL_VERIFICATION",
    "ST_COOKIE_DOMAIN", "ST_OLDER_COOKIE_DOMAIN", "ST_COOKIE_SAME_SITE",
    "ST_COOKIE_SECURE", "ST_JWKS_REFRESH_INTERVAL_SEC", "ST_JWKS_FILE",
    "ST_JWKS_MAX_STALE_SEC", "ST_CLAIMS", "ST_API_GATEWAY_PATH",
    "ST_ACCESS_TOKEN_PATH",
    "ST_EXPOSE_ACCESS_TOKEN_TO_FRONTEND_IN_COOKIE_BASED_AUTH",
}

-- The oracle's defaults (shared/oracle/server.js), so the demo and the
-- conformance gateway answer like it out of the box.
local DEFAULT_API_DOMAIN = "http://localhost:3001"
local DEFAULT_WEBSITE_DOMAIN = "http://localhost:3000"


-- No source position: the message names the variable, for an operator.
local function bad(name, what)
    error("supertokens.env: " .. name .. ": " .. what, 0)
end


-- config(opts) -> table for config.new()
--   opts.getenv (default os.getenv), opts.default_jwks_file,
--   opts.keys_optional (true: neither a core nor keys is no error; for
--   callers that bring their own keys, as `stjwt explain --jwks`)
function _M.config(opts)
    opts = opts or {}
    local getenv = opts.getenv or os_getenv

    local function str(name)
        local v = getenv(name)
        if v == nil or v == "" then
            return nil
        end
        return v
    end

    -- ST_OLDER_COOKIE_DOMAIN="" is meaningful (host-only cookies), so it
    -- is read raw; everything else treats "" as unset.
    local function raw(name)
        return getenv(name)
    end

    local function bool(name)
        local v = str(name)
        if v == nil then
            return nil
        end
        v = v:lower():match("^%s*(.-)%s*$")
        if v == "true" or v == "1" or v == "on" or v == "yes" then
            return true
        end
        if v == "false" or v == "0" or v == "off" or v == "no" then
            return false
        end
        bad(name, "must be true or false")
    end

    -- A finite number (an integer when `integer`), or nil when unset.
    local function num(name, integer)
        local v = str(name)
        if v == nil then
            return nil
        end
        local n = tonumber(v)
        if not n or n ~= n or n == math_huge or n == -math_huge
           or integer and n ~= math_floor(n)
        then
            bad(name, integer and "must be an integer" or "must be a number")
        end
        return n
    end

    local function int(name)
        return num(name, true)
    end

    local ev = str("ST_EMAIL_VERIFICATION")
    local email_verification
    if ev then
        local up = ev:upper()
        if up == "REQUIRED" or up == "OPTIONAL" then
            email_verification = { mode = up }
        elseif up ~= "NONE" and up ~= "OFF" then
            bad("ST_EMAIL_VERIFICATION", "must be REQUIRED, OPTIONAL or NONE")
        end
    end

    -- One of `allowed` (compared after `fold`), named by the variable
    -- when not: config.new() would name the config field instead.
    local function choice(name, fold, allowed)
        local v = str(name)
        if v == nil then
            return nil
        end
        v = fold(v)
        for _, a in ipairs(allowed) do
            if v == a then
                return v
            end
        end
        bad(name, "must be one of " .. table_concat(allowed, ", "))
    end

    local anti_csrf = choice("ST_ANTI_CSRF", string_upper,
                             { "NONE", "VIA_TOKEN", "VIA_CUSTOM_HEADER" })
    local transfer = choice("ST_TOKEN_TRANSFER_METHOD", string_lower,
                            { "any", "cookie", "header" })
    -- The SDK trims cookieSameSite before it lower-cases it
    -- (normaliseSameSiteOrThrowError): " Strict " is strict to it.
    local same_site = choice("ST_COOKIE_SAME_SITE", function(v)
                                 return string_lower(v:match("^%s*(.-)%s*$"))
                             end, { "strict", "lax", "none" })

    -- A JSON list (of validator specs: config.new() checks them).
    local function list(name)
        local v = str(name)
        if v == nil then
            return nil
        end
        local t = cjson.decode(v)
        -- "{}" decodes to an empty table too: only "[" opens a list
        if type(t) ~= "table" or not v:find("^%s*%[") then
            bad(name, "must be a JSON list")
        end
        local n = 0
        for _ in pairs(t) do
            n = n + 1
        end
        if n ~= #t then
            bad(name, "must be a JSON list")
        end
        return t
    end

    local conf = {
        connection_uri = str("ST_CONNECTION_URI"),
        api_key = str("ST_API_KEY"),
        app_info = {
            api_domain = str("ST_API_DOMAIN") or DEFAULT_API_DOMAIN,
            website_domain = str("ST_WEBSITE_DOMAIN")
                             or DEFAULT_WEBSITE_DOMAIN,
            api_base_path = str("ST_API_BASE_PATH"),
            api_gateway_path = str("ST_API_GATEWAY_PATH"),
        },
        session = {
            anti_csrf = anti_csrf,
            get_token_transfer_method = transfer,
            session_expired_status_code =
                int("ST_SESSION_EXPIRED_STATUS_CODE"),
            invalid_claim_status_code = int("ST_INVALID_CLAIM_STATUS_CODE"),
            use_dynamic_access_token_signing_key =
                bool("ST_USE_DYNAMIC_ACCESS_TOKEN_SIGNING_KEY"),
            cookie_domain = str("ST_COOKIE_DOMAIN"),
            older_cookie_domain = raw("ST_OLDER_COOKIE_DOMAIN"),
            cookie_same_site = same_site,
            cookie_secure = bool("ST_COOKIE_SECURE"),
            jwks_refresh_interval_sec = num("ST_JWKS_REFRESH_INTERVAL_SEC"),
            access_token_path = str("ST_ACCESS_TOKEN_PATH"),
            expose_access_token_to_frontend_in_cookie_based_auth = bool(
                "ST_EXPOSE_ACCESS_TOKEN_TO_FRONTEND_IN_COOKIE_BASED_AUTH"),
        },
        email_verification = email_verification,
        claims = list("ST_CLAIMS"),
        jwks_file = str("ST_JWKS_FILE"),
        jwks_max_stale_sec = int("ST_JWKS_MAX_STALE_SEC"),
    }

    if not conf.connection_uri and not conf.jwks_file then
        local default = opts.default_jwks_file
        if type(default) ~= "string" and not opts.keys_optional then
            error("supertokens.env: set ST_CONNECTION_URI (a core) or "
                  .. "ST_JWKS_FILE (static keys)", 2)
        end
        conf.jwks_file = default
    end

    return conf
end


return _M
