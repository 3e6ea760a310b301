--- JSON with JavaScript's semantics: `JSON.parse` into an order-keeping
-- tree and `JSON.stringify` back, byte for byte as node prints it.
--
-- The SDK re-serialises token payloads (front token, claim reasons,
-- regenerate bodies) with JSON.stringify(JSON.parse(text)), so member
-- order, number formatting and string escapes must match node's; cjson
-- keeps neither order nor the empty-array/object distinction.  Used only
-- off the hot path (relays, claims, core answers).
--
-- Tree: objects and arrays are tables with the OBJECT / ARRAY metatables,
-- `null` is cjson.null, strings/numbers/booleans are Lua values and `nil`
-- plays JavaScript's `undefined`.
-- @module resty.supertokens.jsonjs

local cjson = require "cjson.safe"

local byte = string.byte
local char = string.char
local concat = table.concat
local find = string.find
local floor = math.floor
local frexp = math.frexp
local format = string.format
local getmetatable = getmetatable
local huge = math.huge
local setmetatable = setmetatable
local sub = string.sub
local tonumber = tonumber
local type = type


local _M = { _VERSION = "0.1.0" }

local NULL = cjson.null
_M.null = NULL

local OBJECT = { __name = "jsonjs.object" }
local ARRAY = { __name = "jsonjs.array" }


--- A new empty object (keys keep insertion order).
function _M.object()
    return setmetatable({ keys = {}, n = 0, map = {} }, OBJECT)
end


--- A new array from a Lua list of values (nil entries not allowed).
function _M.array(list)
    local a = { n = 0 }
    if list then
        for i = 1, #list do
            a[i] = list[i]
        end
        a.n = #list
    end
    return setmetatable(a, ARRAY)
end


function _M.is_object(v)
    return type(v) == "table" and getmetatable(v) == OBJECT
end


function _M.is_array(v)
    return type(v) == "table" and getmetatable(v) == ARRAY
end


--- `obj[key]` of JavaScript: nil (undefined) unless obj is an object.
function _M.get(obj, key)
    if type(obj) == "table" and getmetatable(obj) == OBJECT then
        return obj.map[key]
    end
    return nil
end


--- Assignment keeps an existing member's position, new members go last.
function _M.set(obj, key, value)
    local map = obj.map
    if value == nil then
        return _M.delete(obj, key)
    end
    if map[key] == nil then
        local n = obj.n + 1
        obj.n = n
        obj.keys[n] = key
    end
    map[key] = value
end


function _M.delete(obj, key)
    local map = obj.map
    if map[key] == nil then
        return
    end
    map[key] = nil
    local keys, n = obj.keys, obj.n
    for i = 1, n do
        if keys[i] == key then
            for j = i, n - 1 do
                keys[j] = keys[j + 1]
            end
            keys[n] = nil
            obj.n = n - 1
            return
        end
    end
end


--- Iterate members in order: `for k, v in jsonjs.members(obj)`.
function _M.members(obj)
    local i = 0
    local keys, map = obj.keys, obj.map
    return function()
        i = i + 1
        local k = keys[i]
        if k ~= nil then
            return k, map[k]
        end
    end
end


--- Shallow copy of an object (`{...obj}`).
function _M.copy(obj)
    local o = _M.object()
    for i = 1, obj.n do
        local k = obj.keys[i]
        o.keys[i] = k
        o.map[k] = obj.map[k]
    end
    o.n = obj.n
    return o
end


------------------------------------------------------------------------
-- JSON.parse

local WS = { [0x20] = true, [0x09] = true, [0x0a] = true, [0x0d] = true }
local ESC = {
    [0x22] = '"', [0x5c] = "\\", [0x2f] = "/", [0x62] = "\b",
    [0x66] = "\f", [0x6e] = "\n", [0x72] = "\r", [0x74] = "\t",
}


