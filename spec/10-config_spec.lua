-- config.new(): the SDK's defaults, normalisation and validation.
-- Expected values: wire-constants.json (defaults), sdk-normalisation.json
-- (recorded from supertokens-node 24.0.3), observed.json configs, spec §3-§7.
local config = require "resty.supertokens.config"
local normalise = require "resty.supertokens.normalise"
local psl = require "resty.supertokens.psl"
local H = require "spec.helpers.flow"

local defaults = H.wire.defaults


describe("config.new defaults (server.js defaults: api :3001, web :3000)", function()
    local conf = H.conf()

    it("matches the SDK defaults of wire-constants.json", function()
        local s = conf.session
        assert.equal(defaults.sessionExpiredStatusCode,
                     s.session_expired_status_code)
        assert.equal(defaults.invalidClaimStatusCode,
                     s.invalid_claim_status_code)
        assert.equal(defaults.jwksRefreshIntervalSec,
                     s.jwks_refresh_interval_sec)
        assert.equal(defaults.jwksRefreshIntervalSec,
                     conf.jwks_refresh_interval_sec)
        assert.equal(defaults.useDynamicAccessTokenSigningKey,
                     s.use_dynamic_access_token_signing_key)
        assert.equal(defaults.accessTokenPath, s.access_token_path)
        assert.equal(defaults.cdiVersionSentByNode24, conf.cdi_version)
        assert.equal("any", s.get_token_transfer_method)
    end)

    it("derives lax / not secure / NONE for same-site http domains", function()
        -- spec Appendix C: default config => SameSite=Lax, antiCsrf NONE
        assert.equal("lax", conf.session.cookie_same_site)
        assert.is_false(conf.session.cookie_secure)
        assert.equal("NONE", conf.session.anti_csrf)
    end)

    it("puts the refresh path under apiBasePath", function()
        -- refreshTokenPath: <apiBasePath>/session/refresh (default /auth)
        assert.equal("/auth", conf.api_base_path)
        assert.equal("/auth/session/refresh", conf.refresh_path)
        local c2 = H.conf({ app_info = { api_base_path = "/" } })
        assert.equal("/session/refresh", c2.refresh_path)
        local c3 = H.conf({ app_info = { api_base_path = "api/auth/",
                                         api_gateway_path = "/gw" } })
        assert.equal("/gw/api/auth/session/refresh", c3.refresh_path)
    end)

    it("has the documented gateway-only defaults", function()
        assert.equal("supertokens", conf.shared_dict)
        assert.equal(10000, conf.token_cache_size)
        assert.equal(2, conf.token_cache_min_uses)
        assert.equal(86400, conf.jwks_max_stale_sec)
        assert.equal(1000, conf.http.connect_timeout)
        assert.equal(5000, conf.http.read_timeout)
        assert.is_true(conf.http.ssl_verify)
        assert.equal("X-SuperTokens-User-Id", conf.upstream_headers.user_id)
        assert.is_true(conf.cors.enabled)
        assert.same({ "http://localhost:3000" }, conf.cors.origins)
        assert.same({}, conf.claim_validators)
        assert.is_nil(conf.warnings)
    end)

    it("splits connection_uri on ';' like the SDK Querier", function()
        local c = H.conf({
            connection_uri = " http://A:3567;;https://core.example.com/appid-x/;",
        })
        assert.same({ { domain = "http://a:3567", base_path = "" },
                      { domain = "https://core.example.com",
                        base_path = "/appid-x" } }, c.core_hosts)
        assert.same({ "http://a:3567/.well-known/jwks.json",
                      "https://core.example.com/appid-x/.well-known/jwks.json" },
                    c.jwks_urls)
    end)

    it("is read-only", function()
        assert.has_error(function()
            conf.new_key = 1
        end)
    end)
end)


