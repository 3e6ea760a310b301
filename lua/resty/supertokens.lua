-- OpenResty entry point: supertokens-node's verifySession() in front of an
-- upstream.
--
--   http {
--       lua_shared_dict supertokens 10m;
--       init_by_lua_block {
--           require("resty.supertokens").init({ connection_uri = ...,
--               app_info = { api_domain = ..., website_domain = ... } })
--       }
--       header_filter_by_lua_block {
--           require("resty.supertokens").header_filter()
--       }
--       server {
--           location /api/ {
--               access_by_lua_block {
--                   require("resty.supertokens").verify_session()
--               }
--               proxy_pass http://app;
--           }
--       }
--   }
--
-- The decision itself (which token, which answer) is the gateway-neutral
-- resty.supertokens.decide; this module reads the request for it, applies
-- its answer, and wires in the JWKS engine, the core client and CORS.

local config = require "resty.supertokens.config"
local decide = require "resty.supertokens.decide"
local cors = require "resty.supertokens.cors"
local outcome = require "resty.supertokens.outcome"
local keys = require "resty.supertokens.keys"
local core = require "resty.supertokens.core"
local http = require "resty.supertokens.http"
local metrics = require "resty.supertokens.metrics"
local jsonjs = require "resty.supertokens.jsonjs"
local stjwt = require("resty.supertokens.ffi").C

local ngx = ngx
local ngx_log = ngx.log
local ngx_var = ngx.var
local ngx_header = ngx.header
local ngx_print = ngx.print
local ngx_exit = ngx.exit
local get_method = ngx.req.get_method
local get_headers = ngx.req.get_headers
local set_header = ngx.req.set_header
local clear_header = ngx.req.clear_header
local type = type
local next = next
local pairs = pairs
local ipairs = ipairs
local pcall = pcall
local error = error
local tostring = tostring
local setmetatable = setmetatable
local concat = table.concat
local str_find = string.find
local str_sub = string.sub
local str_byte = string.byte
local str_char = string.char
local str_gsub = string.gsub
local str_lower = string.lower
local str_format = string.format

local _M = { _VERSION = "0.1.0" }

local NOTE = "Fetch any data from your application for authenticated user "
             .. "after using verifySession middleware"

local LOG_LEVELS = {
    debug = ngx.DEBUG,
    info = ngx.INFO,
    notice = ngx.NOTICE,
    warn = ngx.WARN,
    error = ngx.ERR,
    err = ngx.ERR,
    crit = ngx.CRIT,
}

local INTERNAL_ERROR_BODY = '{"message":"internal error"}'

-- Set by init(): the config and what hangs off it.
local state = {}


------------------------------------------------------------------------
-- JSON text helpers (JSON.stringify-compatible, for the /api/user body)
------------------------------------------------------------------------

local JSON_ESCAPES = {
    ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
    ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}
for c = 0, 31 do
    local ch = str_char(c)
    if not JSON_ESCAPES[ch] then
        JSON_ESCAPES[ch] = str_format("\\u%04x", c)
    end
end


-- The checks below walk strings byte by byte: a Lua pattern costs tens
-- of ns per byte, and payloads are hundreds of bytes long on every
-- request; this loop compiles to a few instructions per byte.

-- Whether s has a byte JSON must escape (control, '"', '\\').
local function needs_json_escape(s)
    for i = 1, #s do
        local c = str_byte(s, i)
        if c < 32 or c == 34 or c == 92 then
            return true
        end
    end
    return false
end


-- Whether s has a control character (which no header value may carry).
local function has_control(s)
    for i = 1, #s do
        local c = str_byte(s, i)
        if c < 32 or c == 127 then
            return true
        end
    end
    return false
end


-- Whether a JSON text has whitespace outside its strings.
local function json_has_space(json)
    -- Tokens from the core carry none at all: four plain finds (memchr
    -- speed) settle that before the byte walk.
    if not str_find(json, " ", 1, true) and not str_find(json, "\n", 1, true)
       and not str_find(json, "\t", 1, true)
       and not str_find(json, "\r", 1, true)
    then
        return false
    end
    local in_string, escaped = false, false
    for i = 1, #json do
        local c = str_byte(json, i)
        if in_string then
            if escaped then
                escaped = false
            elseif c == 92 then
                escaped = true
            elseif c == 34 then
                in_string = false
            end
        elseif c == 34 then
            in_string = true
        elseif c == 32 or c == 9 or c == 10 or c == 13 then
            return true
        end
    end
    return false
end


local function json_string(s)
    if not needs_json_escape(s) then
        return '"' .. s .. '"'
    end
    return '"' .. str_gsub(s, '[%z\1-\31"\\]', JSON_ESCAPES) .. '"'
