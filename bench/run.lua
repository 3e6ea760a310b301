-- Drives `make bench` and `make soak` (see bench/README.md).
--
-- Every figure is a ratio against a baseline measured in the same run on
-- the same machine, interleaved round by round; a figure is the median of
-- the per-round ratios.  nginx runs on core 0 (taskset -c 0), wrk on
-- core 1; the 2-worker run puts nginx on both cores, sharing core 1 with
-- wrk.
--
-- usage: luajit bench/run.lua bench|soak     (env: see mk/70-bench.mk)

local cjson = require "cjson"

local getenv = os.getenv
local fmt = string.format

local TOP = getenv("TOP") or "."
local BUILD = getenv("BUILD") or TOP .. "/build"
local NGINX = getenv("BENCH_NGINX") or "nginx"
if NGINX == "" then NGINX = "nginx" end
local QUICK = (getenv("QUICK") or "") ~= "" and getenv("QUICK") ~= "0"
local DATA = BUILD .. "/bench/data"
local RESULTS = TOP .. "/bench/results"
local PREFIX = BUILD .. "/bench/nginx"

cjson.encode_sparse_array(true)
cjson.encode_number_precision(14)

local function env_num(name, default)
    local v = tonumber(getenv(name) or "")
    return v or default
end

-- Sizes of a run.  QUICK keeps every key but finishes in < 1 minute.
local P = QUICK and {
    c_rounds = 3, c_target_ms = 8, lua_rounds = 3, lua_target_ms = 8,
    wrk_rounds = 2, wrk_secs = 1, lat_rounds = 1, w2_rounds = 1,
    n_unique = 2000, cache_size = 500, warm_secs = 1,
} or {
    c_rounds = 15, c_target_ms = 40, lua_rounds = 11, lua_target_ms = 40,
    wrk_rounds = 5, wrk_secs = 5, lat_rounds = 3, w2_rounds = 3,
    n_unique = 8000, cache_size = 1000, warm_secs = 2,
}
P.c_rounds = env_num("BENCH_ROUNDS", P.c_rounds)
P.cache_size = env_num("BENCH_CACHE_SIZE", P.cache_size)
-- Micro benches time thread CPU (time other processes steal does not
-- count) unless BENCH_CLOCK=wall.
local CLOCK = getenv("BENCH_CLOCK") == "wall" and "wall" or "cpu"
P.wrk_secs = env_num("BENCH_WRK_SECONDS", P.wrk_secs)


------------------------------------------------------------------------
-- helpers
------------------------------------------------------------------------

local function log(...)
    io.stderr:write("bench: ", fmt(...), "\n")
end

local function sh(cmd)
    local p = io.popen(cmd .. " 2>&1; echo \"__rc=$?\"")
    local out = p:read("*a")
    p:close()
    local body, rc = out:match("^(.-)__rc=(%d+)%s*$")
    return body or out, tonumber(rc) or -1
end

local function must(cmd)
    local out, rc = sh(cmd)
    if rc ~= 0 then
        error(fmt("command failed (%d): %s\n%s", rc, cmd, out), 0)
    end
    return out
end

local function read(path)
    local f = io.open(path, "rb")
    if not f then return nil end
    local s = f:read("*a")
    f:close()
    return s
end

local function write(path, s)
    local f = assert(io.open(path, "wb"))
    f:write(s)
    f:close()
end

local function trim(s)
    return ((s or ""):gsub("^%s+", ""):gsub("%s+$", ""))
end

