-- Kong plugin: supertokens-node's verifySession() in front of a route.
--
-- A thin adapter: the request is read with the PDK into the view
-- resty.supertokens.decide takes, and its answer is applied with the PDK.
-- The config, the decision, CORS, the JWKS engine, the core client and the
-- token cache are the OpenResty module's (resty.supertokens.*), so both
-- gateways answer alike.
--
-- PRIORITY 1460: below cors (2000) and session (1900), so Kong's CORS
-- plugin, when used, answers preflights first; above jwt (1450), oauth2
-- (1400), key-auth (1250) and the other authentication plugins; and
-- above rate-limiting (910) and request-transformer (801), so those see
-- (and may rewrite) the identity headers set here (rate-limiting with
-- limit_by = header).  No Kong consumer is authenticated: acl and
-- consumer-based limits do not apply.  1460 rather than 1450 keeps the
-- order with jwt fixed.

local config = require "resty.supertokens.config"
local decide = require "resty.supertokens.decide"
local cors = require "resty.supertokens.cors"
local outcome = require "resty.supertokens.outcome"
local keys = require "resty.supertokens.keys"
local core = require "resty.supertokens.core"
local http = require "resty.supertokens.http"
local supertokens = require "resty.supertokens"
local metrics = require "resty.supertokens.metrics"
local plugin_conf = require "kong.plugins.supertokens.conf"

local kong = kong
local ngx = ngx
local type = type
local next = next
local ipairs = ipairs
local pcall = pcall
local error = error
local tostring = tostring
local setmetatable = setmetatable
local concat = table.concat
local lower = string.lower
local find = string.find
local gsub = string.gsub
local pairs = pairs

local SupertokensHandler = {
    PRIORITY = 1460,
    VERSION = "0.1.0",
}

local EXPOSE = "access-control-expose-headers"

-- kong.log functions by config log.level
local LOG = {
    debug = "debug", info = "info", notice = "notice", warn = "warn",
    error = "err", crit = "crit",
}

-- Per-config state, built once (configure or first request) and dropped
-- with the config table when Kong rebuilds its plugins.
local states = setmetatable({}, { __mode = "k" })


-- Shared with the OpenResty module: the millisecond clock expiry is judged
-- with, and the printable-ASCII filter for request data in log lines.
local now_ms = supertokens.now_ms
local clean = supertokens.log_safe


local function missing_dict(conf)
    if conf.jwks or conf.jwks_file then
        return nil -- static keys need no shared dict
    end
    local name = conf.shared_dict
    if ngx.shared[name] then
        return nil
    end
    return "supertokens: lua_shared_dict '" .. name .. "' is not "
           .. "declared; start Kong with KONG_NGINX_HTTP_LUA_SHARED_DICT=\""
           .. name .. " 10m\" (kong.conf: nginx_http_lua_shared_dict = "
           .. name .. " 10m)"
end


local function build_state(kconf)
    local conf, err = config.new(plugin_conf.user_config(kconf))
    if not conf then
        return nil, err
    end

    local ok, route = pcall(decide.route, plugin_conf.route_opts(kconf))
    if not ok then
        return nil, "supertokens: route options: " .. tostring(route)
    end

    local client
    ok, client = pcall(http.client, plugin_conf.http_client(kconf))
    if not ok then
        return nil, tostring(client)
    end

    err = missing_dict(conf)
    if err then
        return nil, err
    end

    local engine
    engine, err = keys.new(conf, client)
    if not engine then
        return nil, err
    end

    -- lower case, "_" as "-": the form clear_identity() compares
    local strip_lower = {}
    for _, name in ipairs(supertokens.identity_names(conf)) do
        strip_lower[(gsub(lower(name), "_", "-"))] = true
    end
    return {
        -- a secret from a vault is rotated by Kong in this config table:
        -- get_state() builds the state again when it changes
        api_key = kconf.api_key,
        conf = conf,
        route = route,
        strip_lower = strip_lower,
        log = LOG[conf.log.level] or "warn",
        env = {
            now_ms = now_ms,
            -- a repeated token is answered from the verified-token cache
            parse = function(token)
                return engine:parse(token)
            end,
            check_signature = function(token, parsed)
                if type(parsed) == "table" then
                    kong.ctx.plugin.kid = parsed.kid
                    kong.ctx.plugin.alg = parsed.alg
                end
                return engine:check_signature(token, parsed)
            end,
            core = core.new(conf, client),
        },
    }
