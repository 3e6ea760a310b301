-- Start and stop a real nginx (with the Lua module) for integration specs.
--
--   local nginx = require "spec.helpers.nginx"
--   local srv = nginx.start({
--       http = [[ ... http-block directives ... ]],
--       server = [[ ... server-block directives ... ]], -- wrapped for you
--       workers = 2, env = { ST_X = "1" }, error_log_level = "info",
--   })
--   srv.port, srv.prefix, srv:url("/x"), srv:error_log(), srv:stop()
--
-- Each instance lives under its own temp prefix; "%PORT%" in the snippets
-- is replaced with the listening port.  The http block already has
-- lua_package_path/cpath for this repo, the `supertokens` shared dict
-- (unless opts.no_dict) and access_log off.

local socket = require "socket"
local files = require "spec.helpers.files"

local _M = {}

local MODULES = {
    "/usr/lib/nginx/modules/ndk_http_module.so",
    "/usr/lib/nginx/modules/ngx_http_lua_module.so",
}


-- Runs a shell command; returns success, combined output.  (LuaJIT's
-- popen close does not report the exit status, so it is echoed.)
local function sh(cmd)
    local p = io.popen("(" .. cmd .. ") 2>&1; echo \"__rc=$?\"")
    local out = p:read("*a")
    p:close()
    local rc = tonumber(out:match("__rc=(%d+)%s*$"))
    out = out:gsub("__rc=%d+%s*$", "")
    return rc == 0, out
end
_M.sh = sh


local function top_dir()
    local src = debug.getinfo(1, "S").source:sub(2)
    local dir = src:match("^(.*)/spec/helpers/nginx%.lua$")
    if not dir or dir == "" then
        dir = "."
    end
    local _, out = sh("cd '" .. dir .. "' && pwd")
    return (out:gsub("%s+$", ""))
end

_M.TOP = top_dir()


function _M.free_port()
    local s = assert(socket.bind("127.0.0.1", 0))
    local _, port = s:getsockname()
    s:close()
    return tonumber(port)
end


function _M.wait_port(port, timeout)
    local deadline = socket.gettime() + (timeout or 10)
    while socket.gettime() < deadline do
        local c = socket.tcp()
        c:settimeout(0.2)
        local ok = c:connect("127.0.0.1", port)
        c:close()
        if ok then
            return true
        end
        socket.sleep(0.02)
    end
    return false
end


local read_file = files.read
local write_file = files.write


local function quote(v)
    return '"' .. tostring(v):gsub('\\', '\\\\'):gsub('"', '\\"') .. '"'
end


local instance = {}
instance.__index = instance


function instance:url(path)
    return "http://127.0.0.1:" .. self.port .. (path or "/")
end


-- Log text written after the last mark() (for per-test assertions).
function instance:mark()
    self.log_offset = #self:error_log()
end


function instance:log_since_mark()
    return self:error_log():sub((self.log_offset or 0) + 1)
end


-- A zombie counts as dead: this machine's init reaps only every few
-- seconds, and `kill -0` succeeds on a zombie.
local function alive(pid)
    local f = io.open("/proc/" .. pid .. "/stat")
    if not f then
        return false
    end
    local stat = f:read("*l") or ""
    f:close()
    return stat:match("^%d+ %b() (%a)") ~= "Z"
end
_M.alive = alive


