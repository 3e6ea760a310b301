-- The Querier (resty.supertokens.core) in plain LuaJIT, with a scripted
-- HTTP client: which headers go with which path, which host each try goes
-- to (supertokens-node 24.0.3 lib/build/querier.js sendRequestHelper and
-- the send*Request functions).  The nginx-level failover tests (real
-- sockets, the core stand-in) are in spec/51-faults_ext_spec.lua.

-- core.lua's collaborators: the clock and sleep of ngx, metrics (a no-op
-- here) and http.options (the request as a table).
local sleeps = {}
rawset(_G, "ngx", {
    update_time = function() end,
    now = os.time,
    sleep = function(s) sleeps[#sleeps + 1] = s end,
})
package.loaded["resty.supertokens.metrics"] = {
    core_call = function() end,
    core_result = function() return "ok" end,
}
package.loaded["resty.supertokens.http"] = {
    options = function(_, url, method, headers, body)
        return { url = url, method = method, headers = headers, body = body }
    end,
    client = function() error("tests pass their own client") end,
}
local core = require "resty.supertokens.core"

-- answers: a list; each element a response table or false (unreachable)
local function fake_client(answers)
    local c = { sent = {} }
    function c.request(opts)
        c.sent[#c.sent + 1] = opts
        local a = table.remove(answers, 1)
        if a == nil then
            a = { status = 200, body = '{"status":"OK"}', headers = {} }
        end
        if a == false then
            return nil, "connection refused"
        end
        return a
    end
    return c
end

-- The host each call of a fake client went to, in order.
local function hosts_of(client)
    local hosts = {}
    for i, o in ipairs(client.sent) do
        hosts[i] = o.url:match("^http://(core%d)")
    end
    return hosts
end

local function conf(n, key)
    local hosts = {}
    for i = 1, n do
        hosts[i] = { domain = "http://core" .. i, base_path = "" }
    end
    return { core_hosts = hosts, api_key = key }
end

describe("core: the Querier's rid header", function()
    -- node: `if (path.isARecipePath() && this.rIdToCore !== undefined)`,
    -- isARecipePath: value.split("/"), parts[1] or parts[2] is "recipe"
    -- (the path as normalised, a tenant id made of anything included)
    local cases = {
        { "/recipe/session/verify", true },
        { "/public/recipe/user/roles", true },
        { "/recipe", true },
        { "/t1/recipe", true },
        { "//recipe/user/roles", true },
        { "/recipe/role/permissions", true },
        { "/t1//recipe/user/roles", false },
        { "///recipe/user/roles", false },
        { "/t1/x/recipe/user/roles", false },
        { "/t1", false },
        { "/user/id", false },
        { "/recipes/x", false },
        { "/x/recipes", false },
    }
    for _, c in ipairs(cases) do
        it(c[1] .. (c[2] and ": rid sent" or ": no rid"), function()
            local client = fake_client({})
            local q = core.new(conf(1), client)
            assert.truthy(q.request("GET", c[1], nil, nil, "userroles"))
            local h = client.sent[1].headers
            assert.equal(c[2] and "userroles" or nil, h.rid)
            assert.equal("5.4", h["cdi-version"])
        end)
    end
end)

describe("core: api-key", function()
    it("sent as configured on every try, absent without a key", function()
        local client = fake_client({ false })
        local q = core.new(conf(2, "k-123"), client)
        assert.truthy(q.request("POST", "/recipe/session/verify", nil, "{}",
                                "session"))
        assert.equal(2, #client.sent)
        for _, o in ipairs(client.sent) do
            assert.equal("k-123", o.headers["api-key"])
        end
        local c2 = fake_client({})
        assert.truthy(core.new(conf(1), c2).request("GET", "/user/id"))
        assert.is_nil(c2.sent[1].headers["api-key"])
    end)

    it("a 401 (a core with other keys) is an error naming no key",
       function()
        local client = fake_client({ { status = 401,
            body = "Invalid API key\n", headers = {} } })
        local q = core.new(conf(2, "k-secret-1"), client)
        local body, err = q.request("POST", "/recipe/session/verify", nil,
                                    "{}", "session")
        assert.is_nil(body)
        assert.equal(1, #client.sent)     -- no next core (node throws)
        assert.matches("HTTP 401", err)
        assert.is_nil(err:find("k-secret-1", 1, true))
    end)
end)

describe("core: host order (node's lastTriedIndex)", function()
    it("round robin over the calls, the next host when one is unreachable",
       function()
        local client = fake_client({})
        local q = core.new(conf(2), client)
        for _ = 1, 4 do
            assert.truthy(q.request("GET", "/user/id"))
        end
        assert.same({ "core1", "core2", "core1", "core2" }, hosts_of(client))

        client = fake_client({ false, { status = 200, body = "{}" }, false })
        q = core.new(conf(2), client)
        assert.truthy(q.request("GET", "/user/id"))   -- core1 x, core2
        assert.truthy(q.request("GET", "/user/id"))   -- core1 x, core2
        assert.same({ "core1", "core2", "core1", "core2" }, hosts_of(client))
    end)

    it("every host unreachable: one try each, then an error", function()
        local client = fake_client({ false, false, false })
        local q = core.new(conf(3), client)
        local body, err = q.request("GET", "/user/id")
        assert.is_nil(body)
        assert.equal(3, #client.sent)
        assert.matches("connection refused", err)
    end)

    it("a 500 from a host is the answer: no next host", function()
        local client = fake_client({ { status = 500, body = "x" } })
        local q = core.new(conf(2), client)
        local body, err = q.request("GET", "/user/id")
        assert.is_nil(body)
        assert.equal(1, #client.sent)
        assert.matches("HTTP 500", err)
    end)

    it("429: the next host after 10 ms, with that URL's retries counted",
       function()
        sleeps = {}
        local client = fake_client({ { status = 429, body = "" },
                                     { status = 429, body = "" } })
        local q = core.new(conf(2), client)
        assert.truthy(q.request("GET", "/user/id"))
        assert.same({ "core1", "core2", "core1" }, hosts_of(client))
        assert.same({ 0.01, 0.01 }, sleeps)
    end)
end)

describe("core: one host index for every worker (node: one per process)",
         function()
    -- a lua_shared_dict stand-in: incr as ngx.shared.DICT:incr
    local function fake_dict()
        local d = { v = {} }
        function d:incr(k, by, init)
            self.v[k] = (self.v[k] or init) + by
            return self.v[k]
        end
        return d
    end

    it("two workers' calls share the round robin through the dict",
       function()
        ngx.shared = { supertokens = fake_dict() }
        local client = fake_client({})
        -- each worker builds its own Querier (core.new per config table)
        local c1, c2 = conf(2), conf(2)
        c1.shared_dict, c2.shared_dict = "supertokens", "supertokens"
        local w1, w2 = core.new(c1, client), core.new(c2, client)
        for _, w in ipairs({ w1, w2, w2, w1, w1 }) do
            assert.truthy(w.request("GET", "/user/id"))
        end
        assert.same({ "core1", "core2", "core1", "core2", "core1" }, hosts_of(client))
        ngx.shared = nil
    end)

    it("without the dict: the worker's own index", function()
        ngx.shared = {}
        local client = fake_client({})
        local w1, w2 = core.new(conf(2), client), core.new(conf(2), client)
        for _, w in ipairs({ w1, w2, w1 }) do
            assert.truthy(w.request("GET", "/user/id"))
        end
        assert.same({ "core1", "core1", "core2" }, hosts_of(client))
        ngx.shared = nil
    end)
end)
