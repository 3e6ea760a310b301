-- Attack corpus through a real nginx (spec/fixtures/attacks/*.lua, one
-- file per class; README.md there describes a case).  Every case must be
-- answered 401 with the SDK's exact body for its class and one reject log
-- line with the expected reason code - never 200, never 5xx, never a
-- crashed worker - or, for requests nginx refuses before Lua, a 4xx from
-- nginx itself.
--
-- Gateways (resty.supertokens with the core stand-in as the core):
--   core    connection_uri = stand-in (api_key set), 2 workers,
--           large_client_header_buffers 4 2m (oversized tokens reach Lua)
--   static  jwks = the stand-in's RSA key + a P-256 key "ec-1" (ES256) +
--           an Ed25519 key "ed-1" (EdDSA); no core
--   plain   like core, nginx's default header buffers, error_log notice
--
-- The context `x` given to the fixtures:
--   x.kid, x.static_kid      the stand-in's dynamic / static kid
--   x.hdr(o), x.pay(o)       header / payload JSON text in the core's member
--                            order; o.<member> = value | x.DROP | x.NULL |
--                            x.raw("json"), o.extra = { {name, value} }
--                            appended (duplicates allowed)
--   x.token(h, p, signer)    b64url(h).b64url(p).b64url(sig); signer =
--                            "rogue" (attacker RSA key) | "real" |
--                            "real_ps256" | "real_rs512" |
--                            function(input) -> raw sig | { raw = seg }
--   x.sign(name, alg, input), x.hmac(alg, secret, input), x.b64(s),
--   x.int(hex, size), x.real = { n, n_raw, public_pem, public_der,
--   jwk_json }, x.attacker_jwk, x.attacker_x5c, x.attacker_url,
--   x.legacy_v2(signer, created_ms), x.now, x.now_ms, x.P256_N, x.B64URL

local ffi = require "ffi"
local cjson = require "cjson.safe"
local socket = require "socket"
local nginx = require "spec.helpers.nginx"
local http = require "spec.helpers.http"
local keys = require "spec.helpers.keys"
local core_helper = require "spec.helpers.core"
local hygiene = require "spec.helpers.hygiene"

local TOP = nginx.TOP
local UNAUTH = '{"message":"unauthorised"}'
local TRT = '{"message":"try refresh token"}'
local JSON_CT = "application/json; charset=utf-8"
local APP = { api_domain = "http://localhost:3001",
              website_domain = "http://localhost:3000" }
-- Registered with the hygiene scan: it must never appear in a log/body.
local API_KEY = "st-hygiene-api-key-5f1c0a9e7b3d4c21"

pcall(ffi.cdef, [[
    const void *EVP_sha256(void);
    const void *EVP_sha384(void);
    const void *EVP_sha512(void);
    unsigned char *HMAC(const void *evp_md, const void *key, int key_len,
                        const unsigned char *d, size_t n, unsigned char *md,
                        unsigned int *md_len);
]])
local crypto = ffi.load("crypto")


------------------------------------------------------------------------
-- the context for the fixtures
------------------------------------------------------------------------

-- P-256 group order n and field prime p (SEC 2), hex
local P256_N = "FFFFFFFF00000000FFFFFFFFFFFFFFFF"
               .. "BCE6FAADA7179E84F3B9CAC2FC632551"
local P256_P = "FFFFFFFF000000010000000000000000"
               .. "00000000FFFFFFFFFFFFFFFFFFFFFFFF"

local DROP, RAW = {}, {}
local NULL = cjson.null

local function raw(text)
    return setmetatable({ text = text }, RAW)
end

local function json_value(v)
    if getmetatable(v) == RAW then
        return v.text
    end
    if v == NULL then
        return "null"
    end
    if type(v) == "table" and next(v) == nil then
        return "[]"
    end
    return assert(cjson.encode(v))
end

-- ordered object text from a base list and overrides
local function ordered(base, o)
    o = o or {}
    local parts = {}
    for _, kv in ipairs(base) do
        local k, v = kv[1], kv[2]
        if o[k] ~= nil then
            v = o[k]
        end
        if v ~= DROP then
            parts[#parts + 1] = json_value(k) .. ":" .. json_value(v)
        end
    end
    -- overrides of members the base does not have go after it, by name
    local in_base, added = {}, {}
    for _, kv in ipairs(base) do
        in_base[kv[1]] = true
    end
    for k in pairs(o) do
        if k ~= "extra" and not in_base[k] then
            added[#added + 1] = k
        end
    end
    table.sort(added)
    for _, k in ipairs(added) do
        if o[k] ~= DROP then
            parts[#parts + 1] = json_value(k) .. ":" .. json_value(o[k])
        end
    end
    for _, kv in ipairs(o.extra or {}) do
        parts[#parts + 1] = json_value(kv[1]) .. ":" .. json_value(kv[2])
    end
    return "{" .. table.concat(parts, ",") .. "}"
end

local function hex2bin(h)
    return keys.hex2bin(h)
end

local read = require("spec.helpers.files").must_read

local function sh(cmd)
    local ok, out = nginx.sh(cmd)
    assert(ok, cmd .. "\n" .. out)
    return out
end


local function make_context(c, K)
    local x = {}
    x.DROP, x.NULL, x.raw = DROP, NULL, raw
    x.B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
               .. "0123456789-_"
    x.P256_N = P256_N
    x.now = os.time()
    x.now_ms = x.now * 1000
    x.kid = K.real.kid
    x.static_kid = K.static_kid
    x.real = K.real
    x.b64 = keys.b64url
    x.attacker_jwk = K.rogue.jwk
    x.attacker_x5c = K.rogue.x5c
    x.attacker_url = K.attacker_url

    function x.val(_, v)
        if v == "KID" then
            return x.kid
        elseif v == "PAST" then
            return x.now - 100
        elseif v == "FUTURE" then
            return x.now + 3600
        elseif v == "NULL" then
            return NULL
        end
        return v
    end

    function x.int(hex, size)
        if #hex % 2 == 1 then
            hex = "0" .. hex
        end
        local b = hex2bin(hex)
        return string.rep("\0", size - #b) .. b
    end

    function x.hdr(o)
        return ordered({ { "kid", x.kid }, { "typ", "JWT" },
                         { "version", "5" }, { "alg", "RS256" } }, o)
    end

    function x.pay(o)
        return ordered({
            { "sub", "user-1" }, { "exp", x.now + 3600 }, { "iat", x.now },
            { "tId", "public" }, { "rsub", "user-1" },
            { "sessionHandle", "h-attack" }, { "refreshTokenHash1", "rth1" },
            { "parentRefreshTokenHash1", NULL }, { "antiCsrfToken", NULL },
            { "iss", "http://localhost:3001/auth" },
        }, o)
    end

    function x.sign(name, alg, input)
        return keys.sign(assert(K[name], name), alg, input)
    end

    function x.hmac(alg, secret, input)
        local md = ({ HS256 = crypto.EVP_sha256, HS384 = crypto.EVP_sha384,
                      HS512 = crypto.EVP_sha512 })[alg]()
        local out = ffi.new("unsigned char[64]")
        local len = ffi.new("unsigned int[1]")
        assert(crypto.HMAC(md, secret, #secret, input, #input, out, len)
               ~= nil)
        return ffi.string(out, len[0])
    end

    local SIGNERS = {
        rogue = function(input) return x.sign("rogue", "RS256", input) end,
        real = function(input) return x.sign("real", "RS256", input) end,
        real_ps256 = function(input)
            return x.sign("real", "PS256", input)
        end,
        real_rs512 = function(input)
            return x.sign("real", "RS512", input)
        end,
    }

    function x.token(h, p, signer)
        local input = x.b64(h) .. "." .. x.b64(p)
        if type(signer) == "table" then
            return input .. "." .. signer.raw
        end
        local f = type(signer) == "function" and signer
                  or assert(SIGNERS[signer or "rogue"], signer)
        return input .. "." .. x.b64(f(input))
    end

    function x.legacy_v2(signer, created_ms)
        return keys.legacy_v2_token(K[signer], {
            sessionHandle = "h-v2", userId = "user-1",
            refreshTokenHash1 = "rth1", parentRefreshTokenHash1 = NULL,
            userData = { role = "user" }, antiCsrfToken = NULL,
            expiryTime = x.now_ms + 3600000, timeCreated = created_ms,
        })
    end

    x.core = c
    return x
end


-- Keys: the stand-in's (from its state dir), an attacker RSA key with a
-- self-signed certificate, an EC and an Ed25519 key for the static JWKS.
local function load_keys(c)
    local base = assert(cjson.decode(read(c.state_dir .. "/keys.json")))
    local dir = keys.tmpdir()
    local function rsa_from(k, name)
        local pem = dir .. "/" .. name .. ".pem"
        keys.write_file(pem, k.privatePem)
        return { kind = "RSA", pem = pem, kid = k.kid }
    end
    local real = rsa_from(base.dynamic, "real")
    real.n = base.dynamic.n
    real.n_raw = keys.b64decode(base.dynamic.n)
    real.public_pem = base.dynamic.publicPem
    real.public_der = keys.b64decode((base.dynamic.publicPem
        :gsub("%-%-%-%-%-[^-]+%-%-%-%-%-", ""):gsub("%s", "")))
    real.jwk = { kty = "RSA", kid = base.dynamic.kid, n = base.dynamic.n,
                 e = base.dynamic.e, alg = "RS256", use = "sig" }
    real.jwk_json = assert(cjson.encode(real.jwk))

    local rogue = keys.rsa(2048, "attacker")
    local der = dir .. "/attacker-cert.der"
    sh("openssl req -x509 -new -key " .. rogue.pem .. " -subj /CN=attacker"
       .. " -days 1 -outform DER -out " .. der)
    rogue.x5c = keys.b64std(read(der))
    rogue.jwk = keys.jwk(rogue, { alg = "RS256", use = "sig" })

    local ec = keys.ec("P-256", "ec-1")
    local ed = keys.ed25519("ed-1")

    -- Every key the gateways know is key material for the hygiene scan.
    hygiene.register_secret("jwk_n", base.dynamic.n)
    hygiene.register_secret("jwk_n", base.static.n)
    hygiene.register_secret("jwk_n", rogue.jwk.n)
    hygiene.register_secret("api_key", API_KEY)

    return {
        real = real, rogue = rogue, ec = ec, ed = ed,
        static_kid = base.static.kid,
        static_jwks = assert(cjson.encode({ keys = {
            real.jwk,
            keys.jwk(ec, { alg = "ES256", use = "sig" }),
            keys.jwk(ed, { alg = "EdDSA", use = "sig" }),
        } })),
    }
end


------------------------------------------------------------------------
-- gateways
------------------------------------------------------------------------

-- What the upstream would see of the identity headers (lists when a
-- header came more than once).
local ECHO = [[
    local h = ngx.req.get_headers(0)
    local out = {}
    for _, n in ipairs({ "x-supertokens-user-id",
                         "x-supertokens-recipe-user-id",
                         "x-supertokens-session-handle",
                         "x-supertokens-tenant-id",
                         "x-supertokens-access-token-payload" }) do
        out[n] = h[n] or ngx.null
    end
    -- and any "_" spelling (pairs: the table's __index reads "_" as "-")
    for k, v in pairs(h) do
        if k:find("_", 1, true) and out[(k:gsub("_", "-"))] then
            out[k] = v
        end
    end
    ngx.say(require("cjson").encode(out))
]]


-- Every spelling of the identity names the upstream got, and nothing else
-- (never the Authorization header).
local ECHO_RAW = [[
    local out = {}
    for k, v in pairs(ngx.req.get_headers(0)) do
        if k:find("supertokens", 1, true) then
            out[k] = v
        end
    end
    ngx.say(require("cjson").encode(out))
]]


-- nginx.supertokens() with control over the log level and header buffers.
local function gateway(config, opts)
    return nginx.start({
        workers = opts.workers or 2,
        no_dict = opts.no_dict,
        error_log_level = opts.log_level or "info",
        http = (opts.http or "") .. [[
            init_by_lua_block {
                require("resty.supertokens").init(]]
                .. nginx.lua_literal(config) .. [[)
            }
            header_filter_by_lua_block {
                require("resty.supertokens").header_filter()
            }
        ]],
        server = (opts.server or "") .. [[
            location = /api/user {
                access_by_lua_block {
                    require("resty.supertokens").verify_session()
                }
                content_by_lua_block {
                    require("resty.supertokens").user_handler()
                }
            }
            location /api/ {
                access_by_lua_block {
                    require("resty.supertokens").verify_session()
                }
                content_by_lua_block { ngx.say("protected") }
            }
            location = /echo/optional {
                access_by_lua_block {
                    require("resty.supertokens").verify_session({
                        session_required = false })
                }
                content_by_lua_block { ]] .. ECHO .. [[ }
            }
            location = /echo/required {
                access_by_lua_block {
                    require("resty.supertokens").verify_session()
                }
                content_by_lua_block { ]] .. ECHO .. [[ }
            }
            location = /echo/raw {
                access_by_lua_block {
                    require("resty.supertokens").verify_session()
                }
                content_by_lua_block { ]] .. ECHO_RAW .. [[ }
            }
            location = /echo/raw_optional {
                access_by_lua_block {
                    require("resty.supertokens").verify_session({
                        session_required = false })
                }
                content_by_lua_block { ]] .. ECHO_RAW .. [[ }
            }
        ]],
    })
end


local function load_fixtures()
    local dir = TOP .. "/spec/fixtures/attacks"
    local p = io.popen("ls " .. dir .. "/*.lua")
    local files = {}
    for path in p:lines() do
        files[#files + 1] = path
    end
    p:close()
    table.sort(files)
    local classes = {}
    for _, path in ipairs(files) do
        classes[#classes + 1] = assert(dofile(path))
    end
    return classes
end


local function reject_lines(text)
    local lines = {}
    for line in text:gmatch("[^\n]+") do
        if line:find("supertokens: reject", 1, true) then
            lines[#lines + 1] = line
        end
    end
    return lines
end


local function count(classes)
    local n = 0
    for _, cl in ipairs(classes) do
        n = n + #cl.cases
    end
    return n
end


describe("attack corpus", function()
    local c, K, x, servers, pids, listener
    local classes = load_fixtures()
    local seen = {}

    setup(function()
        c = core_helper.start({ env = { CORE_API_KEYS = API_KEY } })
        K = load_keys(c)
        listener = assert(socket.bind("127.0.0.1", 0))
        listener:settimeout(0)
        local _, lport = listener:getsockname()
        K.attacker_url = "http://127.0.0.1:" .. lport
        x = make_context(c, K)
        local core_conf = { connection_uri = c.url, api_key = API_KEY,
                            app_info = APP }
        servers = {
            core = gateway(core_conf, {
                http = "large_client_header_buffers 4 2m;\n" }),
            static = gateway({ jwks = K.static_jwks, app_info = APP },
                             { no_dict = true, workers = 1 }),
            plain = gateway(core_conf, { log_level = "notice",
                                         workers = 1 }),
            -- nginx passing "_" header names on, with and without the
            -- option that strips their "_" spelling
            underscores = gateway({ connection_uri = c.url,
                                    api_key = API_KEY, app_info = APP,
                                    upstream_headers = {
                                        underscores_in_headers = true } },
                                  { workers = 1,
                                    server = "underscores_in_headers on;\n" }),
            underscores_off = gateway(core_conf, {
                workers = 1, server = "underscores_in_headers on;\n" }),
            underscores_names = gateway({ connection_uri = c.url,
                api_key = API_KEY, app_info = APP,
                upstream_headers = {
                    underscores_in_headers = true,
                    recipe_user_id = "X_SuperTokens_Recipe_User_Id" } },
                { workers = 1, server = "underscores_in_headers on;\n" }),
            -- nginx's defaults (no "_" header reaches Lua), no option, a
            -- name configured with "_": its "-" spelling still comes in
            underscores_names_default = gateway({ connection_uri = c.url,
                api_key = API_KEY, app_info = APP,
                upstream_headers = {
                    recipe_user_id = "X_SuperTokens_Recipe_User_Id" } },
                { workers = 1 }),
        }
        pids = {}
        for name, srv in pairs(servers) do
            local want = name == "core" and 2 or 1
            local deadline = socket.gettime() + 5
            repeat
                pids[name] = srv:worker_pids()
                socket.sleep(0.02)
            until #pids[name] >= want or socket.gettime() > deadline
            table.sort(pids[name])
        end
    end)

    teardown(function()
        for name, srv in pairs(servers or {}) do
            hygiene.collect(srv, "50-" .. name)
            srv:stop()
        end
        if c then
            c:stop()
        end
        if listener then
            listener:close()
        end
        keys.cleanup()
    end)

    it("has a case for every class of the brief (" .. count(classes)
       .. " cases)", function()
        local names = {}
        for _, cl in ipairs(classes) do
            names[cl.class] = #cl.cases
        end
        for _, want in ipairs({ "alg_none", "key_confusion", "ecdsa_psychic",
                                "signature_length", "kid", "embedded_keys",
                                "crit", "duplicates", "base64", "oversize",
                                "json", "structure",
                                "path_confusion" }) do
            assert.is_true((names[want] or 0) > 0, "no cases for " .. want)
        end
    end)

    local function send(srv, headers, label, method, path)
        local res, err = http.request(srv.port, {
            method = method, path = path or "/api/user", headers = headers,
            timeout = 10 })
        if res then
            hygiene.record(res, label)
        end
        return res, err
    end

    it("controls: the real key's canonical token passes, the harness can "
       .. "tell 200 from 401", function()
        local good = x.token(x.hdr(), x.pay(), "real")
        hygiene.register_token(good)
        for _, h in ipairs({ { "Authorization", "Bearer " .. good },
                             { "Cookie", "sAccessToken=" .. good } }) do
            local res = assert(send(servers.core, { h }, "control"))
            assert.equal(200, res.status, res.body)
            assert.equal("user-1", cjson.decode(res.body).userId)
            res = assert(send(servers.static, { h }, "control"))
            assert.equal(200, res.status, res.body)
        end
        -- b64:false without crit is ignored as jose ignores it (the
        -- corpus has the RFC 7797 raw-payload signature that fails)
        local b64f = x.token(x.hdr({ extra = { { "b64", false } } }), x.pay(),
                             "real")
        hygiene.register_token(b64f)
        local r = assert(send(servers.core, { { "Authorization",
                                                "Bearer " .. b64f } },
                              "control"))
        assert.equal(200, r.status, r.body)
        -- and a v2 token by the real key (the legacy path is alive)
        local v2 = x.legacy_v2("real", x.now_ms - 86400000)
        hygiene.register_token(v2)
        local res = assert(send(servers.core,
            { { "Authorization", "Bearer " .. v2 } }, "control"))
        assert.equal(200, res.status, res.body)
    end)

    for _, cl in ipairs(classes) do
        describe(cl.class, function()
            for _, case in ipairs(cl.cases) do
                local transports = case.request and { "request" }
                                   or case.transports
                                   or { "header", "cookie" }
                for _, tr in ipairs(transports) do
                    it(case.name .. " [" .. tr .. "]", function()
                        local target = case.target or "core"
                        local srv = servers[target]
                        local headers
                        if case.request then
                            headers = case.request(x, tr)
                        else
                            local tok = case.token(x)
                            hygiene.register_token(tok)
                            if tr == "header" then
                                headers = { { "Authorization",
                                              "Bearer " .. tok } }
                            else
                                headers = { { "Cookie",
                                              "sAccessToken=" .. tok } }
                            end
                        end
                        srv:mark()
                        local res, err = send(srv, headers,
                                              cl.class .. ": " .. case.name,
                                              case.method, case.path)
                        assert(res, err)
                        seen[target] = true
                        assert.is_true(res.status < 500, "5xx: "
                                       .. res.status .. " " .. res.body)
                        assert.is_true(res.elapsed < (case.max_time or 1),
                                       "took " .. res.elapsed .. " s")
                        local lines = reject_lines(srv:log_since_mark())

                        if case.expect == "nginx_4xx" then
                            assert.is_true(res.status == 400
                                           or res.status == 494,
                                           "status " .. res.status)
                            assert.equal(0, #lines)
                            return
                        end

                        local body = case.expect == "try_refresh" and TRT
                                     or UNAUTH
                        assert.equal(401, res.status, res.body)
                        assert.equal(body, res.body)
                        assert.equal(JSON_CT, res:header("content-type"))
                        -- no class here clears tokens (front-token: remove
                        -- would log the user out)
                        assert.same({}, res:all("set-cookie"))
                        assert.is_nil(res:header("front-token"))

                        assert.equal(1, #lines, "reject lines:\n"
                                     .. table.concat(lines, "\n"))
                        local line = lines[1]
                        local class = case.expect == "try_refresh"
                                      and "try_refresh" or "unauthorised"
                        assert.matches(" status=401 class=" .. class .. " ",
                                       line, 1, true)
                        local reason = case.reason
                                       or (case.expect == "unauthorised"
                                           and "token_ignored")
                        assert.equal(reason, line:match(" reason=(%S+) "),
                                     line)
                        if case.detail then
                            local d = line:match(" detail=(%S+) ")
                            local want = tr == "request"
                                and ("^%a+:" .. case.detail:gsub("%p", "%%%0")
                                     .. "$")
                                or ("^" .. tr .. ":"
                                    .. case.detail:gsub("%p", "%%%0") .. "$")
                            assert.truthy((d or ""):match(want), line)
                        end
                    end)
                end
            end
        end)
    end

    describe("ECDSA in the C verifier with ES256 enabled (binding)",
             function()
        local jwt = require "resty.supertokens.jwt"
        local v, ks, input, good

        setup(function()
            v = jwt.verifier({ algs = { "ES256" } })
            ks = assert(jwt.keyset(keys.jwks({
                keys.jwk(K.ec, { alg = "ES256", use = "sig" }) })))
            input = x.b64(x.hdr({ alg = "ES256", kid = "ec-1" })) .. "."
                    .. x.b64(x.pay())
            good = keys.sign(K.ec, "ES256", input)
        end)

        it("control: a real ES256 signature verifies", function()
            assert.truthy(v:check_signature(ks,
                                            input .. "." .. x.b64(good)))
        end)

        local N = P256_N
        local NP1 = N:sub(1, -2) .. "2"
        local P = P256_P
        local psychic = {
            { "r = s = 0", "0", "0" },
            { "r = 0, s = valid", "0", "S" },
            { "r = valid, s = 0", "R", "0" },
            { "r = s = n", N, N },
            { "r = n + r, s = valid", "R+N", "S" },
            { "r = valid, s = n + s", "R", "S+N" },
            { "r = valid, s = n - s (high-s twin)", "R", "N-S" },
            { "r = s = 1", "1", "1" },
            { "r = n + 1, s = 1", NP1, "1" },
            { "r = s = p (field prime)", P, P },
            { "r = s = 2^256 - 1", string.rep("F", 64), string.rep("F", 64) },
        }

        local bn = {}
        -- big-endian byte string arithmetic on 32-byte numbers (mod 2^256
        -- is not needed: inputs stay below 2^257 and we keep 33 bytes)
        function bn.add(a, b)
            local out, carry = {}, 0
            for i = #a, 1, -1 do
                local s = a:byte(i) + b:byte(i) + carry
                out[i] = string.char(s % 256)
                carry = math.floor(s / 256)
            end
            return (carry > 0 and string.char(carry) or "")
                   .. table.concat(out)
        end
        function bn.sub(a, b)
            local out, borrow = {}, 0
            for i = #a, 1, -1 do
                local s = a:byte(i) - b:byte(i) - borrow
                borrow = s < 0 and 1 or 0
                out[i] = string.char(s % 256)
            end
            return table.concat(out)
        end

        for _, p in ipairs(psychic) do
            it("refuses " .. p[1], function()
                local r, s = good:sub(1, 32), good:sub(33, 64)
                local n = x.int(N, 32)
                local function val(spec)
                    if spec == "R" then
                        return r
                    elseif spec == "S" then
                        return s
                    elseif spec == "R+N" then
                        return bn.add(r, n)
                    elseif spec == "S+N" then
                        return bn.add(s, n)
                    elseif spec == "N-S" then
                        return bn.sub(n, s)
                    end
                    return x.int(spec, 32)
                end
                local rr, ss = val(p[2]), val(p[3])
                local sig = rr .. ss
                local ok, reason = v:check_signature(ks,
                    input .. "." .. x.b64(sig))
                if p[1]:find("high%-s") then
                    -- (r, n - s) is the other valid signature of the same
                    -- message (ECDSA malleability): JOSE does not forbid
                    -- it and OpenSSL accepts it; no forgery, documented.
                    assert.truthy(ok, reason)
                    return
                end
                assert.is_nil(ok)
                assert.equal("bad_signature", reason)
            end)
        end

        it("refuses the DER encoding of a valid signature", function()
            local der = "\48\68\2\32" .. good:sub(1, 32) .. "\2\32"
                        .. good:sub(33, 64)
            local ok, reason = v:check_signature(ks, input .. "."
                                                 .. x.b64(der))
            assert.is_nil(ok)
            assert.equal("bad_signature", reason)
        end)
    end)

    describe("identity headers sent by the client never reach the "
             .. "upstream", function()
        local SPOOF = {
            { "X-SuperTokens-User-Id", "admin" },
            { "x-supertokens-user-id", "admin2" },
            { "X-SUPERTOKENS-RECIPE-USER-ID", "admin" },
            { "X-SuperTokens-Session-Handle", "h-admin" },
            { "X-SuperTokens-Tenant-Id", "other" },
            { "X-SuperTokens-Access-Token-Payload", '{"role":"admin"}' },
        }

        local function spoofed(extra)
            local h = {}
            for i, kv in ipairs(SPOOF) do
                h[i] = kv
            end
            for _, kv in ipairs(extra or {}) do
                h[#h + 1] = kv
            end
            return h
        end

        it("no token, session optional: passes with no identity at all",
           function()
            local res = assert(send(servers.core, spoofed(), "spoof",
                                    "GET", "/echo/optional"))
            assert.equal(200, res.status, res.body)
            for k, v in pairs(cjson.decode(res.body)) do
                assert.equal(NULL, v, k)
            end
        end)

        it("valid token: the token's identity, once, nothing of the "
           .. "client's", function()
            local good = x.token(x.hdr(), x.pay(), "real")
            hygiene.register_token(good)
            for _, path in ipairs({ "/echo/optional", "/echo/required" }) do
                local res = assert(send(servers.core, spoofed({
                    { "Authorization", "Bearer " .. good } }), "spoof",
                    "GET", path))
                assert.equal(200, res.status, res.body)
                local seen = cjson.decode(res.body)
                assert.equal("user-1", seen["x-supertokens-user-id"])
                assert.equal("user-1", seen["x-supertokens-recipe-user-id"])
                assert.equal("h-attack", seen["x-supertokens-session-handle"])
                assert.equal("public", seen["x-supertokens-tenant-id"])
                local p = cjson.decode(
                    seen["x-supertokens-access-token-payload"])
                assert.equal("user-1", p.sub)
                assert.is_nil(p.role)
            end
        end)

        -- With underscores_in_headers on, "X_SuperTokens_User_Id" reaches
        -- the upstream, where CGI-style servers read it as the real one.
        local UNDERSCORED = {
            { "X_SuperTokens_User_Id", "admin" },
            { "x_supertokens_session_handle", "h-admin" },
            { "X_SUPERTOKENS_ACCESS_TOKEN_PAYLOAD", '{"role":"admin"}' },
        }

        -- Spellings that mix "-" and "_": neither all-"-" nor all-"_",
        -- the same name to a CGI-style upstream all the same.
        local MIXED = {
            { "X-SuperTokens_User-Id", "mallory" },
            { "x_supertokens-user_id", "mallory2" },
            { "X-SuperTokens_User-Id", "mallory3" },
            { "X_SuperTokens-Session_Handle", "h-mallory" },
            { "x-supertokens-tenant_id", "other" },
            { "X-SuperTokens_Access-Token_Payload", '{"role":"admin"}' },
            { "X-SuperTokens-Recipe_User-Id", "mallory" },
        }

        -- Sends the spellings (after the canonical names of SPOOF, or
        -- alone) to `path` of the server with the option on, with alice's
        -- token or none: none of them reaches the upstream.
        local function assert_spellings_stripped(spellings, path, auth,
                                                 alone)
            local good = x.token(x.hdr(), x.pay(), "real")
            hygiene.register_token(good)
            local h = alone and { unpack(spellings) } or spoofed(spellings)
            if auth then
                h[#h + 1] = { "Authorization", "Bearer " .. good }
            end
            local res = assert(send(servers.underscores, h, "spoof", "GET",
                                    path))
            assert.equal(200, res.status, res.body)
            local seen = cjson.decode(res.body)
            for name, value in pairs(seen) do
                assert.is_nil(name:find("_", 1, true),
                              name .. " reached " .. path)
                if not auth then
                    assert.equal(NULL, value, name)
                end
            end
            if auth then
                assert.equal("user-1", seen["x-supertokens-user-id"])
                assert.equal("h-attack", seen["x-supertokens-session-handle"])
            end
        end

        it("underscores_in_headers on: the option strips the '_' "
           .. "spellings, with and without a session", function()
            assert_spellings_stripped(UNDERSCORED, "/echo/optional", false)
            assert_spellings_stripped(UNDERSCORED, "/echo/optional", true)
        end)

        it("underscores_in_headers on: the option strips spellings that "
           .. "mix '-' and '_', on optional and required routes",
           function()
            assert_spellings_stripped(MIXED, "/echo/optional", false)
            assert_spellings_stripped(MIXED, "/echo/optional", true)
            assert_spellings_stripped(MIXED, "/echo/required", true)
            -- no canonical name sent: $http_<name> finds the others
            assert_spellings_stripped(MIXED, "/echo/optional", false, true)
            assert_spellings_stripped(MIXED, "/echo/required", true, true)
        end)

        it("a name configured with '_': its '-' and mixed spellings are "
           .. "stripped", function()
            local good = x.token(x.hdr(), x.pay(), "real")
            hygiene.register_token(good)
            local res = assert(send(servers.underscores_names, {
                { "X-SuperTokens-Recipe-User-Id", "admin" },
                { "X_SuperTokens-Recipe_User-Id", "admin2" },
                { "x-supertokens-recipe_user_id", "admin3" },
                { "Authorization", "Bearer " .. good } }, "spoof", "GET",
                "/echo/raw"))
            assert.equal(200, res.status, res.body)
            local seen = cjson.decode(res.body)
            assert.equal("user-1", seen["x_supertokens_recipe_user_id"])
            for name in pairs(seen) do
                if name:find("recipe", 1, true) then
                    assert.equal("x_supertokens_recipe_user_id", name)
                end
            end
        end)

        -- The "-" spelling of a name configured with "_" is a valid
        -- header to nginx whatever its settings, and the same name to a
        -- CGI-style upstream (nginx's own fastcgi_pass/uwsgi_pass send
        -- both as HTTP_X_SUPERTOKENS_RECIPE_USER_ID): it is cleared
        -- without the option too.
        it("nginx's defaults, no option, a name configured with '_': its "
           .. "'-' spelling is stripped, with and without a session",
           function()
            local good = x.token(x.hdr(), x.pay(), "real")
            hygiene.register_token(good)
            for _, auth in ipairs({ false, true }) do
                local h = { { "X-SuperTokens-Recipe-User-Id", "admin" },
                            { "x-supertokens-recipe-user-id", "admin2" } }
                if auth then
                    h[#h + 1] = { "Authorization", "Bearer " .. good }
                end
                local res = assert(send(servers.underscores_names_default,
                                        h, "spoof", "GET",
                                        "/echo/raw_optional"))
                assert.equal(200, res.status, res.body)
                local seen = cjson.decode(res.body)
                for name, value in pairs(seen) do
                    if name:find("recipe", 1, true) then
                        assert.equal("x_supertokens_recipe_user_id", name)
                        assert.equal("user-1", value)
                    end
                end
                assert.equal(auth and "user-1" or nil,
                             seen["x_supertokens_recipe_user_id"])
            end
        end)

        it("underscores_in_headers on without the option: the '_' "
           .. "spellings pass (what the option is for)", function()
            local good = x.token(x.hdr(), x.pay(), "real")
            hygiene.register_token(good)
            local h = spoofed(UNDERSCORED)
            h[#h + 1] = { "Authorization", "Bearer " .. good }
            local res = assert(send(servers.underscores_off, h, "spoof",
                                    "GET", "/echo/optional"))
            assert.equal(200, res.status, res.body)
            local seen = cjson.decode(res.body)
            assert.equal("user-1", seen["x-supertokens-user-id"])
            assert.equal("admin", seen["x_supertokens_user_id"])
        end)

        it("attacker-signed token, session optional: 401 try refresh "
           .. "(sessionRequired:false does not hide it)", function()
            local bad = x.token(x.hdr(), x.pay(), "rogue")
            hygiene.register_token(bad)
            local res = assert(send(servers.core, spoofed({
                { "Authorization", "Bearer " .. bad } }), "spoof", "GET",
                "/echo/optional"))
            assert.equal(401, res.status)
            assert.equal(TRT, res.body)
        end)

        it("a token whose sub carries CR/LF cannot split upstream headers",
           function()
            local t = x.token(x.hdr(), x.pay({
                sub = "user-1\r\nX-SuperTokens-User-Id: admin" }), "real")
            hygiene.register_token(t)
            local res = assert(send(servers.core, { { "Authorization",
                "Bearer " .. t } }, "spoof", "GET", "/echo/required"))
            assert.is_true(res.status < 500, res.status)
            if res.status == 200 then
                local seen = cjson.decode(res.body)
                local uid = seen["x-supertokens-user-id"]
                assert.is_true(uid == NULL or not tostring(uid):find("\n"),
                               tostring(uid))
                assert.is_true(uid ~= "admin")
            end
        end)

        it("a dropped identity value (CR/LF) leaves no client copy of "
           .. "that header either", function()
            local t = x.token(x.hdr(), x.pay({
                sub = "user-1\r\nX-Injected: 1" }), "real")
            hygiene.register_token(t)
            local res = assert(send(servers.core, spoofed({
                { "Authorization", "Bearer " .. t } }), "spoof", "GET",
                "/echo/required"))
            assert.equal(200, res.status, res.body)
            local seen = cjson.decode(res.body)
            -- the token's sub cannot be a header value: the upstream gets
            -- no user id at all, not the client's "admin"
            assert.equal(NULL, seen["x-supertokens-user-id"])
            assert.equal("h-attack", seen["x-supertokens-session-handle"])
            assert.equal("public", seen["x-supertokens-tenant-id"])
        end)
    end)

    describe("validly signed mutants (the Lua paths after the signature)",
             function()
        -- Seeded structural mutations of the core's header and payload,
        -- each signed by the REAL key, so they get past the signature
        -- into token.inspect, the time/kid checks, the core call for a
        -- parentRefreshTokenHash1, the identity headers and the JSON the
        -- user handler writes.  Any answer but a Lua error is allowed;
        -- a 500 only where the core itself failed (node would throw).
        local SEED = tonumber(os.getenv("ST_FUZZ_SEED") or "") or 20241127
        local N = tonumber(os.getenv("ST_FUZZ_N") or "") or 300
        local VALUES = {
            "null", "true", "false", "0", "-0", "1e400", "-1", "1.5",
            "4102444800", "1e308", '""', '" "', '"x"', '"\\u0000"',
            '"\\ud83d\\ude00"', "[]", "{}", "[1,[2]]", '{"a":{}}',
            '"' .. string.rep("y", 3000) .. '"', '"5"', '"d-1"', '"s-1"',
            "123456789012345678901234567890", '["d-1"]', '"  user-1  "',
            '"user-1\\r\\nX-Evil: 1"', '"\\\\"', '"<script>"',
            string.rep("[", 15) .. string.rep("]", 15),
        }
        local MEMBERS = { "sub", "exp", "iat", "tId", "rsub", "sessionHandle",
                          "refreshTokenHash1", "parentRefreshTokenHash1",
                          "antiCsrfToken", "iss", "stt", "nbf", "st-ev",
                          "st-role", "kid", "typ", "version", "alg", "b64",
                          "userData", "expiryTime" }

        local rng_state = SEED
        local function rnd(n)
            -- xorshift32, deterministic across LuaJIT builds
            local bit = require "bit"
            local v = rng_state
            v = bit.bxor(v, bit.lshift(v, 13))
            v = bit.bxor(v, bit.rshift(v, 17))
            v = bit.bxor(v, bit.lshift(v, 5))
            rng_state = v
            return (v % n + n) % n + 1
        end

        -- one mutation of an object text built from ordered pairs
        local function mutate(base_pairs)
            local pairs_ = {}
            for i, kv in ipairs(base_pairs) do
                pairs_[i] = { kv[1], kv[2] }
            end
            local op = rnd(6)
            if op == 1 and #pairs_ > 0 then          -- replace a value
                pairs_[rnd(#pairs_)][2] = VALUES[rnd(#VALUES)]
            elseif op == 2 and #pairs_ > 0 then      -- drop a member
                table.remove(pairs_, rnd(#pairs_))
            elseif op == 3 then                      -- add a member
                pairs_[#pairs_ + 1] = { MEMBERS[rnd(#MEMBERS)],
                                        VALUES[rnd(#VALUES)] }
            elseif op == 4 and #pairs_ > 1 then      -- swap two values
                local a, b = rnd(#pairs_), rnd(#pairs_)
                pairs_[a][2], pairs_[b][2] = pairs_[b][2], pairs_[a][2]
            else                                     -- two replacements
                for _ = 1, 2 do
                    pairs_[rnd(#pairs_)][2] = VALUES[rnd(#VALUES)]
                end
            end
            local parts = {}
            for i, kv in ipairs(pairs_) do
                parts[i] = '"' .. kv[1] .. '":' .. kv[2]
            end
            return "{" .. table.concat(parts, ",") .. "}"
        end

        local function to_pairs(json)
            local list = {}
            local obj = assert(cjson.decode(json))
            -- keep the text order of the members
            for k in json:gmatch('"([^"]+)":') do
                if obj[k] ~= nil and not list[k] then
                    list[k] = true
                    list[#list + 1] = { k, json_value(obj[k]) }
                end
            end
            return list
        end

        it(N .. " mutants, seed " .. SEED, function()
            local hp = to_pairs(x.hdr())
            local pp = to_pairs(x.pay())
            local opts = {}
            for i = 1, N do
                local which = rnd(3)
                opts[i] = {
                    headerRaw = which == 1 and mutate(hp) or x.hdr(),
                    payloadRaw = which ~= 1 and mutate(pp) or x.pay(),
                    key = "dynamic",
                }
            end
            local tokens = c:mint_many(opts)
            local srv = servers.core
            srv:mark()
            local seen = {}
            for i, tok in ipairs(tokens) do
                hygiene.register_token(tok)
                local path = i % 2 == 0 and "/echo/required" or "/api/user"
                local h = i % 3 == 0 and { "Cookie", "sAccessToken=" .. tok }
                          or { "Authorization", "Bearer " .. tok }
                local res = assert(send(srv, { h }, "mutant", "GET", path))
                seen[res.status] = (seen[res.status] or 0) + 1
                local ctx = "mutant " .. i .. " (seed " .. SEED .. "): "
                            .. opts[i].headerRaw .. " "
                            .. opts[i].payloadRaw:sub(1, 300)
                if res.status == 200 then
                    assert.truthy(cjson.decode(res.body), ctx .. res.body)
                elseif res.status == 500 then
                    assert.equal('{"message":"internal error"}', res.body)
                else
                    assert.truthy(res.status == 401 or res.status == 403,
                                  ctx .. " -> " .. res.status)
                end
            end
            local log = srv:log_since_mark()
            assert.is_nil(log:find("decision failed", 1, true))
            assert.is_nil(log:find("runtime error", 1, true))
            for line in log:gmatch("[^\n]+") do
                if line:find("status=500", 1, true) then
                    assert.matches(" reason=core_", line, 1, true)
                end
            end
            local dist = {}
            for st, n in pairs(seen) do
                dist[#dist + 1] = st .. "=" .. n
            end
            table.sort(dist)
            print("mutants: " .. table.concat(dist, " "))
            -- the mutants reach every class, not only the parser
            assert.truthy(seen[200] and seen[401])
        end)
    end)

    describe("replay of a validly signed token after key rotation",
             function()
        local expired, valid

        setup(function()
            c:control("POST", "snapshot?name=attack-replay")
            expired = x.token(x.hdr(), x.pay({ exp = x.now - 10,
                                               iat = x.now - 3610 }), "real")
            valid = x.token(x.hdr(), x.pay(), "real")
            hygiene.register_token(expired)
            hygiene.register_token(valid)
        end)

        teardown(function()
            c:control("POST", "restore?name=attack-replay")
        end)

        local function check(tok, status, body, reason)
            local srv = servers.core
            srv:mark()
            local res = assert(send(srv, { { "Authorization",
                                             "Bearer " .. tok } }, "replay"))
            assert.equal(status, res.status, res.body)
            if body then
                assert.equal(body, res.body)
                local lines = reject_lines(srv:log_since_mark())
                assert.equal(1, #lines)
                assert.equal(reason, lines[1]:match(" reason=(%S+) "))
            end
        end

        it("before the rotation: expired -> try refresh (expired), valid "
           .. "-> 200", function()
            check(expired, 401, TRT, "expired")
            check(valid, 200)
        end)

        it("after the old key is removed and the new one seen: both are "
           .. "refused (unknown_kid)", function()
            c:control("POST", "rotate?drop=1")
            -- The gateway keeps the old set until something asks for a
            -- kid it does not know (or the refresh interval passes): the
            -- first token of the new key.
            local fresh = c:mint({ key = "latest" })
            hygiene.register_token(fresh)
            socket.sleep(0.6)   -- past the refetch cooldown
            local n0 = c:jwks_count()
            check(fresh, 200)
            assert.equal(1, c:jwks_count() - n0)
            check(expired, 401, TRT, "unknown_kid")
            check(valid, 401, TRT, "unknown_kid")
            check(expired, 401, TRT, "unknown_kid")
            -- within the cooldown no further fetch
            assert.is_true(c:jwks_count() - n0 <= 2)
        end)
    end)

    it("a token (or a piece of one) in a forged kid or in the path is "
       .. "not copied into the rejection log", function()
        local good = x.token(x.hdr(), x.pay(), "real")
        hygiene.register_token(good)
        local forged = x.token(x.hdr({ kid = good }), x.pay(), "real")
        hygiene.register_token(forged)
        local res = assert(send(servers.core, { { "Authorization",
            "Bearer " .. forged } }, "kid-token"))
        assert.equal(401, res.status)
        -- a short base64url JSON run in the path (nginx's own request
        -- context on the line carries the path as it is: a whole token
        -- there would be nginx's copy, not ours)
        res = assert(send(servers.core, {}, "path-token", "GET",
                          "/api/eyJ0eXAiOiJKV1Qi"))
        assert.is_true(res.status < 500, res.status)
        local log = servers.core:error_log()
        assert.truthy(log:find("kid=eyJ(redacted)", 1, true))
        assert.truthy(log:find("route=/api/eyJ(redacted)", 1, true))
        for line in log:gmatch("[^\n]+") do
            local kid = line:match(" kid=(%S+)")
            assert.is_nil((kid or ""):find(good:sub(1, 24), 1, true), line)
        end
    end)

    it("no worker crashed, nothing logged at alert/crit, no Lua error, no "
       .. "forged log line, the jku/x5u URLs were never fetched", function()
        for name, srv in pairs(servers) do
            local log = srv:error_log()
            assert.is_nil(log:find("exited on signal", 1, true), name)
            for line in log:gmatch("[^\n]+") do
                local level = line:match("^%S+ %S+ %[(%a+)%]")
                assert.is_nil(({ alert = 1, crit = 1, emerg = 1 })[level],
                              line)
            end
            assert.is_nil(log:find("runtime error", 1, true), name)
            assert.is_nil(log:find("decision failed", 1, true), name)
            assert.is_nil(log:find("\n2030/01/01", 1, true), name)
            local now = srv:worker_pids()
            table.sort(now)
            assert.same(pids[name], now, name .. ": worker pids changed")
        end
        assert.is_nil(listener:accept(), "something fetched a jku/x5u")
        assert.truthy(seen.core and seen.static and seen.plain)
    end)
end)
