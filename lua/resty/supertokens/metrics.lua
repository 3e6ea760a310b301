--- Prometheus metrics for lua-resty-supertokens.
--
-- Counters live in a `lua_shared_dict` so every worker's counts add up, but
-- the request path never touches the dict: each worker counts into a plain
-- Lua table under precomputed key strings and a per-worker
-- `ngx.timer.every` flushes the deltas with `shdict:incr(key, n, 0)`.
-- Measured on this project's 2-core CI box (nginx 1.22, 1 worker, wrk):
-- two `shdict:incr` per request cost 12 % of a trivial content handler
-- (218k → 193k req/s, 225 ns per incr), two table increments cost 2 ns and
-- were lost in the noise (218k → 214-222k req/s).  The same approach as
-- Kong's prometheus plugin (`resty.counter`).
--
-- Which dict: `init()` takes a dedicated `supertokens_metrics` dict when
-- one is declared, else the module's `supertokens` dict (the JWKS cache);
-- every key carries an `m:` prefix, so sharing is safe.  The dedicated
-- dict is preferred: counters and the JWKS then never evict each other
-- when a dict fills up, and a scrape's `get_keys` (which holds the dict's
-- lock while it walks it) never delays the JWKS reads of the request
-- path.  The fallback exists because Kong's `nginx_http_lua_shared_dict`
-- injects a single dict, already taken by the plugin's `supertokens`.
--
--     http {
--         lua_shared_dict supertokens_metrics 1m;
--         init_by_lua_block {
--             require("resty.supertokens.metrics").init()
--         }
--         server {
--             location = /metrics {
--                 allow 127.0.0.1; deny all;
--                 content_by_lua_block {
--                     require("resty.supertokens.metrics").handler()
--                 }
--             }
--         }
--     }
--
-- @module resty.supertokens.metrics

local ngx = ngx
local ipairs = ipairs
local type = type
local tostring = tostring
local error = error
local floor = math.floor
local huge = math.huge
local str_format = string.format
local str_sub = string.sub
local str_find = string.find
local str_match = string.match
local str_gsub = string.gsub
local tbl_concat = table.concat
local tbl_sort = table.sort

local _M = { _VERSION = "0.1.0" }

--- Default shared dict name.
_M.DEFAULT_DICT = "supertokens_metrics"

--- Used by `init()` when `DEFAULT_DICT` is not declared.
_M.FALLBACK_DICT = "supertokens"

--- Content-Type of the text exposition format 0.0.4.
_M.CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

-- Upper bounds of the core request duration histogram, in seconds
-- (Prometheus' default buckets without 10).
_M.BUCKETS = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5 }

local PREFIX = "m:"
local PREFIX_LEN = #PREFIX
local DEFAULT_FLUSH_INTERVAL = 1
-- Label values come from callers (reason codes, core hosts, paths); past
-- this many series per worker a new label value is counted as "other" so a
-- bug upstream cannot turn the dict into an unbounded key store.
local MAX_SERIES = 2000

local VERIFICATIONS = "supertokens_verifications_total"
local TOKEN_CACHE = "supertokens_token_cache_total"
local JWKS_FETCHES = "supertokens_jwks_fetches_total"
local JWKS_LAST_OK = "supertokens_jwks_last_success_timestamp_seconds"
local JWKS_AGE = "supertokens_jwks_last_success_age_seconds"
local CORE_REQUESTS = "supertokens_core_requests_total"
local CORE_DURATION = "supertokens_core_request_duration_seconds"
local PREFLIGHTS = "supertokens_cors_preflights_total"

-- Exposition order and HELP text.  The age gauge has no stored series: it
-- is derived from the timestamp gauge at scrape time.
local FAMILIES = {
    { VERIFICATIONS, "counter",
      "Session verifications by outcome and reason code." },
    { TOKEN_CACHE, "counter",
      "Verified-token cache lookups by result." },
    { JWKS_FETCHES, "counter",
      "JWKS fetches per core by result (ok, error, invalid)." },
    { JWKS_LAST_OK, "gauge",
      "Unix time of the last successful JWKS fetch per core." },
    { JWKS_AGE, "gauge",
      "Seconds since the last successful JWKS fetch per core, at scrape." },
    { CORE_REQUESTS, "counter",
      "Requests to the SuperTokens core by path and result." },
    { CORE_DURATION, "histogram",
      "Duration of requests to the SuperTokens core in seconds." },
    { PREFLIGHTS, "counter",
      "CORS preflight requests answered, by result." },
}

