-- NOT RUN HERE.  Kong's own test tooling (Pongo, spec.helpers) against the
-- supertokens plugin; written for `pongo run ./spec/kong-pongo` and never
-- executed on the machine this repository is developed on (no Kong).
-- luacheck: globals lazy_setup lazy_teardown

local helpers = require "spec.helpers"
local cjson = require "cjson"
local pkey = require "resty.openssl.pkey"
local b64 = require "ngx.base64"

local PLUGIN_NAME = "supertokens"
local API = "http://localhost:3001"
local WEB = "http://localhost:3000"

-- A signing key made here; the plugin gets its public half as a static
-- JWKS, so no SuperTokens core is needed.
local key = assert(pkey.new({ type = "RSA", bits = 2048 }))
local jwk = cjson.decode(assert(key:tostring("public", "JWK")))
jwk.kid, jwk.alg, jwk.use = "d-1", "RS256", "sig"
local JWKS = cjson.encode({ keys = { jwk } })


local function token(claims)
    local now = ngx.time()
    local payload = {
        sub = "user-1", rsub = "user-1", tId = "public",
        sessionHandle = "handle-1", refreshTokenHash1 = "rth",
        iat = now, exp = now + 3600,
    }
    for k, v in pairs(claims or {}) do
        payload[k] = v
    end
    local h = b64.encode_base64url(cjson.encode({
        kid = "d-1", typ = "JWT", version = "5", alg = "RS256" }))
    local p = b64.encode_base64url(cjson.encode(payload))
    local sig = assert(key:sign(h .. "." .. p, "sha256"))
    return h .. "." .. p .. "." .. b64.encode_base64url(sig)
end


describe(PLUGIN_NAME .. ": (schema)", function()
    local validate = require("spec.helpers").validate_plugin_config_schema
    local schema = require("kong.plugins." .. PLUGIN_NAME .. ".schema")

    it("accepts a static-keys config and fills the defaults", function()
        local entity, err = validate({
            jwks = JWKS, app_info = { api_domain = API, website_domain = WEB },
        }, schema)
        assert.is_nil(err)
        assert.equal(401, entity.config.session.session_expired_status_code)
        assert.equal("supertokens", entity.config.shared_dict)
    end)

    it("refuses equal status codes", function()
        local _, err = validate({
            jwks = JWKS, app_info = { api_domain = API, website_domain = WEB },
            session = { invalid_claim_status_code = 401 },
        }, schema)
        assert.equal("values of these fields must be distinct: "
                     .. "'config.session.session_expired_status_code', "
                     .. "'config.session.invalid_claim_status_code'",
                     err["@entity"][1])
    end)
end)


for _, strategy in helpers.all_strategies() do
    if strategy ~= "cassandra" then
        describe(PLUGIN_NAME .. ": (access) [#" .. strategy .. "]", function()
            local client

            lazy_setup(function()
                local bp = helpers.get_db_utils(
                    strategy == "off" and "postgres" or strategy, nil,
                    { PLUGIN_NAME })
                local route = bp.routes:insert({ hosts = { "st.test" } })
                bp.plugins:insert({
                    name = PLUGIN_NAME,
                    route = { id = route.id },
                    config = {
                        jwks = JWKS,
                        app_info = { api_domain = API, website_domain = WEB },
                    },
                })
                -- key-auth (priority 1250) answers after supertokens
                local other = bp.routes:insert({ hosts = { "other.test" } })
                bp.plugins:insert({ name = PLUGIN_NAME,
                    route = { id = other.id },
                    config = { jwks = JWKS, app_info = {
                        api_domain = API, website_domain = WEB } } })
                bp.plugins:insert({ name = "key-auth",
                                    route = { id = other.id } })

                assert(helpers.start_kong({
                    database = strategy,
                    nginx_conf = "spec/fixtures/custom_nginx.template",
                    plugins = "bundled," .. PLUGIN_NAME,
                    nginx_http_lua_shared_dict = "supertokens 10m",
                    declarative_config = strategy == "off"
                        and helpers.make_yaml_file() or nil,
                }))
            end)

            lazy_teardown(function()
                helpers.stop_kong(nil, true)
            end)

            before_each(function()
                client = helpers.proxy_client()
            end)

            after_each(function()
                if client then
                    client:close()
                end
            end)

            it("answers 401 unauthorised without a token", function()
                local r = client:get("/request", {
                    headers = { host = "st.test", origin = WEB } })
                local body = assert.res_status(401, r)
                assert.equal('{"message":"unauthorised"}', body)
                assert.equal(WEB, r.headers["Access-Control-Allow-Origin"])
            end)

            it("forwards the session upstream, clearing client copies",
               function()
                local r = client:get("/request", { headers = {
                    host = "st.test",
                    authorization = "Bearer " .. token(),
                    ["x-supertokens-user-id"] = "spoofed",
                } })
                assert.response(r).has.status(200)
                assert.equal("user-1", assert.request(r).has.header(
                    "x-supertokens-user-id"))
            end)

            it("answers a CORS preflight", function()
                local r = client:options("/request", { headers = {
                    host = "st.test", origin = WEB,
                    ["access-control-request-method"] = "POST" } })
                assert.res_status(204, r)
                assert.equal(WEB, r.headers["Access-Control-Allow-Origin"])
            end)

            it("works with 40x responses returned by another plugin",
               function()
                local r = client:get("/request", { headers = {
                    host = "other.test", origin = WEB,
                    authorization = "Bearer " .. token() } })
                assert.res_status(401, r)
                assert.equal(WEB, r.headers["Access-Control-Allow-Origin"])
                assert.equal("true",
                             r.headers["Access-Control-Allow-Credentials"])
            end)
        end)
    end
end
