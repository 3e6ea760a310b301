-- Token transport (spec §3.3): cookie parsing, duplicate counting, the
-- Bearer header, header-beats-cookie, ignored vs rejected, transfer
-- methods.  Expected values: sdk-transport.json / sdk-claims.json
-- (recorded from supertokens-node), sdk-test-suite-vectors.json (node's
-- own behaviour table) and observed.json.
local cjson = require "cjson.safe"
local transport = require "resty.supertokens.transport"
local decide = require "resty.supertokens.decide"
local H = require "spec.helpers.flow"

local T = cjson.decode(H.read(H.FIX .. "sdk-transport.json"))


-- node reads header bytes as latin1: map the recorded JS strings back to
-- the bytes on the wire
local function latin1(s)
    return (s:gsub("[\194\195][\128-\191]", function(c)
        local a, b = c:byte(1, 2)
        return string.char((a - 0xc0) * 64 + (b - 0x80))
    end))
end


describe("transport: the express/cookie view of a request", function()
    it("reads sAccessToken like cookie.parse + JSONCookies", function()
        for _, e in ipairs(T.cookies) do
            local v = transport.access_cookie(latin1(e["in"]))
            if e.access == cjson.null then
                assert.is_nil(v, e["in"])
            elseif e.access.nonString then
                assert.is_false(v, e["in"])
            else
                assert.equal(e.access.string, v, e["in"])
            end
        end
    end)

    it("detects sIdRefreshToken presence (any value)", function()
        for _, e in ipairs(T.cookies) do
            assert.equal(e.legacyPresent,
                         transport.has_legacy_cookie(latin1(e["in"])), e["in"])
        end
    end)

    it("counts duplicate sAccessToken cookies in the raw header", function()
        for _, e in ipairs(T.cookies) do
            assert.equal(e.multipleAccess,
                         transport.cookie_count(latin1(e["in"]),
                                                "sAccessToken") > 1, e["in"])
        end
    end)

    it("takes the Bearer token: case-sensitive prefix, trimmed rest", function()
        for _, e in ipairs(T.bearer) do
            local out = transport.bearer(latin1(e["in"]))
            if e.out == cjson.null then
                assert.is_nil(out, e["in"])
            else
                assert.equal(latin1(e.out), out, e["in"])
            end
        end
        assert.is_nil(transport.bearer(nil))
    end)

    it("decodeURIComponent matches node", function()
        for _, e in ipairs(H.sdk_claims.decodeURIComponent) do
            local out = transport.decode_uri_component(e["in"])
            if e.error then
                assert.is_nil(out, e["in"])
            else
                assert.equal(e.out, out, e["in"])
            end
        end
    end)
end)


