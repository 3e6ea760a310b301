-- Checks that lua/resty/supertokens/ffi.lua mirrors csrc/stjwt.h:
--   * the same exported functions, with the same declarations,
--   * the same struct layouts (field types and names, in order),
--   * the same enum values and #define flag values in its constants,
--   * and that no other Lua file declares stjwt_ symbols with ffi.cdef.
-- Usage: luajit tools/check-cdef.lua [TOP]   (exit 1 on any difference)
-- Reads files only; the library does not need to be built.

local top = arg[1] or "."
local HEADER = top .. "/csrc/stjwt.h"
local FFI_LUA = top .. "/lua/resty/supertokens/ffi.lua"

local failures = 0

local function fail(fmt, ...)
    failures = failures + 1
    io.stderr:write("check-cdef: ", string.format(fmt, ...), "\n")
end

local function slurp(path)
    local f, err = io.open(path, "rb")
    if not f then
        io.stderr:write("check-cdef: ", err, "\n")
        os.exit(2)
    end
    local s = f:read("*a")
    f:close()
    return s
end

local function strip_comments(s)
    s = s:gsub("/%*.-%*/", " ")
    s = s:gsub("//[^\n]*", " ")
    return s
end

local function squash(s)
    s = s:gsub("%s+", " ")
    s = s:gsub(" ?([%(%)%*,;{}]) ?", "%1")
    return (s:gsub("^ ", ""):gsub(" $", ""))
end

