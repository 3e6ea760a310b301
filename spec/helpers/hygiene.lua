-- Secrets hygiene for the test suites: what the suites sent (tokens, API
-- keys, key material) is registered here, what nginx and the gateway wrote
-- (error logs, response bodies) is collected here, and
-- spec/59-secrets_hygiene_spec.lua scans the one for the other at the end
-- of `make test`.
--
--   local hygiene = require "spec.helpers.hygiene"
--   hygiene.register_token(token)         -- every token a spec sends
--   hygiene.register_secret("api_key", k) -- API keys, JWK n values, PEMs
--   hygiene.record(res, "label")          -- a response (spec.helpers.http)
--   hygiene.collect(instance, "label")    -- an nginx instance's logs,
--                                         -- before instance:stop()
--   local findings = hygiene.scan(text, hygiene.load_registry())
--
-- Everything lives under build/test-logs/ (ST_TEST_LOG_DIR overrides):
--   nginx-*.log        collected error/access logs
--   bodies-<pid>.txt   recorded response bodies
--   tokens-<pid>.txt   registered token segments, one per line
--   secrets-<pid>.txt  "<kind>\t<value>" lines
-- Files are per process and appended to, so parallel busted runs do not
-- mix lines.  The hygiene spec removes them after a clean scan.
--
-- One-line hook for spec/helpers/nginx.lua, instance:stop(), after nginx
-- has exited and before the prefix is removed (owned by the OpenResty
-- shell helper; proposed in /work/team/BUGS-hardening.md):
--   pcall(function() require("spec.helpers.hygiene").collect(self) end)

local _M = {}

local byte, sub, find, gmatch = string.byte, string.sub, string.find,
                              string.gmatch
local concat = table.concat

-- Window length for token-segment matching: a leak of this many
-- consecutive characters of a registered segment is a finding.  40 is the
-- brief's threshold; random base64url runs of 40 characters do not repeat
-- by chance.
_M.WINDOW = 40
-- Registered segments are indexed every STRIDE characters; a leaked run of
-- WINDOW + STRIDE - 1 characters always contains one indexed window.
local STRIDE = 8
-- Segments are registered up to this length (a 1 MB junk token need not
-- be indexed in full to be recognised).
local MAX_SEGMENT = 8192


local function top_dir()
    local src = debug.getinfo(1, "S").source:sub(2)
    local dir = src:match("^(.*)/spec/helpers/hygiene%.lua$")
    if not dir or dir == "" then
        return "."
    end
    if sub(dir, 1, 1) ~= "/" then
        local p = io.popen("cd '" .. dir .. "' && pwd")
        dir = p:read("*l")
        p:close()
    end
    return dir
end

_M.TOP = top_dir()


function _M.dir()
    return os.getenv("ST_TEST_LOG_DIR") or (_M.TOP .. "/build/test-logs")
end


local made = {}
local function ensure_dir()
    local d = _M.dir()
    if not made[d] then
        os.execute("mkdir -p '" .. d .. "'")
        made[d] = true
    end
    return d
end


local function pid()
    local f = io.open("/proc/self/stat")
    local s = f and f:read("*l") or ""
    if f then
        f:close()
    end
    return s:match("^(%d+)") or "0"
end
local PID = pid()


local function append(name, text)
    local d = ensure_dir()
    local f = io.open(d .. "/" .. name, "ab")
    if not f then
        return false
    end
    f:write(text)
    f:close()
    return true
end


local read_file = require("spec.helpers.files").read
_M.read_file = read_file


------------------------------------------------------------------------
-- registering what the suites send
------------------------------------------------------------------------

