-- The payload as node prints it (JSON.stringify(JSON.parse(text))) in the
-- /api/user body and the payload identity header: resty.supertokens'
-- payload_text() in a real nginx against node's own output for the
-- payloads of spec/fixtures/flow/js-payloads.json (gen-js-payloads.js):
-- core-like ones go through as they are, the others (whitespace, escapes,
-- fractions, exponents, -0, long integers, array-index member names,
-- U+2028) are printed again as JavaScript prints them.

local cjson = require "cjson.safe"
local nginx = require "spec.helpers.nginx"
local http = require "spec.helpers.http"

describe("payload text as node prints it", function()
    local srv

    setup(function()
        srv = nginx.start({ workers = 1, server = [[
            location = /payload-text {
                content_by_lua_block {
                    local cjson = require "cjson.safe"
                    local st = require "resty.supertokens"
                    local f = assert(io.open("]] .. nginx.TOP
                        .. [[/spec/fixtures/flow/js-payloads.json"))
                    local cases = assert(cjson.decode(f:read("*a"))).cases
                    f:close()
                    local out = { n = #cases, wrong = {}, slow = {},
                                  fast = 0 }
                    for i, c in ipairs(cases) do
                        local got = st._payload_text(c.text)
                        if got ~= c.node then
                            out.wrong[#out.wrong + 1] = { i = i, got = got,
                                                          want = c.node }
                        end
                        if st._js_plain(c.text) then
                            out.fast = out.fast + 1
                        elseif c.plain then
                            out.slow[#out.slow + 1] = i
                        end
                    end
                    ngx.say(cjson.encode(out))
                }
            }
            location = /identity {
                content_by_lua_block {
                    local st = require "resty.supertokens"
                    local conf = { upstream_headers = { payload = "X-P" } }
                    local out = {}
                    for _, json in ipairs({ '{"a": 1.50,"9":2,"10":3}',
                                            '{"a":"\\u007f"}',
                                            '{"a":"\\u2028"}' }) do
                        local list = st.identity_headers(conf,
                                                         { payload_json = json })
                        out[#out + 1] = list[1] and list[1][2] or "(dropped)"
                    end
                    ngx.say(table.concat(out, "\n"))
                }
            }
        ]] })
    end)

    teardown(function()
        if srv then
            srv:stop()
        end
    end)

    it("matches node on every payload, core-like ones without a reparse",
       function()
        local res = assert(http.request(srv.port, { path = "/payload-text" }))
        assert.equal(200, res.status, res.body)
        local out = assert(cjson.decode(res.body))
        assert.equal(447, out.n)
        assert.same({}, out.wrong)
        assert.same({}, out.slow)
        -- the fast path is only taken where the text is node's already
        assert.is_true(out.fast >= 40 and out.fast <= 64, out.fast)
    end)

    it("the payload identity header: node's form; a DEL stays escaped",
       function()
        local res = assert(http.request(srv.port, { path = "/identity" }))
        assert.equal(200, res.status, res.body)
        assert.equal('{"9":2,"10":3,"a":1.5}\n'
                     .. '{"a":"\\u007f"}\n'
                     .. '{"a":"\226\128\168"}\n', res.body)
    end)
end)