local function median(t)
    local v = {}
    for _, x in ipairs(t) do
        if type(x) == "number" then v[#v + 1] = x end
    end
    if #v == 0 then return nil end
    table.sort(v)
    local m = math.floor((#v + 1) / 2)
    if #v % 2 == 1 then return v[m] end
    return (v[m] + v[m + 1]) / 2
end

-- Median of per-round ratios a[r] / b[r] (paired: same round).
local function ratio(a, b)
    if not a or not b then return nil end
    local r = {}
    for i = 1, math.min(#a, #b) do
        if type(a[i]) == "number" and type(b[i]) == "number"
           and b[i] > 0 then
            r[#r + 1] = a[i] / b[i]
        end
    end
    return median(r)
end

local function pmin(a, b)
    local r = {}
    for i = 1, math.max(#a, #b) do
        local x, y = a[i], b[i]
        if type(x) ~= "number" then r[i] = y
        elseif type(y) ~= "number" then r[i] = x
        else r[i] = math.min(x, y) end
    end
    return r
end

local function round(x, n)
    if type(x) ~= "number" then return x end
    local m = 10 ^ (n or 3)
    return math.floor(x * m + 0.5) / m
end

local function free_port()
    for _ = 1, 50 do
        local port = 20000 + math.random(0, 9999)
        local _, rc = sh(fmt("ss -Hltn 'sport = :%d' | grep -q .", port))
        if rc ~= 0 then return port end
    end
    error("no free port", 0)
end

local function sleep(s)
    sh(fmt("sleep %s", s))
end


------------------------------------------------------------------------
-- fixtures, machine
------------------------------------------------------------------------

local function gen_fixtures(n_unique, n_soak)
    must(fmt("node %s/bench/gen.js %s %d %d", TOP, DATA, n_unique,
             n_soak or 0))
end

local function machine()
    local cpu = must("grep -m1 'model name' /proc/cpuinfo")
    local m = {
        nproc = tonumber(trim(must("nproc"))),
        cpu_model = trim(cpu:gsub("^.-:%s*", "")),
        kernel = trim(must("uname -r")),
        openssl_cli = trim(must("openssl version")),
        luajit_cli = trim(must("luajit -v")),
        nginx = trim(must(NGINX .. " -v"):gsub("^nginx version: ", "")),
        wrk = trim(sh("wrk -v"):match("^(wrk [^\n]-)%s") or "wrk"),
        libjwt = trim(sh("dpkg-query -W -f='${Version}' libjwt0")),
        date_utc = trim(must("date -u +%Y-%m-%dT%H:%M:%SZ")),
    }
    local commit, rc = sh("git -C " .. TOP .. " rev-parse HEAD")
    m.git_commit = rc == 0 and trim(commit) or nil
    -- The code, not the results of an earlier run (they are tracked).
    local dirty = sh("git -C " .. TOP
                     .. " status --porcelain --untracked-files=no"
                     .. " -- . ':!bench/results'")
    m.git_dirty = trim(dirty) ~= ""
    return m
end


------------------------------------------------------------------------
-- nginx
------------------------------------------------------------------------

local nginx_master

local function nginx_stop()
    if not nginx_master then return end
    sh(fmt("kill -QUIT %d", nginx_master))
    for _ = 1, 50 do
        local _, rc = sh(fmt("kill -0 %d", nginx_master))
        if rc ~= 0 then break end
        sleep(0.1)
    end
    sh(fmt("kill -KILL %d", nginx_master))
    nginx_master = nil
end

-- A run killed half-way (Ctrl-C, kill) must not leave the daemon behind:
-- a detached watcher stops the master once this process is gone, if that
-- pid is still our nginx by then.
local function watch_nginx(master)
    local self_pid = tonumber((read("/proc/self/stat") or ""):match("^%d+"))
    if not self_pid then return end
    sh(fmt("(while kill -0 %d 2>/dev/null; do sleep 1; done; "
           .. "tr '\\0' ' ' < /proc/%d/cmdline 2>/dev/null "
           .. "| grep -qF -- %q && kill -QUIT %d) "
           .. "</dev/null >/dev/null 2>&1 &",
           self_pid, master, PREFIX, master))
end

-- opts: workers, cpus, port, log_level, lrj
local function nginx_start(o)
    local tmpl = assert(read(TOP .. "/bench/nginx/bench.conf.in"))
    local lua_path = table.concat({
        TOP .. "/bench/lua/?.lua", TOP .. "/lua/?.lua",
        TOP .. "/lua/?/init.lua",
    }, ";")
    local lrj = getenv("LRJ_PATH") or ""
    if lrj ~= "" then
        lua_path = lua_path .. ";" .. lrj .. "/lib/?.lua"
        for dir in (getenv("LRJ_DEPS") or ""):gmatch("[^:]+") do
            lua_path = lua_path .. ";" .. dir .. "/lib/?.lua"
        end
    end
    lua_path = lua_path .. ";/usr/share/luajit-2.1.0-beta3/?.lua;"
               .. "/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua;;"
    local vars = {
        WORKERS = tostring(o.workers or 1),
        LOG_LEVEL = o.log_level or "warn",
        LUA_PATH = lua_path,
        LUA_CPATH = BUILD .. "/?.so;/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;;",
        PORT = tostring(o.port),
        TOP = TOP, BUILD = BUILD, DATA = DATA, PREFIX = PREFIX,
        LRJ = lrj ~= "" and fmt("%q", lrj) or "nil",
        CACHE_SIZE = tostring(P.cache_size),
        -- nginx keeps what a keepalive connection allocates (large header
        -- buffers) until it closes: the soak uses nginx's default 1000 so
        -- it measures the product, not an unbounded connection.
        KEEPALIVE_REQUESTS = tostring(o.keepalive_requests or 10000),
        JWKS_FILE = DATA .. "/jwks-all.json",
        -- BENCH_JITV=1: jit.v of the workers to <prefix>/jit/worker.log
        JITV = getenv("BENCH_JITV") == "1" and "true" or "false",
    }
    local conf = tmpl:gsub("@([%u_]+)@", function(k)
        return vars[k] or error("bench.conf.in: unknown @" .. k .. "@", 0)
    end)
    -- Workers run as nobody: jit.v logs go to a directory they can write.
    must(fmt("rm -rf %s && mkdir -p %s/conf %s/logs %s/jit && chmod 1777 "
             .. "%s/jit", PREFIX, PREFIX, PREFIX, PREFIX, PREFIX))
    write(PREFIX .. "/conf/nginx.conf", conf)
    -- The daemon keeps inherited fds: send them to a file, not our pipe.
    -- env NGINX means "inherited sockets" to nginx (and: no daemon).
    must(fmt("env -u NGINX taskset -c %s %s -p %s -c conf/nginx.conf "
             .. "</dev/null "
             .. ">%s/logs/start.out 2>&1", o.cpus, NGINX, PREFIX, PREFIX))
    for _ = 1, 50 do
        local pid = tonumber(read(PREFIX .. "/logs/nginx.pid") or "")
        if pid then
            local _, rc = sh(fmt("curl -s -o /dev/null "
                                 .. "http://127.0.0.1:%d/static", o.port))
            if rc == 0 then
                nginx_master = pid
                watch_nginx(pid)
                return pid
            end
        end
        sleep(0.1)
    end
    error("nginx did not start:\n" .. (read(PREFIX .. "/logs/error.log")
                                       or ""), 0)
end

local function nginx_workers()
    local out = sh(fmt("ps -o pid= --ppid %d", nginx_master))
    local t = {}
    for pid in out:gmatch("%d+") do t[#t + 1] = tonumber(pid) end
    return t
end

-- CPU time the nginx workers have run, in ns (schedstat: on-CPU time).
local function cpu_ns(pids)
    local sum = 0
    for _, pid in ipairs(pids) do
        local s = read(fmt("/proc/%d/schedstat", pid)) or ""
        sum = sum + (tonumber(s:match("^(%d+)")) or 0)
    end
    return sum
end

-- Kernel-mode CPU time of the nginx workers, in ns (/proc/<pid>/stat
-- stime, clock ticks): the share of cpu_ns() spent in the kernel.
local TICK_NS = 1e9 / (tonumber(trim(sh("getconf CLK_TCK"))) or 100)
local function sys_ns(pids)
    local sum = 0
    for _, pid in ipairs(pids) do
        -- Fields after the ")" that ends comm: state is field 3, stime 15.
        local rest = (read(fmt("/proc/%d/stat", pid)) or ""):match("%) (.*)")
        local f, i = {}, 3
        for x in (rest or ""):gmatch("%S+") do
            f[i] = x
            i = i + 1
            if i > 15 then break end
        end
        sum = sum + (tonumber(f[15]) or 0) * TICK_NS
    end
    return sum
end

local function loadavg()
    return trim(read("/proc/loadavg") or ""):match("^(%S+ %S+ %S+)")
end

local function rss_kb(pid)
    local s = read(fmt("/proc/%d/status", pid)) or ""
    return tonumber(s:match("VmRSS:%s*(%d+)"))
end

local function wrk(o)
    local cmd = fmt("taskset -c %s wrk -t%d -c%d -d%ds --timeout 10s -s %s"
                    .. " http://127.0.0.1:%d%s -- %s %s",
                    o.cpus or "1", o.threads or 1, o.conns, o.secs,
                    o.script or (TOP .. "/bench/wrk/tokens.lua"), o.port,
                    o.path, o.file or "", o.mode or "")
    local out = must(cmd)
    local j = out:match("WRKJSON (%b{})")
    if not j then error("wrk gave no result:\n" .. out, 0) end
    return cjson.decode(j)
end


------------------------------------------------------------------------
-- bench
------------------------------------------------------------------------

local SCENARIOS = {
    -- name, path, token file, mode
    { "static", "/static", "rs256.tokens", "one" },
    { "cached", "/api/user", "rs256.tokens", "one" },
    { "uncached", "/api/user", "rs256.unique.tokens", "cycle" },
    { "bare", "/bare", "rs256.unique.tokens", "cycle" },
    -- context, 1 worker c32 only: the proxy pattern (access phase +
    -- header filter) and the floor of a cached answer (bench.conf.in)
    { "proxy_cached", "/api/user-proxy", "rs256.tokens", "one" },
    { "floor_cached", "/floor/cached", "rs256.tokens", "one" },
    { "floor_uncached", "/floor/uncached", "rs256.unique.tokens", "cycle" },
    { "floor_c", "/floor/c", "rs256.unique.tokens", "cycle" },
}
-- The scenarios of the c1 and 2-worker runs.
local MAIN = { static = true, cached = true, uncached = true, bare = true }

-- Token-cache hit/miss counters of the product (nil if unavailable).
local function cache_counts(port)
    local body = sh(fmt("curl -sS --max-time 5 http://127.0.0.1:%d"
                        .. "/bench/cache", port))
    local ok, t = pcall(cjson.decode, body)
    if ok and type(t) == "table" and t.hit and t.hit >= 0 then
        return t
    end
end

-- One set of wrk runs: every scenario once per round, rotated order.
local function wrk_rounds(port, conns, secs, rounds, only)
    local res = {}
    local list = {}
    for _, s in ipairs(SCENARIOS) do
        if not only or only[s[1]] then
            list[#list + 1] = s
            res[s[1]] = { rps = {}, p50_ms = {}, p99_ms = {}, non2xx = 0,
                          socket_errors = 0, cpu_us = {}, sys_us = {},
                          busy = {} }
        end
    end
    for r = 1, rounds do
        for i = 1, #list do
            local s = list[(i + r - 2) % #list + 1]
            local pids = nginx_workers()
            -- With 2 workers the other one flushes its counts every 1 s.
            local counted = s[1] == "cached" or s[1] == "uncached"
            if counted and #pids > 1 then sleep(1.1) end
            if s[1] == "uncached" then
                sh(fmt("curl -sS --max-time 5 http://127.0.0.1:%d/bench/flush",
                       port))
                sleep(0.3)
            end
            local k0 = counted and cache_counts(port)
            local c0, s0 = cpu_ns(pids), sys_ns(pids)
            local w = wrk({ port = port, conns = conns, secs = secs,
                            path = s[2], file = DATA .. "/" .. s[3],
                            mode = s[4] })
            local cpu = cpu_ns(pids) - c0
            local sys = sys_ns(pids) - s0
            if counted and #pids > 1 then sleep(1.1) end
            local k1 = counted and cache_counts(port)
            local t = res[s[1]]
            if k0 and k1 then
                t.hits = (t.hits or 0) + k1.hit - k0.hit
                t.misses = (t.misses or 0) + k1.miss - k0.miss
            end
            if w.requests > 0 then
                t.cpu_us[#t.cpu_us + 1] = cpu / 1000 / w.requests
                t.sys_us[#t.sys_us + 1] = sys / 1000 / w.requests
            end
            t.busy[#t.busy + 1] = cpu / 1000 / w.duration_us / #pids
            t.rps[#t.rps + 1] = w.rps
            t.p50_ms[#t.p50_ms + 1] = w.p50_us / 1000
            t.p99_ms[#t.p99_ms + 1] = w.p99_us / 1000
            t.non2xx = t.non2xx + w.non2xx
            t.socket_errors = t.socket_errors + w.connect_errors
                              + w.read_errors + w.write_errors + w.timeouts
        end
    end
    return res
end

local function summarize_wrk(res)
    local s = {}
    for name, t in pairs(res) do
        s[name] = { rps = round(median(t.rps), 0),
                    p50_ms = round(median(t.p50_ms), 3),
                    p99_ms = round(median(t.p99_ms), 3),
                    nginx_cpu_us_per_req = round(median(t.cpu_us), 2),
                    nginx_sys_us_per_req = round(median(t.sys_us), 2),
                    nginx_busy_pct = round(100 * (median(t.busy) or 0), 1),
                    cache_hit_pct = (t.hits and (t.hits + t.misses) > 0)
                        and round(100 * t.hits / (t.hits + t.misses), 2)
                        or nil,
                    non2xx = t.non2xx, socket_errors = t.socket_errors,
                    rounds = #t.rps }
    end
    return s
end

local function check_ok(res, where)
    local bad = {}
    for name, t in pairs(res) do
        if t.non2xx > 0 then
            bad[#bad + 1] = fmt("%s: %s non-2xx", where, name)
        end
    end
    return bad
end

local GOALS = {
    c_verify_vs_openssl = { "<=", 1.05 },
    lua_uncached_vs_openssl = { "<=", 1.10 },
    lua_cached_ns = { "<=", 500 },
    nginx_cached_vs_static = { ">=", 0.90 },
    nginx_uncached_vs_bare_verify = { ">=", 0.90 },
    speedup_vs_libjwt = { ">=", 15 },
    speedup_vs_lua_resty_jwt = { ">=", 15 },
    c_verify_es256_vs_openssl = { "<=", 1.05 },
    c_verify_eddsa_vs_openssl = { "<=", 1.05 },
    lua_uncached_es256_vs_openssl = { "<=", 1.10 },
    lua_uncached_eddsa_vs_openssl = { "<=", 1.10 },
}

local ORDER = {
    "c_verify_vs_openssl", "c_verify_es256_vs_openssl",
    "c_verify_eddsa_vs_openssl", "lua_uncached_vs_openssl",
    "lua_uncached_es256_vs_openssl", "lua_uncached_eddsa_vs_openssl",
    "lua_cached_ns", "bytes_per_verify_lua", "speedup_vs_libjwt",
    "speedup_vs_lua_resty_jwt", "nginx_cached_vs_static",
    "nginx_uncached_vs_bare_verify", "nginx_cached_vs_static_cpu",
    "nginx_uncached_vs_bare_verify_cpu",
    "nginx_uncached_vs_bare_verify_user_cpu", "nginx_floor_cached_vs_static",
    "nginx_cached_vs_floor", "nginx_floor_uncached_vs_bare_verify",
    "nginx_uncached_vs_floor", "nginx_floor_c_vs_bare_verify",
    "nginx_proxy_cached_vs_static",
    "lua_decide_cached_ns",
    "bytes_per_decide_lua",
}

local function chart(res1, res2)
    local dat = BUILD .. "/bench/chart.dat"
    local lines = { "# scenario workers_1 workers_2" }
    for _, s in ipairs(SCENARIOS) do
        local a = res1[s[1]] and res1[s[1]].rps or 0
        local b = res2[s[1]] and res2[s[1]].rps or 0
        lines[#lines + 1] = fmt("%s %s %s", s[1], a or 0, b or 0)
    end
    write(dat, table.concat(lines, "\n") .. "\n")
    local _, rc = sh(fmt("gnuplot -e \"datafile='%s'; outfile='%s'\" %s",
                         dat, RESULTS .. "/latest.png",
                         TOP .. "/bench/chart.gp"))
    return rc == 0
end

local function print_table(out)
    local lines = {
        fmt("%-40s %14s %10s  %s", "figure", "value", "goal", "status"),
        string.rep("-", 76),
    }
    for _, k in ipairs(ORDER) do
        local v, g = out[k], GOALS[k]
        local goal = g and (g[1] .. " " .. g[2]) or ""
        local status = ""
        if g and type(v) == "number" then
            status = out.pass[k] and "ok" or "MISSED"
        elseif g then
            status = "n/a"
        end
        lines[#lines + 1] = fmt("%-40s %14s %10s  %s", k,
                                type(v) == "number" and tostring(v)
                                or "null", goal, status)
    end
    lines[#lines + 1] = string.rep("-", 76)
    for _, w in ipairs({ "workers_1", "workers_2" }) do
        local n = out.nginx[w]
        for _, s in ipairs(SCENARIOS) do
            local t = n.c32[s[1]]
            if t then
                lines[#lines + 1] = fmt(
                    "%-9s c32 %-8s %7s req/s p50 %6.3f p99 %7.3f ms"
                    .. " nginx %6.2f us/req (sys %5.2f) %3.0f%% busy%s",
                    w, s[1], tostring(t.rps), t.p50_ms or -1,
                    t.p99_ms or -1, t.nginx_cpu_us_per_req or -1,
                    t.nginx_sys_us_per_req or -1,
                    t.nginx_busy_pct or -1, t.cache_hit_pct
                    and fmt(" cache hits %.1f%%", t.cache_hit_pct) or "")
            end
        end
    end
    for _, k in ipairs({ "nginx_p50_ms_c1", "nginx_p99_ms_c1",
                         "nginx_p50_ms_c32", "nginx_p99_ms_c32" }) do
        local t = type(out[k]) == "table" and out[k] or {}
        lines[#lines + 1] = fmt("%-20s cached %8s ms   uncached %8s ms", k,
                                tostring(t.cached), tostring(t.uncached))
    end
    print(table.concat(lines, "\n"))
end

local function bench()
    local t_start = os.time()
    must("mkdir -p " .. RESULTS)
    log("fixtures (%d unique tokens)", P.n_unique)
    gen_fixtures(P.n_unique)
    local out = { machine = machine(), quick = QUICK, params = P,
                  notes = {}, details = {}, problems = {} }
    out.machine.loadavg_start = loadavg()
    out.goals = {}
    for k, g in pairs(GOALS) do out.goals[k] = g[1] .. " " .. g[2] end

    -- 1. C: libstjwt vs raw EVP vs libjwt, one process, core 0.
    log("C verify (%d rounds)", P.c_rounds)
    local c = cjson.decode(must(fmt("taskset -c 0 %s/bench/bench_c %s %d %d"
                                    .. " %s", BUILD, DATA, P.c_rounds,
                                    P.c_target_ms, CLOCK)))
    out.machine.openssl = c.openssl
    out.clock = c.clock
    local cd = {}
    for alg, k in pairs(c.algs) do
        local best = pmin(k.evp, k.evp_copy)
        cd[alg] = {
            ns = {}, stjwt_vs_evp = round(ratio(k.stjwt, best), 4),
            stjwt_vs_evp_naive = round(ratio(k.stjwt, k.evp_naive), 4),
            evp_naive_vs_evp = round(ratio(k.evp_naive, best), 4),
            evp_pkey_vs_evp = round(ratio(k.evp_pkey, best), 4),
            parse_share = round(ratio(k.stjwt_parse, k.stjwt), 4),
            libjwt_vs_stjwt = round(ratio(k.libjwt, k.stjwt), 2),
        }
        for kind, v in pairs(k) do cd[alg].ns[kind] = round(median(v), 0) end
    end
    out.details.c = cd
    out.c_verify_vs_openssl = cd.rs256.stjwt_vs_evp
    out.c_verify_es256_vs_openssl = cd.es256.stjwt_vs_evp
    out.c_verify_eddsa_vs_openssl = cd.eddsa.stjwt_vs_evp
    out.c_verify_vs_openssl_naive = cd.rs256.stjwt_vs_evp_naive

    -- 2. Lua inside nginx (1 worker, core 0), interleaved with C EVP.
    local port = free_port()
    nginx_start({ workers = 1, cpus = "0", port = port })
    local ok, err = pcall(function()
        log("Lua verify (%d rounds)", P.lua_rounds)
        local body = must(fmt("curl -sS --fail-with-body --max-time 600 "
                              .. "'http://127.0.0.1:%d/micro?rounds=%d"
                              .. "&target_ms=%d&clock=%s'", port,
                              P.lua_rounds, P.lua_target_ms, CLOCK))
        local m = cjson.decode(body)
        out.machine.luajit = m.luajit
        out.machine.ngx_lua = m.ngx_lua
        local ld = {}
        for alg, k in pairs(m.algs) do
            local best = pmin(k.c_evp, k.c_evp_copy)
            ld[alg] = {
                ns = {}, lua_vs_evp = round(ratio(k.lua_verify, best), 4),
                lua_vs_c_stjwt = round(ratio(k.lua_verify, k.c_stjwt), 4),
                check_signature_vs_evp =
                    round(ratio(k.lua_check_signature, best), 4),
            }
            for kind, v in pairs(k) do
                ld[alg].ns[kind] = round(median(v), 0)
            end
            if k.c_libjwt then
                ld[alg].libjwt_vs_lua = round(ratio(k.c_libjwt,
                                                    k.lua_verify), 2)
            end
            if k.lua_resty_jwt then
                ld[alg].lua_resty_jwt_vs_lua =
                    round(ratio(k.lua_resty_jwt, k.lua_verify), 2)
            end
        end
        out.details.lua = ld
        out.lua_uncached_vs_openssl = ld.rs256.lua_vs_evp
        out.lua_uncached_es256_vs_openssl = ld.es256.lua_vs_evp
        out.lua_uncached_eddsa_vs_openssl = ld.eddsa.lua_vs_evp
        out.lua_cached_ns = ld.rs256.ns.lua_cached
        out.speedup_vs_libjwt = ld.rs256.libjwt_vs_lua
        out.speedup_vs_lua_resty_jwt = ld.rs256.lua_resty_jwt_vs_lua
        out.bytes_per_verify_lua = round(m.bytes_per_verify_lua, 1)
        out.bytes_per_cached_verify_lua =
            round(m.bytes_per_cached_verify_lua, 1)
        out.bytes_per_decide_lua = round(m.bytes_per_decide_lua, 1)
        out.lua_decide_cached_ns = ld.rs256.ns.lua_decide_cached
        out.details.jit = { verify = m.jit_verify, cached = m.jit_cached,
                            decide = m.jit_decide }
        for k, v in pairs(m.notes or {}) do out.notes[k] = v end
        if out.lua_cached_ns == nil and not out.notes.lua_cached then
            out.notes.lua_cached = "no cached measurement"
        end
        out.notes.speedup_vs_libjwt = fmt(
            "libjwt_ns / ours_ns, ours = full Lua v:verify (parse, checks,"
            .. " payload table).  libjwt 1.10 jwt_decode() parses the PEM "
            .. "key (PEM_read_bio_PUBKEY) and allocates a JSON tree on every"
            .. " call (PEM_read_bio_PUBKEY alone: %s ns of its %s ns); "
            .. "C-level libjwt/stjwt = %s", tostring(cd.rs256.ns.pem_parse),
            tostring(cd.rs256.ns.libjwt), tostring(cd.rs256.libjwt_vs_stjwt))

        -- 3. nginx under wrk: 1 worker on core 0, wrk on core 1.
        local only = nil
        log("nginx 1 worker c32 (%d rounds x %ds)", P.wrk_rounds, P.wrk_secs)
        wrk_rounds(port, 32, P.warm_secs, 1, only)   -- warm-up
        local r1 = wrk_rounds(port, 32, P.wrk_secs, P.wrk_rounds, only)
        log("nginx 1 worker c1 (%d rounds)", P.lat_rounds)
        local r1c1 = wrk_rounds(port, 1, P.wrk_secs, P.lat_rounds, MAIN)
        nginx_stop()

        log("nginx 2 workers c32 (%d rounds)", P.w2_rounds)
        nginx_start({ workers = 2, cpus = "0,1", port = port })
        wrk_rounds(port, 32, P.warm_secs, 1, MAIN)
        local r2 = wrk_rounds(port, 32, P.wrk_secs, P.w2_rounds, MAIN)
        nginx_stop()

        for _, b in ipairs(check_ok(r1, "w1 c32")) do
            out.problems[#out.problems + 1] = b
        end
        for _, b in ipairs(check_ok(r1c1, "w1 c1")) do
            out.problems[#out.problems + 1] = b
        end
        for _, b in ipairs(check_ok(r2, "w2 c32")) do
            out.problems[#out.problems + 1] = b
        end

        out.nginx_cached_vs_static = round(ratio(r1.cached.rps,
                                                 r1.static.rps), 4)
        out.nginx_uncached_vs_bare_verify = round(ratio(r1.uncached.rps,
                                                        r1.bare.rps), 4)
        -- Context for nginx_cached_vs_static: the floor (the least a
        -- cached /api/user answer costs in ngx_lua) and the proxy pattern.
        out.nginx_floor_cached_vs_static = round(ratio(r1.floor_cached.rps,
                                                       r1.static.rps), 4)
        out.nginx_cached_vs_floor = round(ratio(r1.cached.rps,
                                                r1.floor_cached.rps), 4)
        -- and for nginx_uncached_vs_bare_verify: the floor of a new
        -- token's answer through the public Lua verify.
        out.nginx_floor_uncached_vs_bare_verify =
            round(ratio(r1.floor_uncached.rps, r1.bare.rps), 4)
        out.nginx_uncached_vs_floor = round(ratio(r1.uncached.rps,
                                                  r1.floor_uncached.rps), 4)
        -- and the floor under that: the same answer with no Lua layer
        -- between the header and libstjwt (the least ngx_lua costs).
        out.nginx_floor_c_vs_bare_verify = round(ratio(r1.floor_c.rps,
                                                       r1.bare.rps), 4)
        out.nginx_proxy_cached_vs_static = round(ratio(r1.proxy_cached.rps,
                                                       r1.static.rps), 4)
        -- The same ratios from nginx CPU time per request (capacity at
        -- saturation), which other load on the machine does not skew.
        out.nginx_cached_vs_static_cpu = round(ratio(r1.static.cpu_us,
                                                     r1.cached.cpu_us), 4)
        out.nginx_uncached_vs_bare_verify_cpu =
            round(ratio(r1.bare.cpu_us, r1.uncached.cpu_us), 4)
        -- And from user-mode CPU only: the kernel time of a response
        -- grows with the time its handler takes (waking the client's
        -- idle core; bench/README "Kernel time"), whoever spends it.
        local function user_us(t)
            local u = {}
            for i = 1, #t.cpu_us do u[i] = t.cpu_us[i] - t.sys_us[i] end
            return u
        end
        out.nginx_uncached_vs_bare_verify_user_cpu =
            round(ratio(user_us(r1.bare), user_us(r1.uncached)), 4)
        local s1, s1c1, s2 = summarize_wrk(r1), summarize_wrk(r1c1),
                             summarize_wrk(r2)
        out.nginx = {
            workers_1 = { c32 = s1, c1 = s1c1,
                          cached_vs_static = out.nginx_cached_vs_static,
                          uncached_vs_bare_verify =
                              out.nginx_uncached_vs_bare_verify,
                          note = "nginx taskset -c 0, wrk taskset -c 1" },
            workers_2 = { c32 = s2,
                          cached_vs_static = round(ratio(r2.cached.rps,
                                                         r2.static.rps), 4),
                          uncached_vs_bare_verify =
                              round(ratio(r2.uncached.rps, r2.bare.rps), 4),
                          note = "2 workers on cores 0,1 share core 1 with "
                                 .. "wrk (2 cores in all): expect less than"
                                 .. " 2x" },
        }
        for _, lat in ipairs({ { "p50", "c1", s1c1 }, { "p99", "c1", s1c1 },
                               { "p50", "c32", s1 }, { "p99", "c32", s1 } })
        do
            local t = {}
            for _, sc in ipairs({ "cached", "uncached", "static", "bare" }) do
                t[sc] = lat[3][sc] and lat[3][sc][lat[1] .. "_ms"]
            end
            out[fmt("nginx_%s_ms_%s", lat[1], lat[2])] = t
        end
        out.notes.nginx = fmt(
            "uncached: %d distinct valid tokens cycled in order, token cache"
            .. " sized %d and emptied before each round (a token is cached "
            .. "at its second use and comes back only after the whole "
            .. "cycle), so every request misses the LRU cache; bare: "
            .. "same requests to a location doing one RSA-2048 verify via"
            .. " one FFI call (SHA-256 of the signing input + "
            .. "EVP_PKEY_verify on a key ctx built once).  /api/user is "
            .. "user_endpoint() (one content phase); proxy_cached is "
            .. "verify_session() + user_handler() + header_filter(); "
            .. "floor_cached reads the header, does one table lookup, "
            .. "reads the clock and sends the same 5 headers and body, "
            .. "with none of the checks; floor_uncached takes the "
            .. "token from the header, verifies it with the public Lua "
            .. "API (jwt verifier:verify(), payload to a table), judges "
            .. "exp and sends the same 5 headers and the body built from "
            .. "the payload, with none of the SDK's other rules and no "
            .. "cache",
            P.n_unique, P.cache_size)
    end)
    nginx_stop()
    if not ok then error(err, 0) end

    -- A figure that could not be measured is an explicit null.
    for _, k in ipairs(ORDER) do
        if out[k] == nil then out[k] = cjson.null end
    end
    for _, k in ipairs({ "nginx_p50_ms_c1", "nginx_p99_ms_c1",
                         "nginx_p50_ms_c32", "nginx_p99_ms_c32" }) do
        if out[k] == nil then out[k] = cjson.null end
    end
    if out.speedup_vs_lua_resty_jwt == cjson.null
       and not out.notes.lua_resty_jwt then
        out.notes.lua_resty_jwt = "skipped: LRJ_PATH not set"
    end
    out.pass = {}
    for k, g in pairs(GOALS) do
        local v = out[k]
        if type(v) == "number" then
            out.pass[k] = (g[1] == "<=" and v <= g[2])
                          or (g[1] == ">=" and v >= g[2])
        end
    end
    out.chart = chart(out.nginx.workers_1.c32, out.nginx.workers_2.c32)
                and "bench/results/latest.png" or nil
    out.machine.loadavg_end = loadavg()
    out.elapsed_s = os.time() - t_start
    write(RESULTS .. "/latest.json", cjson.encode(out) .. "\n")
    print_table(out)
    if #out.problems > 0 then
        print("PROBLEMS:\n  " .. table.concat(out.problems, "\n  "))
    end
    print(fmt("bench/results/latest.json written (%d s)", out.elapsed_s))
end


------------------------------------------------------------------------
-- probe: the nginx scenarios only, for iterating on the request path
------------------------------------------------------------------------

-- PROBE_ONLY=1 drops the standard four.
-- PROBE="name:/path:file:mode,..." adds scenarios (file relative to the
-- fixtures, mode one|cycle) to the standard four; prints nginx CPU us per
-- request (median of rounds) next to req/s.  Nothing is written.
local function probe()
    gen_fixtures(P.n_unique)
    if getenv("PROBE_ONLY") == "1" then
        for i = #SCENARIOS, 1, -1 do SCENARIOS[i] = nil end
    end
    for spec in (getenv("PROBE") or ""):gmatch("[^,]+") do
        local name, path, file, mode = spec:match(
            "^([^:]+):([^:]+):([^:]+):(%a+)$")
        if not name then error("PROBE: bad entry " .. spec, 0) end
        SCENARIOS[#SCENARIOS + 1] = { name, path, file, mode }
    end
    local port = free_port()
    nginx_start({ workers = 1, cpus = "0", port = port })
    local ok, err = pcall(function()
        local secs = env_num("BENCH_WRK_SECONDS", 2)
        wrk_rounds(port, 32, 1, 1)
        local r = wrk_rounds(port, 32, secs, env_num("PROBE_ROUNDS", 3))
        for _, s in ipairs(SCENARIOS) do
            local t = r[s[1]]
            print(fmt("%-12s %-22s %8.0f req/s %7.2f us/req (sys %5.2f)%s",
                      s[1], s[2], median(t.rps), median(t.cpu_us),
                      median(t.sys_us),
                      t.non2xx > 0 and fmt("  non2xx=%d", t.non2xx) or ""))
        end
    end)
    nginx_stop()
    if not ok then error(err, 0) end
end


-- serve: the bench nginx alone (1 worker, core 0) for profiling by hand
-- (/bench/jitp, /bench/allocp); stops on Enter / end of input, or after
-- BENCH_SERVE_SECONDS.
local function serve()
    gen_fixtures(P.n_unique)
    local port = free_port()
    nginx_start({ workers = 1, cpus = "0", port = port })
    print(fmt("bench nginx on http://127.0.0.1:%d (worker %d), tokens in %s",
              port, nginx_workers()[1], DATA))
    io.stdout:flush()
    local ok, err = pcall(function()
        local secs = env_num("BENCH_SERVE_SECONDS", 0)
        if secs > 0 then
            sleep(secs)
        else
            print("Enter stops it")
            io.read("*l")
        end
    end)
    nginx_stop()
    if not ok then error(err, 0) end
end


------------------------------------------------------------------------
-- soak
------------------------------------------------------------------------

local function soak()
    local secs = env_num("SOAK_SECONDS", 300)
    local hostile = env_num("SOAK_HOSTILE_PCT", 20)
    must("mkdir -p " .. RESULTS)
    local n_soak = math.max(2 * P.cache_size, 4000)
    log("fixtures (%d unique soak tokens)", n_soak)
    gen_fixtures(P.n_unique, n_soak)
    local out = { machine = machine(), seconds = secs,
                  hostile_pct = hostile, notes = {} }
    local port = free_port()
    nginx_start({ workers = 1, cpus = "0", port = port,
                  keepalive_requests = 1000 })
    local ok, err = pcall(function()
        local workers = nginx_workers()
        local warm = math.min(30, math.max(2, math.floor(secs / 10)))
        out.rss_kb_boot = rss_kb(workers[1])
        -- wrk runs in the background for the whole soak; RSS is sampled.
        local wout = BUILD .. "/bench/soak.wrk.out"
        local cmd = fmt("taskset -c 1 wrk -t1 -c32 -d%ds --timeout 10s "
                        .. "-s %s/bench/wrk/soak.lua http://127.0.0.1:%d"
                        .. "/soak/user -- %s %d > %s 2>&1 & echo $!",
                        secs, TOP, port, DATA, hostile, wout)
        local wpid = tonumber(must(cmd):match("%d+"))
        local samples = {}
        local t0 = os.time()
        while true do
            local _, alive = sh(fmt("kill -0 %d", wpid))
            if alive ~= 0 then break end
            local el = os.time() - t0
            if el > secs + 60 then
                sh(fmt("kill %d", wpid))
                error("wrk did not stop", 0)
            end
            local mem = sh(fmt("curl -sS --max-time 5 http://127.0.0.1:%d"
                               .. "/soak/mem", port))
            samples[#samples + 1] = {
                t = el, rss_kb = rss_kb(workers[1]),
                lua_kb = tonumber(mem:match('"lua_kb":([%d.]+)')),
            }
            if el >= warm and not out.rss_kb_start then
                out.rss_kb_start = samples[#samples].rss_kb
            end
            sleep(math.min(5, math.max(1, secs / 20)))
        end
        out.rss_kb_end = rss_kb(workers[1])
        out.lua_kb_start = samples[1] and samples[1].lua_kb
        for _, smp in ipairs(samples) do
            if smp.t >= warm then
                out.lua_kb_start = smp.lua_kb
                break
            end
        end
        out.lua_kb_end = samples[#samples] and samples[#samples].lua_kb
        out.rss_samples = samples
        local max = 0
        for _, s in ipairs(samples) do
            if (s.rss_kb or 0) > max then max = s.rss_kb end
        end
        out.rss_kb_max = max
        out.rss_growth_pct = out.rss_kb_start and round(
            (out.rss_kb_end - out.rss_kb_start) * 100 / out.rss_kb_start, 2)
        out.rss_flat = out.rss_growth_pct ~= nil
                       and math.abs(out.rss_growth_pct) <= 5
        out.notes.rss = fmt("start = after %d s warm-up (token cache "
                            .. "filled), end = after wrk stops", warm)
        local wtext = read(wout) or ""
        out.wrk = cjson.decode(wtext:match("WRKJSON (%b{})") or "{}")
        out.mix = cjson.decode(wtext:match("MIXJSON (%b{})") or "{}")

        local stats = cjson.decode(must(fmt("curl -sS http://127.0.0.1:%d"
                                            .. "/soak/stats", port)))
        out.statuses = stats
        out.unexpected_status = {}
        for key, n in pairs(stats) do
            local expect, status = key:match("^(%S+) (%d+)$")
            if expect ~= status then
                out.unexpected_status[key] = n
            end
        end
        out.worker_pids_same = #nginx_workers() == #workers
                               and nginx_workers()[1] == workers[1]
    end)
    nginx_stop()
    if not ok then error(err, 0) end

    -- Error log: everything except the shell's rejection lines counts.
    local unexpected, n_unexpected, n_expected, reasons = {}, 0, 0, {}
    local f = io.open(PREFIX .. "/logs/error.log")
    if f then
        for line in f:lines() do
            local rej = line:find("supertokens: reject status=", 1, true)
            if rej and (line:find("%[warn%]") or line:find("%[info%]")
                        or line:find("%[notice%]")) then
                n_expected = n_expected + 1
                local r = line:match("reason=(%S+)", rej) or "-"
                reasons[r] = (reasons[r] or 0) + 1
            elseif line:find("%[notice%]") and
                   (line:find("signal process", 1, true)
                    or line:find("gracefully shutting", 1, true)
                    or line:find("exiting", 1, true)
                    or line:find("exit", 1, true)) then
                n_expected = n_expected + 1
            else
                n_unexpected = n_unexpected + 1
                if #unexpected < 20 then
                    unexpected[#unexpected + 1] = line:sub(1, 300)
                end
            end
        end
        f:close()
    end
    local n_401 = 0
    for key, n in pairs(out.statuses) do
        if key:match(" 401$") then n_401 = n_401 + n end
    end
    -- Rejection lines add up to hundreds of MB: keep the head only.
    sh(fmt("head -n 200 %s/logs/error.log > %s/logs/error.log.head && rm -f"
           .. " %s/logs/error.log", PREFIX, PREFIX, PREFIX))
    out.error_log = { expected_lines = n_expected, responses_401 = n_401,
                      reject_reasons = reasons,
                      unexpected_lines = n_unexpected,
                      unexpected_sample = unexpected }
    local n_bad = 0
    for _, n in pairs(out.unexpected_status) do n_bad = n_bad + n end
    out.ok = out.rss_flat and n_bad == 0 and n_unexpected == 0
             and (out.wrk.requests or 0) > 0
    write(RESULTS .. "/soak.json", cjson.encode(out) .. "\n")
    print(fmt("soak %ds, %s%% hostile: %s requests (%.0f req/s), "
              .. "unexpected statuses %d, unexpected log lines %d",
              secs, hostile, tostring(out.wrk.requests),
              out.wrk.rps or 0, n_bad, n_unexpected))
    print(fmt("worker RSS kB: boot %s, start %s, end %s, max %s, "
              .. "growth %s%% (goal |growth| <= 5%%): %s",
              tostring(out.rss_kb_boot), tostring(out.rss_kb_start),
              tostring(out.rss_kb_end), tostring(out.rss_kb_max),
              tostring(out.rss_growth_pct), out.rss_flat and "flat" or
              "NOT FLAT"))
    for k, n in pairs(out.statuses) do
        local e, g = k:match("^(%S+) (%S+)$")
        print(fmt("  expected %-4s got %-4s %9d", e, g, n))
    end
    print(fmt("rejection log lines %d for %d responses 401; reasons:",
              n_expected, n_401))
    for r, n in pairs(reasons) do print(fmt("  %-32s %d", r, n)) end
    print(fmt("Lua heap kB (collectgarbage): start %s, end %s; RSS samples:",
              tostring(out.lua_kb_start), tostring(out.lua_kb_end)))
    local row = {}
    for _, smp in ipairs(out.rss_samples or {}) do
        row[#row + 1] = fmt("%ds:%s/%s", smp.t, tostring(smp.rss_kb),
                            tostring(smp.lua_kb and math.floor(smp.lua_kb)))
    end
    print("  " .. table.concat(row, " "))
    for _, l in ipairs(unexpected) do print("  log: " .. l) end
    print("bench/results/soak.json written: " .. (out.ok and "OK" or "FAIL"))
    if not out.ok then os.exit(1) end
end


math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16))
local mode = arg[1] or "bench"
local modes = { bench = bench, soak = soak, probe = probe, serve = serve }
if not modes[mode] then
    io.stderr:write("usage: run.lua bench|soak|probe|serve\n")
    os.exit(2)
end
local ok, err = pcall(modes[mode])
if not ok then
    nginx_stop()
    io.stderr:write("bench: FAILED: ", tostring(err), "\n")
    os.exit(1)
end