-- Worker pids (children of the master).
function instance:worker_pids()
    local pid = self:pid()
    if not pid then
        return {}
    end
    local _, out = sh("pgrep -P " .. pid)
    local pids = {}
    for p in out:gmatch("%d+") do
        pids[#pids + 1] = tonumber(p)
    end
    return pids
end


function instance:reload()
    local pid = self:pid()
    os.execute("kill -HUP " .. pid)
    socket.sleep(0.5)
end


function instance:stop()
    if self.stopped then
        return
    end
    self.stopped = true
    local pid = self:pid()
    if pid then
        -- Workers a killed master leaves behind would run on (a spec's
        -- timer loop kept two busy for an hour, skewing what ran after).
        local workers = self:worker_pids()
        os.execute("kill -QUIT " .. pid .. " 2>/dev/null")
        local deadline = socket.gettime() + 5
        while alive(pid) and socket.gettime() < deadline do
            socket.sleep(0.02)
        end
        if alive(pid) then
            os.execute("kill -KILL " .. pid .. " 2>/dev/null")
        end
        for _, w in ipairs(workers) do
            if alive(w) then
                os.execute("kill -KILL " .. w .. " 2>/dev/null")
            end
        end
    end
    -- The secrets-hygiene spec scans every log and body the suites made.
    pcall(function() require("spec.helpers.hygiene").collect(self) end)
    if not os.getenv("KEEP_NGINX_PREFIX") then
        os.execute("rm -rf '" .. self.prefix .. "'")
    end
end


-- Builds the nginx.conf text (exposed for specs that start nginx
-- themselves, e.g. to see a failing init).
function _M.conf(opts, port, prefix)
    local top = _M.TOP
    local main = {}
    for _, m in ipairs(MODULES) do
        main[#main + 1] = "load_module " .. m .. ";"
    end
    if io.popen("id -u"):read("*l") == "0" then
        main[#main + 1] = "user root;"
    end
    main[#main + 1] = "daemon on;"
    main[#main + 1] = "master_process on;"
    main[#main + 1] = "worker_processes " .. (opts.workers or 1) .. ";"
    main[#main + 1] = "pid logs/nginx.pid;"
    main[#main + 1] = "error_log logs/error.log "
                      .. (opts.error_log_level or "info") .. ";"
    local env_names = {}
    for k in pairs(opts.env or {}) do
        env_names[#env_names + 1] = k
    end
    table.sort(env_names)
    for _, k in ipairs(env_names) do
        main[#main + 1] = "env " .. quote(k .. "=" .. opts.env[k]) .. ";"
    end
    main[#main + 1] = opts.main or ""
    main[#main + 1] = "events { worker_connections 1024; }"

    local lua_path = top .. "/lua/?.lua;" .. top .. "/lua/?/init.lua;"
                     .. top .. "/?.lua;/usr/share/lua/5.1/?.lua;;"
    local lua_cpath = top .. "/build/?.so;"
                      .. "/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;;"
    local http = {
        "http {",
        "access_log off;",
        "client_body_temp_path " .. prefix .. "/tmp/body;",
        "proxy_temp_path " .. prefix .. "/tmp/proxy;",
        "fastcgi_temp_path " .. prefix .. "/tmp/fastcgi;",
        "uwsgi_temp_path " .. prefix .. "/tmp/uwsgi;",
        "scgi_temp_path " .. prefix .. "/tmp/scgi;",
        "lua_package_path " .. quote(lua_path) .. ";",
        "lua_package_cpath " .. quote(lua_cpath) .. ";",
        opts.no_dict and "" or "lua_shared_dict supertokens 10m;",
        opts.http or "",
    }
    if opts.server then
        http[#http + 1] = "server {"
        -- reuseport: the kernel spreads connections over the workers
        http[#http + 1] = "listen 127.0.0.1:%PORT%"
                          .. (opts.reuseport and " reuseport" or "") .. ";"
        http[#http + 1] = opts.server
        http[#http + 1] = "}"
    end
    http[#http + 1] = "}"

    local text = table.concat(main, "\n") .. "\n"
                 .. table.concat(http, "\n") .. "\n"
    return (text:gsub("%%PORT%%", tostring(port)))
end


-- start(opts) -> instance; raises with the error log when nginx fails.
function _M.start(opts)
    local port = opts.port or _M.free_port()
    local _, prefix = sh("mktemp -d /tmp/st-nginx-XXXXXX")
    prefix = prefix:gsub("%s+$", "")
    os.execute("mkdir -p '" .. prefix .. "/logs' '" .. prefix .. "/conf' '"
               .. prefix .. "/tmp'")
    local conf_path = prefix .. "/conf/nginx.conf"
    write_file(conf_path, _M.conf(opts, port, prefix))

    local self = setmetatable({ port = port, prefix = prefix }, instance)
    local ok, out = sh("nginx -p '" .. prefix .. "/' -c '" .. conf_path
                       .. "'")
    if not ok then
        local log = self:error_log()
        self.stopped = true
        error("nginx failed to start: " .. out .. "\n" .. log, 2)
    end
    if not _M.wait_port(port, 10) then
        local log = self:error_log()
        self:stop()
        error("nginx did not open port " .. port .. "\n" .. log, 2)
    end
    return self
end


-- Try a config that is expected to fail: returns ok, output + error log.
function _M.try_start(opts)
    local port = opts.port or _M.free_port()
    local _, prefix = sh("mktemp -d /tmp/st-nginx-XXXXXX")
    prefix = prefix:gsub("%s+$", "")
    os.execute("mkdir -p '" .. prefix .. "/logs' '" .. prefix .. "/conf' '"
               .. prefix .. "/tmp'")
    local conf_path = prefix .. "/conf/nginx.conf"
    write_file(conf_path, _M.conf(opts, port, prefix))
    local ok, out = sh("nginx -p '" .. prefix .. "/' -c '" .. conf_path
                       .. "'")
    local self = setmetatable({ port = port, prefix = prefix }, instance)
    local log = self:error_log()
    if ok then
        self:stop()
    else
        os.execute("rm -rf '" .. prefix .. "'")
    end
    return ok, out .. "\n" .. log
end


-- Lua source text for a plain value (for init_by_lua config tables).
function _M.lua_literal(v)
    local t = type(v)
    if t == "string" then
        -- %q writes a newline as backslash-newline, which nginx's parser
        -- of *_by_lua_block bodies does not take: spell it \n.
        return (string.format("%q", v):gsub("\\\n", "\\n"))
    elseif t == "number" or t == "boolean" or t == "nil" then
        return tostring(v)
    elseif t == "table" then
        local parts = {}
        for k, val in pairs(v) do
            local key = type(k) == "string" and k:match("^[%a_][%w_]*$")
                        and k or ("[" .. _M.lua_literal(k) .. "]")
            parts[#parts + 1] = key .. " = " .. _M.lua_literal(val)
        end
        table.sort(parts)
        return "{ " .. table.concat(parts, ", ") .. " }"
    end
    error("cannot serialise a " .. t)
end


-- An nginx running resty.supertokens with `config` (a Lua table given to
-- init()), /api/user (verify_session + user_handler) and the identity of
-- the worker that answered in X-Worker.  opts: workers, server (extra
-- server directives), http (extra http directives), route (verify opts).
function _M.supertokens(config, opts)
    opts = opts or {}
    return _M.start({
        workers = opts.workers or 2,
        env = opts.env,
        no_dict = opts.no_dict,
        reuseport = opts.reuseport,
        port = opts.port,
        error_log_level = opts.error_log_level,
        http = (opts.http or "") .. [[
            init_by_lua_block {
                require("resty.supertokens").init(]]
                .. _M.lua_literal(config) .. [[)
            }
            header_filter_by_lua_block {
                require("resty.supertokens").header_filter()
                ngx.header["X-Worker"] = ngx.worker.pid()
            }
        ]],
        server = [[
            location = /api/user {
                access_by_lua_block {
                    require("resty.supertokens").verify_session(]]
                    .. (opts.route and _M.lua_literal(opts.route) or "")
                    .. [[)
                }
                content_by_lua_block {
                    require("resty.supertokens").user_handler()
                }
            }
        ]] .. (opts.server or ""),
    })
end


-- The conformance gateway (spec/conformance/gateway) with these ST_*
-- variables: returns an instance (port, prefix = state dir, url,
-- error_log, stop).  opts.workers, opts.log_level.
function _M.gateway(env, opts)
    opts = opts or {}
    local port = opts.port or _M.free_port()
    local _, state = sh("mktemp -d /tmp/st-gw-XXXXXX")
    state = state:gsub("%s+$", "")
    local vars = {
        "PORT=" .. port,
        "ST_GATEWAY_STATE=" .. state,
        "ST_NGINX_WORKERS=" .. (opts.workers or 2),
        "ST_NGINX_LOG_LEVEL=" .. (opts.log_level or "info"),
    }
    for k, v in pairs(env) do
        vars[#vars + 1] = k .. "='" .. tostring(v):gsub("'", "'\\''") .. "'"
    end
    local cmd = "env " .. table.concat(vars, " ") .. " " .. _M.TOP
                .. "/spec/conformance/gateway"
    local ok, out = sh(cmd .. " start")
    local self = setmetatable({ port = port, prefix = state,
                                gateway_cmd = cmd }, instance)
    if not ok then
        os.execute("rm -rf '" .. state .. "'")
        error("gateway failed to start:\n" .. out, 2)
    end
    return self
end


function instance:error_log()
    return read_file(self.prefix .. "/logs/error.log")
           or read_file(self.prefix .. "/error.log") or ""
end


function instance:pid()
    local p = read_file(self.prefix .. "/logs/nginx.pid")
              or read_file(self.prefix .. "/nginx.pid")
    return p and tonumber(p:match("%d+"))
end


return _M
