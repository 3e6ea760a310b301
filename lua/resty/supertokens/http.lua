-- A small HTTP/1.1 client on ngx.socket.tcp for the only two kinds of
-- outbound call the plugin makes: GET <core>/.well-known/jwks.json and the
-- core's session APIs.  It is deliberately strict and bounded: every socket
-- operation has a timeout and the whole exchange has a deadline, header and
-- body sizes are capped, framing errors abort the exchange, and a connection
-- goes back to the keepalive pool only after its body was read to the end.
--
-- TLS: certificates are verified by default (opts.ssl_verify ~= false) and
-- the URL host is sent as SNI and checked against the certificate.  nginx
-- needs `lua_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;`
-- (and `lua_ssl_verify_depth`) in the http block, otherwise every handshake
-- fails with "unable to get local issuer certificate".
--
-- Host names other than "localhost" need an nginx `resolver` directive;
-- "localhost" is connected as 127.0.0.1 because cosockets do not read
-- /etc/hosts.
--
-- Users can replace this client: config `http_client` may name a module (or
-- be a table) exposing request(opts) with the same contract, or a module
-- shaped like lua-resty-http (new() + request_uri()), which is adapted.

local ngx = ngx
local tcp = ngx.socket.tcp
local ngx_now = ngx.now
local ngx_update_time = ngx.update_time
local type = type
local tonumber = tonumber
local tostring = tostring
local pairs = pairs
local ipairs = ipairs
local pcall = pcall
local require = require
local error = error
local setmetatable = setmetatable
local concat = table.concat
local str_find = string.find
local str_sub = string.sub
local str_lower = string.lower
local str_match = string.match
local str_gmatch = string.gmatch
local str_format = string.format
local math_min = math.min
local math_max = math.max
local DEFAULT_HTTP = require("resty.supertokens.config").DEFAULT_HTTP

local _M = { _VERSION = "0.1.0" }

_M.USER_AGENT = "lua-resty-supertokens/" .. _M._VERSION

local DEFAULTS = {
    connect_timeout = 1000,    -- ms
    send_timeout = 5000,       -- ms
    read_timeout = 5000,       -- ms, per socket read
    max_body_size = 1048576,   -- bytes
    max_header_size = 65536,   -- bytes, status line + headers
    keepalive_timeout = 60000, -- ms
    keepalive_pool = 16,       -- idle connections per pool
}

-- RFC 9110 9.2.2
local IDEMPOTENT = {
    GET = true, HEAD = true, OPTIONS = true, TRACE = true, PUT = true,
    DELETE = true,
}

local MAX_INTERIM = 8          -- 1xx responses skipped before giving up
local MAX_CHUNK_LINE = 4096
local MAX_TRAILERS = 8192
local READ_STEP = 8192

-- RFC 9110 5.6.2 token.
local TOKEN_PATTERN = "^[!#$%%&'*+.^_`|~%w-]+$"

-- Framing headers are always computed here; a caller must not smuggle its
-- own (RFC 9112 6.3: both at once is how request smuggling starts).
local RESERVED_HEADERS = {
    ["content-length"] = true,
    ["transfer-encoding"] = true,
    ["connection"] = true,
}


local function fail(msg, detail)
    if detail then
        return nil, "supertokens.http: " .. msg .. ": " .. tostring(detail)
    end
    return nil, "supertokens.http: " .. msg
end


local function has_ctl(s)
    -- CR, LF and NUL end or split a header line; other controls (except
    -- HTAB) have no business in a header value either (RFC 9110 5.5).
    return str_find(s, "[%z\1-\8\10-\31\127]") ~= nil
end


