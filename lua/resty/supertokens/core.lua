-- Calls to the SuperTokens core, with the node SDK Querier's semantics
-- (spec 6.2): the hosts of connection_uri in round-robin order, the next
-- host when one could not be reached or failed before it answered (node's
-- fetch throws "fetch failed" for all of these and the Querier moves on),
-- a rate-limited answer (429) tried again on the next host after the
-- Querier's back-off, and the CDI headers (cdi-version: 5.4, api-key, rid
-- on recipe paths, content-type).  The round-robin index is one for all
-- workers (lua_shared_dict shared_dict), as node's is one per process.
-- Only HTTP 200 counts as an answer; its body text goes back to the
-- decision, which decodes it, with a flag when the answer's content-type
-- starts with "text" (the Querier then keeps it as a string instead of
-- parsing JSON).
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

-- The Querier's rate-limit handling: up to 5 more tries per URL, the n-th
-- (from 0) after 10 + 250 * n ms.
local RATE_LIMITED = 429
local RATE_LIMIT_RETRIES = 5

local function rate_limit_delay(attempts_made)
    return (10 + 250 * attempts_made) / 1000
end

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


-- What the Querier tests: headers.get("content-type")?.startsWith("text")
-- (as sent, case-sensitive; repeated headers joined with ", ").
local function is_text(headers)
    local ct = headers and headers["content-type"]
    if type(ct) == "table" then
        ct = concat(ct, ", ")
    end
    return type(ct) == "string" and ct:sub(1, 4) == "text"
end
_M.is_text = is_text


-- node's NormalisedURLPath.isARecipePath(), which decides whether the rid
-- header goes with a call: value.split("/"), parts[1] or parts[2] is
-- "recipe" (a roles path built from an odd tId, "/t1//recipe/user/roles",
-- goes without it).
local function is_recipe_path(path)
    local first, rest = path:match("^/([^/]*)(.*)$")
    if first == "recipe" then
        return true
    end
    return rest ~= nil and rest:match("^/([^/]*)") == "recipe"
end
_M.is_recipe_path = is_recipe_path


-- request(conf, state, method, path, query, body, rid)
--   -> body, nil, is_text | nil, err
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
    if rid and is_recipe_path(path) then
        headers["rid"] = rid
    end
    if body ~= nil then
        headers["content-type"] = CONTENT_TYPE
    end

    local target = path .. encode_query(query)

    local n = #hosts
    local tries = n
    local last_err
    local retries_left     -- url -> rate-limit retries left, on first 429
    local dict, rr_key = conf.dict, conf.rr_key
    while tries > 0 do
        -- node's Querier.lastTriedIndex is one per process; nginx has a
        -- process per worker, so the index lives in the shared dict (a
        -- worker's own one only when the dict cannot count).
        local i
        local v = dict and dict:incr(rr_key, 1, 0)
        if v then
            i = (v - 1) % n + 1
        else
            i = state.next
            state.next = i % n + 1
        end
        local host = hosts[i]
        local url = host.domain .. (host.base_path or "") .. target
        ngx.update_time()
        local t0 = ngx.now()
        local res, err = state.client.request(http.options(
            conf.http, url, method, headers, body))
        ngx.update_time()
        metrics.core_call(path, (res and res.status == 200)
                              and metrics.core_result(res.body) or "error",
                          ngx.now() - t0)
        if res then
            local status = res.status
            if status == 200 then
                return res.body or "", nil, is_text(res.headers)
            end
            local left = status == RATE_LIMITED
                         and (retries_left and retries_left[url]
                              or RATE_LIMIT_RETRIES)
            if not left or left == 0 then
                return fail(method, path, "HTTP " .. tostring(status)
                                          .. " from " .. host.domain)
            end
            retries_left = retries_left or {}
            retries_left[url] = left - 1
            ngx.sleep(rate_limit_delay(RATE_LIMIT_RETRIES - left))
        else
            -- Like node, whatever the stage: a request the core may have
            -- processed (a verify that rotated the refresh token) is sent
            -- to the next host, which answers from the same database.
            last_err = tostring(err)
            tries = tries - 1
        end
    end
    return fail(method, path, last_err)
end


-- new(conf, client) -> { request = function(method, path, query, body,
-- rid) }, the env.core object of the decision (decide.lua's header).  client is
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
    -- The host index shared by every worker (one per core list, as one
    -- node process has one): only with several cores.
    local hosts = conf.core_hosts
    local shared = ngx.shared
    if type(hosts) == "table" and #hosts > 1 and shared then
        view.dict = shared[conf.shared_dict or "supertokens"]
        local urls = {}
        for i, h in ipairs(hosts) do
            urls[i] = tostring(h.domain) .. (h.base_path or "")
        end
        view.rr_key = "st:core:rr:" .. concat(urls, ";")
    end
    obj = {
        request = function(method, path, query, body, rid)
            return request(view, state, method, path, query, body, rid)
        end,
    }
    clients[conf] = obj
    return obj
end


return _M