local dict, dict_name
local init_error     -- why the last init() failed, for collect()'s answer
local flush_interval = DEFAULT_FLUSH_INTERVAL
local timer_started = false
local n_series = 0
local warned_flush = false

-- key string -> delta not yet flushed.  Keys stay once created (value back
-- to 0 on flush) so the hot path never inserts into the hash part.
local pending = {}
-- The same keys in creation order: the order flush() writes them in (see
-- core_series for why the order matters).
local series_order = {}
-- key -> true once the dict holds it: a later "not found" is an eviction.
local stored = {}
local warned_evicted = false

-- Per-worker caches of the key strings, nested by label value.
local verification_keys = {}
local cache_keys = {}
local jwks_keys = {}
local core_keys = {}
local core_sets = {}
local preflight_keys = {}


--- Escape a label value as the text format requires: `\`, `"`, newline.
-- @tparam string s raw value
-- @treturn string escaped value
function _M.escape_label(s)
    return (str_gsub(s, '[\\"\n]', { ["\\"] = "\\\\", ['"'] = '\\"',
                                     ["\n"] = "\\n" }))
end

local escape_label = _M.escape_label


local function label_value(v)
    if v == nil then
        return "none"
    end
    if type(v) ~= "string" then
        v = tostring(v)
    end
    return v
end


local function over_budget()
    return n_series >= MAX_SERIES
end


local function new_series(name, labels)
    local key = PREFIX .. name .. "{" .. labels .. "}"
    if pending[key] == nil then
        pending[key] = 0
        n_series = n_series + 1
        series_order[n_series] = key
    end
    return key
end


local function label_pair(lname, v)
    return lname .. '="' .. escape_label(v) .. '"'
end


-- Sentinel keys: never equal to a caller's label value.
local LABEL = {}
local GAUGE = {}


-- Key of the series name{l1="v1",l2="v2"}, cached as cache[v1][v2].
-- Past the series budget a new value is stored as "other".
local function two_level_key(cache, name, l1, v1, l2, v2)
    local by_v1 = cache[v1]
    if not by_v1 then
        local stored = over_budget() and "other" or v1
        by_v1 = cache[stored] or { [LABEL] = label_pair(l1, stored) }
        cache[stored] = by_v1
        cache[v1] = by_v1
    end
    local key = by_v1[v2]
    if key then
        return key
    end
    local stored = over_budget() and "other" or v2
    key = by_v1[stored]
          or new_series(name, by_v1[LABEL] .. "," .. label_pair(l2, stored))
    by_v1[stored] = key
    by_v1[v2] = key
    return key
end


