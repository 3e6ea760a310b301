--- The decision: what would supertokens-node 24's `verifySession()` (with
-- its default error handlers) answer to this request?  Spec Appendix A,
-- step by step; gateway-neutral (no ngx.*): I/O goes through `env`.
--
--   local route = decide.route({ session_required = false })
--   local out = decide.verify(conf, route, req, env)
--
-- req = { method, path (raw target), header = fn(lname) -> str|nil
--         (authorization: first value; others joined ", "),
--         cookie = raw Cookie header(s) joined "; " }
-- env = { now_ms = fn, check_signature = fn(token, info) -> true|nil,why,
--         parse = fn(token) (optional), core = { request = fn(method, path,
--         query_pairs, body_json, rid) -> 200 body text | nil, err } }
-- out = { pass, status, body, headers = {{name, value}...}, class, reason,
--         detail, clear, session = { user_id, recipe_user_id, handle,
--         tenant_id, payload, payload_json, access_token, transfer,
--         version, kid, expiry_ms, new_token } }
-- A pass on the plain path (no core call, no claims) is one table per
-- token and transfer, shared by every request that brings them: read-only.
-- What a shell hands to user code is `copy_session(out.session)`.
-- @module resty.supertokens.decide

local cjson = require "cjson.safe"
local jsonjs = require "resty.supertokens.jsonjs"
local normalise = require "resty.supertokens.normalise"
local transport = require "resty.supertokens.transport"
local token = require "resty.supertokens.token"
local csrf = require "resty.supertokens.csrf"
local claims = require "resty.supertokens.claims"
local outcome = require "resty.supertokens.outcome"

local byte = string.byte
local error = error
local find = string.find
local floor = math.floor
local ipairs = ipairs
local lower = string.lower
local match = string.match
local pairs = pairs
local pcall = pcall
local setmetatable = setmetatable
local sub = string.sub
local tostring = tostring
local type = type
local NULL = cjson.null
local jget = jsonjs.get
local quote = jsonjs.quote

local pass = outcome.pass
local try_refresh = outcome.try_refresh


local _M = { _VERSION = "0.1.0" }

-- constants.ts protectedProps
local PROTECTED = { "sub", "iat", "exp", "sessionHandle",
                    "parentRefreshTokenHash1", "refreshTokenHash1",
                    "antiCsrfToken", "rsub", "tId", "stt" }


------------------------------------------------------------------------
-- routes

local ROUTE_KEYS = { session_required = "boolean", anti_csrf_check = "boolean",
                     check_database = "boolean", claims = "table",
                     add_claims = "table" }


--- Compile per-route verifySession options once.  Raises on bad options.
-- @param opts { session_required, anti_csrf_check, check_database,
--   claims (nil: global validators, {}: none, list: replaces them),
--   add_claims (list appended to the globals) }
function _M.route(opts)
    if opts == nil or opts == NULL then
        opts = {}
    end
    if type(opts) ~= "table" then
        error("supertokens.decide: route: opts must be a table", 2)
    end
    local r = {}
    for k, v in pairs(opts) do
        local want = ROUTE_KEYS[k]
        if not want then
            error("supertokens.decide: route: unknown option '"
                  .. tostring(k) .. "'", 2)
        end
        if v ~= NULL then
            if type(v) ~= want then
                error("supertokens.decide: route: " .. k .. " must be a "
                      .. want, 2)
            end
            r[k] = v
        end
    end
    local route = {
        session_required = r.session_required ~= false,
        anti_csrf_check = r.anti_csrf_check,
        check_database = r.check_database == true,
        by_conf = setmetatable({}, { __mode = "k" }),
    }
    for _, k in ipairs({ "claims", "add_claims" }) do
        if r[k] then
            local list, err = claims.compile(r[k])
            if not list then
                error("supertokens.decide: route: " .. k .. err, 2)
            end
            route[k] = list
        end
    end
    return route
end


