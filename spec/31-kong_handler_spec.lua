-- kong.plugins.supertokens.handler inside a real nginx, run by the
-- Kong-like phase runner (spec/kong/runner.lua) on the PDK adapter
-- (spec/helpers/kong_pdk.lua), proxying to an upstream test app
-- (spec/kong/app.lua).  Kong itself is not installed here: this proves the
-- handler against Kong's documented PDK behaviour, not against Kong.

local cjson = require "cjson.safe"
local keys = require "spec.helpers.keys"
local http = require "spec.helpers.http"
local kong_nginx = require "spec.kong.nginx"

local null = cjson.null

local API = "http://localhost:3001"
local WEB = "http://localhost:3000"
local CT = "application/json; charset=utf-8"
local UNAUTHORISED = '{"message":"unauthorised"}'
local TRY_REFRESH = '{"message":"try refresh token"}'
local ALLOW_HEADERS = "content-type,rid,fdi-version,anti-csrf,authorization,"
                      .. "st-auth-mode"


local function merge(a, b)
    local out = {}
    for k, v in pairs(a) do
        out[k] = v
    end
    for k, v in pairs(b or {}) do
        out[k] = v
    end
    return out
end


-- A request to the test nginx on port; raises when there is no answer.
local function request_on(port, path, headers, method)
    local res, err = http.request(port, { method = method or "GET",
                                          path = path,
                                          headers = headers or {} })
    assert(res, err)
    return res
end


local function echo_body(res)
    local body = cjson.decode(res.body)
    assert(type(body) == "table" and body.headers,
           "not an upstream echo: " .. tostring(res.body))
    return body
end


