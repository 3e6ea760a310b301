-- Start and stop the SuperTokens core stand-in (spec/support/core) for
-- integration specs, mint tokens with its keys, drive its fault controls.
--
--   local core = require "spec.helpers.core"
--   local c = core.start({ env = { ACCESS_TOKEN_VALIDITY_S = "3600" } })
--   c.url                                  -- "http://127.0.0.1:<port>"
--   c:mint({ sub = "u1", expIn = -10 })    -- mint.js module options
--   c:mint_many({ {...}, {...} })          -- one node process for many
--   c:control("POST", "jwks?mode=down")    -- /__standin/<path>
--   c:jwks_count(), c:calls("POST /recipe/session/verify"), c:log(since)
--   c:stop()
-- Several stand-ins may share one state dir (same keys): pass state_dir.

local socket = require "socket"
local cjson = require "cjson.safe"
local nginx = require "spec.helpers.nginx"
local http = require "spec.helpers.http"

local _M = {}

local TOP = nginx.TOP
local SERVER = TOP .. "/spec/support/core/server.js"
local MINT = TOP .. "/spec/support/core/mint.js"

local core = {}
core.__index = core


local function shell_quote(s)
    return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end


function _M.start(opts)
    opts = opts or {}
    local port = opts.port or nginx.free_port()
    local state = opts.state_dir
    if not state then
        local _, out = nginx.sh("mktemp -d /tmp/st-core-XXXXXX")
        state = out:gsub("%s+$", "")
    end
    local env = {
        "CORE_PORT=" .. port,
        "CORE_STATE_DIR=" .. shell_quote(state),
        "CORE_QUIET=1",
    }
    for k, v in pairs(opts.env or {}) do
        env[#env + 1] = k .. "=" .. shell_quote(v)
    end
    local log = state .. "/server-" .. port .. ".log"
    local ok, out = nginx.sh(table.concat(env, " ") .. " nohup node "
                             .. shell_quote(SERVER) .. " > "
                             .. shell_quote(log) .. " 2>&1 & echo $!")
    assert(ok, out)
    local pid = tonumber(out:match("(%d+)%s*$"))
    local self = setmetatable({
        port = port, pid = pid, state_dir = state, log_file = log,
        url = "http://127.0.0.1:" .. port,
        own_state = opts.state_dir == nil,
    }, core)

    local deadline = socket.gettime() + 15
    while socket.gettime() < deadline do
        local res = http.request(port, { path = "/hello", timeout = 1 })
        if res and res.status == 200 then
            return self
        end
        socket.sleep(0.05)
    end
    local f = io.open(log)
    local text = f and f:read("*a") or ""
    if f then
        f:close()
    end
    self:stop()
    error("core stand-in did not start on " .. port .. ":\n" .. text, 2)
end


function core:stop()
    if self.pid then
        os.execute("kill " .. self.pid .. " 2>/dev/null")
        local deadline = socket.gettime() + 3
        while socket.gettime() < deadline and nginx.alive(self.pid) do
            socket.sleep(0.02)
        end
        os.execute("kill -9 " .. self.pid .. " 2>/dev/null")
        self.pid = nil
    end
    if self.own_state and not os.getenv("KEEP_CORE_STATE") then
        os.execute("rm -rf " .. shell_quote(self.state_dir))
    end
end


-- /__standin/<path>; returns the decoded JSON answer (or the raw body).
function core:control(method, path, body)
    local res, err = http.request(self.port, {
        method = method, path = "/__standin/" .. path, body = body,
        headers = body and { { "Content-Type", "application/json" } }
                  or nil,
    })
    assert(res, err)
    assert(res.status == 200, "control " .. path .. ": " .. res.status
                              .. " " .. res.body)
    return cjson.decode(res.body) or res.body
end


function core:jwks_count()
    return self:control("GET", "jwks-count").count
end


function core:calls(key)
    local c = self:control("GET", "counters").counters or {}
    if key then
        return c[key] or 0
    end
    return c
end


function core:log(since)
    return self:control("GET", "log?since=" .. (since or 0))
end


-- Mint several tokens with one node process; opts as mint.js's mint().
function core:mint_many(list)
    local script = table.concat({
        "const m = require(" .. cjson.encode(MINT) .. ");",
        "let s = ''; process.stdin.on('data', d => s += d);",
        "process.stdin.on('end', () => {",
        "  const out = JSON.parse(s).map(o => m.mint(o).token);",
        "  process.stdout.write(JSON.stringify(out));",
        "});",
    }, "\n")
    local input = assert(cjson.encode(list))
    local tmp = os.tmpname()
    local f = assert(io.open(tmp, "wb"))
    f:write(input)
    f:close()
    local ok, out = nginx.sh("CORE_STATE_DIR=" .. shell_quote(self.state_dir)
                             .. " CORE_URL=" .. self.url
                             .. " node -e " .. shell_quote(script)
                             .. " < " .. shell_quote(tmp))
    os.remove(tmp)
    assert(ok, out)
    local tokens = cjson.decode(out)
    assert(type(tokens) == "table", "mint failed: " .. out)
    return tokens
end


function core:mint(opts)
    return self:mint_many({ opts or {} })[1]
end


-- Kids the stand-in publishes (dynamic first, then static).
function core:jwks()
    local res = assert(http.request(self.port,
                                    { path = "/.well-known/jwks.json" }))
    return cjson.decode(res.body)
end


return _M
