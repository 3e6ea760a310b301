-- luacheck: globals wrk tid setup init request done mix_sent
-- wrk script for `make soak`: a mix of valid (repeated), unique valid,
-- expired, garbage, tokenless and hostile requests.  Each request says
-- what status it expects in "X-Bench-Expect"; the bench nginx counts
-- (expected, actual) pairs in a shared dict, so no request goes unchecked.
-- Usage: wrk ... -s soak.lua URL -- DATA_DIR HOSTILE_PCT

local valid, unique, expired, hostile = {}, {}, {}, {}
local ui, threads = 0, {}
-- Global: done() reads it from each thread with thread:get().
mix_sent = { valid = 0, unique = 0, expired = 0, garbage = 0, none = 0,
             hostile = 0 }
local sent = mix_sent
local cut = {}
local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

local function req(token, expect)
    local h = { ["X-Bench-Expect"] = tostring(expect) }
    if token then
        h["Authorization"] = "Bearer " .. token
    end
    return wrk.format("GET", wrk.path, h)
end

local function load(path, list, expect)
    for line in io.lines(path) do
        if #line > 0 then
            local st, tok = line:match("^(%d+)\t(.*)$")
            list[#list + 1] = req(tok or line, st or expect)
        end
    end
end

function setup(thread)
    thread:set("tid", #threads)
    threads[#threads + 1] = thread
end

function init(args)
    local dir, pct = args[1], tonumber(args[2]) or 20
    math.randomseed(os.time() + (tid or 0))
    load(dir .. "/rs256.tokens", valid, 200)
    valid = { valid[1] }
    load(dir .. "/soak.unique.tokens", unique, 200)
    load(dir .. "/soak.expired.tokens", expired, 401)
    load(dir .. "/soak.hostile.tokens", hostile, 401)
    ui = (tid or 0) * math.floor(#unique / 2)
    -- Cumulative percentages; the non-hostile share keeps its proportions.
    local rest = (100 - pct) / 100
    cut.valid = 45 * rest
    cut.unique = cut.valid + 25 * rest
    cut.expired = cut.unique + 12 * rest
    cut.garbage = cut.expired + 12 * rest
    cut.none = cut.garbage + 6 * rest
end

local function garbage()
    local n = math.random(1, 300)
    local t = {}
    for k = 1, n do
        local c = math.random(1, 70)
        t[k] = c <= 64 and B64:sub(c, c) or "."
    end
    return table.concat(t)
end

function request()
    local x = math.random() * 100
    if x < cut.valid then
        sent.valid = sent.valid + 1
        return valid[1]
    elseif x < cut.unique then
        sent.unique = sent.unique + 1
        ui = ui % #unique + 1
        return unique[ui]
    elseif x < cut.expired then
        sent.expired = sent.expired + 1
        return expired[math.random(#expired)]
    elseif x < cut.garbage then
        sent.garbage = sent.garbage + 1
        return req(garbage(), 401)
    elseif x < cut.none then
        sent.none = sent.none + 1
        return req(nil, 401)
    end
    sent.hostile = sent.hostile + 1
    return hostile[math.random(#hostile)]
end

function done(summary, latency, requests)
    local e = summary.errors
    local mix = {}
    for _, t in ipairs(threads) do
        local s = t:get("mix_sent")
        for k, v in pairs(s) do
            mix[#mix + 1] = string.format('"%s":%d', k, v)
        end
    end
    io.write("MIXJSON {" .. table.concat(mix, ",") .. "}\n")
    io.write(string.format(
        'WRKJSON {"requests":%d,"duration_us":%d,"rps":%.1f,' ..
        '"p50_us":%d,"p99_us":%d,"max_us":%d,"non2xx":%d,' ..
        '"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
        '"timeouts":%d}\n',
        summary.requests, summary.duration,
        summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(99), latency.max,
        e.status, e.connect, e.read, e.write, e.timeout))
end
