-- Claim validators (spec §6.3): reasons and refetch decisions recorded from
-- supertokens-node's own claim classes (sdk-claims.json), and the
-- refetch -> regenerate sequence of Appendix C (EmailVerification REQUIRED,
-- customCodes) through decide.verify with a scripted core.
local cjson = require "cjson.safe"
local jsonjs = require "resty.supertokens.jsonjs"
local claims = require "resty.supertokens.claims"
local decide = require "resty.supertokens.decide"
local H = require "spec.helpers.flow"

local WIRE_403 = H.wire.errorBodies.INVALID_CLAIMS.body


describe("claims: validators match the SDK's (sdk-claims.json)", function()
    local now = H.sdk_claims.now
    for i, e in ipairs(H.sdk_claims.validators) do
        it(string.format("#%d %s %s on %s", i, e.spec.claim, e.spec.check,
                         e.payloadJson), function()
            local v = assert(claims.compile({ e.spec }))[1]
            local tree = assert(jsonjs.parse(e.payloadJson))
            assert.equal(e.shouldRefetch, claims.should_refetch(v, tree, now))
            local errors = claims.validate({ v }, tree, now)
            if e.isValid then
                assert.is_nil(errors)
            else
                assert.equal(1, errors.n)
                assert.equal(e.errorEntry, jsonjs.stringify(errors[1]))
            end
        end)
    end

    it("the observed 403 body (wire-constants INVALID_CLAIMS)", function()
        local v = assert(claims.compile({ { claim = "st-ev", check = "is_verified" } }))
        local tree = jsonjs.parse('{"st-ev":{"v":false,"t":1}}')
        local errors = claims.validate(v, tree, 2)
        assert.equal(WIRE_403, '{"message":"invalid claim","claimValidationErrors":'
                               .. jsonjs.stringify(errors) .. "}")
    end)

    it("compile rejects bad specs with a path", function()
        local bad = {
            { { claim = "st-role", check = "includes" }, "%[1%]%.value" },
            { { claim = "st-role", check = "includes_all", value = "a" }, "%[1%]%.value" },
            { { claim = "st-role", check = "is_verified" }, "is for claim st%-ev" },
            { { claim = "st-ev", check = "is_verified", max_age = -1 }, "max_age" },
            { { claim = "x", check = "has_value", value = {} }, "value" },
            { { claim = "x", check = "is_true", refetch_time_on_false = 1 }, "only for" },
            { { claim = "x", check = "is_true", colour = 1 }, "unknown key 'colour'" },
        }
        for _, b in ipairs(bad) do
            local list, err = claims.compile({ b[1] })
            assert.is_nil(list)
            assert.matches(b[2], err)
        end
        assert.has_error(function()
            decide.route({ claims = { { claim = "st-role", check = "nope" } } })
        end)
    end)
end)


-- Core stand-in answers for the claim fetches and regenerate.
local function user(email)
    local lm = { recipeId = "emailpassword", recipeUserId = "user-1",
                 tenantIds = { "public" }, timeJoined = 1, verified = false }
    if email then
        lm.email = email
    end
    return cjson.encode({ status = "OK", user = { id = "user-1",
        isPrimaryUser = false, emails = {}, loginMethods = { lm } } })
end


local function regenerate(new_token)
    return function(body)
        local req = cjson.decode(body)
        local out = { status = "OK", session = { handle = "handle-1",
            userId = "user-1", recipeUserId = "user-1",
            userDataInJWT = req.userDataInJWT, tenantId = "public" } }
        if new_token then
            out.accessToken = { token = new_token, expiry = 4102444800000,
                                createdTime = 1795771730000 }
        end
        return cjson.encode(out)
    end
end