-- C declarations: function name -> normalised declaration.
local function functions(src, export_only)
    local out, order = {}, {}
    for stmt in src:gmatch("[^;{}]+;") do
        stmt = stmt:gsub("#[^\n]*", "")
        if (not export_only or stmt:find("STJWT_EXPORT", 1, true))
           and stmt:find("(", 1, true) and not stmt:find("typedef", 1, true)
        then
            stmt = stmt:gsub("STJWT_EXPORT", ""):gsub("STJWT_WARN_UNUSED", "")
            local name = stmt:match("([%w_]+)%s*%(")
            if name then
                out[name] = squash(stmt)
                order[#order + 1] = name
            end
        end
    end
    return out, order
end

local function structs(src)
    local out = {}
    for body, name in src:gmatch("typedef%s+struct%s+[%w_]+%s*(%b{})%s*"
                                 .. "([%w_]+)%s*;") do
        out[name] = squash(body)
    end
    return out
end

local function enums(src)
    local out = {}
    for body, name in src:gmatch("typedef%s+enum%s*(%b{})%s*([%w_]+)%s*;") do
        local vals, n = {}, -1
        for item in body:sub(2, -2):gmatch("[^,]+") do
            local id, val = item:match("^%s*([%w_]+)%s*=%s*(%w+)%s*$")
            if not id then
                id = item:match("^%s*([%w_]+)%s*$")
            end
            if id then
                n = val and tonumber(val) or n + 1
                vals[#vals + 1] = { id, n }
            end
        end
        out[name] = vals
    end
    return out
end

local function defines(src)
    local out = {}
    for name, val in src:gmatch("#define%s+(STJWT_[%w_]+)%s+(0?x?%x+)u?") do
        out[name] = tonumber(val)
    end
    return out
end

-- Constant tables in ffi.lua: `_M.RC = { OK = 0, ... }` and
-- `_M.OPT_OPAQUE_PAYLOAD = 0x1`.
local function lua_table(src, tname)
    local body = src:match("_M%." .. tname .. "%s*=%s*(%b{})")
    if not body then
        return nil
    end
    local t = {}
    for k, v in body:gmatch("([%w_]+)%s*=%s*(0?x?%x+)") do
        t[k] = tonumber(v)
    end
    return t
end

local header = strip_comments(slurp(HEADER))
local ffi_src = slurp(FFI_LUA)
local cdef = ffi_src:match("ffi%.cdef%s*%[(%b[])%]")
if not cdef then
    fail("%s: no ffi.cdef[[ ... ]] block", FFI_LUA)
    os.exit(1)
end
cdef = strip_comments(cdef:sub(2, -2))

-- 1. functions
local hfun, horder = functions(header, true)
local cfun = functions(cdef, false)
for _, name in ipairs(horder) do
    if not cfun[name] then
        fail("function %s is exported by stjwt.h but missing from ffi.lua",
             name)
    elseif cfun[name] ~= hfun[name] then
        fail("function %s differs:\n  header: %s\n  cdef:   %s", name,
             hfun[name], cfun[name])
    end
end
for name in pairs(cfun) do
    if not hfun[name] then
        fail("function %s is in ffi.lua but not exported by stjwt.h", name)
    end
end

-- 2. structs
local hst, cst = structs(header), structs(cdef)
for name, body in pairs(hst) do
    if not cst[name] then
        fail("struct %s is missing from ffi.lua", name)
    elseif cst[name] ~= body then
        fail("struct %s differs:\n  header: %s\n  cdef:   %s", name, body,
             cst[name])
    end
end
for name in pairs(cst) do
    if not hst[name] then
        fail("struct %s is in ffi.lua but not in stjwt.h", name)
    end
end

-- 3. enums -> constant tables
local ENUM_TABLES = {
    stjwt_rc_e = { "RC", "^STJWT_" },
    stjwt_alg_e = { "ALG", "^STJWT_ALG_" },
    stjwt_json_type_e = { "JSON", "^STJWT_JSON_" },
}
local henum = enums(header)
for ename, spec in pairs(ENUM_TABLES) do
    local tname, prefix = spec[1], spec[2]
    local lt = lua_table(ffi_src, tname)
    if not henum[ename] then
        fail("enum %s not found in stjwt.h", ename)
    elseif not lt then
        fail("_M.%s not found in ffi.lua", tname)
    else
        local seen = {}
        for _, pair in ipairs(henum[ename]) do
            local key = pair[1]:gsub(prefix, "")
            seen[key] = true
            if lt[key] ~= pair[2] then
                fail("%s.%s is %s in ffi.lua, %d in stjwt.h (%s)", tname, key,
                     tostring(lt[key]), pair[2], pair[1])
            end
        end
        for key in pairs(lt) do
            if not seen[key] then
                fail("%s.%s is in ffi.lua but not in enum %s", tname, key,
                     ename)
            end
        end
    end
end
for ename in pairs(henum) do
    if not ENUM_TABLES[ename] then
        fail("enum %s in stjwt.h has no constant table in ffi.lua", ename)
    end
end

-- 4. #defines that carry values
for name, val in pairs(defines(header)) do
    local key = name:gsub("^STJWT_", "")
    local lval = ffi_src:match("_M%." .. key .. "%s*=%s*(0?x?%x+)")
    if not lval then
        fail("#define %s has no _M.%s in ffi.lua", name, key)
    elseif tonumber(lval) ~= val then
        fail("_M.%s is %s in ffi.lua, %d in stjwt.h", key, lval, val)
    end
end

-- 5. nobody else declares our symbols
local p = io.popen("grep -rlE 'cdef' " .. top .. "/lua " .. top
                   .. "/bin 2>/dev/null")
for path in p:lines() do
    if not path:find("resty/supertokens/ffi.lua", 1, true) then
        local src = slurp(path)
        for block in src:gmatch("cdef%s*(%b[])") do
            if block:find("stjwt_", 1, true) then
                fail("%s declares stjwt_ symbols; only ffi.lua may", path)
            end
        end
        for block in src:gmatch("cdef%s*%(?%s*(%b\"\")") do
            if block:find("stjwt_", 1, true) then
                fail("%s declares stjwt_ symbols; only ffi.lua may", path)
            end
        end
    end
end
p:close()

if failures > 0 then
    io.stderr:write(string.format("check-cdef: %d difference(s)\n",
                                  failures))
    os.exit(1)
end
print(string.format("check-cdef: ok (%d functions, %d structs, %d enums)",
                    #horder, (function()
                        local n = 0
                        for _ in pairs(hst) do n = n + 1 end
                        return n
                    end)(), 3))
