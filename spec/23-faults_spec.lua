-- Faults through a real nginx: the core down, slow, hanging, answering
-- HTML, 5xx or 100 MB; malformed tokens and oversized headers.  What must
-- hold: bounded latency, the SDK's status (a 500 only where node's
-- verifySession would throw to the app's error handler), a JSON body
-- (never nginx's or Lua's error page), no worker crash, one log line per
-- rejection with its reason and never token material.

local cjson = require "cjson.safe"
local mime = require "mime"
local nginx = require "spec.helpers.nginx"
local http = require "spec.helpers.http"
local core_helper = require "spec.helpers.core"

local TRT = '{"message":"try refresh token"}'
local UNAUTH = '{"message":"unauthorised"}'
local INTERNAL = '{"message":"internal error"}'
local APP = { api_domain = "http://localhost:3001",
              website_domain = "http://localhost:3000" }
local HTTP = { connect_timeout = 200, send_timeout = 500,
               read_timeout = 500 }


local function b64url(s)
    return (mime.b64(s):gsub("+", "-"):gsub("/", "_"):gsub("=", ""))
end


local function assert_clean_log(log, tokens)
    assert.not_matches("runtime error", log)
    assert.not_matches("exited on signal", log)
    assert.not_matches("%[alert%]", log)
    for _, tok in ipairs(tokens) do
        for seg in tok:gmatch("[^.]+") do
            if #seg > 24 then
                assert.is_nil(log:find(seg, 1, true),
                              "token material in the error log")
            end
        end
    end
end