describe("transport: token selection through decide.verify", function()
    local now = 1795771730000
    local function tok(sub, exp)
        return H.v5({ sub = sub, exp = exp or "4102444800" })
    end
    local function run(conf, route, headers, cookie, method)
        local env = H.env({ now_ms = now })
        local out = decide.verify(conf, route, H.req(method or "GET", headers,
                                                     cookie), env)
        return out, env
    end

    -- node test/auth-modes.test.js 'from behaviour table' (24 rows):
    -- antiCsrf VIA_TOKEN, session created in cookie mode, GET requests
    local rows = H.vectors.verifySessionBehaviourTable.rows
    for i, row in ipairs(rows) do
        local name = string.format("row %d: %s required=%s header=%s cookie=%s -> %s",
                                   i, row.getTokenTransferMethodRes,
                                   tostring(row.sessionRequired),
                                   tostring(row.authHeader),
                                   tostring(row.authCookie), row.output)
        it(name, function()
            local conf = H.conf({ session = {
                anti_csrf = "VIA_TOKEN",
                get_token_transfer_method = row.getTokenTransferMethodRes } })
            local route = decide.route({ session_required = row.sessionRequired })
            for _, expired in ipairs({ false, true }) do
                local exp = expired and "1795771000" or nil
                local headers = row.authHeader
                    and { Authorization = "Bearer "
                          .. H.v5({ sub = "from-header", exp = exp,
                                    anti_csrf = "acsrf" }) } or {}
                local cookie = row.authCookie
                    and ("sAccessToken=" .. H.v5({ sub = "from-cookie", exp = exp,
                                                   anti_csrf = "acsrf" })) or nil
                local out = run(conf, route, headers, cookie)
                if row.output == "undefined" then
                    assert.is_true(out.pass)
                    assert.equal("no_session", out.class)
                    assert.is_nil(out.session)
                elseif row.output == "UNAUTHORISED" then
                    assert.equal(401, out.status)
                    assert.equal(H.wire.errorBodies.UNAUTHORISED.body, out.body)
                    assert.is_nil(out.clear)
                elseif expired then
                    assert.equal(401, out.status)
                    assert.equal(H.wire.errorBodies.TRY_REFRESH_TOKEN.body,
                                 out.body)
                else
                    local from = row.output == "validateheader" and "header"
                                 or "cookie"
                    assert.is_true(out.pass)
                    assert.equal("from-" .. from, out.session.user_id)
                    assert.equal(from, out.session.transfer)
                end
            end
        end)
    end

    it("non-SuperTokens JWT in the header (sdk-test-suite nonSuperTokensJwt)", function()
        local v = H.vectors.nonSuperTokensJwt
        local conf = H.conf()
        local route = decide.route()
        -- ignored: the cookie is used
        local out = run(conf, route, { Authorization = "Bearer " .. v.token },
                        "sAccessToken=" .. tok("from-cookie"))
        assert.equal("from-cookie", out.session.user_id)
        -- header only: UNAUTHORISED
        local hconf = H.conf({ session = { get_token_transfer_method = "header" } })
        out = run(hconf, route, { Authorization = "Bearer " .. v.token },
                  "sAccessToken=" .. tok("from-cookie"))
        assert.equal(401, out.status)
        assert.equal('{"message":"unauthorised"}', out.body)
        -- no cookies: UNAUTHORISED, and the log says why
        out = run(conf, route, { Authorization = "Bearer " .. v.token })
        assert.equal('{"message":"unauthorised"}', out.body)
        assert.equal("token_ignored", out.reason)
        assert.equal("header:header_kid", out.detail)
    end)

    it("header wins even when expired; garbage header is ignored ([O])", function()
        local conf, route = H.conf(), decide.route()
        local out = run(conf, route,
                        { Authorization = "Bearer " .. tok("h", "1795771000") },
                        "sAccessToken=" .. tok("c"))
        assert.equal(H.observed.cases["[default] invalid Bearer + valid cookie: "
                     .. "Bearer is parsed first and wins"].status, out.status)
        assert.equal('{"message":"try refresh token"}', out.body)
        out = run(conf, route, { Authorization = "Bearer garbage" },
                  "sAccessToken=" .. tok("c"))
        assert.equal("c", out.session.user_id)
    end)

    it("lower-case 'bearer' is not a token ([O])", function()
        local out = run(H.conf(), decide.route(),
                        { Authorization = "bearer " .. tok("h") })
        assert.equal(401, out.status)
        assert.equal('{"message":"unauthorised"}', out.body)
        assert.equal("no_token", out.reason)
    end)

    it("duplicate sAccessToken cookies -> try refresh, before any signature check", function()
        local checked = false
        local env = H.env({ sig = function()
            checked = true
            return true
        end })
        local t = tok("c")
        local out = decide.verify(H.conf(), decide.route(),
                                  H.req("GET", {}, "sAccessToken=" .. t
                                                   .. "; sAccessToken=" .. t), env)
        assert.equal('{"message":"try refresh token"}', out.body)
        assert.equal("multiple_access_token_cookies", out.reason)
        assert.is_false(checked)
    end)

    it("duplicates do not matter when the header token is used", function()
        local t = tok("c")
        local out = run(H.conf(), decide.route(), { Authorization = "Bearer " .. tok("h") },
                        "sAccessToken=" .. t .. "; sAccessToken=" .. t)
        assert.equal("h", out.session.user_id)
    end)

    it("a URL-encoded v2 cookie is decoded ([O] v2 via cookie)", function()
        local p = '{"sessionHandle":"h2","userId":"user-2","refreshTokenHash1":"r",'
                  .. '"parentRefreshTokenHash1":null,"userData":{"a":1},'
                  .. '"antiCsrfToken":null,"expiryTime":4102444800000,'
                  .. '"timeCreated":1795771000000}'
        local raw = H.v2(p)
        local enc = raw:gsub("[+/=]", function(c)
            return string.format("%%%02X", c:byte())
        end)
        local out = run(H.conf(), decide.route(), {}, "sAccessToken=" .. enc)
        assert.is_true(out.pass)
        assert.equal("user-2", out.session.user_id)
        assert.equal(raw, out.session.access_token)
        assert.equal(2, out.session.version)
    end)

    it("a JSON cookie (j:...) is not a token", function()
        local out = run(H.conf(), decide.route(), {}, 'sAccessToken=j:{"a":1}')
        assert.equal("token_ignored", out.reason)
        assert.equal("cookie:json_cookie", out.detail)
    end)
end)