local function no_errors(srv)
    local log = srv:error_log()
    local lines = {}
    for line in log:gmatch("[^\n]+") do
        if line:find("[error]", 1, true) or line:find("[crit]", 1, true)
           or line:find("[alert]", 1, true) then
            lines[#lines + 1] = line
        end
    end
    return lines
end


-- A v5 access token for user-1 signed with key (kid d-1), valid for an
-- hour; payload and header members override the defaults.
local function v5_token(key, payload, header)
    local now = os.time()
    local p = merge({
        sub = "user-1", rsub = "user-1", tId = "public",
        sessionHandle = "handle-1", refreshTokenHash1 = "rth1",
        parentRefreshTokenHash1 = null, antiCsrfToken = null,
        iat = now, exp = now + 3600, iss = API .. "/auth",
    }, payload)
    local h = merge({ kid = "d-1", typ = "JWT", version = "5",
                      alg = "RS256" }, header)
    return keys.token(key, "RS256", h, p)
end


describe("kong handler (static keys)", function()
    local srv, k, dir, base

    local function token(payload, header, key)
        return v5_token(key or k, payload, header)
    end

    local function get(path, headers, method)
        return request_on(srv.port, path, headers, method)
    end

    setup(function()
        k = keys.rsa(2048, "d-1")
        dir = keys.tmpdir()
        keys.write_file(dir .. "/jwks.json", keys.jwks({ k }))
        base = {
            jwks_file = dir .. "/jwks.json",
            app_info = { api_domain = API, website_domain = WEB },
        }
        local function route(name, path, config, extra)
            local plugins = { { name = "supertokens",
                                config = merge(base, config) } }
            for _, p in ipairs(extra or {}) do
                plugins[#plugins + 1] = p
            end
            return { name = name, path = path, match = "^~ ",
                     plugins = plugins }
        end
        srv = kong_nginx.start({ routes = {
            route("echo", "/echo/", {}, {
                { name = "early_deny" }, { name = "late_deny" },
                { name = "ctx_echo" } }),
            route("optional", "/echo/optional/",
                  { session_required = false }),
            route("nopreflight", "/echo/nopreflight/",
                  { run_on_preflight = false }),
            route("nopayload", "/echo/nopayload/",
                  { upstream_headers = { payload = null,
                                         user_id = "X-User",
                                         session_handle = "X_Handle" } }),
            route("codes", "/echo/codes/", {
                session = { session_expired_status_code = 440,
                            invalid_claim_status_code = 498 },
                email_verification = { mode = "REQUIRED" } }),
            route("claims", "/echo/claims/", {
                claims = { { claim = "st-role", check = "includes",
                             value = "admin" } } }),
            route("noclaims", "/echo/noclaims/", {
                email_verification = { mode = "REQUIRED" },
                override_global_claim_validators = {} }),
            route("nocors", "/echo/nocors/", { cors = { enabled = false } }),
            route("status", "/status/", {
                session_required = false,
                cors = { expose_headers = { "x-mine" } } }),
        } })
    end)

    teardown(function()
        if srv then
            srv:stop()
        end
        keys.cleanup()
    end)

    before_each(function()
        srv:mark()
    end)

    describe("rejections", function()
        it("401 unauthorised without a token, upstream not reached",
           function()
            local res = get("/echo/x")
            assert.equal(401, res.status)
            assert.equal(UNAUTHORISED, res.body)
            assert.equal(CT, res:header("content-type"))
            assert.equal(tostring(#UNAUTHORISED),
                         res:header("content-length"))
            assert.same({}, res:all("set-cookie"))
            assert.is_nil(res:header("front-token"))
            assert.matches("reject status=401 class=unauthorised "
                           .. "reason=no_token", srv:log_since_mark(), 1,
                           true)
        end)

        it("401 try refresh token for an expired token", function()
            local tok = token({ exp = os.time() - 10 })
            local res = get("/echo/x", { { "Authorization", "Bearer " .. tok } })
            assert.equal(401, res.status)
            assert.equal(TRY_REFRESH, res.body)
            assert.equal(CT, res:header("content-type"))
            assert.matches("reason=expired", srv:log_since_mark(), 1, true)
        end)

        it("401 try refresh token for a bad signature; no token in the log",
           function()
            local other = keys.rsa(2048, "d-1")
            local tok = token({}, nil, other)
            local res = get("/echo/x", { { "Cookie", "sAccessToken=" .. tok } })
            assert.equal(401, res.status)
            assert.equal(TRY_REFRESH, res.body)
            local log = srv:log_since_mark()
            assert.matches("reason=bad_signature", log, 1, true)
            assert.matches("kid=d-1", log, 1, true)
            assert.matches("alg=RS256", log, 1, true)
            local sig = tok:match("[^.]+$")
            assert.is_nil(log:find(sig, 1, true))
            assert.is_nil(log:find(tok:match("^[^.]+%.([^.]+)"), 1, true))
        end)

        it("uses the configured status codes and the exact claim body",
           function()
            local res = get("/echo/codes/x")
            assert.equal(440, res.status)
            assert.equal(UNAUTHORISED, res.body)

            local now_ms = os.time() * 1000
            local tok = token({ ["st-ev"] = { v = false, t = now_ms } })
            res = get("/echo/codes/x", { { "Authorization", "Bearer " .. tok } })
            assert.equal(498, res.status)
            assert.equal('{"message":"invalid claim","claimValidationErrors":'
                         .. '[{"id":"st-ev","reason":{"message":"wrong value",'
                         .. '"expectedValue":true,"actualValue":false}}]}',
                         res.body)
            assert.equal(CT, res:header("content-type"))
        end)

        it("checks configured claims; route override disables them",
           function()
            local now_ms = os.time() * 1000
            local user = token({ ["st-role"] = { v = { "user" }, t = now_ms } })
            local res = get("/echo/claims/x",
                            { { "Authorization", "Bearer " .. user } })
            assert.equal(403, res.status)
            local body = cjson.decode(res.body)
            assert.equal("invalid claim", body.message)
            assert.equal("st-role", body.claimValidationErrors[1].id)

            local admin = token({ ["st-role"] = { v = { "admin" },
                                                  t = now_ms } })
            res = get("/echo/claims/x",
                      { { "Authorization", "Bearer " .. admin } })
            assert.equal(200, res.status)

            local unverified = token({ ["st-ev"] = { v = false, t = now_ms } })
            res = get("/echo/noclaims/x",
                      { { "Authorization", "Bearer " .. unverified } })
            assert.equal(200, res.status)
            assert.equal("user-1",
                         echo_body(res).headers["x-supertokens-user-id"])
        end)
    end)

    describe("upstream identity", function()
        it("sets the identity headers and clears the client's copies",
           function()
            local tok = token({ custom = { a = 1 } })
            local res = get("/echo/x", {
                { "Authorization", "Bearer " .. tok },
                { "X-SuperTokens-User-Id", "spoofed" },
                { "X-SuperTokens-Tenant-Id", "spoofed" },
                { "X-SuperTokens-Access-Token-Payload", "{}" },
            })
            assert.equal(200, res.status)
            local h = echo_body(res).headers
            assert.equal("user-1", h["x-supertokens-user-id"])
            assert.equal("user-1", h["x-supertokens-recipe-user-id"])
            assert.equal("handle-1", h["x-supertokens-session-handle"])
            assert.equal("public", h["x-supertokens-tenant-id"])
            local payload = cjson.decode(h["x-supertokens-access-token-payload"])
            assert.equal("user-1", payload.sub)
            assert.same({ a = 1 }, payload.custom)
            -- kong.ctx.shared.supertokens, read by a later plugin
            assert.equal("user-1", h["x-ctx-user"])
        end)

        it("clears spoofed identity when the session is optional and absent",
           function()
            local res = get("/echo/optional/x", {
                { "X-SuperTokens-User-Id", "spoofed" },
                { "X-SuperTokens-Session-Handle", "spoofed" },
            })
            assert.equal(200, res.status)
            local h = echo_body(res).headers
            assert.is_nil(h["x-supertokens-user-id"])
            assert.is_nil(h["x-supertokens-session-handle"])
        end)

        it("clears identity sent under underscore names (Kong's template "
           .. "lets them through; CGI-style upstreams read them as ours)",
           function()
            local res = get("/echo/optional/x", {
                { "X_SuperTokens_User_Id", "spoofed" },
                { "x_supertokens-session_handle", "spoofed" },
                { "X-Other_Header", "kept" },
            })
            assert.equal(200, res.status)
            local h = echo_body(res).headers
            assert.is_nil(h["x_supertokens_user_id"])
            assert.is_nil(h["x_supertokens-session_handle"])
            assert.equal("kept", h["x-other_header"])
            res = get("/echo/x", {
                { "Authorization", "Bearer " .. token() },
                { "X_SuperTokens_User_Id", "spoofed" },
            })
            assert.equal(200, res.status)
            h = echo_body(res).headers
            assert.equal("user-1", h["x-supertokens-user-id"])
            assert.is_nil(h["x_supertokens_user_id"])
        end)

        it("does not send a header configured as null; renamed ones work",
           function()
            local tok = token()
            local res = get("/echo/nopayload/x", {
                { "Authorization", "Bearer " .. tok },
                { "X-User", "spoofed" }, { "X_User", "spoofed" },
                -- a name configured with "_", sent with "-"
                { "X-Handle", "spoofed" } })
            local h = echo_body(res).headers
            assert.equal("user-1", h["x-user"])
            assert.is_nil(h["x_user"])
            assert.equal("handle-1", h["x_handle"])
            assert.is_nil(h["x-handle"])
            assert.is_nil(h["x-supertokens-user-id"])
            assert.is_nil(h["x-supertokens-access-token-payload"])
            assert.is_nil(h["x-supertokens-session-handle"])
        end)
    end)

    describe("CORS", function()
        it("answers a preflight (204) without reaching the upstream",
           function()
            local res = get("/echo/x", {
                { "Origin", WEB },
                { "Access-Control-Request-Method", "POST" },
                { "X-SuperTokens-User-Id", "spoofed" },
            }, "OPTIONS")
            assert.equal(204, res.status)
            assert.equal("", res.body)
            assert.equal(WEB, res:header("access-control-allow-origin"))
            assert.equal("true", res:header("access-control-allow-credentials"))
            assert.equal("GET,HEAD,PUT,PATCH,POST,DELETE",
                         res:header("access-control-allow-methods"))
            assert.equal(ALLOW_HEADERS,
                         res:header("access-control-allow-headers"))
            assert.equal("Origin", res:header("vary"))
            -- header_filter did not add its CORS set a second time
            assert.equal(1, #res:all("access-control-allow-origin"))
            assert.equal(1, #res:all("vary"))
        end)

        it("run_on_preflight = false leaves OPTIONS to the upstream",
           function()
            local res = get("/echo/nopreflight/x", {
                { "Origin", WEB },
                { "Access-Control-Request-Method", "POST" },
                { "X-SuperTokens-User-Id", "spoofed" },
            }, "OPTIONS")
            assert.equal(200, res.status)
            local body = echo_body(res)
            assert.equal("OPTIONS", body.method)
            assert.is_nil(body.headers["x-supertokens-user-id"])
            assert.is_nil(res:header("access-control-allow-origin"))
        end)

        it("run_on_preflight = true verifies OPTIONS like the SDK (skipped)",
           function()
            local res = get("/echo/nocors/x", {}, "OPTIONS")
            assert.equal(200, res.status)
            assert.equal("OPTIONS", echo_body(res).method)
        end)

        it("adds CORS to its own 401", function()
            local res = get("/echo/x", { { "Origin", WEB } })
            assert.equal(401, res.status)
            assert.equal(WEB, res:header("access-control-allow-origin"))
            assert.equal("true", res:header("access-control-allow-credentials"))
            assert.equal("Origin", res:header("vary"))
        end)

        it("adds nothing when cors.enabled = false", function()
            local res = get("/echo/nocors/x", { { "Origin", WEB } })
            assert.equal(401, res.status)
            assert.is_nil(res:header("access-control-allow-origin"))
            assert.is_nil(res:header("vary"))
        end)

        it("merges Vary and Access-Control-Expose-Headers with the upstream's",
           function()
            local res = get("/status/200", { { "Origin", WEB } })
            assert.equal(200, res.status)
            assert.equal('{"app":true}', res.body)
            assert.same({ "Accept-Encoding, Origin" }, res:all("vary"))
            assert.same({ "x-app, x-mine" },
                        res:all("access-control-expose-headers"))
            assert.same({ "app=1; Path=/" }, res:all("set-cookie"))
            assert.equal(WEB, res:header("access-control-allow-origin"))
        end)

        describe("works with 40x responses returned by another plugin",
                 function()
            it("a plugin after supertokens (late_deny, 401)", function()
                local tok = token()
                local res = get("/echo/x", {
                    { "Origin", WEB },
                    { "Authorization", "Bearer " .. tok },
                    { "X-Deny-Late", "1" },
                })
                assert.equal(401, res.status)
                assert.equal('{"message":"Unauthorized"}', res.body)
                assert.equal("Key", res:header("www-authenticate"))
                assert.equal(WEB, res:header("access-control-allow-origin"))
                assert.equal("true",
                             res:header("access-control-allow-credentials"))
            end)

            it("a plugin before supertokens (early_deny, 403)", function()
                local res = get("/echo/x", {
                    { "Origin", WEB }, { "X-Deny-Early", "1" } })
                assert.equal(403, res.status)
                assert.equal('{"message":"Forbidden"}', res.body)
                assert.equal(WEB, res:header("access-control-allow-origin"))
                assert.equal("Origin", res:header("vary"))
            end)
        end)
    end)

    it("logged no error: every PDK call was one the adapter provides",
       function()
        assert.same({}, no_errors(srv))
    end)
end)


-- Kong 3.4 has no configure phase (kong/runloop/plugins_iterator.lua
-- calls handler:configure() from 3.5 on): the state is built by the first
-- phase that needs it, and that may be header_filter, when a plugin of
-- higher priority answers the route's first request.
describe("kong handler (Kong 3.4: no configure phase)", function()
    local srv, k, dir

    local function get(path, headers)
        return request_on(srv.port, path, headers)
    end

    setup(function()
        k = keys.rsa(2048, "d-1")
        dir = keys.tmpdir()
        keys.write_file(dir .. "/jwks.json", keys.jwks({ k }))
        local function route(name, path)
            return { name = name, path = path, match = "^~ ", plugins = {
                { name = "supertokens", config = {
                    jwks_file = dir .. "/jwks.json",
                    app_info = { api_domain = API, website_domain = WEB } } },
                { name = "early_deny" } } }
        end
        srv = kong_nginx.start({
            no_configure = true,
            routes = { route("first_denied", "/echo/denied/"),
                       route("first_ok", "/echo/") },
        })
    end)

    teardown(function()
        if srv then
            srv:stop()
        end
        keys.cleanup()
    end)

    it("builds the state in header_filter when access did not run",
       function()
        local res = get("/echo/denied/x", {
            { "Origin", WEB }, { "X-Deny-Early", "1" } })
        assert.equal(403, res.status)
        assert.equal(WEB, res:header("access-control-allow-origin"))
        res = get("/echo/denied/x",
                  { { "Authorization", "Bearer " .. v5_token(k) } })
        assert.equal(200, res.status, res.body)
        assert.equal("user-1",
                     echo_body(res).headers["x-supertokens-user-id"])
        assert.same({}, no_errors(srv))
    end)

    it("builds the state in access on a route's first request", function()
        assert.equal(401, get("/echo/x").status)
        local res = get("/echo/x",
                        { { "Authorization", "Bearer " .. v5_token(k) } })
        assert.equal(200, res.status, res.body)
        assert.equal("user-1",
                     echo_body(res).headers["x-supertokens-user-id"])
        assert.same({}, no_errors(srv))
    end)
end)


describe("kong handler (core stand-in)", function()
    local core_helper = require "spec.helpers.core"
    local nginx_helper = require "spec.helpers.nginx"
    local c, srv, vault_port

    local get = request_on

    setup(function()
        c = core_helper.start()
        local base = {
            connection_uri = c.url,
            app_info = { api_domain = API, website_domain = WEB },
        }
        vault_port = nginx_helper.free_port()
        srv = kong_nginx.start({ routes = {
            { name = "status", path = "/status/", match = "^~ ",
              plugins = { { name = "supertokens", config = base } } },
            { name = "checkdb", path = "/echo/checkdb/", match = "^~ ",
              plugins = { { name = "supertokens",
                            config = merge(base, { check_database = true }) } } },
            { name = "keyed", path = "/echo/keyed/", match = "^~ ",
              plugins = { { name = "supertokens",
                            config = merge(base, { check_database = true,
                                                   api_key = "key-1" }) } } },
        }, http = [[
            server {
                listen 127.0.0.1:]] .. vault_port .. [[;
                location = /rotate {
                    content_by_lua_block {
                        local runner = require "spec.kong.runner"
                        for _, conf in ipairs(runner.configs("supertokens")) do
                            if conf.api_key then
                                -- as=number: a value the schema refuses
                                conf.api_key = ngx.var.arg_as == "number"
                                    and tonumber(ngx.var.arg_key)
                                    or ngx.var.arg_key
                            end
                        end
                        ngx.say("ok")
                    }
                }
            }
        ]] })
    end)

    teardown(function()
        if srv then
            srv:stop()
        end
        if c then
            c:stop()
        end
    end)

    it("relays a re-issued token on the upstream response (cookie)",
       function()
        local tok = c:mint({ sub = "user-9",
                             parentRefreshTokenHash1 = "parent-hash" })
        c:control("POST", "session", cjson.encode({ token = tok }))
        local res = get(srv.port, "/status/200", {
            { "Cookie", "sAccessToken=" .. tok }, { "Origin", WEB } })
        assert.equal(200, res.status)
        assert.equal('{"app":true}', res.body)
        -- node's order: the SDK's cookie (written in verifySession())
        -- before the handler's
        local cookies = res:all("set-cookie")
        assert.equal(2, #cookies)
        assert.matches("^sAccessToken=[%w%-_]+%.[%w%-_]+%.[%w%-_]+; Path=/; ",
                       cookies[1])
        assert.is_nil(cookies[1]:find(tok, 1, true))
        assert.equal("app=1; Path=/", cookies[2])
        assert.truthy(res:header("front-token"))
        local expose = res:header("access-control-expose-headers")
        assert.matches("^x%-app, ", expose)
        assert.matches("front-token", expose, 1, true)
        assert.equal(1, c:calls("POST /recipe/session/verify"))
    end)

    it("an upstream's own front-token wins over the relayed one, as a "
       .. "handler's does over the SDK's in node", function()
        local tok = c:mint({ sub = "user-9",
                             parentRefreshTokenHash1 = "parent-hash-2" })
        c:control("POST", "session", cjson.encode({ token = tok }))
        local res = get(srv.port, "/status/200", {
            { "Cookie", "sAccessToken=" .. tok },
            { "X-App-Front-Token", "from-app" } })
        assert.equal(200, res.status)
        assert.same({ "from-app" }, res:all("front-token"))
        local cookies = res:all("set-cookie")
        assert.equal(2, #cookies)
        assert.matches("^sAccessToken=", cookies[1])
        assert.equal("app=1; Path=/", cookies[2])
    end)

    it("checkDatabase on a revoked session: 401 with the clearing set",
       function()
        local tok = c:mint({ sub = "user-7" })
        local res = get(srv.port, "/echo/checkdb/x",
                        { { "Cookie", "sAccessToken=" .. tok } })
        assert.equal(401, res.status)
        assert.equal(UNAUTHORISED, res.body)
        assert.equal("remove", res:header("front-token"))
        local cookies = res:all("set-cookie")
        assert.equal(2, #cookies)
        assert.matches("^sAccessToken=; Path=/; Expires=Thu, 01 Jan 1970 "
                       .. "00:00:00 GMT", cookies[1])
        assert.matches("^sRefreshToken=; Path=/auth/session/refresh; ",
                       cookies[2])
        -- empty-valued headers survive through the PDK (sent as " ")
        assert.equal("", res:header("st-access-token"))
        assert.equal("", res:header("st-refresh-token"))
        assert.matches("\r\nst%-access%-token: %s*\r\n", res.raw_head .. "\r\n")
    end)

    it("takes a rotated api_key (a vault secret Kong updates in place)",
       function()
        c:control("POST", "config?api_keys=key-1")
        local tok = c:mint({ sub = "user-3" })
        c:control("POST", "session", cjson.encode({ token = tok }))
        local res = get(srv.port, "/echo/keyed/x",
                        { { "Authorization", "Bearer " .. tok } })
        assert.equal(200, res.status, res.body)
        c:control("POST", "config?api_keys=key-2")
        assert.equal(500, get(srv.port, "/echo/keyed/x",
                              { { "Authorization", "Bearer " .. tok } }).status)
        assert.equal("ok\n", get(vault_port, "/rotate?key=key-2").body)
        res = get(srv.port, "/echo/keyed/x",
                  { { "Authorization", "Bearer " .. tok } })
        assert.equal(200, res.status, res.body)

        -- a rotation to a value the config refuses keeps the last good
        -- state (and key) answering, and says so once
        local log0 = #srv:error_log()
        assert.equal("ok\n",
                     get(vault_port, "/rotate?key=777&as=number").body)
        for _ = 1, 3 do
            res = get(srv.port, "/echo/keyed/x",
                      { { "Authorization", "Bearer " .. tok } })
            assert.equal(200, res.status, res.body)
        end
        local log = srv:error_log():sub(log0 + 1)
        local _, refusals = log:gsub("the rotated api_key is refused", "")
        assert.equal(1, refusals, log)
        assert.matches("api_key: must be a string", log, 1, true)
        assert.equal("ok\n", get(vault_port, "/rotate?key=key-2").body)
        c:control("POST", "config?api_keys=")
    end)

    it("fails clearly when the shared dict is not declared", function()
        local srv2 = kong_nginx.start({
            no_dict = true,
            routes = { { name = "nodict", path = "/echo/", match = "^~ ",
                         plugins = { { name = "supertokens", config = {
                             connection_uri = c.url,
                             app_info = { api_domain = API,
                                          website_domain = WEB } } } } } },
        })
        local ok, err = pcall(function()
            local res = get(srv2.port, "/echo/x")
            assert.equal(500, res.status)
            assert.equal('{"message":"An unexpected error occurred"}',
                         res.body)
            local log = srv2:error_log()
            local want = "lua_shared_dict 'supertokens' is not declared; "
                         .. "start Kong with KONG_NGINX_HTTP_LUA_SHARED_DICT"
                         .. "=\"supertokens 10m\""
            -- once from configure() at start, once from the request
            -- (access; header_filter stays quiet)
            local _, n = log:gsub(want:gsub("%p", "%%%0"), "")
            assert.equal(2, n)
        end)
        srv2:stop()
        assert(ok, err)
    end)
end)


describe("kong handler metrics (Status API)", function()
    local srv, k, dir

    local function get(path, headers, method)
        return request_on(srv.port, path, headers, method)
    end

    local function sample(body, series)
        local v = body:match("\n" .. series:gsub("%p", "%%%0") .. " (%S+)\n")
        return tonumber(v)
    end

    setup(function()
        k = keys.rsa(2048, "d-1")
        dir = keys.tmpdir()
        keys.write_file(dir .. "/jwks.json", keys.jwks({ k }))
        srv = kong_nginx.start({
            status_api = true,
            routes = { { name = "echo", path = "/echo/", match = "^~ ",
                         plugins = { { name = "supertokens", config = {
                             jwks_file = dir .. "/jwks.json",
                             app_info = { api_domain = API,
                                          website_domain = WEB } } } } } },
        })
    end)

    teardown(function()
        if srv then
            srv:stop()
        end
        keys.cleanup()
    end)

    it("counts verifications and preflights, served by status_api.lua",
       function()
        local auth = { { "Authorization", "Bearer " .. v5_token(k) } }
        assert.equal(200, get("/echo/a", auth).status)
        assert.equal(200, get("/echo/a", auth).status)
        assert.equal(401, get("/echo/a").status)
        assert.equal(204, get("/echo/a", {
            { "Origin", WEB }, { "Access-Control-Request-Method", "GET" },
        }, "OPTIONS").status)

        local res = get("/status/supertokens/metrics")
        assert.equal(200, res.status, res.body)
        assert.equal("text/plain; version=0.0.4; charset=utf-8",
                     res:header("content-type"))
        local body = "\n" .. res.body
        assert.equal(2, sample(body, 'supertokens_verifications_total'
                                     .. '{outcome="ok",reason="none"}'))
        assert.equal(1, sample(body, 'supertokens_verifications_total'
                                     .. '{outcome="unauthorised",'
                                     .. 'reason="no_token"}'))
        assert.equal(1, sample(body, 'supertokens_cors_preflights_total'
                                     .. '{result="allowed"}'))
        -- token_cache_min_uses = 2: the second verification still misses
        assert.equal(2, sample(body, 'supertokens_token_cache_total'
                                     .. '{result="miss"}'))
        assert.same({}, no_errors(srv))
    end)
end)