describe("faults", function()
    local c

    setup(function()
        c = core_helper.start()
    end)

    teardown(function()
        if c then
            c:stop()
        end
    end)

    describe("core API faults during /recipe/session/verify", function()
        local srv, tokens = nil, {}

        setup(function()
            srv = nginx.supertokens({ connection_uri = c.url, app_info = APP,
                                      http = HTTP })
        end)

        teardown(function()
            if srv then
                srv:stop()
            end
            c:control("POST", "fault?api=all&mode=ok")
        end)

        local function prth_token()
            local tok = c:mint({ parentRefreshTokenHash1 = "p" })
            c:control("POST", "session", cjson.encode({ token = tok }))
            tokens[#tokens + 1] = tok
            return tok
        end

        for _, mode in ipairs({ "500", "garbage", "down", "hang", "404" }) do
            it("core '" .. mode .. "': 500 internal error (node throws), "
               .. "bounded", function()
                local tok = prth_token()
                c:control("POST", "fault?api=verify&mode=" .. mode)
                local res = assert(http.request(srv.port, {
                    path = "/api/user",
                    headers = { { "Authorization", "Bearer " .. tok } } }))
                c:control("POST", "fault?api=verify&mode=ok")
                assert.equal(500, res.status)
                assert.equal(INTERNAL, res.body)
                assert.equal("application/json; charset=utf-8",
                             res:header("content-type"))
                assert.is_true(res.elapsed < 2.5, "took " .. res.elapsed)
            end)
        end

        it("a slow core within the timeout still answers", function()
            local tok = prth_token()
            c:control("POST", "fault?api=verify&mode=slow&ms=200")
            local res = assert(http.request(srv.port, {
                path = "/api/user",
                headers = { { "Authorization", "Bearer " .. tok } } }))
            c:control("POST", "fault?api=verify&mode=ok")
            assert.equal(200, res.status)
            assert.is_string(res:header("front-token"))
        end)

        it("the log names the reason at error level", function()
            local log = srv:error_log()
            assert.matches("%[error%].-supertokens: reject status=500 "
                           .. "class=error reason=core_%w+", log)
            assert_clean_log(log, tokens)
        end)
    end)

    describe("core api-key", function()
        teardown(function()
            c:control("POST", "config?api_keys=")
        end)

        it("is sent on core calls (and a core that refuses it is a 500)",
           function()
            local tok = c:mint({})
            c:control("POST", "session", cjson.encode({ token = tok }))
            c:control("POST", "config?api_keys=k1,k2")
            local with = nginx.supertokens({ connection_uri = c.url,
                                             app_info = APP, api_key = "k2" },
                                           { route = { check_database = true },
                                             workers = 1 })
            local without = nginx.supertokens({ connection_uri = c.url,
                                                app_info = APP },
                                              { route = { check_database =
                                                          true },
                                                workers = 1 })
            local ok, err = pcall(function()
                local h = { { "Authorization", "Bearer " .. tok } }
                local res = assert(http.request(with.port, {
                    path = "/api/user", headers = h }))
                assert.equal(200, res.status)
                res = assert(http.request(without.port, {
                    path = "/api/user", headers = h }))
                assert.equal(500, res.status)
                assert.equal(INTERNAL, res.body)
                local verifies = {}
                for _, e in ipairs(c:log(0).requests) do
                    if e.path == "/recipe/session/verify" then
                        verifies[#verifies + 1] = e
                    end
                end
                local last = verifies[#verifies]
                assert.is_nil(last.headers["api-key"])
                local keyed = verifies[#verifies - 1]
                assert.equal("k2", keyed.headers["api-key"])
                assert.equal("5.4", keyed.headers["cdi-version"])
                assert.equal("session", keyed.headers["rid"])
                assert.equal("application/json; charset=utf-8",
                             keyed.headers["content-type"])
            end)
            with:stop()
            without:stop()
            assert(ok, err)
        end)
    end)

    describe("cold JWKS cache with a broken core", function()
        for _, mode in ipairs({ "down", "hang", "html", "500", "404",
                                "notjson", "empty", "truncated", "cut",
                                "huge" }) do
            it("'" .. mode .. "': 401 try refresh token, bounded", function()
                local tok = c:mint({})
                c:control("POST", "jwks?mode=" .. mode)
                local srv = nginx.supertokens({ connection_uri = c.url,
                                                app_info = APP, http = HTTP },
                                              { workers = 1 })
                local ok, err = pcall(function()
                    for _ = 1, 2 do
                        local res = assert(http.request(srv.port, {
                            path = "/api/user",
                            headers = { { "Authorization",
                                          "Bearer " .. tok } } }))
                        assert.equal(401, res.status)
                        assert.equal(TRT, res.body)
                        assert.is_true(res.elapsed < 2,
                                       "took " .. res.elapsed)
                    end
                    local log = srv:error_log()
                    assert.matches("reason=jwks_unavailable", log)
                    assert_clean_log(log, { tok })
                end)
                c:control("POST", "jwks?mode=ok")
                srv:stop()
                assert(ok, err)
            end)
        end
    end)

    describe("malformed input", function()
        local srv, valid
        local sent = {}

        setup(function()
            valid = c:mint({})
            sent[1] = valid
            srv = nginx.supertokens({ connection_uri = c.url, app_info = APP,
                                      http = HTTP }, {
                -- nginx's own [info] lines quote client headers verbatim
                -- ("client sent duplicate header line"); our lines are warn.
                error_log_level = "warn",
                server = [[
                location /p/ {
                    access_by_lua_block {
                        require("resty.supertokens").verify_session()
                    }
                    content_by_lua_block {
                        require("resty.supertokens").user_handler()
                    }
                }
            ]] })
        end)

        teardown(function()
            if srv then
                srv:stop()
            end
        end)

        local function send(headers, path)
            for _, h in ipairs(headers) do
                sent[#sent + 1] = h[2]
            end
            return assert(http.request(srv.port, { path = path or "/api/user",
                                                   headers = headers }))
        end

        local deep = string.rep("[", 1000) .. string.rep("]", 1000)
        local header = b64url('{"alg":"RS256","typ":"JWT","kid":"d-1",'
                              .. '"version":"5"}')
        local cases = {
            { "7 KB of garbage", "Bearer " .. string.rep("x", 7000),
              401, UNAUTH },
            { "many dots", "Bearer " .. string.rep("a.", 3000), 401,
              UNAUTH },
            { "empty segments", "Bearer ..", 401, UNAUTH },
            { "four segments", "Bearer a.b.c.d", 401, UNAUTH },
            { "deeply nested payload", "Bearer " .. header .. "."
              .. b64url(deep) .. ".c2ln", 401, UNAUTH },
            { "payload not JSON", "Bearer " .. header .. "."
              .. b64url("\0\1\2 not json") .. ".c2ln", 401, UNAUTH },
            { "bytes above 0x7f", "Bearer \xff\xfe.\xc3\x28.\xe2\x82", 401,
              UNAUTH },
            { "empty bearer", "Bearer ", 401, UNAUTH },
        }
        for _, case in ipairs(cases) do
            it(case[1] .. " -> " .. case[3], function()
                local res = send({ { "Authorization", case[2] } })
                assert.equal(case[3], res.status)
                assert.equal(case[4], res.body)
            end)
        end

        it("a valid structure with a garbage signature -> try refresh",
           function()
            local h, p = valid:match("^([^.]+)%.([^.]+)%.")
            local res = send({ { "Authorization", "Bearer " .. h .. "." .. p
                                 .. "." .. string.rep("A", 342) } })
            assert.equal(401, res.status)
            assert.equal(TRT, res.body)
        end)

        it("two hundred sAccessToken cookies -> try refresh", function()
            local parts = {}
            for i = 1, 200 do
                parts[i] = "sAccessToken=" .. (i == 1 and valid or "x" .. i)
            end
            local res = send({ { "Cookie", table.concat(parts, "; ") } })
            assert.equal(401, res.status)
            assert.equal(TRT, res.body)
        end)

        it("duplicate Authorization headers: nginx itself answers 400",
           function()
            -- (node would keep the first; nginx refuses the request before
            -- any Lua runs)
            local res = send({ { "Authorization", "Bearer " .. valid },
                               { "Authorization", "Bearer garbage" } })
            assert.equal(400, res.status)
        end)

        it("a token hidden behind 150 junk headers is still found",
           function()
            local headers = {}
            for i = 1, 150 do
                headers[i] = { "X-Junk-" .. i, "v" }
            end
            headers[#headers + 1] = { "Authorization", "Bearer " .. valid }
            assert.equal(200, send(headers).status)
        end)

        it("a header over nginx's buffer is nginx's 4xx, not a crash",
           function()
            local res = send({ { "Authorization",
                                 "Bearer " .. string.rep("y", 20000) } })
            assert.is_true(res.status == 400 or res.status == 494,
                           tostring(res.status))
            assert.equal(200, send({ { "Authorization",
                                       "Bearer " .. valid } }).status)
        end)

        it("a path with CR/LF bytes does not forge log lines", function()
            local res = send({}, "/p/x%0d%0aforged:%20line")
            assert.equal(401, res.status)
            res = send({ { "Authorization", "Bearer x" } },
                       "/api/user?q=%0d%0a")
            assert.equal(401, res.status)
            local log = srv:error_log()
            assert.not_matches("\nforged", log)
            assert.matches("route=/p/x%?%?forged:%?line", log)
        end)

        it("logs one line per rejection, never the token, no crash",
           function()
            local log = srv:error_log()
            local n = select(2, log:gsub("supertokens: reject", ""))
            -- 8 table cases, signature, cookies, CR/LF path, query
            assert.equal(12, n)
            assert_clean_log(log, { valid })
            for _, v in ipairs(sent) do
                local tok = v:gsub("^Bearer ", "")
                if #tok > 30 then
                    assert.is_nil(log:find(tok:sub(1, 30), 1, true),
                                  "request material in the log")
                end
            end
        end)
    end)
end)
