-- resty.supertokens.env: ST_* variables -> config (plain LuaJIT; the same
-- mapping runs in the gateway, the demo and the Kong example), checked
-- against config.new() so the result is a valid config.

local env = require "resty.supertokens.env"
local config = require "resty.supertokens.config"


local function from(vars, opts)
    opts = opts or {}
    opts.getenv = function(name)
        return vars[name]
    end
    return env.config(opts)
end


-- The error from() raises for vars (with a core, so only vars are judged).
local function err_of(vars)
    vars.ST_CONNECTION_URI = "http://x"
    local ok, err = pcall(from, vars)
    assert.is_false(ok)
    return err
end


describe("resty.supertokens.env", function()
    it("maps every ST_* variable", function()
        local c = from({
            ST_CONNECTION_URI = "http://127.0.0.1:3567;http://h:1/appid-a",
            ST_API_KEY = "key-1",
            ST_API_DOMAIN = "https://api.example.com",
            ST_WEBSITE_DOMAIN = "https://example.org",
            ST_API_BASE_PATH = "/authx",
            ST_ANTI_CSRF = "via_token",
            ST_TOKEN_TRANSFER_METHOD = "header",
            ST_SESSION_EXPIRED_STATUS_CODE = "440",
            ST_INVALID_CLAIM_STATUS_CODE = "499",
            ST_USE_DYNAMIC_ACCESS_TOKEN_SIGNING_KEY = "false",
            ST_EMAIL_VERIFICATION = "required",
            ST_COOKIE_DOMAIN = ".example.com",
            ST_OLDER_COOKIE_DOMAIN = "",
            ST_COOKIE_SAME_SITE = "strict",
            ST_COOKIE_SECURE = "on",
            ST_JWKS_REFRESH_INTERVAL_SEC = "60",
            ST_JWKS_FILE = "/etc/jwks.json",
            ST_JWKS_MAX_STALE_SEC = "3600",
            ST_API_GATEWAY_PATH = "/gw",
            ST_ACCESS_TOKEN_PATH = "api/",
            ST_EXPOSE_ACCESS_TOKEN_TO_FRONTEND_IN_COOKIE_BASED_AUTH = " Yes ",
            ST_CLAIMS = '[{"claim":"st-role","check":"includes",'
                        .. '"value":"admin"}]',
        })
        assert.same({
            connection_uri = "http://127.0.0.1:3567;http://h:1/appid-a",
            api_key = "key-1",
            app_info = { api_domain = "https://api.example.com",
                         website_domain = "https://example.org",
                         api_base_path = "/authx",
                         api_gateway_path = "/gw" },
            session = {
                anti_csrf = "VIA_TOKEN",
                get_token_transfer_method = "header",
                session_expired_status_code = 440,
                invalid_claim_status_code = 499,
                use_dynamic_access_token_signing_key = false,
                cookie_domain = ".example.com",
                older_cookie_domain = "",
                cookie_same_site = "strict",
                cookie_secure = true,
                jwks_refresh_interval_sec = 60,
                access_token_path = "api/",
                expose_access_token_to_frontend_in_cookie_based_auth = true,
            },
            email_verification = { mode = "REQUIRED" },
            jwks_file = "/etc/jwks.json",
            jwks_max_stale_sec = 3600,
            claims = { { claim = "st-role", check = "includes",
                         value = "admin" } },
        }, c)
        local conf = assert(config.new(c))
        assert.equal("VIA_TOKEN", conf.session.anti_csrf)
        assert.equal(2, #conf.jwks_urls)
        assert.equal("/gw/authx/session/refresh", conf.refresh_path)
        assert.equal("/api", conf.session.access_token_path)
        assert.is_true(conf.session
            .expose_access_token_to_frontend_in_cookie_based_auth)
    end)

    it("defaults to the oracle's domains and the demo's JWKS", function()
        local c = from({}, { default_jwks_file = "/demo/jwks.json" })
        assert.equal("http://localhost:3001", c.app_info.api_domain)
        assert.equal("http://localhost:3000", c.app_info.website_domain)
        assert.equal("/demo/jwks.json", c.jwks_file)
        assert.is_nil(c.connection_uri)
        assert.is_nil(c.session.older_cookie_domain)
        assert(config.new(c))
    end)

    it("treats empty values as unset (except ST_OLDER_COOKIE_DOMAIN)",
       function()
        local c = from({ ST_CONNECTION_URI = "http://127.0.0.1:1",
                         ST_ANTI_CSRF = "", ST_COOKIE_SECURE = "",
                         ST_EMAIL_VERIFICATION = "" })
        assert.is_nil(c.session.anti_csrf)
        assert.is_nil(c.session.cookie_secure)
        assert.is_nil(c.email_verification)
        assert.is_nil(c.jwks_file)
    end)

    it("ST_EMAIL_VERIFICATION=NONE means no email verification", function()
        local c = from({ ST_CONNECTION_URI = "http://127.0.0.1:1",
                         ST_EMAIL_VERIFICATION = "NONE" })
        assert.is_nil(c.email_verification)
    end)

    it("names the variable on a bad value", function()
        assert.has_error(function()
            from({ ST_CONNECTION_URI = "http://x", ST_COOKIE_SECURE = "maybe" })
        end, "supertokens.env: ST_COOKIE_SECURE: must be true or false")
        assert.has_error(function()
            from({ ST_CONNECTION_URI = "http://x",
                   ST_SESSION_EXPIRED_STATUS_CODE = "4o1" })
        end, "supertokens.env: ST_SESSION_EXPIRED_STATUS_CODE: must be an "
             .. "integer")
        assert.has_error(function()
            from({ ST_CONNECTION_URI = "http://x",
                   ST_EMAIL_VERIFICATION = "sometimes" })
        end, "supertokens.env: ST_EMAIL_VERIFICATION: must be REQUIRED, "
             .. "OPTIONAL or NONE")
    end)

    it("messages carry no source position; numbers are finite", function()
        assert.equal("supertokens.env: ST_COOKIE_SECURE: must be true or "
                     .. "false", err_of({ ST_COOKIE_SECURE = "maybe" }))
        assert.equal("supertokens.env: ST_SESSION_EXPIRED_STATUS_CODE: must "
                     .. "be an integer",
                     err_of({ ST_SESSION_EXPIRED_STATUS_CODE = "inf" }))
        assert.equal("supertokens.env: ST_JWKS_REFRESH_INTERVAL_SEC: must "
                     .. "be a number",
                     err_of({ ST_JWKS_REFRESH_INTERVAL_SEC = "1e999" }))
        assert.equal("supertokens.env: ST_JWKS_REFRESH_INTERVAL_SEC: must "
                     .. "be a number",
                     err_of({ ST_JWKS_REFRESH_INTERVAL_SEC = "nan" }))
        local c = from({ ST_CONNECTION_URI = "http://x",
                         ST_JWKS_REFRESH_INTERVAL_SEC = "1.5",
                         ST_TOKEN_TRANSFER_METHOD = "HEADER" })
        assert.equal(1.5, c.session.jwks_refresh_interval_sec)
        assert.equal("header", c.session.get_token_transfer_method)
        assert.truthy(config.new(c))
    end)

    it("ST_CLAIMS is the claims option, as a JSON list", function()
        local c = from({ ST_CONNECTION_URI = "http://x", ST_CLAIMS =
            ' [{"claim":"st-role","check":"includes","value":"admin"},'
            .. '{"claim":"st-perm","check":"includes_all",'
            .. '"value":["read","write"],"max_age":300,"id":"p"}]' })
        assert.same({
            { claim = "st-role", check = "includes", value = "admin" },
            { claim = "st-perm", check = "includes_all",
              value = { "read", "write" }, max_age = 300, id = "p" },
        }, c.claims)
        local conf = assert(config.new(c))
        assert.equal(2, #conf.claim_validators)
        assert.equal("p", conf.claim_validators[2].id)
        assert.is_nil(from({ ST_CONNECTION_URI = "http://x",
                             ST_CLAIMS = "" }).claims)
        for _, bad in ipairs({ "{}", '{"claim":"st-role"}', "[1,", "5",
                               '"x"', "null" }) do
            assert.equal("supertokens.env: ST_CLAIMS: must be a JSON list",
                         err_of({ ST_CLAIMS = bad }))
        end
        -- the specs themselves are judged by config.new()
        local _, err = config.new(from({ ST_CONNECTION_URI = "http://x",
            ST_CLAIMS = '[{"claim":"st-role","check":"has"}]' }))
        assert.matches("^supertokens.config: claims: %[1%]%.check", err)
    end)

    it("the three path/expose variables: unset, empty and bad values",
       function()
        local c = from({ ST_CONNECTION_URI = "http://x",
                         ST_API_GATEWAY_PATH = "", ST_ACCESS_TOKEN_PATH = "",
                         ST_EXPOSE_ACCESS_TOKEN_TO_FRONTEND_IN_COOKIE_BASED_AUTH
                             = "" })
        assert.is_nil(c.app_info.api_gateway_path)
        assert.is_nil(c.session.access_token_path)
        assert.is_nil(
            c.session.expose_access_token_to_frontend_in_cookie_based_auth)
        local conf = assert(config.new(c))
        assert.equal("/auth/session/refresh", conf.refresh_path)
        assert.equal("/", conf.session.access_token_path)
        assert.equal("supertokens.env: "
                     .. "ST_EXPOSE_ACCESS_TOKEN_TO_FRONTEND_IN_COOKIE_BASED_AUTH"
                     .. ": must be true or false", err_of({
            ST_EXPOSE_ACCESS_TOKEN_TO_FRONTEND_IN_COOKIE_BASED_AUTH = "2" }))
        c = from({ ST_CONNECTION_URI = "http://x", ST_ACCESS_TOKEN_PATH = "/",
                   ST_API_GATEWAY_PATH = "gw/",
                   ST_EXPOSE_ACCESS_TOKEN_TO_FRONTEND_IN_COOKIE_BASED_AUTH
                       = "false" })
        conf = assert(config.new(c))
        assert.equal("/", conf.session.access_token_path)
        assert.equal("/gw/auth/session/refresh", conf.refresh_path)
        assert.is_false(conf.session
            .expose_access_token_to_frontend_in_cookie_based_auth)
    end)

    it("examples/openresty/nginx.conf passes every variable to workers",
       function()
        local f = assert(io.open("examples/openresty/nginx.conf"))
        local text = f:read("*a")
        f:close()
        for _, name in ipairs(env.NAMES) do
            assert.truthy(text:find("\nenv " .. name .. ";", 1, true), name)
        end
    end)

    it("needs a core or keys", function()
        assert.has_error(function()
            from({})
        end, "supertokens.env: set ST_CONNECTION_URI (a core) or "
             .. "ST_JWKS_FILE (static keys)")
    end)

    it("a value outside its choices is named by the variable", function()
        assert.equal("supertokens.env: ST_ANTI_CSRF: must be one of NONE, "
                     .. "VIA_TOKEN, VIA_CUSTOM_HEADER",
                     err_of({ ST_ANTI_CSRF = "SOMETIMES" }))
        assert.equal("supertokens.env: ST_TOKEN_TRANSFER_METHOD: must be one "
                     .. "of any, cookie, header",
                     err_of({ ST_TOKEN_TRANSFER_METHOD = "both" }))
        assert.equal("supertokens.env: ST_COOKIE_SAME_SITE: must be one of "
                     .. "strict, lax, none",
                     err_of({ ST_COOKIE_SAME_SITE = "sometimes" }))
        local c = from({ ST_CONNECTION_URI = "http://x",
                         ST_COOKIE_SAME_SITE = "Strict" })
        assert.equal("strict", c.session.cookie_same_site)
        -- trimmed too, as the SDK's cookieSameSite
        c = from({ ST_CONNECTION_URI = "http://x",
                   ST_COOKIE_SAME_SITE = " None\t" })
        assert.equal("none", c.session.cookie_same_site)
    end)

    it("bad values for config.new name the config field", function()
        local c = from({ ST_CONNECTION_URI = "http://x",
                         ST_API_DOMAIN = "not a url" })
        local conf, err = config.new(c)
        assert.is_nil(conf)
        assert.matches("app_info%.api_domain", err)
    end)
end)
