-- HTTP/2: browsers talk to a gateway over HTTP/2 and send each cookie as
-- a header field of its own (RFC 9113 §8.2.3); nginx joins them for
-- $http_cookie.  Every answer over HTTP/2 must be the answer the same
-- gateway gives over HTTP/1.1 to the request a browser would send there
-- (the cookies in one Cookie header), which the conformance suite compares
-- with supertokens-node: same status, body and headers (names compared in
-- lower case, as HTTP/2 sends them).  curl speaks both (h2c with prior
-- knowledge on a second listener of the same server).

local cjson = require "cjson.safe"
local nginx = require "spec.helpers.nginx"
local core_helper = require "spec.helpers.core"

local ORIGIN = "http://localhost:3000"
local APP = { api_domain = "http://localhost:3001", website_domain = ORIGIN,
              api_base_path = "/auth" }

-- Headers whose value is the connection's or the clock's, not the answer's
local IGNORED = { date = true, server = true, connection = true,
                  ["keep-alive"] = true, ["transfer-encoding"] = true,
                  ["content-length"] = true }


local function shell_quote(s)
    return "'" .. s:gsub("'", "'\\''") .. "'"
end


-- One request through curl: fields is a list of { name, value }, sent as
-- given (repeated names stay separate header fields).
local function curl(proto, port, method, path, fields)
    local args = { "curl", "-s", "-i", "--max-time", "10", "-X", method,
                   proto == "h2" and "--http2-prior-knowledge" or "--http1.1" }
    for _, f in ipairs(fields) do
        args[#args + 1] = "-H"
        args[#args + 1] = shell_quote(f[1] .. ": " .. f[2])
    end
    args[#args + 1] = shell_quote("http://127.0.0.1:" .. port .. path)
    local p = assert(io.popen(table.concat(args, " ")))
    local out = p:read("*a")
    p:close()
    local head, body = out:match("^(.-)\r\n\r\n(.*)$")
    assert(head, "no answer from curl (" .. proto .. "): " .. out)
    local status_line, rest = head:match("^([^\r\n]*)\r?\n?(.*)$")
    local res = { proto = status_line:match("^(HTTP/[%d.]+)"),
                  status = tonumber(status_line:match("^HTTP/[%d.]+ (%d+)")),
                  body = body, headers = {} }
    for line in (rest .. "\r\n"):gmatch("([^\r\n]*)\r\n") do
        local name, value = line:match("^([^:]+):%s*(.-)%s*$")
        if name and not IGNORED[name:lower()] then
            local list = res.headers[name:lower()] or {}
            list[#list + 1] = value
            res.headers[name:lower()] = list
        end
    end
    return res
end


describe("HTTP/2", function()
    local c, srv, h2_port, t

    setup(function()
        c = core_helper.start()
        local port = nginx.free_port()
        h2_port = nginx.free_port()
        local tokens = c:mint_many({
            { sub = "user-1" },
            { sub = "user-1", expIn = -100 },
            { sub = "user-1", parentRefreshTokenHash1 = "h2-p1" },
            { sub = "user-1", parentRefreshTokenHash1 = "h2-p2" },
        })
        t = { valid = tokens[1], expired = tokens[2], prth = { tokens[3], tokens[4] } }
        for _, tok in ipairs(t.prth) do
            c:control("POST", "session", cjson.encode({ token = tok }))
        end
        srv = nginx.supertokens({ connection_uri = c.url, app_info = APP }, {
            port = port, workers = 1,
            server = [[
                listen 127.0.0.1:]] .. h2_port .. [[ http2;
                location /upstream/ {
                    content_by_lua_block {
                        local seen = {}
                        for k, v in pairs(ngx.req.get_headers()) do
                            if k:find("^x%-supertokens%-") then seen[k] = v end
                        end
                        ngx.header["Set-Cookie"] = "app=1; Path=/"
                        ngx.header.content_type = "application/json"
                        ngx.print(require("cjson").encode(seen))
                    }
                }
                location /app/ {
                    access_by_lua_block {
                        require("resty.supertokens").verify_session()
                    }
                    proxy_pass http://127.0.0.1:]] .. port .. [[/upstream/;
                }
                location = /me {
                    content_by_lua_block {
                        require("resty.supertokens").user_endpoint()
                    }
                }
            ]],
        })
    end)

    teardown(function()
        if srv then
            srv:stop()
        end
        if c then
            c:stop()
        end
    end)

    -- The same request as HTTP/1.1 (cookies in one header, "; ") and as
    -- HTTP/2 (one field per cookie); the two answers.
    local function both(method, path, cookies, fields, h2_cookies)
        local h1_fields, h2_fields = {}, {}
        for _, f in ipairs(fields or {}) do
            h1_fields[#h1_fields + 1] = f
            h2_fields[#h2_fields + 1] = f
        end
        if cookies and #cookies > 0 then
            h1_fields[#h1_fields + 1] = { "Cookie", table.concat(cookies, "; ") }
            for _, ck in ipairs(h2_cookies or cookies) do
                h2_fields[#h2_fields + 1] = { "cookie", ck }
            end
        end
        local h1 = curl("h1", srv.port, method, path, h1_fields)
        local h2 = curl("h2", h2_port, method, path, h2_fields)
        assert.equal("HTTP/1.1", h1.proto)
        assert.equal("HTTP/2", h2.proto)
        return h1, h2
    end

    local function assert_same_answer(h1, h2)
        assert.equal(h1.status, h2.status)
        assert.equal(h1.body, h2.body)
        assert.same(h1.headers, h2.headers)
    end

    local REQUESTS = {
        { "cookie among others, one field each", "GET", "/app/x",
          function() return { "theme=dark", "sAccessToken=" .. t.valid, "sFrontToken=x" } end,
          { { "Origin", ORIGIN } }, 200 },
        { "user endpoint", "GET", "/me",
          function() return { "a=1", "sAccessToken=" .. t.valid } end, {}, 200 },
        { "no token", "GET", "/app/x", function() return { "theme=dark" } end,
          { { "Origin", ORIGIN } }, 401 },
        { "expired token in a cookie", "GET", "/app/x",
          function() return { "sAccessToken=" .. t.expired, "x=1" } end,
          { { "Origin", ORIGIN } }, 401 },
        { "bearer token", "GET", "/app/x", function() return {} end,
          function() return { { "Authorization", "Bearer " .. t.valid },
                              { "Origin", ORIGIN } } end, 200 },
        { "two access token cookies", "GET", "/me",
          function() return { "sAccessToken=" .. t.expired, "sAccessToken=" .. t.valid } end,
          {}, nil },
        { "preflight", "OPTIONS", "/app/x", function() return {} end,
          { { "Origin", ORIGIN }, { "Access-Control-Request-Method", "POST" },
            { "Access-Control-Request-Headers", "rid,fdi-version" } }, 204 },
        { "POST with the token in a cookie and rid", "POST", "/app/x",
          function() return { "sAccessToken=" .. t.valid } end,
          { { "Origin", ORIGIN }, { "rid", "session" }, { "Content-Length", "0" } }, 200 },
    }

    for _, r in ipairs(REQUESTS) do
        it(r[1] .. ": the HTTP/1.1 answer", function()
            local fields = type(r[5]) == "function" and r[5]() or r[5]
            local h1, h2 = both(r[2], r[3], r[4](), fields)
            if r[6] then
                assert.equal(r[6], h1.status)
            end
            assert_same_answer(h1, h2)
        end)
    end

    it("the identity headers reach the upstream over HTTP/2", function()
        local _, h2 = both("GET", "/app/x", { "theme=dark", "sAccessToken=" .. t.valid }, {})
        assert.equal(200, h2.status)
        assert.equal("user-1", cjson.decode(h2.body)["x-supertokens-user-id"])
        -- the gateway's Set-Cookie lines and the upstream's stay separate
        assert.same({ "app=1; Path=/" }, h2.headers["set-cookie"])
    end)

    it("a token the core renews: the relay is the HTTP/1.1 one, tokens aside", function()
        -- one registered session per protocol: the core renews each once
        local h1 = curl("h1", srv.port, "GET", "/app/x",
                        { { "Cookie", "sAccessToken=" .. t.prth[1] } })
        local h2 = curl("h2", h2_port, "GET", "/app/x",
                        { { "cookie", "x=1" }, { "cookie", "sAccessToken=" .. t.prth[2] } })
        assert.equal(200, h1.status)
        local function masked(res)
            local m = {}
            for name, list in pairs(res.headers) do
                local out = {}
                for i, v in ipairs(list) do
                    out[i] = v:gsub("ey[%w_%-]+%.[%w_%-]+%.[%w_%-]+", "<jwt>")
                              :gsub("Expires=[^;]+", "Expires=<t>")
                end
                m[name] = out
            end
            m["front-token"] = res.headers["front-token"] and { "<front-token>" }
            return m
        end
        assert.equal(h1.status, h2.status)
        assert.truthy(h2.headers["front-token"])
        assert.same(masked(h1), masked(h2))
        assert.matches("^sAccessToken=ey", h2.headers["set-cookie"][1])
    end)
end)