describe("claims: refetch and regenerate (Appendix C emailVerificationRequired)", function()
    local now = 1795771730000
    local ev = H.conf({ email_verification = { mode = "REQUIRED" } })
    local no_ev = H.v5()
    local function with_ev(v, t)
        return H.v5({ extra = string.format('"st-ev":{"v":%s,"t":%d}', v, t) })
    end
    local function new_token(v)
        return H.v5({ iat = "1795771730",
                      extra = '"st-ev":{"v":' .. v .. ',"t":' .. now .. "}" })
    end
    local function run(conf, route, req, core)
        local env = H.env({ now_ms = now, core = core })
        local out = decide.verify(conf, route or decide.route(), req, env)
        local calls = {}
        for i, c in ipairs(env.calls) do
            calls[i] = c.method .. " " .. c.path
        end
        return out, calls, env
    end
    local SEQ = { "GET /user/id", "GET /recipe/user/email/verify",
                  "POST /recipe/session/regenerate" }

    it("st-ev v=false, recent: 403, no core call", function()
        local out, calls = run(ev, nil, H.req("GET", { Authorization = "Bearer "
                                                        .. with_ev("false", now - 5000) }))
        assert.equal(403, out.status)
        assert.equal(WIRE_403, out.body)
        assert.same({}, calls)
        assert.equal("invalid_claim", out.class)
        assert.equal("st-ev", out.detail)
    end)

    it("st-ev missing, core says not verified: regenerate, then 403 without a token", function()
        local nt = new_token("false")
        local out, calls, env = run(ev, nil,
            H.req("GET", { Authorization = "Bearer " .. no_ev }), {
                ["GET /user/id"] = user("a@example.com"),
                ["GET /recipe/user/email/verify"] = '{"status":"OK","isVerified":false}',
                ["POST /recipe/session/regenerate"] = regenerate(nt),
            })
        assert.same(SEQ, calls)
        assert.equal(403, out.status)
        assert.equal(WIRE_403, out.body)
        assert.same({ { "Content-Type", H.wire.errorBodies.contentType } }, out.headers)
        -- what the SDK sends
        assert.same({ { "userId", "user-1" } }, env.calls[1].query)
        assert.is_nil(env.calls[1].rid)
        assert.same({ { "userId", "user-1" }, { "email", "a@example.com" } },
                    env.calls[2].query)
        assert.equal("emailverification", env.calls[2].rid)
        assert.equal("session", env.calls[3].rid)
        assert.equal('{"accessToken":"' .. no_ev .. '","userDataInJWT":{"iss":'
                     .. '"http://localhost:3001/auth","st-ev":{"v":false,"t":'
                     .. now .. '}}}', env.calls[3].body)
    end)

    for _, transfer in ipairs({ "header", "cookie" }) do
        it("st-ev missing, core says verified: 200 with the new token (" .. transfer .. ")",
           function()
            local nt = new_token("true")
            local req = transfer == "header"
                        and H.req("GET", { Authorization = "Bearer " .. no_ev })
                        or H.req("GET", {}, "sAccessToken=" .. no_ev)
            local out, calls = run(ev, nil, req, {
                ["GET /user/id"] = user("a@example.com"),
                ["GET /recipe/user/email/verify"] = '{"status":"OK","isVerified":true}',
                ["POST /recipe/session/regenerate"] = regenerate(nt),
            })
            assert.same(SEQ, calls)
            assert.is_true(out.pass)
            assert.is_true(out.session.new_token)
            assert.equal(nt, out.session.access_token)
            assert.same({ v = true, t = now }, out.session.payload["st-ev"])
            local h = H.by_name(out.headers)
            assert.equal('{"uid":"user-1","ate":4102444800000,"up":'
                         .. assert(jsonjs.normalize(H.unb64(nt:match("^[^.]+%.([^.]+)"))))
                         .. "}", H.unb64(h["front-token"][1]))
            if transfer == "header" then
                assert.same({ nt }, h["st-access-token"])
                assert.same({ "front-token, st-access-token" },
                            h["access-control-expose-headers"])
            else
                assert.matches("^sAccessToken=" .. nt:gsub("%-", "%%-") .. "; Path=/; ",
                               h["set-cookie"][1])
                assert.same({ "front-token" }, h["access-control-expose-headers"])
            end
        end)
    end

    it("st-ev v=false older than 10 s: refetch; v=true: never", function()
        local nt = new_token("true")
        local core = {
            ["GET /user/id"] = user("a@example.com"),
            ["GET /recipe/user/email/verify"] = '{"status":"OK","isVerified":true}',
            ["POST /recipe/session/regenerate"] = regenerate(nt),
        }
        local out, calls = run(ev, nil, H.req("GET", { Authorization = "Bearer "
                                                       .. with_ev("false", now - 10001) }),
                               core)
        assert.same(SEQ, calls)
        assert.is_true(out.pass)
        out, calls = run(ev, nil, H.req("GET", { Authorization = "Bearer "
                                               .. with_ev("true", 0) }), core)
        assert.is_true(out.pass)
        assert.same({}, calls)
        assert.is_nil(out.headers)
    end)

    it("overrideGlobalClaimValidators -> [] passes", function()
        local out, calls = run(ev, decide.route({ claims = {} }),
                               H.req("GET", { Authorization = "Bearer "
                                              .. with_ev("false", now) }))
        assert.is_true(out.pass)
        assert.same({}, calls)
    end)

    it("customCodes: invalid claim uses the configured 499", function()
        local cc = H.conf({ email_verification = { mode = "REQUIRED" },
                            session = { session_expired_status_code = 440,
                                        invalid_claim_status_code = 499,
                                        cookie_domain = ".example.com",
                                        older_cookie_domain = "" } })
        local out = run(cc, nil, H.req("GET", { Authorization = "Bearer "
                                                .. with_ev("false", now) }))
        assert.equal(499, out.status)
        assert.equal(WIRE_403, out.body)
    end)

    it("a user without an email counts as verified", function()
        local nt = new_token("true")
        local out, calls, env = run(ev, nil, H.req("GET", { Authorization = "Bearer " .. no_ev }), {
            ["GET /user/id"] = user(nil),
            ["POST /recipe/session/regenerate"] = regenerate(nt),
        })
        assert.same({ "GET /user/id", "POST /recipe/session/regenerate" }, calls)
        assert.is_true(out.pass)
        assert.matches('"st%-ev":{"v":true,', env.calls[2].body)
    end)

    it("unknown user or core failure during a fetch -> 500", function()
        local out = run(ev, nil, H.req("GET", { Authorization = "Bearer " .. no_ev }), {
            ["GET /user/id"] = '{"status":"UNKNOWN_USER_ID_ERROR"}' })
        assert.equal(500, out.status)
        assert.equal("unknown_user_id", out.reason)
        out = run(ev, nil, H.req("GET", { Authorization = "Bearer " .. no_ev }), {})
        assert.equal(500, out.status)
        assert.equal("core_unavailable", out.reason)
    end)

    -- node: currLM.recipeUserId.getAsString() === recipeUserId.getAsString(),
    -- both the raw values (RecipeUserId keeps what it is given)
    it("a login method matches the session's recipe user id only as the same string", function()
        local t = H.v5({ sub = "1" })
        local numeric = cjson.encode({ status = "OK", user = { id = "1",
            isPrimaryUser = false, emails = {}, loginMethods = { {
                recipeId = "emailpassword", recipeUserId = 1, email = "a@example.com",
                tenantIds = { "public" }, timeJoined = 1, verified = true } } } })
        local out = run(ev, nil, H.req("GET", { Authorization = "Bearer " .. t }), {
            ["GET /user/id"] = numeric })
        assert.equal(500, out.status)
        assert.equal("unknown_user_id", out.reason)
    end)

    -- node builds a User from the answer first (user.loginMethods.map(m =>
    -- new LoginMethod(m)), and a LoginMethod throws without a recipeUserId:
    -- a 500 even when another login method matches
    it("an answer the SDK cannot build a User from -> 500", function()
        local good = { recipeId = "emailpassword", recipeUserId = "user-1",
                       email = "a@example.com", tenantIds = { "public" },
                       timeJoined = 1, verified = true }
        for _, user_json in ipairs({
            cjson.encode({ id = "user-1", loginMethods = { good, { recipeId = "x" } } }),
            '{"id":"user-1","loginMethods":[' .. cjson.encode(good) .. ',null]}',
            '{"id":"user-1","loginMethods":[' .. cjson.encode(good) .. ',["user-1"]]}',
            '{"id":"user-1","loginMethods":{"0":' .. cjson.encode(good) .. '}}',
            "null",
        }) do
            local out = run(ev, nil, H.req("GET", { Authorization = "Bearer " .. no_ev }), {
                ["GET /user/id"] = '{"status":"OK","user":' .. user_json .. "}",
                ["GET /recipe/user/email/verify"] = '{"status":"OK","isVerified":true}',
            })
            assert.equal(500, out.status, user_json)
            assert.equal("core_bad_response", out.reason, user_json)
        end
        -- a null recipeUserId is one (only undefined throws); it does not match
        local out = run(ev, nil, H.req("GET", { Authorization = "Bearer " .. no_ev }), {
            ["GET /user/id"] = '{"status":"OK","user":{"loginMethods":[{"recipeUserId":null},'
                               .. cjson.encode(good) .. "]}}",
            ["GET /recipe/user/email/verify"] = '{"status":"OK","isVerified":true}',
            ["POST /recipe/session/regenerate"] = regenerate(nil),
        })
        assert.is_true(out.pass, out.body)
    end)

    it("regenerate UNAUTHORISED -> 401 with clearing", function()
        local out = run(ev, nil, H.req("GET", { Authorization = "Bearer " .. no_ev }), {
            ["GET /user/id"] = user("a@example.com"),
            ["GET /recipe/user/email/verify"] = '{"status":"OK","isVerified":true}',
            ["POST /recipe/session/regenerate"] = '{"status":"UNAUTHORISED","message":"x"}',
        })
        assert.equal(401, out.status)
        assert.equal(H.wire.errorBodies.UNAUTHORISED.body, out.body)
        assert.is_true(out.clear)
    end)

    it("regenerate without a new token merges userDataInJWT, no relay", function()
        local out = run(ev, nil, H.req("GET", { Authorization = "Bearer " .. no_ev }), {
            ["GET /user/id"] = user("a@example.com"),
            ["GET /recipe/user/email/verify"] = '{"status":"OK","isVerified":true}',
            ["POST /recipe/session/regenerate"] = regenerate(nil),
        })
        assert.is_true(out.pass)
        assert.is_nil(out.headers)
        assert.is_false(out.session.new_token)
        assert.same({ v = true, t = now }, out.session.payload["st-ev"])
        assert.equal("user-1", out.session.payload.sub)
    end)

    it("without a configured core, claims are validated from the token only", function()
        local c = H.conf({ connection_uri = H.null, jwks = "{}",
                           email_verification = { mode = "REQUIRED" } })
        local out, calls = run(c, nil, H.req("GET", { Authorization = "Bearer " .. no_ev }))
        assert.same({}, calls)
        assert.equal(403, out.status)
        assert.equal('{"message":"invalid claim","claimValidationErrors":[{"id":"st-ev",'
                     .. '"reason":{"message":"value does not exist","expectedValue":true}}]}',
                     out.body)
    end)
end)


describe("claims: list checks on a null value", function()
    -- new Set(null) is an empty Set: excludesAll passes, includesAll and
    -- includesAny fail with "wrong value"
    local function check(name, value)
        local v = assert(claims.compile({ { claim = "st-perm", check = name,
                                            value = value } }))[1]
        return claims.validate_one(v, jsonjs.parse('{"st-perm":{"v":null,"t":1}}'), 2)
    end

    it("excludes_all passes, includes_all / includes_any do not", function()
        assert.is_nil(check("excludes_all", { "delete" }))
        assert.equal('{"message":"wrong value","expectedToInclude":["read"],"actualValue":null}',
                     jsonjs.stringify(check("includes_all", { "read" })))
        assert.equal('{"message":"wrong value","expectedToIncludeAtLeastOneOf":["read"],'
                     .. '"actualValue":null}', jsonjs.stringify(check("includes_any", { "read" })))
    end)
end)


describe("claims: roles and permissions refetch (UserRoles)", function()
    local now = 1795771730000
    local conf = H.conf({ claims = { { claim = "st-perm", check = "includes",
                                       value = "write" } } })

    it("fetches roles for the token's tenant, then each role's permissions", function()
        local t = H.v5({ tId = "tenant1" })
        local nt = H.v5({ extra = '"st-perm":{"v":["read","write"],"t":' .. now .. "}" })
        local env = H.env({ now_ms = now, core = {
            ["GET /tenant1/recipe/user/roles"] = '{"status":"OK","roles":["a","b"]}',
            ["GET /recipe/role/permissions"] = function(_, q)
                return q[1][2] == "a" and '{"status":"OK","permissions":["read","write"]}'
                       or '{"status":"OK","permissions":["write"]}'
            end,
            ["POST /recipe/session/regenerate"] = regenerate(nt),
        } })
        local route = decide.route({ add_claims = { { claim = "st-role", check = "includes",
                                                      value = "b" } } })
        local out = decide.verify(conf, route, H.req("GET", { Authorization = "Bearer " .. t }),
                                  env)
        assert.is_true(out.pass, out.body)
        local calls = {}
        for i, c in ipairs(env.calls) do
            calls[i] = c.method .. " " .. c.path .. " " .. cjson.encode(c.query or {})
        end
        -- st-perm (global) first, then st-role (route addition): both fetch
        -- roles, but node's Querier answers a GET it already made for this
        -- request (same path, params and headers) from its per-request
        -- cache (userContext._default.coreCallCache): one roles call
        assert.same({
            'GET /tenant1/recipe/user/roles [["userId","user-1"]]',
            'GET /recipe/role/permissions [["role","a"]]',
            'GET /recipe/role/permissions [["role","b"]]',
            "POST /recipe/session/regenerate {}",
        }, calls)
        assert.equal("userroles", env.calls[1].rid)
        assert.matches('"st%-perm":{"v":%["read","write"%],"t":' .. now
                       .. '},"st%-role":{"v":%["a","b"%],"t":' .. now .. "}",
                       env.calls[4].body)
    end)

    -- The Querier hands a text/* answer back as a string (GET /t1 is the
    -- core's "Hello" when a tId like "t1?x" ends the path early):
    -- "Hello".roles is undefined, so UserRoleClaim has no value (403
    -- "value does not exist"), and PermissionClaim iterates undefined
    -- (TypeError, 500)
    it("a text answer is a string: no roles value, permissions fail", function()
        local text = function()
            return "Hello\n", nil, true
        end
        local role_conf = H.conf({ claims = { { claim = "st-role", check = "includes",
                                                value = "a" } } })
        local env = H.env({ now_ms = now, core = {
            ["GET /public/recipe/user/roles"] = text } })
        local out = decide.verify(role_conf, decide.route(),
                                  H.req("GET", { Authorization = "Bearer " .. H.v5() }), env)
        assert.equal(403, out.status, out.body)
        assert.equal('{"message":"invalid claim","claimValidationErrors":[{"id":"st-role",'
                     .. '"reason":{"message":"value does not exist","expectedToInclude":"a"}}]}',
                     out.body)
        assert.equal(1, #env.calls)
        env = H.env({ now_ms = now, core = { ["GET /public/recipe/user/roles"] = text } })
        out = decide.verify(conf, decide.route(),
                            H.req("GET", { Authorization = "Bearer " .. H.v5() }), env)
        assert.equal(500, out.status)
    end)

    -- node builds the path as "/<tenantId>/recipe/user/roles".replace(
    -- /<tenantId>/g, String(tId)): arrays join, and "$&", "$`", "$'", "$$"
    -- in the value are replacement patterns.  Expected paths printed by
    -- supertokens-node 24's Querier.getPath for each value.
    it("the roles path is node's String(tId) through String.prototype.replace", function()
        local cases = {
            { '["t1"]', "/t1/recipe/user/roles" },
            { '["a",["b",null]]', "/a,b,/recipe/user/roles" },
            { "[]", "//recipe/user/roles" },
            { "{}", "/[object%20Object]/recipe/user/roles" },
            { "null", "/null/recipe/user/roles" },
            { '"x$&y"', "/x%3CtenantId%3Ey/recipe/user/roles" },
            { '"$`"', "///recipe/user/roles" },
            { '"$\'"', "//recipe/user/roles/recipe/user/roles" },
            { '"$$"', "/$/recipe/user/roles" },
            { '"$$&"', "/$&/recipe/user/roles" },
            { '"$1"', "/$1/recipe/user/roles" },
            { '"$<n>"', "/$%3Cn%3E/recipe/user/roles" },
            { '" p "', "/%20p%20/recipe/user/roles" },
        }
        local role_conf = H.conf({ claims = { { claim = "st-role", check = "includes",
                                                value = "a" } } })
        for _, c in ipairs(cases) do
            local payload = H.v5_payload():gsub('"tId":"public"', function()
                return '"tId":' .. c[1]
            end)
            local t = H.jwt(H.V5_HEADER, payload)
            local env = H.env({ now_ms = now, core = {
                ["GET " .. c[2]] = '{"status":"OK","roles":["b"]}',
                ["POST /recipe/session/regenerate"] = regenerate(nil),
            } })
            local out = decide.verify(role_conf, decide.route(),
                                      H.req("GET", { Authorization = "Bearer " .. t }), env)
            assert.equal("GET " .. c[2], env.calls[1].method .. " " .. env.calls[1].path,
                         "tId " .. c[1])
            -- roles ["b"] do not include "a": the claim's 403, not a core error
            assert.equal(403, out.status, "tId " .. c[1] .. " " .. tostring(out.body))
        end
    end)

    it("a role listed twice, or as 1 and \"1\", costs one permissions call (node's cache)",
       function()
        local t = H.v5({})
        for _, roles in ipairs({ '["a","a"]', '["1",1]' }) do
            local env = H.env({ now_ms = now, core = {
                ["GET /public/recipe/user/roles"] = '{"status":"OK","roles":' .. roles .. "}",
                ["GET /recipe/role/permissions"] = '{"status":"OK","permissions":["write"]}',
                ["POST /recipe/session/regenerate"] = regenerate(nil),
            } })
            local out = decide.verify(conf, decide.route(),
                                      H.req("GET", { Authorization = "Bearer " .. t }), env)
            assert.is_true(out.pass, out.body)
            local n = 0
            for _, c in ipairs(env.calls) do
                if c.path == "/recipe/role/permissions" then
                    n = n + 1
                end
            end
            assert.equal(1, n, roles)
        end
    end)

    -- UserRoleClaim.fetchValue returns the answer's `roles` as it is
    -- (undefined: nothing added); PermissionClaim iterates it and each
    -- role's `permissions` with for...of (a string by code point; anything
    -- else not iterable is a TypeError: 500).
    it("roles and permissions values the SDK takes as they are", function()
        local t = H.v5({})
        local role_conf = H.conf({ claims = { { claim = "st-role", check = "includes",
                                                value = "a" } } })
        local function run_roles(c, core)
            core["POST /recipe/session/regenerate"] = regenerate(nil)
            local env = H.env({ now_ms = now, core = core })
            return decide.verify(c, decide.route(),
                                 H.req("GET", { Authorization = "Bearer " .. t }), env), env
        end
        -- no roles member: no value, no regenerate, the claim is missing
        local out, env = run_roles(role_conf, {
            ["GET /public/recipe/user/roles"] = '{"status":"OK"}' })
        assert.equal(403, out.status, out.body)
        assert.matches('"message":"value does not exist"', out.body, 1, true)
        assert.equal(1, #env.calls)
        -- roles as a string: permissions per code point
        out, env = run_roles(conf, {
            ["GET /public/recipe/user/roles"] = '{"status":"OK","roles":"a\\u00e9"}',
            ["GET /recipe/role/permissions"] = function(_, q)
                return q[1][2] == "\195\169" and '{"status":"OK","permissions":"wr"}'
                       or '{"status":"OK","permissions":["read"]}'
            end })
        -- (st-perm must include "write": the 403 prints the value back)
        assert.equal(403, out.status, out.body)
        assert.matches('"actualValue":["read","w","r"]', out.body, 1, true)
        assert.equal("a", env.calls[2].query[1][2])
        assert.equal("\195\169", env.calls[3].query[1][2])
        assert.matches('"st-perm":{"v":["read","w","r"],', env.calls[4].body, 1, true)
        -- not iterable: 500
        for _, answers in ipairs({
            { '{"status":"OK","roles":5}', '{"status":"OK","permissions":[]}' },
            { '{"status":"OK","roles":null}', '{"status":"OK","permissions":[]}' },
            { '{"status":"OK","roles":["a"]}', '{"status":"OK","permissions":{}}' },
        }) do
            out = run_roles(conf, { ["GET /public/recipe/user/roles"] = answers[1],
                                    ["GET /recipe/role/permissions"] = answers[2] })
            assert.equal(500, out.status, answers[1] .. " " .. answers[2])
            assert.equal("core_bad_response", out.reason)
        end
    end)

    it("MFA: v=true passes, v=false fails with the SDK reason", function()
        local mfa = H.conf({ claims = { { claim = "st-mfa", check = "mfa_completed" } } })
        local ok = H.v5({ extra = '"st-mfa":{"c":{},"v":true}' })
        local env = H.env({ now_ms = now })
        assert.is_true(decide.verify(mfa, decide.route(),
                                     H.req("GET", { Authorization = "Bearer " .. ok }), env).pass)
        local bad = H.v5({ extra = '"st-mfa":{"c":{},"v":false}' })
        local out = decide.verify(mfa, decide.route(),
                                  H.req("GET", { Authorization = "Bearer " .. bad }), env)
        assert.equal('{"message":"invalid claim","claimValidationErrors":[{"id":"st-mfa",'
                     .. '"reason":{"message":"MFA requirement for auth is not satisfied"}}]}',
                     out.body)
        assert.same({}, env.calls)
    end)

    -- known differences mfa-claim-null (node: TypeError, 500) and
    -- mfa-missing-claim-fetch (node fetches through the MFA recipe): 403,
    -- no core call, never a 500 for token content
    it("MFA: st-mfa null or missing is a 403 without a core call", function()
        local mfa = H.conf({ claims = { { claim = "st-mfa", check = "mfa_completed" } } })
        for extra, body in pairs({
            ['"st-mfa":null'] = '[{"id":"st-mfa"}]',
            ['"x":1'] = '[{"id":"st-mfa","reason":{"message":'
                        .. '"MFA requirement for auth is not satisfied"}}]',
        }) do
            local env = H.env({ now_ms = now })
            local t = H.v5({ extra = extra })
            local out = decide.verify(mfa, decide.route(),
                                      H.req("GET", { Authorization = "Bearer " .. t }), env)
            assert.equal(403, out.status, extra)
            assert.equal('{"message":"invalid claim","claimValidationErrors":' .. body .. "}",
                         out.body)
            assert.same({}, env.calls)
        end
    end)

    it("MFA after EmailVerification: both errors, st-ev first", function()
        local conf = H.conf({ email_verification = { mode = "REQUIRED" },
                              claims = { { claim = "st-mfa", check = "mfa_completed" } } })
        local env = H.env({ now_ms = now })
        local t = H.v5({ extra = '"st-ev":{"v":false,"t":' .. now
                                 .. '},"st-mfa":{"c":{},"v":0}' })
        local out = decide.verify(conf, decide.route(),
                                  H.req("GET", { Authorization = "Bearer " .. t }), env)
        assert.equal('{"message":"invalid claim","claimValidationErrors":[{"id":"st-ev",'
                     .. '"reason":{"message":"wrong value","expectedValue":true,'
                     .. '"actualValue":false}},{"id":"st-mfa"}]}', out.body)
        assert.same({}, env.calls)
    end)
end)