end


-- Drops the whitespace between tokens of a (valid) JSON text; strings
-- are copied untouched, so member order, numbers and nulls stay as the
-- token carried them.
local function json_minify(json)
    if not json_has_space(json) then
        return json
    end
    local out, n, i = {}, #json, 1
    while i <= n do
        local s = str_find(json, '[ \t\r\n"]', i)
        if not s then
            out[#out + 1] = str_sub(json, i)
            break
        end
        if str_byte(json, s) == 34 then
            local j = s + 1
            while true do
                local q = str_find(json, '["\\]', j)
                if not q then
                    out[#out + 1] = str_sub(json, i)
                    return concat(out)
                end
                if str_byte(json, q) == 92 then
                    j = q + 2
                else
                    j = q + 1
                    break
                end
            end
            out[#out + 1] = str_sub(json, i, j - 1)
            i = j
        else
            out[#out + 1] = str_sub(json, i, s - 1)
            i = str_find(json, "[^ \t\r\n]", s) or n + 1
        end
    end
    return concat(out)
end
_M._json_minify = json_minify


-- Whether JSON.stringify(JSON.parse(json)) prints json itself, as for the
-- payloads a core mints (C: stjwt_json_js_plain(); false: not sure).
local function js_plain(json)
    return stjwt.stjwt_json_js_plain(json, #json) == 1
end
_M._js_plain = js_plain


-- The payload as node's JSON.stringify(payload) prints it (the /api/user
-- body, the payload identity header): the token's own text when it is
-- that already, the usual case; else parsed and printed again.
local function payload_text(json)
    if js_plain(json) then
        return json
    end
    return jsonjs.normalize(json) or json_minify(json)
end
_M._payload_text = payload_text

local USER_BODY_START = '{"note":' .. json_string(NOTE)


-- Reserves a table slot: a constant nil is dropped from LuaJIT's template,
-- and storing the field later rehashed the table (a rehash also drops
-- reserved nil slots); a nil the parser cannot fold stays.
local NO_VALUE = nil


------------------------------------------------------------------------
-- Log lines
------------------------------------------------------------------------

-- Attacker-controlled text (kid, path) goes into the log: printable ASCII
-- only, bounded, so no line can be forged or flooded, and no base64url
-- JSON (a token or a piece of one, as a forged kid or a path may carry).
local function clean(s, max)
    if s == nil then
        return "-"
    end
    s = tostring(s)
    if #s > max then
        s = str_sub(s, 1, max) .. "..."
    end
    s = str_gsub(s, "[^\33-\126]", "?")
    return (str_gsub(s, "eyJ[%w_%-]+", "eyJ(redacted)"))
end
_M.log_safe = clean


local function log_reject(conf, st, out)
    local log_conf = conf.log or {}
    local level = LOG_LEVELS[log_conf.level or "warn"] or ngx.WARN
    if out.class == "error" then
        level = ngx.ERR
    end
    local reason = log_conf.reasons == false and "-" or clean(out.reason, 64)
    local path = ngx_var.uri
    local kid, alg, transfer, handle
    local info, token = st.info, st.token
    if info then
        kid, alg = info.kid, info.alg
        local auth = st.header("authorization")
        transfer = (auth and str_find(auth, token, 1, true)) and "header"
                   or "cookie"
        if st.signed and type(info.handle) == "string" then
            handle = info.handle
        end
    end
    ngx_log(level, "supertokens: reject status=", out.status,
            " class=", out.class or "-",
            " reason=", reason,
            " detail=", clean(out.detail, 120),
            " method=", clean(st.method, 16),
            " route=", clean(path, 200),
            " transfer=", transfer or "-",
            " kid=", clean(kid, 64),
            " alg=", clean(alg, 16),
            " session=", clean(handle, 80))
end


------------------------------------------------------------------------
-- Request view and environment for the decision
------------------------------------------------------------------------

-- A header value as node's parser hands it over: without the spaces and
-- tabs around it (HTTP's OWS).  nginx drops the spaces only, so a tab
-- stays: "anti-csrf: <TAB>tok" is "\ttok" to nginx and "tok" to node
-- (VIA_TOKEN would fail), "Authorization: <TAB>Bearer t" would not start
-- with "Bearer ".  Most values have neither at either end.
local function ows_trim(v)
    if v == nil then
        return nil
    end
    local n = #v
    local a, z = str_byte(v, 1), str_byte(v, n)
    if a ~= 9 and a ~= 32 and z ~= 9 and z ~= 32 then
        return v
    end
    local i, j = 1, n
    while i <= j do
        local c = str_byte(v, i)
        if c ~= 9 and c ~= 32 then
            break
        end
        i = i + 1
    end
    while j >= i do
        local c = str_byte(v, j)
        if c ~= 9 and c ~= 32 then
            break
        end
        j = j - 1
    end
    return str_sub(v, i, j)
end
_M._ows_trim = ows_trim


-- One header of a headers table shaped like ngx.req.get_headers() /
-- kong.request.get_headers() (lower-case names; repeated headers as
-- lists), as node reads it.
local function header_value(headers, lname)
    local v = headers[lname]
    if type(v) == "table" then
        -- node's http parser: duplicate Authorization headers keep the
        -- first; other duplicates are joined with ", " (each trimmed).
        if lname == "authorization" then
            return ows_trim(v[1])
        end
        local list = {}
        for i = 1, #v do
            list[i] = ows_trim(v[i])
        end
        return concat(list, ", ")
    end
    return ows_trim(v)
end


-- req.header of request_view(): a callable table, not a closure
-- (creating closures stops the JIT).
local table_header_mt = {
    __call = function(self, lname)
        return header_value(self.headers, lname)
    end,
}


-- request_view(method, path, headers) -> req for decide.verify, from a
-- headers table as header_value() takes it.
local function request_view(method, path, headers)
    local header = setmetatable({ headers = headers }, table_header_mt)

    -- Several Cookie headers (HTTP/2 sends one per cookie) are one list.
    local cookie = headers.cookie
    if type(cookie) == "table" then
        cookie = concat(cookie, "; ")
    end

    return {
        method = method,
        path = path,
        header = header,
        cookie = cookie,
    }
end
_M.request_view = request_view


-- $http_<name> of the headers the decision and CORS ask for.
local HEADER_VARS = {
    ["anti-csrf"] = "http_anti_csrf",
    rid = "http_rid",
    origin = "http_origin",
}


-- The state of one request's decision is also the decision's view of the
-- request (decide.lua's req: method, header, cookie, path): one table per
-- request, not three (state, view, header function).
--
-- st.header is st itself, called as header(lname): the nginx request's
-- header without building the header table of every request.
-- $http_<name> is nil exactly when no header of that name is there (it
-- also matches "_" for "-", so non-nil may still mean absent);
-- $http_authorization is the first Authorization header, which is what
-- node keeps.  Any other header that may be present is read from the full
-- list, fetched once into st.headers, so duplicates join as node joins
-- them.  A callable table, not a closure: creating closures stops the JIT.
--
-- st.path ($request_uri) is read on first use: only a POST (the refresh
-- path check) needs it.
local request_mt = {
    __call = function(st, lname)
        if lname == "authorization" then
            return ows_trim(ngx_var.http_authorization)
        end
        local headers = st.headers
        if not headers then
            local var = HEADER_VARS[lname]
                        or "http_" .. str_gsub(str_lower(lname), "-", "_")
            if ngx_var[var] == nil then
                return nil
            end
            -- 0: no cap on the number of headers, so a header cannot be
            -- hidden behind a hundred junk headers.
            headers = get_headers(0)
            st.headers = headers
        end
        return header_value(headers, lname)
    end,
    __index = function(st, k)
        if k == "path" then
            local path = ngx_var.request_uri
            st.path = path
            return path
        end
        return nil
    end,
}


-- Date.now(): expiry is judged to the millisecond, and ngx.now() is the
-- event loop's cached clock (an access handler can run after a slow one
-- in the same loop iteration).  A C call rather than ngx.update_time(),
-- which stops LuaJIT from compiling its callers' traces.
local clock = require("resty.supertokens.ffi").C

local function now_ms()
    local ms = clock.stjwt_now_ms()
    return ms
end
_M.now_ms = now_ms


-- The request state of the decision verify_session() is running.  Set
-- right before decide.verify() and read by check_signature() before it
-- can yield: no other request runs in between, and nothing reads it
-- later, so it always names the caller's request (saves an ngx.ctx).
local deciding

local function make_env(engine, core_client)
    return {
        now_ms = now_ms,
        -- a repeated token is not parsed again (verified-token cache)
        parse = function(token)
            return engine:parse(token)
        end,
        check_signature = function(token, info)
            -- What the log line of a rejection says about the token (kid,
            -- alg, transfer, session) is worked out from these then.
            local st = deciding
            if st and type(info) == "table" then
                st.token, st.info = token, info
            end
            local ok, reason = engine:check_signature(token, info)
            if ok and st then
                st.signed = true
            end
            return ok, reason
        end,
        core = core_client,
    }
end


------------------------------------------------------------------------
-- Routes: compiled once, whatever way the caller passes them
------------------------------------------------------------------------

local compiled = setmetatable({}, { __mode = "k" })
local by_table = setmetatable({}, { __mode = "k" })
local by_key = {}
local by_name = {}

local SCALAR_OPTS = {
    session_required = true, anti_csrf_check = true, check_database = true,
}


local function scalar_key(opts)
    local no_claims = false
    for k, v in pairs(opts) do
        if k == "claims" and type(v) == "table" and next(v) == nil then
            no_claims = true
        elseif not SCALAR_OPTS[k] then
            return nil
        end
    end
    return tostring(opts.session_required) .. "|"
           .. tostring(opts.anti_csrf_check) .. "|"
           .. tostring(opts.check_database) .. "|"
           .. tostring(no_claims)
end


-- route(opts, name?) -> compiled route.  Pass the route (or its name) to
-- verify_session to skip compiling per call; do it in init_by_lua.
-- Raises on bad opts.
function _M.route(opts, name)
    local r = decide.route(opts or {})
    compiled[r] = true
    if name ~= nil then
        if type(name) ~= "string" then
            error("supertokens: route: name must be a string", 2)
        end
        by_name[name] = r
    end
    return r
end


local function get_route(opts)
    if opts == nil then
        local r = state.default_route
        if not r then
            r = _M.route({})
            state.default_route = r
        end
        return r
    end
    if type(opts) == "string" then
        local r = by_name[opts]
        if not r then
            error("supertokens: verify_session: no route named '" .. opts
                  .. "' (define it with route(opts, name) in init_by_lua)",
                  3)
        end
        return r
    end
    if compiled[opts] then
        return opts
    end
    local r = by_table[opts]
    if r then
        return r
    end
    -- Literal tables in access_by_lua_block are new on every request, so
    -- plain options are also cached by value.
    local key = scalar_key(opts)
    if key then
        r = by_key[key]
        if not r then
            r = _M.route(opts)
            by_key[key] = r
        end
    else
        r = _M.route(opts)
    end
    by_table[opts] = r
    return r
end


------------------------------------------------------------------------
-- Applying answers
------------------------------------------------------------------------

local function header_value_list(v)
    if v == nil then
        return nil
    end
    if type(v) == "table" then
        return concat(v, ", ")
    end
    return v
end


-- group_headers(list) -> { {name, value_or_list}, ... }: an ordered
-- {name, value} list with repeated names (Set-Cookie) folded into one
-- entry holding the values in order; first-seen order of names.
local function group_headers(list)
    local grouped, order = {}, {}
    for _, h in ipairs(list) do
        local lname = str_lower(h[1])
        local g = grouped[lname]
        if not g then
            g = { h[1], h[2] }
            grouped[lname] = g
            order[#order + 1] = g
        elseif type(g[2]) == "table" then
            g[2][#g[2] + 1] = h[2]
        else
            g[2] = { g[2], h[2] }
        end
    end
    return order
end
_M.group_headers = group_headers


-- nginx drops a header set to "", but node sends the clearing headers
-- (st-access-token, st-refresh-token) with empty values.  A single space
-- is the same on the wire to any HTTP client (leading and trailing
-- whitespace is not part of a field value, RFC 9110 5.5), so send that.
local function set_headers(list)
    for _, g in ipairs(group_headers(list)) do
        local v = g[2]
        if v == "" then
            v = " "
        end
        ngx_header[g[1]] = v
    end
end


local function respond(out)
    ngx.status = out.status
    if out.headers then
        set_headers(out.headers)
    end
    local body = out.body or ""
    ngx_header["Content-Length"] = #body
    ngx_print(body)
    return ngx_exit(ngx.HTTP_OK)
end


-- Upstream identity headers: config key -> session field.
local IDENTITY = {
    { "user_id", "user_id" },
    { "recipe_user_id", "recipe_user_id" },
    { "session_handle", "handle" },
    { "tenant_id", "tenant_id" },
    { "payload", "payload_json" },
}


-- identity_names(conf) -> header names to strip from every request
-- (empty when upstream_headers.strip_incoming is false).
function _M.identity_names(conf)
    local uh = conf.upstream_headers
    local names = {}
    if not uh or uh.strip_incoming == false then
        return names
    end
    for _, f in ipairs(IDENTITY) do
        local name = uh[f[1]]
        if type(name) == "string" then
            names[#names + 1] = name
        end
    end
    return names
end


-- The header value of a session's field, or nil when it has control
-- characters (which cannot be header values).  The payload's (its text as
-- in the /api/user body) is kept on the session (decide's payload_header
-- slot, false: none), as its /api/user body is: a repeated token's
-- session is the same table on every request.
local function identity_value(key, s, value)
    if key == "payload" then
        local header = s.payload_header
        if header == nil then
            -- as JSON.stringify prints it (what node's handler would
            -- send on); a DEL it prints raw cannot be in a header: then
            -- the token's own text, minified, where it is an escape
            local raw = tostring(value)
            local text = payload_text(raw)
            if has_control(text) then
                text = json_minify(raw)
            end
            header = not has_control(text) and text
            s.payload_header = header
        end
        return header or nil
    end
    value = tostring(value)
    if has_control(value) then
        return nil
    end
    return value
end


-- identity_headers(conf, session) -> { {name, value}, ... }, dropped
-- Values with control characters cannot be header values; their names
-- come back in `dropped` (a list) for the caller to log.
function _M.identity_headers(conf, s)
    local uh = conf.upstream_headers
    local list, dropped = {}, nil
    if not uh or not s then
        return list
    end
    for _, f in ipairs(IDENTITY) do
        local name = uh[f[1]]
        local value = s[f[2]]
        if type(name) == "string" and value ~= nil then
            value = identity_value(f[1], s, value)
            if value then
                list[#list + 1] = { name, value }
            else
                dropped = dropped or {}
                dropped[#dropped + 1] = name
            end
        end
    end
    return list, dropped
end


-- What the request path needs from a config, worked out once per config:
-- header names to strip and set, and the CORS headers when they do not
-- depend on the request.
local plans = setmetatable({}, { __mode = "k" })

local NO_HEADERS = { header = function() return nil end }

local function plan_of(conf)
    local plan = plans[conf]
    if plan then
        return plan
    end
    local identity = {}
    -- With nginx's underscores_in_headers on, a client can send a name
    -- spelt with "_" for "-" anywhere in it ("X-SuperTokens_User-Id"),
    -- which CGI-style upstreams (PHP, Rack, WSGI) read as the same name:
    -- every such spelling is cleared too.  $http_<name> matches all of
    -- them (nginx compares "-" and "_" alike), so the headers are only
    -- scanned when one is there.  A name configured with "_" needs this
    -- whatever nginx's settings: its "-" spelling is a valid header nginx
    -- always passes on (X-SuperTokens-Recipe-User-Id for
    -- X_SuperTokens_Recipe_User_Id).
    local spelling_vars, spellings = false, false
    local uh = conf.upstream_headers
    if uh then
        local strip = uh.strip_incoming ~= false
        local underscores = uh.underscores_in_headers == true and strip
        for _, f in ipairs(IDENTITY) do
            local name = uh[f[1]]
            if type(name) == "string" then
                identity[#identity + 1] = { name, f[2], f[1] }
                if underscores or strip and str_find(name, "_", 1, true)
                then
                    spelling_vars = spelling_vars or {}
                    spellings = spellings or {}
                    local key = str_gsub(str_lower(name), "_", "-")
                    if not spellings[key] then
                        spellings[key] = true
                        spelling_vars[#spelling_vars + 1] =
                            "http_" .. str_gsub(key, "-", "_")
                    end
                end
            end
        end
    end
    local cors_list = false
    local c = conf.cors
    if not c.enabled or c.fixed_origin then
        -- Always the same list: no Origin header is read.
        cors_list = {}
        for i, h in ipairs(cors.headers(conf, NO_HEADERS)) do
            cors_list[i] = { h[1], h[2], str_lower(h[1]) }
        end
    end
    plan = {
        strip_incoming = #_M.identity_names(conf) > 0,
        identity = identity,
        spelling_vars = spelling_vars,
        spellings = spellings,
        cors = cors_list,
    }
    plans[conf] = plan
    return plan
end


-- Clears every identity header the client sent under a spelling other
-- than the configured one (see plan_of()).  st.headers is the request's
-- headers as they came, names in lower case.
local function clear_other_spellings(plan, spelling_vars, st)
    local sent = false
    for i = 1, #spelling_vars do
        if ngx_var[spelling_vars[i]] ~= nil then
            sent = true
            break
        end
    end
    if not sent then
        return
    end
    local headers = st.headers
    if not headers then
        headers = get_headers(0)
        st.headers = headers
    end
    local spellings = plan.spellings
    for name in pairs(headers) do
        if spellings[(str_gsub(name, "_", "-"))] then
            clear_header(name)
        end
    end
end


-- The identity headers the upstream gets: each name is set to the
-- session's value (replacing whatever the client sent under it) or, with
-- no value, cleared (unless strip_incoming is off): one request-header
-- operation per name instead of a strip of every name before the
-- decision and a set after it (+5 % req/s through verify_session on a
-- cached token, 10 interleaved rounds: ~0.1 us a name).
local function pass_identity(plan, s, st)
    local spelling_vars = plan.spelling_vars
    if spelling_vars then
        clear_other_spellings(plan, spelling_vars, st)
    end
    local dropped
    local identity = plan.identity
    local strip = plan.strip_incoming
    for i = 1, #identity do
        local f = identity[i]
        local value = s and s[f[2]]
        if value ~= nil then
            value = identity_value(f[3], s, value)
            if not value then
                dropped = dropped or {}
                dropped[#dropped + 1] = f[1]
            end
        end
        if value then
            set_header(f[1], value)
        elseif strip then
            clear_header(f[1])
        end
    end
    if dropped then
        ngx_log(ngx.WARN, "supertokens: upstream header(s) not set, value "
                .. "has control characters: ", concat(dropped, ", "))
    end
end


------------------------------------------------------------------------
-- Public API
------------------------------------------------------------------------

-- init(config): in init_by_lua*.  Raises (and so stops nginx) with a
-- message that names the offending field.
function _M.init(user_conf)
    if type(user_conf) ~= "table" then
        error("supertokens: init: config must be a table", 2)
    end

    -- http_client is ours, not the decision core's: take it out before
    -- config.new() (which rejects unknown keys).
    local client_spec = user_conf.http_client
    local copy = {}
    for k, v in pairs(user_conf) do
        if k ~= "http_client" then
            copy[k] = v
        end
    end

    local conf, err = config.new(copy)
    if not conf then
        error(err, 0)
    end
    for _, w in ipairs(conf.warnings or {}) do
        ngx_log(ngx.WARN, "supertokens: ", w)
    end

    local ok, client = pcall(http.client, client_spec)
    if not ok then
        error("supertokens: http_client: " .. tostring(client), 0)
    end

    local engine
    engine, err = keys.new(conf, client)
    if not engine then
        error(err, 0)
    end

    local core_client = core.new(conf, client)

    state = {
        conf = conf,
        engine = engine,
        env = make_env(engine, core_client),
        default_route = nil,
    }
    state.default_route = _M.route({})

    -- Counters live in "supertokens_metrics" when declared, else in the
    -- JWKS dict (which init() already requires).
    local mok, merr = pcall(metrics.init)
    if not mok then
        ngx_log(ngx.NOTICE, "supertokens: metrics disabled: ", merr)
    end
    return conf
end


-- init_worker(opts): optional.  opts.prefetch = true fetches the JWKS
-- right away (one worker fetches, the others reuse it) instead of on the
-- first request.
function _M.init_worker(opts)
    if not state.conf then
        error("supertokens: init_worker: call init() first", 2)
    end
    if opts and opts.prefetch and not state.engine.static then
        local engine = state.engine
        local ok, err = ngx.timer.at(0, function(premature)
            if not premature then
                engine:prefetch()
            end
        end)
        if not ok then
            ngx_log(ngx.ERR, "supertokens: cannot schedule JWKS prefetch: ",
                    err)
        end
    end
end


-- What follows a decision is in functions of its own (decided(),
-- verify_session_pass(), user_endpoint_answer()): a trace cannot return
-- through the pcall frame of decide.verify_protected() ("NYI: return to
-- lower frame"), so everything after it in the same function ran in the
-- interpreter on every request.  Called from there, a function gets a
-- trace of its own (+3 % cached req/s, 8 interleaved rounds).
--
-- The decision counted, and logged when it is a rejection; a failure
-- inside it (ok false) is a 500 with a log line, not a crash.
local function decided(st, ok, out)
    deciding = nil
    if not ok then
        ngx_log(ngx.ERR, "supertokens: decision failed: ",
                clean(out, 300))
        out = {
            pass = false,
            status = 500,
            body = INTERNAL_ERROR_BODY,
            headers = { { "Content-Type", outcome.CONTENT_TYPE } },
            class = "error",
            reason = "internal",
        }
    end

    metrics.verification(out.class, out.reason)
    if not out.pass then
        log_reject(st.conf, st, out)
    end
    return out
end


-- The decision for the request of st (see decided()).
local function decide_for(st, opts)
    local route = get_route(opts)
    deciding = st
    local ok, out = decide.verify_protected(st.conf, route, st,
                                            state.env)
    return decided(st, ok, out)
end


-- The state of this request's decision; raises when init() has not run.
local function start(fn)
    local conf = state.conf
    if not conf then
        error("supertokens: " .. fn .. ": call init() in init_by_lua first",
              3)
    end
    -- $http_cookie is every Cookie header joined with "; ", as above.
    -- header is st itself (below); token, info and signed are set on every
    -- verified request (check_signature in make_env): slots in the
    -- template cost less than keys added later, which rehash the table.
    local st
    if fn == "verify_session" then
        -- and what the later phases need: the session, the copy handed to
        -- user code, the headers to relay (NO_VALUE: reserved slots);
        -- 16 nodes, which the two keys added to the
        -- 8-node table below would make too, by two rehashes per request
        st = {
            conf = conf, plan = plan_of(conf),
            method = get_method(), cookie = ngx_var.http_cookie,
            header = false, token = false, info = false, signed = false,
            session = NO_VALUE, own_session = NO_VALUE, relay = NO_VALUE,
        }
    else
        st = {
            conf = conf, plan = plan_of(conf),
            method = get_method(), cookie = ngx_var.http_cookie,
            header = false, token = false, info = false, signed = false,
        }
    end
    -- Not `return setmetatable(...)`: a trace cannot return to a lower
    -- frame after a tail call to a builtin, so every trace through here
    -- aborted ("leaving loop in root trace at setmetatable").
    setmetatable(st, request_mt)
    st.header = st
    return st
end


-- Answers an OPTIONS preflight (and ends the phase); nil for any other
-- request.
local function preflight(st)
    local pre = cors.preflight(st.conf, st)
    if not pre then
        return nil
    end
    st.preflight = true
    metrics.preflight(metrics.preflight_result(pre, st.header("origin")))
    respond(pre)
    return true
end


-- The session handed to user code (verify_session's return value,
-- get_session()): a table of this request's own, made on first use; the
-- decision's may be shared by the requests with the same token.
local function own_session(st)
    local own = st.own_session
    if not own and st.session then
        own = decide.copy_session(st.session)
        st.own_session = own
    end
    return own
end


-- The rest of verify_session() (see decided()).
local function verify_session_pass(st, out)
    if not out.pass then
        return respond(out)
    end

    local s = out.session
    st.session = s
    if out.headers and next(out.headers) then
        st.relay = out.headers
    end
    pass_identity(st.plan, s, st)
    return own_session(st)
end


-- verify_session(opts): in access_by_lua*.  opts as decide.route() takes
-- them, or a route from _M.route().  On a rejection this answers the
-- request and does not return.
function _M.verify_session(opts)
    local st = start("verify_session")
    ngx.ctx.supertokens = st

    -- A client must not be able to pose as a user to the upstream: every
    -- way on to it passes pass_identity() (a preflight or a rejection is
    -- answered here and ends the request).
    if preflight(st) then
        pass_identity(st.plan, nil, st)
        return
    end

    return verify_session_pass(st, decide_for(st, opts))
end


-- Adds the token headers the decision asked for (st.relay) and the CORS
-- headers to the response headers, merging with those already there (the
-- upstream's, or our own answer's).
local function decorate(st)
    local relay = st.relay
    if relay then
        -- In node the SDK writes its token headers in verifySession(),
        -- before the route's handler: a handler's own cookies come after
        -- the SDK's (and win in the browser), its own front-token or
        -- st-access-token replaces the SDK's.  An upstream here is that
        -- handler.
        local cookies
        for _, h in ipairs(relay) do
            local name, value = h[1], h[2]
            local lname = str_lower(name)
            if lname == "access-control-expose-headers" then
                ngx_header[name] = outcome.merge_expose(
                    header_value_list(ngx_header[name]), value)
            elseif lname == "set-cookie" then
                cookies = cookies or {}
                cookies[#cookies + 1] = value
            elseif ngx_header[name] == nil then
                -- an empty value would clear the header (node sends
                -- "anti-csrf:" when the request's was empty); a client
                -- reads " " as "", as for set_headers()
                ngx_header[name] = value == "" and " " or value
            end
        end
        if cookies then
            local theirs = ngx_header["Set-Cookie"]
            if type(theirs) == "table" then
                for i = 1, #theirs do
                    cookies[#cookies + 1] = theirs[i]
                end
            elseif theirs ~= nil then
                cookies[#cookies + 1] = theirs
            end
            ngx_header["Set-Cookie"] = cookies
        end
    end

    local list = st.plan.cors or cors.headers(st.conf, st)
    if list then
        for i = 1, #list do
            local h = list[i]
            local name, value = h[1], h[2]
            local lname = h[3] or str_lower(name)
            if lname == "vary" then
                ngx_header["Vary"] = outcome.merge_vary(
                    header_value_list(ngx_header["Vary"]), value)
            elseif lname == "access-control-expose-headers" then
                ngx_header[name] = outcome.merge_expose(
                    header_value_list(ngx_header[name]), value)
            else
                ngx_header[name] = value
            end
        end
    end
end


-- header_filter(): in header_filter_by_lua*.  Adds the token headers the
-- decision asked for and the CORS headers, merging with the upstream's.
function _M.header_filter()
    local st = ngx.ctx.supertokens
    if not st or st.preflight then
        return
    end
    decorate(st)
end


-- The oracle's /api/user answer; JSON.stringify leaves out members whose
-- value is undefined.  payload: its JSON text as printed (payload_text()).
local function user_body(user_id, handle, payload)
    -- One concatenation: intermediate copies of a 1 KB body would be
    -- garbage on every new token (each parenthesised part below is a
    -- string of its own, so the usual session gets a flat expression).
    if payload and type(user_id) == "string" and type(handle) == "string"
       and not needs_json_escape(user_id) and not needs_json_escape(handle)
    then
        return USER_BODY_START .. ',"userId":"' .. user_id
               .. '","sessionHandle":"' .. handle
               .. '","userDataInAccessToken":' .. payload .. "}"
    end
    return USER_BODY_START
           .. (type(user_id) == "string"
               and ',"userId":' .. json_string(user_id) or "")
           .. (type(handle) == "string"
               and ',"sessionHandle":' .. json_string(handle) or "")
           .. (payload and ',"userDataInAccessToken":' .. payload
               or "")
           .. "}"
end


-- The /api/user body for a session (nil: no session), kept on the session
-- (decide's answer_body): a repeated token's pass, and so its session, is
-- the same table on every request, and a new token's session gets its body
-- without a table in a payload memo (+2.9 % req/s with a new token per
-- request, 20 interleaved rounds; a repeated token +1.0 %, 12 rounds).
local function user_answer(s)
    if not s then
        return user_body(nil, nil, nil)
    end
    local body = s.answer_body
    if body then
        return body
    end
    local payload = s.payload_json
    body = user_body(s.user_id, s.handle, type(payload) == "string"
                                          and payload_text(payload) or nil)
    s.answer_body = body
    return body
end


-- user_handler(): content_by_lua* after verify_session() in access_by_lua*
-- answering what the oracle's express handler answers.
function _M.user_handler()
    local st = ngx.ctx.supertokens
    if not st then
        ngx_log(ngx.WARN, "supertokens: user_handler without verify_session")
    end
    local body = user_answer(st and st.session)
    ngx.status = 200
    ngx_header["Content-Type"] = outcome.CONTENT_TYPE
    ngx_header["Content-Length"] = #body
    ngx_print(body)
end


-- The rest of user_endpoint() (see decided()).
local function user_endpoint_answer(st, out)
    local body
    if out.pass then
        body = user_answer(out.session)
        ngx.status = 200
        ngx_header["Content-Type"] = outcome.CONTENT_TYPE
        if out.headers and next(out.headers) then
            st.relay = out.headers
        end
    else
        body = out.body or ""
        ngx.status = out.status
        if out.headers then
            set_headers(out.headers)
        end
    end
    ngx_header["Content-Length"] = #body
    decorate(st)
    ngx_print(body)
end


-- user_endpoint(opts): content_by_lua* on its own: verifySession() and
-- the /api/user answer in one phase.  The same answers as verify_session()
-- + user_handler() + header_filter(), without the access and header filter
-- phases (a fifth of a cached request's cost) and without identity
-- headers (there is no upstream).  Do not combine it with verify_session()
-- on the same location: the headers would be added twice.  Call it last
-- in its block: it answers the request, and returns.
function _M.user_endpoint(opts)
    local st = start("user_endpoint")
    if preflight(st) then
        return
    end
    user_endpoint_answer(st, decide_for(st, opts))
    -- The answer is complete; returning ends the content handler as
    -- ngx.exit(200) would, without its yield back to ngx_lua (+2.4 %
    -- cached req/s, 6 interleaved rounds).
end


-- get_session() -> the session of this request (decide.lua's out.session)
-- or nil: a table of this request's own (the decision's may be shared by
-- requests with the same token).  session.payload is shared by every
-- request that carries the same (cached) token: read it, do not change it.
function _M.get_session()
    local st = ngx.ctx.supertokens
    return st and own_session(st)
end


-- _flush_token_cache(): forget this worker's verified tokens and their
-- first-use counts (benchmarks and tests: a run that must miss).
function _M._flush_token_cache()
    local c = state.engine and state.engine.cache
    if c then
        c:flush()
    end
end


-- The validated config (nil before init).
function _M.config()
    return state.conf
end


return _M
