--- The SDK's URL normalisers (NormalisedURLDomain, NormalisedURLPath,
-- normaliseSessionScopeOrThrowError, getTopLevelDomainForSameSiteResolution)
-- over a small WHATWG-style URL parser, so that configuration values mean
-- exactly what they mean to supertokens-node.
-- @module resty.supertokens.normalise

local psl = require "resty.supertokens.psl"

local byte = string.byte
local concat = table.concat
local find = string.find
local format = string.format
local gsub = string.gsub
local ipairs = ipairs
local lower = string.lower
local match = string.match
local sub = string.sub
local tonumber = tonumber
local tostring = tostring
local type = type


local _M = { _VERSION = "0.1.0" }

local SPECIAL_PORT = { http = "80", https = "443" }


--- isAnIpAddress() of the SDK: dotted-quad IPv4 only.
local function is_ip_address(s)
    local a, b, c, d = match(s, "^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
    if not a then
        return false
    end
    for _, part in ipairs({ a, b, c, d }) do
        -- 25[0-5] | 2[0-4][0-9] | [01]?[0-9][0-9]?
        local n = #part
        if n > 3 or n == 3 and not find(part, "^[01]")
           and not (find(part, "^2") and tonumber(part) <= 255)
        then
            return false
        end
    end
    return true
end
_M.is_ip_address = is_ip_address


-- WHATWG "ends in a number" + IPv4 parser; nil when not IPv4-looking,
-- false when it looks like IPv4 but is invalid.
local function ipv4_number(part)
    if part == "" then
        return nil
    end
    local n
    if find(part, "^0[xX]") then
        local h = sub(part, 3)
        if h == "" then
            return 0
        end
        if not find(h, "^%x+$") then
            return nil
        end
        n = tonumber(h, 16)
    elseif #part > 1 and find(part, "^0") then
        if not find(part, "^[0-7]+$") then
            return nil
        end
        n = tonumber(part, 8)
    else
        if not find(part, "^%d+$") then
            return nil
        end
        n = tonumber(part)
    end
    return n
end


local function parse_ipv4(host)
    local parts = {}
    for p in (host .. "."):gmatch("([^.]*)%.") do
        parts[#parts + 1] = p
    end
    if parts[#parts] == "" and #parts > 1 then
        parts[#parts] = nil
    end
    local last = parts[#parts]
    if not (find(last, "^%d+$") or find(last, "^0[xX]%x*$")) then
        return nil
    end
    if #parts > 4 then
        return false
    end
    local nums = {}
    for i, p in ipairs(parts) do
        local n = ipv4_number(p)
        if not n then
            return false
        end
        nums[i] = n
    end
    for i = 1, #nums - 1 do
        if nums[i] > 255 then
            return false
        end
    end
    local rest = nums[#nums]
    if rest >= 256 ^ (5 - #nums) then
        return false
    end
    local ipv4 = rest
    for i = 1, #nums - 1 do
        ipv4 = ipv4 + nums[i] * 256 ^ (4 - i)
    end
    local o = {}
    for i = 4, 1, -1 do
        o[i] = ipv4 % 256
        ipv4 = (ipv4 - o[i]) / 256
    end
    return format("%d.%d.%d.%d", o[1], o[2], o[3], o[4])
end


local FORBIDDEN_HOST = "[%z\1-\31 #%%/:<>%?@%[\\%]%^|\127]"

-- path percent-encode set: C0, space, ", #, <, >, ?, `, {, }, non-ASCII
local function encode_path_char(c)
    return format("%%%02X", byte(c))
end


local function normalise_path_segments(path)
    path = gsub(path, "\\", "/")
    path = gsub(path, '[%z\1-\32"<>`{}\127-\255]', encode_path_char)
    local out = {}
    local segs = {}
    for seg in (sub(path, 2) .. "/"):gmatch("([^/]*)/") do
        segs[#segs + 1] = seg
    end
    for i, seg in ipairs(segs) do
        local l = lower(seg)
        local last = i == #segs
        if l == ".." or l == ".%2e" or l == "%2e." or l == "%2e%2e" then
            out[#out] = nil
            if last then
                out[#out + 1] = ""
            end
        elseif l == "." or l == "%2e" then
            if last then
                out[#out + 1] = ""
            end
        else
            out[#out + 1] = seg
        end
    end
    return "/" .. concat(out, "/")
end


--- Parse an absolute URL.  Returns { protocol = "https:", hostname =,
-- port = "" | "8080", host = hostname[:port], pathname = } or nil, err.
local function parse_url(input)
    if type(input) ~= "string" then
        return nil, "not a string"
    end
    input = gsub(input, "^[%z\1-\32]+", "")
    input = gsub(input, "[%z\1-\32]+$", "")
    input = gsub(input, "[\t\n\r]", "")
    local scheme, rest = match(input, "^([%a][%w+.%-]*):(.*)$")
    if not scheme then
        return nil, "no scheme"
    end
    scheme = lower(scheme)
    local special = SPECIAL_PORT[scheme] ~= nil
    if special then
        rest = gsub(rest, "^[/\\]*", "")
    else
        if sub(rest, 1, 2) ~= "//" then
            return nil, "no authority"
        end
        rest = sub(rest, 3)
    end
    local auth_end = find(rest, special and "[/\\%?#]" or "[/%?#]")
    local authority = auth_end and sub(rest, 1, auth_end - 1) or rest
    local tail = auth_end and sub(rest, auth_end) or ""
    local at = match(authority, "^.*()@")
    if at then
        authority = sub(authority, at + 1)
    end
    local host, port
    if sub(authority, 1, 1) == "[" then
        local close = find(authority, "]", 1, true)
        if not close then
            return nil, "bad IPv6 host"
        end
        host = lower(sub(authority, 1, close))
        local after = sub(authority, close + 1)
        if after ~= "" then
            port = match(after, "^:(%d*)$")
            if not port then
                return nil, "bad port"
            end
        end
        if not find(host, "^%[[%x:.]+%]$") then
            return nil, "bad IPv6 host"
        end
    else
        local colon = find(authority, ":", 1, true)
        if colon then
            host = sub(authority, 1, colon - 1)
            port = sub(authority, colon + 1)
            if not find(port, "^%d*$") then
                return nil, "bad port"
            end
        else
            host = authority
        end
        if special then
            if host == "" then
                return nil, "empty host"
            end
            if find(host, "[\128-\255]") then
                -- IDNA (punycode) is not implemented: ask for ASCII
                return nil, "non-ASCII host (use its punycode form)"
            end
            host = lower(host)
            if find(host, FORBIDDEN_HOST) then
                return nil, "forbidden host character"
            end
            local v4 = parse_ipv4(host)
            if v4 == false then
                return nil, "bad IPv4 host"
            end
            host = v4 or host
        elseif find(host, "[%z\t\n\r #/:<>%?@%[\\%]%^|]") then
            return nil, "forbidden host character"
        end
    end
    if port and port ~= "" then
        local n = tonumber(port)
        if n > 65535 then
            return nil, "port out of range"
        end
        port = tostring(n)
        if SPECIAL_PORT[scheme] == port then
            port = ""
        end
    else
        port = ""
    end
    local path = match(tail, "^[^%?#]*")
    if special or sub(path, 1, 1) == "/" then
        if path == "" then
            path = "/"
        end
        path = normalise_path_segments(path)
    end
    return {
        protocol = scheme .. ":",
        hostname = host,
        port = port,
        host = port ~= "" and (host .. ":" .. port) or host,
        pathname = path,
    }
end
_M.parse_url = parse_url


local function starts_with(s, prefix)
    return sub(s, 1, #prefix) == prefix
end


--- NormalisedURLDomain: "scheme://host[:port]" or nil, err.
local function normalise_domain(input, ignore_protocol)
    if type(input) ~= "string" then
        return nil, "must be a string"
    end
    input = lower(match(input, "^%s*(.-)%s*$"))
    if starts_with(input, "http://") or starts_with(input, "https://")
       or starts_with(input, "supertokens://")
    then
        local u = parse_url(input)
        if u then
            if ignore_protocol then
                if starts_with(u.hostname, "localhost")
                   or is_ip_address(u.hostname)
                then
                    return "http://" .. u.host
                end
                return "https://" .. u.host
            end
            return u.protocol .. "//" .. u.host
        end
    end
    if starts_with(input, "/") then
        return nil, "Please provide a valid domain name"
    end
    if starts_with(input, ".") then
        input = sub(input, 2)
    end
    if (find(input, ".", 1, true) or starts_with(input, "localhost"))
       and not starts_with(input, "http://")
       and not starts_with(input, "https://")
    then
        input = "https://" .. input
        if parse_url(input) then
            return normalise_domain(input, true)
        end
    end
    return nil, "Please provide a valid domain name"
end
_M.domain = normalise_domain


local function domain_given(input)
    if not find(input, ".", 1, true) or starts_with(input, "/") then
        return false
    end
    local u = parse_url(input)
    if u then
        return find(u.hostname, ".", 1, true) ~= nil
    end
    u = parse_url("http://" .. input)
    if u then
        return find(u.hostname, ".", 1, true) ~= nil
    end
    return false
end


--- NormalisedURLPath: "" or "/a/b" (no trailing slash) or nil, err.
local function normalise_path(input)
    if type(input) ~= "string" then
        return nil, "must be a string"
    end
    input = match(input, "^%s*(.-)%s*$")
    local l = lower(input)
    if starts_with(l, "http://") or starts_with(l, "https://") then
        local u = parse_url(input)
        if u then
            local p = u.pathname
            if sub(p, -1) == "/" then
                return sub(p, 1, -2)
            end
            return p
        end
    end
    if (domain_given(l) or starts_with(l, "localhost"))
       and not starts_with(l, "http://") and not starts_with(l, "https://")
    then
        return normalise_path("http://" .. input)
    end
    if sub(input, 1, 1) ~= "/" then
        input = "/" .. input
    end
    if parse_url("http://example.com" .. input) then
        return normalise_path("http://example.com" .. input)
    end
    return nil, "Please provide a valid URL path"
end
_M.path = normalise_path


--- normaliseSessionScopeOrThrowError (cookieDomain, olderCookieDomain).
function _M.session_scope(scope)
    if type(scope) ~= "string" then
        return nil, "must be a string"
    end
    local s = lower(match(scope, "^%s*(.-)%s*$"))
    if starts_with(s, ".") then
        s = sub(s, 2)
    end
    if not starts_with(s, "http://") and not starts_with(s, "https://") then
        s = "http://" .. s
    end
    local u = parse_url(s)
    if not u then
        return nil, "Please provide a valid sessionScope"
    end
    local no_dot = u.hostname
    if no_dot == "localhost" or is_ip_address(no_dot) then
        return no_dot
    end
    -- the SDK tests the caller's raw value here, not the trimmed one
    if starts_with(scope, ".") then
        return "." .. no_dot
    end
    return no_dot
end


--- getTopLevelDomainForSameSiteResolution(url) -> domain | nil, err
function _M.top_level_domain(url, suffix_list)
    local u = parse_url(url)
    if not u then
        return nil, "invalid URL"
    end
    local hostname = u.hostname
    if starts_with(hostname, "localhost") or is_ip_address(hostname) then
        return "localhost"
    end
    local list, err = suffix_list()
    if not list then
        return nil, err
    end
    local domain, suffix = psl.domain(list, hostname)
    if not domain then
        if sub(hostname, -#".amazonaws.com") == ".amazonaws.com"
           and suffix == hostname
        then
            return hostname
        end
        if sub(hostname, -#".local") == ".local" and not suffix then
            return hostname
        end
        return nil, "Please make sure that the apiDomain and websiteDomain "
                    .. "have correct values"
    end
    return domain
end


--- encodeURIComponent() (bytes in, ASCII out).
function _M.encode_uri_component(s)
    return (gsub(s, "[^%w%-_%.!~%*'%(%)]", encode_path_char))
end


return _M
