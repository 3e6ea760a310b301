-- Kong schema of the supertokens plugin.  Field names are the OpenResty
-- module's (resty.supertokens.config, the SDK's names in snake_case), so
-- one config document serves both; the plugin-only fields (marked "route")
-- are decide.route() options, which in Kong live on each plugin instance.
--
-- Kong checks types, ranges and enums here; the last entity check runs
-- resty.supertokens.config.new() itself, so every rule of the OpenResty
-- module (domain normalisation, claim specs, ...) holds in the Admin API
-- too.

local typedefs = require "kong.db.schema.typedefs"
local config = require "resty.supertokens.config"
local cors = require "resty.supertokens.cors"

local _M_NAME = "supertokens"

-- kong.response.exit() refuses a status above 599 (an error raised in
-- the access phase: every rejection would become Kong's 500).
local STATUS_RANGE = { 300, 599 }
-- nginx closes the connection instead of answering 444 and 499, and
-- kong.response.exit() ends with ngx.exit(status): those cannot be sent.
local NGINX_CLOSE = { 444, 499 }
local SECONDS_RANGE = { 0, 315360000 }

local CLAIM_CHECKS = {
    "is_verified", "has_value", "is_true", "is_false", "includes",
    "excludes", "includes_all", "excludes_all", "includes_any",
    "mfa_completed",
}


local function string_field(description, extra)
    local f = { type = "string", description = description }
    for k, v in pairs(extra or {}) do
        f[k] = v
    end
    return f
end


local function header_name(default, what)
    return { type = "string", default = default,
             description = "Upstream request header carrying " .. what
                 .. ". Set to null to not send it." }
end


-- cors.prepare() is the rule the OpenResty module applies; run it on one
-- origin so the Admin API rejects what init() would.
local function validate_origin(origin)
    local ok, err = cors.prepare({
        website_domain = origin,
        cors = { origins = { origin }, allow_headers = {},
                 expose_headers = {} },
    })
    if not ok then
        return nil, err
    end
    return true
end


local CLAIM_SPEC = {
    type = "record",
    description = "A claim validator, as the SDK's "
        .. "<Claim>.validators.<check>(): claim key in the access token "
        .. "payload, the check, and its value.",
    fields = {
        { claim = { type = "string", required = true,
                    description = "Claim key in the access token payload, "
                        .. "e.g. st-ev, st-role, st-perm, st-mfa." } },
        { check = { type = "string", required = true, one_of = CLAIM_CHECKS,
                    description = "Validator: is_verified (st-ev), "
                        .. "has_value, is_true, is_false, includes, "
                        .. "excludes, includes_all, excludes_all, "
                        .. "includes_any, mfa_completed (st-mfa)." } },
        { value = { type = "string",
                    description = "Expected value for has_value, includes "
                        .. "and excludes (a string)." } },
        { values = { type = "array", elements = { type = "string" },
                     description = "Expected values for includes_all, "
                         .. "excludes_all and includes_any." } },
        { max_age = { type = "number", between = SECONDS_RANGE,
                      description = "Seconds after which the claim value "
                          .. "counts as expired (the SDK's maxAgeInSeconds)."
                    } },
        { refetch_time_on_false = { type = "number",
                                    between = SECONDS_RANGE,
                                    description = "is_verified: seconds "
                                        .. "after which a false st-ev is "
                                        .. "fetched again (SDK default 10)."
                                  } },
        { id = { type = "string",
                 description = "Validator id reported in "
                     .. "claimValidationErrors (default: the claim key)." } },
    },
}


local CLAIM_LIST = {
    type = "array",
    elements = CLAIM_SPEC,
}


local function claim_list(description)
    local f = { description = description }
    for k, v in pairs(CLAIM_LIST) do
        f[k] = v
    end
    return f
end


return {
    name = _M_NAME,
    fields = {
        { consumer = typedefs.no_consumer },
        { protocols = typedefs.protocols_http },
        { config = {
            type = "record",
            fields = {
                { connection_uri = string_field(
                    "SuperTokens core URL(s), ';'-separated; the JWKS and "
                    .. "the core calls the SDK makes go there, in order. "
                    .. "Optional when jwks or jwks_file is set.") },
                { api_key = string_field(
                    "Core API key, sent as the api-key header.",
                    { referenceable = true, encrypted = true }) },
                { app_info = {
                    type = "record", required = true,
                    description = "The SDK's appInfo.",
                    fields = {
                        { api_domain = string_field(
                            "Where the API is served, e.g. "
                            .. "https://api.example.com.",
                            { required = true }) },
                        { website_domain = string_field(
                            "Where the website is served, e.g. "
                            .. "https://example.com; the default CORS "
                            .. "origin.", { required = true }) },
                        { api_base_path = string_field(
                            "Path prefix of the SuperTokens API routes.",
                            { default = "/auth" }) },
                        { api_gateway_path = string_field(
                            "Path prefix added by a gateway in front of "
                            .. "the API (the SDK's apiGatewayPath).") },
                        { app_name = string_field(
                            "The SDK's appName (informational).") },
                        { website_base_path = string_field(
                            "The SDK's websiteBasePath (informational).") },
                    },
                } },
                { session = {
                    type = "record", required = true,
                    description = "The Session recipe options.",
                    fields = {
                        { anti_csrf = string_field(
                            "Anti-CSRF mode; unset: VIA_CUSTOM_HEADER when "
                            .. "cookie_same_site resolves to none, else "
                            .. "NONE.",
                            { one_of = { "NONE", "VIA_TOKEN",
                                         "VIA_CUSTOM_HEADER" } }) },
                        { get_token_transfer_method = string_field(
                            "Where access tokens are read from.",
                            { default = "any",
                              one_of = { "any", "cookie", "header" } }) },
                        { session_expired_status_code = {
                            type = "integer", default = 401,
                            between = STATUS_RANGE, not_one_of = NGINX_CLOSE,
                            description = "Status of the unauthorised and "
                                .. "try-refresh-token answers; the "
                                .. "frontend SDK must use the same (not "
                                .. "444 or 499: nginx closes the "
                                .. "connection instead)." } },
                        { invalid_claim_status_code = {
                            type = "integer", default = 403,
                            between = STATUS_RANGE, not_one_of = NGINX_CLOSE,
                            description = "Status of the invalid-claim "
                                .. "answer; must differ from "
                                .. "session_expired_status_code." } },
                        { use_dynamic_access_token_signing_key = {
                            type = "boolean", default = true,
                            description = "Expect tokens signed with "
                                .. "dynamic (d-) keys; false: static (s-)."
                        } },
                        { jwks_refresh_interval_sec = {
                            type = "number", default = 14400, gt = 0,
                            description = "Age (s) after which the JWKS "
                                .. "is fetched again." } },
                        { cookie_domain = string_field(
                            "Domain attribute of the session cookies the "
                            .. "plugin clears or re-issues.") },
                        { older_cookie_domain = string_field(
                            "Previous cookie_domain (an empty string: "
                            .. "host-only cookies).", { len_min = 0 }) },
                        { cookie_same_site = string_field(
                            "SameSite of the session cookies; unset: none "
                            .. "when API and website are cross-site, else "
                            .. "lax.",
                            { one_of = { "lax", "strict", "none" } }) },
                        { cookie_secure = {
                            type = "boolean",
                            description = "Secure attribute of the session "
                                .. "cookies; unset: api_domain is https." } },
                        { access_token_path = string_field(
                            "Path attribute of the sAccessToken cookie.",
                            { default = "/" }) },
                        { expose_access_token_to_frontend_in_cookie_based_auth
                            = { type = "boolean", default = false,
                                description = "Also send st-access-token "
                                    .. "when a token is re-issued in "
                                    .. "cookies." } },
                    },
                } },
                { email_verification = {
                    type = "record",
                    description = "EmailVerification recipe; mode "
                        .. "REQUIRED adds the st-ev isVerified validator.",
                    fields = {
                        { mode = string_field(
                            "REQUIRED or OPTIONAL.",
                            { required = true,
                              one_of = { "REQUIRED", "OPTIONAL" } }) },
                    },
                } },
                { claims = claim_list(
                    "Extra global claim validators, checked after st-ev.")
                },
                { jwks = string_field(
                    "Static JWKS (JSON text) instead of fetching it from "
                    .. "the core.") },
                { jwks_file = string_field(
                    "Path of a static JWKS file, read when the plugin "
                    .. "config is loaded.") },
                { public_suffix_list = string_field(
                    "Public Suffix List file, read only to derive "
                    .. "cookie_same_site for two different hosts.") },
                { shared_dict = string_field(
                    "lua_shared_dict holding the JWKS and its fetch "
                    .. "state; declare it with "
                    .. "KONG_NGINX_HTTP_LUA_SHARED_DICT.",
                    { default = "supertokens" }) },
                { token_cache_size = {
                    type = "integer", default = 10000,
                    between = config.RANGES.token_cache_size,
                    description = "Verified tokens remembered per worker "
                        .. "(0 disables the cache)." } },
                { token_cache_min_uses = {
                    type = "integer", default = 2,
                    between = config.RANGES.token_cache_min_uses,
                    description = "Verifications of a token before it "
                        .. "gets a cache entry (2: tokens seen once never "
                        .. "take cache space)." } },
                { jwks_max_stale_sec = {
                    type = "integer", default = 86400,
                    between = config.RANGES.jwks_max_stale_sec,
                    description = "How long past jwks_refresh_interval_sec "
                        .. "the last good JWKS stays in use while no core "
                        .. "answers (stale-if-error); then tokens get 401 "
                        .. "try refresh. 0: never past it, as "
                        .. "supertokens-node." } },
                { cors = {
                    type = "record", required = true,
                    description = "CORS as SuperTokens documents it "
                        .. "(credentials, exact origins, the SDK's "
                        .. "headers). Disable it when the cors plugin "
                        .. "runs on the same route.",
                    fields = {
                        { enabled = {
                            type = "boolean", default = true,
                            description = "Answer preflights and add CORS "
                                .. "headers to responses." } },
                        { origins = {
                            type = "array",
                            elements = { type = "string",
                                         custom_validator = validate_origin },
                            description = "Allowed origins; unset: "
                                .. "website_domain. '*' is refused "
                                .. "(credentials)." } },
                        { allow_headers = {
                            type = "array", default = {},
                            elements = { type = "string" },
                            description = "Request headers allowed on top "
                                .. "of content-type and the SDK's." } },
                        { expose_headers = {
                            type = "array", default = {},
                            elements = { type = "string" },
                            description = "Response headers exposed to the "
                                .. "website." } },
                        { max_age = {
                            type = "integer",
                            between = config.RANGES["cors.max_age"],
                            description = "Access-Control-Max-Age of "
                                .. "preflight answers (s)." } },
                    },
                } },
                { upstream_headers = {
                    type = "record", required = true,
                    description = "Request headers carrying the session "
                        .. "to the upstream service.",
                    fields = {
                        { user_id = header_name("X-SuperTokens-User-Id",
                                                "the user id") },
                        { recipe_user_id = header_name(
                            "X-SuperTokens-Recipe-User-Id",
                            "the recipe user id") },
                        { session_handle = header_name(
                            "X-SuperTokens-Session-Handle",
                            "the session handle") },
                        { tenant_id = header_name(
                            "X-SuperTokens-Tenant-Id", "the tenant id") },
                        { payload = header_name(
                            "X-SuperTokens-Access-Token-Payload",
                            "the access token payload (JSON)") },
                        { strip_incoming = {
                            type = "boolean", default = true,
                            description = "Remove these headers from the "
                                .. "client's request first." } },
                    },
                } },
                { http = {
                    type = "record", required = true,
                    description = "HTTP client settings for the core "
                        .. "(milliseconds, bytes).",
                    fields = {
                        { connect_timeout = {
                            type = "integer", default = 1000,
                            between = config.RANGES["http.connect_timeout"],
                            description = "Connect timeout (ms)." } },
                        { send_timeout = {
                            type = "integer", default = 5000,
                            between = config.RANGES["http.send_timeout"],
                            description = "Send timeout (ms)." } },
                        { read_timeout = {
                            type = "integer", default = 5000,
                            between = config.RANGES["http.read_timeout"],
                            description = "Read timeout (ms)." } },
                        { ssl_verify = {
                            type = "boolean", default = true,
                            description = "Verify the core's TLS "
                                .. "certificate." } },
                        { max_body_size = {
                            type = "integer", default = 1048576,
                            between = config.RANGES["http.max_body_size"],
                            description = "Largest core answer read "
                                .. "(bytes)." } },
                        { keepalive_timeout = {
                            type = "integer", default = 60000,
                            between = config.RANGES["http.keepalive_timeout"],
                            description = "Idle time of pooled core "
                                .. "connections (ms)." } },
                        { keepalive_pool = {
                            type = "integer", default = 32,
                            between = config.RANGES["http.keepalive_pool"],
                            description = "Pooled core connections per "
                                .. "worker." } },
                    },
                } },
                { http_client = string_field(
                    "Lua module used for core calls instead of the "
                    .. "built-in client, e.g. resty.http (bundled with "
                    .. "Kong).") },
                { log = {
                    type = "record", required = true,
                    description = "Log lines for rejected requests.",
                    fields = {
                        { level = string_field(
                            "Level of the reject line.",
                            { default = "warn",
                              one_of = { "debug", "info", "notice", "warn",
                                         "error", "crit" } }) },
                        { reasons = {
                            type = "boolean", default = true,
                            description = "Include the reason code "
                                .. "(expired, bad_signature, ...)." } },
                    },
                } },
                -- route options (decide.route)
                { session_required = {
                    type = "boolean", required = true, default = true,
                    description = "Route: false lets requests without a "
                        .. "session through (no identity headers)." } },
                { anti_csrf_check = {
                    type = "boolean",
                    description = "Route: force the anti-CSRF check on or "
                        .. "off; unset: on for non-GET requests." } },
                { check_database = {
                    type = "boolean", required = true, default = false,
                    description = "Route: ask the core whether the "
                        .. "session is still alive on every request." } },
                { override_global_claim_validators = claim_list(
                    "Route: replaces the global validators (st-ev and "
                    .. "claims); an empty list disables them.") },
                { run_on_preflight = {
                    type = "boolean", required = true, default = true,
                    description = "Handle OPTIONS requests (answer CORS "
                        .. "preflights); false leaves them to other "
                        .. "plugins and the upstream." } },
            },
        } },
    },
    entity_checks = {
        { distinct = { "config.session.session_expired_status_code",
                       "config.session.invalid_claim_status_code" } },
        { at_least_one_of = { "config.connection_uri", "config.jwks",
                              "config.jwks_file" } },
        { custom_entity_check = {
            field_sources = { "config" },
            fn = function(entity)
                -- required here: conf.lua reads this schema
                local plugin_conf = require "kong.plugins.supertokens.conf"
                local decide = require "resty.supertokens.decide"
                local jwt = require "resty.supertokens.jwt"
                local claim_err = plugin_conf.claim_field_error(
                    entity.config.claims)
                if claim_err then
                    return nil, "supertokens.config: claims: " .. claim_err
                end
                claim_err = plugin_conf.claim_field_error(
                    entity.config.override_global_claim_validators)
                if claim_err then
                    return nil, "supertokens: route options: "
                                .. "override_global_claim_validators: "
                                .. claim_err
                end
                local conf, err = config.new(
                    plugin_conf.user_config(entity.config))
                if not conf then
                    return nil, err
                end
                local ok, route_err = pcall(decide.route,
                    plugin_conf.route_opts(entity.config))
                if not ok then
                    return nil, "supertokens: route options: "
                                .. tostring(route_err)
                end
                -- what the data plane would refuse when it builds the
                -- plugin's state (jwks_file is read there only)
                if conf.jwks ~= nil then
                    local ks, why = jwt.usable_keyset(conf.jwks)
                    if not ks then
                        return nil, "supertokens.keys: jwks: not a usable "
                                    .. "JWKS (" .. why .. ")"
                    end
                    ks:close()
                end
                local client = plugin_conf.http_client(entity.config)
                if client ~= nil then
                    local loaded, load_err = pcall(require, client)
                    if not loaded then
                        return nil, "supertokens.http: http_client: cannot "
                                    .. "load module '" .. client .. "': "
                                    .. tostring(load_err)
                    end
                end
                return true
            end,
        } },
    },
}
