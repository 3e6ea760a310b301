-- The C boundary: loading libstjwt, the cdef mirror, and the small C
-- helpers called directly through the FFI.

local ffi = require "ffi"

describe("resty.supertokens.ffi", function()
    local stffi, C

    setup(function()
        stffi = require "resty.supertokens.ffi"
        C = stffi.C
    end)

    describe("loading", function()
        it("loads libstjwt from package.cpath", function()
            assert.is_not_nil(C)
            assert.matches("/libstjwt%.so$", stffi.path)
            local f = io.open(stffi.path)
            assert.is_not_nil(f)
            f:close()
        end)

        it("reports the ABI version the cdef was written for", function()
            assert.equal(101, C.stjwt_version())
            assert.equal(stffi.VERSION_NUM, C.stjwt_version())
            assert.equal("0.1.0", stffi._VERSION)
        end)

        it("reads the wall clock in whole milliseconds (Date.now())",
           function()
            local before = os.time() * 1000
            local ms = C.stjwt_now_ms()
            local after = (os.time() + 1) * 1000
            assert.equal(math.floor(ms), ms)
            assert.is_true(ms >= before and ms < after, tostring(ms))
            local t0 = C.stjwt_now_ms()
            local deadline = os.clock() + 1
            local t1 = t0
            while t1 == t0 and os.clock() < deadline do
                t1 = C.stjwt_now_ms()
            end
            assert.is_true(t1 > t0, "the clock does not move")
        end)

        it("fails with every path it tried when the .so is absent",
           function()
            local p = io.popen("LUA_CPATH='/nonexistent/a/?.so;"
                .. "/nonexistent/b/?.so' luajit -e 'local ok, err = "
                .. "pcall(require, \"resty.supertokens.ffi\") "
                .. "io.write(tostring(ok), \"\\n\", err)' 2>&1")
            local out = p:read("*a")
            p:close()
            assert.matches("^false\n", out)
            assert.matches("could not load libstjwt.so", out, 1, true)
            assert.matches("/nonexistent/a/libstjwt.so", out, 1, true)
            assert.matches("/nonexistent/b/libstjwt.so", out, 1, true)
        end)

        it("is the only module declaring stjwt_ symbols", function()
            local p = io.popen("grep -rln 'ffi.cdef' lua bin 2>/dev/null")
            for path in p:lines() do
                local src = assert(io.open(path)):read("*a")
                if src:find("stjwt_", 1, true) then
                    assert.equal("lua/resty/supertokens/ffi.lua", path)
                end
            end
            p:close()
        end)
    end)

    describe("cdef mirror", function()
        it("matches csrc/stjwt.h (tools/check-cdef.lua)", function()
            local p = io.popen("luajit tools/check-cdef.lua . 2>&1")
            local out = p:read("*a")
            local ok = p:close()
            assert.matches("check-cdef: ok", out, 1, true)
            assert.truthy(ok)
        end)

        it("catches a drifted cdef", function()
            local dir = os.tmpname()
            os.remove(dir)
            os.execute("mkdir -p " .. dir .. "/csrc " .. dir
                       .. "/lua/resty/supertokens")
            os.execute("cp csrc/stjwt.h " .. dir .. "/csrc/")
            local src = assert(io.open("lua/resty/supertokens/ffi.lua"))
                :read("*a")
            src = src:gsub("E_CRIT = 7", "E_CRIT = 8", 1)
                     :gsub("uint8_t     legacy;", "uint16_t    legacy;", 1)
            local f = assert(io.open(dir
                             .. "/lua/resty/supertokens/ffi.lua", "w"))
            f:write(src)
            f:close()
            local p = io.popen("luajit tools/check-cdef.lua " .. dir
                               .. " 2>&1")
            local out = p:read("*a")
            p:close()
            os.execute("rm -rf " .. dir)
            assert.matches("RC.E_CRIT is 8", out, 1, true)
            assert.matches("struct stjwt_result_t differs", out, 1, true)
        end)

        it("has the struct sizes pinned in stjwt.c", function()
            assert.equal(16, ffi.sizeof("stjwt_options_t"))
            assert.equal(16, ffi.sizeof("stjwt_keyset_info_t"))
            assert.equal(128, ffi.sizeof("stjwt_result_t"))
            assert.equal(56, ffi.sizeof("stjwt_detached_t"))
        end)
    end)

    describe("stjwt_rc_name", function()
        it("names every status as the lower-cased enum", function()
            local n = 0
            for name, rc in pairs(stffi.RC) do
                if name ~= "RC_MAX" then
                    local want = name:gsub("^E_", ""):lower()
                    assert.equal(want, ffi.string(C.stjwt_rc_name(rc)))
                    n = n + 1
                end
            end
            assert.equal(stffi.RC.RC_MAX, n)
        end)

        it("never returns NULL for out-of-range codes", function()
            for _, rc in ipairs({ -1, stffi.RC.RC_MAX, 1000, -2 ^ 31 }) do
                local p = C.stjwt_rc_name(rc)
                assert.is_true(p ~= nil)
                assert.is_true(#ffi.string(p) > 0)
            end
        end)
    end)

    describe("stjwt_alg_from_name", function()
        local NAMES = {
            RS256 = "RS256", RS384 = "RS384", RS512 = "RS512",
            PS256 = "PS256", PS384 = "PS384", PS512 = "PS512",
            ES256 = "ES256", ES384 = "ES384", ES512 = "ES512",
            EDDSA = "EdDSA", HS256 = "HS256", HS384 = "HS384",
            HS512 = "HS512",
        }

        it("maps every JOSE name to its enum", function()
            for key, name in pairs(NAMES) do
                assert.equal(stffi.ALG[key],
                             C.stjwt_alg_from_name(name, #name))
            end
        end)

        it("returns NONE for none, unknown and near-miss names", function()
            for _, name in ipairs({ "none", "None", "NONE", "rs256", "",
                                    "RS256 ", "RS2560", "ES256K", "Ed25519",
                                    "HS1", "RS256\0" }) do
                assert.equal(stffi.ALG.NONE,
                             C.stjwt_alg_from_name(name, #name), name)
            end
        end)

        it("reads exactly len bytes", function()
            assert.equal(stffi.ALG.RS256, C.stjwt_alg_from_name("RS2567", 5))
            assert.equal(stffi.ALG.NONE, C.stjwt_alg_from_name("RS256", 4))
        end)
    end)

    describe("stjwt_b64url_decode", function()
        local buf = ffi.new("unsigned char[64]")
        local dlen = ffi.new("size_t[1]")

        local function decode(s, cap)
            dlen[0] = cap or 64
            local rc = C.stjwt_b64url_decode(s, #s, buf, dlen)
            if rc ~= 0 then
                return nil, ffi.string(C.stjwt_rc_name(rc))
            end
            return ffi.string(buf, dlen[0])
        end

        it("decodes canonical unpadded base64url", function()
            assert.equal("foo", decode("Zm9v"))
            assert.equal("fo", decode("Zm8"))
            assert.equal("f", decode("Zg"))
            assert.equal("", decode(""))
            assert.equal("\251\255\191", decode("-_-_"))
        end)

        it("rejects padding, the standard alphabet and junk", function()
            for _, s in ipairs({ "Zm8=", "Zg==", "+/+/", "Zm9v ", " Zm9v",
                                 "Zm\n9v", "Z", "Zm9vZ", "Zm9v.", "#" }) do
                local out, err = decode(s)
                assert.is_nil(out, s)
                assert.equal("bad_base64", err, s)
            end
        end)

        it("rejects non-canonical trailing bits", function()
            assert.equal("bad_base64", select(2, decode("Zm9")))
            assert.equal("bad_base64", select(2, decode("Zh")))
        end)

        it("reports too_large when dst is too small", function()
            assert.equal("too_large", select(2, decode("Zm9vYmFy", 5)))
            assert.equal("foobar", decode("Zm9vYmFy", 6))
        end)
    end)

    describe("stjwt_b64_encode", function()
        it("writes padded standard base64 and returns its length", function()
            local dst = ffi.new("char[16]")
            for src, want in pairs({ [""] = "", f = "Zg==", fo = "Zm8=",
                                     foo = "Zm9v", ["\251\255"] = "+/8=" })
            do
                local n = C.stjwt_b64_encode(src, #src, dst)
                assert.equal(#want, tonumber(n))
                assert.equal(want, ffi.string(dst, n))
            end
        end)
    end)

    describe("stjwt_json_check", function()
        local pos = ffi.new("size_t[1]")

        local function check(s, depth, obj)
            pos[0] = 0
            local rc = C.stjwt_json_check(s, #s, depth or 16,
                                          obj == nil and 1 or obj, pos)
            return ffi.string(C.stjwt_rc_name(rc)), tonumber(pos[0])
        end

        it("accepts RFC 8259 objects", function()
            assert.equal("ok", check('{"a":[1,2.5e3,-0,true,null,"\\u00e9"]}'))
            assert.equal("ok", check(' {"a" : {"b":{}} } '))
        end)

        it("rejects duplicates at the top level of an object", function()
            assert.equal("duplicate_member", check('{"a":1,"a":2}'))
            assert.equal("duplicate_member", check('{"a":1,"\\u0061":2}'))
        end)

        it("rejects non-objects when an object is required", function()
            assert.equal("bad_json", check('[1]'))
            assert.equal("ok", check('[1]', 16, 0))
        end)

        it("enforces the depth cap", function()
            local deep = string.rep("[", 20) .. string.rep("]", 20)
            assert.equal("too_deep", check(deep, 16, 0))
            assert.equal("ok", check(deep, 32, 0))
        end)

        it("rejects invalid JSON and reports a position", function()
            local rc, at = check('{"a":1,}')
            assert.equal("bad_json", rc)
            assert.is_true(at >= 6 and at <= 8)
            assert.equal("bad_json", check('{"a":tru}'))
            assert.equal("bad_json", check('{"a":"\237\160\128"}'))
            assert.equal("bad_json", check('{"a":"\\ud800"}'))
            assert.equal("bad_json", check('{"a":01}'))
            assert.equal("bad_json", check(''))
        end)
    end)

    describe("misuse", function()
        local rc = ffi.new("int[1]")
        local msg = ffi.new("const char *[1]")

        it("keyset_new(NULL) is invalid_arg with a static message", function()
            msg[0] = nil
            local ks = C.stjwt_keyset_new(nil, 0, 0, nil, rc, msg)
            assert.is_true(ks == nil)
            assert.equal(stffi.RC.E_INVALID_ARG, rc[0])
            assert.is_true(msg[0] ~= nil)
        end)

        it("free functions accept NULL", function()
            C.stjwt_keyset_free(nil)
            C.stjwt_verifier_free(nil)
        end)

        it("a NULL verifier is rejected, not dereferenced", function()
            local res = ffi.new("stjwt_result_t")
            local tok = "a.b.c"
            assert.equal(stffi.RC.E_INVALID_ARG,
                         C.stjwt_parse(nil, tok, #tok, res, msg))
        end)

        it("verifier_new(NULL) uses the defaults", function()
            local v = C.stjwt_verifier_new(nil, rc, msg)
            assert.is_true(v ~= nil)
            C.stjwt_verifier_free(v)
        end)

        it("no error message contains token bytes", function()
            local v = ffi.gc(C.stjwt_verifier_new(nil, rc, msg),
                             C.stjwt_verifier_free)
            local res = ffi.new("stjwt_result_t")
            local secret = "U0VDUkVUTUFSS0VS" -- "SECRETMARKER"
            for _, tok in ipairs({
                secret, secret .. "." .. secret, "e30." .. secret .. ".e30",
                secret .. "." .. secret .. "." .. secret,
                "eyJhbGciOiJub25lIn0." .. secret .. "." .. secret,
            }) do
                msg[0] = nil
                local r = C.stjwt_parse(v, tok, #tok, res, msg)
                assert.is_true(r ~= 0)
                if msg[0] ~= nil then
                    local m = ffi.string(msg[0])
                    assert.is_nil(m:find("SECRET", 1, true))
                    assert.is_nil(m:find("U0VDUkVU", 1, true))
                end
            end
        end)
    end)
end)
