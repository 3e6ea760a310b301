-- Lua-level micro benchmarks, run inside the bench nginx (content_by_lua_
-- file, one request = one full run) so that ngx.*, resty.core and the
-- cache module are the real ones.  Every Lua loop is interleaved, round
-- by round, with the raw OpenSSL loops of libstbench.so timed in C in the
-- same process.  Answers JSON; bench/run.lua turns it into figures.
--
-- GET /micro?rounds=R&target_ms=T[&clock=wall]

local cjson = require "cjson"
local jwt = require "resty.supertokens.jwt"
local stb = require "stbench"

local conf = package.loaded.bench_conf
local args = ngx.req.get_uri_args()
local rounds = tonumber(args.rounds) or 5
local target_ns = (tonumber(args.target_ms) or 50) * 1e6
local data = conf.data

stb.load(conf.build)
-- Thread CPU time (default) or wall clock, for C and Lua loops alike.
stb.lib.stb_use_cpu_clock(args.clock == "wall" and 0 or 1)
local now = stb.now
local notes = {}


local function verify_loop(v, ks, toks, iters)
    local n, j = #toks, 1
    local t0 = now()
    for _ = 1, iters do
        local res = v:verify(ks, toks[j])
        if not res then
            return -1
        end
        j = j + 1
        if j > n then
            j = 1
        end
    end
    return (now() - t0) / iters
end


local function check_loop(v, ks, toks, iters)
    local n, j = #toks, 1
    local t0 = now()
    for _ = 1, iters do
        if not v:check_signature(ks, toks[j]) then
            return -1
        end
        j = j + 1
        if j > n then
            j = 1
        end
    end
    return (now() - t0) / iters
end


-- The verified-token cache of the OpenResty shell, if it exists yet.
local function cached_loops(name, v, toks)
    local ok, err = pcall(require, "resty.supertokens.cache")
    if not ok then
        notes.lua_cached = "resty.supertokens.cache not available: "
                           .. tostring(err):sub(1, 120)
        return nil
    end
    local hook = require "cache_hook"
    local loops
    ok, loops, err = pcall(hook.make, v, toks[1],
                           stb.read(data .. "/" .. name .. ".jwks.json"))
    if not ok or not loops then
        notes.lua_cached = "cache path not usable: "
                           .. tostring(ok and err or loops):sub(1, 200)
        return nil
    end
    notes.lua_cached = (loops.engine_parse and "keys engine parse(token)"
                        or "v:parse(token)")
                       .. " + keys engine check_signature(), both answered"
                       .. " by resty.supertokens.cache (the decision's "
                       .. "per-request path on a cache hit); lua_parse = "
                       .. "v:parse alone"
    return loops
end


-- lua-resty-jwt, only when LRJ_PATH points at a checkout of it.
local function lrj_case(toks)
    if not conf.lrj_path then
        notes.lua_resty_jwt = "skipped: LRJ_PATH not set"
        return nil
    end
    local ok, rjwt = pcall(require, "resty.jwt")
    if not ok then
        notes.lua_resty_jwt = "LRJ_PATH set but resty.jwt failed to load: "
                              .. tostring(rjwt):sub(1, 200)
        return nil
    end
    local pem = stb.read(data .. "/rs256.pub.pem")
    local obj = rjwt:verify(pem, toks[1])
    if not obj.verified then
        notes.lua_resty_jwt = "resty.jwt does not verify our token: "
                              .. tostring(obj.reason)
        return nil
    end
    notes.lua_resty_jwt = "lua-resty-jwt from " .. conf.lrj_path
    return function(iters)
        local n, j = #toks, 1
        local t0 = now()
        for _ = 1, iters do
            if not rjwt:verify(pem, toks[j]).verified then
                return -1
            end
            j = j + 1
            if j > n then
                j = 1
            end
        end
        return (now() - t0) / iters
    end
end


local function gc_bytes_per_op(fn, iters)
    collectgarbage("collect")
    collectgarbage("stop")
    local c0 = collectgarbage("count")
    fn(iters)
    local c1 = collectgarbage("count")
    collectgarbage("restart")
    return (c1 - c0) * 1024 / iters
end


