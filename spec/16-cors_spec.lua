-- CORS (spec §7): the answers of express `cors` configured the way the
-- oracle (and SuperTokens' docs) do, compared with observed.json.
local cors = require "resty.supertokens.cors"
local decide = require "resty.supertokens.decide"
local H = require "spec.helpers.flow"

local ACCESS = { ["access-control-allow-origin"] = true, vary = true,
                 ["access-control-allow-credentials"] = true,
                 ["access-control-allow-methods"] = true,
                 ["access-control-allow-headers"] = true,
                 ["access-control-max-age"] = true,
                 ["access-control-expose-headers"] = true }


-- access-control-* and vary of an observed case
local function observed_cors(case)
    local out = {}
    for k, v in pairs(case.headers) do
        if ACCESS[k] then
            out[k] = type(v) == "table" and v or { v }
        end
    end
    return out
end


describe("cors: preflight", function()
    for _, name in ipairs({
        "[default] OPTIONS preflight with Origin (allowed origin)",
        "[default] OPTIONS preflight with foreign Origin",
        "[crossSite] OPTIONS preflight",
    }) do
        it(name, function()
            local case = H.observed.cases[name]
            local conf = H.oracle_conf(case.config)
            local out = cors.preflight(conf, H.case_req(case))
            assert.equal(case.status, out.status)
            assert.equal("", out.body)
            local got = H.by_name(out.headers)
            assert.same({ "0" }, got["content-length"])
            got["content-length"] = nil
            assert.same(observed_cors(case), got)
        end)
    end

    it("allow-headers list is content-type + getAllCORSHeaders()", function()
        local conf = H.conf({ cors = { allow_headers = { "x-custom" } } })
        local h = H.by_name(cors.preflight(conf, H.req("OPTIONS")).headers)
        local want = { "content-type" }
        for _, x in ipairs(H.wire.getAllCORSHeaders) do
            want[#want + 1] = x
        end
        want[#want + 1] = "x-custom"
        assert.same({ table.concat(want, ",") }, h["access-control-allow-headers"])
    end)

    it("only OPTIONS, only when enabled", function()
        assert.is_nil(cors.preflight(H.conf(), H.req("GET")))
        local off = H.conf({ cors = { enabled = false } })
        assert.is_nil(cors.preflight(off, H.req("OPTIONS")))
        assert.same({}, cors.headers(off, H.req("GET")))
        -- then OPTIONS reaches the decision, which lets it through
        local out = decide.verify(off, decide.route(), H.req("OPTIONS"), H.env())
        assert.is_true(out.pass)
        assert.equal("skipped", out.class)
    end)

    it("max-age and expose headers when configured", function()
        local conf = H.conf({ cors = { max_age = 600,
                                       expose_headers = { "front-token", "anti-csrf" } } })
        local h = H.by_name(cors.preflight(conf, H.req("OPTIONS")).headers)
        assert.same({ "600" }, h["access-control-max-age"])
        assert.same({ "front-token,anti-csrf" }, h["access-control-expose-headers"])
        h = H.by_name(cors.headers(conf, H.req("GET")))
        assert.same({ "front-token,anti-csrf" }, h["access-control-expose-headers"])
    end)
end)


describe("cors: actual responses", function()
    for _, name in ipairs({
        "[default] GET valid with Origin",
        "[default] GET expired with Origin (CORS headers on 401)",
        "[default] missing token",
        "[crossSite] POST cookie, no rid",
    }) do
        it(name, function()
            local case = H.observed.cases[name]
            local conf = H.oracle_conf(case.config)
            assert.same(observed_cors(case),
                        H.by_name(cors.headers(conf, H.case_req(case))))
        end)
    end

    it("several origins: the request's Origin is reflected when listed", function()
        local conf = H.conf({ cors = { origins = { "https://a.example",
                                                   "https://b.example" } } })
        local h = H.by_name(cors.headers(conf, H.req("GET",
                                                     { Origin = "https://b.example" })))
        assert.same({ "https://b.example" }, h["access-control-allow-origin"])
        assert.same({ "Origin" }, h.vary)
        h = H.by_name(cors.headers(conf, H.req("GET", { Origin = "https://evil.example" })))
        assert.is_nil(h["access-control-allow-origin"])
        assert.same({ "true" }, h["access-control-allow-credentials"])
        assert.same({ "Origin" }, h.vary)
    end)

    it("refuses origins a browser never sends and bad header names",
       function()
        local config = require "resty.supertokens.config"
        local function err_of(cc)
            local c, err = config.new(H.user_config({ cors = cc }))
            assert.is_nil(c)
            return err
        end
        assert.equal("supertokens.config: cors.origins[2]: "
                     .. "'https://a.example/' is not an origin "
                     .. "(scheme://host[:port], no path)",
                     err_of({ origins = { "https://b.example",
                                          "https://a.example/" } }))
        assert.equal("supertokens.config: cors.origins[1]: 'junk' is not "
                     .. "an origin (scheme://host[:port], no path)",
                     err_of({ origins = { "junk" } }))
        assert.equal("supertokens.config: cors.allow_headers[1]: must be a "
                     .. "header name",
                     err_of({ allow_headers = { "a\r\nX-Injected: 1" } }))
        assert.equal("supertokens.config: cors.expose_headers[2]: must be "
                     .. "a header name",
                     err_of({ expose_headers = { "x-a", "x b" } }))
        assert.truthy(config.new(H.user_config({ cors = {
            origins = { "capacitor://localhost", "http://[::1]:3000" },
            allow_headers = { "x-tenant" } } })))
    end)

    it("never '*' with credentials", function()
        local conf = H.conf()
        for _, l in ipairs({ cors.headers(conf, H.req("GET", { Origin = "*" })),
                             cors.preflight(conf, H.req("OPTIONS")).headers }) do
            for _, h in ipairs(l) do
                assert.not_equal("*", h[2])
            end
        end
    end)
end)
