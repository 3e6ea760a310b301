-- Per-worker cache of access tokens whose signature already verified.
--
-- A hit stands in for the signature check only: the decision still parses
-- the token and judges expiry, structure, kid prefix, anti-CSRF and claims
-- on every request.  Entries are tagged with the keyset version they were
-- verified under, so any change of the JWKS (a kid removed, a key rotated)
-- makes every older entry miss.  One cache belongs to one config table (the
-- JWKS engine owns it), so a new config starts with an empty cache.
--
-- Keys are the complete token strings: the signature covers header and
-- payload, so nothing shorter identifies "this exact signed token".
--
-- An entry may also keep the binding's parse result of its token, so a
-- repeated token skips the parse and the payload decode too (the result
-- depends on the token string alone).  Only verified tokens get entries:
-- forged or garbage tokens cannot push good ones out.  The kept result is
-- shared by every request that presents the token: read-only.

local lrucache = require "resty.lrucache"
local token_info = require "resty.supertokens.token"

local type = type
local error = error
local tostring = tostring
local setmetatable = setmetatable
local math_min = math.min
local math_floor = math.floor
local byte = string.byte

local _M = { _VERSION = "0.1.0" }
local mt = { __index = _M }

-- Cap on an entry's life: bounds how long a verdict outlives its source
-- even if the keyset version somehow does not move.
_M.MAX_TTL = 300


-- new(size, min_uses) -> cache | nil when size is 0 (caching disabled).
-- A token gets an entry at its min_uses-th verification (default 1): with
-- 2, a flood of tokens that each come once (a burst of new sessions, an
-- attacker with many valid tokens) leaves the cache and its ~3 KB entries
-- alone, as nginx's proxy_cache_min_uses does for responses.  Until then
-- a token is only counted, in two generations of at most `size` tokens
-- each (the older one is dropped when the newer fills up).
function _M.new(size, min_uses)
    if size == nil or size == 0 then
        return nil
    end
    if type(size) ~= "number" or size < 0 or size ~= math_floor(size) then
        error("supertokens.cache: new: size must be a non-negative integer",
              2)
    end
    min_uses = min_uses or 1
    if type(min_uses) ~= "number" or min_uses < 1
       or min_uses ~= math_floor(min_uses)
    then
        error("supertokens.cache: new: min_uses must be a positive integer",
              2)
    end
    local lru, err = lrucache.new(size)
    if not lru then
        return nil, "supertokens.cache: " .. tostring(err)
    end
    return setmetatable({ lru = lru, size = size, min_uses = min_uses,
                          seen = {}, seen_old = {}, seen_n = 0 }, mt)
end


-- The key a token is counted under: a number made of its last 7
-- characters (of the signature, 42 random bits in base64url; 7 bits each
-- keeps it exact in a double).  A collision only admits a token one use
-- early; a flood of unique tokens keeps no string alive here, and no
-- string is made and interned per miss (a 24-character suffix was).
local function seen_key(token)
    local n = #token
    if n < 7 then
        return token
    end
    local a, b, c, d, e, f, g = byte(token, n - 6, n)
    return ((((((a * 128 + b) * 128 + c) * 128 + d) * 128 + e) * 128 + f)
            * 128 + g)
end


-- Counts one more verification of token; true once it has min_uses.
local function admitted(self, token)
    local min_uses = self.min_uses
    if min_uses == 1 then
        return true
    end
    local key = seen_key(token)
    local seen = self.seen
    local n = (seen[key] or self.seen_old[key] or 0) + 1
    if n >= min_uses then
        seen[key] = nil
        self.seen_old[key] = nil
        return true
    end
    if seen[key] == nil then
        if self.seen_n >= self.size then
            self.seen_old, seen, self.seen_n = seen, {}, 0
            self.seen = seen
        end
        self.seen_n = self.seen_n + 1
    end
    seen[key] = n
    return false
end


-- Expiry of a token in ms: the decision's info.expiry_ms, else the
-- parse result's "exp" (s) or, for v1/v2, the payload's "expiryTime" (ms).
local function expiry_ms(parsed)
    if type(parsed) ~= "table" then
        return nil
    end
    if type(parsed.expiry_ms) == "number" then
        return parsed.expiry_ms
    end
    if type(parsed.exp) == "number" then
        return parsed.exp * 1000
    end
    local payload = parsed.payload
    if (parsed.legacy or 0) > 0 and type(payload) == "table"
       and type(payload.expiryTime) == "number" then
        return payload.expiryTime
    end
    return nil
end
_M.expiry_ms = expiry_ms


-- true when `token` verified under keyset version `ks_ver`.
function _M:get(token, ks_ver)
    local e = self.lru:get(token)
    return e ~= nil and e.ver == ks_ver
end


-- The live entry of `token` or nil: { ver = keyset version it verified
-- under, res = its parse result or nil }.  Read-only.
function _M:lookup(token)
    return (self.lru:get(token))
end


-- Keep `res` (the token's parse result, `parsed` the caller's info made
-- from it) with an existing entry.
function _M:keep_parsed(token, res, parsed)
    local e = self.lru:get(token)
    if e and not e.res then
        token_info.remember(res, parsed)
        e.res = res
    end
end


-- Remember a verified token until it expires (at most MAX_TTL), with its
-- parse result `res` when the caller has it (and in res, `parsed`: the
-- token's info, token.inspect() of res).
function _M:set(token, ks_ver, parsed, now_ms, res)
    local exp = expiry_ms(parsed)
    if not exp then
        return
    end
    local ttl = math_min(_M.MAX_TTL, (exp - now_ms) / 1000)
    if ttl <= 0 or not admitted(self, token) then
        return
    end
    if res then
        token_info.remember(res, parsed)
    end
    self.lru:set(token, { ver = ks_ver, res = res }, ttl)
end


-- Tokens with an entry now (live or expired but not yet evicted).
function _M:count()
    return self.lru:count()
end


function _M:flush()
    self.lru:flush_all()
    self.seen, self.seen_old, self.seen_n = {}, {}, 0
end


return _M