local function utf8_char(cp)
    if cp < 0x80 then
        return char(cp)
    elseif cp < 0x800 then
        return char(0xc0 + floor(cp / 0x40), 0x80 + cp % 0x40)
    elseif cp < 0x10000 then
        -- lone surrogates come out as WTF-8 and are escaped again by quote()
        return char(0xe0 + floor(cp / 0x1000),
                    0x80 + floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
    end
    return char(0xf0 + floor(cp / 0x40000), 0x80 + floor(cp / 0x1000) % 0x40,
                0x80 + floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
end
_M.utf8_char = utf8_char


local parse_value


local function skip_ws(s, i)
    local c = byte(s, i)
    while c and WS[c] do
        i = i + 1
        c = byte(s, i)
    end
    return i
end


local function parse_string(s, i)
    -- s[i] is the opening quote
    local buf, nbuf = nil, 0
    local start = i + 1
    local j = start
    while true do
        local c = byte(s, j)
        if c == nil then
            return nil, "unterminated string"
        elseif c == 0x22 then
            if not buf then
                return sub(s, start, j - 1), j + 1
            end
            nbuf = nbuf + 1
            buf[nbuf] = sub(s, start, j - 1)
            return concat(buf, "", 1, nbuf), j + 1
        elseif c < 0x20 then
            return nil, "control character in string"
        elseif c == 0x5c then
            buf = buf or {}
            nbuf = nbuf + 1
            buf[nbuf] = sub(s, start, j - 1)
            local e = byte(s, j + 1)
            if e == 0x75 then
                local hex = sub(s, j + 2, j + 5)
                if not find(hex, "^%x%x%x%x$") then
                    return nil, "bad \\u escape"
                end
                local cp = tonumber(hex, 16)
                j = j + 6
                if cp >= 0xd800 and cp <= 0xdbff
                   and sub(s, j, j + 1) == "\\u"
                then
                    local hex2 = sub(s, j + 2, j + 5)
                    local lo = find(hex2, "^%x%x%x%x$") and tonumber(hex2, 16)
                    if lo and lo >= 0xdc00 and lo <= 0xdfff then
                        cp = 0x10000 + (cp - 0xd800) * 0x400 + (lo - 0xdc00)
                        j = j + 6
                    end
                end
                nbuf = nbuf + 1
                buf[nbuf] = utf8_char(cp)
            else
                local r = e and ESC[e]
                if not r then
                    return nil, "bad escape"
                end
                nbuf = nbuf + 1
                buf[nbuf] = r
                j = j + 2
            end
            start = j
            j = j - 1
        end
        j = j + 1
    end
end


-- -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
local function parse_number(s, i)
    local j = i
    if byte(s, j) == 0x2d then
        j = j + 1
    end
    local c = byte(s, j)
    if c == 0x30 then
        j = j + 1
    elseif c and c >= 0x31 and c <= 0x39 then
        local _, e = find(s, "^%d+", j)
        j = e + 1
    else
        return nil, "bad number"
    end
    if byte(s, j) == 0x2e then
        local _, e = find(s, "^%d+", j + 1)
        if not e then
            return nil, "bad number"
        end
        j = e + 1
    end
    c = byte(s, j)
    if c == 0x65 or c == 0x45 then
        local _, e = find(s, "^[-+]?%d+", j + 1)
        if not e then
            return nil, "bad number"
        end
        j = e + 1
    end
    return tonumber(sub(s, i, j - 1)), j
end


local function parse_object(s, i, depth)
    local obj = _M.object()
    i = skip_ws(s, i + 1)
    if byte(s, i) == 0x7d then
        return obj, i + 1
    end
    while true do
        if byte(s, i) ~= 0x22 then
            return nil, "expected member name"
        end
        local key, ni = parse_string(s, i)
        if not key then
            return nil, ni
        end
        i = skip_ws(s, ni)
        if byte(s, i) ~= 0x3a then
            return nil, "expected ':'"
        end
        local val
        val, i = parse_value(s, skip_ws(s, i + 1), depth)
        if val == nil then
            return nil, i
        end
        -- JSON.parse: a repeated name keeps its first position, last value
        _M.set(obj, key, val)
        i = skip_ws(s, i)
        local c = byte(s, i)
        if c == 0x7d then
            return obj, i + 1
        elseif c ~= 0x2c then
            return nil, "expected ',' or '}'"
        end
        i = skip_ws(s, i + 1)
    end
end


local function parse_array(s, i, depth)
    local arr = setmetatable({ n = 0 }, ARRAY)
    i = skip_ws(s, i + 1)
    if byte(s, i) == 0x5d then
        return arr, i + 1
    end
    local n = 0
    while true do
        local val
        val, i = parse_value(s, i, depth)
        if val == nil then
            return nil, i
        end
        n = n + 1
        arr[n] = val
        i = skip_ws(s, i)
        local c = byte(s, i)
        if c == 0x5d then
            arr.n = n
            return arr, i + 1
        elseif c ~= 0x2c then
            return nil, "expected ',' or ']'"
        end
        i = skip_ws(s, i + 1)
    end
end


parse_value = function(s, i, depth)
    local c = byte(s, i)
    if c == 0x7b or c == 0x5b then
        if depth >= 512 then
            return nil, "too deep"
        end
        if c == 0x7b then
            return parse_object(s, i, depth + 1)
        end
        return parse_array(s, i, depth + 1)
    elseif c == 0x22 then
        return parse_string(s, i)
    elseif c == 0x74 and sub(s, i, i + 3) == "true" then
        return true, i + 4
    elseif c == 0x66 and sub(s, i, i + 4) == "false" then
        return false, i + 5
    elseif c == 0x6e and sub(s, i, i + 3) == "null" then
        return NULL, i + 4
    elseif c == 0x2d or c and c >= 0x30 and c <= 0x39 then
        return parse_number(s, i)
    end
    return nil, "unexpected character"
end


--- JSON.parse(text) -> value | nil, err
function _M.parse(text)
    if type(text) ~= "string" then
        return nil, "not a string"
    end
    local val, i = parse_value(text, skip_ws(text, 1), 0)
    if val == nil then
        return nil, i
    end
    if skip_ws(text, i) <= #text then
        return nil, "trailing characters"
    end
    return val
end


------------------------------------------------------------------------
-- JSON.stringify

-- The p-digit string m one unit up or down in its last digit, or nil
-- when that needs another number of digits (999 + 1, 100 - 1).
local function digit_step(m, up)
    local i = #m
    local d = up and 1 or -1
    local out = {}
    while i >= 1 do
        local c = byte(m, i) - 48 + d
        if c == 10 then
            out[i], d = "0", 1
        elseif c == -1 then
            out[i], d = "9", -1
        else
            out[i], d = char(48 + c), 0
            break
        end
        i = i - 1
    end
    if d ~= 0 or (i == 1 and out[1] == "0") then
        return nil
    end
    return sub(m, 1, i - 1) .. concat(out, "", i, #m)
end


-- Number.prototype.toString(): shortest round-trip digits, exponent form
-- outside [1e-7, 1e21).
local function number_tostring(x)
    if x ~= x or x == huge or x == -huge then
        return nil
    end
    if x == 0 then
        return "0"
    end
    local sign = ""
    if x < 0 then
        sign = "-"
        x = -x
    end
    local digits, exp
    -- x = 2^k: the doubles below x are half as far apart as those above
    local pow2 = frexp(x) == 0.5
    for p = 1, 17 do
        local s = format("%." .. (p - 1) .. "e", x)
        local back = tonumber(s)
        if back == x or pow2 and p > 1 then
            local m, e = s:match("^(%d[%.%d]*)e([-+]%d+)$")
            m = m:gsub("%.", "")
            e = tonumber(e)
            if back == x then
                -- Half way between two p-digit values (x's exact digits
                -- are these p and a 5), string.format rounds away from
                -- zero; ECMAScript takes the even one when both read back
                -- (1979761527839043.25 is ...043.2).  Both can read back
                -- only from 16 digits on: below, half a unit of the last
                -- digit is more than half the gap between doubles.
                local tail = p >= 16 and format("%." .. (p + 24) .. "e", x)
                                         :match("^%d%.?(%d*)e"):sub(p)
                if tail and tail:match("^50*$") and byte(m, #m) % 2 == 1
                then
                    local t = digit_step(m, false)
                    if t and tonumber(t .. "e" .. (e - p + 1)) == x then
                        m = t
                    end
                end
                digits, exp = m, e
                break
            end
            -- At a power of two the nearest p digits may miss x while the
            -- next p digits on x's side still read back as x.  ECMAScript
            -- takes the fewest digits that read back (2^-44 is
            -- 5.684341886080802e-14, whose nearest 16 digits ...8015 do
            -- not).
            local t = digit_step(m, back < x)
            if t and tonumber(t .. "e" .. (e - p + 1)) == x then
                digits, exp = t, e
                break
            end
        end
    end
    digits = digits:gsub("0+$", "")
    if digits == "" then
        digits = "0"
    end
    local k = #digits
    local n = exp + 1
    local out
    if k <= n and n <= 21 then
        out = digits .. ("0"):rep(n - k)
    elseif 0 < n and n <= 21 then
        out = sub(digits, 1, n) .. "." .. sub(digits, n + 1)
    elseif -6 < n and n <= 0 then
        out = "0." .. ("0"):rep(-n) .. digits
    else
        local e = n - 1
        local es = e < 0 and ("-" .. -e) or ("+" .. e)
        if k == 1 then
            out = digits .. "e" .. es
        else
            out = sub(digits, 1, 1) .. "." .. sub(digits, 2) .. "e" .. es
        end
    end
    return sign .. out
end
_M.number_tostring = number_tostring


local QUOTE_ESC = {
    ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
    ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}
for c = 0, 0x1f do
    local ch = char(c)
    if not QUOTE_ESC[ch] then
        QUOTE_ESC[ch] = format("\\u%04x", c)
    end
end


local function surrogate_escape(s)
    -- WTF-8 lone surrogate (ED A0..BF xx) -> \udXXX like JSON.stringify
    local b2, b3 = byte(s, 2, 3)
    local cp = 0xd000 + (b2 - 0x80) * 0x40 + (b3 - 0x80)
    return format("\\u%04x", cp)
end


--- JSON.stringify of a string (with the quotes).
local function quote(s)
    if find(s, '[%c"\\\237]') then
        s = s:gsub('[%z\1-\31"\\]', QUOTE_ESC)
        if find(s, "\237", 1, true) then
            s = s:gsub("\237[\160-\191][\128-\191]", surrogate_escape)
        end
    end
    return '"' .. s .. '"'
end
_M.quote = quote


local stringify


-- Whether a member name is an array index ("0", "7", "42", below
-- 2^32 - 1): JavaScript lists those first, in ascending order, then the
-- other names in the order they were made.
local function is_index(k)
    local c = byte(k, 1)
    if c == nil or c < 48 or c > 57 or (c == 48 and #k > 1)
       or find(k, "[^0-9]") or #k > 10
    then
        return false
    end
    return tonumber(k) < 4294967295
end


-- The member names of obj in JavaScript's order (OrdinaryOwnPropertyKeys).
local function js_keys(obj)
    local keys, n = obj.keys, obj.n
    local index
    for i = 1, n do
        if is_index(keys[i]) then
            index = index or {}
            index[#index + 1] = keys[i]
        end
    end
    if not index then
        return keys, n
    end
    table.sort(index, function(a, b) return tonumber(a) < tonumber(b) end)
    local m = #index
    for i = 1, n do
        if not is_index(keys[i]) then
            m = m + 1
            index[m] = keys[i]
        end
    end
    return index, m
end


local function stringify_into(v, buf, n)
    local t = type(v)
    if t == "string" then
        n = n + 1
        buf[n] = quote(v)
    elseif t == "number" then
        n = n + 1
        buf[n] = number_tostring(v) or "null"
    elseif t == "boolean" then
        n = n + 1
        buf[n] = v and "true" or "false"
    elseif v == NULL then
        n = n + 1
        buf[n] = "null"
    elseif t == "table" and getmetatable(v) == OBJECT then
        n = n + 1
        buf[n] = "{"
        local first = true
        local map = v.map
        local keys, nk = js_keys(v)
        for i = 1, nk do
            local k = keys[i]
            local val = map[k]
            local vt = type(val)
            if val ~= nil and vt ~= "function" then
                if not first then
                    n = n + 1
                    buf[n] = ","
                end
                first = false
                n = n + 1
                buf[n] = quote(k)
                n = n + 1
                buf[n] = ":"
                n = stringify_into(val, buf, n)
            end
        end
        n = n + 1
        buf[n] = "}"
    elseif t == "table" and getmetatable(v) == ARRAY then
        n = n + 1
        buf[n] = "["
        for i = 1, v.n do
            if i > 1 then
                n = n + 1
                buf[n] = ","
            end
            if v[i] == nil then
                n = n + 1
                buf[n] = "null"
            else
                n = stringify_into(v[i], buf, n)
            end
        end
        n = n + 1
        buf[n] = "]"
    else
        n = n + 1
        buf[n] = "null"
    end
    return n
end


--- JSON.stringify(value) -> text (nil for undefined)
stringify = function(v)
    if v == nil then
        return nil
    end
    local buf = {}
    local n = stringify_into(v, buf, 0)
    return concat(buf, "", 1, n)
end
_M.stringify = stringify


--- JSON.stringify(JSON.parse(text)) -> text | nil, err
function _M.normalize(text)
    local v, err = _M.parse(text)
    if v == nil then
        return nil, err
    end
    return stringify(v)
end


--- The tree as plain Lua values, the way cjson would decode the text.
function _M.to_plain(v)
    if type(v) ~= "table" then
        return v
    end
    local out = {}
    if getmetatable(v) == OBJECT then
        for i = 1, v.n do
            local k = v.keys[i]
            out[k] = _M.to_plain(v.map[k])
        end
    else
        for i = 1, v.n do
            out[i] = _M.to_plain(v[i])
        end
    end
    return out
end


return _M