describe("config.new SameSite / Secure / anti-csrf defaults", function()
    local function derive(api, web)
        return H.conf({ app_info = { api_domain = api,
                                     website_domain = web } }).session
    end

    it("observed crossSite config: none + secure + VIA_CUSTOM_HEADER", function()
        local cs = H.ORACLE_ENV.crossSite.app_info
        local s = derive(cs.api_domain, cs.website_domain)
        assert.equal("none", s.cookie_same_site)
        assert.is_true(s.cookie_secure)
        assert.equal("VIA_CUSTOM_HEADER", s.anti_csrf)
    end)

    it("Appendix C crossSite (api.example.com vs example.org) is none", function()
        local s = derive("https://api.example.com", "https://example.org")
        assert.equal("none", s.cookie_same_site)
    end)

    it("same registrable domain, same protocol is lax", function()
        local s = derive("https://api.example.com", "https://app.example.com")
        assert.equal("lax", s.cookie_same_site)
        assert.equal("NONE", s.anti_csrf)
    end)

    it("a protocol difference alone makes it none", function()
        local s = derive("https://localhost:3001", "http://localhost:3000")
        assert.equal("none", s.cookie_same_site)
        assert.is_true(s.cookie_secure)
    end)

    it("localhost and IPs count as one top-level domain", function()
        local s = derive("http://127.0.0.1:3001", "http://localhost:3000")
        assert.equal("lax", s.cookie_same_site)
        -- the SDK only forbids none+insecure when creating sessions
        local s2 = derive("http://localhost:3001", "http://127.0.0.1:3000")
        assert.equal("lax", s2.cookie_same_site)
    end)

    it("warns (does not fail) on none without secure", function()
        local c = H.conf({ session = { cookie_same_site = "none" } })
        assert.equal("none", c.session.cookie_same_site)
        assert.equal("VIA_CUSTOM_HEADER", c.session.anti_csrf)
        assert.equal(1, #c.warnings)
    end)

    it("explicit settings win", function()
        local c = H.conf({ session = { cookie_same_site = " Strict ",
                                       cookie_secure = true,
                                       anti_csrf = "VIA_TOKEN" } })
        assert.equal("strict", c.session.cookie_same_site)
        assert.is_true(c.session.cookie_secure)
        assert.equal("VIA_TOKEN", c.session.anti_csrf)
    end)

    it("needs a suffix list only when the hosts differ", function()
        local c = H.conf({ public_suffix_list = "/nonexistent/psl.dat",
                           app_info = { api_domain = "https://example.com",
                                        website_domain = "https://example.com:8443" } })
        assert.equal("lax", c.session.cookie_same_site)
        local bad, err = config.new(H.user_config({
            public_suffix_list = "/nonexistent/psl.dat",
            app_info = { api_domain = "https://api.example.com",
                         website_domain = "https://example.org" } }))
        assert.is_nil(bad)
        assert.matches("^supertokens%.config: session%.cookie_same_site: "
                       .. "cannot derive the default", err)
    end)
end)


describe("normalisers match supertokens-node (sdk-normalisation.json)", function()
    local function check(list, fn)
        for _, e in ipairs(list) do
            local out, err = fn(e["in"])
            if e.error then
                assert.is_nil(out, "input " .. e["in"])
                assert.equal(e.error, err, "input " .. e["in"])
            else
                assert.equal(e.out, out, "input " .. e["in"])
            end
        end
    end

    it("NormalisedURLDomain", function()
        check(H.sdk_norm.domain, normalise.domain)
    end)

    it("NormalisedURLPath", function()
        check(H.sdk_norm.path, normalise.path)
    end)

    it("normaliseSessionScopeOrThrowError (cookieDomain)", function()
        check(H.sdk_norm.sessionScope, function(s)
            local out, err = normalise.session_scope(s)
            if not out then
                return nil, "Please provide a valid sessionScope", err
            end
            return out
        end)
    end)

    it("getTopLevelDomainForSameSiteResolution", function()
        local list = function()
            return psl.load(H.PSL)
        end
        check(H.sdk_norm.topLevelDomain, function(u)
            return normalise.top_level_domain(u, list)
        end)
    end)

    it("normaliseSameSiteOrThrowError", function()
        for _, e in ipairs(H.sdk_norm.sameSite) do
            local c, err = config.new(H.user_config({
                session = { cookie_same_site = e["in"] } }))
            if e.error then
                assert.is_nil(c)
                assert.equal("supertokens.config: session.cookie_same_site: "
                             .. "must be one of strict, lax, none", err)
            else
                assert.equal(e.out, c.session.cookie_same_site)
            end
        end
    end)

    it("keeps the leading dot of cookie_domain (customCodes config)", function()
        local c = H.conf({ session = { cookie_domain = ".Example.com",
                                       older_cookie_domain = "" } })
        assert.equal(".example.com", c.session.cookie_domain)
        assert.equal("", c.session.older_cookie_domain)
    end)
end)


describe("config.new errors name the field", function()
    local function err_of(overrides, base)
        local u = base or H.user_config(overrides)
        local c, err = config.new(u)
        assert.is_nil(c)
        return err
    end

    it("anti_csrf", function()
        assert.equal("supertokens.config: session.anti_csrf: must be one of "
                     .. "NONE, VIA_TOKEN, VIA_CUSTOM_HEADER",
                     err_of({ session = { anti_csrf = "VIA_COOKIE" } }))
    end)

    it("equal status codes, naming both fields", function()
        local e = err_of({ session = { session_expired_status_code = 403 } })
        assert.equal("supertokens.config: session.invalid_claim_status_code: "
                     .. "must differ from session.session_expired_status_code"
                     .. " (both are 403)", e)
    end)

    it("status codes below 300 (the SDK refuses to send them)", function()
        assert.matches("session%.session_expired_status_code",
                       err_of({ session = { session_expired_status_code = 200 } }))
    end)

    it("transfer method", function()
        assert.equal("supertokens.config: session.get_token_transfer_method: "
                     .. "must be one of any, cookie, header",
                     err_of({ session = { get_token_transfer_method = "both" } }))
    end)

    it("unknown keys, all of them", function()
        assert.equal("supertokens.config: unknown keys sesion, session.anti_csfr",
                     err_of({ sesion = {}, session = { anti_csfr = "NONE" } }))
    end)

    it("types", function()
        assert.equal("supertokens.config: session.cookie_secure: must be a boolean",
                     err_of({ session = { cookie_secure = "yes" } }))
        assert.equal("supertokens.config: token_cache_size: must be an integer",
                     err_of({ token_cache_size = 1.5 }))
        assert.equal("supertokens.config: token_cache_size: must be between "
                     .. "0 and 10000000", err_of({ token_cache_size = -1 }))
        assert.equal("supertokens.config: token_cache_min_uses: must be "
                     .. "between 1 and 100",
                     err_of({ token_cache_min_uses = 0 }))
        assert.equal("supertokens.config: token_cache_min_uses: must be an "
                     .. "integer", err_of({ token_cache_min_uses = 1.5 }))
        assert.equal("supertokens.config: app_info: must be a table",
                     err_of({ app_info = "x" }))
    end)

    -- Every bounded setting: both ends accepted, one past either end
    -- refused with the field's name (the Kong schema has the same bounds:
    -- it reads config.RANGES).
    it("numeric ranges", function()
        local function with(path, v)
            local u = H.user_config()
            local parent, key = u, path
            local dot = path:find(".", 1, true)
            if dot then
                key = path:sub(dot + 1)
                parent = u[path:sub(1, dot - 1)] or {}
                u[path:sub(1, dot - 1)] = parent
            end
            parent[key] = v
            return u
        end
        local n = 0
        for path, range in pairs(config.RANGES) do
            local lo, hi = range[1], range[2]
            for _, v in ipairs({ lo, hi }) do
                local c, err = config.new(with(path, v))
                assert.is_table(c, path .. " = " .. v .. ": " .. tostring(err))
            end
            local want = "supertokens.config: " .. path .. ": must be between "
                         .. lo .. " and " .. hi
            assert.equal(want, err_of(nil, with(path, lo - 1)))
            assert.equal(want, err_of(nil, with(path, hi + 1)))
            n = n + 1
        end
        assert.equal(10, n)
        local c = assert(config.new(with("token_cache_min_uses", 100)))
        assert.equal(100, c.token_cache_min_uses)
        c = assert(config.new(with("http.keepalive_pool", 0)))
        assert.equal(0, c.http.keepalive_pool)
    end)

    it("jwks_refresh_interval_sec: finite, > 0, at most a year", function()
        local want = "supertokens.config: session.jwks_refresh_interval_sec: "
        for _, v in ipairs({ 0 / 0, math.huge, -math.huge }) do
            assert.equal(want .. "must be a finite number", err_of({
                session = { jwks_refresh_interval_sec = v } }))
        end
        for _, v in ipairs({ 0, -1, 31536000 + 1 }) do
            assert.equal(want .. "must be > 0 and at most 31536000", err_of({
                session = { jwks_refresh_interval_sec = v } }))
        end
        local c = assert(config.new(H.user_config({
            session = { jwks_refresh_interval_sec = 31536000 } })))
        assert.equal(31536000, c.jwks_refresh_interval_sec)
    end)

    it("static keys: jwks or jwks_file, not both; a path", function()
        assert.equal("supertokens.config: jwks_file: give jwks or jwks_file, "
                     .. "not both",
                     err_of({ jwks = '{"keys":[]}', jwks_file = "/x.json" }))
        assert.equal("supertokens.config: jwks_file: must be a file path",
                     err_of({ jwks_file = "" }))
    end)

    it("api_key: not empty", function()
        assert.equal("supertokens.config: api_key: must not be empty (leave "
                     .. "it unset for a core without API keys)",
                     err_of({ api_key = "" }))
    end)

    it("upstream_headers: no header the request needs, no name twice",
       function()
        for _, name in ipairs({ "Host", "content-length", "Content_Length",
                                "Authorization", "Cookie", "rid",
                                "Transfer-Encoding", "anti-csrf" }) do
            assert.equal("supertokens.config: upstream_headers.user_id: '"
                         .. name .. "' is a header the request needs as it "
                         .. "is (framing, routing, credentials or the SDK's "
                         .. "own)",
                         err_of({ upstream_headers = { user_id = name } }))
        end
        assert.equal("supertokens.config: upstream_headers.user_id: "
                     .. "'X-SuperTokens-Tenant-Id' is "
                     .. "upstream_headers.tenant_id too",
                     err_of({ upstream_headers = {
                         user_id = "X-SuperTokens-Tenant-Id" } }))
        assert.equal("supertokens.config: upstream_headers.session_handle: "
                     .. "'x_user' is upstream_headers.payload too",
                     err_of({ upstream_headers = { payload = "X-User",
                                                   session_handle = "x_user" } }))
        local c = assert(config.new(H.user_config({ upstream_headers = {
            user_id = "X-User", tenant_id = false, payload = false } })))
        assert.equal("X-User", c.upstream_headers.user_id)
    end)

    it("required app_info fields", function()
        local u = H.user_config()
        u.app_info.api_domain = nil
        assert.equal("supertokens.config: app_info.api_domain: required",
                     err_of(nil, u))
        assert.equal("supertokens.config: app_info.website_domain: Please "
                     .. "provide a valid domain name",
                     err_of({ app_info = { website_domain = "/relative" } }))
    end)

    it("connection_uri must be http(s), or jwks given instead", function()
        assert.matches("^supertokens%.config: connection_uri: 'grpc://x' is not",
                       err_of({ connection_uri = "grpc://x" }))
        local u = H.user_config()
        u.connection_uri = nil
        assert.equal("supertokens.config: connection_uri: required unless jwks "
                     .. "or jwks_file is given", err_of(nil, u))
        u.jwks_file = "/etc/keys.json"
        local c = assert(config.new(u))
        assert.same({}, c.core_hosts)
        assert.same({}, c.jwks_urls)
    end)

    it("email verification mode", function()
        assert.equal("supertokens.config: email_verification.mode: must be one "
                     .. "of REQUIRED, OPTIONAL",
                     err_of({ email_verification = { mode = "ON" } }))
    end)

    it("a cookie domain the cookie package would refuse", function()
        assert.matches("^supertokens%.config: session%.cookie_domain: 'exa_mple%.com'",
                       err_of({ session = { cookie_domain = "exa_mple.com" } }))
    end)

    it("claim specs", function()
        assert.matches("^supertokens%.config: claims: %[1%]%.check",
                       err_of({ claims = { { claim = "st-role",
                                             check = "contains" } } }))
    end)

    it("cors '*' with credentials", function()
        assert.matches("cors%.origins: '%*' cannot be combined",
                       err_of({ cors = { origins = { "*" } } }))
    end)
end)


describe("config.new and Kong-style input", function()
    it("treats cjson.null as unset", function()
        local c = H.conf({ api_key = H.null,
                           session = { anti_csrf = H.null,
                                       cookie_domain = H.null } })
        assert.is_nil(c.api_key)
        assert.equal("NONE", c.session.anti_csrf)
        assert.is_nil(c.session.cookie_domain)
    end)

    it("EmailVerification REQUIRED adds the global st-ev validator", function()
        local c = H.conf({ email_verification = { mode = "REQUIRED" } })
        assert.equal(1, #c.claim_validators)
        assert.equal("st-ev", c.claim_validators[1].id)
        assert.equal(10, c.claim_validators[1].refetch_false)
        local c2 = H.conf({ email_verification = { mode = "OPTIONAL" } })
        assert.equal(0, #c2.claim_validators)
    end)
end)
