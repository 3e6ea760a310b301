-- Calls to the SuperTokens core, with the node SDK Querier's semantics
-- (spec 6.2): the hosts of connection_uri in round-robin order, the next
-- host only when a connection could not be made, and the CDI headers
-- (cdi-version: 5.4, api-key, rid, content-type).  Only HTTP 200 counts as
-- an answer; its body text goes back to the decision, which decodes it.
--
-- Error strings name the method, the path and what went wrong; never the
-- query (user ids, e-mail addresses) or any body (tokens).

local http = require "resty.supertokens.http"
local metrics = require "resty.supertokens.metrics"

local ngx = ngx
local byte = string.byte
local format = string.format
local gsub = string.gsub
local type = type
local ipairs = ipairs
local tostring = tostring
local setmetatable = setmetatable
local concat = table.concat

local _M = { _VERSION = "0.1.0" }

local CONTENT_TYPE = "application/json; charset=utf-8"

local clients = setmetatable({}, { __mode = "k" })


-- application/x-www-form-urlencoded, as node's URLSearchParams prints
-- it (the Querier's GET queries): A-Z a-z 0-9 * - . _ kept, space as
-- "+", every other byte %XX.
local function form_byte(c)
    return format("%%%02X", byte(c))
end

local function form_encode(s)
    return (gsub(gsub(s, "[^A-Za-z0-9%*%._ %-]", form_byte), " ", "+"))
end
_M.form_encode = form_encode


local function encode_query(query)
    if query == nil or #query == 0 then
        return ""
    end
    local parts = {}
    for i, kv in ipairs(query) do
        parts[i] = form_encode(tostring(kv[1])) .. "="
                   .. form_encode(tostring(kv[2]))
    end
    return "?" .. concat(parts, "&")
end


local function fail(method, path, msg)
    return nil, "supertokens.core: " .. method .. " " .. path .. ": " .. msg
end


-- request(conf, state, method, path, query, body, rid) -> body | nil, err
local function request(conf, state, method, path, query, body, rid)
    local hosts = conf.core_hosts
    if type(hosts) ~= "table" or #hosts == 0 then
        return fail(method, path, "no core configured (connection_uri)")
    end
    if type(path) ~= "string" or path:sub(1, 1) ~= "/" then
        return fail(method, tostring(path), "bad path")
    end
    if body ~= nil and type(body) ~= "string" then
        return fail(method, path, "body must be JSON text")
    end

    local headers = {
        ["cdi-version"] = conf.cdi_version or "5.4",
    }
    if conf.api_key then
        headers["api-key"] = conf.api_key
    end
    if rid then
        headers["rid"] = rid
    end
    if body ~= nil then
        headers["content-type"] = CONTENT_TYPE
    end

    local target = path .. encode_query(query)

    local n = #hosts
    local last_err
    for _ = 1, n do
        local i = state.next
        state.next = i % n + 1
        local host = hosts[i]
        ngx.update_time()
        local t0 = ngx.now()
        local res, err, stage = state.client.request(http.options(
            conf.http, host.domain .. (host.base_path or "") .. target,
            method, headers, body))
        ngx.update_time()
        metrics.core_call(path, (res and res.status == 200)
                              and metrics.core_result(res.body) or "error",
                          ngx.now() - t0)
        if res then
            if res.status ~= 200 then
                return fail(method, path, "HTTP " .. tostring(res.status)
                                          .. " from " .. host.domain)
            end
            return res.body or ""
        end
        last_err = tostring(err)
        -- The SDK moves on only when the core could not be reached; after
        -- that the request may have been processed (verify can rotate the
        -- refresh token), so it must not be sent twice.
        if stage ~= "connect" and stage ~= nil then
            return fail(method, path, last_err)
        end
    end
    return fail(method, path, last_err)
end


-- new(conf, client) -> { request = function(method, path, query, body,
-- rid) }, the env.core object of the decision (FLOW-API.md 2).  client is
-- an http client (http.client()); default: conf.http_client or ours.
function _M.new(conf, client)
    local obj = clients[conf]
    if obj then
        return obj
    end
    local state = {
        next = 1,
        client = client or http.client(conf.http_client),
    }
    -- What request() reads of conf, not conf itself: a value of the
    -- weak-keyed clients table that reaches its key is never collected
    -- (LuaJIT has no ephemeron tables), so every config a Kong reconfigure
    -- drops would stay, with its client.
    local view = {
        core_hosts = conf.core_hosts, cdi_version = conf.cdi_version,
        api_key = conf.api_key, http = conf.http,
    }
    obj = {
        request = function(method, path, query, body, rid)
            return request(view, state, method, path, query, body, rid)
        end,
    }
    clients[conf] = obj
    return obj
end


return _M