-- Runs fn under jit.v and reports traces and aborts (NYI, etc.).
local function jit_check(fn, log)
    local jv = require "jit.v"
    jit.flush()
    jv.start(log)
    fn(2000)
    jv.off()
    local traces, aborts, msgs, seen = 0, 0, {}, {}
    for line in io.lines(log) do
        if line:find("^%[TRACE%s+%d+") then
            traces = traces + 1
        elseif line:find("^%[TRACE %-%-%-") then
            aborts = aborts + 1
            local m = line:gsub("^%[TRACE %-%-%- ", ""):gsub("%]$", "")
            if not seen[m] and #msgs < 10 then
                seen[m] = true
                msgs[#msgs + 1] = m
            end
        end
    end
    return { traces = traces, aborts = aborts, abort_messages = msgs }
end


local algs = { "rs256", "es256", "eddsa" }
local cases = {}
local out = { algs = {}, notes = notes, rounds = rounds,
              target_ms = target_ns / 1e6,
              clock = args.clock == "wall" and "wall" or "thread_cpu" }

for _, name in ipairs(algs) do
    local ks, err = jwt.keyset(stb.read(data .. "/" .. name .. ".jwks.json"))
    if not ks then
        ngx.status = 500
        ngx.say(cjson.encode({ error = name .. ": keyset: " .. err }))
        return
    end
    local v = jwt.verifier({ algs = { stb.ALG[name] } })
    local toks = stb.lines(data .. "/" .. name .. ".tokens")
    local b = stb.new(name, data)
    local list = {
        { "c_evp", function(n) return stb.run(b, "evp", n) end },
        { "c_evp_copy", function(n) return stb.run(b, "evp_copy", n) end },
        { "c_stjwt", function(n) return stb.run(b, "stjwt", n) end },
        { "lua_verify", function(n) return verify_loop(v, ks, toks, n) end },
        { "lua_check_signature",
          function(n) return check_loop(v, ks, toks, n) end },
    }
    if name == "rs256" then
        -- The payload decode alone: how much of lua_verify is cjson.
        local pj = v:verify(ks, toks[1]).payload_json
        local decode = cjson.decode
        list[#list + 1] = { "lua_cjson_payload", function(n)
            local t0 = now()
            for _ = 1, n do
                if not decode(pj) then
                    return -1
                end
            end
            return (now() - t0) / n
        end }
        list[#list + 1] = { "c_libjwt",
                            function(n) return stb.run(b, "libjwt", n) end }
        local loops = cached_loops(name, v, toks)
        local cached = loops and loops.cached
        if loops then
            list[#list + 1] = { "lua_cached", loops.cached }
            list[#list + 1] = { "lua_parse", loops.parse }
            list[#list + 1] = { "lua_cache_get", loops.cache_get }
            if loops.decide then
                list[#list + 1] = { "lua_decide_cached", loops.decide }
            end
        end
        local lrj = lrj_case(toks)
        if lrj then
            list[#list + 1] = { "lua_resty_jwt", lrj }
        end
        out.jit_verify = jit_check(
            function(n) return verify_loop(v, ks, toks, n) end,
            conf.prefix .. "/jit/verify.log")
        if cached then
            out.jit_cached = jit_check(cached,
                                       conf.prefix .. "/jit/cached.log")
        end
        if loops and loops.decide then
            out.jit_decide = jit_check(loops.decide,
                                       conf.prefix .. "/jit/decide.log")
            out.bytes_per_decide_lua = gc_bytes_per_op(loops.decide, 5000)
        end
        out.bytes_per_verify_lua = gc_bytes_per_op(
            function(n) return verify_loop(v, ks, toks, n) end, 2000)
        if cached then
            out.bytes_per_cached_verify_lua = gc_bytes_per_op(cached, 20000)
        end
    end
    out.algs[name] = {}
    for _, c in ipairs(list) do
        local fn = c[2]
        local ns = fn(50)
        if ns < 0 then
            ngx.status = 500
            ngx.say(cjson.encode({ error = name .. " " .. c[1]
                                           .. ": verification failed" }))
            return
        end
        ns = fn(50)
        local iters = math.max(20, math.floor(target_ns / ns) + 1)
        cases[#cases + 1] = { alg = name, key = c[1], fn = fn,
                              iters = iters }
        out.algs[name][c[1]] = {}
    end
end

-- Each round: SUBS interleaved slices of every case, rotated order.
local SUBS = 5
local nc = #cases
for r = 1, rounds do
    local acc = {}
    for sub = 1, SUBS do
        for i = 1, nc do
            local k = (i + r * 3 + sub - 2) % nc + 1
            local c = cases[k]
            if (acc[k] or 0) >= 0 then
                local ns = c.fn(math.floor(c.iters / SUBS) + 1)
                acc[k] = ns < 0 and -1 or (acc[k] or 0) + ns / SUBS
            end
        end
    end
    for k, c in ipairs(cases) do
        local t = out.algs[c.alg][c.key]
        t[#t + 1] = acc[k] >= 0 and acc[k] or cjson.null
    end
end

out.luajit = jit.version
out.ngx_lua = ngx.config.ngx_lua_version
out.nginx = ngx.config.nginx_version
ngx.header["Content-Type"] = "application/json"
ngx.say(cjson.encode(out))