--- Registers the segments of a token (any string with '.' separators).
-- Only segments of at least WINDOW characters can be recognised.
function _M.register_token(token)
    if type(token) ~= "string" then
        return
    end
    local lines = {}
    for seg in gmatch(token, "[^.]+") do
        -- segments may carry '=' padding (legacy v2) or spaces (attacks);
        -- index the base64 runs inside them
        for run in gmatch(seg, "[%w%-_+/]+") do
            if #run >= _M.WINDOW then
                lines[#lines + 1] = sub(run, 1, MAX_SEGMENT)
            end
        end
    end
    if #lines > 0 then
        append("tokens-" .. PID .. ".txt", concat(lines, "\n") .. "\n")
    end
end


--- Registers a secret string (API key, JWK "n", PEM body line, ...).
function _M.register_secret(kind, value)
    if type(value) ~= "string" or #value < 8 then
        return
    end
    value = value:gsub("[\r\n\t]", " ")
    append("secrets-" .. PID .. ".txt", kind .. "\t" .. value .. "\n")
end


--- Records a response of spec.helpers.http (status line and body).
function _M.record(res, label)
    if type(res) ~= "table" or type(res.body) ~= "string" then
        return
    end
    append("bodies-" .. PID .. ".txt",
           "=== " .. tostring(label or "-") .. " " .. tostring(res.status)
           .. " " .. #res.body .. "\n" .. res.body .. "\n")
end


local seq = 0

--- Copies the logs of an nginx instance (spec.helpers.nginx start /
-- supertokens / gateway) into the log dir.  Call it before stop() (the
-- prefix is removed there) or from stop() itself.
function _M.collect(instance, label)
    if type(instance) ~= "table" or not instance.prefix
       or instance.hygiene_collected then
        return
    end
    -- once per instance: a spec may collect before stop() and stop() may
    -- collect again (HOOK-1)
    instance.hygiene_collected = true
    seq = seq + 1
    local base = "nginx-" .. (label or "x"):gsub("[^%w_-]", "_") .. "-"
                 .. PID .. "-" .. os.time() .. "-" .. seq
    local p = io.popen("ls '" .. instance.prefix .. "'/logs/*.log '"
                       .. instance.prefix .. "'/*.log 2>/dev/null")
    local n = 0
    for path in p:lines() do
        local text = read_file(path)
        if text and #text > 0 then
            n = n + 1
            append(base .. "-" .. n .. ".log", text)
        end
    end
    p:close()
    return n
end


------------------------------------------------------------------------
-- scanning
------------------------------------------------------------------------

-- A window of a random token has ~30 distinct characters; filler such
-- as "AAAA..." (junk signatures of attack tokens) would match any run of
-- the same filler in a log (a logged junk kid), so it is not indexed.
local function random_enough(w)
    local seen, n = {}, 0
    for i = 1, #w do
        local c = byte(w, i)
        if not seen[c] then
            seen[c] = true
            n = n + 1
            if n >= 12 then
                return true
            end
        end
    end
    return false
end


--- Indexes one registered segment into reg.windows.
function _M.add_segment(reg, seg)
    local W = _M.WINDOW
    if #seg < W then
        return
    end
    reg.n_segments = reg.n_segments + 1
    local function add(w)
        if random_enough(w) then
            reg.windows[w] = true
        end
    end
    for i = 1, #seg - W + 1, STRIDE do
        add(sub(seg, i, i + W - 1))
    end
    add(sub(seg, -W))
end


--- The registry: { windows = { [40 chars] = true }, secrets = { {kind,
-- value} }, n_tokens = n } from every tokens-*.txt / secrets-*.txt in the
-- log dir, plus extra segments / secrets passed in.
function _M.load_registry(extra_segments, extra_secrets)
    local reg = { windows = {}, secrets = {}, n_segments = 0 }
    local function add_segment(seg)
        _M.add_segment(reg, seg)
    end
    local d = _M.dir()
    local p = io.popen("ls '" .. d .. "'/tokens-*.txt '" .. d
                       .. "'/secrets-*.txt 2>/dev/null")
    for path in p:lines() do
        local text = read_file(path) or ""
        if find(path, "/tokens-[^/]*$") then
            for line in gmatch(text, "[^\n]+") do
                add_segment(line)
            end
        else
            for kind, value in gmatch(text, "([^\t\n]+)\t([^\n]+)") do
                reg.secrets[#reg.secrets + 1] = { kind, value }
            end
        end
    end
    p:close()
    for _, s in ipairs(extra_segments or {}) do
        add_segment(s)
    end
    for _, s in ipairs(extra_secrets or {}) do
        reg.secrets[#reg.secrets + 1] = s
    end
    return reg
end


-- A finding shows where, never the secret itself: a few characters and a
-- length are enough to find it again.
local function mask(s)
    if #s <= 8 then
        return "<" .. #s .. " chars>"
    end
    return sub(s, 1, 4) .. "..." .. "<" .. #s .. " chars>"
end
_M.mask = mask


local function line_of(text, pos)
    local n = 1
    for _ in gmatch(sub(text, 1, pos), "\n") do
        n = n + 1
    end
    return n
end


local PEM_MARKERS = {
    "-----BEGIN ", "PRIVATE KEY-----", "PUBLIC KEY-----",
}

-- Base64 text of a DER RSA public/private key (SPKI "MIIBIj", PKCS#8
-- "MIIEv"/"MIIEp"): key material even without PEM armour.
local DER_PREFIXES = { "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A",
                       "MIIEvgIBADANBgkqhkiG9w0BAQEFAASC",
                       "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
                       "MIIEpAIBAAKCAQEA", "MIIEowIBAAKCAQEA" }


--- scan(text, reg, opts) -> list of { kind, line, excerpt }.
-- opts.eyj = true (default): a run "eyJ" + >= 20 base64url characters is
-- a JOSE header / JSON payload segment, unless opts.allow_eyj(run) says
-- it is fine (e.g. a front-token in a recorded header).
function _M.scan(text, reg, opts)
    opts = opts or {}
    local findings = {}
    local function add(kind, pos, what)
        if #findings < 50 then
            findings[#findings + 1] = { kind = kind, line = line_of(text, pos),
                                        excerpt = mask(what) }
        end
    end

    for _, m in ipairs(PEM_MARKERS) do
        local pos = find(text, m, 1, true)
        if pos then
            add("pem_marker", pos, m)
        end
    end
    for _, m in ipairs(DER_PREFIXES) do
        local pos = find(text, m, 1, true)
        if pos then
            add("der_key", pos, m)
        end
    end

    for _, s in ipairs(reg.secrets or {}) do
        local pos = find(text, s[2], 1, true)
        if pos then
            add("secret:" .. s[1], pos, s[2])
        end
    end

    local W = _M.WINDOW
    local windows = reg.windows or {}
    local check_eyj = opts.eyj ~= false
    -- runs of base64 / base64url characters
    local pos = 1
    while true do
        local s, e = find(text, "[%w%-_+/]+", pos)
        if not s then
            break
        end
        local len = e - s + 1
        if len >= W then
            for i = s, e - W + 1 do
                if windows[sub(text, i, i + W - 1)] then
                    add("token_segment", i, sub(text, i, i + W - 1))
                    break
                end
            end
        end
        if check_eyj and len >= 23 then
            local i = find(text, "eyJ", s, true)
            while i and i + 22 <= e do
                local run = text:match("^eyJ[%w%-_]+", i)
                if run and #run >= 23
                   and not (opts.allow_eyj and opts.allow_eyj(run)) then
                    add("jose_segment", i, run)
                    break
                end
                i = find(text, "eyJ", i + 3, true)
                if i and i > e then
                    break
                end
            end
        end
        pos = e + 1
    end
    return findings
end


return _M