-- Returns { scheme, host, port, authority, path } or nil, err.
local function parse_url(url)
    if type(url) ~= "string" then
        return fail("bad url", "not a string")
    end

    local scheme, rest = str_match(url, "^(%a[%w+.-]*)://(.*)$")
    if not scheme then
        return fail("bad url", "no scheme")
    end
    scheme = str_lower(scheme)
    if scheme ~= "http" and scheme ~= "https" then
        return fail("bad url", "unsupported scheme " .. scheme)
    end

    local authority, path = str_match(rest, "^([^/?#]*)(.*)$")
    if str_find(authority, "@", 1, true) then
        return fail("bad url", "userinfo is not supported")
    end

    local host, port_part
    if str_sub(authority, 1, 1) == "[" then
        host, port_part = str_match(authority, "^%[([%x:.]+)%](.*)$")
    else
        host, port_part = str_match(authority, "^([%w.-]+)(.*)$")
    end
    if not host then
        return fail("bad url", "bad host")
    end

    local port
    if port_part == "" then
        port = scheme == "https" and 443 or 80
    else
        port = tonumber(str_match(port_part, "^:(%d%d?%d?%d?%d?)$"))
        if not port or port < 1 or port > 65535 then
            return fail("bad url", "bad port")
        end
    end

    path = str_match(path, "^([^#]*)")
    if path == "" then
        path = "/"
    elseif str_sub(path, 1, 1) == "?" then
        path = "/" .. path
    end
    if str_find(path, "[%z\1-\32\127]") then
        return fail("bad url", "control or space in path")
    end

    local default_port = (scheme == "https" and port == 443)
                         or (scheme == "http" and port == 80)
    local host_header = str_find(host, ":", 1, true)
                        and ("[" .. host .. "]") or host
    if not default_port then
        host_header = host_header .. ":" .. port
    end

    return {
        scheme = scheme,
        host = host,
        port = port,
        authority = host_header,
        path = path,
    }
end
_M.parse_url = parse_url


-- Buffered reader over a cosocket with a deadline for the whole exchange.
local reader_mt = {}
reader_mt.__index = reader_mt


local function new_reader(sock, deadline, read_timeout)
    return setmetatable({
        sock = sock,
        buf = "",
        deadline = deadline,
        read_timeout = read_timeout,
        received = 0,
    }, reader_mt)
end


function reader_mt:arm()
    local left = self.deadline - ngx_now() * 1000
    if left <= 0 then
        return nil, "timeout"
    end
    self.sock:settimeout(math_max(1, math_min(self.read_timeout, left)))
    return true
end


function reader_mt:fill()
    local ok, err = self:arm()
    if not ok then
        return nil, err
    end
    local data
    data, err = self.sock:receiveany(READ_STEP)
    if not data then
        return nil, err
    end
    self.received = self.received + #data
    self.buf = self.buf .. data
    return true
end


