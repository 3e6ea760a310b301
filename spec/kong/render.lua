-- Renders the nginx.conf of spec/kong/gateway: the Kong plugin on the
-- conformance routes, configured from the ST_* variables exactly as the
-- OpenResty gateway is (resty.supertokens.env), but going through the
-- plugin schema and the Kong phase runner.
--
--   luajit spec/kong/render.lua <state dir>   -> prints the nginx.conf path
--
-- Env: PORT, ST_* (see spec/conformance/gateway), ST_BACKEND_URL or
-- ST_AUTH_UPSTREAM (SuperTokens APIs proxied there, no plugin),
-- ST_DEFAULT_JWKS, ST_NGINX_WORKERS (2), ST_NGINX_LOG_LEVEL (warn).

local env = require "resty.supertokens.env"
local nginx = require "spec.helpers.nginx"
local kong_nginx = require "spec.kong.nginx"

local state = assert(arg[1], "usage: render.lua <state dir>")
local port = tonumber(os.getenv("PORT") or "8080")
local getenv = os.getenv

local user = env.config({
    default_jwks_file = getenv("ST_DEFAULT_JWKS")
                        or (nginx.TOP .. "/.demo/jwks.json"),
})


-- the plugin schema's shape of claim specs (`values` for the list checks)
require("spec.helpers.kong_schema").plugin_claims(user.claims)


-- plugin config = the OpenResty config + this route's options
local function plugin(route_opts)
    local c = {}
    for k, v in pairs(user) do
        c[k] = v
    end
    for k, v in pairs(route_opts) do
        c[k] = v
    end
    return { { name = "supertokens", config = c } }
end


local routes = {
    { name = "api_user", path = "/api/user", plugins = plugin({}) },
    { name = "verify", path = "/verify", plugins = plugin({}) },
    { name = "verify_optional", path = "/verify-optional",
      plugins = plugin({ session_required = false }) },
    { name = "verify_checkdb", path = "/verify-checkdb",
      plugins = plugin({ check_database = true }) },
    { name = "verify_nocsrf", path = "/verify-nocsrf",
      plugins = plugin({ anti_csrf_check = false }) },
    { name = "verify_noclaims", path = "/verify-noclaims",
      plugins = plugin({ override_global_claim_validators = {} }) },
}

-- examples/openresty/nginx.conf's route "admin" (add_claims): a Kong route
-- has a plugin config of its own, whose claims are the globals and these
do
    local claims = {}
    for _, spec in ipairs(user.claims or {}) do
        claims[#claims + 1] = spec
    end
    claims[#claims + 1] = { claim = "st-role", check = "includes",
                            value = "admin", id = "route-admin" }
    claims[#claims + 1] = { claim = "st-perm", check = "excludes",
                            value = "delete" }
    routes[#routes + 1] = { name = "verify_admin", path = "/verify-admin",
                            plugins = plugin({ claims = claims }) }
end

-- spec/conformance/gateway's ST_SESSION_ROUTE=1: every path with a
-- /session/ segment (any case), verified as /verify
if getenv("ST_SESSION_ROUTE") == "1" then
    routes[#routes + 1] = { name = "session_paths", path = "/session/",
                            match = "~* ", plugins = plugin({}) }
end

local backend = getenv("ST_BACKEND_URL") or getenv("ST_AUTH_UPSTREAM")
if backend and backend ~= "" then
    assert(backend:match("^https?://[%w.:%[%]-]+/?$"),
           "ST_BACKEND_URL: want http(s)://host:port")
    local base = (getenv("ST_API_BASE_PATH") or "/auth"):gsub("/$", "")
    routes[#routes + 1] = { name = "auth", path = base .. "/", match = "^~ ",
                            proxy_pass = backend:gsub("/$", "") }
end

-- Node accepts 16 KB of request headers, nginx (and Kong: its
-- nginx_http_large_client_header_buffers default) 4 x 8k; examples/kong/
-- README.md asks Kong users for KONG_NGINX_HTTP_LARGE_CLIENT_HEADER_BUFFERS.
local opts = { routes = routes,
               http = "large_client_header_buffers 4 16k;" }
local socket = getenv("ST_KONG_APP_SOCKET") or (state .. "/app.sock")
local http, server = kong_nginx.snippets(opts, "unix:" .. socket)
local text = nginx.conf({
    http = http,
    server = server,
    workers = tonumber(getenv("ST_NGINX_WORKERS") or "2"),
    error_log_level = getenv("ST_NGINX_LOG_LEVEL") or "warn",
    -- the master reads ST_* in render only; workers need nothing
}, port, state)

os.execute("mkdir -p '" .. state .. "/logs' '" .. state .. "/tmp'")
local path = state .. "/nginx.conf"
local f = assert(io.open(path, "wb"))
f:write(text)
f:close()
print(path)
