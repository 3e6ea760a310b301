-- decide.verify: spec Appendix A branch by branch, and a replay of every
-- observed.json verify case (real supertokens-node answers) through the
-- decision with the real binding's parse.  Signatures are faked (crypto
-- has its own specs); the core is scripted per case from what the
-- oracle's core stand-in answered.
local cjson = require "cjson.safe"
local jwt = require "resty.supertokens.jwt"
local decide = require "resty.supertokens.decide"
local token = require "resty.supertokens.token"
local outcome = require "resty.supertokens.outcome"
local H = require "spec.helpers.flow"

local verifier = jwt.verifier()
local UNAUTHORISED = H.wire.errorBodies.UNAUTHORISED.body
local TRY_REFRESH = H.wire.errorBodies.TRY_REFRESH_TOKEN.body
local CT = H.wire.errorBodies.contentType


local function payload(raw)
    return cjson.decode(assert(verifier:parse(raw)).payload_json)
end


-- What the oracle's core stand-in answers to /recipe/session/verify for
-- a token (fixture-core.js): a session built from the token, and a new
-- token when parentRefreshTokenHash1 is set.
local PROTECTED = { sub = 1, iat = 1, exp = 1, sessionHandle = 1, tId = 1,
                    parentRefreshTokenHash1 = 1, refreshTokenHash1 = 1,
                    antiCsrfToken = 1, rsub = 1 }
local function standin_verify(new_token, status)
    return function(body)
        local req = cjson.decode(body)
        local p = payload(req.accessToken)
        if status then
            return cjson.encode({ status = status, message = "x" })
        end
        local udj = {}
        for k, v in pairs(p) do
            if not PROTECTED[k] then
                udj[k] = v
            end
        end
        local out = { status = "OK", session = {
            handle = p.sessionHandle, userId = p.sub, recipeUserId = p.rsub,
            userDataInJWT = udj, tenantId = p.tId } }
        if new_token then
            local np = payload(new_token)
            out.accessToken = { token = new_token, expiry = np.exp * 1000,
                                createdTime = np.iat * 1000 }
        end
        return cjson.encode(out)
    end
end


local MONTH = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7,
                Aug = 8, Sep = 9, Oct = 10, Nov = 11, Dec = 12 }
-- epoch seconds of an HTTP date (UTC), independent of outcome.http_date
local function parse_http_date(s)
    local d, mon, y, hh, mm, ss = s:match("(%d+) (%a+) (%d+) (%d+):(%d+):(%d+)")
    local days = 0
    for year = 1970, tonumber(y) - 1 do
        days = days + ((year % 4 == 0 and year % 100 ~= 0 or year % 400 == 0)
                       and 366 or 365)
    end
    local mdays = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }
    local yy = tonumber(y)
    if yy % 4 == 0 and yy % 100 ~= 0 or yy % 400 == 0 then
        mdays[2] = 29
    end
    for m = 1, MONTH[mon] - 1 do
        days = days + mdays[m]
    end
    days = days + tonumber(d) - 1
    return ((days * 24 + hh) * 60 + mm) * 60 + ss
end


