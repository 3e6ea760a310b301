-- The spec's checklist (supertokens-session.md §12, Appendix C) through a
-- real nginx: spec/conformance/gateway in each SDK configuration, the core
-- stand-in for keys and core calls.  Expected answers are the spec's and
-- the oracle's (shared/oracle/observed.json), written out here, never
-- taken from our own output.

local cjson = require "cjson.safe"
local mime = require "mime"
local nginx = require "spec.helpers.nginx"
local http = require "spec.helpers.http"
local core_helper = require "spec.helpers.core"

local NULL = cjson.null

local UNAUTH = '{"message":"unauthorised"}'
local TRT = '{"message":"try refresh token"}'
local JSON_CT = "application/json; charset=utf-8"
local NOTE = "Fetch any data from your application for authenticated user "
             .. "after using verifySession middleware"
local EV_FALSE = '{"message":"invalid claim","claimValidationErrors":'
                 .. '[{"id":"st-ev","reason":{"message":"wrong value",'
                 .. '"expectedValue":true,"actualValue":false}}]}'
-- jwt.io's HS256 example, the "non-SuperTokens JWT" of node/golang/python
-- tests (sdk-test-suite-vectors.json#nonSuperTokensJwt).
local JWT_IO = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3"
               .. "ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
               .. "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"

local BASE = {
    ST_API_DOMAIN = "http://localhost:3001",
    ST_WEBSITE_DOMAIN = "http://localhost:3000",
    ST_API_BASE_PATH = "/auth",
}

local CLEAR_LAX = {
    "sAccessToken=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; "
    .. "HttpOnly; SameSite=Lax",
    "sRefreshToken=; Path=/auth/session/refresh; Expires=Thu, 01 Jan 1970 "
    .. "00:00:00 GMT; HttpOnly; SameSite=Lax",
}
local CLEAR_CROSS = {
    "sAccessToken=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; "
    .. "HttpOnly; Secure; SameSite=None",
    "sRefreshToken=; Path=/auth/session/refresh; Expires=Thu, 01 Jan 1970 "
    .. "00:00:00 GMT; HttpOnly; Secure; SameSite=None",
}
local CLEAR_DOMAIN = {
    "sAccessToken=; Domain=.example.com; Path=/; Expires=Thu, 01 Jan 1970 "
    .. "00:00:00 GMT; HttpOnly; SameSite=Lax",
    "sRefreshToken=; Domain=.example.com; Path=/auth/session/refresh; "
    .. "Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax",
}


local function merge(a, b)
    local t = {}
    for k, v in pairs(a) do
        t[k] = v
    end
    for k, v in pairs(b or {}) do
        t[k] = v
    end
    return t
end


local function b64url_decode(s)
    s = s:gsub("-", "+"):gsub("_", "/")
    s = s .. string.rep("=", (4 - #s % 4) % 4)
    return (mime.unb64(s))
end


local function payload_of(token)
    local seg = token:match("^[^.]+%.([^.]+)%.")
    return assert(cjson.decode(b64url_decode(seg)))
end


local function trim(s)
    return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end


local function bearer(t)
    return { { "Authorization", "Bearer " .. t } }
end


local function cookie(t)
    return { { "Cookie", "sAccessToken=" .. t } }
end


local function now_ms()
    return math.floor(require("socket").gettime() * 1000)
end


-- One configuration: a gateway with `env`, tokens minted by the stand-in
-- (`tokens` = name -> mint options, `register` = names whose session row
-- the core needs), and cases.
local function config_block(name, spec)
    describe("config " .. name, function()
        local gw, c, t
        local rejections = 0

        setup(function()
            c = _G.ST_CORE
            local names, opts = {}, {}
            for k, o in pairs(spec.tokens) do
                names[#names + 1] = k
                opts[#opts + 1] = o
            end
            local minted = c:mint_many(opts)
            t = {}
            for i, k in ipairs(names) do
                t[k] = minted[i]
            end
            for _, k in ipairs(spec.register or {}) do
                c:control("POST", "session", cjson.encode({ token = t[k] }))
            end
            for _, u in ipairs(spec.users or {}) do
                c:control("POST", "user", cjson.encode(u))
            end
            gw = nginx.gateway(merge(BASE, merge(spec.env, {
                ST_CONNECTION_URI = c.url,
            })))
        end)

        teardown(function()
            if gw then
                gw:stop()
            end
        end)

        for _, case in ipairs(spec.cases) do
            it(case[1], function()
                local req = case.req and case.req(t) or {}
                local verify_before = c:calls("POST /recipe/session/verify")
                local res = assert(http.request(gw.port, {
                    method = req.method or "GET",
                    path = req.path or "/api/user",
                    headers = req.headers,
                }))
                assert.equal(case.status, res.status, res.body)
                if case.status >= 400 and case.status ~= 404 then
                    rejections = rejections + 1
                end

                if case.body then
                    assert.equal(case.body, res.body)
                    assert.equal(JSON_CT, res:header("content-type"))
                end
                if case.user then
                    local tok = t[case.user]
                    local body = assert(cjson.decode(res.body), res.body)
                    local p = payload_of(tok)
                    assert.equal(NOTE, body.note)
                    assert.equal(trim(p.sub or p.userId), body.userId)
                    assert.equal(trim(p.sessionHandle), body.sessionHandle)
                    local expected = p.userData or p
                    assert.same(expected, body.userDataInAccessToken)
                    assert.equal(JSON_CT, res:header("content-type"))
                end
                if case.note_only then
                    assert.equal('{"note":"' .. NOTE .. '"}', res.body)
                end
                if case.cleared then
                    assert.same(case.cleared, res:all("set-cookie"))
                    assert.equal("remove", res:header("front-token"))
                    assert.equal("front-token, st-access-token, "
                                 .. "st-refresh-token",
                                 res:header("access-control-expose-headers"))
                else
                    if case.status ~= 200 then
                        assert.same({}, res:all("set-cookie"))
                        assert.is_nil(res:header("front-token"))
                    end
                end
                if case.new_token then
                    local ft = assert(res:header("front-token"))
                    local front = cjson.decode((mime.unb64(ft)))
                    assert.equal("user-1", front.uid)
                    assert.is_number(front.ate)
                    assert.equal("user-1", front.up.sub)
                    assert.equal(NULL, front.up.parentRefreshTokenHash1)
                    if case.new_token == "header" then
                        local nt = assert(res:header("st-access-token"))
                        assert.equal(front.ate, payload_of(nt).exp * 1000)
                        assert.matches("front%-token",
                            res:header("access-control-expose-headers"))
                        assert.matches("st%-access%-token",
                            res:header("access-control-expose-headers"))
                    else
                        local sc = res:all("set-cookie")
                        assert.equal(1, #sc)
                        assert.matches("^sAccessToken=[%w_.-]+;.*Path=/; "
                            .. "Expires=[^;]+ GMT; HttpOnly; SameSite=Lax$",
                            sc[1])
                        assert.is_nil(res:header("st-access-token"))
                    end
                elseif case.status == 200 then
                    assert.is_nil(res:header("front-token"))
                end
                if case.core_verify then
                    assert.equal(verify_before + case.core_verify,
                                 c:calls("POST /recipe/session/verify"))
                end
                -- CORS on every answer, 401/403 included
                if case.status ~= 204 then
                    assert.equal(spec.origin or "http://localhost:3000",
                                 res:header("access-control-allow-origin"))
                    assert.equal("true",
                        res:header("access-control-allow-credentials"))
                    assert.equal("Origin", res:header("vary"))
                end
                if case.check then
                    case.check(res, t)
                end
            end)
        end

        it("logged one line per rejection, with a reason, never a token",
           function()
            local log = gw:error_log()
            local n = 0
            for line in log:gmatch("[^\n]+") do
                if line:find("supertokens: reject", 1, true) then
                    n = n + 1
                    assert.matches(" reason=[%w_]+ ", line)
                    assert.matches(" route=/", line)
                    -- a rejected token that was parsed names kid and alg
                    if not line:find(" kid=- ", 1, true) then
                        assert.matches(" alg=%u%u%d+ ", line)
                    end
                end
            end
            assert.equal(rejections, n)
            for _, tok in pairs(t) do
                for seg in tok:gmatch("[^.]+") do
                    if #seg > 20 then
                        assert.is_nil(log:find(seg, 1, true),
                                      "token segment in the error log")
                    end
                end
            end
            assert.is_nil(log:find(JWT_IO:sub(40, 80), 1, true))
            assert.not_matches("runtime error", log)
            assert.not_matches("%[alert%]", log)
            assert.not_matches("%[crit%]", log)
        end)
    end)
end


describe("nginx flow (gateway + core stand-in)", function()
    setup(function()
        _G.ST_CORE = core_helper.start()
    end)

    teardown(function()
        if _G.ST_CORE then
            _G.ST_CORE:stop()
            _G.ST_CORE = nil
        end
    end)

    local now = os.time()

    config_block("default", {
        env = {},
        tokens = {
            valid = { sub = "user-1" },
            valid2 = { sub = "user-1" },
            expired = { expIn = -10 },
            static = { key = "static" },
            tampered = { tamper = true },
            unknown_kid = { key = "rogue", kid = "d-1" },
            no_rsub = { drop = { "rsub" } },
            stt1 = { set = { stt = 1 } },
            nbf = { set = { nbf = now + 3600 } },
            v6 = { version = "6" },
            vnone = { version = NULL },
            vnum = { version = 5 },
            typ = { typ = "at+jwt" },
            nokid = { kid = NULL },
            ps256 = { sign = "PS256", alg = "PS256" },
            tenant = { tId = "tenant1", rsub = "user-2" },
            notid = { tId = NULL },
            ws = { sub = "  user-1  " },
            expfrac = { exp = now + 3600.5 },
            expstr = { set = { exp = "4102444800" } },
            nonull = { drop = { "parentRefreshTokenHash1", "antiCsrfToken" } },
            v4 = { version = "4" },
            v3 = { version = "3", tId = "tenant1" },
            v2 = { legacy = 2 },
            v2exp = { legacy = 2, expIn = -10 },
            prth_h = { parentRefreshTokenHash1 = "abc" },
            prth_c = { parentRefreshTokenHash1 = "def" },
            db_ok = {},
            pretty = { payloadRaw = '{\n  "sub" : "user-1",\n  "exp" : '
                       .. (now + 3600) .. ',\t"iat": ' .. now
                       .. ', "tId": "public", "rsub": "user-1",\r\n'
                       .. '  "sessionHandle": "h-pretty",'
                       .. ' "refreshTokenHash1": "r1",'
                       .. ' "parentRefreshTokenHash1": null,'
                       .. ' "antiCsrfToken" : null,'
                       .. ' "note": "a \\" { } , : [ ] \\\\ b",'
                       .. ' "n": [ 1 , 2.50 , 1e3 ], "z": null }\n' },
        },
        register = { "prth_h", "prth_c", "db_ok" },
        cases = {
            { "no token", status = 401, body = UNAUTH },
            { "valid v5 via Authorization header", status = 200,
              user = "valid",
              req = function(t) return { headers = bearer(t.valid) } end },
            { "valid v5 via sAccessToken cookie", status = 200,
              user = "valid",
              req = function(t) return { headers = cookie(t.valid) } end },
            { "static key with dynamic config", status = 401, body = TRT,
              req = function(t) return { headers = bearer(t.static) } end },
            { "POST with cookie, no rid, antiCsrf NONE", status = 200,
              user = "valid",
              req = function(t)
                  return { method = "POST", headers = cookie(t.valid) }
              end },
            { "expired", status = 401, body = TRT,
              req = function(t) return { headers = bearer(t.expired) } end },
            { "expired, sessionRequired false", status = 401, body = TRT,
              req = function(t)
                  return { path = "/verify-optional",
                           headers = bearer(t.expired) }
              end },
            { "no token, sessionRequired false", status = 200,
              note_only = true,
              req = function() return { path = "/verify-optional" } end },
            { "malformed 'abc', sessionRequired false", status = 200,
              note_only = true,
              req = function()
                  return { path = "/verify-optional",
                           headers = bearer("abc") }
              end },
            { "bad signature (tampered)", status = 401, body = TRT,
              req = function(t) return { headers = bearer(t.tampered) } end },
            { "unknown kid", status = 401, body = TRT,
              req = function(t)
                  return { headers = bearer(t.unknown_kid) }
              end },
            { "malformed 'abc'", status = 401, body = UNAUTH,
              req = function() return { headers = bearer("abc") } end },
            { "non-SuperTokens HS256 JWT", status = 401, body = UNAUTH,
              req = function() return { headers = bearer(JWT_IO) } end },
            { "lowercase bearer", status = 401, body = UNAUTH,
              req = function(t)
                  return { headers = { { "Authorization",
                                         "bearer " .. t.valid } } }
              end },
            { "header valid + cookie expired: header wins", status = 200,
              user = "valid",
              req = function(t)
                  return { headers = { bearer(t.valid)[1],
                                       cookie(t.expired)[1] } }
              end },
            { "header expired + cookie valid: header wins", status = 401,
              body = TRT,
              req = function(t)
                  return { headers = { bearer(t.expired)[1],
                                       cookie(t.valid)[1] } }
              end },
            { "header garbage + cookie valid", status = 200, user = "valid",
              req = function(t)
                  return { headers = { { "Authorization", "Bearer garbage" },
                                       cookie(t.valid)[1] } }
              end },
            { "duplicate sAccessToken cookies", status = 401, body = TRT,
              req = function(t)
                  return { headers = { { "Cookie", "sAccessToken=" .. t.valid
                                         .. "; sAccessToken=" .. t.valid2 } } }
              end },
            { "legacy sIdRefreshToken cookie", status = 401, body = TRT,
              req = function(t)
                  return { headers = { { "Cookie", "sAccessToken=" .. t.valid
                                         .. "; sIdRefreshToken=x" } } }
              end },
            { "OPTIONS preflight", status = 204,
              req = function()
                  return { method = "OPTIONS", headers = {
                      { "Origin", "http://localhost:3000" },
                      { "Access-Control-Request-Method", "POST" },
                      { "Access-Control-Request-Headers",
                        "authorization,rid,content-type" } } }
              end,
              check = function(res)
                  assert.equal("http://localhost:3000",
                               res:header("access-control-allow-origin"))
                  assert.equal("true",
                      res:header("access-control-allow-credentials"))
                  assert.equal("GET,HEAD,PUT,PATCH,POST,DELETE",
                      res:header("access-control-allow-methods"))
                  assert.equal("content-type,rid,fdi-version,anti-csrf,"
                               .. "authorization,st-auth-mode",
                      res:header("access-control-allow-headers"))
                  assert.equal(1, #res:all("access-control-allow-origin"))
              end },
            { "v5 missing rsub", status = 401, body = UNAUTH,
              req = function(t) return { headers = bearer(t.no_rsub) } end },
            { "stt=1", status = 401, body = UNAUTH,
              req = function(t) return { headers = bearer(t.stt1) } end },
            { "nbf in the future", status = 401, body = TRT,
              req = function(t) return { headers = bearer(t.nbf) } end },
            { "header version '6'", status = 200, user = "v6",
              req = function(t) return { headers = bearer(t.v6) } end },
            { "no version (v3)", status = 200, user = "vnone",
              req = function(t) return { headers = bearer(t.vnone) } end },
            { "version as number", status = 401, body = UNAUTH,
              req = function(t) return { headers = bearer(t.vnum) } end },
            { "typ at+jwt", status = 401, body = UNAUTH,
              req = function(t) return { headers = bearer(t.typ) } end },
            { "no kid", status = 401, body = UNAUTH,
              req = function(t) return { headers = bearer(t.nokid) } end },
            { "PS256", status = 401, body = TRT,
              req = function(t) return { headers = bearer(t.ps256) } end },
            { "tId tenant1, rsub differs", status = 200, user = "tenant",
              req = function(t) return { headers = bearer(t.tenant) } end },
            { "no tId", status = 200, user = "notid",
              req = function(t) return { headers = bearer(t.notid) } end },
            { "sub with whitespace (userId trimmed)", status = 200,
              user = "ws",
              req = function(t) return { headers = bearer(t.ws) } end },
            { "exp non-integer", status = 200, user = "expfrac",
              req = function(t) return { headers = bearer(t.expfrac) } end },
            { "exp as string", status = 401, body = UNAUTH,
              req = function(t) return { headers = bearer(t.expstr) } end },
            { "pretty-printed payload is printed as node prints it",
              status = 200, user = "pretty",
              req = function(t) return { headers = bearer(t.pretty) } end,
              check = function(res)
                  assert.is_nil(res.body:find("[\n\r\t]"))
                  assert.truthy(res.body:find('"userDataInAccessToken":'
                      .. '{"sub":"user-1","exp":', 1, true))
                  assert.truthy(res.body:find(
                      '"note":"a \\" { } , : [ ] \\\\ b","n":[1,2.5,1000],'
                      .. '"z":null}}', 1, true))
              end },
            { "no parentRefreshTokenHash1/antiCsrfToken keys", status = 200,
              user = "nonull",
              req = function(t) return { headers = bearer(t.nonull) } end },
            { "HEAD with cookie", status = 200,
              req = function(t)
                  return { method = "HEAD", headers = cookie(t.valid) }
              end,
              check = function(res) assert.equal("", res.body) end },
            { "v4", status = 200, user = "v4",
              req = function(t) return { headers = bearer(t.v4) } end },
            { "v3 (custom tId ignored)", status = 200, user = "v3",
              req = function(t) return { headers = bearer(t.v3) } end },
            { "v2 legacy via header", status = 200, user = "v2",
              req = function(t) return { headers = bearer(t.v2) } end },
            { "v2 legacy via cookie, URL-encoded", status = 200, user = "v2",
              req = function(t)
                  local enc = t.v2:gsub("[=+/]", function(ch)
                      return string.format("%%%02X", ch:byte())
                  end)
                  return { headers = cookie(enc) }
              end },
            { "v2 legacy expired", status = 401, body = TRT,
              req = function(t) return { headers = bearer(t.v2exp) } end },
            { "parentRefreshTokenHash1 via header: core verify, new token",
              status = 200, new_token = "header", core_verify = 1,
              req = function(t) return { headers = bearer(t.prth_h) } end },
            { "parentRefreshTokenHash1 via cookie: core verify, new cookie",
              status = 200, new_token = "cookie", core_verify = 1,
              req = function(t) return { headers = cookie(t.prth_c) } end },
            { "checkDatabase, core OK: no new token", status = 200,
              user = "db_ok", core_verify = 1,
              req = function(t)
                  return { path = "/verify-checkdb",
                           headers = bearer(t.db_ok) }
              end },
            { "checkDatabase, revoked, header transport", status = 401,
              body = UNAUTH, cleared = CLEAR_LAX, core_verify = 1,
              req = function(t)
                  return { path = "/verify-checkdb",
                           headers = bearer(t.valid) }
              end },
            { "checkDatabase, revoked, cookie transport", status = 401,
              body = UNAUTH, cleared = CLEAR_LAX, core_verify = 1,
              req = function(t)
                  return { path = "/verify-checkdb",
                           headers = cookie(t.valid) }
              end },
        },
    })

    config_block("viaToken", {
        env = { ST_ANTI_CSRF = "VIA_TOKEN" },
        tokens = {
            csrf = { antiCsrfToken = "acsrf-123" },
            nocsrf = {},
        },
        cases = {
            { "GET cookie without anti-csrf", status = 200, user = "csrf",
              req = function(t) return { headers = cookie(t.csrf) } end },
            { "POST cookie without anti-csrf", status = 401, body = TRT,
              req = function(t)
                  return { method = "POST", headers = cookie(t.csrf) }
              end },
            { "POST cookie wrong anti-csrf", status = 401, body = TRT,
              req = function(t)
                  local h = cookie(t.csrf)
                  h[2] = { "anti-csrf", "nope" }
                  return { method = "POST", headers = h }
              end },
            { "POST cookie matching anti-csrf", status = 200, user = "csrf",
              req = function(t)
                  local h = cookie(t.csrf)
                  h[2] = { "anti-csrf", "acsrf-123" }
                  return { method = "POST", headers = h }
              end },
            { "POST cookie, token antiCsrfToken null", status = 401,
              body = TRT,
              req = function(t)
                  local h = cookie(t.nocsrf)
                  h[2] = { "anti-csrf", "acsrf-123" }
                  return { method = "POST", headers = h }
              end },
            { "POST cookie, rid does not help", status = 401, body = TRT,
              req = function(t)
                  local h = cookie(t.csrf)
                  h[2] = { "rid", "session" }
                  return { method = "POST", headers = h }
              end },
            { "POST header transport without anti-csrf", status = 200,
              user = "nocsrf",
              req = function(t)
                  return { method = "POST", headers = bearer(t.nocsrf) }
              end },
            { "POST cookie, antiCsrfCheck false", status = 200,
              user = "csrf",
              req = function(t)
                  return { method = "POST", path = "/verify-nocsrf",
                           headers = cookie(t.csrf) }
              end },
        },
    })

    config_block("crossSite", {
        env = { ST_API_DOMAIN = "https://api.example.com",
                ST_WEBSITE_DOMAIN = "https://example.org" },
        origin = "https://example.org",
        tokens = { valid = {} },
        cases = {
            { "GET cookie no rid", status = 200, user = "valid",
              req = function(t) return { headers = cookie(t.valid) } end },
            { "POST cookie no rid", status = 401, body = TRT,
              req = function(t)
                  return { method = "POST", headers = cookie(t.valid) }
              end },
            { "POST cookie rid: anti-csrf", status = 200, user = "valid",
              req = function(t)
                  local h = cookie(t.valid)
                  h[2] = { "rid", "anti-csrf" }
                  return { method = "POST", headers = h }
              end },
            { "POST header transport no rid", status = 200, user = "valid",
              req = function(t)
                  return { method = "POST", headers = bearer(t.valid) }
              end },
            { "POST cookie no rid, antiCsrfCheck false", status = 200,
              user = "valid",
              req = function(t)
                  return { method = "POST", path = "/verify-nocsrf",
                           headers = cookie(t.valid) }
              end },
            { "checkDatabase revoked (cookie): Secure; SameSite=None",
              status = 401, body = UNAUTH, cleared = CLEAR_CROSS,
              req = function(t)
                  return { path = "/verify-checkdb",
                           headers = cookie(t.valid) }
              end },
        },
    })

    local ev_cases = function(expired_status, claim_status)
        return {
            { "st-ev false, recent: no refetch", status = claim_status,
              body = EV_FALSE,
              req = function(t) return { headers = bearer(t.ev_false) } end },
            { "st-ev missing, core: not verified -> invalid claim",
              status = claim_status, body = EV_FALSE,
              req = function(t)
                  return { headers = bearer(t.ev_missing_u2) }
              end },
            { "st-ev missing, core: verified -> 200 + new token",
              status = 200, new_token = "header",
              req = function(t)
                  return { headers = bearer(t.ev_missing) }
              end },
            { "st-ev missing, verified, cookie transport", status = 200,
              new_token = "cookie",
              req = function(t)
                  return { headers = cookie(t.ev_missing_c) }
              end },
            { "st-ev false older than 10 s, core: verified -> 200",
              status = 200, new_token = "header",
              req = function(t) return { headers = bearer(t.ev_old) } end },
            { "st-ev true", status = 200, user = "ev_true",
              req = function(t) return { headers = bearer(t.ev_true) } end },
            { "st-ev false, claims overridden to none", status = 200,
              user = "ev_false",
              req = function(t)
                  return { path = "/verify-noclaims",
                           headers = bearer(t.ev_false) }
              end },
            { "expired", status = expired_status, body = TRT,
              req = function(t) return { headers = bearer(t.expired) } end },
            { "no token", status = expired_status, body = UNAUTH },
        }
    end

    local ev_tokens = function()
        return {
            ev_false = { claims = { ["st-ev"] = { v = false,
                                                  t = now_ms() } } },
            ev_missing = {},
            ev_missing_c = {},
            ev_missing_u2 = { sub = "user-2" },
            ev_old = { claims = { ["st-ev"] = { v = false,
                                                t = now_ms() - 60000 } } },
            ev_true = { claims = { ["st-ev"] = { v = true, t = 0 } } },
            expired = { expIn = -10 },
        }
    end
    local ev_users = {
        { userId = "user-1", email = "u1@example.com", verified = true },
        { userId = "user-2", email = "u2@example.com", verified = false },
    }

    config_block("emailVerification", {
        env = { ST_EMAIL_VERIFICATION = "REQUIRED" },
        tokens = ev_tokens(),
        register = { "ev_missing", "ev_missing_c", "ev_missing_u2", "ev_old" },
        users = ev_users,
        cases = ev_cases(401, 403),
    })

    local custom = ev_cases(440, 499)
    custom[#custom + 1] = {
        "revoked via checkDatabase (cookie): Domain=.example.com",
        status = 440, body = UNAUTH, cleared = CLEAR_DOMAIN,
        req = function(t)
            return { path = "/verify-checkdb", headers = cookie(t.ev_true) }
        end }
    config_block("customCodes", {
        env = { ST_SESSION_EXPIRED_STATUS_CODE = "440",
                ST_INVALID_CLAIM_STATUS_CODE = "499",
                ST_COOKIE_DOMAIN = ".example.com",
                ST_OLDER_COOKIE_DOMAIN = "",
                ST_EMAIL_VERIFICATION = "REQUIRED" },
        tokens = ev_tokens(),
        register = { "ev_missing", "ev_missing_c", "ev_missing_u2", "ev_old" },
        users = ev_users,
        cases = custom,
    })

    config_block("staticKeys", {
        env = { ST_USE_DYNAMIC_ACCESS_TOKEN_SIGNING_KEY = "false" },
        tokens = { dynamic = {}, static = { key = "static" } },
        cases = {
            { "no token", status = 401, body = UNAUTH },
            { "dynamic key via header", status = 401, body = TRT,
              req = function(t) return { headers = bearer(t.dynamic) } end },
            { "dynamic key via cookie", status = 401, body = TRT,
              req = function(t) return { headers = cookie(t.dynamic) } end },
            { "static key", status = 200, user = "static",
              req = function(t) return { headers = bearer(t.static) } end },
        },
    })

    config_block("headerOnly", {
        env = { ST_TOKEN_TRANSFER_METHOD = "header" },
        tokens = { valid = {} },
        cases = {
            { "cookie only", status = 401, body = UNAUTH,
              req = function(t) return { headers = cookie(t.valid) } end },
            { "Bearer", status = 200, user = "valid",
              req = function(t) return { headers = bearer(t.valid) } end },
        },
    })

    describe("SuperTokens API routes", function()
        local backend, gw

        setup(function()
            backend = nginx.start({ server = [[
                location / { content_by_lua_block {
                    ngx.header.content_type = "application/json"
                    ngx.print(require("cjson").encode({
                        backend = true, uri = ngx.var.request_uri,
                        user = ngx.var.http_x_supertokens_user_id }))
                } }
            ]] })
            gw = nginx.gateway(merge(BASE, {
                ST_CONNECTION_URI = _G.ST_CORE.url,
                ST_BACKEND_URL = "http://127.0.0.1:" .. backend.port,
            }))
        end)

        teardown(function()
            if gw then
                gw:stop()
            end
            if backend then
                backend:stop()
            end
        end)

        it("are proxied to ST_BACKEND_URL, never verified", function()
            local res = assert(http.request(gw.port, {
                method = "POST", path = "/auth/session/refresh",
                headers = { { "Cookie", "sRefreshToken=x" } } }))
            assert.equal(200, res.status)
            local body = cjson.decode(res.body)
            assert.is_true(body.backend)
            assert.equal("/auth/session/refresh", body.uri)
            assert.is_nil(res:header("access-control-allow-origin"))
        end)

        it("protected routes still are", function()
            local res = assert(http.request(gw.port, { path = "/api/user" }))
            assert.equal(401, res.status)
            assert.equal(UNAUTH, res.body)
        end)
    end)

    config_block("cookieOnly", {
        env = { ST_TOKEN_TRANSFER_METHOD = "cookie" },
        tokens = { valid = {}, prth = { parentRefreshTokenHash1 = "x1" } },
        register = { "prth" },
        cases = {
            { "Bearer only", status = 401, body = UNAUTH,
              req = function(t) return { headers = bearer(t.valid) } end },
            { "cookie", status = 200, user = "valid",
              req = function(t) return { headers = cookie(t.valid) } end },
            { "cookie with parentRefreshTokenHash1", status = 200,
              new_token = "cookie", core_verify = 1,
              req = function(t) return { headers = cookie(t.prth) } end },
        },
    })

    -- The proxy pattern, with an upstream that answers token headers of
    -- its own (a handler that also runs the SDK): node writes the SDK's
    -- in verifySession(), before the handler, so the handler's cookies
    -- come after the SDK's and its front-token / st-access-token win.
    describe("an upstream's own token headers after a relayed token",
             function()
        local gw, tok_cookie, tok_header

        setup(function()
            local c = _G.ST_CORE
            local t = c:mint_many({ { parentRefreshTokenHash1 = "up1" },
                                    { parentRefreshTokenHash1 = "up2" } })
            tok_cookie, tok_header = t[1], t[2]
            for _, tok in ipairs(t) do
                c:control("POST", "session", cjson.encode({ token = tok }))
            end
            gw = nginx.supertokens({
                connection_uri = c.url,
                app_info = { api_domain = BASE.ST_API_DOMAIN,
                             website_domain = BASE.ST_WEBSITE_DOMAIN,
                             api_base_path = BASE.ST_API_BASE_PATH },
            }, { workers = 1, server = [[
                location = /proxied {
                    access_by_lua_block {
                        require("resty.supertokens").verify_session()
                    }
                    proxy_pass http://127.0.0.1:$server_port/app;
                }
                location = /app {
                    content_by_lua_block {
                        ngx.header["Set-Cookie"] = {
                            "sAccessToken=from-app; Path=/", "app=1" }
                        ngx.header["front-token"] = "from-app"
                        ngx.header["st-access-token"] = "from-app"
                        ngx.say("app")
                    }
                }
            ]] })
        end)

        teardown(function()
            if gw then
                gw:stop()
            end
        end)

        it("cookie transport: the gateway's cookie first, the upstream's "
           .. "after it; the upstream's front-token", function()
            local res = assert(http.request(gw.port, { path = "/proxied",
                headers = { { "Cookie", "sAccessToken=" .. tok_cookie } } }))
            assert.equal(200, res.status, res.body)
            local sc = res:all("set-cookie")
            assert.equal(3, #sc)
            assert.matches("^sAccessToken=eyJ", sc[1])
            assert.equal("sAccessToken=from-app; Path=/", sc[2])
            assert.equal("app=1", sc[3])
            assert.same({ "from-app" }, res:all("front-token"))
            assert.matches("front%-token",
                           res:header("access-control-expose-headers"))
        end)

        it("header transport: the upstream's st-access-token and "
           .. "front-token, once each", function()
            local res = assert(http.request(gw.port, { path = "/proxied",
                headers = { { "Authorization", "Bearer " .. tok_header } } }))
            assert.equal(200, res.status, res.body)
            assert.same({ "from-app" }, res:all("st-access-token"))
            assert.same({ "from-app" }, res:all("front-token"))
        end)
    end)
end)
