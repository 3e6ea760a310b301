-- Secrets hygiene, last in `make test`: every nginx error/access log and
-- response body the suites left in build/test-logs (spec/helpers/
-- hygiene.lua; nginx.lua's stop() hook collects every instance once the
-- lead adds it), and the logs of kept conformance runs, must not contain:
--   * a segment of a token the suites sent (40+ consecutive characters of
--     any registered header/payload/signature segment, or of a token found
--     in spec/fixtures),
--   * a JOSE header / JSON payload segment at all ("eyJ" + 20 base64url
--     characters) - whoever sent it,
--   * the test API keys, JWK "n" values of the test keys, PEM armour or
--     base64 DER of an RSA key.
-- After a clean scan the collected files are removed (a new run starts
-- empty); after a failed one they stay for inspection.
--
-- ST_HYGIENE_REQUIRE=1 (set by mk/90-hardening.mk) fails when there is
-- nothing to scan (the suites did not run or did not collect).

local hygiene = require "spec.helpers.hygiene"

local TOP = hygiene.TOP


local function ls(pattern)
    local p = io.popen("ls -d " .. pattern .. " 2>/dev/null")
    local out = {}
    for line in p:lines() do
        out[#out + 1] = line
    end
    p:close()
    return out
end


local function find_files(dir, name_pattern)
    local p = io.popen("find '" .. dir .. "' -type f -name '" .. name_pattern
                       .. "' 2>/dev/null")
    local out = {}
    for line in p:lines() do
        out[#out + 1] = line
    end
    p:close()
    return out
end


-- Token-shaped strings and JWK "n" values in the fixtures: what other
-- suites send without registering it.
local function fixture_material()
    local segments, secrets = {}, {}
    local files = find_files(TOP .. "/spec/fixtures", "*.json")
    for _, f in ipairs(find_files(TOP .. "/spec/fixtures", "*.lua")) do
        files[#files + 1] = f
    end
    for _, path in ipairs(files) do
        local text = hygiene.read_file(path) or ""
        -- JWS compact (base64url or padded standard base64 segments),
        -- found from their "eyJ" start (a JSON header)
        local i = text:find("eyJ", 1, true)
        while i do
            local tok = text:match("^[%w%-_+/=]+%.[%w%-_+/=]+%.[%w%-_+/=]+",
                                   i)
            if tok then
                for seg in tok:gmatch("[^.=]+") do
                    if #seg >= hygiene.WINDOW then
                        segments[#segments + 1] = seg
                    end
                end
            end
            i = text:find("eyJ", i + (tok and #tok or 3), true)
        end
        for n in text:gmatch('"n"%s*:%s*"([%w%-_]+)"') do
            if #n >= 64 then
                secrets[#secrets + 1] = { "fixture_jwk_n", n }
            end
        end
    end
    return segments, secrets
end


-- Conformance runs that were kept (failures, CONFORMANCE_KEEP=1): their
-- process and gateway logs, and their keys as secrets.
local function conformance_material()
    local files, secrets = {}, {}
    local dirs = ls((os.getenv("TMPDIR") or "/tmp") .. "/st-conformance-*")
    for _, dir in ipairs(dirs) do
        for _, f in ipairs(find_files(dir, "*.log")) do
            files[#files + 1] = f
        end
        local keys = hygiene.read_file(dir .. "/keys.json")
        if keys then
            for n in keys:gmatch('"n"%s*:%s*"([%w%-_]+)"') do
                secrets[#secrets + 1] = { "conformance_jwk_n", n }
            end
        end
    end
    return files, secrets
end


describe("secrets hygiene", function()
    local reg, sources

    setup(function()
        local segs, fsecrets = fixture_material()
        local cfiles, csecrets = conformance_material()
        local extra = {}
        for _, s in ipairs(fsecrets) do
            extra[#extra + 1] = s
        end
        for _, s in ipairs(csecrets) do
            extra[#extra + 1] = s
        end
        reg = hygiene.load_registry(segs, extra)
        sources = {}
        local dir = hygiene.dir()
        for _, f in ipairs(ls("'" .. dir .. "'/nginx-*.log")) do
            sources[#sources + 1] = f
        end
        for _, f in ipairs(ls("'" .. dir .. "'/bodies-*.txt")) do
            sources[#sources + 1] = f
        end
        for _, f in ipairs(cfiles) do
            sources[#sources + 1] = f
        end
    end)

    describe("the scanner itself", function()
        local tok_seg = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEfGhIjKl"

        it("finds a registered segment, also cut and embedded", function()
            local r = { windows = {}, secrets = {}, n_segments = 0 }
            hygiene.add_segment(r, tok_seg)
            local text = "kid=x detail=" .. tok_seg:sub(3, -2) .. " more"
            local f = hygiene.scan(text, r)
            assert.equal(1, #f)
            assert.equal("token_segment", f[1].kind)
            -- the finding shows no more than 4 characters of the secret
            assert.is_nil(f[1].excerpt:find(tok_seg:sub(5, 12), 1, true))
        end)

        it("finds JOSE segments, API keys, PEM armour, DER keys", function()
            local r = { windows = {}, n_segments = 0,
                        secrets = { { "api_key", "my-test-api-key-1" } } }
            local cases = {
                { "jose_segment", "x eyJhbGciOiJSUzI1NiIsInR5cCI6 y" },
                { "secret:api_key", "api-key: my-test-api-key-1\n" },
                { "pem_marker", "-----BEGIN PRIVATE KEY-----" },
                { "der_key", "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" },
            }
            for _, c in ipairs(cases) do
                local f = hygiene.scan(c[2], r)
                assert.is_true(#f >= 1, c[1])
                assert.equal(c[1], f[1].kind)
            end
        end)

        it("does not flag ordinary log lines", function()
            local r = { windows = {}, secrets = {}, n_segments = 0 }
            hygiene.add_segment(r, tok_seg)
            local text = "2026/01/01 [warn] 1#1: *2 [lua] supertokens.lua:194:"
                .. " log_reject(): supertokens: reject status=401 class="
                .. "try_refresh reason=unknown_kid detail=- method=GET "
                .. "route=/api/user transfer=header kid=d-1795775073522 "
                .. "alg=RS256 session=2ca7b209-085c-402a-97da-f2d5a6390403\n"
                .. '{"message":"try refresh token"}\n'
                .. '{"note":"x","userId":"user-1","userDataInAccessToken":'
                .. '{"sub":"user-1","exp":4102444800}}\n'
            assert.same({}, hygiene.scan(text, r))
        end)
    end)

    it("no log or body the suites wrote holds a token, key or API key",
       function()
        if os.getenv("ST_HYGIENE_REQUIRE") == "1" then
            assert.is_true(#sources > 0, "nothing collected in "
                           .. hygiene.dir())
            assert.is_true(reg.n_segments > 0, "no token registered")
        end
        local report = {}
        local total = 0
        for _, path in ipairs(sources) do
            local text = hygiene.read_file(path) or ""
            total = total + #text
            for _, f in ipairs(hygiene.scan(text, reg)) do
                report[#report + 1] = path .. ":" .. f.line .. ": "
                                      .. f.kind .. " " .. f.excerpt
            end
        end
        print(string.format("hygiene: %d files, %d bytes, %d token "
                            .. "segments, %d secrets", #sources, total,
                            reg.n_segments, #reg.secrets))
        assert.equal(0, #report, "secrets found:\n"
                     .. table.concat(report, "\n", 1,
                                     math.min(#report, 40)))
        -- clean: start the next run empty
        os.execute("rm -f '" .. hygiene.dir() .. "'/nginx-*.log '"
                   .. hygiene.dir() .. "'/bodies-*.txt '" .. hygiene.dir()
                   .. "'/tokens-*.txt '" .. hygiene.dir()
                   .. "'/secrets-*.txt")
    end)
end)
