-- stjwt mint: dev keys, token shape, signatures checked by openssl and by
-- our own library, and the dev-key rule.

local mint = require "resty.supertokens.cli.mint"
local util = require "resty.supertokens.cli.util"
local cjson = require "cjson.safe"
local nginx = require "spec.helpers.nginx"

local TOP = nginx.TOP
local NOW = 1795770000

local function run(argv)
    local out, err = {}, {}
    local code = mint.run(argv, out, err)
    return code, table.concat(out), table.concat(err)
end

local function tmpdir(tag)
    local out, ok = util.run("mktemp -d /tmp/st-" .. tag .. ".XXXXXX")
    assert(ok, "mktemp failed")
    return (out:gsub("%s+$", ""))
end

local function sh(cmd)
    local out, ok, err = util.run(cmd)
    return out, ok, err
end

local function segments(token)
    local h, p, s = token:match("^([^.]+)%.([^.]+)%.([^.]+)$")
    return h, p, s
end

-- Check an RS256 signature with the openssl CLI, independent of our code.
local function openssl_verifies(key_path, token)
    local dir = tmpdir("osslv")
    local h, p, s = segments(token)
    util.write_file(dir .. "/in", h .. "." .. p)
    local sig = util.b64_decode(s)
    util.write_file(dir .. "/sig", sig)
    local _, ok = sh("openssl rsa -in " .. util.sh_quote(key_path)
                     .. " -pubout -out " .. util.sh_quote(dir .. "/pub"))
    assert(ok, "cannot extract the public key")
    local out = sh("openssl dgst -sha256 -verify " .. util.sh_quote(dir
                   .. "/pub") .. " -signature " .. util.sh_quote(dir
                   .. "/sig") .. " " .. util.sh_quote(dir .. "/in"))
    os.execute("rm -rf " .. util.sh_quote(dir))
    return out:find("Verified OK", 1, true) ~= nil
end

