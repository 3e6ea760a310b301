-- resty.supertokens.jwt: keysets, verifiers and reason codes, against
-- tokens signed by the openssl CLI (spec/helpers/keys.lua).

local bit = require "bit"
local cjson = require "cjson.safe"
local keys = require "spec.helpers.keys"

local b64url = keys.b64url

local ALL_ALGS = {
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
    "ES512", "EdDSA", "HS256", "HS384", "HS512",
}

-- A token from raw header/payload JSON with a signature from `k`.
local function raw_token(k, alg, header_json, payload_json)
    return keys.token(k, alg, header_json, payload_json)
end

-- A token whose signature is junk (for checks that fail before it).
local function unsigned(header_json, payload_json, sig)
    return b64url(header_json) .. "." .. b64url(payload_json) .. "."
           .. (sig or "c2ln")
end

describe("resty.supertokens.jwt", function()
    local jwt
    local K = {}

    setup(function()
        jwt = require "resty.supertokens.jwt"
        K.rsa = keys.rsa(2048, "rsa-1")
        K.rsa2 = keys.rsa(2048, "rsa-2")
        K.p256 = keys.ec("P-256", "ec-256")
        K.p384 = keys.ec("P-384", "ec-384")
        K.p521 = keys.ec("P-521", "ec-521")
        K.ed = keys.ed25519("ed-1")
        K.h256 = keys.hmac(32, "hs-256")
        K.h384 = keys.hmac(48, "hs-384")
        K.h512 = keys.hmac(64, "hs-512")
    end)

    teardown(function()
        keys.cleanup()
    end)

    it("has a version", function()
        assert.equal("0.1.0", jwt._VERSION)
    end)

    describe("keyset()", function()
        it("builds from JWKS text and reports counts", function()
            local ks, err, info = jwt.keyset(keys.jwks({ K.rsa, K.p256 }))
            assert.is_nil(err)
            assert.equal(2, ks:count())
            assert.is_true(ks:has_kid("rsa-1"))
            assert.is_true(ks:has_kid("ec-256"))
            assert.is_false(ks:has_kid("rsa-2"))
            assert.is_false(ks:has_kid(""))
            assert.same({ n_keys = 2, n_skipped = 0 }, info)
            -- the candidates of a token without a string kid
            assert.equal(1, ks:count_fitting("RS256"))
            assert.equal(1, ks:count_fitting("PS384"))
            assert.equal(1, ks:count_fitting("ES256"))
            assert.equal(0, ks:count_fitting("ES384"))
            assert.equal(0, ks:count_fitting("EdDSA"))
            assert.equal(0, ks:count_fitting("none"))
            assert.equal(0, ks:count_fitting("rs256"))
        end)

        it("accepts a decoded table and a single JWK", function()
            local ks = assert(jwt.keyset({ keys = { K.rsa.jwk } }))
            assert.equal(1, ks:count())
            ks = assert(jwt.keyset(cjson.encode(K.ed.jwk)))
            assert.is_true(ks:has_kid("ed-1"))
        end)

        it("skips unusable keys leniently and says which", function()
            local weak = keys.rsa(1024, "weak")
            local ks, err, info = jwt.keyset(keys.jwks({ weak, K.rsa }))
            assert.is_nil(err)
            assert.equal(1, ks:count())
            assert.is_false(ks:has_kid("weak"))
            assert.same({ n_keys = 1, n_skipped = 1,
                          first_skip_reason = "weak_key",
                          first_skip_index = 1 }, info)
        end)

        it("fails the whole set in strict mode", function()
            local weak = keys.rsa(1024, "weak")
            local ks, err = jwt.keyset(keys.jwks({ K.rsa, weak }),
                                       { strict = true })
            assert.is_nil(ks)
            assert.equal("weak_key", err)
        end)

        it("returns reason codes for unusable input", function()
            assert.equal("no_keys", select(2, jwt.keyset('{"keys":[]}')))
            assert.equal("bad_json", select(2, jwt.keyset("nope")))
            assert.equal("bad_json", select(2, jwt.keyset("")))
            local _, err, info = jwt.keyset(keys.jwks({
                keys.jwk(K.rsa, { use = "enc" }) }))
            assert.equal("no_keys", err)
            assert.equal("key_use", info.first_skip_reason)
        end)

        it("ignores HMAC secrets unless allow_hmac", function()
            local _, err, info = jwt.keyset(keys.jwks({ K.h256 }))
            assert.equal("no_keys", err)
            assert.equal(1, info.n_skipped)
            local ks = assert(jwt.keyset(keys.jwks({ K.h256 }),
                                         { allow_hmac = true }))
            assert.equal(1, ks:count())
        end)

        it("refuses a set mixing HMAC secrets with public keys",
           function()
            local jwks = keys.jwks({ K.rsa, K.h256 })
            for _, strict in ipairs({ false, true }) do
                local ks, err = jwt.keyset(jwks, { allow_hmac = true,
                                                   strict = strict })
                assert.is_nil(ks)
                assert.equal("key_mismatch", err)
            end
            -- without allow_hmac the secret is skipped, the rest is used
            local ks, err, info = jwt.keyset(jwks)
            assert.is_nil(err)
            assert.is_true(ks:has_kid("rsa-1"))
            assert.is_false(ks:has_kid("hs-256"))
            assert.equal(1, info.n_skipped)
        end)

        it("makes every key sharing a kid unusable", function()
            local ks = jwt.keyset(keys.jwks({
                keys.jwk(K.rsa, { kid = "dup" }),
                keys.jwk(K.rsa2, { kid = "dup" }), K.p256 }))
            assert.is_false(ks:has_kid("dup"))
            assert.equal(1, ks:count())
        end)

        it("raises on misuse", function()
            assert.has_error(function() jwt.keyset(42) end,
                "supertokens.jwt: keyset: jwks must be a string or a table")
            assert.has_error(function()
                jwt.keyset("{}", { strick = true })
            end, "supertokens.jwt: keyset: unknown option 'strick'")
            assert.has_error(function()
                jwt.keyset("{}", { strict = "yes" })
            end, "supertokens.jwt: keyset: strict must be a boolean")
            local ks = jwt.keyset(keys.jwks({ K.rsa }))
            assert.has_error(function() ks:has_kid(1) end,
                "supertokens.jwt: has_kid: kid must be a string")
            assert.has_error(function() ks:count_fitting(nil) end,
                "supertokens.jwt: count_fitting: alg must be a string")
        end)

        it("close() frees once and disables the keyset", function()
            local ks = jwt.keyset(keys.jwks({ K.rsa }))
            local v = jwt.verifier()
            local tok = keys.token(K.rsa, "RS256", nil, { sub = "u" })
            assert.is_true(v:check_signature(ks, tok))
            ks:close()
            ks:close()
            assert.equal(0, ks:count())
            assert.equal(0, ks:count_fitting("RS256"))
            assert.is_false(ks:has_kid("rsa-1"))
            assert.has_error(function() v:verify(ks, tok) end)
        end)

        it("survives many keysets being collected", function()
            local jwks = keys.jwks({ K.rsa, K.p256, K.ed })
            for _ = 1, 300 do
                assert(jwt.keyset(jwks))
            end
            collectgarbage()
            collectgarbage()
        end)
    end)

    describe("verifier()", function()
        local function err_of(opts)
            local ok, err = pcall(function()
                local v = jwt.verifier(opts) -- not a tail call: keep frame
                return v
            end)
            assert.is_false(ok)
            return err
        end

        it("raises with the caller's position on bad options", function()
            for _, opts in ipairs({
                { algs = { "none" } }, { algs = { "RS256", "XX999" } },
                { algs = {} }, { algs = "RS256" }, { algs = { 1 } },
                { max_token_len = 0 }, { max_token_len = -5 },
                { max_token_len = 1.5 }, { max_depth = "16" },
                { opaque_payload = 1 }, { legacy = "no" }, { nope = true },
                "RS256",
            }) do
                local err = err_of(opts)
                assert.matches("supertokens.jwt: verifier: ", err, 1, true)
                assert.matches("02%-jwt_spec%.lua:%d+:", err)
            end
        end)

        it("names the bad algorithm", function()
            assert.matches("unsupported alg 'none'",
                           err_of({ algs = { "none" } }), 1, true)
        end)

        it("defaults to RS256 only", function()
            local v = jwt.verifier()
            local ks = jwt.keyset(keys.jwks({ K.rsa, K.p256 }))
            assert.truthy(v:verify(ks, keys.token(K.rsa, "RS256", nil, {})))
            local res, reason = v:verify(ks,
                keys.token(K.p256, "ES256", nil, {}))
            assert.is_nil(res)
            assert.equal("alg_not_allowed", reason)
        end)

        it("raises when a method is called with '.'", function()
            local v = jwt.verifier()
            assert.has_error(function() v.parse("a.b.c") end)
            assert.has_error(function() v:parse(nil) end,
                "supertokens.jwt: parse: token must be a string")
        end)
    end)

    describe("verify()", function()
        local v, ks, hks

        -- Public keys and HMAC secrets live in separate sets: a set mixing
        -- them is refused (see "keyset()").
        local function set_for(alg)
            return alg:match("^HS") and hks or ks
        end

        setup(function()
            v = jwt.verifier({ algs = ALL_ALGS })
            ks = jwt.keyset(keys.jwks({ K.rsa, K.rsa2, K.p256, K.p384,
                                        K.p521, K.ed }))
            assert.equal(6, ks:count())
            hks = jwt.keyset(keys.jwks({ K.h256, K.h384, K.h512 }),
                             { allow_hmac = true })
            assert.equal(3, hks:count())
        end)

        local CASES = {
            { "RS256", "rsa" }, { "RS384", "rsa" }, { "RS512", "rsa2" },
            { "PS256", "rsa" }, { "PS384", "rsa2" }, { "PS512", "rsa" },
            { "ES256", "p256" }, { "ES384", "p384" }, { "ES512", "p521" },
            { "EdDSA", "ed" }, { "HS256", "h256" }, { "HS384", "h384" },
            { "HS512", "h512" },
        }

        for _, case in ipairs(CASES) do
            local alg, kname = case[1], case[2]
            it("accepts " .. alg .. " and returns the claims", function()
                local k = K[kname]
                local tok = keys.token(k, alg,
                    { alg = alg, typ = "JWT", kid = k.kid },
                    { sub = "user-1", exp = 4102444800, iat = 1700000000,
                      nbf = 1600000000.5, n = cjson.null,
                      nested = { a = { 1, 2 } } })
                local res, reason = v:verify(set_for(alg), tok)
                assert.is_nil(reason)
                assert.equal(alg, res.alg)
                assert.equal(k.kid, res.kid)
                assert.equal("string", res.kid_type)
                assert.equal("JWT", res.typ)
                assert.equal(0, res.legacy)
                assert.equal(4102444800, res.exp)
                assert.equal(1700000000, res.iat)
                assert.equal(1600000000.5, res.nbf)
                assert.is_nil(res.stt)
                assert.equal("absent", res.stt_type)
                assert.equal("absent", res.version_type)
                assert.equal("user-1", res.payload.sub)
                assert.equal(cjson.null, res.payload.n)
                assert.same({ 1, 2 }, res.payload.nested.a)
                assert.same(res.payload, cjson.decode(res.payload_json))
                assert.is_true(v:check_signature(set_for(alg), tok))
            end)

            it("rejects " .. alg .. " with a flipped signature bit",
               function()
                local k = K[kname]
                local tok = keys.token(k, alg, nil, { sub = "u" })
                local sig = keys.b64decode(tok:match("[^.]+$"))
                local flipped = string.char(bit.bxor(sig:byte(5), 1))
                sig = sig:sub(1, 4) .. flipped .. sig:sub(6)
                tok = tok:gsub("[^.]+$", b64url(sig))
                local res, reason = v:verify(set_for(alg), tok)
                assert.is_nil(res)
                assert.equal("bad_signature", reason)
            end)
        end

        it("rejects a tampered payload and header", function()
            local tok = keys.token(K.rsa, "RS256", nil, { sub = "alice" })
            local h, _, s = tok:match("^([^.]+)%.([^.]+)%.([^.]+)$")
            local forged = h .. "." .. b64url('{"sub":"admin"}') .. "." .. s
            assert.equal("bad_signature", select(2, v:verify(ks, forged)))
            local h2 = b64url('{"alg":"RS256","typ":"JWT","kid":"rsa-1",'
                              .. '"x":1}')
            local _, p = tok:match("^([^.]+)%.([^.]+)")
            assert.equal("bad_signature",
                         select(2, v:verify(ks, h2 .. "." .. p .. "." .. s)))
        end)

        it("rejects a signature by another key with the same kid",
           function()
            local tok = keys.token(K.rsa2, "RS256",
                { alg = "RS256", kid = "rsa-1" }, { sub = "u" })
            assert.equal("bad_signature", select(2, v:verify(ks, tok)))
        end)

        it("rejects an unknown kid", function()
            local tok = keys.token(K.rsa, "RS256",
                { alg = "RS256", kid = "nope" }, {})
            local res, reason, info = v:verify(ks, tok)
            assert.is_nil(res)
            assert.equal("unknown_kid", reason)
            assert.equal("nope", info.kid)
            assert.equal("RS256", info.alg)
        end)

        it("needs a kid when several keys could match", function()
            local tok = keys.token(K.rsa, "RS256", { alg = "RS256" }, {})
            assert.equal("unknown_kid", select(2, v:verify(ks, tok)))
            local one = jwt.keyset(keys.jwks({ K.rsa }))
            assert.truthy(v:verify(one, tok))
        end)

        it("rejects alg none in every spelling", function()
            for _, alg in ipairs({ "none", "None", "NONE", "nOnE" }) do
                for _, sig in ipairs({ "", "c2ln" }) do
                    local tok = unsigned('{"alg":"' .. alg .. '"}',
                                         '{"sub":"u"}', sig)
                    local res, reason = v:verify(ks, tok)
                    assert.is_nil(res)
                    assert.is_truthy(reason == "alg_not_allowed"
                                     or reason == "malformed", reason)
                    if sig ~= "" then
                        assert.equal("alg_not_allowed", reason)
                    end
                end
            end
        end)

        it("binds the alg to the key type (wrong alg for the key)",
           function()
            -- RSA key, EC alg: the kid points at a key that cannot do it.
            local tok = keys.token(K.p256, "ES256",
                { alg = "ES256", kid = "rsa-1" }, {})
            assert.equal("key_mismatch", select(2, v:verify(ks, tok)))
            -- P-256 key used for ES384.
            tok = keys.token(K.p384, "ES384",
                { alg = "ES384", kid = "ec-256" }, {})
            assert.equal("key_mismatch", select(2, v:verify(ks, tok)))
            -- EdDSA token against an RSA kid.
            tok = keys.token(K.ed, "EdDSA", { alg = "EdDSA", kid = "rsa-1" },
                             {})
            assert.equal("key_mismatch", select(2, v:verify(ks, tok)))
        end)

        it("honours the JWK alg member", function()
            local pinned = jwt.keyset(keys.jwks({
                keys.jwk(K.rsa, { alg = "RS256" }) }))
            local tok = keys.token(K.rsa, "PS256", nil, {})
            assert.equal("key_mismatch", select(2, v:verify(pinned, tok)))
            tok = keys.token(K.rsa, "RS256", nil, {})
            assert.truthy(v:verify(pinned, tok))
        end)

        it("refuses HS256 signed with the RSA public key (key confusion)",
           function()
            -- The attack: the verifier treats the RSA public key as an
            -- HMAC secret.  Try the PEM and the raw modulus as secrets.
            local pem = keys.read_file(K.rsa.pem)
            local pub = io.popen("openssl pkey -pubout -in " .. K.rsa.pem)
            local pub_pem = pub:read("*a")
            pub:close()
            local secrets = { pub_pem, pem, keys.b64decode(K.rsa.jwk.n),
                              cjson.encode(K.rsa.jwk) }
            local rsa_only = jwt.keyset(keys.jwks({ K.rsa }),
                                        { allow_hmac = true })
            for _, secret in ipairs(secrets) do
                local fake = keys.hmac(secret)
                local tok = keys.token(fake, "HS256",
                    { alg = "HS256", kid = "rsa-1" }, { sub = "admin" })
                local res, reason = v:verify(rsa_only, tok)
                assert.is_nil(res)
                assert.equal("key_mismatch", reason)
                tok = keys.token(fake, "HS256", { alg = "HS256" },
                                 { sub = "admin" })
                res, reason = v:verify(rsa_only, tok)
                assert.is_nil(res)
                assert.is_truthy(reason == "unknown_kid"
                                 or reason == "key_mismatch", reason)
            end
        end)

        it("ignores keys embedded in the header (jwk, jku, x5u)", function()
            local attacker = keys.rsa(2048, "rsa-1")
            local tok = keys.token(attacker, "RS256", {
                alg = "RS256", kid = "rsa-1", jwk = attacker.jwk,
                jku = "http://127.0.0.1/jwks.json" }, {})
            assert.equal("bad_signature", select(2, v:verify(ks, tok)))
        end)

        it("verifies SuperTokens legacy v2 tokens against every RSA key",
           function()
            local payload = { userId = "u-2", sessionHandle = "h",
                              refreshTokenHash1 = "r", userData = {},
                              expiryTime = 4102444800000,
                              timeCreated = 1700000000000 }
            for _, k in ipairs({ K.rsa, K.rsa2 }) do
                local tok = keys.legacy_v2_token(k, payload)
                assert.matches("=%.", tok)
                local res, reason = v:verify(ks, tok)
                assert.is_nil(reason)
                assert.equal(2, res.legacy)
                assert.is_nil(res.kid)
                assert.equal("absent", res.kid_type)
                assert.equal("RS256", res.alg)
                assert.equal("u-2", res.payload.userId)
                assert.equal(4102444800000, res.payload.expiryTime)
            end
            local v1 = keys.legacy_v2_token(K.rsa, payload,
                                            keys.LEGACY_V1_HEADER)
            assert.equal(1, assert(v:verify(ks, v1)).legacy)
        end)

        it("rejects a legacy token signed by an unknown key", function()
            local other = keys.rsa(2048)
            local tok = keys.legacy_v2_token(other, { userId = "u" })
            local res, reason = v:verify(ks, tok)
            assert.is_nil(res)
            assert.is_truthy(reason == "bad_signature"
                             or reason == "unknown_kid", reason)
        end)

        it("does not treat legacy headers specially with legacy=false",
           function()
            local strict = jwt.verifier({ legacy = false })
            local tok = keys.legacy_v2_token(K.rsa, { userId = "u" })
            assert.is_nil((strict:verify(ks, tok)))
        end)

        it("keeps cjson.null and array/object shapes in the payload",
           function()
            local tok = keys.token(K.rsa, "RS256", nil,
                '{"a":null,"b":[],"c":{},"d":[null],"e":1e2}')
            local res = assert(v:verify(ks, tok))
            assert.equal(cjson.null, res.payload.a)
            assert.equal(cjson.null, res.payload.d[1])
            assert.equal(100, res.payload.e)
            assert.equal('{"a":null,"b":[],"c":{},"d":[null],"e":1e2}',
                         res.payload_json)
        end)

        it("returns header fields, never token bytes, on failure", function()
            local tok = keys.token(K.rsa, "RS256",
                { alg = "RS256", kid = "rsa-1", typ = "JWT" },
                { secret = "PAYLOADMARKER" })
            tok = keys.tamper(tok)
            local res, reason, info = v:verify(ks, tok)
            assert.is_nil(res)
            assert.equal("bad_signature", reason)
            assert.equal("rsa-1", info.kid)
            assert.equal("RS256", info.alg)
            assert.equal("JWT", info.typ)
            assert.is_nil(info.payload)
            assert.is_nil(info.payload_json)
            local segments = {}
            for seg in tok:gmatch("[^.]+") do
                segments[seg] = true
            end
            for _, val in pairs(info) do
                if type(val) == "string" then
                    assert.is_nil(val:find("PAYLOADMARKER", 1, true))
                    assert.is_nil(segments[val])
                    assert.not_equal(tok, val)
                end
            end
        end)

        it("check_signature returns only true or nil, reason", function()
            local tok = keys.token(K.p256, "ES256", nil, { sub = "u" })
            local a, b, c = v:check_signature(ks, tok)
            assert.same({ true, nil, nil }, { a, b, c })
            a, b, c = v:check_signature(ks, tok:sub(1, -2))
            assert.is_nil(a)
            assert.is_string(b)
            assert.is_nil(c)
        end)

        it("check_parsed_signature answers as check_signature, on the "
           .. "parse it kept or on its own", function()
            local good = keys.token(K.p256, "ES256", nil, { sub = "u" })
            local other = keys.token(K.p256, "ES256", nil, { sub = "w" })
            local forged = good:sub(1, -3)
                           .. (good:sub(-2, -2) == "A" and "B" or "A")
                           .. good:sub(-1)
            for _, case in ipairs({
                { good, good }, { good, forged }, { good, other },
                { forged, forged }, { "a.b", "a.b" }, { other, good },
            }) do
                v:parse(case[1])
                local a, b = v:check_parsed_signature(ks, case[2])
                local c, d = v:check_signature(ks, case[2])
                assert.same({ c, d }, { a, b })
            end
            v:parse(good)
            assert.is_true(v:check_parsed_signature(ks, good))
            assert.is_nil(v:check_parsed_signature(ks, forged))
        end)
    end)

    describe("reason codes", function()
        local v, ks

        setup(function()
            v = jwt.verifier({ algs = { "RS256", "HS256" },
                               max_token_len = 4096, max_depth = 4 })
            ks = jwt.keyset(keys.jwks({ K.rsa }))
        end)

        local H = '{"alg":"RS256","kid":"rsa-1"}'

        -- The reason verify() (or parse(), with how = "parse") gives.
        local function reason_of(tok, how)
            local res, reason
            if how == "parse" then
                res, reason = v:parse(tok)
            else
                res, reason = v:verify(ks, tok)
            end
            assert.is_nil(res)
            return reason
        end

        it("malformed: wrong number of segments or empty ones", function()
            for _, tok in ipairs({ "", "abc", "a.b", "a.b.c.d", "..",
                                   ".e30.c2ln", "e30..c2ln", "a..", ".." }) do
                assert.equal("malformed", reason_of(tok), tok)
            end
        end)

        it("bad_base64: padding, '+', '/', whitespace, junk", function()
            local h, p = b64url(H), b64url('{"sub":"u"}')
            for _, tok in ipairs({
                h .. "=." .. p .. ".c2ln", h .. "." .. p .. "=.c2ln",
                h .. "." .. p .. ".c2ln=", h .. " ." .. p .. ".c2ln",
                "eyJ+" .. h .. "." .. p .. ".c2ln", h .. "." .. p .. ".c2/n",
                h .. "." .. p .. ".c2l?",
            }) do
                assert.equal("bad_base64", reason_of(tok), tok)
            end
        end)

        it("bad_json: header or payload not a JSON object", function()
            for _, pair in ipairs({
                { "not json", '{}' }, { '[1]', '{}' }, { H, 'null' },
                { H, '"str"' }, { H, '{"a":1,}' }, { H, '{"a":"\255"}' },
                { H, '{"a":"\\ud800"}' }, { H .. "x", '{}' },
            }) do
                assert.equal("bad_json",
                    reason_of(unsigned(pair[1], pair[2])), pair[1] .. pair[2])
            end
        end)

        it("duplicate_member in header or payload", function()
            assert.equal("duplicate_member", reason_of(unsigned(
                '{"alg":"RS256","alg":"none"}', '{}')))
            assert.equal("duplicate_member", reason_of(unsigned(H,
                '{"sub":"a","sub":"b"}')))
        end)

        it("too_large beyond max_token_len", function()
            local big = unsigned(H, '{"p":"' .. string.rep("x", 4096) .. '"}')
            assert.equal("too_large", reason_of(big))
        end)

        it("too_deep beyond max_depth", function()
            local deep = '{"a":' .. string.rep("[", 8) .. string.rep("]", 8)
                         .. '}'
            assert.equal("too_deep", reason_of(unsigned(H, deep)))
        end)

        it("crit is refused", function()
            assert.equal("crit", reason_of(unsigned(
                '{"alg":"RS256","crit":["exp"],"exp":1}', '{}')))
        end)

        it("bad_header: alg missing or not a string (at verify)", function()
            for _, h in ipairs({ '{"kid":"rsa-1"}', '{"alg":256}',
                                 '{"alg":null}', '{"alg":["RS256"]}' }) do
                assert.equal("bad_header", reason_of(unsigned(h, '{}')), h)
                -- node parses these and fails them at the signature stage
                assert.is_table(v:parse(unsigned(h, '{}')), h)
            end
        end)

        it("b64:false without crit is ignored, as jose does", function()
            assert.equal("unknown_kid", reason_of(unsigned(
                '{"alg":"RS256","kid":"nope","b64":false}', '{}')))
        end)

        it("alg_not_allowed: unknown or not in the list", function()
            for _, alg in ipairs({ "ES256", "RS1", "HS257", "", "rs256" }) do
                assert.equal("alg_not_allowed", reason_of(unsigned(
                    '{"alg":"' .. alg .. '"}', '{}')), alg)
            end
        end)

        it("bad_claim: time claims that are not finite numbers", function()
            for _, p in ipairs({ '{"exp":1e400}', '{"nbf":-1e999}',
                                 '{"iat":1e309}', '{"stt":2e308}' }) do
                assert.equal("bad_claim",
                             reason_of(keys.token(K.rsa, "RS256", H, p)), p)
                assert.equal("bad_claim", reason_of(unsigned(H, p), "parse"),
                             p)
            end
        end)

        it("reports time claims of other JSON types for the caller",
           function()
            -- libstjwt leaves the judgement of wrong types to the caller
            -- (see the report: the header comment says bad_claim).
            for p, want in pairs({ ['{"exp":"1"}'] = "string",
                                   ['{"exp":true}'] = "true",
                                   ['{"exp":null}'] = "null",
                                   ['{"exp":[1]}'] = "array",
                                   ['{"exp":{}}'] = "object" }) do
                local res = assert(v:verify(ks,
                                            keys.token(K.rsa, "RS256", H, p)))
                assert.is_nil(res.exp)
                assert.equal(want, res.exp_type, p)
            end
        end)

        it("parse() applies the same checks without a key", function()
            assert.equal("malformed", reason_of("a.b", "parse"))
            assert.equal("crit", reason_of(unsigned(
                '{"alg":"RS256","crit":["x"]}', '{}'), "parse"))
        end)

        it("a failed parse reports no fields from an earlier token",
           function()
            local good = keys.token(K.rsa, "RS256", nil, { sub = "u" })
            assert.truthy(v:parse(good))
            local res, reason, info = v:parse("x.y")
            assert.is_nil(res)
            assert.equal("malformed", reason)
            assert.is_nil(info.kid)
            assert.is_nil(info.alg)
        end)
    end)

    describe("parse()", function()
        local v

        setup(function()
            v = jwt.verifier({ algs = ALL_ALGS })
        end)

        it("decodes header fields and their JSON types", function()
            local tok = unsigned('{"alg":"RS256","kid":7,"typ":null,'
                                 .. '"version":"5"}', '{"exp":1,"stt":0}')
            local res = assert(v:parse(tok))
            assert.is_nil(res.kid)
            assert.equal("number", res.kid_type)
            assert.is_nil(res.typ)
            assert.equal("null", res.typ_type)
            assert.equal("5", res.version)
            assert.equal("string", res.version_type)
            assert.equal(1, res.exp)
            assert.equal(0, res.stt)
            assert.equal("number", res.stt_type)
            assert.is_nil(res.nbf)
            assert.equal("absent", res.nbf_type)
        end)

        -- Eight keys are stored; the rest is packed into `types` or stored
        -- only when present, and must read back the same.
        it("reads packed and optional fields back through the result", function()
            local stffi = require "resty.supertokens.ffi"
            local res = assert(v:parse(unsigned(
                '{"alg":"RS256","typ":"at+jwt","kid":"k"}',
                '{"exp":2,"iat":1,"nbf":1.5}')))
            assert.equal("at+jwt", res.typ)
            assert.equal("string", res.typ_type)
            assert.equal(stffi.ALG.RS256, res.alg_id)
            assert.equal(0, res.legacy)
            assert.equal(1.5, res.nbf)
            assert.equal("number", res.nbf_type)
            assert.is_nil(res.stt)
            assert.equal("absent", res.stt_type)
            res = assert(v:parse(unsigned('{"alg":"RS256","typ":"JWT"}',
                                          '{"exp":2}')))
            assert.equal("JWT", res.typ)
            assert.is_nil(rawget(res, "typ"))
            assert.is_nil(res.nbf)
            assert.is_nil(res.iat)
            assert.equal("absent", res.iat_type)
            assert.is_nil(res.kid)
            assert.equal("absent", res.kid_type)
            local keys_n = 0
            for _ in pairs(res) do
                keys_n = keys_n + 1
            end
            assert.is_true(keys_n <= 8)
        end)

        -- The payload table comes from the C scan's members (plain
        -- strings and integers) and cjson (everything else, member by
        -- member): it must be what cjson.decode() of the whole payload
        -- gives, for every payload C accepts.
        describe("payload table equals cjson.decode() of the payload", function()
            local cjson_plain = require "cjson"

            -- deep equality that tells -0 from 0 and checks both ways
            local function same(a, b, path)
                if type(a) ~= type(b) then
                    return false, path .. ": " .. type(a) .. " vs " .. type(b)
                end
                if type(a) == "number" then
                    if a ~= a and b ~= b then
                        return true
                    end
                    if a ~= b or (a == 0 and 1 / a ~= 1 / b) then
                        return false, path .. ": " .. tostring(a) .. " vs "
                                      .. tostring(b)
                    end
                    return true
                end
                if type(a) ~= "table" then
                    return a == b, path
                end
                if getmetatable(a) ~= getmetatable(b) then
                    return false, path .. ": metatable"
                end
                for k, va in pairs(a) do
                    local ok, where = same(va, b[k], path .. "." .. tostring(k))
                    if not ok then
                        return false, where
                    end
                end
                for k in pairs(b) do
                    if a[k] == nil then
                        return false, path .. "." .. tostring(k) .. " missing"
                    end
                end
                return true
            end

            local HDR = '{"alg":"RS256"}'

            local function check(payload_json, name)
                local res = v:parse(unsigned(HDR, payload_json))
                if not res then
                    return false
                end
                local want = cjson_plain.decode(res.payload_json)
                local ok, where = same(res.payload, want, "payload")
                assert(ok, (name or payload_json) .. ": " .. tostring(where))
                return true
            end

            it("hand-picked payloads", function()
                local cases = {
                    '{}',
                    '{"s":"plain","e":"a\\nb\\u0000c","u":"\\u00e9\\ud83d\\ude00"}',
                    '{"i":1795862479,"n":-42,"z":-0,"zz":0,"f":1.5,"x":1e3,'
                        .. '"X":-1E-2,"d15":999999999999999,'
                        .. '"d16":9007199254740993,"d20":12345678901234567890,'
                        .. '"inf":1e400,"tiny":1e-400,"neg0f":-0.0}',
                    '{"t":true,"F":false,"N":null,"o":{},"a":[],'
                        .. '"nest":{"a":[1,{"b":null}],"a":2},"arr":[[],[{}]]}',
                    '{"k\\u00e9y":1,"\\"q\\"":"v","":""," sp ":" x "}',
                    '{"st-ev":{"v":true,"t":1700000000000},'
                        .. '"st-role":{"v":["admin"],"t":1700000000000}}',
                    '  {  "ws" :  "x" ,\n"n"\t: 12 }  ',
                    -- claim names C reports by number (jwt.CLAIM_NAMES),
                    -- escaped, near-misses, and more than the 16 slots
                    '{"sub":"u","exp":1,"iat":2,"tId":"public","rsub":"u",'
                        .. '"sessionHandle":"h","refreshTokenHash1":"r",'
                        .. '"parentRefreshTokenHash1":null,'
                        .. '"antiCsrfToken":null,"iss":"i","st-ev":{"v":1}}',
                    '{"s\\u0075b":"u","ex\\u0070":3,"su":1,"subb":2,'
                        .. '"Sub":3,"userId":"x","userData":{"a":1}}',
                    '{"sub":1,"exp":2,"iat":3,"tId":4,"rsub":5,"nbf":6,'
                        .. '"aud":7,"jti":8,"iss":9,"a1":10,"a2":11,"a3":12,'
                        .. '"a4":13,"a5":14,"a6":15,"a7":16,"a8":17,"a9":18}',
                }
                for _, c in ipairs(cases) do
                    assert.is_true(check(c), c)
                end
            end)

            it("JSONTestSuite objects", function()
                local dir = "spec/fixtures/vectors/jsontestsuite/test_parsing"
                local n = 0
                local pipe = assert(io.popen("ls " .. dir))
                for f in pipe:lines() do
                    if f:match("^[yi]_.*%.json$") then
                        local fh = assert(io.open(dir .. "/" .. f, "rb"))
                        local body = fh:read("*a")
                        fh:close()
                        local accepted = check(body, f)
                        if f:sub(1, 1) == "y" and body:match("^%s*{")
                           and not f:find("duplicated_key", 1, true)
                        then
                            -- RFC 8259 objects: C must take every one
                            -- (a JWT refuses duplicate member names)
                            assert.is_true(accepted, f)
                        end
                        if accepted then
                            n = n + 1
                        end
                    end
                end
                pipe:close()
                assert.is_true(n >= 10, "objects compared: " .. n)
            end)

            it("generated payloads", function()
                math.randomseed(20261127)
                local STR = { "a", "", "sub", "\\n", "\\u00e9", "x y",
                              "\\\"", "\\ud83d\\ude00", "1" }
                local NUM = { "0", "-0", "7", "-7", "123456789012345",
                              "1234567890123456", "-999999999999999", "0.5",
                              "-1e-5", "1E+2", "1e400", "4102444800" }
                local gen
                gen = function(depth)
                    local r = math.random(depth > 3 and 6 or 8)
                    if r == 1 then
                        return '"' .. STR[math.random(#STR)] .. '"'
                    elseif r == 2 then
                        return NUM[math.random(#NUM)]
                    elseif r == 3 then
                        return ({ "true", "false", "null" })[math.random(3)]
                    elseif r <= 6 then
                        return '"' .. STR[math.random(#STR)]
                               .. math.random(1000) .. '"'
                    elseif r == 7 then
                        local a = {}
                        for i = 1, math.random(0, 3) do
                            a[i] = gen(depth + 1)
                        end
                        return "[" .. table.concat(a, ",") .. "]"
                    end
                    local o = {}
                    for i = 1, math.random(0, 3) do
                        o[i] = '"k' .. i .. '":' .. gen(depth + 1)
                    end
                    return "{" .. table.concat(o, ",") .. "}"
                end
                -- one name per position, so never twice in a payload;
                -- not the time claims, whose values C judges (exp, iat and
                -- nbf have hand-picked cases above)
                local CLAIMS = { "sub", "expiryTime", "timeCreated", "tId",
                                 "rsub", "sessionHandle", "refreshTokenHash1",
                                 "iss", "parentRefreshTokenHash1",
                                 "antiCsrfToken", "userData", "st-ev",
                                 "st-role", "aud", "jti", "user\\u0049d" }
                for _ = 1, 500 do
                    local members = {}
                    for i = 1, math.random(0, 24) do
                        local name = CLAIMS[i] and math.random(2) == 1
                                     and CLAIMS[i]
                                     or STR[math.random(#STR)] .. "#" .. i
                        members[i] = '"' .. name .. '":' .. gen(1)
                    end
                    local p = "{" .. table.concat(members, ",") .. "}"
                    assert.is_true(check(p), p)
                end
            end)
        end)

        it("reads a real SuperTokens v2 token (supertokens-python tests)",
           function()
            local tok = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsInZlcnNpb24iOiIy"
                .. "In0=.eyJzZXNzaW9uSGFuZGxlIjoiZWI3ZjBkNTUtNjgwNy00NDFkLTlh"
                .. "NjEtM2VhM2IyNmZiNWQwIiwidXNlcklkIjoiNmZiNGRkY2UtODkxMS00MD"
                .. "U4LTkyYWMtYzc2MDU3ZmRhYWU4IiwicmVmcmVzaFRva2VuSGFzaDEiOiJj"
                .. "OTA0OTk2YzEzZmFjMzc2ZjllMmI2MTM0OTg4MjUyYTc1NjAzNGY0ZTAzYm"
                .. "YxMGQ3NGUyOTA0MjE2OWQzZjkxIiwicGFyZW50UmVmcmVzaFRva2VuSGFz"
                .. "aDEiOm51bGwsInVzZXJEYXRhIjp7fSwiYW50aUNzcmZUb2tlbiI6bnVsbC"
                .. "wiZXhwaXJ5VGltZSI6MTY4MzIwNzE2NDM2NSwidGltZUNyZWF0ZWQiOjE2"
                .. "ODMyMDM1NjQzNjUsImxtcnQiOjE2ODMyMDM1NjQzNjV9.MYtsq8yc3/gAy"
                .. "mFd148oDdHvH1p6T67lNhnSEUJ+Kroxx4Lv2sdFrvpyQ4m8fHfN0g1C6nO"
                .. "SqMArQarj4hDqykFR9YbpUPdKyEg/rnPhoRR7BtgYg05fQ46EURkItnHNC"
                .. "ywBC/vyvJLyG2tzGYWPzXchbr7DySxp+mBsu9AeFTUUqCw9W2bJ5VWIILh"
                .. "qlR7S/QH2yl3bRbwb0VaqUe+Ekc/68tKCpOnsg2ukWDSBVOWxXxr8/odYL"
                .. "dVyu8xyyH71GTol62jqrCkSDyQ0pnhyGspAaaT398QOYCwOV98ztrrvVNt"
                .. "oFLs8TW/aVj3kBHHUT29OY8yEs2odksIaL48J2w=="
            local res, reason = v:parse(tok)
            assert.is_nil(reason)
            assert.equal(2, res.legacy)
            assert.is_nil(res.kid)
            assert.equal("6fb4ddce-8911-4058-92ac-c76057fdaae8",
                         res.payload.userId)
            assert.equal(cjson.null, res.payload.antiCsrfToken)
        end)
    end)

    describe("verify_detached()", function()
        local v, ks, msg

        setup(function()
            v = jwt.verifier({ algs = { "RS256", "ES256", "HS256" } })
            ks = jwt.keyset(keys.jwks({ K.rsa, K.p256 }))
            msg = "any \0 bytes, not base64"
        end)

        it("verifies raw signatures over arbitrary bytes", function()
            local hks = jwt.keyset(keys.jwks({ K.h256 }),
                                   { allow_hmac = true })
            for _, c in ipairs({ { "RS256", K.rsa, ks },
                                 { "ES256", K.p256, ks },
                                 { "HS256", K.h256, hks } }) do
                local sig = keys.sign(c[2], c[1], msg)
                assert.is_true(v:verify_detached(c[3], c[1], msg, sig,
                                                 c[2].kid))
                local ok, reason = v:verify_detached(c[3], c[1],
                                                     msg .. "x", sig,
                                                     c[2].kid)
                assert.is_nil(ok)
                assert.equal("bad_signature", reason)
            end
        end)

        it("applies the verifier's algs and the key binding", function()
            local sig = keys.sign(K.rsa, "RS512", msg)
            assert.equal("alg_not_allowed", select(2,
                v:verify_detached(ks, "RS512", msg, sig, "rsa-1")))
            assert.equal("alg_not_allowed", select(2,
                v:verify_detached(ks, "none", msg, "", "rsa-1")))
            sig = keys.sign(K.rsa, "RS256", msg)
            assert.equal("key_mismatch", select(2,
                v:verify_detached(ks, "ES256", msg, sig, "rsa-1")))
            assert.equal("unknown_kid", select(2,
                v:verify_detached(ks, "RS256", msg, sig, "nope")))
            -- one RSA key in the set: no kid needed
            assert.is_true(v:verify_detached(ks, "RS256", msg, sig))
        end)

        it("raises on misuse", function()
            assert.has_error(function()
                v:verify_detached(ks, "RS256", msg, nil)
            end)
            assert.has_error(function()
                v:verify_detached(ks, "RS256", msg, "s", 5)
            end)
        end)
    end)

    describe("opaque payloads", function()
        it("accepts non-JSON payloads only when asked", function()
            local ks = jwt.keyset(keys.jwks({ K.rsa }))
            local tok = raw_token(K.rsa, "RS256", '{"alg":"RS256"}',
                                  "hello, \0 world")
            local jws = jwt.verifier({ opaque_payload = true })
            local res = assert(jws:verify(ks, tok))
            assert.equal("hello, \0 world", res.payload_json)
            assert.is_nil(res.payload)
            local jwt_v = jwt.verifier()
            assert.equal("bad_json", select(2, jwt_v:verify(ks, tok)))
        end)
    end)
end)
