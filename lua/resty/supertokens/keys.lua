-- The JWKS engine: which keys verify access tokens, and when to fetch them.
--
-- Semantics follow jose's createRemoteJWKSet as supertokens-node uses it
-- (spec 2.2, 2.3): a set is fetched when there is none or it is older than
-- jwks_refresh_interval_sec; an unknown kid refetches only if the last
-- successful fetch is at least 500 ms old; the cores of connection_uri are
-- tried in order and the first valid answer wins.
--
-- What nginx adds to that:
-- * The raw JWKS text lives in a lua_shared_dict with its version and the
--   time of the last successful fetch, so all workers share one fetch and
--   one cooldown.  Each worker keeps its own C keyset and rebuilds it only
--   when the shared version moves.  A version is made of the text itself
--   (version_of()), so it cannot come back for other keys when the dict
--   loses an entry (LRU eviction under memory pressure, flush_all) or nginx
--   reloads, and a version whose text is gone counts as no keys at all.
-- * One fetcher at a time (a lock taken with shdict:add and an expiry,
--   released only by its holder).  With keys in hand the others carry on
--   with them; with none they wait for the fetch, then re-read.
-- * A failed fetch never replaces good keys (stale-if-error); failures are
--   logged at most once per cooldown, and the next attempt waits out the
--   cooldown too, so a dead core costs one attempt per 500 ms, not one per
--   request.  Stale keys serve for jwks_max_stale_sec past the refresh
--   interval at most (jose: not at all): a key the core has removed must
--   not verify tokens for as long as its JWKS endpoint stays down.
-- * A fetched body must be HTTP 200 and a JWKS with at least one usable key
--   before it replaces anything.
-- * Static keys (conf.jwks / conf.jwks_file) need no core and no dict.

local jwt = require "resty.supertokens.jwt"
local http = require "resty.supertokens.http"
local cache = require "resty.supertokens.cache"
local metrics = require "resty.supertokens.metrics"

