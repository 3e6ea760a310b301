--- `stjwt explain`: why would the gateway accept or reject this token, and
-- what would the frontend do next?
--
-- The answer comes from the gateway's own decision core
-- (`resty.supertokens.decide`) run on a synthetic request, with the
-- signature checked by `resty.supertokens.jwt` against the JWKS given, so
-- the CLI and the gateway cannot disagree.  The words come from
-- `resty.supertokens.reasons`.
-- @module resty.supertokens.cli.explain

local util = require "resty.supertokens.cli.util"
local reasons = require "resty.supertokens.reasons"
local cjson = require "cjson.safe"

local io = io
local os = os
local type = type
local pcall = pcall
local ipairs = ipairs
local pairs = pairs
local require = require
local tostring = tostring
local tonumber = tonumber
local str_format = string.format
local tbl_concat = table.concat

local _M = { _VERSION = "0.1.0" }

_M.summary = "say in plain words why a token would be accepted or rejected"

local EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_NEEDS_CORE = 0, 1, 2, 3

_M.help = [[
usage: stjwt explain TOKEN|- [options]

Run the gateway's decision on one request carrying TOKEN and explain the
answer: what is wrong with the token, the HTTP answer the SuperTokens SDK
would give, and what supertokens-website does next, e.g.

  expired 3 min 12 s ago → 401 try refresh token; the frontend will
  refresh

TOKEN may also be "Bearer <token>" or "sAccessToken=<cookie value>".

  --jwks FILE|URL   JWKS to check the signature: a file, or an http(s) URL
                    fetched with curl (5 s timeout).  Without it the
                    signature is NOT checked (said so in the output).
  --now UNIX        judge exp/nbf at this time (default: clock)
  --config FILE     gateway config as JSON (the table config.new takes)
  --env             gateway config from the ST_* environment variables
  --set KEY=VALUE   set one config field, dotted
                    (session.anti_csrf=VIA_TOKEN,
                    email_verification.mode=REQUIRED); true, false and
                    numbers are converted; a value in double quotes
                    stays a string (api_key='"12345"')
  --route KEY=VALUE route option (session_required=false,
                    anti_csrf_check=true, check_database=true)
  --method METHOD   request method (default: GET)
  --via header|cookie  where the token travels (default: header)
  --header NAME=VALUE  extra request header (rid=anti-csrf, anti-csrf=…)
  --codes           list every reason code with its answer and meaning
                    (no TOKEN needed)
  --help

Without --config/--env the config is api_domain http://localhost:3001,
website_domain http://localhost:3000, everything else the SDK defaults.
The core is never contacted: a decision that needs it (a token minted by a
refresh, check_database) is reported as such.

exit codes:
  0  the request would pass (200 to the upstream)
  1  the request would be rejected (401, 403 or 500); stdout says why
  2  usage error or unusable input (unreadable file, bad config, JWKS that
     cannot be fetched or has no usable key, library not found)
  3  the answer depends on the SuperTokens core (explain does not call it)
]]


local function human_now(t)
    return util.utc(t)
end


