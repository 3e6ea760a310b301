-- A raw HTTP/1.1 client on luasocket for the integration specs.  Unlike
-- most clients it keeps every response header line, in order, so a spec
-- can see two Set-Cookie lines, an empty st-access-token, or a duplicated
-- Access-Control-Allow-Origin.
--
--   local http = require "spec.helpers.http"
--   local res = http.request(port, {
--       method = "GET", path = "/api/user",
--       headers = { { "Authorization", "Bearer x" }, { "Cookie", "a=b" } },
--       body = nil, timeout = 10,
--   })
--   res.status, res.body, res.headers (list of {lname, value}),
--   res:header("set-cookie") (first), res:all("set-cookie") (list),
--   res.elapsed (seconds)

local socket = require "socket"

local _M = {}

local response = {}
response.__index = response


function response:header(name)
    name = name:lower()
    for _, h in ipairs(self.headers) do
        if h[1] == name then
            return h[2]
        end
    end
    return nil
end


function response:all(name)
    name = name:lower()
    local list = {}
    for _, h in ipairs(self.headers) do
        if h[1] == name then
            list[#list + 1] = h[2]
        end
    end
    return list
end


local function dechunk(data)
    local out, pos = {}, 1
    while true do
        local line_end = data:find("\r\n", pos, true)
        if not line_end then
            return nil, "truncated chunk size"
        end
        local size = tonumber(data:sub(pos, line_end - 1):match("^%x+"), 16)
        if not size then
            return nil, "bad chunk size"
        end
        pos = line_end + 2
        if size == 0 then
            break
        end
        out[#out + 1] = data:sub(pos, pos + size - 1)
        pos = pos + size + 2
    end
    return table.concat(out)
end


local function normalize_headers(h)
    if h == nil then
        return {}
    end
    if h[1] ~= nil or next(h) == nil then
        return h
    end
    local list = {}
    for k, v in pairs(h) do
        list[#list + 1] = { k, v }
    end
    return list
end


local function build(port, opts)
    local method = opts.method or "GET"
    local path = opts.path or "/"
    local headers = normalize_headers(opts.headers)

    local lines = { method .. " " .. path .. " HTTP/1.1",
                    "Host: " .. (opts.host or ("127.0.0.1:" .. port)),
                    "Connection: close" }
    for _, h in ipairs(headers) do
        lines[#lines + 1] = h[1] .. ": " .. h[2]
    end
    if opts.body then
        lines[#lines + 1] = "Content-Length: " .. #opts.body
    end
    return table.concat(lines, "\r\n") .. "\r\n\r\n" .. (opts.body or "")
end


local function parse(data, method, elapsed)
    local head_end = data:find("\r\n\r\n", 1, true)
    if not head_end then
        return nil, "no header end"
    end
    local head = data:sub(1, head_end - 1)
    local body = data:sub(head_end + 4)
    local status = tonumber(head:match("^HTTP/1%.%d (%d%d%d)"))
    local res = setmetatable({ status = status, headers = {},
                               elapsed = elapsed, raw_head = head },
                             response)
    for line in head:gmatch("[^\r\n]+") do
        local name, value = line:match("^([^:]+):%s?(.-)%s*$")
        if name and not line:match("^HTTP/") then
            res.headers[#res.headers + 1] = { name:lower(), value }
        end
    end
    if method == "HEAD" then
        body = ""
    elseif (res:header("transfer-encoding") or ""):lower() == "chunked" then
        local b, derr = dechunk(body)
        if not b then
            return nil, derr
        end
        body = b
    end
    res.body = body
    return res
end


local function open(port, opts)
    local c = socket.tcp()
    c:settimeout(opts.timeout or 10)
    local ok, err = c:connect("127.0.0.1", port)
    if not ok then
        return nil, "connect: " .. tostring(err)
    end
    ok, err = c:send(build(port, opts))
    if not ok then
        c:close()
        return nil, "send: " .. tostring(err)
    end
    return c
end


local function finish(c, opts, t0)
    local data, rerr, partial = c:receive("*a")
    c:close()
    data = data or partial
    if not data or data == "" then
        return nil, "receive: " .. tostring(rerr)
    end
    return parse(data, opts.method or "GET", socket.gettime() - t0)
end


-- request(port, opts) -> response | nil, err
function _M.request(port, opts)
    opts = opts or {}
    local t0 = socket.gettime()
    local c, err = open(port, opts)
    if not c then
        return nil, err
    end
    return finish(c, opts, t0)
end


-- Several requests in flight at once: all are sent before any answer is
-- read, so nginx works on them concurrently.  Returns { {res, err}, ... }.
function _M.parallel(port, list)
    local t0 = socket.gettime()
    local conns = {}
    for i, opts in ipairs(list) do
        conns[i] = { open(port, opts) }
    end
    local results = {}
    for i, opts in ipairs(list) do
        local c, err = conns[i][1], conns[i][2]
        if c then
            results[i] = { finish(c, opts, t0) }
        else
            results[i] = { nil, err }
        end
    end
    return results
end


return _M