local ngx = ngx
local ngx_log = ngx.log
local ngx_ERR = ngx.ERR
local ngx_now = ngx.now
local ngx_update_time = ngx.update_time
local ngx_sleep = ngx.sleep
local ngx_md5 = ngx.md5
local ngx_worker_pid = ngx.worker.pid
local type = type
local tonumber = tonumber
local str_sub = string.sub
local pcall = pcall
local ipairs = ipairs
local tostring = tostring
local setmetatable = setmetatable
local concat = table.concat
local math_min = math.min
local math_floor = math.floor
local io_open = io.open
-- A builtin LuaJIT does not compile: a trace stops there cleanly (see
-- parse() below and decide.lua's verify_framed()).
local trace_stop = coroutine.running

local _M = { _VERSION = "0.1.0" }
local mt = { __index = _M }

-- jose cooldownDuration = JWKCacheCooldownInMs (node constants.ts).
_M.COOLDOWN_MS = 500

local WAIT_STEP = 0.005 -- s, between looks at the fetch lock

-- jose's timeoutDuration: one core's whole JWKS fetch, connect to last
-- byte, ends after 5 s however long the http timeouts of the core calls
-- are; requests waiting on the fetch (a new or forged kid) wait no longer
-- than node's would.
_M.FETCH_TIMEOUT_MS = 5000

-- One engine per config table and worker; weak so an old config (Kong
-- reconfigure) takes its keys and cache with it.
local engines = setmetatable({}, { __mode = "k" })

local verifier


local function get_verifier()
    if not verifier then
        -- Core keys are RS256 JWKs; a token asking for anything else finds
        -- no key in jose either (spec 1.5), so it fails the same way.
        local v, err = jwt.verifier({ algs = { "RS256" } })
        if not v then
            return nil, err
        end
        verifier = v
    end
    return verifier
end


local function now_ms()
    return ngx_now() * 1000
end


local function read_file(path)
    local f, err = io_open(path, "rb")
    if not f then
        return nil, err
    end
    local data = f:read("*a")
    f:close()
    if not data then
        return nil, "read failed"
    end
    return data
end


-- The static JWKS text of a config, or nil when keys come from the core.
local function static_source(conf)
    if conf.jwks ~= nil then
        return conf.jwks, "jwks"
    end
    if conf.jwks_file ~= nil then
        local data, err = read_file(conf.jwks_file)
        if not data then
            return nil, "jwks_file", "cannot read " .. tostring(conf.jwks_file)
                                     .. ": " .. tostring(err)
        end
        return data, "jwks_file"
    end
    return nil
end


local build_keyset = jwt.usable_keyset


-- new(conf, client) -> engine | nil, err   (one per conf and worker;
-- cached).  client: an http client (http.client()); default:
-- conf.http_client or ours.
-- Misconfiguration (bad static keys, missing shared dict) comes back as
-- nil, err so init() can stop nginx with a message naming the field.
function _M.new(conf, client)
    local e = engines[conf]
    if e then
        return e
    end

    local static, field, serr = static_source(conf)
    if field and not static then
        return nil, "supertokens.keys: " .. field .. ": " .. serr
    end

    -- Nothing in e may refer to conf: the weak-keyed engines table keeps an
    -- entry whose value reaches its key for good (LuaJIT has no ephemeron
    -- tables), and a Kong reconfigure would leave every old engine, its
    -- token cache and its config behind.
    e = {
        ver = nil,
        ks = nil,
        cache = cache.new(conf.token_cache_size or 0,
                          conf.token_cache_min_uses),
    }

    if static then
        local ks, err = build_keyset(static)
        if not ks then
            return nil, "supertokens.keys: " .. field
                        .. ": not a usable JWKS (" .. err .. ")"
        end
        e.static = true
        e.ks = ks
        e.ver = 0
        engines[conf] = setmetatable(e, mt)
        return e
    end

    local urls = conf.jwks_urls
    if type(urls) ~= "table" or #urls == 0 then
        return nil, "supertokens.keys: connection_uri: no core to fetch "
                    .. "the JWKS from (or set jwks / jwks_file)"
    end

    local dict_name = conf.shared_dict or "supertokens"
    local dict = ngx.shared[dict_name]
    if not dict then
        return nil, "supertokens.keys: shared_dict: lua_shared_dict '"
                    .. dict_name .. "' is not defined; add `lua_shared_dict "
                    .. dict_name .. " 10m;` to the nginx http block"
    end

    -- Keys are namespaced by the core list, so two configs that talk to
    -- the same cores share one JWKS (and one cooldown), like one jose set.
    local ns = "st:jwks:" .. ngx_md5(concat(urls, ";")) .. ":"
    e.static = false
    e.dict = dict
    e.urls = urls
    e.k_body = ns .. "body"      -- JWKS text
    e.k_ver = ns .. "ver"        -- version_of(k_body)
    e.k_at = ns .. "at"          -- ms of the last successful fetch
    e.k_fail = ns .. "fail"      -- ms of the last failed fetch
    e.k_lock = ns .. "lock"
    e.k_logged = ns .. "logged"
    e.k_logged_stale = ns .. "logged_stale"
    e.max_age_ms = (conf.jwks_refresh_interval_sec
                    or (conf.session and conf.session.jwks_refresh_interval_sec)
                    or 14400) * 1000
    e.age_check_at = 0
    e.max_stale_ms = (conf.jwks_max_stale_sec or 86400) * 1000
    e.ks_at = nil        -- fetch time (ms) of this worker's keys
    e.http = client or http.client(conf.http_client)
    e.http_conf = conf.http
    -- The lock outlives the slowest possible fetch, so a crashed fetcher
    -- cannot wedge the others for longer than that.
    e.fetch_timeout = math_min(http.options(conf.http).timeout,
                               _M.FETCH_TIMEOUT_MS)
    e.lock_ttl = #urls * e.fetch_timeout / 1000 + 1

    engines[conf] = setmetatable(e, mt)
    return e
end


function _M:request_opts(url)
    local opts = http.options(self.http_conf, url, "GET",
                              { Accept = "application/json" })
    opts.timeout = self.fetch_timeout
    return opts
end


-- Try each core in order; first HTTP 200 with a usable JWKS wins.
function _M:fetch()
    local errs = {}
    for _, url in ipairs(self.urls) do
        local label = metrics.core_label(url)
        -- A plugged client that raises fails this core, not the others.
        local ok, res, err = pcall(self.http.request, self:request_opts(url))
        if not ok then
            res, err = nil, res
        end
        if res then
            if res.status ~= 200 then
                err = "HTTP " .. tostring(res.status)
                metrics.jwks_fetch(label, "error")
            elseif type(res.body) ~= "string" then
                err = "no body"
                metrics.jwks_fetch(label, "invalid")
            else
                local ks, kerr = build_keyset(res.body)
                if ks then
                    metrics.jwks_fetch(label, "ok")
                    return res.body, ks
                end
                err = "not a usable JWKS (" .. tostring(kerr) .. ")"
                metrics.jwks_fetch(label, "invalid")
            end
            err = url .. ": " .. err
        else
            metrics.jwks_fetch(label, "error")
        end
        errs[#errs + 1] = tostring(err)
    end
    return nil, nil, concat(errs, "; ")
end


-- The version of a JWKS text: 52 bits of its MD5, a number (a shared
-- dict number is read on every request without making a string).  The
-- same text has the same version in every worker, and other keys get
-- another one: a counter in the dict started again at 1 when it was
-- evicted or flushed, and a worker that had missed the versions between
-- kept the old keys, a removed one included, for good.
local function version_of(body)
    return tonumber(str_sub(ngx_md5(body), 1, 13), 16)
end
_M.version_of = version_of


function _M:store(body, ks)
    local dict = self.dict
    local ver = version_of(body)
    -- This worker serves the fetched set even when the dict cannot keep
    -- it; the others retry the fetch on their own schedule (refresh()
    -- starts the cooldown: a dict with no room must not cost a fetch per
    -- request).
    self.ks, self.ver, self.ks_at = ks, ver, now_ms()
    if dict:get(self.k_ver) ~= ver or dict:get(self.k_body) ~= body then
        local ok, err = dict:set(self.k_body, body)
        if not ok then
            return nil, err
        end
        dict:set(self.k_ver, ver)
    end
    ngx_update_time()
    dict:set(self.k_at, now_ms())
    dict:delete(self.k_fail)
    return true
end


local function sleep(s)
    -- Not every phase may yield; there the caller simply gets no keys.
    return pcall(ngx_sleep, s)
end


-- Wait until no one holds the fetch lock (or the lock's own life ends).
function _M:wait_lock()
    local dict = self.dict
    local deadline = now_ms() + self.lock_ttl * 1000
    while dict:get(self.k_lock) do
        if now_ms() >= deadline then
            return nil, "timeout waiting for the JWKS fetch"
        end
        if not sleep(WAIT_STEP) then
            return nil, "cannot wait in this phase"
        end
    end
    return true
end


-- Whether the condition that asked for a fetch still holds; another
-- worker may have fetched while this one was getting the lock.
function _M:still_needed(why, now)
    local dict = self.dict
    if why == "cold" then
        return dict:get(self.k_ver) == nil or dict:get(self.k_body) == nil
    end
    local at = dict:get(self.k_at)
    if not at then
        return true
    end
    if why == "max_age" then
        return now - at >= self.max_age_ms
    end
    return now - at >= _M.COOLDOWN_MS
end


-- refresh(why, wait): why = "cold" | "max_age" | "unknown_kid".
-- Returns true when a fetch ran (or another worker's fetch finished while
-- we waited), nil, err otherwise.  Never raises.
function _M:refresh(why, wait)
    local dict = self.dict
    ngx_update_time()
    local now = now_ms()

    local failed_at = dict:get(self.k_fail)
    if failed_at and now - failed_at < _M.COOLDOWN_MS then
        return nil, "cooling down after a failed fetch"
    end

    -- The holder's own value: a fetch that outlives the lock must not
    -- delete the lock of the fetch that took it over.
    local holder = ngx_worker_pid() .. ":" .. now
    local ok, err = dict:add(self.k_lock, holder, self.lock_ttl)
    if not ok then
        if err ~= "exists" then
            return nil, err
        end
        if not wait then
            return nil, "another fetch is running"
        end
        return self:wait_lock()
    end

    if not self:still_needed(why, now) then
        self:unlock(holder)
        return true
    end

    local pok, body, ks, ferr = pcall(self.fetch, self)
    if not pok then
        ferr = body
        body = nil
    end
    if body then
        ok, err = self:store(body, ks)
        if not ok then
            ngx_log(ngx_ERR, "supertokens.keys: cannot store the JWKS in ",
                    "the shared dict: ", err)
            ngx_update_time()
            dict:set(self.k_fail, now_ms())
        end
    else
        ngx_update_time()
        dict:set(self.k_fail, now_ms())
        if dict:add(self.k_logged, true, _M.COOLDOWN_MS / 1000) then
            ngx_log(ngx_ERR, "supertokens.keys: JWKS fetch failed (", why,
                    "); ", self.ks and "keeping the last good keys"
                                   or "no keys yet", ": ", ferr)
        end
    end
    self:unlock(holder)
    if not body then
        return nil, ferr
    end
    return true
end


function _M:unlock(holder)
    local dict = self.dict
    if dict:get(self.k_lock) == holder then
        dict:delete(self.k_lock)
    end
end


-- Rebuild this worker's keyset from the shared text whose version the
-- dict gives as `ver`; false when the text is gone (evicted, or its store
-- failed), which the caller treats as no keys in the dict.
function _M:load(ver)
    local dict = self.dict
    local body = dict:get(self.k_body)
    if not body then
        return false
    end
    local body_ver = version_of(body)
    if body_ver ~= ver and dict:get(self.k_ver) == ver then
        -- Two stores crossed (a fetch outlived its lock): the text is what
        -- counts; put its version back, or every request would load
        -- again (unless a store has set it since).
        dict:set(self.k_ver, body_ver)
    end
    local ks, err = build_keyset(body)
    if not ks then
        -- Cannot happen for a body we validated before storing; keep what
        -- we have rather than dropping to no keys.
        ngx_log(ngx_ERR, "supertokens.keys: cached JWKS unusable: ", err)
        self.ver = body_ver
        return true
    end
    self.ks, self.ver = ks, body_ver
    self.ks_at = dict:get(self.k_at) or now_ms()
    return true
end


-- True when keys fetched at `at` (ms) are past their refresh interval and
-- the stale-if-error limit; logged once per cooldown.
function _M:too_stale(now, at)
    if not at or now - at < self.max_age_ms + self.max_stale_ms then
        return false
    end
    if self.dict:add(self.k_logged_stale, true, _M.COOLDOWN_MS / 1000) then
        ngx_log(ngx_ERR, "supertokens.keys: the last good JWKS is ",
                math_floor((now - at) / 1000), " s old, past ",
                "jwks_refresh_interval_sec + jwks_max_stale_sec, and no ",
                "core answers: tokens are refused until a fetch succeeds")
    end
    return true
end


-- Current keyset of this worker, fetching or reloading as needed.
-- Returns ks | nil, "jwks_unavailable".
function _M:prepare()
    if self.static then
        return self.ks
    end

    local dict = self.dict
    local ver = dict:get(self.k_ver)
    if not ver then
        self:refresh("cold", true)
        ver = dict:get(self.k_ver)
        if not ver then
            if self.ks and not self:too_stale(now_ms(), self.ks_at) then
                return self.ks
            end
            return nil, "jwks_unavailable"
        end
    else
        local now = now_ms()
        if now >= self.age_check_at then
            local at = dict:get(self.k_at)
            if now - (at or 0) >= self.max_age_ms then
                self:refresh("max_age", false)
                ver = dict:get(self.k_ver) or ver
                at = dict:get(self.k_at) or at
                -- (no time of the last fetch: the dict lost it, the keys'
                -- age is unknown, they stay in use)
                if at and self:too_stale(now, at) then
                    return nil, "jwks_unavailable"
                end
            end
            self.age_check_at = (at or 0) + self.max_age_ms
        end
    end

    if ver ~= self.ver and not self:load(ver) then
        -- A version without its text: as at a cold start, fetch (the
        -- cooldown of a failed fetch or store still applies); a worker
        -- with keys of its own carries on with them instead of waiting.
        self:refresh("cold", not self.ks)
        ver = dict:get(self.k_ver)
        if ver and ver ~= self.ver then
            self:load(ver)
        end
    end
    if not self.ks then
        return nil, "jwks_unavailable"
    end
    return self.ks
end


-- Version of the keys this worker verifies with (cache tag).
function _M:version()
    return self.ver
end


-- parse(token) -> res | nil, reason, partial
-- The decision's env.parse: the binding's parse, answered by the
-- verified-token cache for a token that verified before.  What parse()
-- learnt is held for check_signature() of the same token, which runs
-- right after it in the same request: the cache entry found (so the
-- verdict needs no second lookup), or a fresh result to keep with the
-- verdict.  Another token in between just means nothing is reused.
function _M:parse(token)
    local c = self.cache
    local e
    if c then
        e = c:lookup(token)
        local res = e and e.res
        if res then
            -- held_res too: a result held from an earlier token (a
            -- header token the decision ignored, then this cookie) would
            -- otherwise be what check_signature() keeps for this one
            self.held_token, self.held_entry, self.held_res = token, e, nil
            return res
        end
    end
    local v, err = get_verifier()
    if not v then
        ngx_log(ngx_ERR, "supertokens.keys: no verifier: ", err)
        return nil, "internal"
    end
    -- The parse of a new token runs as traces of its own, between two
    -- trace stops.  They were added when, inlined into the decision's
    -- trace, the result's branches on the header fields made side traces
    -- abort ("NYI: register coalescing too complex", 143 aborts in
    -- spec/26's 240 requests) and the claims loop's exit ran the rest of
    -- the request in the interpreter ("trace too long").  spec/26 no
    -- longer aborts without them; they stay because a new token's
    -- /api/user is ~1.3 us faster with them (bench/HISTORY.md,
    -- 2026-11-29).  They are here, not in jwt.lua, so that a caller of the
    -- Lua API with a loop of its own keeps one trace through verify().
    trace_stop()
    local res, reason, partial = v:parse(token)
    trace_stop()
    if res and c then
        self.held_token, self.held_res = token, res
        -- On a miss, check_signature() need not look the token up again
        -- (false: looked up, no entry).  An entry without a parse result
        -- (nil) is found again there, and gets this one.
        if e == nil then
            self.held_entry = false
        else
            self.held_entry = nil
        end
    end
    return res, reason, partial
end


-- check_signature(token, parsed) -> true | nil, reason
-- The decision's env.check_signature: C verify against this worker's
-- keyset; an unknown kid refetches (cooldown permitting) and retries once.
function _M:check_signature(token, parsed)
    local entry, res
    if self.held_token == token then
        entry = self.held_entry
        res = self.held_res or entry and entry.res
    end
    self.held_token, self.held_entry, self.held_res = nil, nil, nil

    local ks, err = self:prepare()
    if not ks then
        return nil, err
    end

    local c = self.cache
    if c then
        local hit
        if entry then
            hit = entry.ver == self.ver
        elseif entry == false then
            hit = false
        else
            hit = c:get(token, self.ver)
            if hit and res then
                c:keep_parsed(token, res, parsed)
            end
        end
        if hit then
            metrics.cache(true)
            return true
        end
        metrics.cache(false)
    end

    local v
    v, err = get_verifier()
    if not v then
        ngx_log(ngx_ERR, "supertokens.keys: no verifier: ", err)
        return nil, "internal"
    end

    -- Right after parse() of the same token (the usual miss), C checks
    -- the signature on the parse it kept instead of parsing again.
    local ok, reason = v:check_parsed_signature(ks, token)
    -- A kid that is not a string selects no key by name: C answers
    -- unknown_kid when several keys fit, where jose fails with
    -- JWKSMultipleMatchingKeys and does not refetch, and when none fits
    -- (JWKSNoMatchingKey, as for a named kid or a legacy token), where
    -- it does.
    if not ok and reason == "unknown_kid" and not self.static
       and (parsed == nil or parsed.version < 3
            or type(parsed.kid) == "string"
            or type(parsed.alg) == "string"
               and ks:count_fitting(parsed.alg) == 0)
    then
        local at = self.dict:get(self.k_at) or 0
        if now_ms() - at >= _M.COOLDOWN_MS then
            local before = self.ver
            self:refresh("unknown_kid", true)
            ks = self:prepare()
            if ks and self.ver ~= before then
                ok, reason = v:check_signature(ks, token)
            end
        end
    end

    if ok and c then
        c:set(token, self.ver, parsed, now_ms(), res)
    end
    return ok, reason
end


-- Warm the cache (init_worker timer); a no-op for static keys.
function _M:prefetch()
    if self.static then
        return true
    end
    return self:prepare()
end


return _M
