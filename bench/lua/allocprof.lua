-- Development aid: which Lua lines of the request path allocate GC memory,
-- in bytes per request.  Started and stopped over /bench/allocp (see
-- bench/README); with worker_processes 1 it sees every request.
--
-- While it runs, the JIT is off and the GC is stopped: a line hook is the
-- only way to attribute allocations to lines, and it never fires inside a
-- compiled trace (a trace's allocations would land on the line that
-- entered it).  Interpreted code also allocates what a trace would sink
-- (boxed cdata pointers and numbers in resty.core's FFI wrappers): read
-- small resty.core lines with that in mind, and take the totals of a
-- compiled run from `collectgarbage("count")` deltas instead.

local collectgarbage = collectgarbage
local getinfo = debug.getinfo

local _M = {}

local bytes             -- [source][line] = KB allocated while it ran
local last_src, last_line
local mark


local function hook(_, line)
    local d = collectgarbage("count") - mark
    if d > 0 then
        local t = bytes[last_src]
        if not t then
            t = {}
            bytes[last_src] = t
        end
        t[last_line] = (t[last_line] or 0) + d
    end
    last_src, last_line = getinfo(2, "S").short_src, line
    -- Taken last, so that the hook's own getinfo() table is not charged.
    mark = collectgarbage("count")
end


function _M.start()
    bytes, last_src, last_line = {}, "?", 0
    jit.off()
    jit.flush()
    collectgarbage("collect")
    collectgarbage("stop")
    mark = collectgarbage("count")
    debug.sethook(hook, "l")
end


-- Stops and writes the report to path: the top lines by bytes per
-- request (requests = how many the caller sent meanwhile), then per file.
function _M.stop(path, requests)
    debug.sethook()
    collectgarbage("restart")
    jit.on()
    if not bytes then
        return nil, "not started"
    end
    local n = requests and requests > 0 and requests or 1
    local rows, files, total = {}, {}, 0
    for src, lines in pairs(bytes) do
        for line, kb in pairs(lines) do
            rows[#rows + 1] = { src .. ":" .. line, kb }
            files[src] = (files[src] or 0) + kb
            total = total + kb
        end
    end
    table.sort(rows, function(a, b) return a[2] > b[2] end)
    local out = { string.format("%.0f bytes per request over %d requests, "
                                .. "interpreted", total * 1024 / n, n), "" }
    for i = 1, math.min(60, #rows) do
        out[#out + 1] = string.format("%8.0f  %s", rows[i][2] * 1024 / n,
                                      rows[i][1])
    end
    out[#out + 1] = ""
    local by_file = {}
    for src, kb in pairs(files) do by_file[#by_file + 1] = { src, kb } end
    table.sort(by_file, function(a, b) return a[2] > b[2] end)
    for _, f in ipairs(by_file) do
        out[#out + 1] = string.format("%8.0f  %s", f[2] * 1024 / n, f[1])
    end
    bytes = nil
    local fh, err = io.open(path, "w")
    if not fh then
        return nil, err
    end
    fh:write(table.concat(out, "\n"), "\n")
    fh:close()
    return true
end


return _M