end


local function get_state(kconf)
    local st = states[kconf]
    local api_key = kconf.api_key
    if st and (st.api_key == api_key or st.rejected_api_key == api_key) then
        return st
    end
    local fresh, err = build_state(kconf)
    if not fresh then
        if not st then
            return nil, err
        end
        -- A rotated secret the config refuses: the state built with the
        -- last good one keeps answering (the core may still take that key;
        -- a 500 on every request, each building the state again, helps no
        -- one), and the refusal is logged once per value.
        st.rejected_api_key = api_key
        kong.log.err("supertokens: the rotated api_key is refused (", err,
                     "); keeping the previous one")
        return st
    end
    states[kconf] = fresh
    return fresh
end


-- The request's headers, all of them: kong.request.get_headers() stops at
-- 1000 (a header after a thousand junk ones would be unseen), and the
-- OpenResty shell reads them all too.
local function request_headers()
    return ngx.req.get_headers(0)
end


-- The request as decide.verify reads it (decide.lua's header), built by the
-- OpenResty module from the same headers table.
local function request_view(method, headers)
    return supertokens.request_view(method,
                                    kong.request.get_path_with_query(),
                                    headers)
end


-- Kong's nginx template sets underscores_in_headers on, and upstreams
-- that read headers as CGI variables (Rack, WSGI, PHP) see
-- X_SuperTokens_User_Id as X-SuperTokens-User-Id (and the other way
-- round): a client must not pose as a user under either spelling.
-- headers: ngx.req.get_headers(), names in lower case.
local function clear_identity(st, headers)
    local strip_lower = st.strip_lower
    local clear = kong.service.request.clear_header
    for name in pairs(headers) do
        if strip_lower[name] or find(name, "_", 1, true)
                                and strip_lower[(gsub(name, "_", "-"))]
        then
            clear(name)
        end
    end
end


-- {name, value} list -> the header map kong.response.exit takes; repeated
-- names (Set-Cookie) become arrays, in order.
local function header_map(list)
    local map = {}
    for _, g in ipairs(supertokens.group_headers(list or {})) do
        map[g[1]] = g[2]
    end
    return map
end


-- The only place this plugin answers a request.
local function answer(out)
    return kong.response.exit(out.status, out.body, header_map(out.headers))
end


local function log_reject(st, req, out)
    local p = kong.ctx.plugin
    local fn = kong.log[out.class == "error" and "err" or st.log]
    fn("reject status=", out.status,
       " class=", out.class or "-",
       " reason=", st.conf.log.reasons == false and "-"
                   or clean(out.reason, 64),
       " detail=", clean(out.detail, 120),
       " method=", clean(req.method, 16),
       " route=", clean(kong.request.get_path(), 200),
       " kid=", clean(p.kid, 64),
       " alg=", clean(p.alg, 16))
end


local function forward_session(conf, s)
    -- other plugins get a table of this request's own: the decision's
    -- session may be shared by the requests with the same token
    kong.ctx.shared.supertokens = decide.copy_session(s)
    local list, dropped = supertokens.identity_headers(conf, s)
    local set = kong.service.request.set_header
    for _, h in ipairs(list) do
        set(h[1], h[2])
    end
    if dropped then
        kong.log.warn("upstream header(s) not set, value has control "
                      .. "characters: ", concat(dropped, ", "))
    end
end


local INTERNAL = {
    pass = false, status = 500, body = outcome.BODY_INTERNAL,
    headers = { { "Content-Type", outcome.CONTENT_TYPE } },
    class = "error", reason = "internal",
}


-- Counters in the "supertokens_metrics" dict when declared, else in the
-- plugin's "supertokens" dict (keys prefixed m:); status_api.lua serves
-- them on Kong's Status API.
function SupertokensHandler:init_worker()
    local ok, err = pcall(metrics.init)
    if not ok then
        ngx.log(ngx.NOTICE, "supertokens: metrics disabled: ", err)
        return
    end
    metrics.init_worker()
end


function SupertokensHandler:configure(configs)
    for _, kconf in ipairs(configs or {}) do
        local _, err = get_state(kconf)
        if err then
            kong.log.err(err)
        end
    end
end


function SupertokensHandler:access(kconf)
    local st, err = get_state(kconf)
    if not st then
        kong.ctx.plugin.broken = true
        return error(err) -- misconfiguration: Kong answers 500
    end

    -- Whatever happens next, a client must not pose as a user upstream.
    local headers = request_headers()
    clear_identity(st, headers)

    local method = kong.request.get_method()
    if method == "OPTIONS" and not kconf.run_on_preflight then
        return
    end

    local req = request_view(method, headers)
    local p = kong.ctx.plugin
    p.req = req

    local out = cors.preflight(st.conf, req)
    if out then
        p.preflight = true
        metrics.preflight(metrics.preflight_result(out,
                                                   headers["origin"]))
        return answer(out)
    end

    local ok
    ok, out = decide.verify_protected(st.conf, st.route, req, st.env)
    if not ok then
        kong.log.err("decision failed: ", clean(out, 300))
        out = INTERNAL
    end
    metrics.verification(out.class, out.reason)

    if not out.pass then
        log_reject(st, req, out)
        return answer(out)
    end

    if out.headers and next(out.headers) then
        p.relay = out.headers
    end
    if out.session then
        forward_session(st.conf, out.session)
    end
end


local function joined(name)
    local v = kong.response.get_headers(1000)[name]
    if type(v) == "table" then
        return concat(v, ", ")
    end
    return v
end


local function add_response_headers(list)
    local set = kong.response.set_header
    for _, h in ipairs(list) do
        local name, value = h[1], h[2]
        local lname = lower(name)
        if lname == EXPOSE then
            set(name, outcome.merge_expose(joined(name), value))
        elseif lname == "vary" then
            set(name, outcome.merge_vary(joined(name), value))
        elseif lname == "set-cookie" then
            kong.response.add_header(name, value)
        else
            set(name, value)
        end
    end
end


-- The decision's token headers.  node writes them in verifySession(),
-- before the route's handler (here: the upstream): the handler's own
-- cookies come after them, its own front-token or st-access-token wins.
local function add_relay_headers(list)
    local theirs = kong.response.get_headers(1000)
    local cookies
    for _, h in ipairs(list) do
        local name, value = h[1], h[2]
        local lname = lower(name)
        if lname == EXPOSE then
            kong.response.set_header(name, outcome.merge_expose(joined(name),
                                                                value))
        elseif lname == "set-cookie" then
            cookies = cookies or {}
            cookies[#cookies + 1] = value
        elseif theirs[lname] == nil then
            kong.response.set_header(name, value)
        end
    end
    if cookies then
        local their_cookies = theirs["set-cookie"]
        if type(their_cookies) == "table" then
            for _, v in ipairs(their_cookies) do
                cookies[#cookies + 1] = v
            end
        elseif their_cookies ~= nil then
            cookies[#cookies + 1] = their_cookies
        end
        -- one value per call: Kong 3.4 and 3.5 refuse an array in
        -- kong.response.set_header/add_header (checks.validate_header;
        -- arrays are taken from 3.6 on)
        kong.response.set_header("Set-Cookie", cookies[1])
        for i = 2, #cookies do
            kong.response.add_header("Set-Cookie", cookies[i])
        end
    end
end


-- Runs for every response of the route, including answers of other
-- plugins (kong.response.exit) and of this one.
function SupertokensHandler:header_filter(kconf)
    local p = kong.ctx.plugin
    if p.preflight or p.broken then
        return
    end

    local req = p.req
    if not req then
        -- access did not run: skipped preflight, or a plugin of higher
        -- priority answered first
        local method = kong.request.get_method()
        if method == "OPTIONS" and not kconf.run_on_preflight then
            return
        end
        req = request_view(method, request_headers())
    end

    local st, err = get_state(kconf)
    if not st then
        kong.log.err(err)
        return
    end

    if p.relay then
        add_relay_headers(p.relay)
    end
    add_response_headers(cors.headers(st.conf, req))
end


return SupertokensHandler
