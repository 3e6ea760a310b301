-- The JWKS engine (resty.supertokens.keys) in a real nginx with two
-- workers against the core stand-in: jose's timeline recorded from the
-- SDK (shared/spec/vectors/oracle-jwks-cache.json) step by step, counting
-- JWKS fetches at the stand-in; failover; stale-if-error; one fetch shared
-- by concurrent workers; cache invalidation when a kid goes away; static
-- keys without a core.

local cjson = require "cjson.safe"
local socket = require "socket"
local nginx = require "spec.helpers.nginx"
local http = require "spec.helpers.http"
local core_helper = require "spec.helpers.core"

local TRT = '{"message":"try refresh token"}'
local APP = { api_domain = "http://localhost:3001",
              website_domain = "http://localhost:3000" }

local function get(srv, token)
    return assert(http.request(srv.port, {
        path = "/api/user",
        headers = token and { { "Authorization", "Bearer " .. token } },
    }))
end


local function read_vector()
    local f = assert(io.open(nginx.TOP .. "/spec/fixtures/flow/"
                             .. "oracle-jwks-cache.json"))
    local v = assert(cjson.decode(f:read("*a")))
    f:close()
    return v
end


describe("JWKS engine", function()
    local c

    setup(function()
        c = core_helper.start()
    end)

    teardown(function()
        if c then
            c:stop()
        end
    end)

    before_each(function()
        c:control("POST", "jwks?mode=ok")
    end)

    describe("jose timeline (oracle-jwks-cache.json)", function()
        local srv, t1, t2

        setup(function()
            local dead = nginx.free_port()
            c:control("POST", "snapshot?name=before")
            t1 = c:mint({ sub = "user-1" })
            c:control("POST", "rotate")
            c:control("POST", "snapshot?name=after")
            t2 = c:mint({ sub = "user-1", key = "latest" })
            c:control("POST", "restore?name=before")
            srv = nginx.supertokens({
                connection_uri = "http://127.0.0.1:" .. dead .. ";" .. c.url,
                app_info = APP,
                session = { jwks_refresh_interval_sec = 2 },
            })
        end)

        teardown(function()
            if srv then
                srv:stop()
            end
            c:control("POST", "restore?name=before")
        end)

        it("reproduces every step", function()
            local vector = read_vector()
            assert.equal(2, vector.config.jwksRefreshIntervalSec)
            assert.equal(500, vector.config.JWKCacheCooldownInMs)

            -- What happens before each recorded step; the tokens are ours
            -- (k1 = t1, k2 = t2), the expectations the oracle's.
            local steps = {
                { token = t1 },
                { token = t2 },
                { token = t2, sleep = 0.7 },
                { token = t2, before = function()
                    c:control("POST", "restore?name=after")
                end },
                { token = t2, sleep = 0.7 },
                { token = t1 },
                { token = t1, sleep = 2.1 },
            }
            assert.equal(#vector.log, #steps)

            for i, step in ipairs(vector.log) do
                local s = steps[i]
                if s.sleep then
                    socket.sleep(s.sleep)
                end
                if s.before then
                    s.before()
                end
                local n0 = c:jwks_count()
                local res = get(srv, s.token)
                local fetched = c:jwks_count() - n0
                assert.equal(step.status, res.status,
                             "step " .. i .. ": " .. step.step)
                if step.status ~= 200 then
                    assert.equal(step.body, res.body, step.step)
                end
                assert.equal(step.jwksFetchesDuringStep, fetched,
                             "fetches in step " .. i .. ": " .. step.step)
            end
        end)

        it("logged no Lua error", function()
            local log = srv:error_log()
            assert.not_matches("runtime error", log)
            assert.not_matches("%[alert%]", log)
        end)
    end)

    describe("two workers, one fetch", function()
        local srv

        teardown(function()
            if srv then
                srv:stop()
            end
        end)

        it("cold cache: concurrent requests on both workers share one "
           .. "fetch", function()
            local token = c:mint({})
            c:control("POST", "jwks?mode=slow&ms=800")
            srv = nginx.supertokens({
                connection_uri = c.url, app_info = APP,
            }, { reuseport = true })
            local n0 = c:jwks_count()
            local list = {}
            for i = 1, 16 do
                list[i] = { path = "/api/user", headers = {
                    { "Authorization", "Bearer " .. token } } }
            end
            local results = http.parallel(srv.port, list)
            local workers = {}
            for _, r in ipairs(results) do
                local res = assert(r[1], r[2])
                assert.equal(200, res.status, res.body)
                workers[res:header("x-worker")] = true
            end
            local nworkers = 0
            for _ in pairs(workers) do
                nworkers = nworkers + 1
            end
            assert.equal(2, nworkers, "both workers answered")
            assert.equal(1, c:jwks_count() - n0)
        end)

        it("unknown kid on both workers: one refetch", function()
            c:control("POST", "jwks?mode=slow&ms=300")
            local rogue = c:mint({ key = "rogue", kid = "d-42" })
            socket.sleep(0.6)  -- past the cooldown of the cold fetch
            local n0 = c:jwks_count()
            local list = {}
            for i = 1, 8 do
                list[i] = { path = "/api/user", headers = {
                    { "Authorization", "Bearer " .. rogue } } }
            end
            for _, r in ipairs(http.parallel(srv.port, list)) do
                local res = assert(r[1], r[2])
                assert.equal(401, res.status)
                assert.equal(TRT, res.body)
            end
            assert.equal(1, c:jwks_count() - n0)
        end)

        -- jose: a kid that is not a string filters nothing, several keys
        -- match (JWKSMultipleMatchingKeys), no refetch.
        it("a kid that is not a string: 401 try refresh, no refetch",
           function()
            c:control("POST", "jwks?mode=ok")
            local odd = c:mint({ kid = 42 })
            assert.is_true(#c:jwks().keys > 1)
            socket.sleep(0.6)  -- past the cooldown of the last fetch
            local n0 = c:jwks_count()
            for _ = 1, 4 do
                local res = assert(http.request(srv.port, {
                    path = "/api/user",
                    headers = { { "Authorization", "Bearer " .. odd } } }))
                assert.equal(401, res.status)
                assert.equal(TRT, res.body)
            end
            assert.equal(0, c:jwks_count() - n0)
        end)

        -- jose: when no key fits at all (JWKSNoMatchingKey) a kid that is
        -- not a string refetches like any unknown kid.  No core serves a
        -- set without an RSA key; the stand-in's "norsa" fault does.
        it("a kid that is not a string, no RSA key in the set: refetch",
           function()
            local odd = c:mint({ kid = 42 })
            c:control("POST", "jwks?mode=norsa")
            local a = c:jwks_count()
            local gw = nginx.supertokens({
                connection_uri = c.url, app_info = APP,
            })
            local function send()
                local res = assert(http.request(gw.port, {
                    path = "/api/user",
                    headers = { { "Authorization", "Bearer " .. odd } },
                }))
                assert.equal(401, res.status)
                assert.equal(TRT, res.body)
            end
            local ok, err = pcall(function()
                send()              -- the first fetch: no RSA key
                local n0 = c:jwks_count()
                assert.is_true(n0 > a, "the set without RSA was fetched")
                socket.sleep(0.6)   -- past the cooldown
                c:control("POST", "jwks?mode=ok")
                for _ = 1, 3 do
                    send()
                end
                -- one refetch; with RSA keys in the set, several fit: no more
                assert.equal(1, c:jwks_count() - n0)
            end)
            gw:stop()
            assert(ok, err)
        end)
    end)

    describe("stale-if-error and validation", function()
        local srv, token

        setup(function()
            c:control("POST", "jwks?mode=ok")
            token = c:mint({})
            srv = nginx.supertokens({
                connection_uri = c.url, app_info = APP,
                session = { jwks_refresh_interval_sec = 1 },
                token_cache_size = 0,
                http = { connect_timeout = 200, read_timeout = 300,
                         send_timeout = 300 },
            })
            assert.equal(200, get(srv, token).status)
        end)

        teardown(function()
            if srv then
                srv:stop()
            end
        end)

        for _, mode in ipairs({ "down", "500", "404", "html", "notjson",
                                "empty", "truncated", "cut", "hang",
                                "huge" }) do
            it("keeps the last good keys when the JWKS is '" .. mode .. "'",
               function()
                c:control("POST", "jwks?mode=" .. mode)
                socket.sleep(1.1)   -- past max age: the next request refetches
                local n0 = c:jwks_count()
                for _ = 1, 3 do
                    local res = get(srv, token)
                    assert.equal(200, res.status, res.body)
                    assert.is_true(res.elapsed < 1.5,
                                   "took " .. res.elapsed .. " s")
                end
                -- A failed fetch is not retried within the cooldown.  (The
                -- stand-in counts requests: a pooled connection that dies
                -- before answering is resent once on a fresh one.)
                assert.is_true(c:jwks_count() - n0 <= 2)
                c:control("POST", "jwks?mode=ok")
            end)
        end

        it("a JWKS with a duplicated kid is a JWKS (as in jose), that kid "
           .. "verifies nothing", function()
            -- jose finds two candidate keys for the kid and fails
            -- (ERR_JWKS_MULTIPLE_MATCHING_KEYS) -> TRY_REFRESH_TOKEN.
            c:control("POST", "jwks?mode=dupkid")
            socket.sleep(1.1)
            local res = get(srv, token)
            assert.equal(401, res.status)
            assert.equal(TRT, res.body)
            c:control("POST", "jwks?mode=ok")
            socket.sleep(1.1)
            assert.equal(200, get(srv, token).status)
        end)

        it("logs fetch failures once per cooldown, not per request",
           function()
            srv:mark()
            c:control("POST", "jwks?mode=500")
            socket.sleep(1.1)
            local t0 = socket.gettime()
            for _ = 1, 10 do
                assert.equal(200, get(srv, token).status)
            end
            local elapsed = socket.gettime() - t0
            local log = srv:log_since_mark()
            local n = select(2, log:gsub("JWKS fetch failed", ""))
            -- one line per 500 ms at most (normally exactly one: the ten
            -- requests take a few ms)
            assert.is_true(n >= 1 and n <= 1 + math.floor(elapsed / 0.5),
                           n .. " lines in " .. elapsed .. " s")
            assert.matches("keeping the last good keys", log)
            c:control("POST", "jwks?mode=ok")
        end)

        it("takes new keys once the core answers again", function()
            socket.sleep(1.1)
            local n0 = c:jwks_count()
            assert.equal(200, get(srv, token).status)
            assert.equal(1, c:jwks_count() - n0)
        end)
    end)

    describe("stale-if-error has a limit (jwks_max_stale_sec)", function()
        local function stale_gateway(max_stale)
            c:control("POST", "jwks?mode=ok")
            return nginx.supertokens({
                connection_uri = c.url, app_info = APP,
                session = { jwks_refresh_interval_sec = 1 },
                jwks_max_stale_sec = max_stale,
                token_cache_size = 100, token_cache_min_uses = 1,
                http = { connect_timeout = 200, read_timeout = 300,
                         send_timeout = 300 },
            }, { workers = 1 })
        end

        it("keys past refresh interval + limit are not used while no core "
           .. "answers: 401 try refresh, cached tokens too", function()
            local token = c:mint({})
            local srv = stale_gateway(1)
            local ok, err = pcall(function()
                assert.equal(200, get(srv, token).status)
                assert.equal(200, get(srv, token).status)   -- cached now
                c:control("POST", "jwks?mode=500")
                socket.sleep(1.2)      -- stale, within the limit
                assert.equal(200, get(srv, token).status)
                socket.sleep(1.0)      -- 2.2 s old: past 1 + 1
                srv:mark()
                local res = get(srv, token)
                assert.equal(401, res.status)
                assert.equal(TRT, res.body)
                local log = srv:log_since_mark()
                assert.matches("jwks_max_stale_sec", log, 1, true)
                assert.matches("reason=jwks_unavailable", log, 1, true)
                c:control("POST", "jwks?mode=ok")
                socket.sleep(0.6)      -- the failed fetch's cooldown
                assert.equal(200, get(srv, token).status)
            end)
            c:control("POST", "jwks?mode=ok")
            srv:stop()
            assert(ok, err)
        end)

        it("0: no stale keys at all, as supertokens-node", function()
            local token = c:mint({})
            local srv = stale_gateway(0)
            local ok, err = pcall(function()
                assert.equal(200, get(srv, token).status)
                c:control("POST", "jwks?mode=500")
                socket.sleep(1.2)
                local res = get(srv, token)
                assert.equal(401, res.status)
                assert.equal(TRT, res.body)
            end)
            c:control("POST", "jwks?mode=ok")
            srv:stop()
            assert(ok, err)
        end)
    end)

    describe("verified-token cache", function()
        local srv, t1, t2

        setup(function()
            c:control("POST", "jwks?mode=ok")
            c:control("POST", "snapshot?name=cache0")
            c:control("POST", "rotate")
            t1 = c:mint({ key = "latest" })
            srv = nginx.supertokens({
                connection_uri = c.url, app_info = APP,
                session = { jwks_refresh_interval_sec = 1 },
                token_cache_size = 100,
            }, { workers = 1, server = [[
                # The engine as the decision drives it when it ignores a
                # header token (A: parsed, not inspected) and takes a
                # cached cookie token (B) whose entry is older than the
                # keyset: the entry B gets again must hold B's parse.
                location = /engine/reverify {
                    content_by_lua_block {
                        local st = require "resty.supertokens"
                        local token = require "resty.supertokens.token"
                        local eng = require("resty.supertokens.keys")
                                        .new(st.config())
                        local a = ngx.var.http_x_token_a
                        local b = ngx.var.http_x_token_b
                        local res_a = assert(eng:parse(a))
                        local res_b = assert(eng:parse(b))
                        assert(res_a ~= res_b)
                        local info = assert(token.inspect(res_b))
                        local ok, why = eng:check_signature(b, info)
                        local kept = eng.cache:lookup(b)
                        ngx.say(require("cjson").encode({
                            ok = ok or why,
                            same = kept and kept.res == res_b,
                            sub = kept and kept.res
                                  and kept.res.payload.sub,
                        }))
                    }
                }
            ]] })
        end)

        teardown(function()
            if srv then
                srv:stop()
            end
            c:control("POST", "restore?name=cache0")
        end)

        it("a cached token verified again keeps its own parse, not one "
           .. "held from an ignored token before it", function()
            local ta = c:mint({ key = "latest", sub = "user-a" })
            local tb = c:mint({ key = "latest", sub = "user-b" })
            assert.equal(200, get(srv, tb).status)
            assert.equal(200, get(srv, tb).status)   -- cached with its parse
            c:control("POST", "rotate")               -- a new keyset version
            socket.sleep(1.1)
            assert.equal(200, get(srv, tb).status)   -- starts the refetch
            socket.sleep(0.3)
            local res = assert(http.request(srv.port, {
                path = "/engine/reverify",
                headers = { { "X-Token-A", ta }, { "X-Token-B", tb } },
            }))
            assert.equal(200, res.status, res.body)
            assert.same({ ok = true, same = true, sub = "user-b" },
                        cjson.decode(res.body))
        end)

        it("a removed kid is not served from the cache", function()
            assert.equal(200, get(srv, t1).status)
            assert.equal(200, get(srv, t1).status)   -- cached (2nd use)
            assert.equal(200, get(srv, t1).status)   -- cache hit
            c:control("POST", "rotate?drop=1")        -- t1's kid is gone
            t2 = c:mint({ key = "latest" })
            socket.sleep(1.1)
            local res = get(srv, t1)
            assert.equal(401, res.status)
            assert.equal(TRT, res.body)
            assert.equal(200, get(srv, t2).status)
        end)
    end)

    describe("the shared dict loses entries", function()
        -- Eviction under memory pressure or flush_all can take any entry;
        -- /engine/other drives a second engine on a copy of the config
        -- (same cores, so the same dict entries): another worker, or one
        -- that just started, in this one-worker nginx.
        local srv

        setup(function()
            c:control("POST", "jwks?mode=ok")
            c:control("POST", "snapshot?name=dict0")
            -- "latest" names the newest key minted, restored or not: a
            -- rotation makes it one the stand-in publishes
            c:control("POST", "rotate")
            srv = nginx.supertokens({
                connection_uri = c.url, app_info = APP,
                token_cache_size = 0,
            }, { workers = 1, server = [[
                location = /dict/flush {
                    content_by_lua_block {
                        ngx.shared.supertokens:flush_all()
                        ngx.say("ok")
                    }
                }
                location = /dict/drop-body {
                    content_by_lua_block {
                        local dict = ngx.shared.supertokens
                        local n = 0
                        for _, k in ipairs(dict:get_keys(0)) do
                            if k:find(":body$") then
                                dict:delete(k)
                                n = n + 1
                            end
                        end
                        ngx.say(n)
                    }
                }
                # Engines and core clients for configs that are dropped
                # (a Kong reconfigure): how many configs outlive a full
                # collection.
                location = /gc/configs {
                    content_by_lua_block {
                        local config = require "resty.supertokens.config"
                        local keys = require "resty.supertokens.keys"
                        local core = require "resty.supertokens.core"
                        local live = setmetatable({}, { __mode = "v" })
                        for i = 1, 20 do
                            local conf = assert(config.new({
                                connection_uri = "]] .. c.url .. [[",
                                app_info = {
                                    api_domain = "http://localhost:3001",
                                    website_domain = "http://localhost:3000",
                                },
                                token_cache_size = 100,
                            }))
                            assert(keys.new(conf))
                            assert(core.new(conf))
                            live[i] = conf
                        end
                        collectgarbage()
                        collectgarbage()
                        local n = 0
                        for _ in pairs(live) do
                            n = n + 1
                        end
                        ngx.say(n)
                    }
                }
                # fetch() over two cores whose first one's client raises;
                # unlock() by a fetch that no longer holds the lock
                location = /engine/failover {
                    content_by_lua_block {
                        local config = require "resty.supertokens.config"
                        local keys = require "resty.supertokens.keys"
                        local real = require("resty.supertokens.http").client()
                        local calls = 0
                        local client = { request = function(opts)
                            calls = calls + 1
                            if calls == 1 then
                                error("plugged client failure")
                            end
                            return real.request(opts)
                        end }
                        local conf = assert(config.new({
                            connection_uri = "]] .. c.url .. ";" .. c.url .. [[",
                            app_info = {
                                api_domain = "http://localhost:3001",
                                website_domain = "http://localhost:3000",
                            },
                        }))
                        local eng = assert(keys.new(conf, client))
                        local body, ks, err = eng:fetch()
                        local dict = ngx.shared.supertokens
                        dict:set(eng.k_lock, "another fetch")
                        eng:unlock("an earlier fetch")
                        ngx.say(require("cjson").encode({
                            body = body ~= nil, keys = ks ~= nil,
                            err = err, calls = calls,
                            lock = dict:get(eng.k_lock),
                        }))
                        dict:delete(eng.k_lock)
                    }
                }
                location = /engine/other {
                    content_by_lua_block {
                        local conf = {}
                        for k, v in pairs(require("resty.supertokens")
                                          .config()) do
                            conf[k] = v
                        end
                        local eng = assert(require("resty.supertokens.keys")
                                               .new(conf))
                        local ks, err = eng:prepare()
                        ngx.say(ks and "keys" or err)
                    }
                }
            ]] })
        end)

        teardown(function()
            if srv then
                srv:stop()
            end
            c:control("POST", "restore?name=dict0")
        end)

        local function call(path)
            local res = assert(http.request(srv.port, { path = path }))
            assert.equal(200, res.status, srv:log_since_mark())
            return res.body
        end

        it("new keys stored after a flush reach a worker that had the old "
           .. "ones (a removed kid stops verifying)", function()
            local t1 = c:mint({ key = "latest" })
            assert.equal(200, get(srv, t1).status)   -- this worker: keys A
            call("/dict/flush")
            c:control("POST", "rotate?drop=1")        -- keys B: t1's kid gone
            local t2 = c:mint({ key = "latest" })
            -- another worker fetches and stores B into the emptied dict;
            -- a version counter restarted there and gave B the number A had
            assert.equal("keys\n", call("/engine/other"))
            local res = get(srv, t1)
            assert.equal(401, res.status, res.body)
            assert.equal(TRT, res.body)
            assert.equal(200, get(srv, t2).status)
        end)

        it("a plugged client that raises fails its core, not the next; "
           .. "a lock is released only by its holder", function()
            assert.same({ body = true, keys = true, calls = 2,
                          lock = "another fetch" },
                        cjson.decode(call("/engine/failover")))
        end)

        it("a dropped config takes its engine and core client with it",
           function()
            assert.equal("0\n", call("/gc/configs"))
        end)

        it("a version whose JWKS text is gone is fetched again, not 'no "
           .. "keys' until the refresh interval", function()
            local t = c:mint({ key = "latest" })
            assert.equal(200, get(srv, t).status)
            assert.equal("1\n", call("/dict/drop-body"))
            socket.sleep(0.6)                         -- past the cooldown
            local n0 = c:jwks_count()
            -- a worker without keys of its own (started after the loss)
            assert.equal("keys\n", call("/engine/other"))
            assert.equal(1, c:jwks_count() - n0)
            assert.equal(200, get(srv, t).status)
        end)
    end)

    describe("cold cache, no core reachable", function()
        local srv

        teardown(function()
            if srv then
                srv:stop()
            end
        end)

        it("answers 401 try refresh token quickly, never 500", function()
            local token = c:mint({})
            local dead1, dead2 = nginx.free_port(), nginx.free_port()
            srv = nginx.supertokens({
                connection_uri = "http://127.0.0.1:" .. dead1
                                 .. ";http://127.0.0.1:" .. dead2,
                app_info = APP,
            })
            for _ = 1, 5 do
                local res = get(srv, token)
                assert.equal(401, res.status)
                assert.equal(TRT, res.body)
                assert.is_true(res.elapsed < 1)
            end
            local log = srv:error_log()
            assert.matches("JWKS fetch failed %(cold%); no keys yet", log)
            assert.matches("reason=jwks_unavailable", log)
            assert.not_matches("runtime error", log)
        end)
    end)

    describe("static keys", function()
        local srv, jwks_path

        setup(function()
            local res = assert(http.request(c.port, {
                path = "/.well-known/jwks.json" }))
            jwks_path = os.tmpname()
            local f = assert(io.open(jwks_path, "wb"))
            f:write(res.body)
            f:close()
        end)

        teardown(function()
            if srv then
                srv:stop()
            end
            os.remove(jwks_path)
        end)

        it("verify with jwks_file and no core at all", function()
            local good = c:mint({})
            local rogue = c:mint({ key = "rogue", kid = "d-7" })
            srv = nginx.supertokens({ jwks_file = jwks_path, app_info = APP },
                                    { no_dict = true })
            assert.equal(200, get(srv, good).status)
            local res = get(srv, rogue)
            assert.equal(401, res.status)
            assert.equal(TRT, res.body)
        end)

        it("inline jwks works too", function()
            local f = assert(io.open(jwks_path))
            local text = f:read("*a")
            f:close()
            local s = nginx.supertokens({ jwks = text, app_info = APP },
                                        { no_dict = true })
            local ok, err = pcall(function()
                assert.equal(200, get(s, c:mint({})).status)
            end)
            s:stop()
            assert(ok, err)
        end)
    end)

    it("init_worker({ prefetch = true }) fetches before any request",
       function()
        local n0 = c:jwks_count()
        local srv = nginx.start({ workers = 2, http = [[
            init_by_lua_block {
                require("resty.supertokens").init({
                    connection_uri = "]] .. c.url .. [[",
                    app_info = { api_domain = "http://a.example",
                                 website_domain = "http://a.example" } })
            }
            init_worker_by_lua_block {
                require("resty.supertokens").init_worker({ prefetch = true })
            }
        ]], server = "location / { return 204; }" })
        local deadline = socket.gettime() + 3
        while c:jwks_count() == n0 and socket.gettime() < deadline do
            socket.sleep(0.05)
        end
        socket.sleep(0.2)
        local fetched = c:jwks_count() - n0
        srv:stop()
        assert.equal(1, fetched)
    end)

    it("hands user code a session of the request's own", function()
        -- the decision's answer to a repeated token is shared (decide.lua
        -- plain_pass): what verify_session() and get_session() return
        -- must not carry one request's changes into the next
        local srv = nginx.supertokens({ connection_uri = c.url, app_info = APP,
                                        token_cache_size = 10 },
                                      { workers = 1, server = [[
            location = /mark {
                access_by_lua_block {
                    local st = require("resty.supertokens")
                    local s = st.verify_session()
                    s.mark = (s.mark or 0) + 1
                    local again = st.get_session()
                    ngx.ctx.mark = s.mark .. " " .. tostring(again == s)
                                   .. " " .. again.user_id
                }
                content_by_lua_block { ngx.say(ngx.ctx.mark) }
            }
        ]] })
        local ok, err = pcall(function()
            local token = c:mint({ sub = "user-7" })
            for _ = 1, 4 do
                local res = assert(http.request(srv.port, {
                    path = "/mark",
                    headers = { { "Authorization", "Bearer " .. token } },
                }))
                assert.equal("1 true user-7\n", res.body)
            end
        end)
        srv:stop()
        assert(ok, err)
    end)

    it("fetches through a plugged http_client", function()
        local srv = nginx.supertokens({
            connection_uri = c.url, app_info = APP,
            http_client = "spec.fixtures.openresty.counting_client",
        }, { workers = 1, server = [[
            location = /calls { content_by_lua_block {
                ngx.say(ngx.shared.supertokens:get("test:client_calls") or 0)
            } }
        ]] })
        local ok, err = pcall(function()
            assert.equal(200, get(srv, c:mint({})).status)
            local res = assert(http.request(srv.port, { path = "/calls" }))
            assert.equal("1\n", res.body)
        end)
        srv:stop()
        assert(ok, err)
    end)

    describe("init errors stop nginx with a clear message", function()
        it("an http_client module that does not load", function()
            local ok, out = nginx.try_start({
                http = [[init_by_lua_block {
                    require("resty.supertokens").init({
                        connection_uri = "http://127.0.0.1:1",
                        http_client = "no.such.module",
                        app_info = { api_domain = "http://a.example",
                                     website_domain = "http://a.example" } })
                }]],
            })
            assert.is_false(ok)
            assert.matches("http_client: cannot load module 'no%.such%.module'",
                           out)
        end)

        it("missing lua_shared_dict", function()
            local ok, out = nginx.try_start({
                no_dict = true,
                http = [[init_by_lua_block {
                    require("resty.supertokens").init({
                        connection_uri = "http://127.0.0.1:1",
                        app_info = { api_domain = "http://a.example",
                                     website_domain = "http://a.example" } })
                }]],
            })
            assert.is_false(ok)
            assert.matches("lua_shared_dict 'supertokens' is not defined", out)
        end)

        it("unreadable jwks_file", function()
            local ok, out = nginx.try_start({
                http = [[init_by_lua_block {
                    require("resty.supertokens").init({
                        jwks_file = "/nonexistent/jwks.json",
                        app_info = { api_domain = "http://a.example",
                                     website_domain = "http://a.example" } })
                }]],
            })
            assert.is_false(ok)
            assert.matches("jwks_file: cannot read /nonexistent/jwks.json",
                           out)
        end)

        it("a JWKS without usable keys", function()
            local ok, out = nginx.try_start({
                http = [[init_by_lua_block {
                    require("resty.supertokens").init({
                        jwks = '{"keys":[]}',
                        app_info = { api_domain = "http://a.example",
                                     website_domain = "http://a.example" } })
                }]],
            })
            assert.is_false(ok)
            assert.matches("jwks: not a usable JWKS", out)
        end)

        it("a bad config value names the field", function()
            local ok, out = nginx.try_start({
                http = [[init_by_lua_block {
                    require("resty.supertokens").init({
                        connection_uri = "http://127.0.0.1:1",
                        session = { anti_csrf = "SOMETIMES" },
                        app_info = { api_domain = "http://a.example",
                                     website_domain = "http://a.example" } })
                }]],
            })
            assert.is_false(ok)
            assert.matches("session%.anti_csrf", out)
        end)
    end)
end)