describe("decide: replay of observed.json (supertokens-node 24.0.3)", function()
    -- cases whose token signature does not verify against the oracle JWKS
    local BAD_SIG = {
        ["[default] bad signature (payload tampered after signing)"] = "bad_signature",
        ["[default] bad signature (signed by a key not in JWKS, but with the "
         .. "JWKS kid)"] = "bad_signature",
        ["[default] unknown kid (d- prefixed kid not in JWKS)"] = "unknown_kid",
        ["[default] alg HS256 in header (RS256 signature)"] = "alg_not_allowed",
        ["[default] alg none in header"] = "alg_not_allowed",
        ["[optional] bad signature"] = "bad_signature",
        ["[coreDown] valid token, JWKS unreachable"] = "jwks_unavailable",
        ["[coreDown] token with parentRefreshTokenHash1, core unreachable"] = "jwks_unavailable",
    }

    local names = {}
    for name, case in pairs(H.observed.cases) do
        if H.ORACLE_ENV[case.config] and case.request.method ~= "OPTIONS" then
            names[#names + 1] = name
        end
    end
    table.sort(names)
    assert(#names >= 65, "observed.json lost cases")

    for _, name in ipairs(names) do
        local case = H.observed.cases[name]
        it(name, function()
            local conf = H.oracle_conf(case.config)
            local route = decide.route(H.ORACLE_ROUTE[case.config])
            local sdk = H.observed_sdk_headers(case)
            local new_token = sdk["st-access-token"] and sdk["st-access-token"][1]
            local now = 1795771730000
            if not new_token and sdk["set-cookie"] then
                local v = sdk["set-cookie"][1]:match("^sAccessToken=([^;]+)")
                if v and v ~= "" then
                    new_token = v
                    now = parse_http_date(sdk["set-cookie"][1]:match("Expires=([^;]+)"))
                          * 1000 - outcome.ONE_YEAR_MS + 250
                end
            end
            local revoked = name:find("revoked") ~= nil
            local env = H.env({
                now_ms = now,
                sig = function()
                    if BAD_SIG[name] then
                        return nil, BAD_SIG[name]
                    end
                    return true
                end,
                core = case.config ~= "coreDown" and {
                    ["POST /recipe/session/verify"] =
                        standin_verify(new_token, revoked and "UNAUTHORISED"),
                } or nil,
            })
            local out = decide.verify(conf, route, H.case_req(case), env)

            -- status and body
            if case.status == 200 then
                assert.is_true(out.pass, out.body)
                if case.body.userId then
                    assert.equal(case.body.userId, out.session.user_id)
                    assert.equal(case.body.sessionHandle, out.session.handle)
                    assert.same(case.body.userDataInAccessToken,
                                cjson.decode(out.session.payload_json))
                    assert.same(case.body.userDataInAccessToken, out.session.payload)
                else
                    assert.is_nil(out.session)
                end
            else
                assert.is_false(out.pass)
                assert.equal(case.status, out.status)
                assert.same(case.body, cjson.decode(out.body))
                local got = H.by_name(out.headers)
                assert.same({ CT }, got["content-type"])
            end

            -- SDK headers (set-cookie, front-token, st-*, expose), exactly
            local got = H.by_name(out.headers)
            got["content-type"] = nil
            assert.same(sdk, got)

            -- core calls: the SDK's (without GET /apiversion, the shell's job)
            local want_calls = {}
            for _, c in ipairs(case.coreCalls) do
                local m, p = c:match("^(%u+) (%S+)")
                if p ~= "/apiversion" and p ~= "/.well-known/jwks.json" then
                    want_calls[#want_calls + 1] = m .. " " .. p
                end
            end
            local calls = {}
            for _, c in ipairs(env.calls) do
                calls[#calls + 1] = c.method .. " " .. c.path
            end
            assert.same(want_calls, calls)
            -- and the verify body's members, in node's order
            for _, c in ipairs(case.coreCalls) do
                local keys = c:match("^POST /recipe/session/verify (%[.*%])$")
                if keys then
                    local body = env.calls[1].body
                    local order = {}
                    for k in body:gmatch('"([%w]+)":') do
                        if k ~= "sub" then
                            order[#order + 1] = k
                        end
                    end
                    assert.same(cjson.decode(keys), order)
                end
            end
        end)
    end
end)


describe("decide: Appendix A branches", function()
    local now = 1795771730000
    local function verify(conf, route, req, env_opts)
        local env = H.env(env_opts or { now_ms = now })
        return decide.verify(conf or H.conf(), route or decide.route(), req, env),
               env
    end
    local valid = H.v5()

    it("OPTIONS and TRACE pass untouched, whatever they carry", function()
        for _, m in ipairs({ "OPTIONS", "options", "TRACE" }) do
            local out = verify(nil, nil, H.req(m, { Authorization = "Bearer x" },
                                              "sIdRefreshToken=1"))
            assert.is_true(out.pass)
            assert.equal("skipped", out.class)
            assert.is_nil(out.session)
        end
    end)

    it("POST to the refresh path is passed to the backend, not verified", function()
        for _, p in ipairs({ "/auth/session/refresh", "/auth/session/refresh/",
                             "/auth/session/refresh?x=1",
                             "/auth/x/../session/refresh" }) do
            local out = verify(nil, nil, H.req("POST", {}, nil, p))
            assert.is_true(out.pass, p)
            assert.equal("refresh_path", out.reason, p)
        end
        for _, r in ipairs({ { "GET", "/auth/session/refresh" },
                             { "POST", "/auth/session/refresh2" },
                             { "POST", "/auth/session" } }) do
            local out = verify(nil, nil, H.req(r[1], {}, nil, r[2]))
            assert.equal(401, out.status, r[2])
        end
        local gw = H.conf({ app_info = { api_base_path = "/api/auth" } })
        assert.is_true(verify(gw, nil, H.req("POST", {}, nil,
                                             "/api/auth/session/refresh")).pass)
    end)

    it("sIdRefreshToken -> try refresh, before token selection", function()
        local out = verify(nil, decide.route({ session_required = false }),
                           H.req("GET", { Authorization = "Bearer " .. valid },
                                 "sIdRefreshToken="))
        assert.equal(TRY_REFRESH, out.body)
        assert.equal("legacy_id_refresh_token", out.reason)
        assert.same({ { "Content-Type", CT } }, out.headers)
    end)

    it("no token: 401 unauthorised without clearing; optional -> pass", function()
        local out = verify(nil, nil, H.req("GET"))
        assert.equal(UNAUTHORISED, out.body)
        assert.is_nil(out.clear)
        assert.same({ { "Content-Type", CT } }, out.headers)
        out = verify(nil, decide.route({ session_required = false }), H.req("GET"))
        assert.is_true(out.pass)
        assert.equal("no_session", out.class)
    end)

    it("no token in the allowed transfer: the detail says where one was", function()
        local hdr = H.conf({ session = { get_token_transfer_method = "header" } })
        local out = verify(hdr, nil, H.req("GET", {}, "sAccessToken=" .. valid))
        assert.equal(UNAUTHORISED, out.body)
        assert.equal("no_token", out.reason)
        assert.equal("cookie_not_allowed", out.detail)
        local ck = H.conf({ session = { get_token_transfer_method = "cookie" } })
        out = verify(ck, nil, H.req("GET", { Authorization = "Bearer " .. valid }))
        assert.equal("no_token", out.reason)
        assert.equal("header_not_allowed", out.detail)
        out = verify(nil, nil, H.req("GET"))
        assert.is_nil(out.detail)
    end)

    it("signature/expiry failures are try refresh even when optional", function()
        local route = decide.route({ session_required = false })
        local out = verify(nil, route, H.req("GET", { Authorization = "Bearer " .. valid }),
                           { now_ms = now, sig = function()
                               return nil, "bad_signature"
                           end })
        assert.equal(TRY_REFRESH, out.body)
        assert.equal("bad_signature", out.reason)
        out = verify(nil, route, H.req("GET", { Authorization = "Bearer "
                                                  .. H.v5({ exp = "1795771730" }) }))
        assert.equal("expired", out.reason)
    end)

    it("kid prefix must match use_dynamic_access_token_signing_key", function()
        local s = H.v5(nil, '{"alg":"RS256","typ":"JWT","kid":"s-uuid","version":"5"}')
        local out = verify(nil, nil, H.req("GET", { Authorization = "Bearer " .. s }))
        assert.equal("kid_type_mismatch", out.reason)
        local static = H.conf({ session = { use_dynamic_access_token_signing_key = false } })
        assert.is_true(verify(static, nil, H.req("GET", { Authorization = "Bearer " .. s })).pass)
        local d = verify(static, nil, H.req("GET", { Authorization = "Bearer " .. valid }))
        assert.equal("kid_type_mismatch", d.reason)
    end)

    it("a non-string kid is try refresh (node would throw a TypeError)", function()
        local t = H.v5(nil, '{"alg":"RS256","typ":"JWT","kid":7,"version":"5"}')
        local out = verify(nil, nil, H.req("GET", { Authorization = "Bearer " .. t }))
        assert.equal(TRY_REFRESH, out.body)
        assert.equal("kid_not_string", out.reason)
    end)

    it("the success path: no core call, no headers, trimmed ids", function()
        local t = H.v5({ sub = " u1 ", rsub = "r1", tId = "tenant1",
                         sessionHandle = "h1" })
        local out, env = verify(nil, nil, H.req("GET", { Authorization = "Bearer " .. t }))
        assert.is_true(out.pass)
        assert.equal("ok", out.class)
        assert.is_nil(out.headers)
        assert.same({}, env.calls)
        local s = out.session
        assert.equal("u1", s.user_id)
        assert.equal("r1", s.recipe_user_id)
        assert.equal("h1", s.handle)
        assert.equal("tenant1", s.tenant_id)
        assert.equal("header", s.transfer)
        assert.equal(5, s.version)
        assert.equal("d-1700000000000", s.kid)
        assert.equal(4102444800000, s.expiry_ms)
        assert.equal(t, s.access_token)
        assert.is_false(s.new_token)
        assert.equal(" u1 ", s.payload.sub)
    end)

    it("HEAD is anti-csrf checked (not GET)", function()
        local cs = H.oracle_conf("crossSite")
        local out = verify(cs, nil, H.req("HEAD", {}, "sAccessToken=" .. valid))
        assert.equal("anti_csrf_rid_missing", out.reason)
        assert.is_true(verify(cs, nil, H.req("HEAD", { rid = "" },
                                              "sAccessToken=" .. valid)).pass)
    end)

    it("antiCsrfCheck overrides the method default, never header transport", function()
        local cs = H.oracle_conf("crossSite")
        local off = decide.route({ anti_csrf_check = false })
        local on = decide.route({ anti_csrf_check = true })
        assert.is_true(verify(cs, off, H.req("POST", {}, "sAccessToken=" .. valid)).pass)
        assert.equal("anti_csrf_rid_missing",
                     verify(cs, on, H.req("GET", {}, "sAccessToken=" .. valid)).reason)
        assert.is_true(verify(cs, on, H.req("GET", { Authorization = "Bearer " .. valid })).pass)
        -- without a token the check is skipped: plain unauthorised
        assert.equal("no_token", verify(cs, on, H.req("POST")).reason)
    end)

    it("VIA_TOKEN: claim missing, header missing, mismatch, match", function()
        local vt = H.oracle_conf("viaToken")
        local with = H.v5({ anti_csrf = " tok " })
        local cookie = "sAccessToken=" .. with
        assert.equal("anti_csrf_header_missing",
                     verify(vt, nil, H.req("POST", {}, cookie)).reason)
        assert.equal("anti_csrf_mismatch",
                     verify(vt, nil, H.req("POST", { ["anti-csrf"] = "nope" }, cookie)).reason)
        assert.is_true(verify(vt, nil, H.req("POST", { ["anti-csrf"] = "tok" }, cookie)).pass)
        assert.equal("anti_csrf_claim_missing",
                     verify(vt, nil, H.req("POST", { ["anti-csrf"] = "tok" },
                                           "sAccessToken=" .. valid)).reason)
    end)

    -- node reads the header as latin1 (a character per byte) and the
    -- claim as UTF-8: "é" in the claim is byte 0xE9 in the header, and
    -- the claim's own two bytes in the header are "Ã©", another text.
    it("VIA_TOKEN: a non-ASCII claim matches its latin1 header", function()
        local vt = H.oracle_conf("viaToken")
        local cookie = "sAccessToken=" .. H.v5({ anti_csrf = "ac-\195\169" })
        local function reason(value)
            return verify(vt, nil, H.req("POST", { ["anti-csrf"] = value },
                                         cookie)).reason
        end
        assert.is_nil(reason("ac-\233"))
        assert.equal("anti_csrf_mismatch", reason("ac-\195\169"))
        assert.equal("anti_csrf_mismatch", reason("ac-\233-"))
        assert.equal("anti_csrf_mismatch", reason("ac-"))
        local csrf = require "resty.supertokens.csrf"
        assert.is_true(csrf.latin1_equals_utf8("\255\128", "\195\191\194\128"))
        -- U+20AC has no latin1 byte; a lone lead byte is not UTF-8
        assert.is_false(csrf.latin1_equals_utf8("\172", "\226\130\172"))
        assert.is_false(csrf.latin1_equals_utf8("\195", "\195"))
        assert.is_false(csrf.latin1_equals_utf8("\233", "\195\041"))
        -- what node sends on (core body, echo): the characters in UTF-8
        assert.equal("ac-\195\169\194\128\195\191",
                     csrf.latin1_to_utf8("ac-\233\128\255"))
        assert.equal("ascii", csrf.latin1_to_utf8("ascii"))
        assert.is_nil(csrf.latin1_to_utf8(nil))
    end)

    it("custom status codes (Appendix C customCodes: 440/499)", function()
        local cc = H.conf({ session = { session_expired_status_code = 440,
                                        invalid_claim_status_code = 499 } })
        local out = verify(cc, nil, H.req("GET"))
        assert.equal(440, out.status)
        assert.equal(UNAUTHORISED, out.body)
        out = verify(cc, nil, H.req("GET", { Authorization = "Bearer "
                                             .. H.v5({ exp = "1" }) }))
        assert.equal(440, out.status)
        assert.equal(TRY_REFRESH, out.body)
    end)
end)


describe("decide: core verification", function()
    local now = 1795771730000
    local prth = H.v5({ prth = "abc123", sub = "user-1" })
    local new = H.v5({ sub = "user-1", iat = "1795771728" })

    local function run(conf, route, req, core)
        local env = H.env({ now_ms = now, core = core })
        return decide.verify(conf or H.conf(), route or decide.route(), req, env), env
    end

    it("sends node's body: anti-csrf header, doAntiCsrfCheck, enableAntiCsrf", function()
        local vt = H.oracle_conf("viaToken")
        local t = H.v5({ prth = "p", anti_csrf = "tok" })
        local _, env = run(vt, nil, H.req("POST", { ["anti-csrf"] = "tok" },
                                          "sAccessToken=" .. t),
                           { ["POST /recipe/session/verify"] = standin_verify() })
        assert.equal(1, #env.calls)
        assert.equal("session", env.calls[1].rid)
        assert.equal('{"accessToken":"' .. t .. '","antiCsrfToken":"tok",'
                     .. '"doAntiCsrfCheck":true,"enableAntiCsrf":true,'
                     .. '"checkDatabase":false}', env.calls[1].body)
    end)

    it("reads the anti-csrf header once: check, core body and relay", function()
        local vt = H.oracle_conf("viaToken")
        local t = H.v5({ prth = "p", anti_csrf = "tok" })
        local req = H.req("POST", { ["anti-csrf"] = "tok" }, "sAccessToken=" .. t)
        local header, reads = req.header, 0
        req.header = function(name)
            if name == "anti-csrf" then
                reads = reads + 1
            end
            return header(name)
        end
        local out, env = run(vt, nil, req,
                             { ["POST /recipe/session/verify"] = standin_verify(new) })
        assert.is_true(out.pass)
        assert.is_true(out.session.new_token)
        assert.equal(1, #env.calls)
        assert.matches('"antiCsrfToken":"tok"', env.calls[1].body, 1, true)
        assert.equal(1, reads)
    end)

    it("relays the new token in the request's transport + front-token", function()
        local core = { ["POST /recipe/session/verify"] = standin_verify(new) }
        local out = run(nil, nil, H.req("GET", { Authorization = "Bearer " .. prth,
                                                 ["anti-csrf"] = "echo" }), core)
        assert.is_true(out.pass)
        assert.is_true(out.session.new_token)
        assert.equal(new, out.session.access_token)
        local names = {}
        for i, h in ipairs(out.headers) do
            names[i] = h[1]:lower()
        end
        -- wire-constants newAccessTokenResponseHeaders.headerTransport, then
        -- Session.attachToRequestResponse's anti-csrf echo
        assert.same({ "front-token", "access-control-expose-headers",
                      "st-access-token", "anti-csrf" }, names)
        local h = H.by_name(out.headers)
        assert.same({ "front-token, st-access-token, anti-csrf" },
                    h["access-control-expose-headers"])
        assert.same({ new }, h["st-access-token"])
        assert.same({ "echo" }, h["anti-csrf"])
        -- front token: std base64 of {"uid","ate","up"} (wire-constants)
        local ft = h["front-token"][1]
        assert.matches("^[A-Za-z0-9+/]+=*$", ft)
        local np = payload(new)
        assert.equal('{"uid":"user-1","ate":' .. np.exp .. '000,"up":'
                     .. H.v5_payload({ sub = "user-1", iat = "1795771728" })
                     .. "}", H.unb64(ft))
    end)

    -- node: new RecipeUserId(response.session.recipeUserId) throws when the
    -- member is missing (500); JSON null has no .status to read (500)
    it("a core verify OK without session.recipeUserId, or null -> 500", function()
        for _, answer in ipairs({
            '{"status":"OK","session":{"handle":"handle-1","userId":"user-1",'
                .. '"userDataInJWT":{},"tenantId":"public"}}',
            "null",
        }) do
            local out = run(nil, decide.route({ check_database = true }),
                            H.req("GET", { Authorization = "Bearer " .. H.v5() }),
                            { ["POST /recipe/session/verify"] = answer })
            assert.equal(500, out.status, answer)
            assert.equal("core_bad_response", out.reason, answer)
        end
    end)

    it("UNAUTHORISED from the core clears both transports", function()
        local core = { ["POST /recipe/session/verify"] = standin_verify(nil, "UNAUTHORISED") }
        local out = run(nil, decide.route({ check_database = true }),
                        H.req("GET", { Authorization = "Bearer " .. H.v5() }), core)
        assert.equal(UNAUTHORISED, out.body)
        assert.is_true(out.clear)
        local want = H.wire
            .clearAllTokensResponseHeaders_sameSiteLax_noCookieDomain_apiBasePath_auth
        local got = H.lower_list(out.headers)
        table.remove(got)   -- content-type
        -- node's order: set-cookie x2, front-token, expose, st-access, st-refresh
        assert.same(want, got)
    end)

    it("clearing honours cross-site and cookieDomain attributes", function()
        local core = { ["POST /recipe/session/verify"] = standin_verify(nil, "UNAUTHORISED") }
        local route = decide.route({ check_database = true })
        local req = H.req("GET", {}, "sAccessToken=" .. H.v5())
        local cs = H.conf({ app_info = { api_domain = "https://api.example.com",
                                         website_domain = "https://example.org" } })
        local got = H.lower_list(run(cs, route, H.req("GET", { rid = "x" },
                                                     req.cookie), core).headers)
        table.remove(got)
        assert.same(H.wire.clearAllTokensResponseHeaders_crossSite_https, got)
        local cd = H.conf({ session = { cookie_domain = ".example.com",
                                        session_expired_status_code = 440 } })
        local out = run(cd, route, req, core)
        assert.equal(440, out.status)
        got = H.lower_list(out.headers)
        table.remove(got)
        assert.same(H.wire.clearAllTokensResponseHeaders_cookieDomain_dot_example_com, got)
    end)

    it("TRY_REFRESH_TOKEN (or anything else) from the core -> try refresh", function()
        for _, st in ipairs({ "TRY_REFRESH_TOKEN", "WHATEVER" }) do
            local out = run(nil, nil, H.req("GET", { Authorization = "Bearer " .. prth }),
                            { ["POST /recipe/session/verify"] = standin_verify(nil, st) })
            assert.equal(TRY_REFRESH, out.body)
            assert.equal("core_try_refresh", out.reason)
        end
    end)

    it("core unreachable / garbage -> 500 (node: Error -> error handler)", function()
        local out = run(nil, nil, H.req("GET", { Authorization = "Bearer " .. prth }), {})
        assert.equal(500, out.status)
        assert.equal('{"message":"internal error"}', out.body)
        assert.equal("core_unavailable", out.reason)
        out = run(nil, nil, H.req("GET", { Authorization = "Bearer " .. prth }),
                  { ["POST /recipe/session/verify"] = "<html>" })
        assert.equal("core_bad_response", out.reason)
        assert.not_matches(prth, out.detail or "", 1, true)
    end)

    it("without a configured core, a promoted token is used as it is", function()
        local jwks_only = H.conf({ connection_uri = H.null, jwks = '{"keys":[]}' })
        local out, env = run(jwks_only, nil,
                             H.req("GET", { Authorization = "Bearer " .. prth }), {})
        assert.is_true(out.pass)
        assert.is_nil(out.headers)
        assert.same({}, env.calls)
        out = run(jwks_only, decide.route({ check_database = true }),
                  H.req("GET", { Authorization = "Bearer " .. prth }), {})
        assert.equal(500, out.status)
    end)

    local V2P = '{"sessionHandle":"h2","userId":"user-2","refreshTokenHash1":"r",'
                .. '"userData":{"role":"x","n":[]},"expiryTime":%d,"timeCreated":%d}'

    it("v2: local session exposes userData as the payload", function()
        local out = run(nil, nil, H.req("GET", { Authorization = "Bearer "
            .. H.v2(V2P:format(now + 1000, now - 1000)) }))
        assert.is_true(out.pass)
        assert.equal('{"role":"x","n":[]}', out.session.payload_json)
        assert.equal("x", out.session.payload.role)
        assert.equal("public", out.session.tenant_id)
    end)

    it("v2 fallback: failed signature but recent token -> core verify", function()
        local t = H.v2(V2P:format(now + 1000, now - 1000))
        local env = H.env({ now_ms = now, sig = function()
            return nil, "unknown_kid"
        end, core = { ["POST /recipe/session/verify"] = function()
            return '{"status":"OK","session":{"handle":"h2","userId":"user-2",'
                   .. '"recipeUserId":"user-2","userDataInJWT":{"from":"core"},'
                   .. '"tenantId":"public"}}'
        end } })
        local out = decide.verify(H.conf(), decide.route(),
                                  H.req("GET", { Authorization = "Bearer " .. t }), env)
        assert.is_true(out.pass)
        assert.equal(1, #env.calls)
        assert.equal('{"from":"core"}', out.session.payload_json)
        -- created before the refresh interval / expired: no core call
        for _, p in ipairs({ V2P:format(now + 1000, now - 14400 * 1000),
                             V2P:format(now - 1, now - 1000) }) do
            env.calls[1] = nil
            out = decide.verify(H.conf(), decide.route(),
                                H.req("GET", { Authorization = "Bearer " .. H.v2(p) }),
                                env)
            assert.equal(TRY_REFRESH, out.body)
            assert.same({}, env.calls)
        end
    end)

    it("the relayed cookie is URL-encoded with a 1-year Expires", function()
        local core = { ["POST /recipe/session/verify"] = standin_verify(new) }
        local out = run(nil, nil, H.req("GET", {}, "sAccessToken=" .. prth), core)
        local h = H.by_name(out.headers)
        assert.same({ "front-token" }, h["access-control-expose-headers"])
        assert.equal(1, #h["set-cookie"])
        assert.equal("sAccessToken=" .. new .. "; Path=/; Expires="
                     .. outcome.http_date(now + H.wire.defaults.accessTokenCookieLifetimeMs)
                     .. "; HttpOnly; SameSite=Lax", h["set-cookie"][1])
        assert.is_nil(h["st-access-token"])
    end)
end)


describe("decide.route", function()
    it("defaults like verifySession()", function()
        local r = decide.route()
        assert.is_true(r.session_required)
        assert.is_nil(r.anti_csrf_check)
        assert.is_false(r.check_database)
        assert.is_nil(r.claims)
    end)

    it("raises on unknown or mistyped options, ignores cjson.null", function()
        assert.has_error(function()
            decide.route({ sessionRequired = false })
        end, "supertokens.decide: route: unknown option 'sessionRequired'")
        assert.has_error(function()
            decide.route({ check_database = "yes" })
        end, "supertokens.decide: route: check_database must be a boolean")
        assert.has_error(function()
            decide.route("x")
        end, "supertokens.decide: route: opts must be a table")
        local r = decide.route({ session_required = H.null, claims = H.null })
        assert.is_true(r.session_required)
        assert.is_nil(r.claims)
    end)

    it("claims replaces the globals; add_claims extends them", function()
        local conf = H.conf({ email_verification = { mode = "REQUIRED" } })
        local t = H.v5({ extra = '"st-ev":{"v":false,"t":1795771729000},'
                                 .. '"st-role":{"v":["user"],"t":0}' })
        local req = H.req("GET", { Authorization = "Bearer " .. t })
        local admin = { { claim = "st-role", check = "includes", value = "admin" } }
        local function body(route)
            return decide.verify(conf, route, req, H.env({ now_ms = 1795771730000 })).body
        end
        local wrong = '{"id":"st-role","reason":{"message":"wrong value",'
                      .. '"expectedToInclude":"admin","actualValue":["user"]}}'
        local ev = '{"id":"st-ev","reason":{"message":"wrong value","expectedValue":true,'
                   .. '"actualValue":false}}'
        assert.equal('{"message":"invalid claim","claimValidationErrors":[' .. ev .. ","
                     .. wrong .. "]}", body(decide.route({ add_claims = admin })))
        assert.equal('{"message":"invalid claim","claimValidationErrors":[' .. wrong .. "]}",
                     body(decide.route({ claims = admin })))
        assert.equal('{"message":"invalid claim","claimValidationErrors":[' .. ev .. "]}",
                     body(decide.route()))
        assert.is_nil(body(decide.route({ claims = {} })))
    end)
end)


describe("decide: the plain pass is kept per token", function()
    local now = 1795771730000
    local t = H.v5({ sub = "user-1" })

    -- An env whose parse keeps one result per token, and with it the
    -- token's info once its signature checked, as the verified-token
    -- cache does (keys.lua, cache.lua): the token's info is then reused.
    local function cached_env(opts)
        local env = H.env(opts)
        local kept = {}
        env.parse = function(raw)
            local res = kept[raw]
            if not res then
                res = assert(verifier:parse(raw))
                kept[raw] = res
            end
            return res
        end
        local check = env.check_signature
        env.check_signature = function(raw, info)
            local ok, why = check(raw, info)
            if ok then
                token.remember(kept[raw], info)
            end
            return ok, why
        end
        return env
    end

    it("one out per token and transfer; a token in the other transfer gets its own", function()
        local env = cached_env({ now_ms = now })
        local hdr = H.req("GET", { Authorization = "Bearer " .. t })
        local a = decide.verify(H.conf(), decide.route(), hdr, env)
        local b = decide.verify(H.conf(), decide.route(), hdr, env)
        assert.is_true(a.pass)
        assert.equal("ok", a.class)
        assert.equal(a, b)
        assert.equal("header", b.session.transfer)
        assert.equal(t, b.session.access_token)
        assert.is_nil(b.headers)
        local c = decide.verify(H.conf(), decide.route(),
                                H.req("GET", {}, "sAccessToken=" .. t), env)
        assert.is_true(c.pass)
        assert.are_not.equal(a, c)
        assert.equal("cookie", c.session.transfer)
        assert.equal("header", a.session.transfer)
    end)

    it("claims and core paths answer each request with its own tables", function()
        local env = cached_env({ now_ms = now })
        local route = decide.route({ claims = {} })
        local hdr = H.req("GET", { Authorization = "Bearer " .. t })
        local a = decide.verify(H.conf(), route, hdr, env)
        assert.is_true(a.pass)
        -- claims = {} means no validators: still the plain path
        assert.equal(a, decide.verify(H.conf(), route, hdr, env))
        local strict = decide.route({ claims = { { claim = "st-role", check = "includes",
                                                   value = "b" } } })
        local x = decide.verify(H.conf(), strict, hdr, env)
        local y = decide.verify(H.conf(), strict, hdr, env)
        assert.are_not.equal(x, y)
        local db = decide.route({ check_database = true })
        local core = { ["POST /recipe/session/verify"] = standin_verify() }
        local cenv = cached_env({ now_ms = now, core = core })
        local p = decide.verify(H.conf(), db, hdr, cenv)
        local q = decide.verify(H.conf(), db, hdr, cenv)
        assert.is_true(p.pass, p.body)
        assert.are_not.equal(p, q)
        assert.are_not.equal(p.session, q.session)
    end)

    it("copy_session copies every field a session can have", function()
        local sessions = {}
        local env = cached_env({ now_ms = now })
        sessions[1] = decide.verify(H.conf(), decide.route(),
                                    H.req("GET", { Authorization = "Bearer " .. t }), env).session
        -- core path with a new token: front_token, new_token
        local prth = H.v5({ prth = "abc123", sub = "user-1" })
        local new = H.v5({ sub = "user-1", iat = "1795771728" })
        local core = { ["POST /recipe/session/verify"] = standin_verify(new) }
        local cenv = cached_env({ now_ms = now, core = core })
        local req = H.req("GET", { Authorization = "Bearer " .. prth })
        sessions[2] = decide.verify(H.conf(), decide.route(), req, cenv).session
        assert.is_true(sessions[2].new_token)
        assert.is_string(sessions[2].front_token)
        for _, s in ipairs(sessions) do
            local copy = decide.copy_session(s)
            assert.are_not.equal(s, copy)
            for k, v in pairs(s) do
                assert.equal(v, copy[k], k)
            end
            for k, v in pairs(copy) do
                assert.equal(v, s[k], k)
            end
        end
        assert.is_nil(decide.copy_session(nil))
    end)
end)
