-- The Kong PDK calls kong.plugins.supertokens uses, and nothing else,
-- implemented on plain ngx so the plugin runs inside a real nginx here
-- (Kong cannot be installed on this machine).
--
-- Written from Kong's PDK reference (the LDoc in kong/pdk/*.lua at
-- Kong/kong @22246ef, published as docs.konghq.com "PDK reference"):
--   kong.request.get_method/get_headers/get_path/get_path_with_query
--   kong.response.exit/set_header/add_header/get_headers
--   kong.service.request.set_header/clear_header
--   kong.ctx.shared, kong.ctx.plugin
--   kong.log.crit/err/warn/notice/info/debug
-- plus kong.request.get_header, which only the test plugins in
-- spec/kong/plugins use.
-- Each call enforces the phases its doc lists ("@phases"), with Kong's
-- error text, so a handler that calls something in the wrong phase fails
-- here as it would in Kong. Calling any other kong.* function raises
-- "not provided by spec/helpers/kong_pdk.lua": the README's PDK list is
-- what this file provides.

local cjson = require "cjson.safe"
local ngx_resp = require "ngx.resp"

local ngx = ngx
local type = type
local pairs = pairs
local ipairs = ipairs
local error = error
local tostring = tostring
local tonumber = tonumber
local select = select
local concat = table.concat
local fmt = string.format
local lower = string.lower
local byte = string.byte
local char = string.char
local upper = string.upper
local find = string.find
local sub = string.sub

local _M = {}

local ALL_REQUEST = { "rewrite", "access", "header_filter", "response",
                      "body_filter", "log" }
local AFTER_HEADERS = { "header_filter", "response", "body_filter", "log" }
local REWRITE_ACCESS_HEADER = { "rewrite", "access", "header_filter",
                                "response" }
local EXIT_PHASES = { "rewrite", "access", "header_filter", "admin_api" }
local SERVICE_SET = { "rewrite", "access", "balancer" }
local SERVICE_CLEAR = { "rewrite", "access" }


local function set_of(list)
    local s = {}
    for _, v in ipairs(list) do
        s[v] = true
    end
    return s
end

local PHASE_SETS = {}
for _, list in ipairs({ ALL_REQUEST, AFTER_HEADERS, REWRITE_ACCESS_HEADER,
                        EXIT_PHASES, SERVICE_SET, SERVICE_CLEAR }) do
    PHASE_SETS[list] = set_of(list)
end


-- kong/pdk/private/phases.lua check_phase, with the phase kept as a name in
-- ngx.ctx.KONG_PHASE by spec/kong/runner.lua.
local function check_phase(accepted)
    local current = ngx.ctx.KONG_PHASE
    if not current then
        error(fmt("no phase in ngx.ctx.KONG_PHASE, (need one of %s)",
                  concat(accepted, ", ")), 3)
    end
    if PHASE_SETS[accepted][current] then
        return
    end
    error(fmt("function cannot be called in %s phase (only in: %s)",
              current, concat(accepted, ", ")), 3)
end


-- kong/pdk/private/checks.lua validate_headers (kong.response.exit's
-- header map, every Kong 3.x): names are strings, values are strings,
-- numbers, booleans or arrays of strings; "" is sent as " " because
-- ngx.header[x] = "" would delete the header.
local function validate_headers_value(name, value)
    if type(name) ~= "string" then
        error(fmt("invalid header name %q: got %s, expected string",
                  tostring(name), type(name)), 3)
    end
    local tv = type(value)
    if tv == "table" then
        for _, v in ipairs(value) do
            if type(v) ~= "string" then
                error(fmt("invalid header value in array %q: got %s, " ..
                          "expected string", name, type(v)), 3)
            end
        end
    elseif tv ~= "string" and tv ~= "number" and tv ~= "boolean" then
        error(fmt("invalid header value for %q: got %s, expected string, " ..
                  "number, boolean or array of strings", name, tv), 3)
    end
end


