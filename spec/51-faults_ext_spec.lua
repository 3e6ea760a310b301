-- The core stand-in misbehaving on purpose, beyond spec/21 (warm-cache
-- stale-if-error per JWKS fault mode, the jose timeline, one shared fetch)
-- and spec/23 (each core/JWKS fault mode once, malformed input):
-- cold starts against each fault, slow/hanging JWKS with bounded latency,
-- unknown-kid refetch while the JWKS is down, key rotation (added,
-- removed, refresh interval), a flood of unknown kids across two workers
-- (JWKS fetches counted at the stand-in), core failover for JWKS and for
-- /recipe/session/verify, and verify failing (500, garbage, slow, hang,
-- down, 404, wrong API key).
--
-- For each: the SDK's answer (401 try refresh token where node's
-- getInfoFromAccessToken fails; 500 {"message":"internal error"} only
-- where node throws to the app's error handler - README "Differences
-- from supertokens-node"), no worker crash (pids unchanged, no "exited on
-- signal"), bounded latency, the last good keys kept, one fetch-failure
-- log line per 500 ms cooldown.

local cjson = require "cjson.safe"
local socket = require "socket"
local nginx = require "spec.helpers.nginx"
local http = require "spec.helpers.http"
local core_helper = require "spec.helpers.core"
local hygiene = require "spec.helpers.hygiene"

local TRT = '{"message":"try refresh token"}'
local INTERNAL = '{"message":"internal error"}'
local APP = { api_domain = "http://localhost:3001",
              website_domain = "http://localhost:3000" }
local API_KEY = "st-hygiene-api-key-5f1c0a9e7b3d4c21"
local WRONG_KEY = "st-hygiene-wrong-key-0b9e1d7c3a5f"

-- Timeouts of the gateways under fault (ms) and the margin allowed on top
-- of them for a whole request (s).
local CONNECT, SEND, READ = 200, 300, 300
local MARGIN = 0.5
local COOLDOWN = 0.5


local function gateway(config, opts)
    opts = opts or {}
    local srv = nginx.supertokens(config, {
        workers = opts.workers or 2,
        reuseport = opts.reuseport,
        error_log_level = "info",
        server = [[
            location = /api/checkdb {
                access_by_lua_block {
                    require("resty.supertokens").verify_session({
                        check_database = true })
                }
                content_by_lua_block {
                    require("resty.supertokens").user_handler()
                }
            }
        ]],
    })
    srv.workers = opts.workers or 2
    return srv
end


local function conf(c_url, extra)
    local t = {
        connection_uri = c_url, api_key = API_KEY, app_info = APP,
        token_cache_size = 0,
        http = { connect_timeout = CONNECT, send_timeout = SEND,
                 read_timeout = READ },
    }
    for k, v in pairs(extra or {}) do
        t[k] = v
    end
    return t
end


local function get(srv, token, path)
    hygiene.register_token(token)
    local res = assert(http.request(srv.port, {
        path = path or "/api/user",
        headers = token and { { "Authorization", "Bearer " .. token } },
        timeout = 15,
    }))
    hygiene.record(res, "51")
    return res
end


local function parallel(srv, tokens)
    local list = {}
    for i, t in ipairs(tokens) do
        hygiene.register_token(t)
        list[i] = { path = "/api/user",
                    headers = { { "Authorization", "Bearer " .. t } },
                    timeout = 15 }
    end
    local out = {}
    for i, r in ipairs(http.parallel(srv.port, list)) do
        out[i] = assert(r[1], r[2])
        hygiene.record(out[i], "51-parallel")
    end
    return out
end