-- Everything up to the first empty line, at most `max` bytes.
function reader_mt:read_head(max)
    local from = 1
    while true do
        local s, e = str_find(self.buf, "\r?\n\r?\n", from)
        if s then
            local head = str_sub(self.buf, 1, s - 1)
            self.buf = str_sub(self.buf, e + 1)
            return head
        end
        if #self.buf > max then
            return nil, "response header too large"
        end
        from = math_max(1, #self.buf - 3)
        local ok, err = self:fill()
        if not ok then
            return nil, err
        end
    end
end


function reader_mt:read_line(max)
    while true do
        local s, e = str_find(self.buf, "\r?\n")
        if s then
            local line = str_sub(self.buf, 1, s - 1)
            self.buf = str_sub(self.buf, e + 1)
            return line
        end
        if #self.buf > max then
            return nil, "line too long"
        end
        local ok, err = self:fill()
        if not ok then
            return nil, err
        end
    end
end


function reader_mt:read_exact(n)
    local have = #self.buf
    if have >= n then
        local data = str_sub(self.buf, 1, n)
        self.buf = str_sub(self.buf, n + 1)
        return data
    end
    local parts = { self.buf }
    local need = n - have
    self.buf = ""
    while need > 0 do
        local ok, err = self:arm()
        if not ok then
            return nil, err
        end
        local step = math_min(need, 65536)
        local data
        data, err = self.sock:receive(step)
        if not data then
            return nil, err
        end
        self.received = self.received + #data
        parts[#parts + 1] = data
        need = need - #data
    end
    return concat(parts)
end


-- Reads until the peer closes; fails once more than `max` bytes arrived.
function reader_mt:read_to_close(max)
    local parts = { self.buf }
    local total = #self.buf
    self.buf = ""
    if total > max then
        return nil, "body too large"
    end
    while true do
        local ok, err = self:arm()
        if not ok then
            return nil, err
        end
        local data
        data, err = self.sock:receiveany(READ_STEP)
        if not data then
            if err == "closed" then
                return concat(parts)
            end
            return nil, err
        end
        total = total + #data
        if total > max then
            return nil, "body too large"
        end
        parts[#parts + 1] = data
    end
end


function reader_mt:read_chunked(max)
    local parts = {}
    local total = 0
    while true do
        local line, err = self:read_line(MAX_CHUNK_LINE)
        if not line then
            return nil, err
        end
        local hex = str_match(line, "^(%x+)[ \t]*;?")
        if not hex or #hex > 8 then
            return nil, "bad chunk size"
        end
        local size = tonumber(hex, 16)
        if size == 0 then
            break
        end
        total = total + size
        if total > max then
            return nil, "body too large"
        end
        local data
        data, err = self:read_exact(size)
        if not data then
            return nil, err
        end
        parts[#parts + 1] = data
        local crlf
        crlf, err = self:read_line(2)
        if not crlf then
            return nil, err
        end
        if crlf ~= "" then
            return nil, "bad chunk terminator"
        end
    end
    -- Trailer fields are read (to keep the connection usable) and dropped.
    local trailer_bytes = 0
    while true do
        local line, err = self:read_line(MAX_TRAILERS)
        if not line then
            return nil, err
        end
        if line == "" then
            break
        end
        trailer_bytes = trailer_bytes + #line
        if trailer_bytes > MAX_TRAILERS then
            return nil, "trailers too large"
        end
    end
    return concat(parts)
end


-- Status line + header fields.  Duplicate fields become a list, like
-- ngx.req.get_headers() and lua-resty-http do.
local function parse_head(head)
    local status_line, rest = str_match(head, "^([^\r\n]*)\r?\n?(.*)$")
    local major, minor, status, rest_of_line =
        str_match(status_line, "^HTTP/(%d)%.(%d) (%d%d%d)(.*)$")
    if not major or (rest_of_line ~= "" and str_sub(rest_of_line, 1, 1) ~= " ")
    then
        return nil, "bad status line"
    end

    local headers = {}
    for line in str_gmatch(rest, "[^\n]+") do
        if str_sub(line, -1) == "\r" then
            line = str_sub(line, 1, -2)
        end
        if line ~= "" then
            local name, value = str_match(line, "^([^:]+):[ \t]*(.-)[ \t]*$")
            -- obs-fold (a line starting with SP/HTAB) and names that are
            -- not tokens are rejected, as RFC 9112 5.2 allows.
            if not name or not str_find(name, TOKEN_PATTERN) then
                return nil, "bad header line"
            end
            if str_find(value, "[%z\r]") then
                return nil, "bad header value"
            end
            name = str_lower(name)
            local prev = headers[name]
            if prev == nil then
                headers[name] = value
            elseif type(prev) == "table" then
                prev[#prev + 1] = value
            else
                headers[name] = { prev, value }
            end
        end
    end

    return {
        status = tonumber(status),
        version = tonumber(major) * 10 + tonumber(minor),
        headers = headers,
    }
end


local function header_list(v)
    if type(v) == "table" then
        return v
    end
    return { v }
end


-- How the body is delimited: "none", "length", "chunked" or "close".
local function body_framing(method, res)
    local status = res.status
    if method == "HEAD" or status == 204 or status == 304 then
        return "none"
    end

    local te = res.headers["transfer-encoding"]
    if te then
        local joined = str_lower(concat(header_list(te), ","))
        local last = str_match(joined, "([^,%s]+)%s*$")
        if last == "chunked" then
            return "chunked"
        end
        return "close"
    end

    local cl = res.headers["content-length"]
    if cl then
        local n
        for _, v in ipairs(header_list(cl)) do
            for item in str_gmatch(v, "[^,]+") do
                local d = str_match(item, "^%s*(%d+)%s*$")
                if not d or #d > 15 then
                    return nil, "bad content-length"
                end
                d = tonumber(d)
                if n and n ~= d then
                    return nil, "conflicting content-length"
                end
                n = d
            end
        end
        if not n then
            return nil, "bad content-length"
        end
        return "length", n
    end

    return "close"
end


local function wants_close(res)
    local conn = res.headers["connection"]
    if res.version < 11 then
        return true
    end
    if conn then
        for _, v in ipairs(header_list(conn)) do
            for token in str_gmatch(str_lower(v), "[^,%s]+") do
                if token == "close" then
                    return true
                end
            end
        end
    end
    return false
end


local function build_request(u, method, headers, body)
    local req = {
        method, " ", u.path, " HTTP/1.1\r\n",
    }
    local has_host, has_ua = false, false

    if headers then
        if type(headers) ~= "table" then
            return fail("bad headers", "not a table")
        end
        for name, value in pairs(headers) do
            if type(name) ~= "string" or not str_find(name, TOKEN_PATTERN) then
                return fail("bad header name")
            end
            local lname = str_lower(name)
            if RESERVED_HEADERS[lname] then
                return fail("header is set by the client", lname)
            end
            if type(value) == "number" then
                value = tostring(value)
            end
            if type(value) ~= "string" then
                return fail("bad header value", lname)
            end
            if has_ctl(value) then
                return fail("control character in header value", lname)
            end
            if lname == "host" then
                has_host = true
            elseif lname == "user-agent" then
                has_ua = true
            end
            req[#req + 1] = name
            req[#req + 1] = ": "
            req[#req + 1] = value
            req[#req + 1] = "\r\n"
        end
    end

    if not has_host then
        req[#req + 1] = "Host: " .. u.authority .. "\r\n"
    end
    if not has_ua then
        req[#req + 1] = "User-Agent: " .. _M.USER_AGENT .. "\r\n"
    end
    if body then
        req[#req + 1] = "Content-Length: " .. #body .. "\r\n"
    elseif method == "POST" or method == "PUT" or method == "PATCH" then
        req[#req + 1] = "Content-Length: 0\r\n"
    end
    req[#req + 1] = "\r\n"
    if body and body ~= "" then
        req[#req + 1] = body
    end
    return req
end


local function opt(opts, name)
    local v = opts[name]
    if v == nil then
        return DEFAULTS[name]
    end
    return v
end


-- One attempt on one connection.  The second result tells the caller
-- whether a failure may be retried on a fresh connection: only when a
-- pooled connection died before a single response byte arrived (the peer
-- closed it while idle).
local function exchange(u, opts, req, method, deadline)
    local sock, err = tcp()
    if not sock then
        return nil, false, "socket: " .. tostring(err)
    end

    local verify = opts.ssl_verify ~= false
    local server_name = opts.ssl_server_name or u.host
    local pool = "st:" .. u.scheme .. ":" .. u.host .. ":" .. u.port
    if u.scheme == "https" then
        pool = pool .. ":" .. server_name .. (verify and ":v" or ":nv")
    end

    local connect_timeout = opt(opts, "connect_timeout")
    local send_timeout = opt(opts, "send_timeout")
    local read_timeout = opt(opts, "read_timeout")
    local left = deadline - ngx_now() * 1000
    if left <= 0 then
        return nil, false, "timeout"
    end
    sock:settimeouts(math_max(1, math_min(connect_timeout, left)),
                     math_max(1, math_min(send_timeout, left)),
                     math_max(1, math_min(read_timeout, left)))

    local addr = u.host == "localhost" and "127.0.0.1" or u.host
    local ok
    ok, err = sock:connect(addr, u.port, { pool = pool })
    if not ok then
        return nil, false, "connect: " .. tostring(err)
    end

    local reused = (sock:getreusedtimes() or 0) > 0
    if u.scheme == "https" and not reused then
        local sess
        sess, err = sock:sslhandshake(nil, server_name, verify)
        if not sess then
            sock:close()
            return nil, false, "tls: handshake: " .. tostring(err)
        end
    end

    local bytes
    bytes, err = sock:send(req)
    if not bytes then
        sock:close()
        -- A pooled connection the peer closed while idle is worth one
        -- resend; a timeout means the peer is slow, and resending doubles
        -- its load exactly when it is overloaded.
        return nil, reused and err ~= "timeout", "send: " .. tostring(err)
    end

    local r = new_reader(sock, deadline, read_timeout)
    local max_head = opt(opts, "max_header_size")
    local res, head
    for _ = 1, MAX_INTERIM + 1 do
        head, err = r:read_head(max_head)
        if not head then
            sock:close()
            local dead = err == "closed"
                         or str_find(tostring(err), "reset", 1, true)
            return nil, reused and r.received == 0 and dead and true or false,
                   "read: " .. tostring(err)
        end
        res, err = parse_head(head)
        if not res then
            sock:close()
            return nil, false, err
        end
        if res.status >= 200 then
            break
        end
        if res.status == 101 then
            sock:close()
            return nil, false, "unexpected 101 response"
        end
        res = nil
    end
    if not res then
        sock:close()
        return nil, false, "too many interim responses"
    end

    local framing, n = body_framing(method, res)
    if not framing then
        sock:close()
        return nil, false, n
    end

    local max_body = opt(opts, "max_body_size")
    local body = ""
    if framing == "length" then
        if n > max_body then
            sock:close()
            return nil, false, "body too large"
        end
        body, err = r:read_exact(n)
    elseif framing == "chunked" then
        body, err = r:read_chunked(max_body)
    elseif framing == "close" then
        body, err = r:read_to_close(max_body)
    end
    if not body then
        sock:close()
        return nil, false, "read body: " .. tostring(err)
    end

    -- Leftover bytes after the body mean the peer does not frame the way
    -- we think it does: never reuse such a connection.  A response with
    -- both Transfer-Encoding and Content-Length is legal to read (TE wins)
    -- but RFC 9112 6.3 says to close afterwards.
    local keep = framing ~= "close" and r.buf == "" and not wants_close(res)
    if res.headers["transfer-encoding"] and res.headers["content-length"] then
        keep = false
    end
    if keep and opts.keepalive ~= false then
        ok = sock:setkeepalive(opt(opts, "keepalive_timeout"),
                               opt(opts, "keepalive_pool"))
        if not ok then
            sock:close()
        end
    else
        sock:close()
    end

    res.body = body
    res.version = nil
    return res
end


-- options(c, url, method, headers, body) -> opts for request() from a
-- config's `http` table (c may be nil: the config defaults apply), so
-- core calls and JWKS fetches use the same timeouts and limits.
function _M.options(c, url, method, headers, body)
    c = c or {}
    local connect = c.connect_timeout or DEFAULT_HTTP.connect_timeout
    local send = c.send_timeout or DEFAULT_HTTP.send_timeout
    local read = c.read_timeout or DEFAULT_HTTP.read_timeout
    return {
        url = url,
        method = method,
        headers = headers,
        body = body,
        connect_timeout = connect,
        send_timeout = send,
        read_timeout = read,
        timeout = connect + send + read,
        max_body_size = c.max_body_size,
        ssl_verify = c.ssl_verify,
        keepalive_timeout = c.keepalive_timeout,
        keepalive_pool = c.keepalive_pool,
    }
end


-- request(opts) -> { status, headers, body } | nil, err
--   opts.url (required), method ("GET"), headers (name -> value), body,
--   connect_timeout, send_timeout, read_timeout (ms), timeout (ms, whole
--   exchange; default connect + send + read), max_body_size,
--   max_header_size, ssl_verify (true), ssl_server_name (URL host),
--   keepalive (true), keepalive_timeout, keepalive_pool.
function _M.request(opts)
    if type(opts) ~= "table" then
        error("supertokens.http: request(opts): opts must be a table", 2)
    end

    local u, err = parse_url(opts.url)
    if not u then
        return nil, err
    end

    local method = opts.method or "GET"
    if type(method) ~= "string" or not str_find(method, "^[A-Z]+$") then
        return fail("bad method")
    end

    local body = opts.body
    if body ~= nil and type(body) ~= "string" then
        return fail("bad body", "not a string")
    end

    if opts.ssl_server_name ~= nil
       and (type(opts.ssl_server_name) ~= "string"
            or has_ctl(opts.ssl_server_name)) then
        return fail("bad ssl_server_name")
    end

    local req
    req, err = build_request(u, method, opts.headers, body)
    if not req then
        return nil, err
    end

    ngx_update_time()
    local budget = opts.timeout
        or (opt(opts, "connect_timeout") + opt(opts, "send_timeout")
            + opt(opts, "read_timeout"))
    local deadline = ngx_now() * 1000 + budget

    -- A pooled connection that dies before a single response byte most
    -- likely timed out at the server while idle; an idempotent request is
    -- sent again on a fresh one.  A POST is not: the server may have
    -- processed it (the core's verify can rotate a refresh token), and
    -- the SDK sends it once.
    local res, retry
    local attempts = IDEMPOTENT[method] and 3 or 1
    for _ = 1, attempts do
        res, retry, err = exchange(u, opts, req, method, deadline)
        if res or not retry then
            break
        end
    end
    if not res then
        -- The third value says how far the exchange got ("connect", "tls",
        -- "send", "read", ...): only a failed connect is known not to have
        -- reached the server, which is when the core client tries the next
        -- core for a non-idempotent call.
        local stage = str_match(tostring(err), "^(%a+)")
        local _, msg = fail(u.scheme .. "://" .. u.authority, err)
        return nil, msg, stage
    end
    return res
end


-- Adapts a lua-resty-http style module (new() + request_uri()).
local function adapt_resty_http(mod)
    return {
        request = function(opts)
            local httpc, err = mod.new()
            if not httpc then
                return nil, "supertokens.http: http_client: " .. tostring(err)
            end
            if httpc.set_timeouts then
                httpc:set_timeouts(opt(opts, "connect_timeout"),
                                   opt(opts, "send_timeout"),
                                   opt(opts, "read_timeout"))
            end
            local res
            res, err = httpc:request_uri(opts.url, {
                method = opts.method or "GET",
                headers = opts.headers,
                body = opts.body,
                ssl_verify = opts.ssl_verify ~= false,
                ssl_server_name = opts.ssl_server_name,
                keepalive_timeout = opt(opts, "keepalive_timeout"),
                keepalive_pool = opt(opts, "keepalive_pool"),
            })
            if not res then
                return nil, "supertokens.http: http_client: " .. tostring(err)
            end
            local body = res.body or ""
            if #body > opt(opts, "max_body_size") then
                return nil, "supertokens.http: http_client: body too large"
            end
            local headers = {}
            for k, v in pairs(res.headers or {}) do
                headers[str_lower(k)] = v
            end
            return { status = res.status, headers = headers, body = body }
        end,
    }
end


-- client(spec) -> object with request(opts)
--   nil -> this module; string -> that module; a table with request() ->
--   itself; a table with new() and request_uri() (lua-resty-http) ->
--   adapted.  Caller misuse raises, so init_by_lua stops nginx.
function _M.client(spec)
    if spec == nil then
        return _M
    end
    local mod = spec
    if type(spec) == "string" then
        local ok, loaded = pcall(require, spec)
        if not ok then
            error(str_format("supertokens.http: http_client: cannot load "
                             .. "module '%s': %s", spec, tostring(loaded)), 2)
        end
        mod = loaded
    end
    if type(mod) ~= "table" then
        error("supertokens.http: http_client: must be a module name or "
              .. "a table", 2)
    end
    if type(mod.request) == "function" and mod ~= _M then
        -- lua-resty-http also has request(), but as a method on an
        -- instance; its module table has new + request_uri.
        if type(mod.new) == "function"
           and type(mod.request_uri) == "function" then
            return adapt_resty_http(mod)
        end
        return mod
    end
    if mod == _M then
        return _M
    end
    if type(mod.new) == "function" and type(mod.request_uri) == "function" then
        return adapt_resty_http(mod)
    end
    error("supertokens.http: http_client: needs request(opts), or new() and "
          .. "request_uri() like lua-resty-http", 2)
end


return _M
