--- Public Suffix List lookups, as tldts `parse(host, {allowPrivateDomains:
-- true})` does them for the SDK's default cookieSameSite: ICANN and
-- private rules, wildcards, exceptions, and the implicit "*" rule.
-- Loaded once from a file (Debian package `publicsuffix`).
-- @module resty.supertokens.psl

local concat = table.concat
local find = string.find
local io_open = io.open
local match = string.match
local sub = string.sub
local tostring = tostring


local _M = { _VERSION = "0.1.0" }

_M.DEFAULT_PATH = "/usr/share/publicsuffix/public_suffix_list.dat"

local loaded = {}


--- Load (and cache) a list.  Returns list | nil, err.
function _M.load(path)
    path = path or _M.DEFAULT_PATH
    if loaded[path] then
        return loaded[path]
    end
    local f, err = io_open(path, "rb")
    if not f then
        return nil, "cannot read public suffix list: " .. tostring(err)
    end
    local rules, wild, except = {}, {}, {}
    local n = 0
    for line in f:lines() do
        local rule = match(line, "^%s*([^%s]+)")
        if rule and sub(rule, 1, 2) ~= "//" then
            rule = rule:lower()
            n = n + 1
            if sub(rule, 1, 1) == "!" then
                except[sub(rule, 2)] = true
            elseif sub(rule, 1, 2) == "*." then
                wild[sub(rule, 3)] = true
            else
                rules[rule] = true
            end
        end
    end
    f:close()
    if n == 0 then
        return nil, "empty public suffix list: " .. path
    end
    local list = { rules = rules, wild = wild, except = except }
    loaded[path] = list
    return list
end


--- The public suffix of a lower-case hostname: an exception rule wins,
-- else the longest normal or wildcard rule, else the last label ("*").
function _M.suffix(list, host)
    local labels = {}
    for l in host:gmatch("[^.]+") do
        labels[#labels + 1] = l
    end
    local nl = #labels
    local best
    for i = 1, nl do
        local cand = concat(labels, ".", i, nl)
        if list.except[cand] then
            return concat(labels, ".", i + 1, nl)
        end
        if not best
           and (list.rules[cand]
                or i < nl and list.wild[concat(labels, ".", i + 1, nl)])
        then
            best = cand
        end
    end
    return best or labels[nl]
end


--- Registrable domain (suffix plus one label) and the suffix; domain is
-- nil when the host is itself a suffix or not a valid hostname.
function _M.domain(list, host)
    if host == "" or find(host, "^%.") or find(host, "%.%.")
       or find(host, "[^%w%.%-_]")
    then
        return nil, nil
    end
    host = host:gsub("%.$", "")
    local suffix = _M.suffix(list, host)
    if not suffix or suffix == host then
        return nil, suffix
    end
    local before = sub(host, 1, #host - #suffix - 1)
    local label = match(before, "([^.]+)$")
    return label .. "." .. suffix, suffix
end


return _M