describe("stjwt mint", function()
    local dir, key

    setup(function()
        dir = tmpdir("mint") .. "/dev"
        key = dir .. "/dev-key.pem"
    end)

    teardown(function()
        os.execute("rm -rf " .. util.sh_quote(dir:match("^(.*)/dev$")))
    end)

    it("generates a marked 2048-bit dev key with private permissions",
       function()
        local code, token, err = run({ "--dir", dir, "--now", NOW })
        assert.equal(0, code, err)
        assert.truthy(err:find("generated dev key", 1, true))
        assert.truthy(segments(token:gsub("\n$", "")))
        local pem = assert(util.read_file(key))
        assert.equal(mint.DEV_MARKER, pem:match("^([^\n]*)\n"))
        assert.equal("600", (sh("stat -c %a " .. util.sh_quote(key))
                             :gsub("%s", "")))
        assert.equal("700", (sh("stat -c %a " .. util.sh_quote(dir))
                             :gsub("%s", "")))
        local info = assert(mint.key_info(key))
        assert.equal(2048, info.bits)
        assert.equal(65537, info.e)
        assert.is_true(info.marker)
        -- second run reuses the key
        local code2, _, err2 = run({ "--dir", dir })
        assert.equal(0, code2)
        assert.equal("", err2)
    end)

    it("mints a v5 token in the core's shape, signed RS256", function()
        local code, out = run({ "--dir", dir, "--now", NOW, "--exp-in",
                                "600", "--sub", "user-1",
                                "--session-handle", "handle-1" })
        assert.equal(0, code)
        local token = out:gsub("\n$", "")
        local h, p = segments(token)
        assert.is_nil(h:find("[+/=]"), "base64url without padding")
        local header = util.b64_decode(h)
        local info = mint.key_info(key)
        local kid = "d-dev-" .. info.n_hex:sub(-16):lower()
        assert.equal('{"kid":"' .. kid .. '","typ":"JWT","version":"5",'
                     .. '"alg":"RS256"}', header)
        local payload = util.b64_decode(p)
        local keys = {}
        for k in payload:gmatch('"([%w]+)":') do
            keys[#keys + 1] = k
        end
        assert.same({ "sub", "exp", "iat", "tId", "rsub", "sessionHandle",
                      "refreshTokenHash1", "parentRefreshTokenHash1",
                      "antiCsrfToken" }, keys)
        local t = cjson.decode(payload)
        assert.equal("user-1", t.sub)
        assert.equal("user-1", t.rsub)
        assert.equal(NOW + 600, t.exp)
        assert.equal(NOW, t.iat)
        assert.equal("public", t.tId)
        assert.equal("handle-1", t.sessionHandle)
        assert.truthy(t.refreshTokenHash1:match("^%x+$")
                      and #t.refreshTokenHash1 == 64)
        assert.equal(cjson.null, t.parentRefreshTokenHash1)
        assert.equal(cjson.null, t.antiCsrfToken)
        assert.is_true(openssl_verifies(key, token))
    end)

    it("verifies with resty.supertokens.jwt against --print-jwks", function()
        local jwt = require "resty.supertokens.jwt"
        local code, jwks = run({ "--dir", dir, "--print-jwks" })
        assert.equal(0, code)
        local ks = assert(jwt.keyset(jwks, { strict = true }))
        assert.equal(2, ks:count())
        local v = jwt.verifier({ algs = { "RS256" } })
        for _, extra in ipairs({ {}, { "--static" } }) do
            local argv = { "--dir", dir }
            for _, a in ipairs(extra) do
                argv[#argv + 1] = a
            end
            local c, out = run(argv)
            assert.equal(0, c)
            local res, reason = v:verify(ks, (out:gsub("\n$", "")))
            assert.is_table(res, reason)
            assert.equal(extra[1] and "s-" or "d-", res.kid:sub(1, 2))
            assert.equal("dev-", res.kid:sub(3, 6))
        end
        -- a flipped signature byte must not verify
        local _, out = run({ "--dir", dir })
        local token = out:gsub("\n$", "")
        local last = token:sub(-2, -2)
        local bad = token:sub(1, -3) .. (last == "A" and "B" or "A")
                    .. token:sub(-1)
        local res, reason = v:verify(ks, bad)
        assert.is_nil(res)
        assert.equal("bad_signature", reason)
    end)

    it("merges --claims, keeping [], null, nesting and order", function()
        local code, out = run({ "--dir", dir, "--now", NOW, "--claims",
            '{"st-ev":{"v":false,"t":1},"st-role":{"v":[],"t":2},'
            .. '"tId":"tenant-2","antiCsrfToken":null,"iss":"x\\"y"}' })
        assert.equal(0, code)
        local _, p = segments(out:gsub("\n$", ""))
        local payload = util.b64_decode(p)
        assert.truthy(payload:find('"tId":"tenant-2","rsub"', 1, true))
        local tail = ',"st-ev":{"v":false,"t":1},"st-role":{"v":[],"t":2},'
                     .. '"iss":"x\\"y"}'
        assert.equal(tail, payload:sub(-#tail))
        assert.truthy(payload:find('"antiCsrfToken":null,', 1, true))
    end)

    it("mints v2, v3 and v4 tokens with their own fields", function()
        local code, out = run({ "--dir", dir, "--version", "2", "--now", NOW,
                                "--claims", '{"role":"admin"}' })
        assert.equal(0, code)
        local token = out:gsub("\n$", "")
        local h, p = segments(token)
        assert.equal("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsInZlcnNpb24iOiIy"
                     .. "In0=", h)
        local t = cjson.decode(util.b64_decode(p))
        assert.equal((NOW + 3600) * 1000, t.expiryTime)
        assert.equal(NOW * 1000, t.timeCreated)
        assert.equal("admin", t.userData.role)
        assert.is_nil(t.parentRefreshTokenHash1)
        assert.is_true(openssl_verifies(key, token))

        local jwt = require "resty.supertokens.jwt"
        local _, jwks = run({ "--dir", dir, "--print-jwks" })
        local v = jwt.verifier({ algs = { "RS256" } })
        local res, reason = v:verify(assert(jwt.keyset(jwks)), token)
        assert.is_table(res, reason)
        assert.equal(2, res.legacy)

        for _, ver in ipairs({ 3, 4 }) do
            local c, o = run({ "--dir", dir, "--version", ver })
            assert.equal(0, c)
            local hh, pp = segments(o:gsub("\n$", ""))
            assert.truthy(util.b64_decode(hh):find('"version":"' .. ver
                                                   .. '"', 1, true))
            local pl = cjson.decode(util.b64_decode(pp))
            assert.is_nil(pl.rsub)
            assert.equal(ver == 4 and "public" or nil, pl.tId)
        end
    end)

    it("back-dates iat of an expired token by its lifetime", function()
        local _, out = run({ "--dir", dir, "--now", NOW, "--exp-in", "-60" })
        local _, p = segments(out:gsub("\n$", ""))
        local t = cjson.decode(util.b64_decode(p))
        assert.equal(NOW - 60, t.exp)
        assert.equal(NOW - 60 - 3600, t.iat)
    end)

    it("sets parentRefreshTokenHash1 and antiCsrfToken on request",
       function()
        local _, out = run({ "--dir", dir, "--parent-hash", "--anti-csrf",
                             "csrf-1" })
        local _, p = segments(out:gsub("\n$", ""))
        local t = cjson.decode(util.b64_decode(p))
        assert.truthy(t.parentRefreshTokenHash1:match("^%x+$"))
        assert.equal("csrf-1", t.antiCsrfToken)
    end)

    describe("dev-key rule", function()
        local other

        setup(function()
            other = tmpdir("mintk")
        end)

        teardown(function()
            os.execute("rm -rf " .. util.sh_quote(other))
        end)

        it("refuses a key without the marker unless --force", function()
            local plain = other .. "/plain.pem"
            local _, ok = sh("openssl genpkey -algorithm RSA -pkeyopt "
                             .. "rsa_keygen_bits:2048 -out "
                             .. util.sh_quote(plain))
            assert.is_true(ok)
            local code, out, err = run({ "--key", plain })
            assert.equal(1, code)
            assert.equal("", out)
            assert.truthy(err:find("no \"stjwt-dev-key:\" marker", 1, true),
                          err)
            code, out, err = run({ "--key", plain, "--force" })
            assert.equal(0, code)
            assert.truthy(err:find("WARNING: --force", 1, true))
            assert.is_true(openssl_verifies(plain, (out:gsub("\n$", ""))))
        end)

        it("refuses a marked key that is not RSA 2048", function()
            local big = other .. "/big.pem"
            sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072"
               .. " -out " .. util.sh_quote(big .. ".raw"))
            util.write_file(big, mint.DEV_MARKER .. "\n"
                            .. util.read_file(big .. ".raw"))
            local code, _, err = run({ "--key", big })
            assert.equal(1, code)
            assert.truthy(err:find("3072 bits", 1, true), err)

            local ec = other .. "/ec.pem"
            sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256"
               .. " -out " .. util.sh_quote(ec))
            code, _, err = run({ "--key", ec, "--force" })
            assert.equal(2, code)
            assert.truthy(err:find("RSA", 1, true), err)
        end)

        it("refuses a kid the core could have issued", function()
            for _, kid in ipairs({ "d-1700000000000", "s-1234",
                                   "dev-key" }) do
                local code, _, err = run({ "--dir", dir, "--kid", kid })
                assert.equal(1, code, kid)
                assert.truthy(err:find("does not start with d-dev-", 1, true))
            end
            local code = run({ "--dir", dir, "--kid", "s-dev-mine" })
            assert.equal(0, code)
        end)

        it("never prompts for an encrypted key", function()
            local enc = other .. "/enc.pem"
            sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048"
               .. " -aes256 -pass pass:secret -out " .. util.sh_quote(enc))
            local code, _, err = run({ "--key", enc, "--force" })
            assert.equal(2, code)
            assert.truthy(err:find("unencrypted RSA", 1, true), err)
        end)
    end)

    it("rejects bad usage with exit code 2", function()
        for _, argv in ipairs({
            { "--claims", "[1]" },
            { "--claims", "{bad" },
            { "--version", "6" },
            { "--exp-in", "soon" },
            { "--exp-in", "nan" },
            { "--exp-in", "inf" },
            { "--now", "nan" },
            { "--now", "1e400" },
            { "--bogus" },
            { "extra" },
        }) do
            table.insert(argv, 1, dir)
            table.insert(argv, 1, "--dir")
            local code, out, err = run(argv)
            assert.equal(2, code, table.concat(argv, " "))
            assert.equal("", out)
            assert.truthy(err:find("^stjwt mint: "))
        end
    end)

    it("documents its exit codes and runs through bin/stjwt", function()
        local code, help = run({ "--help" })
        assert.equal(0, code)
        for _, c in ipairs({ "0  ", "1  ", "2  " }) do
            assert.truthy(help:find("\n  " .. c, 1, true))
        end
        local out, ok = sh(util.sh_quote(TOP .. "/bin/stjwt") .. " mint --dir "
                           .. util.sh_quote(dir) .. " --now " .. NOW)
        assert.is_true(ok)
        assert.truthy(segments(out:gsub("\n$", "")))
        local _, refused = sh(util.sh_quote(TOP .. "/bin/stjwt")
                              .. " mint --dir " .. util.sh_quote(dir)
                              .. " --kid d-1")
        assert.is_false(refused)
    end)
end)
