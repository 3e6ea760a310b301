-- stjwt explain: the gateway's decision on one token, in plain words.
-- Tokens come from stjwt mint (real RS256 signatures); the signature is
-- checked by libstjwt; the decision is resty.supertokens.decide.

local explain = require "resty.supertokens.cli.explain"
local mint = require "resty.supertokens.cli.mint"
local util = require "resty.supertokens.cli.util"
local nginx = require "spec.helpers.nginx"

local TOP = nginx.TOP
local NOW = 1795770000

local function tmpdir(tag)
    local out, ok = util.run("mktemp -d /tmp/st-" .. tag .. ".XXXXXX")
    assert(ok, "mktemp failed")
    return (out:gsub("%s+$", ""))
end

local function explain_run(argv)
    local out, err = {}, {}
    local code = explain.run(argv, out, err)
    return code, table.concat(out), table.concat(err)
end

local function field(text, label)
    return text:match("\n" .. label .. "%s+([^\n]*)")
           or text:match("^" .. label .. "%s+([^\n]*)")
end

describe("stjwt explain", function()
    local base, dir, other_dir, jwks_file, kid

    local function minted(argv, key_dir)
        local a = { "--dir", key_dir or dir, "--now", tostring(NOW) }
        for _, x in ipairs(argv or {}) do
            a[#a + 1] = x
        end
        local out, err = {}, {}
        local code = mint.run(a, out, err)
        assert.equal(0, code, table.concat(err))
        return (table.concat(out):gsub("\n$", ""))
    end

    local function run(token, argv)
        local a = { token, "--now", tostring(NOW) }
        for _, x in ipairs(argv or {}) do
            a[#a + 1] = x
        end
        return explain_run(a)
    end

    setup(function()
        base = tmpdir("explain")
        dir = base .. "/dev"
        other_dir = base .. "/other"
        local out = {}
        assert.equal(0, mint.run({ "--dir", dir, "--print-jwks" }, out, {}))
        jwks_file = base .. "/jwks.json"
        util.write_file(jwks_file, table.concat(out))
        kid = table.concat(out):match('"kid":"(d%-dev%-[%x]+)"')
        assert.equal(0, mint.run({ "--dir", other_dir, "--print-jwks" },
                                 {}, {}))
    end)

    teardown(function()
        os.execute("rm -rf " .. util.sh_quote(base))
    end)

    it("--env needs no core or key variables: the keys come from --jwks",
       function()
        if os.getenv("ST_CONNECTION_URI") or os.getenv("ST_JWKS_FILE") then
            pending("ST_CONNECTION_URI / ST_JWKS_FILE set in this shell")
            return
        end
        local code, out, err = run(minted({ "--sub", "user-1" }),
                                   { "--jwks", jwks_file, "--env" })
        assert.equal(0, code, out .. err)
        assert.truthy(field(out, "decision"):find("^200 pass"), out)
    end)

    it("passes a valid token and says where the identity goes", function()
        local code, out = run(minted({ "--sub", "user-1" }),
                              { "--jwks", jwks_file })
        assert.equal(0, code, out)
        assert.truthy(field(out, "decision"):find("^200 pass"), out)
        assert.truthy(field(out, "signature"):find("^valid %(2 key%(s%)"))
        assert.truthy(field(out, "token"):find("v5", 1, true))
        assert.truthy(out:find('user "user-1"', 1, true))
        assert.equal("valid → pass; the request reaches the upstream",
                     field(out, "summary"))
    end)

    it("explains an expired token the way the frontend sees it", function()
        local code, out = run(minted({ "--exp-in", "-192" }),
                              { "--jwks", jwks_file })
        assert.equal(1, code)
        assert.equal("expired 3 min 12 s ago → 401 try refresh token; the "
                     .. "frontend will refresh", field(out, "summary"))
        assert.equal('{"message":"try refresh token"}', field(out, "body"))
        assert.truthy(field(out, "frontend"):find("session/refresh", 1,
                                                  true))
        assert.truthy(out:find("(expired 3 min 12 s ago)", 1, true))
    end)

    it("explains a token that is not valid yet", function()
        local code, out = run(minted({ "--claims",
                                       '{"nbf":' .. (NOW + 300) .. '}' }),
                              { "--jwks", jwks_file })
        assert.equal(1, code)
        assert.truthy(field(out, "summary"):find(
            "^not valid for another 5 min → 401 try refresh token"), out)
    end)

    it("names the signature problem", function()
        -- other key, its own kid: not in our JWKS
        local code, out = run(minted({}, other_dir), { "--jwks", jwks_file })
        assert.equal(1, code)
        assert.truthy(field(out, "decision"):find("reason unknown_kid", 1,
                                                  true), out)
        assert.truthy(field(out, "signature"):find("^INVALID: unknown_kid"))
        -- other key posing as ours
        code, out = run(minted({ "--kid", kid }, other_dir),
                        { "--jwks", jwks_file })
        assert.equal(1, code)
        assert.truthy(field(out, "summary"):find(
            "^bad_signature → 401 try refresh token; the frontend will "
            .. "refresh"), out)
    end)

    it("says when the signature was not checked", function()
        local code, out = run(minted({}, other_dir))
        assert.equal(0, code)
        assert.equal("NOT CHECKED (no --jwks given)", field(out, "signature"))
        assert.truthy(field(out, "summary"):find("(signature not checked)",
                                                 1, true))
    end)

    it("explains an ignored token as 401 unauthorised", function()
        local code, out = run("abc.def")
        assert.equal(1, code)
        assert.truthy(field(out, "decision"):find(
            "^401 unauthorised %(reason token_ignored: header:malformed%)"),
            out)
        assert.equal('{"message":"unauthorised"}', field(out, "body"))
        assert.truthy(field(out, "summary"):find("logs out", 1, true))

        code, out = run("abc.def", { "--route", "session_required=false" })
        assert.equal(0, code)
        assert.truthy(field(out, "decision"):find(
            "^200 pass without a session"), out)

        -- a JWT that is not a SuperTokens token (no kid): structure rule
        local h = util.b64url('{"alg":"RS256","typ":"JWT"}')
        local p = util.b64url('{"sub":"x"}')
        code, out = run(h .. "." .. p .. ".c2ln")
        assert.equal(1, code)
        assert.truthy(out:find("header_kid", 1, true), out)
    end)

    it("applies the config: key type, status codes, claims", function()
        local code, out = run(minted(), { "--jwks", jwks_file, "--set",
            "session.use_dynamic_access_token_signing_key=false" })
        assert.equal(1, code)
        assert.truthy(field(out, "decision"):find("kid_type_mismatch", 1,
                                                  true))
        code = run(minted({ "--static" }), { "--jwks", jwks_file, "--set",
            "session.use_dynamic_access_token_signing_key=false" })
        assert.equal(0, code)
        -- a number-like string stays a string in double quotes
        code = run(minted(), { "--jwks", jwks_file, "--set", "api_key=12345" })
        assert.equal(2, code)
        code = run(minted(), { "--jwks", jwks_file, "--set",
                               'api_key="12345"' })
        assert.equal(0, code)

        local conf = base .. "/conf.json"
        util.write_file(conf, '{"app_info":{"api_domain":'
            .. '"http://localhost:3001","website_domain":'
            .. '"http://localhost:3000"},"session":'
            .. '{"session_expired_status_code":440}}')
        code, out = run(minted({ "--exp-in", "-5" }),
                        { "--jwks", jwks_file, "--config", conf })
        assert.equal(1, code)
        assert.truthy(field(out, "decision"):find("^440 try refresh token"))

        local st_ev = '{"st-ev":{"v":false,"t":' .. (NOW * 1000) .. '}}'
        code, out = run(minted({ "--claims", st_ev }),
                        { "--jwks", jwks_file, "--set",
                          "email_verification.mode=REQUIRED" })
        assert.equal(1, code)
        assert.truthy(field(out, "decision"):find("^403 invalid claim"), out)
        assert.truthy(field(out, "body"):find('"id":"st-ev"', 1, true))
        assert.truthy(field(out, "summary"):find("API_INVALID_CLAIM", 1,
                                                 true))
    end)

    it("checks anti-CSRF for cookie requests", function()
        local token = minted({ "--anti-csrf", "csrf-1" })
        local base_args = { "--jwks", jwks_file, "--set",
                            "session.anti_csrf=VIA_TOKEN", "--via", "cookie",
                            "--method", "POST" }
        local code, out = run(token, base_args)
        assert.equal(1, code)
        assert.truthy(out:find("anti_csrf_header_missing", 1, true), out)

        local args = { unpack(base_args) }
        args[#args + 1] = "--header"
        args[#args + 1] = "anti-csrf=other"
        code, out = run(token, args)
        assert.equal(1, code)
        assert.truthy(out:find("anti_csrf_mismatch", 1, true))

        args[#args] = "anti-csrf=csrf-1"
        code = run(token, args)
        assert.equal(0, code)
        -- GET is exempt, header transport is never checked
        code = run(token, { "--jwks", jwks_file, "--set",
                            "session.anti_csrf=VIA_TOKEN", "--method",
                            "POST" })
        assert.equal(0, code)
    end)

    it("accepts Bearer and cookie forms of the token", function()
        local token = minted()
        local code, out = run("Bearer " .. token, { "--jwks", jwks_file })
        assert.equal(0, code, out)
        local v2 = minted({ "--version", "2" })
        assert.truthy(v2:find("[=+/]"))
        local cookie = "sAccessToken=" .. v2:gsub("[=+/]", function(c)
            return string.format("%%%02X", c:byte())
        end)
        code, out = run(cookie, { "--jwks", jwks_file })
        assert.equal(0, code, out)
        assert.truthy(field(out, "token"):find("^v2"), out)
    end)

    it("reports a decision that needs the core", function()
        local code, out = run(minted({ "--parent-hash" }),
                              { "--jwks", jwks_file })
        assert.equal(3, code)
        assert.truthy(field(out, "core"):find("POST /recipe/session/verify",
                                              1, true), out)
        code = run(minted(), { "--jwks", jwks_file, "--route",
                               "check_database=true" })
        assert.equal(3, code)
    end)

    it("fetches the JWKS over HTTP with curl", function()
        local srv = nginx.start({
            no_dict = true,
            server = "location = /.well-known/jwks.json { default_type "
                     .. "application/json; alias " .. jwks_file .. "; }",
        })
        local ok, err = pcall(function()
            local url = srv:url("/.well-known/jwks.json")
            local code, out = run(minted(), { "--jwks", url })
            assert.equal(0, code, out)
            assert.truthy(field(out, "signature"):find(url, 1, true))
            local stderr
            code, out, stderr = run(minted(), { "--jwks",
                                                srv:url("/missing.json") })
            assert.equal(2, code)
            assert.equal("", out)
            assert.truthy(stderr:find("cannot fetch JWKS from", 1, true))
            assert.truthy(stderr:find("404", 1, true), stderr)
        end)
        srv:stop()
        assert(ok, err)
        local code, _, stderr = run(minted(), { "--jwks",
            "http://127.0.0.1:" .. nginx.free_port() .. "/jwks.json" })
        assert.equal(2, code)
        assert.truthy(stderr:find("cannot fetch JWKS", 1, true))
        code, _, stderr = run(minted(), { "--jwks", "file:///etc/passwd" })
        assert.equal(2, code)
        assert.truthy(stderr:find("cannot read JWKS file", 1, true))
    end)

    it("rejects unusable input with exit code 2", function()
        local empty = base .. "/empty.json"
        util.write_file(empty, '{"keys":[]}')
        local token = minted()
        for _, argv in ipairs({
            { token, "--jwks", empty },
            { token, "--jwks", base .. "/nope.json" },
            { token, "--via", "carrier-pigeon" },
            { token, "--set", "session.anti_csrf=SOMETIMES" },
            { token, "--route", "session_required=maybe" },
            { token, "--now", "later" },
            { token, "--now", "nan" },
            { token, "--bogus" },
            {},
            { token, token },
        }) do
            local code, out, err = explain_run(argv)
            assert.equal(2, code, table.concat(argv, " "))
            assert.equal("", out)
            assert.truthy(err:find("^stjwt explain: "), err)
        end
    end)

    it("lists the reason-code catalogue", function()
        local reasons = require "resty.supertokens.reasons"
        local code, out = explain_run({ "--codes" })
        assert.equal(0, code)
        local n = 0
        for c in pairs(reasons.CODES) do
            n = n + 1
            assert.truthy(out:find("\n  " .. c .. "  %["), c)
        end
        assert.truthy(n > 40)
        assert.truthy(out:find("  core_unauthorised  [401 unauthorised, "
                               .. "cleared]", 1, true))
    end)

    it("documents its exit codes and runs through bin/stjwt", function()
        local code, help = explain_run({ "--help" })
        assert.equal(0, code)
        for _, c in ipairs({ "0", "1", "2", "3" }) do
            assert.truthy(help:find("\n  " .. c .. "  ", 1, true), c)
        end
        local bin = util.sh_quote(TOP .. "/bin/stjwt")
        local out, ok = util.run(bin .. " explain --now " .. NOW
                                 .. " --jwks " .. util.sh_quote(jwks_file)
                                 .. " " .. minted({ "--exp-in", "-192" }))
        assert.is_false(ok)
        assert.truthy(out:find("expired 3 min 12 s ago → 401 try refresh "
                               .. "token", 1, true), out)
        out, ok = util.run("printf '%s' " .. util.sh_quote(minted()) .. " | "
                           .. bin .. " explain --now " .. NOW .. " --jwks "
                           .. util.sh_quote(jwks_file) .. " -")
        assert.is_true(ok, out)
    end)
end)
