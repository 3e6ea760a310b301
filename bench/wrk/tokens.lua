-- luacheck: globals wrk tid setup init request done
-- wrk script: GET one path with "Authorization: Bearer <token>", cycling
-- through the tokens of a file (one per line).  Requests are formatted once
-- at start-up so the client spends its time on I/O, not on Lua.
-- Usage: wrk ... -s tokens.lua URL -- TOKENS_FILE [one|cycle]
-- Prints one line "WRKJSON {...}" with rate, latency and error counts.

local reqs, n, i = {}, 0, 0
local threads = {}

function setup(thread)
    thread:set("tid", #threads)
    threads[#threads + 1] = thread
end

function init(args)
    local file, mode = args[1], args[2] or "cycle"
    local path = wrk.path
    for line in io.lines(file) do
        if #line > 0 then
            n = n + 1
            reqs[n] = wrk.format("GET", path,
                                 { ["Authorization"] = "Bearer " .. line })
            if mode == "one" then
                break
            end
        end
    end
    -- Threads start at different offsets of the same cycle.
    i = (tid or 0) * math.floor(n / 2)
end

function request()
    i = i + 1
    if i > n then
        i = 1
    end
    return reqs[i]
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        'WRKJSON {"requests":%d,"duration_us":%d,"rps":%.1f,' ..
        '"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,' ..
        '"max_us":%d,"non2xx":%d,"connect_errors":%d,' ..
        '"read_errors":%d,"write_errors":%d,"timeouts":%d}\n',
        summary.requests, summary.duration,
        summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(90),
        latency:percentile(99), latency.mean, latency.max, e.status,
        e.connect, e.read, e.write, e.timeout))
end
