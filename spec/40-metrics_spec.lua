-- resty.supertokens.metrics through a real nginx with 2 workers.

local nginx = require "spec.helpers.nginx"
local http = require "spec.helpers.http"
local socket = require "socket"

local FLUSH = 0.2

-- A small parser for the text exposition format 0.0.4: enough to reject
-- what Prometheus would reject (bad names, bad escapes, samples without a
-- TYPE, non-numeric values) and to give back label values unescaped.
local function parse_exposition(text)
    local families, samples, order = {}, {}, {}
    local current
    local lineno = 0
    assert(text:sub(-1) == "\n", "exposition must end with a newline")
    for line in text:gmatch("([^\n]*)\n") do
        lineno = lineno + 1
        local where = "line " .. lineno .. ": " .. line
        if line:match("^#") then
            local kw, name, rest = line:match("^# (%u+) ([%a_:][%w_:]*) ?(.*)$")
            assert(kw, "bad comment " .. where)
            families[name] = families[name] or { samples = {} }
            if kw == "TYPE" then
                assert(rest == "counter" or rest == "gauge"
                       or rest == "histogram" or rest == "summary"
                       or rest == "untyped", "bad type " .. where)
                assert(not families[name].type, "TYPE twice " .. where)
                families[name].type = rest
                current = name
                order[#order + 1] = name
            elseif kw == "HELP" then
                assert(not rest:find("\\[^\\n]"), "bad HELP escape " .. where)
                families[name].help = rest
            end
        elseif line ~= "" then
            local name, pos = line:match("^([%a_:][%w_:]*)()")
            assert(name, "bad metric name " .. where)
            local labels = {}
            local i = pos
            if line:sub(i, i) == "{" then
                i = i + 1
                while line:sub(i, i) ~= "}" do
                    local lname, after = line:match("^([%a_][%w_]*)=\"()", i)
                    assert(lname, "bad label name " .. where)
                    i = after
                    local buf = {}
                    while true do
                        local c = line:sub(i, i)
                        assert(c ~= "", "unterminated label value " .. where)
                        if c == "\\" then
                            local e = line:sub(i + 1, i + 1)
                            local map = { ["\\"] = "\\", ['"'] = '"',
                                          n = "\n" }
                            assert(map[e], "bad escape " .. where)
                            buf[#buf + 1] = map[e]
                            i = i + 2
                        elseif c == '"' then
                            i = i + 1
                            break
                        else
                            buf[#buf + 1] = c
                            i = i + 1
                        end
                    end
                    assert(labels[lname] == nil, "label twice " .. where)
                    labels[lname] = table.concat(buf)
                    if line:sub(i, i) == "," then
                        i = i + 1
                    end
                end
                i = i + 1
            end
            local value = line:match("^ (%S+)$", i)
            assert(value, "bad sample " .. where)
            local num = tonumber(value)
            if value == "+Inf" then num = math.huge end
            if value == "-Inf" then num = -math.huge end
            if value == "NaN" then num = 0 / 0 end
            assert(num, "bad value " .. where)
            local base = name:gsub("_bucket$", ""):gsub("_sum$", "")
                             :gsub("_count$", "")
            local fam = families[name] and name or base
            assert(current == fam or current == name,
                   "sample outside its family " .. where)
            assert(families[fam] and families[fam].type,
                   "sample without TYPE " .. where)
            local s = { name = name, labels = labels, value = num }
            samples[#samples + 1] = s
            table.insert(families[fam].samples, s)
        end
    end
    return { families = families, samples = samples, order = order }
end

local function find(parsed, name, want)
    local total
    for _, s in ipairs(parsed.samples) do
        if s.name == name then
            local match = true
            for k, v in pairs(want or {}) do
                if s.labels[k] ~= v then
                    match = false
                    break
                end
            end
            if match then
                total = (total or 0) + s.value
            end
        end
    end
    return total
end

local HTTP = [[
    lua_shared_dict supertokens_metrics 1m;
]]

local INIT = [[
    require("resty.supertokens.metrics").init(nil, { flush_interval = ]]
    .. FLUSH .. [[ })
]]

-- Each worker counts 3 expired tokens from a timer as soon as it starts,
-- so the cross-worker sum is known without relying on request spreading.
local INIT_WORKER = [[
    local metrics = require "resty.supertokens.metrics"
    metrics.init_worker()
    ngx.timer.at(0, function()
        for _ = 1, 3 do
            metrics.verification("try_refresh", "expired")
        end
        ngx.shared.supertokens_metrics:incr("test:workers", 1, 0)
    end)
]]

local SERVER = [=[
    location = /metrics {
        content_by_lua_block {
            require("resty.supertokens.metrics").handler()
        }
    }
    location = /count {
        content_by_lua_block {
            local m = require "resty.supertokens.metrics"
            local a = ngx.req.get_uri_args()
            if a.kind == "verification" then
                m.verification(a.outcome, a.reason)
            elseif a.kind == "cache" then
                m.cache(a.hit == "1")
            elseif a.kind == "preflight" then
                m.preflight(a.result)
            elseif a.kind == "jwks" then
                m.jwks_fetch(a.core, a.result)
            elseif a.kind == "core" then
                m.core_call(a.path, a.result, tonumber(a.seconds))
            end
            ngx.header["X-Pid"] = ngx.worker.pid()
            ngx.say("ok")
        }
    }
    location = /cost {
        content_by_lua_block {
            local m = require "resty.supertokens.metrics"
            local d = ngx.shared.supertokens_metrics
            local N = 200000
            local key = "m:cost_reference"
            local ffi = require "ffi"
            pcall(ffi.cdef, [[
                struct st_timespec { long tv_sec; long tv_nsec; };
                int clock_gettime(int clk, struct st_timespec *ts);
            ]])
            local ts = ffi.new("struct st_timespec")
            local function clock()
                ffi.C.clock_gettime(1, ts)   -- CLOCK_MONOTONIC
                return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
            end
            -- warm up: JIT traces and the key caches
            for _ = 1, 1000 do
                m.verification("ok", "none"); m.cache(true)
            end
            collectgarbage()
            collectgarbage("stop")
            local kb0 = collectgarbage("count")
            local t0 = clock()
            for _ = 1, N do
                m.verification("ok", "none")
                m.cache(true)
            end
            local t1 = clock()
            local kb1 = collectgarbage("count")
            collectgarbage("restart")
            for _ = 1, N do
                d:incr(key, 1, 0)
                d:incr(key, 1, 0)
            end
            local t2 = clock()
            ngx.say(string.format("%.3f %.3f %.3f", (t1 - t0) * 1e9 / N,
                                  (t2 - t1) * 1e9 / N, kb1 - kb0))
        }
    }
]=]

-- Our own server block: "listen … reuseport" lets the kernel spread new
-- connections over both workers.
local function server_block(body)
    return "server {\n listen 127.0.0.1:%PORT% reuseport;\n" .. body
           .. "\n}\n"
end

local function get(srv, path)
    local res = assert(http.request(srv.port, { path = path }))
    local headers = {}
    for _, h in ipairs(res.headers) do
        headers[h[1]] = h[2]
    end
    return res.status, res.body, headers
end

local function qs(t)
    local parts = {}
    for k, v in pairs(t) do
        parts[#parts + 1] = k .. "=" .. tostring(v):gsub("[^%w%-_%.~]",
            function(c) return string.format("%%%02X", c:byte()) end)
    end
    return table.concat(parts, "&")
end

local function scrape(srv)
    -- Other workers flush on their timer; wait past one interval.
    socket.sleep(FLUSH * 2.5)
    local status, body, headers = get(srv, "/metrics")
    assert.equal(200, status)
    assert.equal("text/plain; version=0.0.4; charset=utf-8",
                 headers["content-type"])
    return parse_exposition(body), body
end

describe("metrics", function()
    local srv

    setup(function()
        srv = nginx.start({
            workers = 2, no_dict = true,
            http = HTTP .. "init_by_lua_block {" .. INIT .. "}\n"
                   .. "init_worker_by_lua_block {" .. INIT_WORKER .. "}\n"
                   .. server_block(SERVER),
        })
        assert.equal(2, #srv:worker_pids())
        local deadline = socket.gettime() + 5
        while socket.gettime() < deadline do
            local _, body = get(srv, "/metrics")
            if body:find("reason=\"expired\"} 6\n", 1, true) then
                break
            end
            socket.sleep(0.05)
        end
    end)

    teardown(function()
        if srv then
            local log = srv:error_log()
            srv:stop()
            assert.is_nil(log:find("%[error%]"), log)
        end
    end)

    it("sums counts from both workers", function()
        local parsed = scrape(srv)
        assert.equal(6, find(parsed, "supertokens_verifications_total",
                             { outcome = "try_refresh", reason = "expired" }))

        local pids, n = {}, 0
        for _ = 1, 60 do
            local status, _, h = get(srv, "/count?" .. qs({
                kind = "verification", outcome = "unauthorised",
                reason = "no_token" }))
            assert.equal(200, status)
            if not pids[h["x-pid"]] then
                pids[h["x-pid"]] = true
                n = n + 1
            end
        end
        assert.equal(2, n, "requests should reach both workers")
        parsed = scrape(srv)
        assert.equal(60, find(parsed, "supertokens_verifications_total",
                              { outcome = "unauthorised",
                                reason = "no_token" }))
        -- and they keep increasing
        for _ = 1, 5 do
            get(srv, "/count?" .. qs({ kind = "verification",
                                      outcome = "unauthorised",
                                      reason = "no_token" }))
        end
        parsed = scrape(srv)
        assert.equal(65, find(parsed, "supertokens_verifications_total",
                              { outcome = "unauthorised",
                                reason = "no_token" }))
    end)

    it("renders every family with HELP and TYPE, seeded zeros", function()
        local parsed = scrape(srv)
        for _, name in ipairs({
            "supertokens_verifications_total",
            "supertokens_token_cache_total",
            "supertokens_jwks_fetches_total",
            "supertokens_jwks_last_success_timestamp_seconds",
            "supertokens_jwks_last_success_age_seconds",
            "supertokens_core_requests_total",
            "supertokens_core_request_duration_seconds",
            "supertokens_cors_preflights_total",
        }) do
            local fam = parsed.families[name]
            assert.truthy(fam and fam.type, name)
            assert.truthy(fam.help and #fam.help > 10, name)
        end
        assert.equal("histogram",
            parsed.families.supertokens_core_request_duration_seconds.type)
        assert.equal(0, find(parsed, "supertokens_cors_preflights_total",
                             { result = "rejected" }))
        assert.is_number(find(parsed, "supertokens_token_cache_total",
                              { result = "miss" }))
    end)

    it("counts cache, preflight, jwks and core calls", function()
        local before = scrape(srv)
        local hits0 = find(before, "supertokens_token_cache_total",
                           { result = "hit" })
        for _ = 1, 7 do
            get(srv, "/count?kind=cache&hit=1")
        end
        for _ = 1, 3 do
            get(srv, "/count?kind=cache&hit=0")
            get(srv, "/count?kind=preflight&result=allowed")
        end
        get(srv, "/count?kind=preflight&result=rejected")
        get(srv, "/count?" .. qs({ kind = "jwks", core = "127.0.0.1:3567",
                                  result = "ok" }))
        get(srv, "/count?" .. qs({ kind = "jwks", core = "127.0.0.1:3567",
                                  result = "error" }))
        local path = "/recipe/session/verify"
        for _, s in ipairs({ 0.003, 0.07, 0.07, 3, 10 }) do
            get(srv, "/count?" .. qs({ kind = "core", path = path,
                                      result = "ok", seconds = s }))
        end
        get(srv, "/count?" .. qs({ kind = "core", path = path,
                                  result = "error", seconds = 5 }))
        -- a tenant id is signed data: "/" or "recipe" in it must not make
        -- a series of its own
        for _, tenant in ipairs({ "t1", "t2", "a/b", "recipe",
                                  "x/recipe/y" }) do
            get(srv, "/count?" .. qs({ kind = "core", result = "ok",
                                       path = "/" .. tenant
                                              .. "/recipe/user/roles",
                                       seconds = 0.01 }))
        end
        local p = scrape(srv)
        assert.equal(hits0 + 7, find(p, "supertokens_token_cache_total",
                                     { result = "hit" }))
        assert.equal(3, find(p, "supertokens_cors_preflights_total",
                             { result = "allowed" }))
        assert.equal(1, find(p, "supertokens_cors_preflights_total",
                             { result = "rejected" }))
        assert.equal(1, find(p, "supertokens_jwks_fetches_total",
                             { core = "127.0.0.1:3567", result = "error" }))
        local ts = find(p, "supertokens_jwks_last_success_timestamp_seconds",
                        { core = "127.0.0.1:3567" })
        assert.near(os.time(), ts, 5)
        local age = find(p, "supertokens_jwks_last_success_age_seconds",
                         { core = "127.0.0.1:3567" })
        assert.truthy(age >= 0 and age < 5, tostring(age))

        assert.equal(5, find(p, "supertokens_core_requests_total",
                             { path = path, result = "ok" }))
        assert.equal(5, find(p, "supertokens_core_requests_total",
                             { path = "/<tenant>/recipe/user/roles" }))
        for _, s in ipairs(p.samples) do
            if s.labels.path and s.labels.path:find("roles", 1, true) then
                assert.equal("/<tenant>/recipe/user/roles", s.labels.path)
            end
        end
        local h = "supertokens_core_request_duration_seconds"
        local function bucket(le, result)
            return find(p, h .. "_bucket", { path = path,
                                             result = result or "ok",
                                             le = le })
        end
        assert.equal(1, bucket("0.005"))
        assert.equal(1, bucket("0.05"))
        assert.equal(3, bucket("0.1"))
        assert.equal(3, bucket("2.5"))
        assert.equal(4, bucket("5"))
        assert.equal(5, bucket("+Inf"))
        assert.equal(5, find(p, h .. "_count", { path = path,
                                                 result = "ok" }))
        assert.near(13.143, find(p, h .. "_sum", { path = path,
                                                   result = "ok" }), 1e-6)
        -- an observation exactly on a bound belongs to that bucket
        assert.equal(0, bucket("2.5", "error"))
        assert.equal(1, bucket("5", "error"))

        -- buckets: every bound present, cumulative, in order, +Inf = count
        local les, last = {}, -1
        for _, s in ipairs(p.families[h].samples) do
            if s.name == h .. "_bucket" and s.labels.result == "ok"
               and s.labels.path == path then
                les[#les + 1] = s.labels.le
                assert.truthy(s.value >= last)
                last = s.value
            end
        end
        assert.same({ "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
                      "1", "2.5", "5", "+Inf" }, les)
    end)

    it("escapes label values", function()
        local nasty = 'we"ird\\core\nhost:1'
        get(srv, "/count?" .. qs({ kind = "jwks", core = nasty,
                                  result = "invalid" }))
        get(srv, "/count?" .. qs({ kind = "verification",
                                  outcome = "unauthorised",
                                  reason = 'a"b' }))
        local parsed, body = scrape(srv)
        assert.equal(1, find(parsed, "supertokens_jwks_fetches_total",
                             { core = nasty, result = "invalid" }))
        assert.equal(1, find(parsed, "supertokens_verifications_total",
                             { reason = 'a"b' }))
        assert.truthy(body:find('core="we\\"ird\\\\core\\nhost:1"', 1, true))
    end)

    it("keeps per-request counting allocation-free and far below an incr",
       function()
        local _, body = get(srv, "/cost")
        local batched, direct, kb = body:match("(%S+) (%S+) (%S+)")
        batched, direct, kb = tonumber(batched), tonumber(direct),
                              tonumber(kb)
        print(string.format("# metrics per request (verification + cache):"
                            .. " %.1f ns batched, %.1f ns with 2 shdict:incr",
                            batched, direct))
        assert.truthy(kb < 4, "allocated " .. kb .. " KiB in the hot loop")
        assert.truthy(batched * 5 < direct,
                      batched .. " ns vs " .. direct .. " ns")
    end)
end)

describe("metrics label helpers", function()
    local metrics = require "resty.supertokens.metrics"

    it("maps core answers, URLs and preflights to label values", function()
        assert.equal("ok", metrics.core_result('{"status":"OK","a":1}'))
        assert.equal("unauthorised",
                     metrics.core_result('{"status": "UNAUTHORISED"}'))
        assert.equal("try_refresh",
                     metrics.core_result('{"status":"TRY_REFRESH_TOKEN"}'))
        assert.equal("other", metrics.core_result('{"status":"NOPE"}'))
        assert.equal("other", metrics.core_result("<html>"))
        assert.equal("other", metrics.core_result(nil))

        assert.equal("127.0.0.1:3567", metrics.core_label(
            "http://127.0.0.1:3567/.well-known/jwks.json"))
        assert.equal("core.example.com:443", metrics.core_label(
            "https://Core.Example.com/appid-x/.well-known/jwks.json"))
        assert.equal("core:80", metrics.core_label("http://u:p@core/x"))
        assert.equal("unknown", metrics.core_label("not a url"))

        local out = { headers = {
            { "Access-Control-Allow-Origin", "http://localhost:3000" },
            { "Vary", "Origin" } } }
        assert.equal("allowed", metrics.preflight_result(out,
                                                 "http://localhost:3000"))
        assert.equal("rejected", metrics.preflight_result(out,
                                                  "http://evil.example"))
        assert.equal("allowed", metrics.preflight_result(out, nil))
        assert.equal("rejected", metrics.preflight_result({ headers = {} },
                                                  "http://x"))
    end)
end)

describe("metrics.init", function()
    it("names the missing dict", function()
        local ok, err = nginx.try_start({
            http = "init_by_lua_block { require('resty.supertokens.metrics')"
                   .. ".init('st_nope') }",
        })
        assert.is_false(ok)
        assert.truthy(err:find('lua_shared_dict "st_nope" is not defined',
                               1, true), err)
    end)

    it("names the default dict when no dict is declared", function()
        local ok, err = nginx.try_start({
            no_dict = true,
            http = "init_by_lua_block { require('resty.supertokens.metrics')"
                   .. ".init() }",
        })
        assert.is_false(ok)
        assert.truthy(err:find('lua_shared_dict "supertokens_metrics" is '
                               .. 'not defined (nor "supertokens")', 1, true),
                      err)
    end)

    it("falls back to the supertokens dict, ignoring its other keys",
       function()
        local srv = nginx.start({
            http = [[
                init_by_lua_block {
                    local m = require "resty.supertokens.metrics"
                    assert(m.init() == "supertokens")
                    ngx.shared.supertokens:set("jwks:body", '{"keys":[]}')
                }
            ]],
            server = [[
                location = /metrics { content_by_lua_block {
                    local m = require "resty.supertokens.metrics"
                    m.verification("try_refresh", "expired")
                    m.handler()
                } }
            ]],
        })
        local status, body = get(srv, "/metrics")
        srv:stop()
        assert.equal(200, status)
        local parsed = parse_exposition(body)
        assert.equal(1, find(parsed, "supertokens_verifications_total",
                             { reason = "expired" }))
        assert.is_nil(body:find("jwks:body", 1, true))
    end)

    it("flushes a worker's counts when it exits (reload)", function()
        -- a flush interval far longer than the test: only the exit flush
        -- can bring the counts to the dict
        local srv = nginx.start({
            no_dict = true,
            http = HTTP .. [[
                init_by_lua_block {
                    require("resty.supertokens.metrics").init(nil,
                        { flush_interval = 300 })
                }
            ]] .. server_block(SERVER),
        })
        local ok, err = pcall(function()
            for _ = 1, 4 do
                get(srv, "/count?" .. qs({ kind = "verification",
                                           outcome = "try_refresh",
                                           reason = "bad_signature" }))
            end
            local before = srv:worker_pids()
            srv:reload()
            local deadline = socket.gettime() + 5
            while socket.gettime() < deadline do
                local now = srv:worker_pids()
                if #now == 1 and now[1] ~= before[1] then
                    break
                end
                socket.sleep(0.05)
            end
            local _, body = get(srv, "/metrics")
            assert.equal(4, find(parse_exposition(body),
                                 "supertokens_verifications_total",
                                 { reason = "bad_signature" }))
        end)
        srv:stop()
        assert(ok, err)
    end)

    -- The answer of metrics.handler() in an nginx started with opts.
    local function handler_answer(opts)
        opts.server = [[
            location = /metrics { content_by_lua_block {
                require("resty.supertokens.metrics").handler()
            } }
        ]]
        local srv = nginx.start(opts)
        local status, body = get(srv, "/metrics")
        srv:stop()
        return status, body
    end

    it("handler answers 500 with the reason init() failed", function()
        local status, body = handler_answer({
            no_dict = true,
            http = [[
                init_by_lua_block {
                    pcall(require("resty.supertokens.metrics").init)
                }
            ]],
        })
        assert.equal(500, status)
        assert.truthy(body:find('lua_shared_dict "supertokens_metrics" is '
                                .. 'not defined', 1, true), body)
    end)

    it("handler answers 500 when init was not called", function()
        local status, body = handler_answer({ http = HTTP })
        assert.equal(500, status)
        assert.truthy(body:find("not initialised", 1, true))
    end)
end)

describe("metrics in a full shared dict", function()
    -- The fallback shares the `supertokens` dict with the JWKS cache: a new
    -- series must wait for room, never push the JWKS (or anything else) out.
    it("never evicts other keys and flushes its counts once there is room",
       function()
        local srv = nginx.start({
            no_dict = true,
            http = [[
                lua_shared_dict supertokens 64k;
                init_by_lua_block {
                    require("resty.supertokens.metrics").init(nil,
                        { flush_interval = 300 })
                }
            ]],
            server = [[
                location = /fill { content_by_lua_block {
                    local d = ngx.shared.supertokens
                    d:set("jwks:body", string.rep("k", 1500))
                    local n = 0
                    for _, size in ipairs({ 400, 200, 100, 50, 16, 1 }) do
                        while d:safe_set("filler:" .. n,
                                         string.rep("f", size)) do
                            n = n + 1
                        end
                    end
                    ngx.say(n)
                } }
                location = /burst { content_by_lua_block {
                    local m = require "resty.supertokens.metrics"
                    for i = 1, 40 do
                        m.verification("unauthorised", "reason_" .. i)
                    end
                    m.core_call("/recipe/session/verify", "ok", 0.02)
                    m.flush()
                    local d = ngx.shared.supertokens
                    ngx.say(d:get("jwks:body") and "kept" or "evicted")
                } }
                location = /free { content_by_lua_block {
                    local d = ngx.shared.supertokens
                    for _, k in ipairs(d:get_keys(0)) do
                        if k:sub(1, 7) == "filler:" then d:delete(k) end
                    end
                    ngx.say("ok")
                } }
                location = /metrics { content_by_lua_block {
                    require("resty.supertokens.metrics").handler()
                } }
            ]],
        })
        local ok, err = pcall(function()
            local _, filled = get(srv, "/fill")
            assert.truthy(tonumber(filled) > 10, filled)
            local _, burst = get(srv, "/burst")
            assert.equal("kept\n", burst)
            get(srv, "/free")
            local _, body = get(srv, "/metrics")
            local parsed = parse_exposition(body)
            assert.equal(40, find(parsed, "supertokens_verifications_total",
                                  { outcome = "unauthorised" }))
            assert.equal(1, find(parsed,
                                 "supertokens_core_request_duration_seconds"
                                 .. "_bucket", { le = "0.025" }))
            assert.equal(1, find(parsed,
                                 "supertokens_core_request_duration_seconds"
                                 .. "_count", {}))
            local log = srv:error_log()
            assert.truthy(log:find("no memory", 1, true), log)
        end)
        srv:stop()
        assert(ok, err)
    end)
end)

describe("metrics scraped while other workers flush", function()
    -- Prometheus reads a histogram whose buckets are not cumulative, or
    -- whose _count differs from its +Inf bucket, as broken.  Both workers
    -- observe without pause and flush every millisecond while we scrape.
    it("keeps each histogram cumulative with _count = +Inf", function()
        local srv = nginx.start({
            workers = 2, no_dict = true,
            http = HTTP .. [[
                init_by_lua_block {
                    require("resty.supertokens.metrics").init(nil,
                        { flush_interval = 0.001 })
                }
                init_worker_by_lua_block {
                    local m = require "resty.supertokens.metrics"
                    m.init_worker()
                    ngx.timer.at(0, function()
                        local i = 0
                        local stop_at = ngx.now() + 60
                        while not ngx.worker.exiting()
                              and ngx.now() < stop_at
                        do
                            for _ = 1, 20 do
                                i = i + 1
                                m.core_call(i % 2 == 0
                                            and "/recipe/session/verify"
                                            or "/recipe/session/regenerate",
                                            i % 3 == 0 and "error" or "ok",
                                            (i % 13) * 0.5)
                            end
                            ngx.sleep(0.001)
                        end
                    end)
                }
            ]] .. server_block([[
                location = /metrics { content_by_lua_block {
                    require("resty.supertokens.metrics").handler()
                } }
            ]]),
        })
        local ok, err = pcall(function()
            local h = "supertokens_core_request_duration_seconds"
            local seen = 0
            for _ = 1, 600 do
                local _, body = get(srv, "/metrics")
                local p = parse_exposition(body)
                local last, inf, set = -1, nil, nil
                for _, s in ipairs(p.families[h] and p.families[h].samples
                                   or {}) do
                    if s.name == h .. "_bucket" then
                        local this = s.labels.path .. " " .. s.labels.result
                        if this ~= set then
                            set, last = this, -1
                        end
                        assert.truthy(s.value >= last, body)
                        last = s.value
                        if s.labels.le == "+Inf" then
                            inf = s.value
                        end
                    elseif s.name == h .. "_count" then
                        assert.equal(inf, s.value, body)
                        seen = seen + 1
                    end
                end
            end
            assert.equal(600 * 4, seen)
        end)
        srv:stop()
        assert(ok, err)
    end)
end)
