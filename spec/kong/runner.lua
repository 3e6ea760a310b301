-- A minimal Kong-like phase runner for running Kong plugins inside plain
-- nginx (Kong is not installable here).  It does what Kong's runloop does
-- for the phases our plugin implements, as Kong documents them:
--
--   * plugin configs are validated by the plugin's schema (the subset
--     validator in spec/helpers/kong_schema.lua) and handed to handlers as
--     Kong hands stored configs back (defaults filled, null -> nil);
--   * init_worker: handler:init_worker(), then handler:configure(configs)
--     with all configs of a plugin (Kong 3.5+; spec.no_configure: as Kong
--     3.4, which has no configure phase);
--   * access: plugins in PRIORITY order (highest first); once one calls
--     kong.response.exit(), the rest of the phase is skipped;
--   * header_filter: every plugin of the route, in the same order, also
--     on responses produced by kong.response.exit();
--   * a Lua error in a handler's access phase becomes Kong's 500
--     {"message":"An unexpected error occurred"}; one in header_filter
--     is not caught (Kong runs those handlers without pcall): nginx
--     drops the response;
--   * kong.ctx.plugin is per plugin instance, kong.ctx.shared per request.
--
-- nginx.conf wiring (see spec/kong/nginx.lua):
--   init_by_lua_block        { require("spec.kong.runner").init(spec) }
--   init_worker_by_lua_block { require("spec.kong.runner").init_worker() }
--   location /x { set $kong_route x;
--                 access_by_lua_block { ...runner.access() }
--                 header_filter_by_lua_block { ...runner.header_filter() }
--                 proxy_pass http://upstream; }

local pdk = require "spec.helpers.kong_pdk"
local kong_schema = require "spec.helpers.kong_schema"
local cjson = require "cjson.safe"

local ngx = ngx
local ipairs = ipairs
local pairs = pairs
local pcall = pcall
local tostring = tostring
local sort = table.sort

local _M = {}

local ROUTES = {}      -- route name -> ordered plugin instances
local NO_CONFIGURE = false
local BY_PLUGIN = {}   -- plugin name -> { handler, configs }


-- The keys Kong's plugins iterator writes into every config table it hands
-- to a handler (kong/runloop/plugins_iterator.lua get_plugin_config; 3.9
-- adds __ws_id): a handler must read its own fields by name.
local SEQ = 0
local WS_ID = "00000000-0000-4000-8000-000000000000"

local function add_kong_keys(conf, name, route)
    SEQ = SEQ + 1
    local id = string.format("00000000-0000-4000-8000-%012d", SEQ)
    conf.route_id = "route-" .. route
    conf.service_id = nil
    conf.consumer_id = nil
    conf.plugin_instance_name = nil
    conf.__plugin_id = id
    conf.__ws_id = WS_ID
    conf.__key__ = "plugins:" .. name .. ":" .. conf.route_id .. "::::"
                   .. WS_ID
    conf.__seq__ = SEQ
end


-- spec = {
--   plugins = { <name> = "<module prefix>" },  -- e.g. supertokens =
--                                              -- "kong.plugins.supertokens"
--   routes = { <route> = { { name = <plugin>, config = {...} }, ... } },
--   no_configure = true,  -- optional: Kong 3.4, no configure phase
-- }
-- Raises (so nginx refuses to start) when a config fails its schema.
function _M.init(spec)
    pdk.install()
    NO_CONFIGURE = spec.no_configure == true
    for route, entries in pairs(spec.routes) do
        local list = {}
        for _, entry in ipairs(entries) do
            local prefix = assert(spec.plugins[entry.name],
                                  "unknown plugin " .. tostring(entry.name))
            local handler = require(prefix .. ".handler")
            local schema = require(prefix .. ".schema")
            local entity, err = kong_schema.validate_plugin_config(
                entry.config or {}, schema)
            if not entity then
                error("plugin '" .. entry.name .. "' on route '" .. route
                      .. "': schema violation: " .. cjson.encode(err), 0)
            end
            local conf = kong_schema.runtime_config(entity.config)
            add_kong_keys(conf, entry.name, route)
            local p = BY_PLUGIN[entry.name]
            if not p then
                p = { handler = handler, configs = {} }
                BY_PLUGIN[entry.name] = p
            end
            p.configs[#p.configs + 1] = conf
            list[#list + 1] = {
                name = entry.name,
                handler = handler,
                conf = conf,
                ctx_key = {},  -- kong.ctx.plugin namespace
            }
        end
        sort(list, function(a, b)
            local pa, pb = a.handler.PRIORITY, b.handler.PRIORITY
            if pa ~= pb then
                return pa > pb
            end
            return a.name < b.name
        end)
        ROUTES[route] = list
    end
end


function _M.init_worker()
    for name, p in pairs(BY_PLUGIN) do
        if p.handler.init_worker then
            local ok, err = pcall(p.handler.init_worker, p.handler)
            if not ok then
                ngx.log(ngx.ERR, "failed to execute plugin '", name,
                        ":init_worker (", tostring(err), ")")
            end
        end
        if p.handler.configure and not NO_CONFIGURE then
            local ok, err = pcall(p.handler.configure, p.handler, p.configs)
            if not ok then
                ngx.log(ngx.ERR, "failed to execute plugin '", name,
                        ":configure (", tostring(err), ")")
            end
        end
    end
end


-- The runtime config tables of a plugin, the ones its handler gets: a
-- spec changes one in place as kong.vault.update() does when a secret
-- rotates.
function _M.configs(name)
    local p = BY_PLUGIN[name]
    return p and p.configs or {}
end


local function instances()
    local list = ROUTES[ngx.var.kong_route]
    if not list then
        error("spec.kong.runner: no route '" .. tostring(ngx.var.kong_route)
              .. "'")
    end
    return list
end


function _M.access()
    local ctx = ngx.ctx
    ctx.KONG_PHASE = "access"
    for _, p in ipairs(instances()) do
        local fn = p.handler.access
        if fn then
            ctx.KONG_PLUGIN_NAME = p.name
            ctx.KONG_PLUGIN_INSTANCE = p.ctx_key
            local ok, err = pcall(fn, p.handler, p.conf)
            ctx.KONG_PLUGIN_NAME = nil
            if not ok then
                ngx.log(ngx.ERR, "[kong] plugin '", p.name, "' access: ",
                        tostring(err))
                ctx.KONG_PHASE = "access"
                return kong.response.exit(500, {
                    message = "An unexpected error occurred" })
            end
            if ctx.KONG_EXITED then
                return
            end
        end
    end
    ctx.KONG_PROXIED = true
end


function _M.header_filter()
    local ctx = ngx.ctx
    ctx.KONG_PHASE = "header_filter"
    for _, p in ipairs(instances()) do
        local fn = p.handler.header_filter
        if fn then
            ctx.KONG_PLUGIN_NAME = p.name
            ctx.KONG_PLUGIN_INSTANCE = p.ctx_key
            -- no pcall: Kong's execute_collected_plugins_iterator calls
            -- plugin.handler[phase] bare, so an error ends
            -- header_filter_by_lua with NGX_ERROR and nginx drops the
            -- response (the client sees the connection closed)
            fn(p.handler, p.conf)
            ctx.KONG_PLUGIN_NAME = nil
        end
    end
end


return _M
