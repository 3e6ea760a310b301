-- outcome: exact bodies, clearing sets, relays, front token, dates and the
-- expose-header merge.  Expected values: wire-constants.json and
-- observed.json (refreshFlow / login responses of the real SDK).
local cjson = require "cjson.safe"
local outcome = require "resty.supertokens.outcome"
local H = require "spec.helpers.flow"

local bodies = H.wire.errorBodies


local function strip_ct(headers)
    local list = H.lower_list(headers)
    assert.same({ "content-type", bodies.contentType }, list[#list])
    list[#list] = nil
    return list
end


describe("outcome: error answers", function()
    local conf = H.conf()

    it("unauthorised / try refresh: status, exact body, content type", function()
        local u = outcome.unauthorised(conf, false, "no_token")
        assert.equal(401, u.status)
        assert.equal(bodies.UNAUTHORISED.body, u.body)
        assert.same({}, strip_ct(u.headers))
        assert.is_false(u.pass)
        local t = outcome.try_refresh(conf, "expired")
        assert.equal(bodies.TRY_REFRESH_TOKEN.body, t.body)
        assert.equal("try_refresh", t.class)
        assert.same({}, strip_ct(t.headers))
    end)

    it("invalid claims wraps the error list", function()
        local out = outcome.invalid_claims(conf,
            '[{"id":"st-ev","reason":{"message":"wrong value","expectedValue":true,'
            .. '"actualValue":false}}]', "st-ev")
        assert.equal(403, out.status)
        assert.equal(bodies.INVALID_CLAIMS.body, out.body)
    end)

    it("clearing sets match wire-constants for the three cookie setups", function()
        local setups = {
            { {}, "clearAllTokensResponseHeaders_sameSiteLax_noCookieDomain_apiBasePath_auth" },
            { { app_info = { api_domain = "https://api.example.com",
                             website_domain = "https://example.org" } },
              "clearAllTokensResponseHeaders_crossSite_https" },
            { { session = { cookie_domain = ".example.com" } },
              "clearAllTokensResponseHeaders_cookieDomain_dot_example_com" },
        }
        for _, s in ipairs(setups) do
            local out = outcome.unauthorised(H.conf(s[1]), true, "core_unauthorised")
            assert.is_true(out.clear)
            assert.same(H.wire[s[2]], strip_ct(out.headers), s[2])
        end
    end)

    it("the clearing set equals what the SDK sent in observed.json", function()
        local case = H.observed.cases["[checkDatabase] revoked session via cookie (clears cookies)"]
        local out = outcome.unauthorised(H.conf(), true, "x")
        local got = H.by_name(out.headers)
        got["content-type"] = nil
        assert.same(H.observed_sdk_headers(case), got)
    end)

    it("refresh path and access token path follow the config", function()
        local c = H.conf({ app_info = { api_base_path = "/api/v1/auth" },
                           session = { access_token_path = "/api" } })
        local h = H.by_name(outcome.unauthorised(c, true).headers)
        assert.equal("sAccessToken=; Path=/api; Expires=Thu, 01 Jan 1970 00:00:00 GMT; "
                     .. "HttpOnly; SameSite=Lax", h["set-cookie"][1])
        assert.equal("sRefreshToken=; Path=/api/v1/auth/session/refresh; Expires=Thu, "
                     .. "01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax", h["set-cookie"][2])
    end)

    it("500 answer for core failures", function()
        local out = outcome.internal_error("core_unavailable", "connection refused")
        assert.equal(500, out.status)
        assert.equal("error", out.class)
        assert.equal('{"message":"internal error"}', out.body)
    end)
end)


describe("outcome: relaying a new access token", function()
    local conf = H.conf()
    local now = 1795771736000

    it("header transport: wire-constants order", function()
        local want = H.wire.newAccessTokenResponseHeaders.headerTransport
        local got = H.lower_list(outcome.relay(conf, "header", "TOKEN", "FT", nil, now))
        assert.same({ { want[1][1], "FT" }, want[2], { want[3][1], "TOKEN" } }, got)
    end)

    it("cookie transport: wire-constants order and attributes", function()
        local want = H.wire.newAccessTokenResponseHeaders.cookieTransport
        local got = H.lower_list(outcome.relay(conf, "cookie", "TOKEN", "FT", nil, now))
        assert.same({ want[1][1], want[2], want[3][1] },
                    { got[1][1], got[2], got[3][1] })
        assert.equal("FT", got[1][2])
        local cookie = want[3][2]:gsub("<token>", "TOKEN")
        local exp = outcome.http_date(now + H.wire.defaults.accessTokenCookieLifetimeMs)
        assert.equal(cookie:gsub("<HTTP%-date%(now %+ 31536000000 ms%)>", exp), got[3][2])
    end)

    it("the Set-Cookie of the observed login flow, byte for byte", function()
        -- refreshFlow[1]: createNewSession in cookie mode at 09:28:56Z
        local step = H.observed.refreshFlow[1]
        local sc = step.headers["set-cookie"][1]
        local tok = sc:match("^sAccessToken=([^;]+)")
        local t0 = os.time({ year = 2026, month = 11, day = 27, hour = 9, min = 28,
                             sec = 56, isdst = false })
        -- os.time() reads local time: correct for the zone offset
        local utc = t0 - (os.time(os.date("*t", t0)) - os.time(os.date("!*t", t0)))
        local got = outcome.relay(conf, "cookie", tok, step.headers["front-token"][1],
                                  nil, utc * 1000 + 123)
        local h = H.by_name(got)
        assert.equal(sc, h["set-cookie"][1])
        assert.same(step.headers["access-control-expose-headers"],
                    h["access-control-expose-headers"])
    end)

    it("v2 tokens are URL-encoded in the cookie (encodeURIComponent)", function()
        local got = outcome.relay(conf, "cookie", "a+b/c=", "FT", nil, 0)
        assert.matches("^sAccessToken=a%%2Bb%%2Fc%%3D; Path=/; Expires=Fri, 01 Jan 1971 ",
                       got[3][2])
    end)

    it("expose_access_token_to_frontend_in_cookie_based_auth adds the header", function()
        local c = H.conf({ session = {
            expose_access_token_to_frontend_in_cookie_based_auth = true } })
        local h = H.by_name(outcome.relay(c, "cookie", "T", "FT", "acsrf", now))
        assert.same({ "T" }, h["st-access-token"])
        assert.same({ "acsrf" }, h["anti-csrf"])
        assert.same({ "front-token, st-access-token, anti-csrf" },
                    h["access-control-expose-headers"])
    end)
end)


describe("outcome: front token, base64, dates, header merges", function()
    it("rebuilds every front-token the SDK sent in observed.json", function()
        local n = 0
        local function check(ft)
            local decoded = H.unb64(ft)
            local uid, ate, up = decoded:match('^{"uid":("[^"]*"),"ate":(%d+),"up":(.*)}$')
            assert.truthy(uid, decoded)
            assert.equal(ft, outcome.front_token(cjson.decode(uid), tonumber(ate), up))
            n = n + 1
        end
        for _, case in pairs(H.observed.cases) do
            local ft = case.headers["front-token"]
            if ft and ft ~= "remove" then
                check(ft)
            end
        end
        for _, step in ipairs(H.observed.refreshFlow) do
            local ft = step.headers and step.headers["front-token"]
            if ft and ft[1] ~= "remove" then
                check(ft[1])
            end
        end
        assert.is_true(n >= 5)
    end)

    it("front token omits an undefined ate and up like JSON.stringify", function()
        assert.equal("eyJ1aWQiOiJ1In0=", outcome.front_token("u", nil, nil))
        assert.equal('{"uid":"\\"x\\"","ate":1.5,"up":{}}',
                     H.unb64(outcome.front_token('"x"', 1.5, "{}")))
    end)

    it("std base64 with padding (RFC 4648 test vectors)", function()
        local v = { [""] = "", f = "Zg==", fo = "Zm8=", foo = "Zm9v", foob = "Zm9vYg==",
                    fooba = "Zm9vYmE=", foobar = "Zm9vYmFy", ["\255\254"] = "//4=" }
        for k, want in pairs(v) do
            assert.equal(want, outcome.base64(k))
        end
    end)

    it("HTTP dates like Date.toUTCString() (values from node)", function()
        assert.equal("Thu, 01 Jan 1970 00:00:00 GMT", outcome.http_date(0))
        assert.equal("Thu, 01 Jan 1970 00:00:00 GMT", outcome.http_date(999))
        assert.equal("Sat, 27 Nov 2027 09:28:48 GMT",
                     outcome.http_date(1827307728000))
        assert.equal("Mon, 29 Feb 2044 23:59:59 GMT",
                     outcome.http_date(2340403199000))
    end)

    it("expose merge skips values already contained", function()
        assert.equal("front-token", outcome.merge_expose(nil, "front-token"))
        assert.equal("front-token", outcome.merge_expose("", "front-token"))
        assert.equal("x, front-token", outcome.merge_expose("x", "front-token"))
        assert.equal("front-token, st-access-token",
                     outcome.merge_expose("front-token, st-access-token", "front-token"))
    end)

    it("vary merge", function()
        assert.equal("Origin", outcome.merge_vary(nil, "Origin"))
        assert.equal("Accept-Encoding, Origin",
                     outcome.merge_vary("Accept-Encoding", "Origin"))
        assert.equal("origin", outcome.merge_vary("origin", "Origin"))
        assert.equal("*", outcome.merge_vary("*", "Origin"))
    end)
end)


describe("jsonjs and URI encoding match node (sdk-claims.json)", function()
    local jsonjs = require "resty.supertokens.jsonjs"
    local normalise = require "resty.supertokens.normalise"

    it("JSON.stringify(JSON.parse(text))", function()
        for _, e in ipairs(H.sdk_claims.jsonRoundTrip) do
            local out = jsonjs.normalize(e["in"])
            if e.error then
                assert.is_nil(out, e["in"])
            else
                assert.equal(e.out, out, e["in"])
            end
        end
    end)

    it("encodeURIComponent (cookie values)", function()
        for _, e in ipairs(H.sdk_claims.encodeURIComponent) do
            assert.equal(e.out, normalise.encode_uri_component(e["in"]), e["in"])
        end
    end)
end)