-- overrideGlobalClaimValidators: route list, or globals (+ additions)
local function validators_for(conf, route)
    if route.claims then
        return route.claims
    end
    if not route.add_claims then
        return conf.claim_validators
    end
    local list = route.by_conf[conf]
    if not list then
        list = {}
        for _, v in ipairs(conf.claim_validators) do
            list[#list + 1] = v
        end
        for _, v in ipairs(route.add_claims) do
            list[#list + 1] = v
        end
        route.by_conf[conf] = list
    end
    return list
end


------------------------------------------------------------------------
-- helpers

local default_verifier


local function default_parse(raw)
    if not default_verifier then
        local jwt = require "resty.supertokens.jwt"
        default_verifier = jwt.verifier()
    end
    return default_verifier:parse(raw)
end


-- NormalisedURLPath(req.getOriginalURL()) == refreshTokenPath
local function is_refresh_path(conf, path)
    if type(path) ~= "string" then
        return false
    end
    local p = match(path, "^[^?#]*")
    if find(p, "^/[%w%-_/~!$&'()*+,;=:@]*$") and not find(p, "/%.") then
        if sub(p, -1) == "/" then
            p = sub(p, 1, -2)
        end
        return p == conf.refresh_path
    end
    return normalise.path(path) == conf.refresh_path
end


-- A || B of JavaScript
local function js_or(a, b, c)
    local function truthy(v)
        return v ~= nil and v ~= false and v ~= NULL and v ~= 0 and v ~= ""
               and v == v
    end
    if truthy(a) then
        return a
    end
    if truthy(b) then
        return b
    end
    return c
end


-- Parse + structure of one candidate token.
local function candidate(parse, raw)
    if raw == false then
        return nil, "json_cookie"
    end
    local res, why = parse(raw)
    if not res then
        return nil, why or "unparsable"
    end
    local info
    info, why = token.inspect(res)
    if not info then
        return nil, why
    end
    return info
end


local function core_request(conf, env)
    local core = env.core
    if core and core.request and #conf.core_hosts > 0 then
        return core.request
    end
    return nil
end


-- The core's answer as node's Querier returns it (a text/* body as the
-- string, anything else parsed as JSON: any value), or nil + an outcome
-- (500: no answer, JSON that does not parse, or JSON null, whose
-- `.status` node cannot read).
local function core_call(request, path, body)
    local text, err, is_text = request("POST", path, nil, body, "session")
    if not text then
        return nil, outcome.internal_error("core_unavailable", err)
    end
    if is_text then
        return text
    end
    local resp = jsonjs.parse(text)
    if resp == nil or resp == NULL then
        return nil, outcome.internal_error("core_bad_response", path)
    end
    return resp
end


-- node builds the answer's session with new RecipeUserId(
-- session.recipeUserId), which throws unless session is an object with
-- that member (null is one).
local function usable_session(s)
    return jsonjs.is_object(s) and jget(s, "recipeUserId") ~= nil
end


-- getAccessTokenPayload() as JSON.stringify text and a plain table.
local function set_payload_tree(session, tree)
    session.tree = tree
    session.payload_json = jsonjs.stringify(tree)
    session.payload = jsonjs.to_plain(tree)
end


-- The tree of the session payload (parsed on demand: claims, regenerate).
local function payload_tree(session)
    if not session.tree then
        local tree = jsonjs.parse(session.payload_json)
        if session.version < 3 then
            tree = jget(tree, "userData")
        end
        session.tree = tree
    end
    return session.tree
end


-- A token the core just minted: version + payload, parsed without
-- verification like the SDK does.
local function parse_new_token(parse, raw)
    if type(raw) ~= "string" then
        return nil
    end
    local res = parse(raw)
    if not res then
        return nil
    end
    local version = token.detect(res)
    if not version then
        return nil
    end
    return res, version
end


-- Session fields from a core answer (verify / regenerate) that carries a
-- new access token; returns the front token or nil + outcome.
local function adopt_new_token(session, at, parse, userdata_tree)
    local res, version = parse_new_token(parse, jget(at, "token"))
    if not res then
        return nil, outcome.internal_error("core_bad_response",
                                           "accessToken.token")
    end
    session.access_token = jget(at, "token")
    session.new_token = true
    if version < 3 then
        set_payload_tree(session, userdata_tree)
    else
        local tree = jsonjs.parse(res.payload_json)
        set_payload_tree(session, tree)
    end
    return outcome.front_token(session.user_id, jget(at, "expiry"),
                               session.payload_json)
end


------------------------------------------------------------------------
-- the SDK's getSession with a core call (sessionFunctions.getSession)

local function core_verify(conf, route, env, ctx)
    local request = core_request(conf, env)
    if not request then
        return nil, outcome.internal_error("core_unavailable",
                                           "no core configured")
    end
    local info = ctx.info
    local body = '{"accessToken":' .. quote(ctx.raw)
                 .. (ctx.csrf_header and (',"antiCsrfToken":'
                                          .. quote(ctx.csrf_header)) or "")
                 .. ',"doAntiCsrfCheck":' .. tostring(ctx.do_csrf)
                 .. ',"enableAntiCsrf":'
                 .. tostring(conf.session.anti_csrf == "VIA_TOKEN")
                 .. ',"checkDatabase":' .. tostring(route.check_database)
                 .. "}"
    local resp, fail = core_call(request, "/recipe/session/verify", body)
    if not resp then
        return nil, fail
    end
    local status = jget(resp, "status")
    if status == "UNAUTHORISED" then
        return nil, outcome.unauthorised(conf, true, "core_unauthorised")
    elseif status ~= "OK" then
        return nil, try_refresh(conf, "core_try_refresh")
    end
    local s = jget(resp, "session")
    local at = jget(resp, "accessToken")
    if not usable_session(s) or at ~= nil and not jsonjs.is_object(at) then
        return nil, outcome.internal_error("core_bad_response", "session")
    end
    local verified = ctx.verified
    local session = {
        user_id = jget(s, "userId"),
        recipe_user_id = jget(s, "recipeUserId"),
        handle = jget(s, "handle"),
        tenant_id = js_or(jget(s, "tenantId"),
                          verified and info.tenant_id or nil, "public"),
        access_token = ctx.raw,
        transfer = ctx.transfer,
        version = info.version,
        kid = info.kid,
        expiry_ms = js_or(at and jget(at, "expiry"),
                          verified and info.expiry_ms or nil,
                          info.payload.expiryTime),
        new_token = false,
    }
    if at then
        local front, err = adopt_new_token(session, at, ctx.parse,
                                           jget(s, "userDataInJWT"))
        if not front then
            return nil, err
        end
        session.front_token = front
    elseif info.version < 3 then
        set_payload_tree(session, jget(s, "userDataInJWT"))
    else
        session.payload = info.payload
        session.payload_json = info.payload_json
    end
    return session
end


local NOT_MADE = nil   -- reserves a slot: a nil the parser cannot fold


-- A session with every field a session can have: those of `src` (a token's
-- info or another session) and this request's token, transfer and
-- new_token.  The one list of a session's fields (spec 13 checks that a
-- copy keeps them all).
local function session_of(src, access_token, transfer, new_token)
    local session = {
        user_id = src.user_id,
        recipe_user_id = src.recipe_user_id,
        handle = src.handle,
        tenant_id = src.tenant_id,
        access_token = access_token,
        transfer = transfer,
        version = src.version,
        kid = src.kid,
        expiry_ms = src.expiry_ms,
        new_token = new_token,
        payload = src.payload,
        payload_json = src.payload_json,
        front_token = src.front_token,
        -- the shell's memos, not fields of the session: what /api/user
        -- answers for it and its payload identity header, made on first
        -- use and kept as long as the session is (a cached token's pass
        -- keeps it); copies start without them
        answer_body = NOT_MADE,
        payload_header = NOT_MADE,
    }
    return session
end


local function local_session(info, raw, transfer)
    local session = session_of(info, raw, transfer, false)
    if info.version < 3 then
        -- v2: getAccessTokenPayload() is userData
        local tree = jget(jsonjs.parse(info.payload_json), "userData")
        set_payload_tree(session, tree)
    end
    return session
end


-- The pass of a token on the plain path: it depends on the token (its info)
-- and its transfer alone, so the info keeps it for the next request with
-- the same token.  A token seen in the other transfer gets a new one.
local function plain_pass(info, raw, transfer)
    local out = info.plain_out
    if out then
        local s = out.session
        if s.transfer == transfer and s.access_token == raw then
            return out
        end
    end
    local session = local_session(info, raw, transfer)
    session.tree = nil
    out = pass("ok", nil, session, nil)
    info.plain_out = out
    return out
end


--- A session of the caller's own (a shallow copy): for user code, which
-- may add to it; the decision's session may be shared by requests.
function _M.copy_session(s)
    if s == nil then
        return nil
    end
    return session_of(s, s.access_token, s.transfer, s.new_token)
end


------------------------------------------------------------------------
-- claims (recipeImplementation.validateClaims + Session.assertClaims)

local function without_protected(tree)
    local t = jsonjs.copy(tree)
    for _, k in ipairs(PROTECTED) do
        jsonjs.delete(t, k)
    end
    return t
end


-- Object.assign({}, v) for a v2 userData that is not an object (node's
-- claim merges start from it): an array's elements and a string's UTF-16
-- code units (an astral character as two WTF-8 surrogates) under their
-- indexes; nothing for a number or a boolean.
local function assign_copy(v)
    local o = jsonjs.object()
    if jsonjs.is_array(v) then
        for i = 1, v.n do
            jsonjs.set(o, tostring(i - 1), v[i])
        end
    elseif type(v) == "string" then
        local n, i = 0, 1
        while i <= #v do
            local c = byte(v, i)
            local len = c < 0x80 and 1 or c < 0xe0 and 2 or c < 0xf0 and 3
                        or 4
            local ch = sub(v, i, i + len - 1)
            if len == 4 then
                local c2, c3, c4 = byte(ch, 2, 4)
                local cp = (c - 0xf0) * 0x40000 + (c2 - 0x80) * 0x1000
                           + (c3 - 0x80) * 0x40 + (c4 - 0x80) - 0x10000
                jsonjs.set(o, tostring(n),
                           jsonjs.utf8_char(0xd800 + floor(cp / 0x400)))
                n = n + 1
                ch = jsonjs.utf8_char(0xdc00 + cp % 0x400)
            end
            jsonjs.set(o, tostring(n), ch)
            n = n + 1
            i = i + len
        end
    end
    return o
end


local function assert_claims(conf, env, validators, session, ctx)
    local request = core_request(conf, env)
    local tree = payload_tree(session)
    if tree == NULL then
        -- a v2 userData of null: node's validators read payload[key] from
        -- it and throw (TypeError, 500) before any core call
        return outcome.internal_error("claims_payload_null")
    end
    if not jsonjs.is_object(tree) then
        tree = assign_copy(tree)
    end
    local fetched, changed = tree, false
    if request then
        local detail
        fetched, changed, detail = claims.refetch(validators, tree, {
            user_id = session.user_id,
            recipe_user_id = session.recipe_user_id,
            now_ms = ctx.now_ms,
            request = request,
        })
        if not fetched then
            return outcome.internal_error(changed, detail)
        end
    end
    if changed then
        -- mergeIntoAccessTokenPayload(update = fetched minus protected)
        local update = without_protected(fetched)
        local merged = without_protected(tree)
        for k, v in jsonjs.members(update) do
            jsonjs.set(merged, k, v)
        end
        for k, v in jsonjs.members(update) do
            if v == NULL then
                jsonjs.delete(merged, k)
            end
        end
        -- node merges with Object.assign(): a "__proto__" member goes to
        -- the setter (a new prototype, or nothing), not into the payload
        jsonjs.delete(merged, "__proto__")
        local body = '{"accessToken":' .. quote(session.access_token)
                     .. ',"userDataInJWT":' .. jsonjs.stringify(merged) .. "}"
        local resp, fail = core_call(request, "/recipe/session/regenerate",
                                     body)
        if not resp then
            return fail
        end
        if jget(resp, "status") == "UNAUTHORISED" then
            return outcome.unauthorised(conf, true, "regenerate_unauthorised")
        end
        local at = jget(resp, "accessToken")
        local s = jget(resp, "session")
        if not usable_session(s) then
            return outcome.internal_error("core_bad_response", "session")
        end
        if at ~= nil then
            if not jsonjs.is_object(at) then
                return outcome.internal_error("core_bad_response",
                                              "accessToken")
            end
            local front, err = adopt_new_token(session, at, ctx.parse,
                                               jget(s, "userDataInJWT"))
            if not front then
                return err
            end
            session.front_token = front
        else
            -- {...getAccessTokenPayload(), ...session.userDataInJWT}
            local merged_payload = jsonjs.copy(tree)
            local udj = jget(s, "userDataInJWT")
            if jsonjs.is_object(udj) then
                for k, v in jsonjs.members(udj) do
                    jsonjs.set(merged_payload, k, v)
                end
            end
            jsonjs.delete(merged_payload, "__proto__")  -- Object.assign()
            set_payload_tree(session, merged_payload)
        end
    end
    local errors, ids = claims.validate(validators, fetched, ctx.now_ms)
    if errors then
        -- the SDK attaches a regenerated token only on success
        return outcome.invalid_claims(conf, jsonjs.stringify(errors), ids)
    end
    return nil
end


------------------------------------------------------------------------
-- verify

local UNREAD = {}

-- The anti-csrf header: `value` when it was read already, else read now.
local function read_once(header, value)
    if value == UNREAD then
        return header("anti-csrf")
    end
    return value
end


local function new_ctx(info, raw, transfer, parse, csrf_header, do_csrf,
                       verified, now_ms)
    return {
        info = info, raw = raw, transfer = transfer, parse = parse,
        -- as node sends it to the core: its characters in UTF-8
        csrf_header = csrf.latin1_to_utf8(csrf_header), do_csrf = do_csrf,
        verified = verified,
        now_ms = now_ms,
    }
end


local function ignored_detail(hdr_why, cookie_why)
    if hdr_why and cookie_why then
        return "header:" .. hdr_why .. ",cookie:" .. cookie_why
    end
    return hdr_why and ("header:" .. hdr_why)
           or cookie_why and ("cookie:" .. cookie_why)
end


--- The decision for one request.  See the module header for req, env and out.
function _M.verify(conf, route, req, env)
    local method = lower(req.method or "")
    if method == "options" or method == "trace" then
        return pass("skipped", method)
    end
    if method == "post" and is_refresh_path(conf, req.path) then
        return pass("skipped", "refresh_path")
    end

    local header = req.header
    local raw_cookie = req.cookie
    if raw_cookie and transport.has_legacy_cookie(raw_cookie) then
        return try_refresh(conf, "legacy_id_refresh_token")
    end

    -- getAccessTokenFromRequest: header wins over cookie; unusable
    -- candidates are ignored, not rejected
    local parse = env.parse or default_parse
    local allowed = conf.session.get_token_transfer_method
    local transfer, raw, info
    local hdr_why, cookie_why
    if allowed ~= "cookie" then
        local bearer = transport.bearer(header("authorization"))
        if bearer then
            info, hdr_why = candidate(parse, bearer)
            if info then
                transfer, raw = "header", bearer
            end
        end
    end
    if not info and allowed ~= "header" then
        local value = transport.access_cookie(raw_cookie)
        if value ~= nil then
            info, cookie_why = candidate(parse, value)
            if info then
                if transport.cookie_count(raw_cookie, "sAccessToken") > 1 then
                    return try_refresh(conf, "multiple_access_token_cookies")
                end
                transfer, raw = "cookie", value
            end
        end
    end

    -- anti-csrf, part 1 (sessionRequestFunctions.getSessionFromRequest)
    -- the anti-csrf header is read where it is used (most requests never
    -- need it)
    local mode = conf.session.anti_csrf
    local do_csrf = csrf.should_check(route, method, transfer, info ~= nil)
    local why
    do_csrf, why = csrf.custom_header(mode, do_csrf, header)
    if why then
        return try_refresh(conf, why)
    end

    if not info then
        local reason = (hdr_why or cookie_why) and "token_ignored"
                       or "no_token"
        local out
        if route.session_required == false then
            out = pass("no_session", reason)
        else
            out = outcome.unauthorised(conf, false, reason)
        end
        if reason == "no_token" then
            -- for the log: a token the transfer method does not allow
            if allowed == "header"
               and transport.access_cookie(raw_cookie) ~= nil
            then
                out.detail = "cookie_not_allowed"
            elseif allowed == "cookie"
                   and transport.bearer(header("authorization"))
            then
                out.detail = "header_not_allowed"
            end
        else
            out.detail = ignored_detail(hdr_why, cookie_why)
        end
        return out
    end

    -- sessionFunctions.getSession: signature, claims checks, expiry
    local now_ms = env.now_ms()
    local ok
    ok, why = env.check_signature(raw, info)
    if not ok then
        why = why or "bad_signature"
    else
        why = token.check_time(info, now_ms)
        if not why and mode == "VIA_TOKEN" and do_csrf
           and info.anti_csrf == nil
        then
            why = "anti_csrf_claim_missing"
        end
        if not why and token.expired(info, now_ms) then
            why = "expired"
        end
    end
    local verified = why == nil
    local request = core_request(conf, env)
    if not verified then
        if not (info.version < 3 and request
                and token.v2_core_fallback(info, now_ms,
                                           conf.jwks_refresh_interval_sec))
        then
            return try_refresh(conf, why)
        end
    end

    if info.version >= 3 then
        local kid = info.kid
        if type(kid) ~= "string" then
            -- node: kid.startsWith() on a non-string throws (500)
            return try_refresh(conf, "kid_not_string")
        end
        if (sub(kid, 1, 2) == "d-")
           ~= conf.session.use_dynamic_access_token_signing_key
        then
            return try_refresh(conf, "kid_type_mismatch")
        end
    end

    -- The anti-csrf header, read at most once and only by the paths
    -- below that use it (UNREAD until then).
    local csrf_value = UNREAD
    if do_csrf and mode == "VIA_TOKEN" and verified then
        csrf_value = header("anti-csrf")
        why = csrf.via_token(csrf_value, info.anti_csrf)
        if why then
            return try_refresh(conf, why)
        end
    end

    -- ctx: for the core and the claims only, not built on the plain path
    local ctx
    local session, fail
    local validators = validators_for(conf, route)
    if verified and not route.check_database
       and (info.parent_refresh_token_hash1 == nil or not request)
    then
        -- no core configured: a promoted token can't be exchanged, the
        -- token is accepted as it is (documented divergence)
        if not validators[1] then
            return plain_pass(info, raw, transfer)
        end
        session = local_session(info, raw, transfer)
    else
        csrf_value = read_once(header, csrf_value)
        ctx = new_ctx(info, raw, transfer, parse, csrf_value, do_csrf,
                      verified, now_ms)
        session, fail = core_verify(conf, route, env, ctx)
        if not session then
            return fail
        end
    end

    if validators[1] then
        if not ctx then
            csrf_value = read_once(header, csrf_value)
            ctx = new_ctx(info, raw, transfer, parse, csrf_value, do_csrf,
                          verified, now_ms)
        end
        fail = assert_claims(conf, env, validators, session, ctx)
        if fail then
            return fail
        end
    end

    local headers
    if session.new_token then
        -- the echo carries the header's characters, written as UTF-8
        headers = outcome.relay(conf, transfer, session.access_token,
                                session.front_token,
                                csrf.latin1_to_utf8(
                                    read_once(header, csrf_value)), now_ms)
    end
    session.tree = nil
    return pass("ok", nil, session, headers)
end


-- A Lua frame between pcall() and verify(): LuaJIT cannot compile a trace
-- that returns into a pcall frame it did not enter ("NYI: return to lower
-- frame").  Without this frame the root trace of verify() aborts; without
-- the call below every side trace that starts inside verify() (a cache
-- miss, a rejection) records on up to the pcall, aborts the same way, and
-- after a few tries sends its exit to the interpreter for the rest of the
-- request.  coroutine.running() is a builtin LuaJIT does not compile: a
-- trace stops cleanly there (stitch, or return to the interpreter), so no
-- trace ever reaches the pcall frame.  spec/26 fails if a LuaJIT ever
-- compiles it.
local trace_stop = coroutine.running

local function verify_framed(conf, route, req, env)
    local out = _M.verify(conf, route, req, env)
    trace_stop()
    return out
end


--- verify() for the gateway shells: true, out; or false and the error
-- when the decision itself failed (a bug: the shell answers 500).
function _M.verify_protected(conf, route, req, env)
    local ok, out = pcall(verify_framed, conf, route, req, env)
    return ok, out
end

return _M
