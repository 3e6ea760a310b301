--- Shared helpers of the `stjwt` subcommands (CLI only, never loaded by
-- the gateway): argument parsing, base64url, shell quoting, files, JWKS
-- loading from a file or over HTTP(S) with curl.
-- @module resty.supertokens.cli.util

local io = io
local os = os
local type = type
local tostring = tostring
local tonumber = tonumber
local floor = math.floor
local str_char = string.char
local str_byte = string.byte
local str_format = string.format
local tbl_concat = table.concat

local _M = { _VERSION = "0.1.0" }

_M.EXIT_OK, _M.EXIT_REJECTED, _M.EXIT_USAGE = 0, 1, 2

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
               .. "0123456789-_"


local function encode(s, alphabet, pad)
    local out = {}
    local n = #s
    for i = 1, n, 3 do
        local a, b, c = str_byte(s, i, i + 2)
        local v = a * 65536 + (b or 0) * 256 + (c or 0)
        local c1 = floor(v / 262144) % 64 + 1
        local c2 = floor(v / 4096) % 64 + 1
        local c3 = floor(v / 64) % 64 + 1
        local c4 = v % 64 + 1
        out[#out + 1] = alphabet:sub(c1, c1) .. alphabet:sub(c2, c2)
                        .. (b and alphabet:sub(c3, c3) or (pad and "=" or ""))
                        .. (c and alphabet:sub(c4, c4) or (pad and "=" or ""))
    end
    return tbl_concat(out)
end


--- base64url without padding (JWS segments).
function _M.b64url(s)
    return encode(s, B64URL, false)
end


--- Standard base64 with padding (SuperTokens v1/v2 tokens).
function _M.b64(s)
    return encode(s, B64, true)
end


--- Lenient decode of base64 or base64url, padded or not (display only).
-- @treturn string|nil
function _M.b64_decode(s)
    local map = {}
    for i = 1, 64 do
        map[str_byte(B64, i)] = i - 1
    end
    map[str_byte("-")], map[str_byte("_")] = 62, 63
    local out, acc, nbits = {}, 0, 0
    for i = 1, #s do
        local c = str_byte(s, i)
        if c ~= 61 then
            local v = map[c]
            if not v then
                return nil
            end
            acc = acc * 64 + v
            nbits = nbits + 6
            if nbits >= 8 then
                nbits = nbits - 8
                local byte = floor(acc / 2 ^ nbits)
                out[#out + 1] = str_char(byte)
                acc = acc - byte * 2 ^ nbits
            end
        end
    end
    return tbl_concat(out)
end


--- Hex digits to bytes.
function _M.unhex(h)
    if #h % 2 == 1 then
        h = "0" .. h
    end
    return (h:gsub("..", function(x) return str_char(tonumber(x, 16)) end))
end


--- Quote one word for /bin/sh.
function _M.sh_quote(s)
    return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end


function _M.read_file(path)
    local f, err = io.open(path, "rb")
    if not f then
        return nil, err
    end
    local data, rerr = f:read("*a")
    f:close()
    if not data then
        -- a directory opens but does not read
        return nil, path .. ": " .. tostring(rerr or "cannot be read")
    end
    return data
end


function _M.write_file(path, data, mode)
    local f, err = io.open(path, "wb")
    if not f then
        return nil, err
    end
    f:write(data)
    f:close()
    if mode then
        os.execute("chmod " .. mode .. " " .. _M.sh_quote(path))
    end
    return true
end


--- Run a shell command; returns its stdout, whether it exited 0, and its
-- stderr (kept in a temp file, for error messages).
-- LuaJIT's popen():close() does not report the exit status, so the
-- status travels as a trailer line on stdout.
function _M.run(cmd)
    local errfile = os.tmpname()
    local p = io.popen("( " .. cmd .. " ) 2>" .. _M.sh_quote(errfile)
                       .. "; printf '\\n%d' $?")
    local raw = p:read("*a") or ""
    p:close()
    local err = _M.read_file(errfile) or ""
    os.remove(errfile)
    local out, code = raw:match("^(.*)\n(%d+)$")
    return out or raw, tonumber(code) == 0, err
end


--- Parse `--name value`, `--name=value` and flags.
-- spec: name -> "flag" | "value" | "list".  Returns opts, positionals or
-- nil, message.
function _M.parse_args(argv, spec)
    local opts, pos = {}, {}
    local i = 1
    while i <= #argv do
        local a = argv[i]
        if a == "--" then
            for j = i + 1, #argv do
                pos[#pos + 1] = argv[j]
            end
            break
        end
        local name, inline = a:match("^%-%-([%w%-]+)=(.*)$")
        name = name or a:match("^%-%-([%w%-]+)$")
        if name then
            local kind = spec[name]
            if not kind then
                return nil, "unknown option --" .. name
            end
            if kind == "flag" then
                if inline then
                    return nil, "--" .. name .. " takes no value"
                end
                opts[name] = true
            else
                local val = inline
                if val == nil then
                    i = i + 1
                    val = argv[i]
                    if val == nil then
                        return nil, "--" .. name .. " needs a value"
                    end
                end
                if kind == "list" then
                    opts[name] = opts[name] or {}
                    opts[name][#opts[name] + 1] = val
                else
                    opts[name] = val
                end
            end
        elseif a ~= "-" and a:sub(1, 1) == "-" and not a:match("^%-%d") then
            return nil, "unknown option " .. a
        else
            pos[#pos + 1] = a
        end
        i = i + 1
    end
    return opts, pos
end


--- "3 min 12 s", "2 h 5 min", "4 d 3 h", "0.4 s".
function _M.duration(seconds)
    seconds = math.abs(seconds)
    if seconds < 1 then
        return str_format("%.1f s", seconds)
    end
    seconds = floor(seconds)
    local d = floor(seconds / 86400)
    local h = floor(seconds % 86400 / 3600)
    local m = floor(seconds % 3600 / 60)
    local s = seconds % 60
    if d > 0 then
        return h > 0 and str_format("%d d %d h", d, h) or d .. " d"
    elseif h > 0 then
        return m > 0 and str_format("%d h %d min", h, m) or h .. " h"
    elseif m > 0 then
        return s > 0 and str_format("%d min %d s", m, s) or m .. " min"
    end
    return s .. " s"
end


--- UTC date of a Unix time, for humans.
function _M.utc(seconds)
    if type(seconds) ~= "number" or seconds ~= seconds
       or seconds > 253402300799 or seconds < -62135596800 then
        return tostring(seconds)
    end
    return os.date("!%Y-%m-%d %H:%M:%S UTC", floor(seconds))
end


--- A command-line number of seconds: decimal digits with an optional
-- sign and fraction ("1700000000", "-10", "2.5").  nil for anything else
-- (hex, exponents, "nan", "inf", or digits too many for a finite number).
-- @treturn number|nil
function _M.seconds(s)
    if type(s) == "number" then
        s = tostring(s)
    end
    if type(s) ~= "string"
       or not (s:match("^-?%d+$") or s:match("^-?%d+%.%d+$"))
    then
        return nil
    end
    local n = tonumber(s)
    if n == nil or n ~= n or n == math.huge or n == -math.huge then
        return nil
    end
    return n
end


--- Bytes of an untrusted token for a terminal: printable ASCII as it is,
-- every other byte as \xHH, cut after `max` bytes.
-- @treturn string
function _M.printable(s, max)
    local cut = max and #s > max
    if cut then
        s = s:sub(1, max)
    end
    s = s:gsub("[^\32-\126]", function(c)
        return ("\\x%02x"):format(c:byte())
    end)
    if cut then
        s = s .. " ... (" .. max .. " bytes shown)"
    end
    return s
end


--- Load JWKS text from a file or an http(s) URL.
-- URLs go through `curl -fsS --max-time 5` (the CLI is never on the
-- request path, so a blocking fetch is fine here).
-- @treturn string|nil JWKS text
-- @treturn string|nil error
function _M.load_jwks(spec)
    if type(spec) ~= "string" or spec == "" then
        return nil, "no JWKS given"
    end
    if spec:match("^[Hh][Tt][Tt][Pp][Ss]?://") then
        if spec:find("[%c ]") then
            return nil, "JWKS URL contains spaces or control characters"
        end
        local body, ok, err = _M.run("curl -fsS --max-time 5 "
                                     .. "--proto =http,https -- "
                                     .. _M.sh_quote(spec))
        if not ok then
            err = err:gsub("%s+$", "")
            -- the URL without credentials or query (an API key, say)
            local shown = spec:gsub("^(%a+://)[^/@]*@", "%1")
                              :gsub("[?#].*$", "")
            return nil, "cannot fetch JWKS from " .. shown .. ": "
                        .. (err ~= "" and err or "curl failed")
        end
        return body
    end
    local data, err = _M.read_file(spec)
    if not data then
        return nil, "cannot read JWKS file: " .. tostring(err)
    end
    return data
end


--- An output sink: a file handle, or a table collecting strings
-- (tests), behind one `write(...)` method.
function _M.sink(target)
    if target == nil then
        return nil
    end
    if io.type(target) == "file" then
        return target
    end
    return {
        write = function(_, ...)
            local n = select("#", ...)
            for i = 1, n do
                target[#target + 1] = tostring((select(i, ...)))
            end
        end,
    }
end


return _M