local function reasons(text)
    local list = {}
    for line in text:gmatch("[^\n]+") do
        local r = line:match("supertokens: reject .- reason=(%S+) ")
        if r then
            list[#list + 1] = r
        end
    end
    return list
end


local function count_lines(text, needle)
    local n = 0
    for line in text:gmatch("[^\n]+") do
        if line:find(needle, 1, true) then
            n = n + 1
        end
    end
    return n
end


-- Worker pids, once the master has forked them all.
local function sorted_pids(srv, n)
    local p
    local deadline = socket.gettime() + 5
    repeat
        p = srv:worker_pids()
        if #p >= (n or srv.workers or 1) then
            break
        end
        socket.sleep(0.02)
    until socket.gettime() > deadline
    table.sort(p)
    return p
end


local function rss_kb(pid)
    local f = io.open("/proc/" .. pid .. "/status")
    if not f then
        return 0
    end
    local s = f:read("*a")
    f:close()
    return tonumber(s:match("VmRSS:%s*(%d+)")) or 0
end


-- The end-of-block checks every gateway gets.
local function healthy(srv, pids, name)
    local log = srv:error_log()
    assert.is_nil(log:find("exited on signal", 1, true), name)
    assert.is_nil(log:find("runtime error", 1, true), name)
    assert.is_nil(log:find("decision failed", 1, true), name)
    for line in log:gmatch("[^\n]+") do
        local level = line:match("^%S+ %S+ %[(%a+)%]")
        assert.is_nil(({ alert = 1, crit = 1, emerg = 1 })[level], line)
    end
    assert.same(pids, sorted_pids(srv), name .. ": worker pids changed")
end


describe("faults (ext)", function()
    local c, c2, state_dir

    setup(function()
        c = core_helper.start({ env = { CORE_API_KEYS = API_KEY } })
        state_dir = c.state_dir
        -- a second core with the same keys (the cores share a database)
        c2 = core_helper.start({ state_dir = state_dir,
                                 env = { CORE_API_KEYS = API_KEY } })
        hygiene.register_secret("api_key", API_KEY)
        hygiene.register_secret("api_key", WRONG_KEY)
        local keys = assert(cjson.decode(hygiene.read_file(
            state_dir .. "/keys.json")))
        hygiene.register_secret("jwk_n", keys.dynamic.n)
        hygiene.register_secret("jwk_n", keys.static.n)
    end)

    teardown(function()
        if c2 then
            c2:stop()
        end
        if c then
            c:stop()
        end
    end)

    -- setup() of a block runs before the before_each of its tests
    local function no_faults()
        for _, core in ipairs({ c, c2 }) do
            core:control("POST", "jwks?mode=ok")
            core:control("POST", "fault?api=all&mode=ok")
            core:control("POST", "fault?api=verify&mode=ok")
        end
    end

    before_each(function()
        no_faults()
    end)

    --------------------------------------------------------------------
    describe("JWKS unusable at start (cold cache)", function()
        -- spec/23 has every mode once on one worker; here the modes whose
        -- cost differs (a timeout, a 100 MB body, a dropped connection)
        -- on two workers, with the latency bound, the log-once-per-
        -- cooldown rule, worker memory and recovery.
        local modes = { "down", "hang", "slow", "huge", "truncated" }
        for _, mode in ipairs(modes) do
            it(mode .. ": 401 try refresh token (jwks_unavailable), bounded,"
               .. " one log line, then recovers", function()
                local token = c:mint({})
                c:control("POST", "jwks?mode=" .. mode .. "&ms=2000")
                local srv = gateway(conf(c.url))
                local pids = sorted_pids(srv)
                local ok, err = pcall(function()
                    local before = {}
                    for _, p in ipairs(pids) do
                        before[p] = rss_kb(p)
                    end
                    local t0 = socket.gettime()
                    for _ = 1, 3 do
                        local res = get(srv, token)
                        assert.equal(401, res.status, res.body)
                        assert.equal(TRT, res.body)
                        assert.is_true(res.elapsed <= (CONNECT + SEND + READ)
                                       / 1000 + MARGIN,
                                       "took " .. res.elapsed .. " s")
                    end
                    local spent = socket.gettime() - t0
                    local log = srv:error_log()
                    for _, r in ipairs(reasons(log)) do
                        assert.equal("jwks_unavailable", r)
                    end
                    local n = count_lines(log, "JWKS fetch failed (cold)")
                    assert.is_true(n >= 1, "no fetch failure logged")
                    assert.is_true(n <= math.ceil(spent / COOLDOWN) + 1,
                                   n .. " lines in " .. spent .. " s")
                    assert.matches("no keys yet", log)
                    for _, p in ipairs(pids) do
                        -- a 100 MB body is refused, not buffered
                        assert.is_true(rss_kb(p) - before[p] < 20 * 1024,
                                       "worker RSS grew by "
                                       .. (rss_kb(p) - before[p]) .. " kB")
                    end
                    c:control("POST", "jwks?mode=ok")
                    socket.sleep(COOLDOWN + 0.1)
                    assert.equal(200, get(srv, token).status)
                    healthy(srv, pids, mode)
                end)
                hygiene.collect(srv, "51-cold-" .. mode)
                srv:stop()
                assert(ok, err)
            end)
        end

        it("dupkid: the duplicated kid verifies nothing, the other keys "
           .. "load", function()
            local dyn = c:mint({})
            local static = c:mint({ key = "static" })
            c:control("POST", "jwks?mode=dupkid")
            local srv = gateway(conf(c.url))
            local pids = sorted_pids(srv)
            local ok, err = pcall(function()
                local res = get(srv, dyn)
                assert.equal(401, res.status)
                assert.equal(TRT, res.body)
                -- the static key was loaded: its token gets past the
                -- signature to the kid-type check (dynamic keys wanted)
                srv:mark()
                res = get(srv, static)
                assert.equal(401, res.status)
                assert.same({ "kid_type_mismatch" },
                            reasons(srv:log_since_mark()))
                healthy(srv, pids, "dupkid")
            end)
            hygiene.collect(srv, "51-dupkid")
            srv:stop()
            assert(ok, err)
        end)
    end)

    --------------------------------------------------------------------
    describe("slow JWKS with warm keys", function()
        local srv, pids, token

        setup(function()
            no_faults()
            token = c:mint({})
            srv = gateway(conf(c.url, {
                session = { jwks_refresh_interval_sec = 1 } }),
                { reuseport = true })
            pids = sorted_pids(srv)
            assert.equal(200, get(srv, token).status)
        end)

        teardown(function()
            hygiene.collect(srv, "51-slow")
            srv:stop()
        end)

        it("max-age refetch against a JWKS slower than the timeout: every "
           .. "request answered with the last good keys, within the timeout",
           function()
            c:control("POST", "jwks?mode=slow&ms=3000")
            socket.sleep(1.1)
            local tokens = {}
            for i = 1, 12 do
                tokens[i] = token
            end
            local worst = 0
            for _, res in ipairs(parallel(srv, tokens)) do
                assert.equal(200, res.status, res.body)
                worst = math.max(worst, res.elapsed)
            end
            assert.is_true(worst <= (CONNECT + SEND + READ) / 1000 + MARGIN,
                           "worst " .. worst .. " s")
            assert.matches("keeping the last good keys", srv:error_log())
        end)

        -- A pooled connection that times out before the first response
        -- byte must not be resent: a slow core would get every fetch
        -- twice, and the fetch would take two read timeouts.
        it("a JWKS fetch that times out is sent once", function()
            c:control("POST", "jwks?mode=ok")
            socket.sleep(1.1)
            -- a successful max-age refetch leaves a pooled connection
            assert.equal(200, get(srv, token).status)
            c:control("POST", "jwks?mode=hang")
            socket.sleep(1.1)
            local n0 = c:jwks_count()
            local res = get(srv, token)
            assert.equal(200, res.status)
            assert.equal(1, c:jwks_count() - n0)
            assert.is_true(res.elapsed < READ / 1000 + 0.2,
                           "took " .. res.elapsed .. " s")
        end)

        it("an unknown kid while the JWKS hangs: 401 try refresh, "
           .. "bounded", function()
            c:control("POST", "jwks?mode=hang")
            socket.sleep(COOLDOWN + 0.1)
            local rogue = c:mint({ key = "rogue", kid = "d-1" })
            local t0 = socket.gettime()
            for _, res in ipairs(parallel(srv, { rogue, rogue, rogue,
                                                 token, token })) do
                if res.status ~= 200 then
                    assert.equal(401, res.status)
                    assert.equal(TRT, res.body)
                end
                assert.is_true(res.elapsed <= (CONNECT + SEND + READ) / 1000
                               + MARGIN, "took " .. res.elapsed)
            end
            assert.is_true(socket.gettime() - t0 < 3)
            healthy(srv, pids, "slow")
        end)
    end)

    --------------------------------------------------------------------
    -- jose ends a JWKS fetch after 5 s (timeoutDuration) whatever else is
    -- configured; with the core calls' timeouts at 1 + 5 + 10 s, a forged
    -- kid during a hung fetch must not hold requests for 16 s (or the
    -- waiters for the lock's life).
    describe("JWKS fetch bounded by jose's 5 s", function()
        local srv, pids, token

        setup(function()
            no_faults()
            token = c:mint({})
            local cf = conf(c.url)
            cf.http = { connect_timeout = 1000, send_timeout = 5000,
                        read_timeout = 10000 }
            srv = gateway(cf, { reuseport = true })
            pids = sorted_pids(srv)
            assert.equal(200, get(srv, token).status)
        end)

        teardown(function()
            hygiene.collect(srv, "51-jose5")
            srv:stop()
        end)

        it("an unknown kid while the JWKS hangs: 401 try refresh after "
           .. "5 s, the waiters no later", function()
            c:control("POST", "jwks?mode=hang")
            socket.sleep(COOLDOWN + 0.1)
            local rogue = c:mint({ key = "rogue", kid = "d-jose5" })
            local t0 = socket.gettime()
            local worst = 0
            for _, res in ipairs(parallel(srv, { rogue, rogue, rogue })) do
                assert.equal(401, res.status)
                assert.equal(TRT, res.body)
                worst = math.max(worst, res.elapsed)
            end
            assert.is_true(worst >= 4.5, "worst " .. worst .. " s")
            assert.is_true(worst <= 5 + MARGIN, "worst " .. worst .. " s")
            assert.is_true(socket.gettime() - t0 <= 5 + MARGIN)
            c:control("POST", "jwks?mode=ok")
            healthy(srv, pids, "jose5")
        end)
    end)

    --------------------------------------------------------------------
    describe("JWKS down after warm-up, unknown kids", function()
        local srv, pids, token

        setup(function()
            no_faults()
            c:control("POST", "snapshot?name=ext-down")
            token = c:mint({})
            srv = gateway(conf(c.url), { reuseport = true })
            pids = sorted_pids(srv)
            assert.equal(200, get(srv, token).status)
        end)

        teardown(function()
            hygiene.collect(srv, "51-down")
            srv:stop()
            c:control("POST", "restore?name=ext-down")
        end)

        it("known kid: 200 from the last good keys; new kid: 401 try "
           .. "refresh; one failure line per cooldown", function()
            c:control("POST", "rotate")
            local fresh = c:mint({ key = "latest" })
            c:control("POST", "jwks?mode=down")
            socket.sleep(COOLDOWN + 0.1)
            srv:mark()
            local n0 = c:jwks_count()
            local t0 = socket.gettime()
            local rounds = 0
            while socket.gettime() - t0 < 1.3 do
                rounds = rounds + 1
                for _, res in ipairs(parallel(srv, { token, fresh, fresh,
                                                     token })) do
                    if res.status == 200 then
                        assert.equal("user-1",
                                     cjson.decode(res.body).userId)
                    else
                        assert.equal(401, res.status)
                        assert.equal(TRT, res.body)
                    end
                end
                socket.sleep(0.05)
            end
            local spent = socket.gettime() - t0
            local log = srv:log_since_mark()
            -- the known kid always passed
            assert.equal(rounds * 2, select(2, log:gsub(
                "reason=unknown_kid", "")))
            local windows = math.ceil(spent / COOLDOWN)
            local fails = count_lines(log, "JWKS fetch failed")
            assert.is_true(fails >= 1 and fails <= windows + 1,
                           fails .. " failure lines in " .. spent .. " s")
            assert.matches("keeping the last good keys", log)
            -- the stand-in saw at most one fetch per cooldown window (plus
            -- one resend: the pooled connection of the warm-up fetch is
            -- dropped before any byte, which the client may retry once)
            local hits = c:jwks_count() - n0
            assert.is_true(hits <= windows + 2,
                           hits .. " JWKS requests in " .. spent .. " s")
        end)

        it("the JWKS comes back: the new kid verifies after one refetch",
           function()
            c:control("POST", "jwks?mode=ok")
            socket.sleep(COOLDOWN + 0.1)
            local fresh = c:mint({ key = "latest" })
            local n0 = c:jwks_count()
            assert.equal(200, get(srv, fresh).status)
            assert.equal(1, c:jwks_count() - n0)
            assert.equal(200, get(srv, token).status)
            healthy(srv, pids, "down")
        end)
    end)

    --------------------------------------------------------------------
    describe("key rotation", function()
        local srv, pids

        setup(function()
            no_faults()
            c:control("POST", "snapshot?name=ext-rot")
            srv = gateway(conf(c.url, {
                session = { jwks_refresh_interval_sec = 2 } }))
            pids = sorted_pids(srv)
        end)

        teardown(function()
            hygiene.collect(srv, "51-rotation")
            srv:stop()
            c:control("POST", "restore?name=ext-rot")
        end)

        it("a new kid appears: fetched once, old and new both verify",
           function()
            local old = c:mint({})
            assert.equal(200, get(srv, old).status)
            c:control("POST", "rotate")
            local new = c:mint({ key = "latest" })
            socket.sleep(COOLDOWN + 0.1)
            local n0 = c:jwks_count()
            assert.equal(200, get(srv, new).status)
            assert.equal(200, get(srv, old).status)
            assert.equal(1, c:jwks_count() - n0)
        end)

        it("the old kid is removed: refused once the refresh interval "
           .. "has passed, with no new-kid traffic", function()
            local old = c:mint({})
            c:control("POST", "rotate?drop=1")
            socket.sleep(COOLDOWN + 0.1)
            -- still in the cached set (jose keeps it until max age)
            assert.equal(200, get(srv, old).status)
            socket.sleep(2.1)
            srv:mark()
            local res = get(srv, old)
            assert.equal(401, res.status)
            assert.equal(TRT, res.body)
            assert.same({ "unknown_kid" }, reasons(srv:log_since_mark()))
            assert.equal(200, get(srv, c:mint({ key = "latest" })).status)
            healthy(srv, pids, "rotation")
        end)
    end)

    --------------------------------------------------------------------
    -- A JWKS the shared dict cannot hold (a dict sized too small for the
    -- core's keys): the fetching worker verifies with what it fetched, and
    -- the failed store starts the cooldown like a failed fetch, so the
    -- core sees one fetch per 500 ms, not one per request.
    describe("a JWKS larger than the shared dict", function()
        local srv, pids

        setup(function()
            no_faults()
            c:control("POST", "snapshot?name=ext-big")
            repeat
                c:control("POST", "rotate")
            until #cjson.encode(c:jwks()) > 14 * 1024
            srv = nginx.supertokens(conf(c.url), {
                workers = 1, no_dict = true, error_log_level = "info",
                http = "lua_shared_dict supertokens 20k;" })
            srv.workers = 1
            pids = sorted_pids(srv)
        end)

        teardown(function()
            hygiene.collect(srv, "51-bigjwks")
            srv:stop()
            c:control("POST", "restore?name=ext-big")
        end)

        it("verifies with the fetched keys, one fetch per cooldown",
           function()
            local token = c:mint({})
            local n0 = c:jwks_count()
            local t0 = socket.gettime()
            local n = 0
            while socket.gettime() - t0 < 1.2 do
                local res = get(srv, token)
                assert.equal(200, res.status, res.body)
                n = n + 1
            end
            local fetched = c:jwks_count() - n0
            assert.is_true(n >= 20, n .. " requests")
            assert.is_true(fetched >= 2 and fetched <= 4,
                           fetched .. " fetches for " .. n .. " requests")
            assert.matches("cannot store the JWKS in the shared dict",
                           srv:error_log(), 1, true)
            healthy(srv, pids, "bigjwks")
        end)
    end)

    --------------------------------------------------------------------
    describe("a flood of unknown kids on two workers", function()
        local srv, pids

        setup(function()
            no_faults()
            srv = gateway(conf(c.url), { reuseport = true })
            pids = sorted_pids(srv)
            assert.equal(200, get(srv, c:mint({})).status)
        end)

        teardown(function()
            hygiene.collect(srv, "51-flood")
            srv:stop()
        end)

        for _, slow in ipairs({ 0, 200 }) do
            it("at most one JWKS fetch per 500 ms window (JWKS latency "
               .. slow .. " ms)", function()
                if slow > 0 then
                    c:control("POST", "jwks?mode=slow&ms=" .. slow)
                end
                -- one node process mints all the kids
                local opts = {}
                for i = 1, 64 do
                    opts[i] = { key = "rogue",
                                kid = "d-flood-" .. slow .. "-" .. i }
                end
                local rogue = c:mint_many(opts)
                socket.sleep(COOLDOWN + 0.1)
                local n0 = c:jwks_count()
                local workers, worst, sent = {}, 0, 0
                local t0 = socket.gettime()
                for b = 0, 7 do
                    local batch = {}
                    for i = 1, 8 do
                        batch[i] = rogue[b * 8 + i]
                    end
                    for _, res in ipairs(parallel(srv, batch)) do
                        sent = sent + 1
                        assert.equal(401, res.status)
                        assert.equal(TRT, res.body)
                        workers[res:header("x-worker")] = true
                        worst = math.max(worst, res.elapsed)
                    end
                    socket.sleep(0.15)
                end
                local spent = socket.gettime() - t0
                local fetches = c:jwks_count() - n0
                local nworkers = 0
                for _ in pairs(workers) do
                    nworkers = nworkers + 1
                end
                assert.equal(2, nworkers, "both workers got the flood")
                assert.equal(64, sent)
                assert.is_true(fetches >= 1, "no refetch at all")
                assert.is_true(fetches <= math.ceil(spent / COOLDOWN) + 1,
                               fetches .. " fetches in " .. spent .. " s")
                assert.is_true(worst < (CONNECT + SEND + READ) / 1000
                               + MARGIN, "worst " .. worst)
                c:control("POST", "jwks?mode=ok")
                healthy(srv, pids, "flood")
            end)
        end
    end)

    --------------------------------------------------------------------
    describe("two cores", function()
        it("JWKS: the first answers HTML, the second is fine -> keys from "
           .. "the second", function()
            local token = c:mint({})
            c:control("POST", "jwks?mode=html")
            local srv = gateway(conf(c.url .. ";" .. c2.url))
            local pids = sorted_pids(srv)
            local ok, err = pcall(function()
                local n1, n2 = c:jwks_count(), c2:jwks_count()
                assert.equal(200, get(srv, token).status)
                assert.equal(1, c:jwks_count() - n1)
                assert.equal(1, c2:jwks_count() - n2)
                healthy(srv, pids, "two cores html")
            end)
            hygiene.collect(srv, "51-twocores-html")
            srv:stop()
            assert(ok, err)
        end)

        it("JWKS: the first hangs -> the second answers within one "
           .. "timeout", function()
            local token = c:mint({})
            c:control("POST", "jwks?mode=hang")
            local srv = gateway(conf(c.url .. ";" .. c2.url))
            local ok, err = pcall(function()
                local res = get(srv, token)
                assert.equal(200, res.status)
                assert.is_true(res.elapsed <= (CONNECT + SEND + READ) / 1000
                               + MARGIN, "took " .. res.elapsed)
            end)
            hygiene.collect(srv, "51-twocores-hang")
            srv:stop()
            assert(ok, err)
        end)

        it("session verify: the first core refuses connections -> the "
           .. "second answers", function()
            local dead = nginx.free_port()
            local token = c2:mint({ parentRefreshTokenHash1 = "p-two" })
            c2:control("POST", "session", cjson.encode({ token = token }))
            local srv = gateway(conf("http://127.0.0.1:" .. dead .. ";"
                                     .. c2.url), { workers = 1 })
            local pids = sorted_pids(srv)
            local ok, err = pcall(function()
                local v0 = c2:calls("POST /recipe/session/verify")
                for _ = 1, 2 do
                    local res = get(srv, token)
                    assert.equal(200, res.status, res.body)
                end
                assert.equal(2, c2:calls("POST /recipe/session/verify") - v0)
                healthy(srv, pids, "failover")
            end)
            hygiene.collect(srv, "51-twocores-verify")
            srv:stop()
            assert(ok, err)
        end)

        -- A token that needs /recipe/session/verify, known to both cores,
        -- the first answering with `fault`, and a one-worker gateway on
        -- both cores.
        local function two_core_verify(tag, fault)
            local token = c:mint({ parentRefreshTokenHash1 = tag })
            c:control("POST", "session", cjson.encode({ token = token }))
            c2:control("POST", "session", cjson.encode({ token = token }))
            c:control("POST", "fault?api=verify&mode=" .. fault)
            return token, gateway(conf(c.url .. ";" .. c2.url),
                                  { workers = 1 })
        end

        it("session verify: the first core drops the connection after "
           .. "reading the request -> the second answers (node's fetch "
           .. "fails, the Querier moves on)", function()
            local token, srv = two_core_verify("p-drop", "down")
            local pids = sorted_pids(srv)
            local ok, err = pcall(function()
                local v1 = c:calls("POST /recipe/session/verify")
                local v2 = c2:calls("POST /recipe/session/verify")
                for _ = 1, 2 do
                    local res = get(srv, token)
                    assert.equal(200, res.status, res.body)
                end
                -- round robin from the first core: each request tries it
                assert.equal(2, c:calls("POST /recipe/session/verify") - v1)
                assert.equal(2, c2:calls("POST /recipe/session/verify") - v2)
                healthy(srv, pids, "failover after connect")
            end)
            c:control("POST", "fault?api=verify&mode=ok")
            hygiene.collect(srv, "51-twocores-drop")
            srv:stop()
            assert(ok, err)
        end)

        it("session verify: the first core answers 429 -> tried again on "
           .. "the second after 10 ms (node's Querier)", function()
            local token, srv = two_core_verify("p-429-two", "429&count=1")
            local ok, err = pcall(function()
                local v1 = c:calls("POST /recipe/session/verify")
                local v2 = c2:calls("POST /recipe/session/verify")
                local res = get(srv, token)
                assert.equal(200, res.status, res.body)
                assert.equal(1, c:calls("POST /recipe/session/verify") - v1)
                assert.equal(1, c2:calls("POST /recipe/session/verify") - v2)
            end)
            c:control("POST", "fault?api=verify&mode=ok")
            hygiene.collect(srv, "51-twocores-429")
            srv:stop()
            assert(ok, err)
        end)

        it("session verify: the first core answers 500 -> 500, no retry "
           .. "on the second (node throws)", function()
            local token, srv = two_core_verify("p-500", "500")
            local ok, err = pcall(function()
                local v1 = c:calls("POST /recipe/session/verify")
                local v2 = c2:calls("POST /recipe/session/verify")
                local statuses = {}
                for i = 1, 2 do
                    local res = get(srv, token)
                    statuses[i] = res.status
                    if res.status == 500 then
                        assert.equal(INTERNAL, res.body)
                    end
                end
                table.sort(statuses)
                -- round-robin start: one call per core, each answered
                assert.same({ 200, 500 }, statuses)
                assert.equal(1, c:calls("POST /recipe/session/verify") - v1)
                assert.equal(1, c2:calls("POST /recipe/session/verify") - v2)
            end)
            hygiene.collect(srv, "51-twocores-500")
            srv:stop()
            assert(ok, err)
        end)
    end)

    --------------------------------------------------------------------
    describe("/recipe/session/verify failing", function()
        local srv, pids, prth, plain

        setup(function()
            no_faults()
            prth = c:mint({ parentRefreshTokenHash1 = "p-fault" })
            c:control("POST", "session", cjson.encode({ token = prth }))
            plain = c:mint({})
            srv = gateway(conf(c.url))
            pids = sorted_pids(srv)
            assert.equal(200, get(srv, prth).status)
        end)

        teardown(function()
            hygiene.collect(srv, "51-verify")
            srv:stop()
        end)

        local FAULTS = {
            { "500", "core_unavailable" },
            { "garbage", "core_bad_response" },
            { "404", "core_unavailable" },
            { "down", "core_unavailable" },
            { "slow", "core_unavailable" },
            { "hang", "core_unavailable" },
        }

        for _, f in ipairs(FAULTS) do
            it(f[1] .. ": 500 internal error (" .. f[2] .. "), bounded; "
               .. "tokens needing no core call still pass", function()
                c:control("POST", "fault?api=verify&mode=" .. f[1]
                          .. "&ms=2000")
                srv:mark()
                local v0 = c:calls("POST /recipe/session/verify")
                for _, path in ipairs({ "/api/user", "/api/checkdb" }) do
                    for _ = 1, 2 do
                        local res = get(srv, path == "/api/user" and prth
                                             or plain, path)
                        assert.equal(500, res.status, res.body)
                        assert.equal(INTERNAL, res.body)
                        assert.equal("application/json; charset=utf-8",
                                     res:header("content-type"))
                        assert.is_true(res.elapsed <= (CONNECT + SEND + READ)
                                       / 1000 + MARGIN,
                                       "took " .. res.elapsed)
                    end
                end
                -- one core: each request reached it once (a dropped
                -- connection before any answer may be sent again, once,
                -- by the HTTP client)
                local sent = c:calls("POST /recipe/session/verify") - v0
                if f[1] == "down" then
                    assert.is_true(sent >= 4 and sent <= 8, sent)
                else
                    assert.equal(4, sent)
                end
                local res = get(srv, plain)
                assert.equal(200, res.status)
                local log = srv:log_since_mark()
                assert.same({ f[2], f[2], f[2], f[2] }, reasons(log))
                -- one line per failed request (no cooldown: node calls the
                -- core for each), at error level
                assert.equal(4, count_lines(log, "[error]")
                                - count_lines(log, "lua tcp socket"))
                c:control("POST", "fault?api=verify&mode=ok")
                res = get(srv, prth)
                assert.equal(200, res.status, res.body)
                healthy(srv, pids, "verify " .. f[1])
            end)
        end

        it("429: tried again after 10 and 260 ms, then answered (node's "
           .. "Querier)", function()
            c:control("POST", "fault?api=verify&mode=429&count=2")
            local v0 = c:calls("POST /recipe/session/verify")
            local res = get(srv, prth)
            assert.equal(200, res.status, res.body)
            assert.equal(3, c:calls("POST /recipe/session/verify") - v0)
            assert.is_true(res.elapsed >= 0.27, "took " .. res.elapsed)
            c:control("POST", "fault?api=verify&mode=ok")
        end)

        it("429 on every try: 500 after the Querier's five retries",
           function()
            c:control("POST", "fault?api=verify&mode=429")
            srv:mark()
            local v0 = c:calls("POST /recipe/session/verify")
            local res = get(srv, prth)
            c:control("POST", "fault?api=verify&mode=ok")
            assert.equal(500, res.status)
            assert.equal(INTERNAL, res.body)
            assert.equal(6, c:calls("POST /recipe/session/verify") - v0)
            -- 10 + 260 + 510 + 760 + 1010 ms of back-off
            assert.is_true(res.elapsed >= 2.55, "took " .. res.elapsed)
            local log = srv:log_since_mark()
            assert.same({ "core_unavailable" }, reasons(log))
            assert.matches("HTTP.429", log)
        end)

        it("a wrong API key: the core's 401 is a 500, the key is never "
           .. "logged", function()
            local bad = gateway(conf(c.url, { api_key = WRONG_KEY }),
                                { workers = 1 })
            local ok, err = pcall(function()
                local res = get(bad, prth)
                assert.equal(500, res.status)
                assert.equal(INTERNAL, res.body)
                local log = bad:error_log()
                assert.same({ "core_unavailable" }, reasons(log))
                assert.matches("HTTP.401", log)
                assert.is_nil(log:find(WRONG_KEY, 1, true))
            end)
            hygiene.collect(bad, "51-wrongkey")
            bad:stop()
            assert(ok, err)
        end)
    end)
end)
