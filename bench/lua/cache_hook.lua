-- The cached verification path of the product, as the decision runs it on
-- every request: the JWKS engine's parse(token) (the binding's parse, or
-- the result kept in the verified-token cache for a token seen before),
-- then its check_signature(token, parsed), answered by the cache on a hit.
-- Engines without parse() (older shells) fall back to v:parse().
-- make() returns loops for the whole path, for its two parts, and for the
-- whole gateway-neutral decision (decide.verify) on a cache hit, with the
-- request view built per call as the OpenResty shell builds it.

local stb = require "stbench"

local _M = {}


function _M.make(v, tok, jwks_text)
    local keys = require "resty.supertokens.keys"
    local cache = require "resty.supertokens.cache"
    -- Engines are cached weakly by conf table: keep conf alive here.
    local conf = { jwks = jwks_text, token_cache_size = 1000 }
    local e, err = keys.new(conf)
    if not e then
        return nil, err
    end
    local function parse(t)
        if e.parse then
            return e:parse(t)
        end
        return v:parse(t)
    end
    for _ = 1, 2 do   -- the second round sees the cache filled
        local res = parse(tok)
        if not res or not e:check_signature(tok, res) then
            return nil, "first check_signature failed"
        end
    end
    if not (e.cache and e.cache:get(tok, e:version())) then
        return nil, "token not cached after a good check_signature"
    end
    local now = stb.now
    local c, ver = e.cache, e:version()

    local loops = { conf = conf, cache_module = cache._VERSION,
                    engine_parse = e.parse ~= nil }

    function loops.cached(iters)
        local t0 = now()
        for _ = 1, iters do
            local r = parse(tok)
            if not r or not e:check_signature(tok, r) then
                return -1
            end
        end
        return (now() - t0) / iters
    end

    function loops.parse(iters)
        local t0 = now()
        for _ = 1, iters do
            if not v:parse(tok) then
                return -1
            end
        end
        return (now() - t0) / iters
    end

    function loops.cache_get(iters)
        local t0 = now()
        for _ = 1, iters do
            if not c:get(tok, ver) then
                return -1
            end
        end
        return (now() - t0) / iters
    end

    loops.decide = _M.decide_loop(tok, jwks_text)
    return loops
end


-- decide.verify() per request on a cache hit: request view, transport,
-- parse, structure, signature (cache), time, kid and anti-CSRF checks,
-- session.  Nil when the decision modules are not there yet.
function _M.decide_loop(tok, jwks_text)
    local ok, decide = pcall(require, "resty.supertokens.decide")
    local ok2, config = pcall(require, "resty.supertokens.config")
    local ok3, shell = pcall(require, "resty.supertokens")
    if not (ok and ok2 and ok3 and shell.request_view) then
        return nil
    end
    local keys = require "resty.supertokens.keys"
    local conf = assert(config.new({
        app_info = { api_domain = "http://localhost:3001",
                     website_domain = "http://localhost:3000" },
        jwks = jwks_text, token_cache_size = 1000,
    }))
    local e = assert(keys.new(conf))
    local route = decide.route({})
    local env = {
        now_ms = function() return ngx.now() * 1000 end,
        check_signature = function(t, info)
            return e:check_signature(t, info)
        end,
        parse = e.parse and function(t) return e:parse(t) end,
    }
    local headers = { authorization = "Bearer " .. tok,
                      host = "127.0.0.1", ["user-agent"] = "wrk" }
    local request_view = shell.request_view
    local first = decide.verify(conf, route,
                                request_view("GET", "/api/user", headers),
                                env)
    if not first.pass then
        return nil
    end
    local now = stb.now
    return function(iters)
        local t0 = now()
        for _ = 1, iters do
            local req = request_view("GET", "/api/user", headers)
            if not decide.verify(conf, route, req, env).pass then
                return -1
            end
        end
        return (now() - t0) / iters
    end, conf
end


return _M