-- Adds delta to key in the dict.  A new key goes in with safe_add(): when
-- the dict is full it waits in `pending` for room rather than evicting
-- (incr with an init value would push out the least recently used keys,
-- the JWKS cache's among them when the dict is shared).
local function store(key, delta)
    local _, err = dict:incr(key, delta)
    if not err then
        stored[key] = true
        return true
    end
    if err == "not found" then
        if stored[key] and not warned_evicted then
            warned_evicted = true
            ngx.log(ngx.WARN, "supertokens.metrics: lua_shared_dict ",
                    dict_name, " evicted a metrics series (the dict is ",
                    "full), its count restarts; give the metrics a ",
                    "dedicated, larger \"lua_shared_dict ", _M.DEFAULT_DICT,
                    "\"")
        end
        local ok
        ok, err = dict:safe_add(key, delta)
        if ok then
            stored[key] = true
            return true
        end
        if err == "exists" then
            -- another worker added it in between
            _, err = dict:incr(key, delta)
            if not err then
                stored[key] = true
                return true
            end
        end
    end
    if not warned_flush then
        warned_flush = true
        ngx.log(ngx.WARN, "supertokens.metrics: lua_shared_dict ", dict_name,
                ": ", err, " (counts kept in worker until there is room)")
    end
    return false
end


local function seed(key)
    if dict:safe_add(key, 0) or dict:get(key) ~= nil then
        stored[key] = true
    end
end


local function flush()
    if not dict then
        return
    end
    for i = 1, n_series do
        local key = series_order[i]
        local delta = pending[key]
        if delta ~= 0 and store(key, delta) then
            pending[key] = 0
        end
    end
end


local function on_timer(premature)
    -- Runs once more with premature = true when the worker exits; flushing
    -- then keeps the counts of a reloaded worker.
    flush()
    if premature then
        timer_started = false
    end
end


local function start_timer()
    if not dict or timer_started then
        return
    end
    local phase = ngx.get_phase()
    if phase == "init" or phase == "exit_worker" then
        return
    end
    local ok, err = ngx.timer.every(flush_interval, on_timer)
    if ok then
        timer_started = true
    else
        ngx.log(ngx.ERR, "supertokens.metrics: cannot start flush timer: ",
                err)
    end
end


-- init() without the record of its failure.
local function attach(name, opts)
    local d
    if name == nil then
        name = _M.DEFAULT_DICT
        d = ngx.shared[name]
        if not d and ngx.shared[_M.FALLBACK_DICT] then
            name = _M.FALLBACK_DICT
            d = ngx.shared[name]
        end
        if not d then
            error("supertokens.metrics: lua_shared_dict \"" .. _M.DEFAULT_DICT
                  .. "\" is not defined (nor \"" .. _M.FALLBACK_DICT
                  .. "\"); add \"lua_shared_dict " .. _M.DEFAULT_DICT
                  .. " 1m;\" to the http block", 2)
        end
    elseif type(name) ~= "string" then
        error("supertokens.metrics: dict name must be a string", 2)
    end
    d = d or ngx.shared[name]
    if not d then
        error("supertokens.metrics: lua_shared_dict \"" .. name .. "\" is "
              .. "not defined; add \"lua_shared_dict " .. name .. " 1m;\" "
              .. "to the http block", 2)
    end
    if opts ~= nil and type(opts) ~= "table" then
        error("supertokens.metrics: opts must be a table", 2)
    end
    local interval = opts and opts.flush_interval or DEFAULT_FLUSH_INTERVAL
    if type(interval) ~= "number" or interval <= 0 then
        error("supertokens.metrics: flush_interval must be a number > 0", 2)
    end
    dict, dict_name, flush_interval = d, name, interval

    seed(two_level_key(verification_keys, VERIFICATIONS, "outcome", "ok",
                       "reason", "none"))
    seed(_M.cache_key(true))
    seed(_M.cache_key(false))
    seed(_M.preflight_key("allowed"))
    seed(_M.preflight_key("rejected"))
    init_error = nil
    return name
end

--- Attach the metrics to a shared dict.
-- Call once from `init_by_lua*` (or Kong `init_worker`).  Seeds the series
-- that should read 0 before anything happened.
-- @tparam[opt] string name `lua_shared_dict` name; default
-- `supertokens_metrics`, else `supertokens`
-- @tparam[opt] table opts `{ flush_interval = 1 }` seconds between flushes
-- @return the dict name used
-- @raise when the dict is not declared (the message names it)
function _M.init(name, opts)
    local ok, res = pcall(attach, name, opts)
    if not ok then
        init_error = res
        error(res, 2)
    end
    return res
end


--- Start the flush timer now rather than on the first count.
-- Optional; call from `init_worker_by_lua*`.
function _M.init_worker()
    start_timer()
end


--- Count one session verification.
-- @tparam string outcome `ok`, `no_session`, `unauthorised`, `try_refresh`,
-- `invalid_claim` (the decision's `out.class`)
-- @tparam[opt] string reason reason code (`out.reason`); nil counts as
-- `none`
function _M.verification(outcome, reason)
    local by_reason = verification_keys[outcome]
    local key = by_reason and by_reason[reason or "none"]
    if not key then
        key = two_level_key(verification_keys, VERIFICATIONS, "outcome",
                            label_value(outcome), "reason",
                            label_value(reason))
    end
    pending[key] = pending[key] + 1
    if not timer_started then
        start_timer()
    end
end


--- The dict key of a cache series (precomputed; exported for tests).
-- @tparam bool hit
-- @treturn string
function _M.cache_key(hit)
    local key = cache_keys[hit]
    if not key then
        key = new_series(TOKEN_CACHE, label_pair("result",
                                                 hit and "hit" or "miss"))
        cache_keys[hit] = key
    end
    return key
end


--- Count one verified-token cache lookup.
-- @tparam bool hit true on a cache hit
function _M.cache(hit)
    local key = cache_keys[hit] or _M.cache_key(hit and true or false)
    pending[key] = pending[key] + 1
    if not timer_started then
        start_timer()
    end
end


--- The dict key of a preflight series.
-- @tparam string result `allowed` or `rejected`
-- @treturn string
function _M.preflight_key(result)
    local key = preflight_keys[result]
    if not key then
        local stored = label_value(result)
        if over_budget() then
            stored = "other"
        end
        key = preflight_keys[stored]
              or new_series(PREFLIGHTS, label_pair("result", stored))
        preflight_keys[result] = key
    end
    return key
end


--- Count one CORS preflight answer.
-- @tparam string result `allowed` or `rejected`
function _M.preflight(result)
    local key = preflight_keys[result] or _M.preflight_key(result)
    pending[key] = pending[key] + 1
    if not timer_started then
        start_timer()
    end
end


--- Count one JWKS fetch; `ok` also sets the last-success gauge.
-- Not on the request hot path (fetches are rare), so the gauge is written
-- to the dict directly.
-- @tparam string core `host:port` of the core
-- @tparam string result `ok`, `error` (network/HTTP) or `invalid` (the body
-- was no usable JWKS)
function _M.jwks_fetch(core, result)
    core = label_value(core)
    local key = two_level_key(jwks_keys, JWKS_FETCHES, "core", core,
                              "result", label_value(result))
    pending[key] = pending[key] + 1
    if result == "ok" and dict then
        local by_core = jwks_keys[core]
        local gauge = by_core[GAUGE]
        if not gauge then
            gauge = PREFIX .. JWKS_LAST_OK .. "{" .. by_core[LABEL] .. "}"
            by_core[GAUGE] = gauge
        end
        dict:set(gauge, ngx.now())
    end
    if not timer_started then
        start_timer()
    end
end


local function core_series(path, result)
    local by_path = core_sets[path]
    local set = by_path and by_path[result]
    if set then
        return set
    end
    -- "/<tenantId>/recipe/user/roles": one series for all tenants.  The
    -- tenant id is the token's, so it may hold "/" and "recipe"; the SDK's
    -- tails hold "/recipe/" once, so the tail starts at the last one.
    local label = label_value(path)
    local rest = label:match("^/.+(/recipe/.*)$")
    if rest then
        label = "/<tenant>" .. rest
    end
    local counter = two_level_key(core_keys, CORE_REQUESTS, "path",
                                  label, "result", label_value(result))
    -- Labels exactly as the counter got them (overflow already applied).
    local labels = str_sub(counter, PREFIX_LEN + #CORE_REQUESTS + 2, -2)
    -- Created (so flushed) from +Inf down, while collect() reads upwards:
    -- a scrape that runs during another worker's flush then sees each
    -- observation in all its buckets or only in the wider ones, so the
    -- buckets stay cumulative.  _count is the +Inf bucket, not a series.
    local buckets = {}
    local n = #_M.BUCKETS + 1
    buckets[n] = new_series(CORE_DURATION .. "_bucket",
                            labels .. ',le="+Inf"')
    for i = n - 1, 1, -1 do
        buckets[i] = new_series(CORE_DURATION .. "_bucket",
                                labels .. ',le="' .. _M.BUCKETS[i] .. '"')
    end
    set = {
        counter = counter,
        buckets = buckets,
        sum = new_series(CORE_DURATION .. "_sum", labels),
    }
    by_path = core_sets[path] or {}
    core_sets[path] = by_path
    by_path[result] = set
    if dict then
        -- Every bucket exists from the first observation on, so
        -- histogram_quantile never sees a partial bucket list.
        for i = n, 1, -1 do
            seed(buckets[i])
        end
    end
    return set
end


--- Count one request to the core and observe its duration.
-- @tparam string path e.g. `/recipe/session/verify`
-- @tparam string result `ok`, `unauthorised`, `try_refresh` or `error`
-- @tparam number seconds wall time of the call
function _M.core_call(path, result, seconds)
    local set = core_series(path, result)
    pending[set.counter] = pending[set.counter] + 1
    if type(seconds) == "number" and seconds == seconds then
        if seconds < 0 then
            seconds = 0
        end
        pending[set.sum] = pending[set.sum] + seconds
        local buckets = set.buckets
        local bounds = _M.BUCKETS
        for i = #buckets, 1, -1 do
            local le = bounds[i] or huge
            if seconds > le then
                break
            end
            local key = buckets[i]
            pending[key] = pending[key] + 1
        end
    end
    if not timer_started then
        start_timer()
    end
end


local CORE_RESULTS = {
    OK = "ok",
    UNAUTHORISED = "unauthorised",
    TRY_REFRESH_TOKEN = "try_refresh",
}


--- The `result` label of a core answer with HTTP 200, from its `status`
-- member (for `core_call`; non-200 and network failures are `error`).
-- @tparam string body the core's JSON answer
-- @treturn string `ok`, `unauthorised`, `try_refresh` or `other`
function _M.core_result(body)
    local status = type(body) == "string"
                   and body:match('"status"%s*:%s*"([%u_]+)"')
    return CORE_RESULTS[status] or "other"
end


local core_labels = {}

--- The `core` label (`host:port`) of a URL; cached per URL.
-- @tparam string url e.g. `http://127.0.0.1:3567/.well-known/jwks.json`
-- @treturn string
function _M.core_label(url)
    local label = core_labels[url]
    if label then
        return label
    end
    local scheme, host = tostring(url):match("^(%a+)://([^/?#]+)")
    if not host then
        label = "unknown"
    else
        host = host:gsub("^.*@", "")
        if not host:find(":%d+$") then
            host = host .. (scheme:lower() == "https" and ":443" or ":80")
        end
        label = host:lower()
    end
    if not over_budget() then
        core_labels[url] = label
    end
    return label
end


--- The `result` label of a CORS preflight answer: `allowed` when the
-- answer allows the request's Origin (or the request has none).
-- @tparam table out the `cors.preflight()` answer
-- @tparam[opt] string origin the request's Origin header
-- @treturn string `allowed` or `rejected`
function _M.preflight_result(out, origin)
    if origin == nil then
        return "allowed"
    end
    for _, h in ipairs(out and out.headers or {}) do
        if h[1] == "Access-Control-Allow-Origin" then
            return (h[2] == origin or h[2] == "*") and "allowed"
                   or "rejected"
        end
    end
    return "rejected"
end


--- Push this worker's pending counts to the dict now.
-- The timer does this every `flush_interval`; tests and the scrape handler
-- call it to see their own worker's latest counts.
function _M.flush()
    flush()
end


local function format_value(v)
    if v == floor(v) and v > -2^53 and v < 2^53 then
        return str_format("%d", v)
    end
    if v ~= v then
        return "NaN"
    end
    return str_format("%.15g", v)
end


local LE_ORDER = { ["+Inf"] = #_M.BUCKETS + 1 }
for i, le in ipairs(_M.BUCKETS) do
    LE_ORDER[tostring(le)] = i
end


-- Sort key of a histogram series: its labels without `le`, then the
-- buckets in bound order, then _sum and _count, as the format wants.
local function histogram_order(series, name)
    local suffix_start = #name + 1
    local brace = str_find(series, "{", suffix_start, true)
    local suffix = str_sub(series, suffix_start, brace - 1)
    local labels = str_sub(series, brace + 1, -2)
    if suffix == "_bucket" then
        local base, le = labels:match('^(.*),le="([^"]*)"$')
        return (base or labels) .. "\0"
               .. str_format("%03d", LE_ORDER[le] or 999)
    end
    return labels .. "\0" .. (suffix == "_sum" and "998" or "999")
end


local function by_order(a, b)
    return a[3] < b[3]
end


local function family_of(series)
    local name_end = str_find(series, "{", 1, true)
    local name = str_sub(series, 1, (name_end or #series + 1) - 1)
    for i = 1, #FAMILIES do
        local fam = FAMILIES[i][1]
        if name == fam then
            return i, name
        end
        if FAMILIES[i][2] == "histogram" and str_find(name, fam, 1, true)
            == 1
        then
            return i, fam
        end
    end
    return nil
end


--- Render every metric in the text exposition format 0.0.4.
-- Flushes this worker first; other workers' counts are at most
-- `flush_interval` seconds old.
-- @treturn string|nil body
-- @treturn string|nil error
function _M.collect()
    if not dict then
        if init_error then
            return nil, "supertokens.metrics: not initialised: " .. init_error
        end
        return nil, "supertokens.metrics: not initialised, call init() in "
                    .. "init_by_lua"
    end
    flush()

    -- Keys first, values after sorting: the values are then read in the
    -- order of the exposition, buckets upwards (see core_series).
    local by_family = {}
    for i = 1, #FAMILIES do
        by_family[i] = {}
    end
    local keys = dict:get_keys(0)
    for _, key in ipairs(keys) do
        if str_sub(key, 1, PREFIX_LEN) == PREFIX then
            local series = str_sub(key, PREFIX_LEN + 1)
            local fam, name = family_of(series)
            if fam and FAMILIES[fam][2] == "histogram" then
                -- a stored _count comes from an older version of this
                -- module; the +Inf bucket is the count
                if str_sub(series, #name + 1, #name + 7) ~= "_count{" then
                    local list = by_family[fam]
                    list[#list + 1] = { series, key,
                                        histogram_order(series, name) }
                end
            elseif fam then
                local list = by_family[fam]
                list[#list + 1] = { series, key, series }
            end
        end
    end
    for i = 1, #FAMILIES do
        local list = by_family[i]
        tbl_sort(list, by_order)
        local n = 0
        for j = 1, #list do
            local entry = list[j]
            local value = dict:get(entry[2])
            if type(value) == "number" then
                n = n + 1
                list[n] = { entry[1], value, entry[3] }
            end
        end
        for j = #list, n + 1, -1 do
            list[j] = nil
        end
        if FAMILIES[i][2] == "histogram" then
            local name = FAMILIES[i][1]
            for j = 1, n do
                local entry = list[j]
                local base = str_match(entry[1], '{(.*),le="%+Inf"}$')
                if base then
                    list[#list + 1] = { name .. "_count{" .. base .. "}",
                                        entry[2], base .. "\0" .. "999" }
                end
            end
            tbl_sort(list, by_order)
        end
    end

    -- Derived at scrape time: an alert on "JWKS older than X" needs no
    -- PromQL arithmetic on time().
    local now = ngx.now()
    local age_index, ts_index
    for i = 1, #FAMILIES do
        if FAMILIES[i][1] == JWKS_AGE then
            age_index = i
        elseif FAMILIES[i][1] == JWKS_LAST_OK then
            ts_index = i
        end
    end
    for _, entry in ipairs(by_family[ts_index]) do
        local labels = str_sub(entry[1], #JWKS_LAST_OK + 1)
        local list = by_family[age_index]
        local age = floor((now - entry[2]) * 1000 + 0.5) / 1000
        list[#list + 1] = { JWKS_AGE .. labels, age }
    end

    local out = {}
    local n = 0
    for i = 1, #FAMILIES do
        local name, kind, help = FAMILIES[i][1], FAMILIES[i][2],
                                 FAMILIES[i][3]
        local list = by_family[i]
        n = n + 1
        out[n] = "# HELP " .. name .. " " .. help .. "\n# TYPE " .. name
                 .. " " .. kind .. "\n"
        for _, entry in ipairs(list) do
            n = n + 1
            out[n] = entry[1] .. " " .. format_value(entry[2]) .. "\n"
        end
    end
    return tbl_concat(out)
end


--- `content_by_lua` handler serving `collect()` as `text/plain`.
-- Answers 500 (and logs) when `init()` was never called.
function _M.handler()
    local body, err = _M.collect()
    if not body then
        ngx.log(ngx.ERR, err)
        ngx.status = 500
        ngx.header["Content-Type"] = "text/plain; charset=utf-8"
        ngx.say(err)
        return ngx.exit(500)
    end
    ngx.header["Content-Type"] = _M.CONTENT_TYPE
    ngx.print(body)
    return ngx.exit(200)
end


return _M
