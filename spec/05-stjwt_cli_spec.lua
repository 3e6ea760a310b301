-- bin/stjwt: the CLI contract (exit codes, stdout, stderr).  The CLI runs
-- as a separate process from another directory with LUA_PATH/LUA_CPATH
-- unset, so it must find lua/ and build/libstjwt.so on its own.

local cjson = require "cjson.safe"
local keys = require "spec.helpers.keys"

local function abspath(p)
    local h = io.popen("readlink -f " .. p)
    local out = h:read("*l")
    h:close()
    return out
end

local function q(s)
    return "'" .. s:gsub("'", "'\\''") .. "'"
end

describe("bin/stjwt", function()
    local STJWT, dir
    local K = {}
    local jwks_path

    -- run({ args... }, stdin) -> exit code, stdout, stderr
    local function run(args, stdin)
        local cmd = { "cd /tmp && env -u LUA_PATH -u LUA_CPATH", q(STJWT) }
        for _, a in ipairs(args) do
            cmd[#cmd + 1] = q(a)
        end
        local out, err = dir .. "/out", dir .. "/err"
        local input = dir .. "/in"
        keys.write_file(input, stdin or "")
        cmd[#cmd + 1] = "<" .. input .. " >" .. out .. " 2>" .. err
            .. "; echo $?"
        local p = io.popen("sh -c " .. q(table.concat(cmd, " ")))
        local code = tonumber(p:read("*l"))
        p:close()
        return code, keys.read_file(out), keys.read_file(err)
    end

    setup(function()
        STJWT = abspath("bin/stjwt")
        dir = keys.tmpdir()
        K.rsa = keys.rsa(2048, "rsa-1")
        K.ec = keys.ec("P-256", "ec-1")
        K.hs = keys.hmac(32, "hs-1")
        jwks_path = keys.write_file(dir .. "/jwks.json",
                                    keys.jwks({ K.rsa, K.ec }))
    end)

    teardown(function()
        keys.cleanup()
    end)

    local function tok(claims, k, alg)
        return keys.token(k or K.rsa, alg or "RS256", nil, claims)
    end

    describe("usage", function()
        it("prints the commands and exit codes with --help", function()
            local code, out = run({ "--help" })
            assert.equal(0, code)
            assert.matches("verify", out, 1, true)
            assert.matches("inspect", out, 1, true)
            assert.matches("exit codes", out, 1, true)
        end)

        it("documents each subcommand and its exit codes", function()
            for _, sub in ipairs({ "verify", "inspect" }) do
                local code, out = run({ sub, "--help" })
                assert.equal(0, code)
                assert.matches("usage: stjwt " .. sub, out, 1, true)
                assert.matches("exit codes:", out, 1, true)
                assert.matches("  0 ", out, 1, true)
                assert.matches("  1 ", out, 1, true)
                assert.matches("  2 ", out, 1, true)
            end
            local code, out = run({ "help", "verify" })
            assert.equal(0, code)
            assert.matches("--jwks FILE", out, 1, true)
        end)

        it("exits 2 on usage errors", function()
            for _, args in ipairs({
                {}, { "frobnicate" }, { "verify" },
                { "verify", "--jwks", jwks_path },
                { "verify", "--jwks", jwks_path, "a", "b" },
                { "verify", "--jwks" },
                { "verify", "--jwks", jwks_path, "--bogus", "x" },
                { "verify", "--jwks", jwks_path, "--now", "soon", "x" },
                { "verify", "--jwks", jwks_path, "--now", "nan", "x" },
                { "verify", "--jwks", jwks_path, "--now", "inf", "x" },
                { "verify", "--jwks", jwks_path, "--now", "-1e400", "x" },
                { "verify", "--jwks", jwks_path, "--now", "0x10", "x" },
                { "verify", "--jwks", jwks_path, "--alg", "none", "x" },
                { "verify", "--jwks", jwks_path, "--alg", "XS256", "x" },
                { "inspect" }, { "inspect", "a", "b" }, { "inspect", "" },
                { "verify", "--jwks", jwks_path, "" },
            }) do
                local code, out, err = run(args)
                assert.equal(2, code, table.concat(args, " "))
                assert.equal("", out)
                assert.is_true(#err > 0)
            end
        end)

        it("exits 2 for an unreadable or unusable JWKS", function()
            local t = tok({ sub = "u" })
            local code, _, err = run({ "verify", "--jwks", dir .. "/nope",
                                       t })
            assert.equal(2, code)
            assert.matches("cannot read JWKS", err, 1, true)
            code, _, err = run({ "verify", "--jwks", dir, t })
            assert.equal(2, code)
            assert.matches("cannot read JWKS file: " .. dir .. ": ", err, 1,
                           true)
            code, _, err = run({ "verify", "--jwks",
                                 "http://user:sekret@127.0.0.1:1/j?key=abc",
                                 t })
            assert.equal(2, code)
            assert.matches("cannot fetch JWKS from http://127.0.0.1:1/j: ",
                           err, 1, true)
            assert.is_nil(err:find("sekret", 1, true))
            assert.is_nil(err:find("abc", 1, true))

            for _, body in ipairs({ "not json", '{"keys":[]}',
                                    keys.jwks({ keys.jwk(K.rsa,
                                                { use = "enc" }) }) }) do
                local path = keys.write_file(dir .. "/bad.json", body)
                code, _, err = run({ "verify", "--jwks", path, t })
                assert.equal(2, code)
                assert.matches("invalid JWKS", err, 1, true)
            end
        end)
    end)

    describe("verify", function()
        it("prints the payload JSON and exits 0", function()
            local claims = { sub = "user-1", exp = 4102444800, n = 1.5 }
            local code, out, err = run({ "verify", "--jwks", jwks_path,
                                         tok(claims) })
            assert.equal(0, code, err)
            assert.same(claims, cjson.decode(out))
        end)

        it("takes a pasted Authorization header value", function()
            local t = tok({ sub = "bearer" })
            for _, arg in ipairs({ "Bearer " .. t,
                                   "Authorization: Bearer " .. t }) do
                local code, out, err = run({ "verify", "--jwks", jwks_path,
                                             arg })
                assert.equal(0, code, err)
                assert.equal("bearer", cjson.decode(out).sub)
            end
        end)

        it("reads the token from stdin with -", function()
            local t = tok({ sub = "stdin" })
            for _, input in ipairs({ t, t .. "\n", t .. "\r\n" }) do
                local code, out, err = run({ "verify", "--jwks", jwks_path,
                                             "-" }, input)
                assert.equal(0, code, err)
                assert.equal("stdin", cjson.decode(out).sub)
            end
        end)

        it("rejects an expired token (exp <= now)", function()
            local t = tok({ sub = "u", exp = 1700000000 })
            local code, out, err = run({ "verify", "--jwks", jwks_path,
                                         "--now", "1700000000", t })
            assert.equal(1, code)
            assert.equal("", out)
            assert.equal("invalid: expired\n", err)
            code = run({ "verify", "--jwks", jwks_path, "--now",
                         "1699999999", t })
            assert.equal(0, code)
            -- default clock: year 2023 is in the past
            code, out, err = run({ "verify", "--jwks", jwks_path, t })
            assert.equal("", out)
            assert.equal(1, code)
            assert.equal("invalid: expired\n", err)
        end)

        it("rejects a token before nbf (nbf > now)", function()
            local t = tok({ sub = "u", nbf = 1700000000 })
            local code, _, err = run({ "verify", "--jwks", jwks_path,
                                       "--now", "1699999999", t })
            assert.equal(1, code)
            assert.equal("invalid: not_yet_valid\n", err)
            code = run({ "verify", "--jwks", jwks_path, "--now",
                         "1700000000", t })
            assert.equal(0, code)
        end)

        it("rejects time claims that are not numbers", function()
            for _, claims in ipairs({ '{"exp":"4102444800"}',
                                      '{"nbf":null}', '{"iat":true}' }) do
                local code, _, err = run({ "verify", "--jwks", jwks_path,
                    keys.token(K.rsa, "RS256", nil, claims) })
                assert.equal(1, code, claims)
                assert.equal("invalid: bad_claim\n", err)
            end
        end)

        it("reports the library reason codes", function()
            local t = tok({ sub = "u" })
            local cases = {
                { keys.tamper(t), "bad_signature" },
                { "a.b", "malformed" },
                { "e30=.e30.c2ln", "bad_base64" },
                { tok({ sub = "u" }, K.ec, "ES256"), "alg_not_allowed" },
                { keys.token(K.rsa, "RS256", { alg = "RS256", kid = "x" },
                             {}), "unknown_kid" },
                { keys.b64url('{"alg":"none"}') .. "."
                  .. keys.b64url("{}") .. ".c2ln", "alg_not_allowed" },
            }
            for _, c in ipairs(cases) do
                local code, out, err = run({ "verify", "--jwks", jwks_path,
                                             c[1] })
                assert.equal(1, code, c[2])
                assert.equal("", out)
                assert.equal("invalid: " .. c[2] .. "\n", err)
            end
        end)

        it("never echoes the token", function()
            local t = tok({ secret = "CLIMARKER" })
            local bad = keys.tamper(t)
            local _, out, err = run({ "verify", "--jwks", jwks_path, bad })
            assert.equal("", out)
            assert.equal("invalid: bad_signature\n", err)
            for _, s in ipairs({ out, err }) do
                assert.is_nil(s:find("CLIMARKER", 1, true), s)
                for seg in bad:gmatch("[^.]+") do
                    assert.is_nil(s:find(seg, 1, true), s)
                end
            end
        end)

        it("allows the algorithms given with --alg (repeatable)", function()
            local t = tok({ sub = "ec" }, K.ec, "ES256")
            assert.equal(1, (run({ "verify", "--jwks", jwks_path, t })))
            local code, out = run({ "verify", "--jwks", jwks_path, "--alg",
                                    "ES256", t })
            assert.equal(0, code)
            assert.equal("ec", cjson.decode(out).sub)
            assert.equal(1, (run({ "verify", "--jwks", jwks_path, "--alg",
                                   "ES256", tok({}) })))
            code = run({ "verify", "--jwks", jwks_path, "--alg", "ES256",
                         "--alg=RS256", tok({}) })
            assert.equal(0, code)
        end)

        it("uses HMAC keys only when an HS algorithm is allowed", function()
            local hs_only = keys.write_file(dir .. "/hs.json",
                                            keys.jwks({ K.hs }))
            local t = tok({ sub = "hs" }, K.hs, "HS256")
            local code, out, err = run({ "verify", "--jwks", hs_only,
                                         "--alg", "HS256", t })
            assert.equal(0, code, err)
            assert.equal("hs", cjson.decode(out).sub)
            code, out, err = run({ "verify", "--jwks", hs_only, t })
            assert.equal("", out)
            assert.equal(2, code)
            assert.matches("invalid JWKS: no_keys", err, 1, true)
        end)

        it("refuses a JWKS mixing secrets and public keys for HS*",
           function()
            local mixed = keys.write_file(dir .. "/mixed.json",
                                          keys.jwks({ K.hs, K.rsa }))
            local code, _, err = run({ "verify", "--jwks", mixed, "--alg",
                "HS256", tok({ sub = "hs" }, K.hs, "HS256") })
            assert.equal(2, code)
            assert.matches("invalid JWKS: key_mismatch", err, 1, true)
            -- RS256 only: the secret is skipped (with a warning)
            local out
            code, out, err = run({ "verify", "--jwks", mixed,
                                   tok({ sub = "rs" }) })
            assert.equal(0, code)
            assert.equal("rs", cjson.decode(out).sub)
            assert.matches("1 key(s) skipped", err, 1, true)
        end)

        it("--jws prints an opaque payload as-is, without time checks",
           function()
            local t = keys.token(K.rsa, "RS256", { alg = "RS256" },
                                 "plain \0 bytes")
            local code, out = run({ "verify", "--jwks", jwks_path, "--jws",
                                    t })
            assert.equal(0, code)
            assert.equal("plain \0 bytes", out)
            local expired = tok({ exp = 1 })
            code, out = run({ "verify", "--jwks", jwks_path, "--jws",
                              expired })
            assert.equal(0, code)
            assert.equal('{"exp":1}', out)
            code = run({ "verify", "--jwks", jwks_path, t })
            assert.equal(1, code)
        end)

        it("handles SuperTokens v2 tokens and their expiryTime", function()
            local payload = { userId = "u-2", expiryTime = 1700000000000 }
            local t = keys.legacy_v2_token(K.rsa, payload)
            local code, out = run({ "verify", "--jwks", jwks_path, "--now",
                                    "1699999999", t })
            assert.equal(0, code)
            assert.equal("u-2", cjson.decode(out).userId)
            local err
            code, out, err = run({ "verify", "--jwks", jwks_path, "--now",
                                   "1700000000.001", t })
            assert.equal("", out)
            assert.equal(1, code)
            assert.equal("invalid: expired\n", err)
        end)
    end)

    it("never echoes a token given without a command", function()
        local t = tok({ sub = "x" })
        local code, out, err = run({ t })
        assert.equal(2, code)
        assert.equal("", out)
        assert.is_nil(err:find(t:sub(1, 20), 1, true))
        assert.matches("a token?", err, 1, true)
    end)

    describe("inspect", function()
        it("prints the decoded bytes escaped and cut", function()
            local code, out = run({ "inspect",
                keys.b64url('{"alg":"RS256","x":"\27[31m\7"}') .. "."
                .. keys.b64url('{"big":"' .. ("y"):rep(70000) .. '"}')
                .. ".c2ln" })
            assert.equal(1, code)   -- raw control bytes: not JSON
            assert.matches('"x":"\\x1b[31m\\x07"', out, 1, true)
            assert.is_nil(out:find("\27", 1, true))
            assert.matches("... (65536 bytes shown)", out, 1, true)
            assert.is_true(#out < 70000)
        end)

        it("decodes without verifying and says so first", function()
            local other = keys.rsa(2048, "unknown")
            local t = keys.token(other, "RS256", nil, { sub = "who" })
            local code, out = run({ "inspect", t })
            assert.equal(0, code)
            local first = out:match("^[^\n]*")
            assert.matches("^NOT VERIFIED", first)
            assert.matches('"sub":"who"', out, 1, true)
            assert.matches('"kid":"unknown"', out, 1, true)
        end)

        it("reads stdin and reports structural problems", function()
            local code, out = run({ "inspect", "-" },
                                  tok({ sub = "x" }) .. "\n")
            assert.equal(0, code)
            assert.matches("^NOT VERIFIED", out)
            local err
            code, out, err = run({ "inspect", "e30.e30" })
            assert.equal(1, code)
            assert.matches("^NOT VERIFIED", out)
            assert.equal("invalid: malformed\n", err)
            code, out, err = run({ "inspect",
                keys.b64url('{"alg":"RS256","alg":"x"}')
                .. ".e30.c2ln" })
            assert.equal(1, code)
            assert.matches("structure: invalid", out, 1, true)
            assert.equal("invalid: duplicate_member\n", err)
        end)
    end)
end)
