-- kong.plugins.supertokens.schema through the Kong schema-DSL subset in
-- spec/helpers/kong_schema.lua (Kong itself is not installable here):
-- defaults, every field's rejection and message, the entity checks, and
-- the translation to the OpenResty module's config (conf.lua).

local TOP = os.getenv("PWD")
package.path = TOP .. "/spec/kong/lib/?.lua;" .. package.path

local cjson = require "cjson.safe"
local ks = require "spec.helpers.kong_schema"
local schema = require "kong.plugins.supertokens.schema"
local plugin_conf = require "kong.plugins.supertokens.conf"
local config = require "resty.supertokens.config"

local null = ks.null

local API = "http://localhost:3001"
local WEB = "http://localhost:3000"


local function base()
    return {
        connection_uri = "http://127.0.0.1:3567",
        app_info = { api_domain = API, website_domain = WEB },
    }
end


-- the conformance run gives every side a core
local function merge_env(vars)
    local out = { ST_CONNECTION_URI = "http://127.0.0.1:3567" }
    for k, v in pairs(vars) do
        out[k] = v
    end
    return out
end


local function validate(conf)
    return ks.validate_plugin_config(conf, schema)
end


local function set_path(t, path, value)
    local parts = {}
    for p in path:gmatch("[^.]+") do
        parts[#parts + 1] = tonumber(p) or p
    end
    for i = 1, #parts - 1 do
        local k = parts[i]
        if t[k] == nil then
            t[k] = {}
        end
        t = t[k]
    end
    t[parts[#parts]] = value
end


local function get_path(t, path)
    for p in path:gmatch("[^.]+") do
        if type(t) ~= "table" then
            return nil
        end
        t = t[tonumber(p) or p]
    end
    return t
end


local function field_error(path, value, conf)
    conf = conf or base()
    set_path(conf, path, value)
    local entity, err = validate(conf)
    assert.is_nil(entity, "accepted " .. path .. " = " .. cjson.encode(value))
    return get_path(err, "config." .. path), err
end


describe("kong schema definition", function()
    it("passes the metaschema rules Kong applies to plugin schemas", function()
        assert.same({ true }, { ks.check_definition(schema) })
    end)

    it("uses typedefs.no_consumer and typedefs.protocols_http", function()
        local typedefs = require "kong.db.schema.typedefs"
        local by_name = {}
        for _, item in ipairs(schema.fields) do
            local k, v = next(item)
            by_name[k] = v
        end
        assert.equal(typedefs.no_consumer, by_name.consumer)
        assert.equal(typedefs.protocols_http, by_name.protocols)
        assert.equal("supertokens", schema.name)
    end)

    it("gives every field a description of 10..500 characters", function()
        local missing = {}
        local function walk(fields, path)
            for _, item in ipairs(fields) do
                local k, f = next(item)
                local p = path .. k
                local d = f.description
                if type(d) ~= "string" or #d < 10 or #d > 500 then
                    missing[#missing + 1] = p
                end
                if f.fields then
                    walk(f.fields, p .. ".")
                end
                if f.elements and f.elements.fields then
                    walk(f.elements.fields, p .. "[].")
                end
            end
        end
        walk(schema.fields[3].config.fields, "config.")
        assert.same({}, missing)
    end)

    it("names every config.new() key like the OpenResty module", function()
        -- everything config.new() accepts is a plugin field, and the
        -- translation of a full plugin config is accepted by config.new()
        local entity = assert(validate(base()))
        local user = plugin_conf.user_config(entity.config)
        assert.truthy(config.new(user))
        local names = {}
        for _, item in ipairs(schema.fields[3].config.fields) do
            names[next(item)] = true
        end
        for _, k in ipairs({ "connection_uri", "api_key", "app_info",
                             "session", "email_verification", "claims",
                             "jwks", "jwks_file", "public_suffix_list",
                             "shared_dict", "token_cache_size",
                             "token_cache_min_uses", "jwks_max_stale_sec",
                             "cors",
                             "upstream_headers", "http", "log" }) do
            assert.is_true(names[k], k)
        end
    end)
end)


describe("kong schema defaults", function()
    local entity

    setup(function()
        entity = assert(validate(base()))
    end)

    it("fills the plugin entity like Kong", function()
        assert.equal("supertokens", entity.name)
        assert.same({ "grpc", "grpcs", "http", "https" }, entity.protocols)
        assert.equal(null, entity.consumer)
        assert.is_true(entity.enabled)
    end)

    it("has the OpenResty module's defaults", function()
        local c = entity.config
        assert.same({
            api_domain = API, website_domain = WEB, api_base_path = "/auth",
            api_gateway_path = null, app_name = null,
            website_base_path = null,
        }, c.app_info)
        assert.same({
            anti_csrf = null, get_token_transfer_method = "any",
            session_expired_status_code = 401,
            invalid_claim_status_code = 403,
            use_dynamic_access_token_signing_key = true,
            jwks_refresh_interval_sec = 14400,
            cookie_domain = null, older_cookie_domain = null,
            cookie_same_site = null, cookie_secure = null,
            access_token_path = "/",
            expose_access_token_to_frontend_in_cookie_based_auth = false,
        }, c.session)
        assert.same({
            enabled = true, origins = null, allow_headers = {},
            expose_headers = {}, max_age = null,
        }, c.cors)
        assert.same({
            user_id = "X-SuperTokens-User-Id",
            recipe_user_id = "X-SuperTokens-Recipe-User-Id",
            session_handle = "X-SuperTokens-Session-Handle",
            tenant_id = "X-SuperTokens-Tenant-Id",
            payload = "X-SuperTokens-Access-Token-Payload",
            strip_incoming = true,
        }, c.upstream_headers)
        assert.same({
            connect_timeout = 1000, send_timeout = 5000,
            read_timeout = 5000, ssl_verify = true,
            max_body_size = 1048576, keepalive_timeout = 60000,
            keepalive_pool = 32,
        }, c.http)
        assert.same({ level = "warn", reasons = true }, c.log)
        assert.equal("supertokens", c.shared_dict)
        assert.equal(10000, c.token_cache_size)
        assert.equal(null, c.email_verification)
        assert.equal(null, c.claims)
        assert.equal(null, c.jwks)
        assert.equal(null, c.jwks_file)
        assert.equal(null, c.api_key)
        assert.equal(null, c.http_client)
        assert.is_true(c.session_required)
        assert.equal(null, c.anti_csrf_check)
        assert.is_false(c.check_database)
        assert.equal(null, c.override_global_claim_validators)
        assert.is_true(c.run_on_preflight)
    end)

    it("agrees with config.new()'s own defaults", function()
        -- same conf from the Kong-filled defaults as from the bare table
        local from_kong = assert(config.new(
            plugin_conf.user_config(ks.runtime_config(entity.config))))
        local bare = assert(config.new(base()))
        for _, k in ipairs({ "session", "http", "upstream_headers", "log",
                             "api_base_path", "refresh_path", "shared_dict",
                             "token_cache_size", "token_cache_min_uses",
                             "core_hosts" }) do
            assert.same(bare[k], from_kong[k], k)
        end
        assert.same(bare.cors.origins, from_kong.cors.origins)
        assert.equal(bare.cors.allow_headers_value,
                     from_kong.cors.allow_headers_value)
    end)

    it("keeps an explicit null (a disabled upstream header)", function()
        local c = base()
        c.upstream_headers = { payload = null }
        local e = assert(validate(c))
        assert.equal(null, e.config.upstream_headers.payload)
        assert.equal("X-SuperTokens-User-Id", e.config.upstream_headers.user_id)
    end)
end)


describe("kong schema rejects", function()
    local STATUS = "value should be between 300 and 599"
    local cases = {
        { "connection_uri", 5, "expected a string" },
        { "connection_uri", "", "length must be at least 1" },
        { "api_key", true, "expected a string" },
        { "app_info", "x", "expected a record" },
        { "app_info.api_domain", null, "required field missing" },
        { "app_info.api_domain", 1, "expected a string" },
        { "app_info.website_domain", null, "required field missing" },
        { "app_info.api_base_path", {}, "expected a string" },
        { "app_info.api_gateway_path", 1, "expected a string" },
        { "app_info.app_name", false, "expected a string" },
        { "app_info.website_base_path", 2, "expected a string" },
        { "app_info.nope", "x", "unknown field" },
        { "session.anti_csrf", "via_token",
          "expected one of: NONE, VIA_TOKEN, VIA_CUSTOM_HEADER" },
        { "session.get_token_transfer_method", "both",
          "expected one of: any, cookie, header" },
        { "session.session_expired_status_code", 200, STATUS },
        { "session.session_expired_status_code", 401.5,
          "expected an integer" },
        { "session.invalid_claim_status_code", 1000, STATUS },
        { "session.session_expired_status_code", 600, STATUS },
        { "session.invalid_claim_status_code", 499,
          "must not be one of: 444, 499" },
        { "session.session_expired_status_code", 444,
          "must not be one of: 444, 499" },
        { "session.invalid_claim_status_code", "403",
          "expected an integer" },
        { "session.use_dynamic_access_token_signing_key", "true",
          "expected a boolean" },
        { "session.jwks_refresh_interval_sec", 0,
          "value must be greater than 0" },
        { "session.jwks_refresh_interval_sec", "1", "expected a number" },
        { "session.cookie_domain", 1, "expected a string" },
        { "session.older_cookie_domain", 1, "expected a string" },
        { "session.cookie_same_site", "Lax",
          "expected one of: lax, strict, none" },
        { "session.cookie_secure", "yes", "expected a boolean" },
        { "session.access_token_path", "", "length must be at least 1" },
        { "session.expose_access_token_to_frontend_in_cookie_based_auth",
          1, "expected a boolean" },
        { "session.cookie_name", "x", "unknown field" },
        { "email_verification.mode", "required",
          "expected one of: REQUIRED, OPTIONAL" },
        { "email_verification.mode", null, "required field missing" },
        { "claims", "st-ev", "expected an array" },
        { "claims.1.claim", null, "required field missing" },
        { "jwks", {}, "expected a string" },
        { "jwks_file", 1, "expected a string" },
        { "public_suffix_list", true, "expected a string" },
        { "shared_dict", "", "length must be at least 1" },
        { "token_cache_size", -1, "value should be between 0 and 10000000" },
        { "token_cache_size", 1.5, "expected an integer" },
        { "cors.enabled", "no", "expected a boolean" },
        { "cors.origins", "http://a", "expected an array" },
        { "cors.allow_headers", { 1 }, { "expected a string" } },
        { "cors.expose_headers", "x", "expected an array" },
        { "cors.max_age", -1, "value should be between 0 and 31536000" },
        { "upstream_headers.user_id", 1, "expected a string" },
        { "upstream_headers.recipe_user_id", "", "length must be at least 1" },
        { "upstream_headers.session_handle", true, "expected a string" },
        { "upstream_headers.tenant_id", {}, "expected a string" },
        { "upstream_headers.payload", 2, "expected a string" },
        { "upstream_headers.strip_incoming", "yes", "expected a boolean" },
        { "http.connect_timeout", -1,
          "value should be between 0 and 3600000" },
        { "http.send_timeout", 1.5, "expected an integer" },
        { "http.read_timeout", 3600001,
          "value should be between 0 and 3600000" },
        { "http.ssl_verify", "false", "expected a boolean" },
        { "http.max_body_size", -5,
          "value should be between 0 and 1073741824" },
        { "http.keepalive_timeout", "1", "expected an integer" },
        { "http.keepalive_pool", 10001,
          "value should be between 0 and 10000" },
        { "http_client", 1, "expected a string" },
        { "log.level", "warning",
          "expected one of: debug, info, notice, warn, error, crit" },
        { "log.reasons", "yes", "expected a boolean" },
        { "session_required", null, "required field missing" },
        { "session_required", "false", "expected a boolean" },
        { "anti_csrf_check", 0, "expected a boolean" },
        { "check_database", null, "required field missing" },
        { "override_global_claim_validators", {}, nil },  -- valid: none
        { "run_on_preflight", null, "required field missing" },
        { "run_on_preflight", "yes", "expected a boolean" },
        { "no_such_option", true, "unknown field" },
    }

    for _, c in ipairs(cases) do
        local path, value, want = c[1], c[2], c[3]
        if want ~= nil then
            it(path .. " = " .. cjson.encode(value), function()
                local got, all = field_error(path, value)
                assert.same(want, got, cjson.encode(all))
            end)
        end
    end

    it("accepts override_global_claim_validators = [] (none)", function()
        local c = base()
        c.override_global_claim_validators = {}
        local e = assert(validate(c))
        assert.same({}, plugin_conf.route_opts(e.config).claims)
    end)

    it("accepts the MFA check (conformance configuration mfa)", function()
        local c = base()
        c.claims = { { claim = "st-mfa", check = "mfa_completed" } }
        local e = assert(validate(c))
        assert.same({ { claim = "st-mfa", check = "mfa_completed" } },
                    plugin_conf.user_config(e.config).claims)
    end)

    it("checks every claim validator field", function()
        local function spec_err(spec)
            local c = base()
            c.claims = { spec }
            local _, err = validate(c)
            return err and err.config and err.config.claims
                   and err.config.claims[1]
        end
        assert.same({ check = "expected one of: is_verified, has_value, "
                      .. "is_true, is_false, includes, excludes, "
                      .. "includes_all, excludes_all, includes_any, "
                      .. "mfa_completed" },
                    spec_err({ claim = "st-role", check = "contains" }))
        assert.same({ check = "required field missing" },
                    spec_err({ claim = "st-role" }))
        assert.same({ value = "expected a string" },
                    spec_err({ claim = "x", check = "has_value", value = 1 }))
        assert.same({ values = { [2] = "expected a string" } },
                    spec_err({ claim = "st-role", check = "includes_all",
                               values = { "a", false } }))
        assert.same({ max_age = "value should be between 0 and 315360000" },
                    spec_err({ claim = "x", check = "is_true",
                               max_age = -1 }))
        assert.same({ refetch_time_on_false =
                          "value should be between 0 and 315360000" },
                    spec_err({ claim = "st-ev", check = "is_verified",
                               refetch_time_on_false = -1 }))
        assert.same({ id = "expected a string" },
                    spec_err({ claim = "x", check = "is_true", id = 5 }))
        assert.same({ extra = "unknown field" },
                    spec_err({ claim = "x", check = "is_true", extra = 1 }))
    end)

    it("refuses '*' in cors.origins with the OpenResty module's rule",
       function()
        local got = field_error("cors.origins", { WEB, "*" })
        assert.same({ [2] = "cors.origins: '*' cannot be combined with "
                            .. "credentials; list the website origins" },
                    got)
    end)

    it("refuses a consumer (typedefs.no_consumer)", function()
        local entity, err = ks.validate_plugin_config(base(), schema,
            { consumer = { id = "c1" } })
        assert.is_nil(entity)
        assert.same({ consumer = "value must be null" }, err)
    end)

    it("refuses a non-HTTP protocol (typedefs.protocols_http)", function()
        local entity, err = ks.validate_plugin_config(base(), schema,
            { protocols = { "http", "tcp" } })
        assert.is_nil(entity)
        assert.same({ protocols = { [2] = "expected one of: grpc, grpcs, "
                                          .. "http, https" } }, err)
    end)
end)


describe("kong schema entity checks", function()
    local function entity_errors(conf)
        local entity, err = validate(conf)
        assert.is_nil(entity)
        return err["@entity"], err
    end

    it("status codes must differ (distinct + config.new)", function()
        local c = base()
        c.session = { session_expired_status_code = 403 }
        local list = entity_errors(c)
        assert.same({
            "values of these fields must be distinct: "
            .. "'config.session.session_expired_status_code', "
            .. "'config.session.invalid_claim_status_code'",
            "supertokens.config: session.invalid_claim_status_code: "
            .. "must differ from session.session_expired_status_code "
            .. "(both are 403)",
        }, list)
    end)

    it("needs a core or static keys", function()
        local c = base()
        c.connection_uri = nil
        local list = entity_errors(c)
        assert.equal("at least one of these fields must be non-empty: "
                     .. "'config.connection_uri', 'config.jwks', "
                     .. "'config.jwks_file'", list[1])
        assert.equal("supertokens.config: connection_uri: required unless "
                     .. "jwks or jwks_file is given", list[2])
    end)

    it("static keys alone are enough", function()
        local c = base()
        c.connection_uri = nil
        c.jwks_file = "/etc/kong/jwks.json"
        assert.truthy(validate(c))
    end)

    it("runs config.new(): its messages reach the Admin API", function()
        local c = base()
        c.connection_uri = "ftp://core:3567"
        local list = entity_errors(c)
        assert.same({ "supertokens.config: connection_uri: "
                      .. "'ftp://core:3567' is not an http(s) URL" }, list)

        c = base()
        c.upstream_headers = { user_id = "X User" }
        list = entity_errors(c)
        assert.same({ "supertokens.config: upstream_headers.user_id: must "
                      .. "be a valid header name" }, list)

        c = base()
        c.claims = { { claim = "st-role", check = "is_verified" } }
        list = entity_errors(c)
        assert.same({ "supertokens.config: claims: [1].check: is_verified "
                      .. "is for claim st-ev" }, list)
    end)

    it("refuses what the data plane would refuse when it builds its state",
       function()
        local c = base()
        c.connection_uri = nil
        c.jwks = "{"
        assert.same({ "supertokens.keys: jwks: not a usable JWKS (bad_json)" },
                    entity_errors(c))
        c.jwks = '{"keys":[]}'
        assert.same({ "supertokens.keys: jwks: not a usable JWKS (no_keys)" },
                    entity_errors(c))

        c = base()
        c.http_client = "no.such.module"
        local list = entity_errors(c)
        assert.equal(1, #list)
        assert.matches("^supertokens.http: http_client: cannot load module "
                       .. "'no.such.module': ", list[1])

        c = base()
        c.upstream_headers = { user_id = "Host" }
        assert.same({ "supertokens.config: upstream_headers.user_id: 'Host' "
                      .. "is a header the request needs as it is (framing, "
                      .. "routing, credentials or the SDK's own)" },
                    entity_errors(c))

        c = base()
        c.session = { jwks_refresh_interval_sec = math.huge }
        list = entity_errors(c)
        assert.equal("supertokens.config: session.jwks_refresh_interval_sec: "
                     .. "must be a finite number", list[#list])
    end)

    it("runs decide.route() on the route options", function()
        local c = base()
        c.override_global_claim_validators = {
            { claim = "st-role", check = "is_verified" } }
        local list = entity_errors(c)
        assert.equal(1, #list)
        assert.matches("^supertokens: route options: .*claims.*%[1%]%.check: "
                       .. "is_verified is for claim st%-ev", list[1])
    end)

    it("names the Kong field a claim value is in (value / values)",
       function()
        local function err_for(field, spec)
            local c = base()
            c[field] = { spec }
            return entity_errors(c)[1]
        end
        assert.equal("supertokens.config: claims: [1].values: not read by "
                     .. "check includes; it reads value",
                     err_for("claims", { claim = "st-role", check = "includes",
                                         values = { "a" } }))
        assert.equal("supertokens.config: claims: [1].value: not read by "
                     .. "check includes_all; it reads values",
                     err_for("claims", { claim = "st-role",
                                         check = "includes_all", value = "a",
                                         values = { "a" } }))
        assert.equal("supertokens.config: claims: [1].value: not read by "
                     .. "check is_true",
                     err_for("claims", { claim = "x", check = "is_true",
                                         value = "a" }))
        assert.equal("supertokens: route options: "
                     .. "override_global_claim_validators: [1].values: must "
                     .. "be a non-empty list",
                     err_for("override_global_claim_validators",
                             { claim = "st-role", check = "includes_all",
                               values = {} }))
        assert.equal("supertokens.config: claims: [1].values: must be a "
                     .. "non-empty list",
                     err_for("claims", { claim = "st-role",
                                         check = "excludes_all" }))
    end)

    it("skips config.new() while a field is invalid", function()
        local c = base()
        c.session = { anti_csrf = "bad" }
        local list, err = entity_errors(c)
        assert.is_nil(list)
        assert.equal("expected one of: NONE, VIA_TOKEN, VIA_CUSTOM_HEADER",
                     err.config.session.anti_csrf)
    end)
end)


describe("the conformance configs through the Kong schema", function()
    local env = require "resty.supertokens.env"

    local function configs()
        local p = io.popen("node -e 'process.stdout.write(JSON.stringify("
                           .. "require(\"./spec/conformance/configs.js\")))'")
        local out = p:read("*a")
        p:close()
        return assert(cjson.decode(out), "configs.js: " .. out)
    end

    it("give config.new() the same conf as the OpenResty gateway", function()
        local seen = 0
        for _, c in ipairs(configs()) do
            local vars = merge_env(c.env)
            local user = env.config({
                getenv = function(k) return vars[k] end,
                default_jwks_file = "/tmp/jwks.json" })
            local direct = assert(config.new(user))
            local as_kong = ks.deep_copy(user)
            ks.plugin_claims(as_kong.claims)
            local entity, err = validate(as_kong)
            if c.env.ST_INVALID_CLAIM_STATUS_CODE == "499" then
                -- customCodes: 499 cannot be sent through Kong
                assert.is_nil(entity, c.name)
                assert.equal("must not be one of: 444, 499",
                             err.config.session.invalid_claim_status_code)
            else
                assert.truthy(entity, c.name .. ": " .. cjson.encode(err))
                local via_kong = assert(config.new(plugin_conf.user_config(
                    ks.runtime_config(entity.config))))
                for _, k in ipairs({ "session", "upstream_headers", "http",
                                     "core_hosts", "jwks_urls", "api_domain",
                                     "website_domain", "refresh_path",
                                     "claim_validators", "jwks_file" }) do
                    assert.same(direct[k], via_kong[k], c.name .. " " .. k)
                end
                seen = seen + 1
            end
        end
        assert.is_true(seen >= 7)
    end)
end)


describe("examples/kong/kong.yml", function()
    it("holds plugin configs the schema accepts", function()
        local ok, lyaml = pcall(require, "lyaml")
        if not ok then
            -- Debian package lua-yaml (see the report / .ci/deps.sh)
            pending("lyaml (lua-yaml) is not installed")
            return
        end
        local f = assert(io.open(TOP .. "/examples/kong/kong.yml"))
        local doc = lyaml.load(f:read("*a"))
        f:close()
        assert.equal("3.0", doc._format_version)
        local n = 0
        for _, svc in ipairs(doc.services) do
            for _, route in ipairs(svc.routes) do
                for _, p in ipairs(route.plugins or {}) do
                    assert.equal("supertokens", p.name)
                    local entity, err = validate(p.config)
                    assert.truthy(entity, route.name .. ": "
                                          .. cjson.encode(err))
                    n = n + 1
                end
            end
        end
        assert.equal(3, n)
    end)
end)


describe("kong config -> OpenResty config (conf.lua)", function()
    it("drops Kong's own keys and unset fields", function()
        local e = assert(validate(base()))
        local c = ks.runtime_config(e.config)
        c.route_id, c.__key__, c.__seq__ = "r1", "k", 3
        c.__plugin_id, c.plugin_instance_name = "p", "n"
        local user = plugin_conf.user_config(c)
        assert.is_nil(user.route_id)
        assert.is_nil(user.__key__)
        assert.is_nil(user.session_required)
        assert.is_nil(user.run_on_preflight)
        assert.is_nil(user.http_client)
        assert.is_nil(user.email_verification)
        assert.is_nil(user.session.anti_csrf)
        assert.equal("http://127.0.0.1:3567", user.connection_uri)
        assert.truthy(config.new(user))
    end)

    it("turns an unset upstream header into false (not sent)", function()
        local c = base()
        c.upstream_headers = { payload = null, tenant_id = null }
        local e = assert(validate(c))
        for _, conf in ipairs({ e.config, ks.runtime_config(e.config) }) do
            local user = plugin_conf.user_config(conf)
            assert.is_false(user.upstream_headers.payload)
            assert.is_false(user.upstream_headers.tenant_id)
            assert.equal("X-SuperTokens-User-Id",
                         user.upstream_headers.user_id)
            local conf_new = assert(config.new(user))
            assert.is_false(conf_new.upstream_headers.payload)
        end
    end)

    it("maps claim specs (value / values) and route options", function()
        local c = base()
        c.claims = {
            { claim = "st-role", check = "includes", value = "admin" },
            { claim = "st-perm", check = "includes_all",
              values = { "read", "write" }, max_age = 60, id = "perm" },
        }
        c.email_verification = { mode = "REQUIRED" }
        c.anti_csrf_check = false
        c.check_database = true
        c.session_required = false
        c.override_global_claim_validators = {
            { claim = "st-ev", check = "is_verified",
              refetch_time_on_false = 5 } }
        local e = assert(validate(c))
        local rc = ks.runtime_config(e.config)
        local user = plugin_conf.user_config(rc)
        assert.same({
            { claim = "st-role", check = "includes", value = "admin" },
            { claim = "st-perm", check = "includes_all",
              value = { "read", "write" }, max_age = 60, id = "perm" },
        }, user.claims)
        assert.same({ mode = "REQUIRED" }, user.email_verification)
        assert.same({
            session_required = false, check_database = true,
            anti_csrf_check = false,
            claims = { { claim = "st-ev", check = "is_verified",
                         refetch_time_on_false = 5 } },
        }, plugin_conf.route_opts(rc))
        local conf_new = assert(config.new(user))
        assert.equal(3, #conf_new.claim_validators)
    end)

    it("leaves anti_csrf_check and claims unset when not given", function()
        local e = assert(validate(base()))
        assert.same({ session_required = true, check_database = false },
                    plugin_conf.route_opts(ks.runtime_config(e.config)))
    end)
end)
