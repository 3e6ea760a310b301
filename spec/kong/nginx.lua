-- nginx.conf snippets that turn plain nginx into a small "Kong": the phase
-- runner (spec/kong/runner.lua) on each route, proxying to the upstream
-- test app (spec/kong/app.lua) on a second port.
--
--   local kong_nginx = require "spec.kong.nginx"
--   local srv = kong_nginx.start({
--       routes = { { name = "api_user", path = "/api/user",
--                    plugins = { { name = "supertokens", config = {...} } } },
--                  { name = "auth", path = "/auth/", match = "^~ ",
--                    proxy_pass = "http://127.0.0.1:3001" },  -- no plugin
--                  ... },
--       plugins = { early_deny = "spec.kong.plugins.early_deny" },  -- extra
--       no_dict = false, workers = 1, env = {...},
--       no_configure = true,  -- as Kong 3.4: handler:configure() is never
--                             -- called (the phase came in Kong 3.5)
--       status_api = true,  -- GET /status/supertokens/metrics: the
--                           -- plugin's status_api.lua, as Kong's Status
--                           -- API runs it (phase admin_api)
--   })
-- Returns the spec.helpers.nginx instance (srv.port, srv:stop(), ...).

local cjson = require "cjson.safe"
local nginx = require "spec.helpers.nginx"

local _M = {}

_M.PLUGINS = {
    supertokens = "kong.plugins.supertokens",
    early_deny = "spec.kong.plugins.early_deny",
    late_deny = "spec.kong.plugins.late_deny",
    ctx_echo = "spec.kong.plugins.ctx_echo",
}


local function runner_spec(opts)
    local plugins = {}
    for k, v in pairs(_M.PLUGINS) do
        plugins[k] = v
    end
    for k, v in pairs(opts.plugins or {}) do
        plugins[k] = v
    end
    local routes = {}
    for _, r in ipairs(opts.routes) do
        if r.plugins then
            routes[r.name] = r.plugins
        end
    end
    return { plugins = plugins, routes = routes,
             no_configure = opts.no_configure or nil }
end


-- The http{} and server{} text for spec.helpers.nginx.  app: a TCP port
-- or "unix:/path.sock" for the upstream test app.
function _M.snippets(opts, app)
    local app_listen, app_pass
    if type(app) == "number" then
        app_listen = "127.0.0.1:" .. app
        app_pass = "http://127.0.0.1:" .. app
    else
        app_listen = app
        app_pass = "http://" .. app .. ":"
    end
    local spec_json = assert(cjson.encode(runner_spec(opts)))
    assert(not spec_json:find("]==]", 1, true))
    -- nginx reads a *_by_lua_block token by token, and no token (a Lua
    -- string literal too) may outgrow its 4 KB conf buffer: the JSON goes
    -- in as literals of at most 1000 bytes, none ending in "]" or "=",
    -- which could run into the closing bracket.
    local literals = {}
    local at = 1
    while at <= #spec_json do
        local stop = math.min(at + 999, #spec_json)
        while stop > at and spec_json:sub(stop, stop):find("[%]=]") do
            stop = stop - 1
        end
        literals[#literals + 1] = "[==[" .. spec_json:sub(at, stop) .. "]==]"
        at = stop + 1
    end
    local http = {
        "lua_socket_log_errors off;",
        -- as in Kong's own template (kong/templates/nginx_kong.lua)
        "underscores_in_headers on;",
        "init_by_lua_block {",
        "    package.path = '" .. nginx.TOP .. "/spec/kong/lib/?.lua;'"
            .. " .. package.path",
        "    local spec = require('cjson.safe').decode(",
        "        " .. table.concat(literals, "\n        .. ") .. ")",
        "    require('spec.kong.runner').init(spec)",
        "}",
        "init_worker_by_lua_block {",
        "    require('spec.kong.runner').init_worker()",
        "}",
        "server {",
        "    listen " .. app_listen .. ";",
        "    location / {",
        "        content_by_lua_block { require('spec.kong.app').serve() }",
        "    }",
        "}",
        opts.http or "",
    }
    local server = {}
    if opts.status_api then
        server[1] = table.concat({
            "location = /status/supertokens/metrics {",
            "    content_by_lua_block {",
            "        ngx.ctx.KONG_PHASE = 'admin_api'",
            "        local api = require('kong.plugins.supertokens"
                .. ".status_api')",
            "        api['/supertokens/metrics'].GET()",
            "    }",
            "}",
        }, "\n")
    end
    for _, r in ipairs(opts.routes) do
        -- match: "= " exact (default), "^~ " or "" prefix
        local lines = { "location " .. (r.match or "= ") .. r.path .. " {" }
        if r.plugins then
            lines[#lines + 1] = "    set $kong_route " .. r.name .. ";"
            lines[#lines + 1] = "    access_by_lua_block {"
            lines[#lines + 1] = "        require('spec.kong.runner').access()"
            lines[#lines + 1] = "    }"
            lines[#lines + 1] = "    header_filter_by_lua_block {"
            lines[#lines + 1] = "        require('spec.kong.runner')"
                                .. ".header_filter()"
            lines[#lines + 1] = "    }"
        end
        lines[#lines + 1] = "    proxy_http_version 1.1;"
        lines[#lines + 1] = "    proxy_set_header Connection '';"
        if r.proxy_pass then
            lines[#lines + 1] = "    proxy_set_header Host $http_host;"
        end
        lines[#lines + 1] = "    proxy_pass " .. (r.proxy_pass or app_pass)
                            .. ";"
        lines[#lines + 1] = "}"
        server[#server + 1] = table.concat(lines, "\n")
    end
    return table.concat(http, "\n"), table.concat(server, "\n")
end


function _M.start(opts)
    local app_port = opts.app_port or nginx.free_port()
    local http, server = _M.snippets(opts, app_port)
    local srv = nginx.start({
        http = http,
        server = server,
        workers = opts.workers or 1,
        no_dict = opts.no_dict,
        env = opts.env,
        port = opts.port,
        error_log_level = opts.error_log_level or "info",
    })
    srv.app_port = app_port
    return srv
end


function _M.try_start(opts)
    local app_port = nginx.free_port()
    local http, server = _M.snippets(opts, app_port)
    return nginx.try_start({
        http = http, server = server, workers = 1, no_dict = opts.no_dict,
    })
end


return _M