-- kong/pdk/private/checks.lua validate_header, the single-header calls
-- (kong.response.set_header/add_header, kong.service.request.set_header)
-- as Kong 3.4 and 3.5 have it: a string, number or boolean, no array.
-- Arrays are taken from 3.6 on (Kong #12164), so a plugin that passes one
-- fails in the oldest Kong it supports; this adapter refuses them too.
local function validate_header(name, value)
    if type(name) ~= "string" then
        error(fmt("invalid header name %q: got %s, expected string",
                  tostring(name), type(name)), 3)
    end
    local tv = type(value)
    if tv ~= "string" and tv ~= "number" and tv ~= "boolean" then
        error(fmt("invalid header value for %q: got %s, expected " ..
                  "string, number or boolean", name, tv), 3)
    end
end


local function normalize_header_value(value)
    local tv = type(value)
    if tv == "string" then
        return value == "" and " " or value
    end
    if tv == "table" then
        local out = {}
        for i, v in ipairs(value) do
            out[i] = v == "" and " " or v
        end
        return out
    end
    return tostring(value)
end


local function first(value)
    if type(value) == "table" then
        return value[1]
    end
    return value
end


-- kong.request --------------------------------------------------------------

local request = {}

function request.get_method()
    check_phase(ALL_REQUEST)
    return ngx.req.get_method()
end


function request.get_header(name)
    check_phase(ALL_REQUEST)
    if type(name) ~= "string" then
        error("header name must be a string", 2)
    end
    -- "If a header with the same name is present multiple times in the
    -- request, this function returns the value of the first occurrence."
    return first(ngx.req.get_headers()[name])
end


function request.get_headers(max_headers)
    check_phase(ALL_REQUEST)
    if max_headers == nil then
        return ngx.req.get_headers()
    end
    if type(max_headers) ~= "number" then
        error("max_headers must be a number", 2)
    elseif max_headers < 1 then
        error("max_headers must be >= 1", 2)
    elseif max_headers > 1000 then
        error("max_headers must be <= 1000", 2)
    end
    return ngx.req.get_headers(max_headers)
end


function request.get_path_with_query()
    check_phase(ALL_REQUEST)
    return ngx.var.request_uri or ""
end


-- kong.request.get_raw_path(), used by get_path() only.
local function raw_path()
    check_phase(ALL_REQUEST)
    local uri = ngx.var.request_uri or ""
    local q = find(uri, "?", 2, true)
    return q and sub(uri, 1, q - 1) or uri
end


-- RFC 3986 reserved characters stay encoded (hex upper-cased); every other
-- percent-encoded octet is decoded, as get_path's doc describes.
local RESERVED = set_of({ byte("!*'();:@&=+$,/?%#[]", 1, -1) })

local function decode_triplet(hex)
    local n = tonumber(hex, 16)
    if RESERVED[n] then
        return "%" .. upper(hex)
    end
    return char(n)
end


-- RFC 3986 §5.2.4 remove_dot_segments, plus "//" -> "/".
local function remove_dot_segments(path)
    local out = {}
    local input = path
    while input ~= "" do
        if sub(input, 1, 3) == "../" then
            input = sub(input, 4)
        elseif sub(input, 1, 2) == "./" then
            input = sub(input, 3)
        elseif sub(input, 1, 3) == "/./" then
            input = sub(input, 3)
        elseif input == "/." then
            input = "/"
        elseif sub(input, 1, 4) == "/../" then
            input = sub(input, 4)
            out[#out] = nil
        elseif input == "/.." then
            input = "/"
            out[#out] = nil
        elseif input == "." or input == ".." then
            input = ""
        elseif sub(input, 1, 2) == "//" then
            input = sub(input, 2)
        else
            local slash = find(input, "/", 2, true)
            local seg = slash and sub(input, 1, slash - 1) or input
            out[#out + 1] = seg
            input = slash and sub(input, slash) or ""
        end
    end
    return concat(out)
end


function request.get_path()
    local raw = raw_path()
    if raw == "" or raw == "/" then
        return raw
    end
    local decoded = raw:gsub("%%(%x%x)", decode_triplet)
    return remove_dot_segments(decoded)
end


-- kong.response -------------------------------------------------------------

local response = {}

function response.get_headers(max_headers)
    check_phase(AFTER_HEADERS)
    if max_headers == nil then
        return ngx.resp.get_headers()
    end
    if type(max_headers) ~= "number" then
        error("max_headers must be a number", 2)
    elseif max_headers < 1 then
        error("max_headers must be >= 1", 2)
    elseif max_headers > 1000 then
        error("max_headers must be <= 1000", 2)
    end
    return ngx.resp.get_headers(max_headers)
end


local function writable_headers()
    check_phase(REWRITE_ACCESS_HEADER)
    if ngx.headers_sent then
        error("headers have already been sent", 3)
    end
end


function response.set_header(name, value)
    writable_headers()
    validate_header(name, value)
    ngx.header[name] = normalize_header_value(value)
end


function response.add_header(name, value)
    writable_headers()
    validate_header(name, value)
    ngx_resp.add_header(name, normalize_header_value(value))
end


-- The documented contract: a table body is JSON-encoded with
-- Content-Type application/json; a string body is sent as-is; headers is
-- a map (value string or array of strings), as kong.response.set_headers;
-- Content-Length is set unless given; the request ends here and later
-- phases (header_filter, log) still run.
function response.exit(status, body, headers)
    check_phase(EXIT_PHASES)
    if ngx.headers_sent then
        error("headers have already been sent", 2)
    end
    if type(status) ~= "number" then
        error("code must be a number", 2)
    elseif status < 100 or status > 599 then
        error("code must be a number between 100 and 599", 2)
    end
    if body ~= nil and type(body) ~= "string" and type(body) ~= "table" then
        error("body must be a nil, string or table", 2)
    end
    if headers ~= nil and type(headers) ~= "table" then
        error("headers must be a nil or table", 2)
    end

    local ctx = ngx.ctx
    if ctx.KONG_PHASE == "header_filter" and body ~= nil then
        error("kong.response.exit: body is only allowed outside " ..
              "header_filter", 2)
    end

    local has_type, has_length
    for name, value in pairs(headers or {}) do
        validate_headers_value(name, value)
        local lname = lower(name)
        if lname ~= "transfer-encoding" then
            ngx.header[name] = normalize_header_value(value)
        end
        has_type = has_type or lname == "content-type"
        has_length = has_length or lname == "content-length"
    end

    if type(body) == "table" then
        local json, err = cjson.encode(body)
        if not json then
            error("body encoding failed while flushing response: " .. err, 2)
        end
        body = json
        if not has_type then
            ngx.header["Content-Type"] = "application/json; charset=utf-8"
        end
    end

    ctx.KONG_EXITED = true
    ngx.status = status

    if ctx.KONG_PHASE == "header_filter" then
        return
    end

    if not has_length then
        ngx.header["Content-Length"] = body and #body or 0
    end
    if body then
        ngx.print(body)
    end
    return ngx.exit(status)
end


-- kong.service.request --------------------------------------------------------

local service_request = {}

function service_request.set_header(name, value)
    check_phase(SERVICE_SET)
    validate_header(name, value)
    ngx.req.set_header(name, normalize_header_value(value))
end


function service_request.clear_header(name)
    check_phase(SERVICE_CLEAR)
    if type(name) ~= "string" then
        error("header must be a string", 2)
    end
    ngx.req.clear_header(name)
end


-- kong.ctx ----------------------------------------------------------------

local SHARED_KEY = {}

local ctx = setmetatable({}, {
    __index = function(_, k)
        check_phase(ALL_REQUEST)
        local nctx = ngx.ctx
        local key
        if k == "shared" then
            key = SHARED_KEY
        elseif k == "plugin" then
            -- one table per plugin instance, as kong.ctx.plugin documents;
            -- the runner names the running instance.
            key = nctx.KONG_PLUGIN_INSTANCE
        end
        if not key then
            return nil
        end
        local t = nctx[key]
        if not t then
            t = {}
            nctx[key] = t
        end
        return t
    end,
})


-- kong.log ------------------------------------------------------------------

local function logger(level)
    return function(...)
        local plugin = ngx.ctx.KONG_PLUGIN_NAME
        local n = select("#", ...)
        local parts = { plugin and ("[" .. plugin .. "] ") or "" }
        for i = 1, n do
            parts[#parts + 1] = tostring((select(i, ...)))
        end
        ngx.log(level, "[kong] ", concat(parts))
    end
end

local log = setmetatable({
    crit = logger(ngx.CRIT),
    err = logger(ngx.ERR),
    warn = logger(ngx.WARN),
    notice = logger(ngx.NOTICE),
    info = logger(ngx.INFO),
    debug = logger(ngx.DEBUG),
}, { __call = function(_, ...) return logger(ngx.NOTICE)(...) end })


-- everything else is absent, loudly -------------------------------------------

local function strict(name, t)
    return setmetatable(t, {
        __index = function(_, k)
            error(fmt("kong.%s.%s is not provided by " ..
                      "spec/helpers/kong_pdk.lua", name, tostring(k)), 2)
        end,
        __call = getmetatable(t) and getmetatable(t).__call,
    })
end

local function strict_log()
    local mt = getmetatable(log)
    mt.__index = function(_, k)
        error("kong.log." .. tostring(k) .. " is not provided by " ..
              "spec/helpers/kong_pdk.lua", 2)
    end
    return log
end


function _M.new()
    return strict("", {
        request = strict("request", request),
        response = strict("response", response),
        service = strict("service", {
            request = strict("service.request", service_request),
        }),
        ctx = ctx,
        log = strict_log(),
    })
end


-- Sets the global `kong`, as Kong does before loading plugins.
function _M.install()
    _G.kong = _M.new()
    return _G.kong
end


return _M
