-- Token versions, structure, extraction and time checks (spec §1), on the
-- real binding's parse.  Expected values: sdk-test-suite-vectors.json,
-- observed.json, sdk-claims.json (node's parseInt/trim), spec §1.
local cjson = require "cjson.safe"
local jwt = require "resty.supertokens.jwt"
local token = require "resty.supertokens.token"
local H = require "spec.helpers.flow"

local verifier = jwt.verifier()


local function inspect(raw)
    local res, why = verifier:parse(raw)
    if not res then
        return nil, why
    end
    return token.inspect(res)
end


describe("token: JavaScript built-ins the SDK relies on", function()
    it("Number.parseInt (recorded from node)", function()
        for _, e in ipairs(H.sdk_claims.parseInt) do
            local n = token.parse_int(e["in"])
            if e.out == cjson.null then
                assert.is_nil(n, e["in"])
            else
                assert.equal(e.out, n, e["in"])
            end
        end
    end)

    it("String.prototype.trim (recorded from node)", function()
        for _, e in ipairs(H.sdk_claims.trim) do
            assert.equal(e.out, token.js_trim(e["in"]), e["in"])
        end
    end)
end)


describe("token: version detection (spec §1.1)", function()
    local legacy = H.vectors.legacyHeaderConstants

    it("recognises the v1/v2 legacy headers byte for byte", function()
        local py = H.vectors.pythonV2Token
        assert.equal(legacy.v2.encoded, py.token:match("^[^.]+"))
        local info = assert(inspect(py.token))
        assert.equal(py.expectedByUpstreamTest.version, info.version)
        assert.is_nil(info.kid)
        assert.equal(py.expectedByUpstreamTest["payload.userId"], info.user_id)
        assert.equal(py.decodedPayload.sessionHandle, info.handle)
        assert.equal(py.decodedPayload.expiryTime, info.expiry_ms)
        assert.equal(py.decodedPayload.timeCreated, info.time_created_ms)
        assert.is_nil(info.parent_refresh_token_hash1)   -- JSON null
        assert.is_nil(info.anti_csrf)
        assert.equal("public", info.tenant_id)
        -- v1 header is treated as v2
        local v1 = legacy.v1.encoded .. py.token:match("^[^.]+(%..*)$")
        assert.equal(2, assert(inspect(v1)).version)
    end)

    it("the python v2 vector is expired for any current clock", function()
        local info = assert(inspect(H.vectors.pythonV2Token.token))
        assert.is_true(token.expired(info, 1795771730000))
        assert.is_false(token.expired(info, 1683207164365))
        assert.is_true(token.expired(info, 1683207164366))
    end)

    local function header(json)
        return inspect(H.jwt(json, H.v5_payload()))
    end

    it("string version via parseInt; no upper bound; missing -> 3", function()
        local function version(v)
            local h = '{"alg":"RS256","typ":"JWT","kid":"d-1"'
                      .. (v and (',"version":"' .. v .. '"') or "") .. "}"
            return assert(header(h)).version
        end
        assert.equal(6, version("6"))
        assert.equal(5, version("5abc"))
        assert.equal(5, version(" 5"))
        assert.equal(5, version("5.9"))
        assert.equal(3, version(nil))
    end)

    it("ignores header mismatches with a reason", function()
        local cases = {
            { '{"alg":"RS256","typ":"JWT","kid":"d-1","version":5}', "header_version_type" },
            { '{"alg":"RS256","typ":"JWT","kid":"d-1","version":"2"}', "header_version" },
            { '{"alg":"RS256","typ":"JWT","kid":"d-1","version":"abc"}', "header_version" },
            { '{"alg":"RS256","typ":"JOSE","kid":"d-1","version":"5"}', "header_typ" },
            { '{"alg":"RS256","typ":"at+jwt","kid":"d-1","version":"5"}', "header_typ" },
            { '{"alg":"RS256","kid":"d-1","version":"5"}', "header_typ" },
            { '{"alg":"RS256","typ":"JWT","version":"5"}', "header_kid" },
        }
        for _, c in ipairs(cases) do
            local info, why = header(c[1])
            assert.is_nil(info, c[1])
            assert.equal(c[2], why, c[1])
        end
    end)

    it("a null/number kid passes detection (fails later, see decide)", function()
        local info = assert(header('{"alg":"RS256","typ":"JWT","kid":null,"version":"5"}'))
        assert.is_nil(info.kid)
        assert.equal("null", info.kid_type)
    end)
end)


describe("token: structure rules (spec §1.4)", function()
    it("accepts the payloads node's own tests accept (v3)", function()
        local acc = H.vectors.validateAccessTokenStructureAccepts
        for _, p in ipairs(acc.payloadsThatMustPassStructureValidation) do
            local raw = H.jwt('{"alg":"RS256","typ":"JWT","kid":"d-1","version":"3"}',
                              cjson.encode(p))
            local info = assert(inspect(raw))
            assert.equal(acc.version, info.version)
            assert.equal("", info.user_id)
            -- wrongly typed optional claims sanitise to undefined
            if p.antiCsrfToken == 1 then
                assert.is_nil(info.anti_csrf)
                assert.is_nil(info.parent_refresh_token_hash1)
            end
        end
    end)

    it("accepts node's v4 payload key set and reads tId", function()
        local keys = H.vectors.v4TokenPayloadKeySet.keys
        local p = {}
        for _, k in ipairs(keys) do
            p[k] = ({ exp = 4102444800, iat = 1700000000,
                      parentRefreshTokenHash1 = cjson.null,
                      antiCsrfToken = cjson.null })[k] or ("v-" .. k)
        end
        local info = assert(inspect(H.jwt(
            '{"alg":"RS256","typ":"JWT","kid":"d-1","version":"4"}', cjson.encode(p))))
        assert.equal(4, info.version)
        assert.equal("v-tId", info.tenant_id)
        assert.equal("v-sub", info.recipe_user_id)   -- no rsub: falls back
    end)

    local function v5(fields)
        return inspect(H.v5(fields))
    end

    it("v5 needs rsub; v4 does not; v3 ignores a custom tId", function()
        local p = H.v5_payload():gsub(',"rsub":"user%-1"', "")
        local info, why = inspect(H.jwt(H.V5_HEADER, p))
        assert.is_nil(info)
        assert.equal("structure", why)
        assert.truthy(inspect(H.jwt(
            '{"alg":"RS256","typ":"JWT","kid":"d-1","version":"4"}', p)))
        info = assert(inspect(H.jwt(
            '{"alg":"RS256","typ":"JWT","kid":"d-1","version":"3"}',
            H.v5_payload({ tId = "tenant1" }))))
        assert.equal("public", info.tenant_id)
    end)

    it("v5 without tId is accepted with tenant undefined ([O])", function()
        local p = H.v5_payload():gsub('"tId":"public",', "")
        local info = assert(inspect(H.jwt(H.V5_HEADER, p)))
        assert.is_nil(info.tenant_id)
    end)

    it("stt must be absent or 0", function()
        assert.truthy(v5({ extra = '"stt":0' }))
        for _, bad in ipairs({ '"stt":1', '"stt":null', '"stt":false' }) do
            local info, why = v5({ extra = bad })
            assert.is_nil(info, bad)
            assert.equal("stt", why, bad)
        end
        -- a string stt is refused by the parser already: still ignored
        assert.is_nil(v5({ extra = '"stt":"0"' }))
    end)

    it("exp as a string is ignored, a non-integer exp is fine ([O])", function()
        local info = v5({ exp = '"4102444800"' })
        assert.is_nil(info)
        assert.truthy(v5({ exp = "4102444800.5" }))
    end)

    it("trims ids, keeps the payload as sent ([O] sub with whitespace)", function()
        local info = assert(v5({ sub = "  user-1  ", rsub = " r1\t",
                                 sessionHandle = " h ", prth = " p ",
                                 anti_csrf = " a " }))
        assert.equal("user-1", info.user_id)
        assert.equal("r1", info.recipe_user_id)
        assert.equal("h", info.handle)
        assert.equal("p", info.parent_refresh_token_hash1)
        assert.equal("a", info.anti_csrf)
        assert.equal("  user-1  ", info.payload.sub)
        assert.matches('"sub":"  user%-1  "', info.payload_json)
    end)

    it("v2 structure needs userData and ms times", function()
        local ok = '{"sessionHandle":"h","userId":"u","refreshTokenHash1":"r",'
                   .. '"userData":null,"expiryTime":1,"timeCreated":0}'
        assert.truthy(inspect(H.v2(ok)))    -- null userData is defined
        local bad = ok:gsub(',"userData":null', "")
        local info, why = inspect(H.v2(bad))
        assert.is_nil(info)
        assert.equal("structure", why)
        assert.is_nil(inspect(H.v2(ok:gsub('"expiryTime":1', '"expiryTime":"1"'))))
    end)
end)


describe("token: time checks (spec §1.6)", function()
    local function info_for(extra_fields)
        return assert(inspect(H.v5(extra_fields)))
    end

    it("exp: valid iff exp > floor(now_s) and exp*1000 >= now_ms", function()
        local info = info_for({ exp = "1000" })
        assert.is_nil(token.check_time(info, 999999))
        assert.is_false(token.expired(info, 999999))
        assert.equal("expired", token.check_time(info, 1000000))
        assert.equal("expired", token.check_time(info, 1000999))
        local frac = info_for({ exp = "1000.5" })
        assert.is_nil(token.check_time(frac, 1000400))
        assert.is_false(token.expired(frac, 1000400))
        assert.is_nil(token.check_time(frac, 1000600))
        assert.is_true(token.expired(frac, 1000600))
    end)

    it("nbf in the future fails, nbf == now passes ([O] nbf)", function()
        local info = info_for({ extra = '"nbf":2000' })
        assert.equal("not_before", token.check_time(info, 1999999))
        assert.is_nil(token.check_time(info, 2000000))
    end)

    it("iat is not compared with now", function()
        local info = info_for({ iat = "9999999999" })
        assert.is_nil(token.check_time(info, 1000))
    end)

    it("v2 uses expiryTime in ms and has a core fallback window", function()
        local p = '{"sessionHandle":"h","userId":"u","refreshTokenHash1":"r",'
                  .. '"userData":{},"expiryTime":5000000,"timeCreated":4000000}'
        local info = assert(inspect(H.v2(p)))
        assert.is_nil(token.check_time(info, 4999999))
        assert.is_false(token.expired(info, 5000000))
        assert.is_true(token.expired(info, 5000001))
        -- fallback: expiryTime >= now and timeCreated > now - interval
        assert.is_true(token.v2_core_fallback(info, 4500000, 1000))
        assert.is_false(token.v2_core_fallback(info, 5000001, 14400))
        assert.is_false(token.v2_core_fallback(info, 5000000, 1000))
    end)
end)


describe("token: payload bytes", function()
    it("payload_json is the decoded payload segment", function()
        local p = H.v5_payload({ extra = '"x":[1,2,{"y":null}]' })
        assert.equal(p, assert(inspect(H.jwt(H.V5_HEADER, p))).payload_json)
    end)
end)