-- Word-wrap text to `width` columns, continuation lines indented to
-- `indent` (the label column).
local function wrap(text, indent, width)
    local lines, line = {}, ""
    for word in tostring(text):gmatch("%S+") do
        if line ~= "" and indent + #line + 1 + #word > width then
            lines[#lines + 1] = line
            line = word
        else
            line = line == "" and word or line .. " " .. word
        end
    end
    lines[#lines + 1] = line
    return tbl_concat(lines, "\n" .. string.rep(" ", indent))
end


local function parse_value(v)
    if v == "true" then
        return true
    elseif v == "false" then
        return false
    elseif v == "null" or v == "nil" then
        return nil
    end
    local quoted = v:match('^"(.*)"$')
    if quoted then
        return quoted
    end
    return tonumber(v) or v
end


local function set_dotted(tbl, path, value)
    local node = tbl
    local parts = {}
    for p in path:gmatch("[^.]+") do
        parts[#parts + 1] = p
    end
    if #parts == 0 then
        return nil
    end
    for i = 1, #parts - 1 do
        if type(node[parts[i]]) ~= "table" then
            node[parts[i]] = {}
        end
        node = node[parts[i]]
    end
    node[parts[#parts]] = value
    return true
end


local function normalise_token(token, via)
    token = token:match("^%s*(.-)%s*$")
    local bearer = token:match("^[Aa]uthorization:%s*(.*)$")
    token = bearer or token
    local t = token:match("^Bearer%s+(.*)$")
    if t then
        return t, via or "header"
    end
    t = token:match("^sAccessToken=([^;]*)")
    if t then
        t = t:gsub("%%(%x%x)", function(h)
            return string.char(tonumber(h, 16))
        end)
        return t, via or "cookie"
    end
    return token, via
end


local function cookie_encode(s)
    return (s:gsub("[^%w%-%._~]", function(c)
        return str_format("%%%02X", c:byte())
    end))
end


-- Facts about the token from the library's parse (no signature check).
local function describe_token(res, partial, w)
    local r = res or partial
    if not r or not (r.alg or (r.legacy and r.legacy ~= 0)) then
        w("token", "not a readable JWS")
        return
    end
    local version
    if r.legacy and r.legacy ~= 0 then
        version = "v" .. r.legacy .. " (legacy fixed header)"
    elseif r.version then
        version = "v" .. tostring(r.version) .. " (header version \""
                  .. tostring(r.version) .. "\")"
    else
        version = "no version header (SuperTokens reads it as v3)"
    end
    local kid = r.kid and ("kid " .. r.kid .. (r.kid:match("^d%-")
                and " (dynamic key)" or r.kid:match("^s%-")
                and " (static key)" or ""))
                or (r.kid_type and r.kid_type ~= "absent"
                    and "kid of JSON type " .. r.kid_type or "no kid")
    w("token", version .. ", alg " .. tostring(r.alg) .. ", " .. kid)
    local p = r.payload
    if type(p) == "table" then
        local sub = p.sub or p.userId
        local bits = {}
        if type(sub) == "string" then
            bits[#bits + 1] = "user " .. cjson.encode(sub)
        end
        if type(p.tId) == "string" then
            bits[#bits + 1] = "tenant " .. cjson.encode(p.tId)
        end
        if type(p.sessionHandle) == "string" then
            bits[#bits + 1] = "session " .. cjson.encode(p.sessionHandle)
        end
        if type(p.parentRefreshTokenHash1) == "string" then
            bits[#bits + 1] = "parentRefreshTokenHash1 set (first use "
                              .. "after a refresh)"
        end
        if #bits > 0 then
            w("subject", tbl_concat(bits, ", "))
        end
    end
end


-- exp/nbf/iat in seconds (v1/v2 carry ms in the payload).
local function times(res)
    if not res then
        return nil
    end
    local p = type(res.payload) == "table" and res.payload or {}
    if res.legacy and res.legacy ~= 0 then
        return {
            exp = type(p.expiryTime) == "number" and p.expiryTime / 1000,
            iat = type(p.timeCreated) == "number" and p.timeCreated / 1000,
        }
    end
    return { exp = res.exp, nbf = res.nbf, iat = res.iat }
end


local function relative(t, now)
    local d = t - now
    if d > -1 and d < 1 then
        return "now"
    elseif d >= 0 then
        return "in " .. util.duration(d)
    end
    return util.duration(d) .. " ago"
end


local FRONTEND_VERB = {
    try_refresh = "the frontend will refresh",
    unauthorised = "the frontend refreshes once if it thinks it has a "
                   .. "session, else logs out",
    unauthorised_cleared = "the frontend will log out",
    invalid_claim = "the frontend fires API_INVALID_CLAIM (claim screen)",
    error = "the frontend shows an error (no refresh, no logout)",
    ok = "the request reaches the upstream",
    no_session = "the request reaches the upstream without a session",
    skipped = "the request passes untouched",
}


local function what_phrase(out, t, now)
    local r = out.reason
    if r == "expired" and t and t.exp then
        return "expired " .. util.duration(now - t.exp) .. " ago"
    elseif r == "not_before" and t and t.nbf then
        return "not valid for another " .. util.duration(t.nbf - now)
    elseif r == "token_ignored" or r == "no_token" then
        local d = reasons.details(out.detail)
        if #d > 0 then
            local parts = {}
            for _, x in ipairs(d) do
                parts[#parts + 1] = (x.where and x.where .. " token " or "")
                                    .. x.code
            end
            return "token ignored (" .. tbl_concat(parts, ", ") .. ")"
        end
        return r == "no_token" and "no usable token" or "token ignored"
    elseif r == "claims" then
        return "claim check failed (" .. tostring(out.detail or "?") .. ")"
    elseif out.class == "ok" then
        return "valid"
    end
    return tostring(r)
end


local function load_decision()
    local ok1, config = pcall(require, "resty.supertokens.config")
    local ok2, decide = pcall(require, "resty.supertokens.decide")
    if ok1 and ok2 then
        return config, decide
    end
    return nil, nil, ok1 and decide or config
end


-- The decision from the library alone, when the decision core is not
-- installed: parse, signature, exp/nbf.  Said so in the output.
local function basic_decision(res, reason, sig_ok, sig_reason, now)
    if not res then
        return { pass = false, class = "unauthorised", status = 401,
                 reason = "token_ignored", detail = reason }
    end
    if sig_ok == false then
        return { pass = false, class = "try_refresh", status = 401,
                 reason = sig_reason }
    end
    local t = times(res)
    if t.exp and t.exp <= now then
        return { pass = false, class = "try_refresh", status = 401,
                 reason = "expired" }
    end
    if t.nbf and t.nbf > now then
        return { pass = false, class = "try_refresh", status = 401,
                 reason = "not_before" }
    end
    return { pass = true, class = "ok" }
end


local STAGES = {
    { "flow", "decision (resty.supertokens.decide)" },
    { "parse", "token ignored (library parse, SuperTokens structure)" },
    { "signature", "signature and keys" },
    { "core", "SuperTokens core answers" },
    { "claims", "claim validators" },
    { "jwks", "JWKS import (key engine log; requests: jwks_unavailable)" },
}


--- Print the reason-code catalogue, grouped by stage.
-- @param out a file or sink with `write`
function _M.list_codes(out)
    for _, stage in ipairs(STAGES) do
        out:write(stage[2], ":\n")
        local codes = {}
        for code, e in pairs(reasons.CODES) do
            if e.stage == stage[1] then
                codes[#codes + 1] = code
            end
        end
        table.sort(codes)
        for _, code in ipairs(codes) do
            local e = reasons.CODES[code]
            local answer = reasons.ANSWER[e.class] or e.class
            if e.clears then
                answer = answer .. ", cleared"
            end
            out:write("  ", code, "  [", answer, "]\n      ",
                      wrap(e.text, 6, 79), "\n")
        end
    end
end


--- Run the subcommand.
-- @tparam table argv arguments after `explain`
-- @param[opt] stdout file or table collecting output (tests)
-- @param[opt] stderr file or table
-- @treturn int exit code
function _M.run(argv, stdout, stderr)
    local out = util.sink(stdout) or io.stdout
    local err_out = util.sink(stderr) or io.stderr
    local function fail(code, msg)
        err_out:write("stjwt explain: ", msg, "\n")
        return code
    end
    local function w(label, text)
        out:write(str_format("%-10s ", label), wrap(text, 11, 79), "\n")
    end

    local opts, pos = util.parse_args(argv, {
        help = "flag", jwks = "value", now = "value", config = "value",
        env = "flag", set = "list", route = "list", method = "value",
        via = "value", header = "list", codes = "flag",
    })
    if not opts then
        return fail(EXIT_USAGE, pos .. " (see stjwt explain --help)")
    end
    if opts.help then
        out:write(_M.help)
        return EXIT_OK
    end
    if opts.codes then
        _M.list_codes(out)
        return EXIT_OK
    end
    if #pos ~= 1 then
        return fail(EXIT_USAGE, "expected exactly one TOKEN (or - for stdin)")
    end
    local token = pos[1]
    if token == "-" then
        token = io.stdin:read("*a") or ""
    end
    local via = opts.via
    if via and via ~= "header" and via ~= "cookie" then
        return fail(EXIT_USAGE, "--via must be header or cookie")
    end
    token, via = normalise_token(token, via)
    via = via or "header"
    if token == "" then
        return fail(EXIT_USAGE, "empty token")
    end
    local now = os.time()
    if opts.now then
        now = util.seconds(opts.now)
        if not now then
            return fail(EXIT_USAGE, "--now takes seconds since the epoch")
        end
    end
    local method = (opts.method or "GET"):upper()

    -- configuration
    local conf_tbl
    if opts.config then
        local text, rerr = util.read_file(opts.config)
        if not text then
            return fail(EXIT_USAGE, "cannot read config: " .. tostring(rerr))
        end
        conf_tbl = cjson.decode(text)
        if type(conf_tbl) ~= "table" then
            return fail(EXIT_USAGE, "config is not a JSON object: "
                        .. opts.config)
        end
    elseif opts.env then
        local ok, env = pcall(require, "resty.supertokens.env")
        if not ok then
            return fail(EXIT_USAGE, "cannot load resty.supertokens.env")
        end
        -- the keys come from --jwks, and the core is never contacted
        local cok, t = pcall(env.config, { keys_optional = true })
        if not cok then
            return fail(EXIT_USAGE, tostring(t))
        end
        conf_tbl = t
    else
        conf_tbl = { app_info = { api_domain = "http://localhost:3001",
                                  website_domain = "http://localhost:3000" } }
    end
    for _, kv in ipairs(opts.set or {}) do
        local k, v = kv:match("^([%w_.]+)=(.*)$")
        if not k then
            return fail(EXIT_USAGE, "--set wants KEY=VALUE, got " .. kv)
        end
        set_dotted(conf_tbl, k, parse_value(v))
    end
    if not conf_tbl.connection_uri and not conf_tbl.jwks
       and not conf_tbl.jwks_file then
        -- never contacted: core calls go to the stub below
        conf_tbl.connection_uri = "http://127.0.0.1:3567"
    end
    local route_opts = {}
    for _, kv in ipairs(opts.route or {}) do
        local k, v = kv:match("^([%w_]+)=(.*)$")
        if not k then
            return fail(EXIT_USAGE, "--route wants KEY=VALUE, got " .. kv)
        end
        route_opts[k] = parse_value(v)
    end
    local headers = {}
    for _, kv in ipairs(opts.header or {}) do
        local k, v = kv:match("^([%w%-_]+)=(.*)$")
        if not k then
            return fail(EXIT_USAGE, "--header wants NAME=VALUE, got " .. kv)
        end
        headers[k:lower()] = v
    end

    -- the decision core: config and route errors are usage errors, found
    -- before anything is printed
    local config, decide, lerr = load_decision()
    local conf, route
    if config then
        local cerr
        conf, cerr = config.new(conf_tbl)
        if not conf then
            return fail(EXIT_USAGE, cerr)
        end
        local rok
        rok, route = pcall(decide.route, route_opts)
        if not rok then
            return fail(EXIT_USAGE, tostring(route))
        end
    end

    -- the library
    local ok, jwt = pcall(require, "resty.supertokens.jwt")
    if not ok then
        return fail(EXIT_USAGE, "cannot load resty.supertokens.jwt: "
                    .. tostring(jwt))
    end
    local v = jwt.verifier({ algs = { "RS256" } })
    local res, parse_reason, partial = v:parse(token)

    local ks, source
    if opts.jwks then
        local text, lerr = util.load_jwks(opts.jwks)
        if not text then
            return fail(EXIT_USAGE, lerr)
        end
        local kerr, info
        ks, kerr, info = jwt.keyset(text)
        if not ks then
            local entry = reasons.get(kerr)
            return fail(EXIT_USAGE, "no usable key in the JWKS: "
                        .. tostring(kerr)
                        .. (entry and " (" .. entry.text:match("^[^.]*")
                            .. ")" or ""))
        end
        source = ks:count() .. " key(s) from " .. opts.jwks
        if info and info.n_skipped and info.n_skipped > 0 then
            source = source .. ", " .. info.n_skipped .. " skipped (first: "
                     .. tostring(info.first_skip_reason) .. ")"
        end
    end

    describe_token(res, partial, w)
    local t = times(res)
    if t then
        if t.iat then
            w("issued", human_now(t.iat) .. " (" .. relative(t.iat, now)
              .. ")")
        end
        if t.nbf then
            w("not before", human_now(t.nbf) .. " ("
              .. relative(t.nbf, now) .. ")")
        end
        if t.exp then
            local rel = t.exp <= now
                        and "expired " .. util.duration(now - t.exp)
                            .. " ago"
                        or "valid for " .. util.duration(t.exp - now)
            w("expires", human_now(t.exp) .. " (" .. rel .. ")")
        end
    end

    -- signature, as the gateway's env.check_signature would answer
    local sig_checked, sig_ok, sig_reason = false, nil, nil
    local function check_signature(tok)
        if not ks then
            return true
        end
        sig_checked = true
        local good, why = v:check_signature(ks, tok)
        sig_ok = good and true or false
        sig_reason = why
        if good then
            return true
        end
        return nil, why
    end

    local core_calls = {}
    local env = {
        now_ms = function() return now * 1000 end,
        check_signature = check_signature,
        core = {
            request = function(m, path)
                core_calls[#core_calls + 1] = m .. " " .. path
                return nil, "not contacted by stjwt explain"
            end,
        },
    }
    local req_headers = {}
    for k, val in pairs(headers) do
        req_headers[k] = val
    end
    local cookie
    if via == "cookie" then
        cookie = "sAccessToken=" .. cookie_encode(token)
        if headers.cookie then
            cookie = headers.cookie .. "; " .. cookie
        end
    else
        req_headers.authorization = "Bearer " .. token
    end
    local req = {
        method = method,
        path = "/",
        header = function(name) return req_headers[name] end,
        cookie = cookie,
    }

    local decision, basic
    if config then
        local dok, d = pcall(decide.verify, conf, route, req, env)
        if not dok then
            return fail(EXIT_USAGE, "the decision failed: " .. tostring(d))
        end
        decision = d
    else
        basic = true
        if res then
            check_signature(token)
        end
        decision = basic_decision(res, parse_reason, sig_ok, sig_reason,
                                  now)
    end

    if ks then
        if sig_checked then
            w("signature", (sig_ok and "valid" or "INVALID: "
                            .. tostring(sig_reason)) .. " (" .. source .. ")")
        else
            w("signature", "not reached by the decision (" .. source .. ")")
        end
    else
        w("signature", "NOT CHECKED (no --jwks given)")
    end
    if basic then
        w("note", "basic checks only (parse, signature, exp/nbf): the "
          .. "decision core did not load: "
          .. tostring(lerr):match("^[^\n]*"):gsub(":%s*$", ""))
    end

    if #core_calls > 0 then
        w("core", "the gateway would call the core: "
          .. tbl_concat(core_calls, ", ")
          .. " (token minted by a refresh, check_database, a v2 token or a "
          .. "claim refetch); the core's answer decides")
        w("summary", "needs the SuperTokens core → run it against the "
          .. "gateway to see the answer")
        return EXIT_NEEDS_CORE
    end

    local class = decision.class
    local entry = reasons.get(decision.reason)
    local cleared = decision.clear or false
    local answer
    if decision.pass then
        answer = "200 pass" .. (class == "no_session"
                                and " without a session" or "")
        if class == "skipped" then
            answer = "pass, not verified"
        end
    else
        local body = decision.body and cjson.decode(decision.body)
        local message = type(body) == "table" and body.message
        answer = message and (tostring(decision.status) .. " " .. message)
                 or reasons.ANSWER[class] or tostring(class)
    end
    w("decision", answer .. (decision.reason and
      " (reason " .. decision.reason .. (decision.detail and ": "
      .. decision.detail or "") .. ")" or ""))
    if decision.body then
        -- unwrapped: it is the exact body, meant to be copied
        out:write(str_format("%-10s ", "body"), decision.body, "\n")
    end
    if entry then
        w("why", entry.text)
    end
    if decision.detail then
        for _, d in ipairs(reasons.details(decision.detail)) do
            if d.entry and d.entry ~= entry then
                w("", (d.where and d.where .. ": " or "") .. d.code .. ": "
                  .. d.entry.text:match("^[^.]*%.?"))
            end
        end
    end
    local fe_key = (cleared and class == "unauthorised")
                   and "unauthorised_cleared" or class
    if reasons.FRONTEND[fe_key] then
        local text = reasons.FRONTEND[fe_key]
        if conf then
            text = text:gsub("<apiBasePath>/session/refresh",
                             conf.refresh_path)
        end
        w("frontend", text)
    end
    local what = what_phrase(decision, t, now)
    local verdict = decision.pass and "pass" or answer:match("^%s*(.-)%s*$")
    -- one unwrapped line: the thing to grep for
    out:write(str_format("%-10s ", "summary"), what, " → ", verdict, "; ",
              FRONTEND_VERB[fe_key] or "",
              (not sig_checked and class == "ok")
              and " (signature not checked)" or "", "\n")
    if decision.pass then
        return EXIT_OK
    end
    return EXIT_REJECTED
end

return _M
