-- The request path on a repeated token, through a real nginx: the token
-- is parsed once (the verified-token cache keeps the parse result with the
-- verdict), every per-request check and header rule still applies, and the
-- JIT compiles the path (no trace aborts on a NYI in our files: a
-- closure created per request, a tail call to a builtin, a side exit with
-- more live registers than LuaJIT can hand on).  Static keys: no core
-- needed.

local cjson = require "cjson.safe"
local nginx = require "spec.helpers.nginx"
local http = require "spec.helpers.http"
local keys = require "spec.helpers.keys"

local WEBSITE = "http://localhost:3000"
local OTHER = "http://other.example"
local NOTE = "Fetch any data from your application for authenticated user "
             .. "after using verifySession middleware"


local function payload(sub, exp, extra)
    local now = os.time()
    local p = {
        sub = sub, exp = exp or now + 3600, iat = now - 10, tId = "public",
        rsub = sub, sessionHandle = "handle-" .. sub,
        refreshTokenHash1 = "r1", parentRefreshTokenHash1 = cjson.null,
        antiCsrfToken = cjson.null,
    }
    for k, v in pairs(extra or {}) do
        p[k] = v
    end
    return p
end


-- jit.v names a location by the file's base name: ours are the files of
-- lua/resty/supertokens/ and supertokens.lua.
local OUR_FILES = { ["supertokens.lua"] = true }
do
    local ls = assert(io.popen("ls '" .. nginx.TOP
                               .. "'/lua/resty/supertokens"))
    for name in ls:lines() do
        if name:match("%.lua$") then
            OUR_FILES[name] = true
        end
    end
    ls:close()
    assert(OUR_FILES["jwt.lua"] and OUR_FILES["decide.lua"],
           "spec/26: cannot list lua/resty/supertokens")
end

