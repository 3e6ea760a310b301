-- resty.supertokens.http inside a real nginx: framing, limits, timeouts,
-- keepalive, header injection, TLS verification.  The cases run in nginx
-- (spec/fixtures/openresty/http_cases.lua) against backends of the same
-- nginx; this file checks what they report.

local cjson = require "cjson.safe"
local nginx = require "spec.helpers.nginx"
local http = require "spec.helpers.http"



local function sh(cmd)
    assert(nginx.sh(cmd))
end


local function make_certs(dir)
    sh("cd " .. dir .. " && "
       .. "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key "
       .. "-out ca.pem -days 2 -subj /CN=st-test-ca && "
       .. "openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr "
       .. "-subj /CN=localhost && "
       .. "printf 'subjectAltName=DNS:localhost\\n' > ext.cnf && "
       .. "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key "
       .. "-CAcreateserial -out srv.pem -days 2 -extfile ext.cnf && "
       .. "openssl req -x509 -newkey rsa:2048 -nodes -keyout bad.key "
       .. "-out bad.pem -days 2 -subj /CN=localhost "
       .. "-addext subjectAltName=DNS:localhost")
end


describe("resty.supertokens.http in nginx", function()
    local srv, certs

    setup(function()
        local _, out = nginx.sh("mktemp -d /tmp/st-certs-XXXXXX")
        certs = out:gsub("%s+$", "")
        make_certs(certs)

        local short_port = nginx.free_port()
        local tls_port = nginx.free_port()
        local tls_bad_port = nginx.free_port()
        local dead_port = nginx.free_port()

        local backend = [[
            location = /b/echo { content_by_lua_block {
                ngx.req.read_body()
                local body = require("cjson").encode({
                    method = ngx.req.get_method(),
                    uri = ngx.var.request_uri,
                    headers = ngx.req.get_headers(),
                    body = ngx.req.get_body_data(),
                    reqs = tonumber(ngx.var.connection_requests),
                })
                ngx.header.content_type = "application/json"
                ngx.header.content_length = #body
                ngx.print(body)
            } }
        ]]

        srv = nginx.start({
            http = table.concat({
                "lua_ssl_trusted_certificate " .. certs .. "/ca.pem;",
                "lua_ssl_verify_depth 3;",
                -- backend that drops idle connections after 1 s
                "server { listen 127.0.0.1:" .. short_port .. ";",
                "keepalive_timeout 1s;", backend, "}",
                "server { listen 127.0.0.1:" .. tls_port .. " ssl;",
                "ssl_certificate " .. certs .. "/srv.pem;",
                "ssl_certificate_key " .. certs .. "/srv.key;",
                backend, "}",
                "server { listen 127.0.0.1:" .. tls_bad_port .. " ssl;",
                "ssl_certificate " .. certs .. "/bad.pem;",
                "ssl_certificate_key " .. certs .. "/bad.key;",
                backend, "}",
            }, "\n"),
            server = backend .. [=[
                location = /b/chunked { content_by_lua_block {
                    ngx.print("hel") ngx.flush(true) ngx.print("lo")
                } }
                location = /b/big { content_by_lua_block {
                    local n = tonumber(ngx.var.arg_n)
                    ngx.header.content_length = n
                    if ngx.req.get_method() == "HEAD" then return end
                    local piece = string.rep("x", 65536)
                    while n > 0 do
                        local k = math.min(n, 65536)
                        local ok = ngx.print(k == 65536 and piece
                                             or piece:sub(1, k))
                        if not ok or not ngx.flush(true) then return end
                        n = n - k
                    end
                } }
                location = /b/bigchunked { content_by_lua_block {
                    local n = tonumber(ngx.var.arg_n)
                    local piece = string.rep("y", 65536)
                    while n > 0 do
                        local k = math.min(n, 65536)
                        ngx.print(k == 65536 and piece or piece:sub(1, k))
                        if not ngx.flush(true) then return end
                        n = n - k
                    end
                } }
                location = /b/slow { content_by_lua_block {
                    ngx.sleep(tonumber(ngx.var.arg_ms) / 1000)
                    ngx.say("ok")
                } }
                location = /b/drip { content_by_lua_block {
                    for _ = 1, 30 do
                        ngx.print("x")
                        if not ngx.flush(true) then return end
                        ngx.sleep(0.1)
                    end
                } }
                location = /b/close {
                    keepalive_timeout 0;
                    content_by_lua_block { ngx.print("bye") }
                }
                location = /rawclose { content_by_lua_block {
                    ngx.req.read_body()
                    local sock = ngx.req.socket(true)
                    sock:send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                              .. "\r\nfirst")
                    sock:settimeout(5000)
                    sock:receiveuntil("\r\n\r\n")()
                    ngx.exit(444)
                } }
                location ~ ^/raw/(.+)$ { content_by_lua_block {
                    local sock = ngx.req.socket(true)
                    local cases = require "spec.fixtures.openresty.http_cases"
                    sock:send(cases.RAW[ngx.var[1]])
                    ngx.exit(444)
                } }
                location ~ ^/t/(.+)$ { content_by_lua_block {
                    local cases = require "spec.fixtures.openresty.http_cases"
                    local res = cases.run(ngx.var[1], {
                        port = ngx.var.server_port,
                        short_port = ]=] .. short_port .. [=[,
                        tls_port = ]=] .. tls_port .. [=[,
                        tls_bad_port = ]=] .. tls_bad_port .. [=[,
                        dead_port = ]=] .. dead_port .. [=[,
                    })
                    ngx.say(require("cjson").encode(res))
                } }
            ]=],
        })
    end)

    teardown(function()
        if srv then
            srv:stop()
        end
        if certs then
            os.execute("rm -rf '" .. certs .. "'")
        end
    end)

    local function run(name)
        local res = assert(http.request(srv.port, { path = "/t/" .. name,
                                                    timeout = 20 }))
        assert.equal(200, res.status, res.body)
        return assert(cjson.decode(res.body))
    end

    it("reads a Content-Length body and sends Host/User-Agent", function()
        local r = run("content_length")
        assert.is_nil(r.err)
        assert.equal(200, r.status)
        local echo = cjson.decode(r.body)
        assert.equal("GET", echo.method)
        assert.equal("/b/echo?x=1", echo.uri)
        assert.equal("v", echo.headers["x-test"])
        assert.equal("127.0.0.1:" .. srv.port, echo.headers.host)
        assert.matches("^lua%-resty%-supertokens/", echo.headers["user-agent"])
        assert.equal("application/json", r.headers["content-type"])
    end)

    it("sends a POST body with its Content-Length", function()
        local r = run("post_body")
        local echo = cjson.decode(r.body)
        assert.equal("POST", echo.method)
        assert.equal('{"a":1}', echo.body)
        assert.equal("7", echo.headers["content-length"])
    end)

    it("reassembles a chunked body", function()
        local r = run("chunked")
        assert.is_nil(r.err)
        assert.equal("hello", r.body)
    end)

    it("reads no body for HEAD", function()
        local r = run("head")
        assert.is_nil(r.err)
        assert.equal(200, r.status)
        assert.equal("", r.body)
    end)

    it("accepts a body of exactly max_body_size", function()
        local r = run("big_under")
        assert.is_nil(r.err)
        assert.equal(5000, r.body_len)
    end)

    it("refuses a Content-Length over max_body_size", function()
        local r = run("big_over_cl")
        assert.matches("body too large", r.err)
        assert.is_nil(r.status)
    end)

    it("aborts a chunked body once over max_body_size", function()
        local r = run("big_over_chunked")
        assert.matches("body too large", r.err)
    end)

    it("refuses a 100 MB body quickly", function()
        local r = run("huge_over")
        assert.matches("body too large", r.err)
        assert.is_true(r.ms < 1000, "took " .. r.ms .. " ms")
    end)

    it("rejects CR/LF in header values, bad names, framing headers",
       function()
        assert.matches("control character in header value",
                       run("crlf_value").err)
        assert.matches("control character in header value",
                       run("lf_value").err)
        assert.matches("bad header name", run("bad_name").err)
        assert.matches("header is set by the client: content%-length",
                       run("smuggle_cl").err)
        assert.matches("bad url", run("crlf_path").err)
    end)

    it("gives up after read_timeout", function()
        local r = run("read_timeout")
        assert.matches("timeout", r.err)
        assert.is_true(r.ms >= 150 and r.ms < 1000, "took " .. r.ms)
    end)

    it("bounds the whole exchange with timeout (slow drip)", function()
        local r = run("total_timeout")
        assert.matches("timeout", r.err)
        assert.is_true(r.ms < 1200, "took " .. r.ms)
    end)

    it("reports a refused connection with stage 'connect'", function()
        local r = run("connect_refused")
        assert.matches("connect: connection refused", r.err)
        assert.equal("connect", r.stage)
    end)

    it("reuses a connection whose body was read completely", function()
        local r = run("keepalive")
        assert.equal(1, cjson.decode(r.a.body).reqs)
        assert.equal(2, cjson.decode(r.b.body).reqs)
    end)

    it("does not pool a connection after an aborted body", function()
        local r = run("no_keepalive_after_abort")
        assert.matches("body too large", r.a.err)
        assert.equal(1, cjson.decode(r.b.body).reqs)
    end)

    it("does not pool a connection the server closes", function()
        local r = run("connection_close")
        assert.equal("bye", r.a.body)
        assert.equal(1, cjson.decode(r.b.body).reqs)
    end)

    it("drops pooled connections the server closed while idle", function()
        local r = run("idle_closed")
        assert.is_nil(r.a.err)
        assert.is_nil(r.b.err)
        assert.equal(1, cjson.decode(r.b.body).reqs)
    end)

    it("resends a GET once when a reused connection dies before answering",
       function()
        local r = run("stale_pooled")
        assert.is_nil(r.a.err)
        assert.is_nil(r.b.err)
        assert.equal("first", r.b.body)
    end)

    it("never resends a POST", function()
        local r = run("stale_pooled_post")
        assert.is_nil(r.a.err)
        assert.matches("read: closed", r.b.err)
        assert.equal("read", r.b.stage)
    end)

    describe("malformed responses", function()
        it("conflicting Content-Length", function()
            assert.matches("conflicting content%-length",
                           run("raw_conflicting_cl").err)
        end)
        it("bad status line", function()
            assert.matches("bad status line", run("raw_bad_status").err)
            assert.matches("bad status line", run("raw_long_status").err)
        end)
        it("header line without colon", function()
            assert.matches("bad header line", run("raw_no_colon").err)
        end)
        it("obsolete line folding", function()
            assert.matches("bad header line", run("raw_obs_fold").err)
        end)
        it("bad chunk size", function()
            assert.matches("bad chunk size", run("raw_bad_chunk").err)
        end)
        it("header section over the limit", function()
            assert.matches("response header too large",
                           run("raw_huge_header").err)
        end)
        it("skips a 100 Continue", function()
            local r = run("raw_interim")
            assert.is_nil(r.err)
            assert.equal(200, r.status)
            assert.equal("ok", r.body)
        end)
        it("Transfer-Encoding wins over Content-Length", function()
            local r = run("raw_te_and_cl")
            assert.is_nil(r.err)
            assert.equal("ok", r.body)
        end)
        it("reads to close without framing", function()
            local r = run("raw_to_close")
            assert.is_nil(r.err)
            assert.equal("until close", r.body)
        end)
        it("tolerates bare LF line ends", function()
            local r = run("raw_lf_only")
            assert.is_nil(r.err)
            assert.equal("ok", r.body)
        end)
        it("keeps duplicate headers as a list", function()
            local r = run("raw_dup_header")
            assert.same({ "1", "2" }, r.headers["x-d"])
        end)
    end)

    describe("TLS", function()
        it("verifies the chain and the name (SNI from the URL)", function()
            local r = run("tls_ok")
            assert.is_nil(r.err)
            assert.equal(200, r.status)
        end)
        it("uses ssl_server_name for SNI and the name check", function()
            local r = run("tls_name_override")
            assert.is_nil(r.err)
            assert.equal(200, r.status)
        end)
        it("fails on a name mismatch", function()
            local r = run("tls_wrong_name")
            assert.matches("tls: handshake", r.err)
        end)
        it("fails on an untrusted certificate", function()
            local r = run("tls_untrusted")
            assert.matches("tls: handshake", r.err)
        end)
        it("ssl_verify = false skips verification", function()
            local r = run("tls_untrusted_noverify")
            assert.is_nil(r.err)
            assert.equal(200, r.status)
        end)
    end)

    it("rejects unusable URLs", function()
        local errs = run("bad_urls").errs
        assert.equal(6, #errs)
        for _, e in ipairs(errs) do
            assert.matches("^supertokens%.http: bad url", e)
        end
    end)

    it("parses URLs", function()
        assert.same({
            "http|127.0.0.1|3567|127.0.0.1:3567|/",
            "https|Core.Example|443|Core.Example|/",
            "http|h|80|h|/appid-1/x?y=1",
            "http|::1|8080|[::1]:8080|/p",
            "http|h|80|h|/?q",
        }, run("parse_url").parsed)
    end)

    -- Core calls and JWKS fetches both take their request options from
    -- http.options(conf.http, ...).
    it("builds request options from the http settings", function()
        local r = run("options")
        assert.same({ url = "http://h/", method = "GET",
                      connect_timeout = 1000, send_timeout = 5000,
                      read_timeout = 5000, timeout = 11000 }, r.defaults)
        assert.same({ url = "http://h/x", method = "POST",
                      headers = { a = "b" }, body = "{}",
                      connect_timeout = 10, send_timeout = 20,
                      read_timeout = 30, timeout = 60, max_body_size = 40,
                      ssl_verify = false, keepalive_timeout = 50,
                      keepalive_pool = 60 }, r.given)
    end)

    it("takes a user client table (http_client hook)", function()
        local r = run("hook_table")
        assert.equal("http://x/y", r.seen)
        assert.equal("from hook", r.body)
    end)

    it("adapts a lua-resty-http shaped module", function()
        local r = run("hook_resty_http_shape")
        assert.equal(200, r.status)
        assert.equal("POST", r.calls.method)
        assert.equal(11, r.calls.timeouts[1])
        assert.equal("application/json", r.ctype)
    end)

    it("logged no Lua errors", function()
        local log = srv:error_log()
        assert.not_matches("runtime error", log)
        assert.not_matches("%[alert%]", log)
    end)
end)
