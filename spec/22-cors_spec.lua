-- CORS and header merging in front of a real upstream: the preflight is
-- answered before authentication, CORS headers go on every answer (ours
-- and the upstream's, 401 and 502 included), Access-Control-Expose-Headers
-- and Vary are merged with the upstream's, an upstream's own ACAO does not
-- duplicate ours, Set-Cookie lines are appended, and identity headers sent
-- by the client never reach the upstream.  Expected values: the oracle's
-- (express `cors` with origin = websiteDomain, credentials: true).

local cjson = require "cjson.safe"
local mime = require "mime"
local nginx = require "spec.helpers.nginx"
local http = require "spec.helpers.http"
local core_helper = require "spec.helpers.core"

local ORIGIN = "http://localhost:3000"
local APP = { api_domain = "http://localhost:3001", website_domain = ORIGIN }

local UPSTREAM = [[
    location /upstream/ {
        content_by_lua_block {
            local h = ngx.req.get_headers()
            local seen = {}
            for k, v in pairs(h) do
                if k:find("^x%-supertokens%-") then seen[k] = v end
            end
            ngx.header["X-Upstream"] = "1"
            ngx.header["Access-Control-Allow-Origin"] = "*"
            ngx.header["Access-Control-Expose-Headers"] = "x-custom"
            ngx.header["Vary"] = "Accept-Encoding"
            ngx.header["Set-Cookie"] = "app=1; Path=/"
            ngx.header.content_type = "application/json"
            ngx.print(require("cjson").encode(seen))
        }
    }
]]


local function app_locations(port, dead_port)
    return UPSTREAM .. [[
        location /app/ {
            access_by_lua_block {
                require("resty.supertokens").verify_session()
            }
            proxy_pass http://127.0.0.1:]] .. port .. [[/upstream/;
        }
        location /optional/ {
            access_by_lua_block {
                require("resty.supertokens").verify_session({
                    session_required = false })
            }
            proxy_pass http://127.0.0.1:]] .. port .. [[/upstream/;
        }
        location /down/ {
            access_by_lua_block {
                require("resty.supertokens").verify_session()
            }
            proxy_pass http://127.0.0.1:]] .. dead_port .. [[/;
        }
    ]]
end


local function b64url_decode(s)
    s = s:gsub("-", "+"):gsub("_", "/")
    return (mime.unb64(s .. string.rep("=", (4 - #s % 4) % 4)))
end


describe("CORS and header merging", function()
    local c, srv, t

    setup(function()
        c = core_helper.start()
        local port = nginx.free_port()
        local tokens = c:mint_many({
            { sub = "user-1" },
            { sub = "user-1", parentRefreshTokenHash1 = "p1" },
            { sub = "user-1", parentRefreshTokenHash1 = "p2" },
        })
        t = { valid = tokens[1], prth_c = tokens[2], prth_h = tokens[3] }
        c:control("POST", "session", cjson.encode({ token = t.prth_c }))
        c:control("POST", "session", cjson.encode({ token = t.prth_h }))
        srv = nginx.supertokens({ connection_uri = c.url, app_info = APP },
                                { port = port, workers = 1,
                                  server = app_locations(port,
                                                         nginx.free_port()) })
    end)

    teardown(function()
        if srv then
            srv:stop()
        end
        if c then
            c:stop()
        end
    end)

    local function req(path, headers, method)
        return assert(http.request(srv.port, { method = method or "GET",
                                               path = path,
                                               headers = headers or {} }))
    end

    local function assert_cors(res)
        assert.same({ ORIGIN }, res:all("access-control-allow-origin"))
        assert.equal("true", res:header("access-control-allow-credentials"))
    end

    it("answers the preflight before authentication", function()
        local res = req("/app/x", {
            { "Origin", ORIGIN },
            { "Access-Control-Request-Method", "POST" },
            { "Access-Control-Request-Headers", "authorization,rid" },
        }, "OPTIONS")
        assert.equal(204, res.status)
        assert_cors(res)
        assert.equal("GET,HEAD,PUT,PATCH,POST,DELETE",
                     res:header("access-control-allow-methods"))
        assert.equal("content-type,rid,fdi-version,anti-csrf,authorization,"
                     .. "st-auth-mode",
                     res:header("access-control-allow-headers"))
        assert.equal("Origin", res:header("vary"))
        assert.is_nil(res:header("x-upstream"))
    end)

    it("answers a preflight from a foreign origin like express cors",
       function()
        local res = req("/app/x", { { "Origin", "http://evil.example" },
                                    { "Access-Control-Request-Method",
                                      "GET" } }, "OPTIONS")
        assert.equal(204, res.status)
        assert_cors(res)
    end)

    it("passes identity upstream, strips client copies, merges headers",
       function()
        local res = req("/app/x", {
            { "Authorization", "Bearer " .. t.valid },
            { "Origin", ORIGIN },
            { "X-SuperTokens-User-Id", "admin" },
            { "X-SuperTokens-Tenant-Id", "evil" },
        })
        assert.equal(200, res.status)
        assert.equal("1", res:header("x-upstream"))
        local seen = assert(cjson.decode(res.body))
        assert.equal("user-1", seen["x-supertokens-user-id"])
        assert.equal("user-1", seen["x-supertokens-recipe-user-id"])
        assert.equal("public", seen["x-supertokens-tenant-id"])
        local payload = cjson.decode(b64url_decode(t.valid:match("%.(.-)%.")))
        assert.equal(payload.sessionHandle,
                     seen["x-supertokens-session-handle"])
        assert.same(payload,
                    cjson.decode(seen["x-supertokens-access-token-payload"]))
        -- the upstream's "*" is replaced, not duplicated
        assert_cors(res)
        assert.equal("Accept-Encoding, Origin", res:header("vary"))
        assert.equal("x-custom", res:header("access-control-expose-headers"))
        assert.same({ "app=1; Path=/" }, res:all("set-cookie"))
    end)

    it("strips identity headers when there is no session", function()
        local res = req("/optional/x", { { "X-SuperTokens-User-Id", "admin" },
                                         { "X-SuperTokens-Session-Handle",
                                           "h" } })
        assert.equal(200, res.status)
        assert.same({}, cjson.decode(res.body))
    end)

    it("strips identity headers even when the request is rejected",
       function()
        local res = req("/app/x", { { "X-SuperTokens-User-Id", "admin" } })
        assert.equal(401, res.status)
        assert.is_nil(res:header("x-upstream"))
        assert_cors(res)
    end)

    it("puts the new access-token cookie before the upstream's (node's "
       .. "order) and merges expose headers (cookie transport)", function()
        local res = req("/app/x", { { "Cookie", "sAccessToken=" .. t.prth_c } })
        assert.equal(200, res.status)
        local cookies = res:all("set-cookie")
        assert.equal(2, #cookies)
        assert.matches("^sAccessToken=", cookies[1])
        assert.equal("app=1; Path=/", cookies[2])
        assert.equal("x-custom, front-token",
                     res:header("access-control-expose-headers"))
        assert.is_string(res:header("front-token"))
        assert_cors(res)
    end)

    it("merges expose headers (header transport)", function()
        local res = req("/app/x", { { "Authorization",
                                      "Bearer " .. t.prth_h } })
        assert.equal(200, res.status)
        assert.equal("x-custom, front-token, st-access-token",
                     res:header("access-control-expose-headers"))
        assert.is_string(res:header("st-access-token"))
        assert.same({ "app=1; Path=/" }, res:all("set-cookie"))
    end)

    it("adds CORS headers to an upstream failure (502)", function()
        local res = req("/down/x", { { "Authorization",
                                       "Bearer " .. t.valid } })
        assert.equal(502, res.status)
        assert_cors(res)
    end)

    it("adds CORS headers to our 401", function()
        local res = req("/app/x", { { "Origin", ORIGIN } })
        assert.equal(401, res.status)
        assert.equal('{"message":"unauthorised"}', res.body)
        assert_cors(res)
        assert.equal("Origin", res:header("vary"))
    end)

    describe("with CORS disabled", function()
        local off

        setup(function()
            local port = nginx.free_port()
            off = nginx.supertokens({ connection_uri = c.url, app_info = APP,
                                      cors = { enabled = false } },
                                    { port = port, workers = 1,
                                      server = app_locations(port,
                                          nginx.free_port()) })
        end)

        teardown(function()
            if off then
                off:stop()
            end
        end)

        it("OPTIONS goes through (verifySession skips it), no CORS added",
           function()
            local res = assert(http.request(off.port, {
                method = "OPTIONS", path = "/app/x",
                headers = { { "Origin", ORIGIN },
                            { "Access-Control-Request-Method", "GET" } } }))
            assert.equal(200, res.status)
            assert.equal("1", res:header("x-upstream"))
            -- only the upstream's own header
            assert.same({ "*" }, res:all("access-control-allow-origin"))
        end)
    end)

    it("logged no Lua error", function()
        local log = srv:error_log()
        assert.not_matches("runtime error", log)
        assert.not_matches("%[alert%]", log)
    end)
end)