-- The trace aborts on a NYI (a bytecode, a return to a lower frame ...)
-- that start in or point into our files, but for the one by design: the
-- continuation after the stop in decide.lua's verify_framed() ends at its
-- pcall frame ("(N/stitch) decide.lua:... return to lower frame at
-- decide.lua:...").
local function our_nyi_aborts(log)
    local bad = {}
    for line in log:gmatch("[^\n]+") do
        if line:find("TRACE ---", 1, true) and line:find("NYI:", 1, true)
        then
            local ours = false
            for file in line:gmatch("([%w_%-]+%.lua):%d+") do
                ours = ours or OUR_FILES[file] or false
            end
            local by_design = line:find("/stitch) decide.lua:", 1, true)
                and line:find("return to lower frame at decide.lua:", 1,
                              true)
            if ours and not by_design then
                bad[#bad + 1] = line
            end
        end
    end
    return bad
end


describe("request path on a cached token (nginx)", function()
    local srv, k, dir

    local function mint(p)
        return keys.token(k, "RS256", { alg = "RS256", kid = "d-hot",
                                        typ = "JWT", version = "5" }, p)
    end

    local function get(path, headers)
        return http.request(srv.port, { method = "GET", path = path,
                                        headers = headers })
    end

    local function parses()
        return tonumber(get("/parses").body)
    end

    -- The worker's jit.v log (traces flushed first) while requests() runs.
    local function jit_log(requests)
        get("/jit/on")
        requests()
        return get("/jit/off").body
    end

    setup(function()
        k = keys.rsa(2048, "d-hot")
        dir = keys.tmpdir()
        local jwks_file = dir .. "/jwks.json"
        keys.write_file(jwks_file, keys.jwks({ k }))
        srv = nginx.start({
            error_log_level = "warn",
            http = [[
                init_by_lua_block {
                    -- count the binding's parses (the cache must skip them)
                    local jwt = require "resty.supertokens.jwt"
                    local mt = getmetatable(jwt.verifier()).__index
                    local parse = mt.parse
                    local n = { 0 }
                    package.loaded.hot_parses = n
                    mt.parse = function(...)
                        n[1] = n[1] + 1
                        return parse(...)
                    end
                    -- and the token infos made (a cached token keeps its
                    -- own, and with it its session and /api/user body)
                    local token = require "resty.supertokens.token"
                    local inspect = token.inspect
                    n[2] = 0
                    token.inspect = function(res)
                        if not res.inspected then
                            n[2] = n[2] + 1
                        end
                        return inspect(res)
                    end
                    require("resty.supertokens").init({
                        app_info = { api_domain = "http://localhost:3001",
                                     website_domain = "]] .. WEBSITE .. [[" },
                        jwks_file = "]] .. jwks_file .. [[",
                        cors = { origins = { "]] .. WEBSITE .. [[",
                                             "]] .. OTHER .. [[" } },
                    })
                }
                header_filter_by_lua_block {
                    require("resty.supertokens").header_filter()
                }
            ]],
            server = [[
                location = /api/user {
                    access_by_lua_block {
                        require("resty.supertokens").verify_session()
                    }
                    content_by_lua_block {
                        require("resty.supertokens").user_handler()
                    }
                }
                location = /one {
                    content_by_lua_block {
                        require("resty.supertokens").user_endpoint()
                    }
                }
                location = /echo {
                    access_by_lua_block {
                        require("resty.supertokens").verify_session()
                    }
                    content_by_lua_block {
                        ngx.print(ngx.var.http_x_supertokens_user_id or "-")
                    }
                }
                location = /cache-admission {
                    content_by_lua_block {
                        local cache = require "resty.supertokens.cache"
                        local c = cache.new(4, 2)
                        local now = ngx.now() * 1000
                        local p = { exp = ngx.now() + 60 }
                        local out = {}
                        c:set("a", 1, p, now)   -- 1st use: counted only
                        out[1] = c:get("a", 1)
                        c:set("a", 1, p, now)   -- 2nd use: an entry
                        out[2] = c:get("a", 1)
                        for i = 1, 10 do        -- each seen once
                            c:set("t" .. i, 1, p, now)
                        end
                        out[3] = c:get("t10", 1)
                        out[4] = c.seen_n <= 4 and c:count() == 1
                        out[5] = c:get("a", 1)
                        c:set("t10", 1, p, now) -- 2nd use, newer gen
                        out[6] = c:get("t10", 1)
                        c:set("t8", 1, p, now)  -- 2nd use, older gen
                        out[7] = c:get("t8", 1)
                        c:set("t1", 1, p, now)  -- forgotten: 1st again
                        out[8] = c:get("t1", 1)
                        local c1 = cache.new(4)
                        c1:set("b", 1, p, now)  -- default: 1st use
                        out[9] = c1:get("b", 1)
                        -- real tokens are counted by their last 7
                        -- characters: one differing there is another
                        local long = ("h"):rep(300) .. "."
                        local c2 = cache.new(4, 2)
                        c2:set(long .. "Zz_-09a", 1, p, now)
                        c2:set(long .. "Zz_-09b", 1, p, now)
                        out[10] = c2:get(long .. "Zz_-09b", 1)
                        c2:set("x" .. long .. "Zz_-09a", 1, p, now)
                        out[11] = c2:get("x" .. long .. "Zz_-09a", 1)
                        ngx.say(require("cjson").encode(out))
                    }
                }
                location = /parses {
                    content_by_lua_block {
                        ngx.print(package.loaded.hot_parses[1])
                    }
                }
                location = /infos {
                    content_by_lua_block {
                        ngx.print(package.loaded.hot_parses[2])
                    }
                }
                location = /jit/on {
                    content_by_lua_block {
                        jit.flush()
                        require("jit.v").start(ngx.config.prefix()
                                               .. "logs/jit.log")
                    }
                }
                location = /jit/off {
                    content_by_lua_block {
                        require("jit.v").off()
                        local f = io.open(ngx.config.prefix()
                                          .. "logs/jit.log")
                        ngx.print(f and f:read("*a") or "")
                        if f then f:close() end
                    }
                }
            ]],
        })
    end)

    teardown(function()
        if srv then
            srv:stop()
        end
        keys.cleanup()
    end)

    -- first, while nothing has been blacklisted by the JIT yet
    it("compiles: no trace aborts on a NYI in the request path",
       function()
        local auth = { { "Authorization", "Bearer "
                                          .. mint(payload("u-jit")) } }
        local log = jit_log(function()
            for _ = 1, 300 do
                assert.equal(200, get("/api/user", auth).status)
            end
        end)
        assert.truthy(log:find("TRACE", 1, true), "jit.v saw no traces")
        assert.same({}, our_nyi_aborts(log))
    end)

    it("caches a token at its second use (token_cache_min_uses = 2)",
       function()
        assert.same({ false, true, false, true, true, true, true, false,
                      true, false, true },
                    cjson.decode(get("/cache-admission").body))
    end)

    it("parses a repeated token twice (then never), makes its info as "
       .. "often, and answers the same",
       function()
        local tok = mint(payload("u-repeat"))
        local before = parses()
        local infos_before = tonumber(get("/infos").body)
        local first
        for i = 1, 30 do
            local res = get("/api/user", { { "Authorization",
                                            "Bearer " .. tok } })
            assert.equal(200, res.status)
            if i == 1 then
                first = res.body
            else
                assert.equal(first, res.body)
            end
        end
        -- 1st use: verified, counted; 2nd: verified, cached; then hits
        assert.equal(2, parses() - before)
        assert.equal(2, tonumber(get("/infos").body) - infos_before)
        local body = assert(cjson.decode(first))
        assert.equal(NOTE, body.note)
        assert.equal("u-repeat", body.userId)
        assert.equal("handle-u-repeat", body.sessionHandle)
        assert.equal("u-repeat", body.userDataInAccessToken.sub)
    end)

    it("still strips a forged identity header on a cache hit", function()
        local tok = mint(payload("u-strip"))
        for _ = 1, 3 do
            local res = get("/echo", {
                { "Authorization", "Bearer " .. tok },
                { "X-SuperTokens-User-Id", "admin" },
            })
            assert.equal(200, res.status)
            assert.equal("u-strip", res.body)
        end
        local res = get("/echo", { { "X-SuperTokens-User-Id", "admin" } })
        assert.equal(401, res.status)
    end)

    it("still judges expiry per request (a hit skips the signature only)",
       function()
        -- valid for 2 s: cached, then expired
        local tok = mint(payload("u-exp", os.time() + 2))
        local auth = { { "Authorization", "Bearer " .. tok } }
        assert.equal(200, get("/api/user", auth).status)
        assert.equal(200, get("/api/user", auth).status)
        require("socket").sleep(3.1)
        local res = get("/api/user", auth)
        assert.equal(401, res.status)
        assert.equal('{"message":"try refresh token"}', res.body)
    end)

    it("joins duplicate headers as node does (Origin, multi-origin CORS)",
       function()
        local auth = { "Authorization", "Bearer " .. mint(payload("u-o")) }
        local res = get("/api/user", { auth, { "Origin", OTHER } })
        assert.equal(OTHER, res:header("access-control-allow-origin"))
        -- node sees "a, b": not a listed origin, so no ACAO
        res = get("/api/user", { auth, { "Origin", OTHER },
                                 { "Origin", WEBSITE } })
        assert.equal(200, res.status)
        assert.is_nil(res:header("access-control-allow-origin"))
        assert.equal("Origin", res:header("vary"))
        res = get("/api/user", { auth })
        assert.is_nil(res:header("access-control-allow-origin"))
    end)

    -- What an HTTP client sees of an answer, minus what nginx adds itself.
    local SKIP = { date = true, server = true, connection = true,
                   ["transfer-encoding"] = true, ["content-length"] = true }

    local function seen(res)
        local hs = {}
        for _, h in ipairs(res.headers) do
            if not SKIP[h[1]] then
                hs[#hs + 1] = h[1] .. ": " .. h[2]
            end
        end
        table.sort(hs)
        return { status = res.status, body = res.body, headers = hs }
    end

    it("user_endpoint answers as verify_session + user_handler + "
       .. "header_filter", function()
        local good = mint(payload("u-one"))
        local expired = mint(payload("u-one-x", os.time() - 5))
        local cases = {
            { { "Authorization", "Bearer " .. good } },
            { { "Authorization", "Bearer " .. good }, { "Origin", OTHER } },
            { { "Authorization", "Bearer " .. expired },
              { "Origin", WEBSITE } },
            { { "Authorization", "Bearer not.a.token" } },
            { { "Cookie", "sAccessToken=" .. good } },
            { { "Cookie", "sAccessToken=" .. good }, { "rid", "session" } },
            { { "Cookie", "sAccessToken=" .. good .. "; sIdRefreshToken=x" } },
            {},
        }
        for i, hs in ipairs(cases) do
            local a = seen(get("/api/user", hs))
            local b = seen(get("/one", hs))
            assert.same(a, b, "case " .. i)
        end
        local pre = { { "Origin", WEBSITE },
                      { "Access-Control-Request-Method", "GET" } }
        local a = seen(http.request(srv.port, { method = "OPTIONS",
                                                path = "/api/user",
                                                headers = pre }))
        local b = seen(http.request(srv.port, { method = "OPTIONS",
                                                path = "/one",
                                                headers = pre }))
        assert.equal(204, a.status)
        assert.same(a, b)
    end)

    it("user_endpoint: decide.verify is never blacklisted, and its trace "
       .. "does not stop at the pcall frame", function()
        local line
        local n = 0
        for l in io.lines("lua/resty/supertokens/decide.lua") do
            n = n + 1
            if l:find("^function _M%.verify%(") then
                line = n
                break
            end
        end
        assert.truthy(line)
        local auth = { { "Authorization", "Bearer "
                                          .. mint(payload("u-jit1")) } }
        local log = jit_log(function()
            for _ = 1, 300 do
                assert.equal(200, get("/one", auth).status)
            end
        end)
        local at = "decide.lua:" .. line .. " "
        local compiled, aborted = false, {}
        for l in log:gmatch("[^\n]+") do
            if l:find(at, 1, true) then
                if l:find("TRACE ---", 1, true) then
                    aborted[#aborted + 1] = l
                elseif l:find("^%[TRACE +%d+ ") then
                    compiled = true
                end
            end
        end
        -- Whether LuaJIT tries a trace at decide.verify within these
        -- requests depends on which functions share its hot counter
        -- (memory layout); when it tries, the trace must compile.
        if #aborted > 0 then
            assert.is_true(compiled, "decide.verify never compiled:\n"
                           .. table.concat(aborted, "\n"))
        end
        for _, l in ipairs(aborted) do
            assert.falsy(l:find("blacklisted", 1, true), l)
            assert.falsy(l:find("return to lower frame", 1, true), l)
        end
    end)

    -- Side traces start at the exits of the hot path (a token not in the
    -- cache, a rejection); before the stop in verify_framed() they
    -- recorded on up to the pcall frame, aborted there, and sent the rest
    -- of every such request to the interpreter.
    it("user_endpoint: traces that start inside the decision end before "
       .. "the pcall frame (misses and rejections)", function()
        local log = jit_log(function()
            for i = 1, 240 do
                local tok = i % 3 == 0 and "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"
                            or mint(payload("u-miss-" .. i))
                local want = i % 3 == 0 and 401 or 200
                assert.equal(want, get("/one", { { "Authorization",
                                                   "Bearer " .. tok } })
                                   .status)
            end
        end)
        assert.truthy(log:find("TRACE", 1, true), "jit.v saw no traces")
        -- A trace that reaches the pcall frame aborts "at decide.lua:"
        -- (verify_framed's return); only the continuation after the stop
        -- may.  (resty.core's ngx.var metamethod has aborts of its own,
        -- "at ffi.string" / "at setmetatable": not this.)
        for l in log:gmatch("[^\n]+") do
            if l:find("return to lower frame at decide.lua:", 1, true)
               and not l:find("/stitch) decide.lua:", 1, true)
            then
                error("a trace of the request path reached the pcall "
                      .. "frame:\n" .. l)
            end
        end
        assert.same({}, our_nyi_aborts(log))
    end)
end)
