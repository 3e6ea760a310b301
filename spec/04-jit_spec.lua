-- The hot path must JIT-compile: verify/check_signature/parse loops run
-- with jit.v logging to a file, which must show the loops traced and no
-- "NYI" fallback or trace abort (lua-resty-core t/TestCore.pm style).
-- cjson.decode is a classic C function: LuaJIT 2.1 stitches around it,
-- which is logged as "stitch", not as an abort.

local keys = require "spec.helpers.keys"

local ITERATIONS = 500

describe("JIT compilation of the hot path", function()
    local jwt, v, ks, token, log_path

    setup(function()
        jwt = require "resty.supertokens.jwt"
        local k = keys.rsa(2048, "jit-1")
        ks = assert(jwt.keyset(keys.jwks({ k })))
        v = jwt.verifier()
        token = keys.token(k, "RS256", nil,
            { sub = "user-1", exp = 4102444800, iat = 1700000000,
              tId = "public", sessionHandle = "h", rsub = "user-1" })
        log_path = keys.tmpdir() .. "/jit.log"
        -- First calls resolve the clib symbols; a trace recorded before
        -- that aborts with "symbol not in cache".
        assert(v:verify(ks, token))
        assert(v:parse(token))
        assert(v:check_signature(ks, token))
    end)

    teardown(function()
        keys.cleanup()
    end)

    -- Run fn with jit.v on and return the log lines.  Garbage with
    -- finalizers from earlier tests is collected first: a finalizer run
    -- while recording aborts that trace for reasons unrelated to fn.
    local function traced(fn)
        local jit_v = require "jit.v"
        assert.is_true((jit.status()))
        jit.flush()
        collectgarbage()
        collectgarbage()
        os.remove(log_path)
        jit_v.on(log_path)
        local ok, err = pcall(fn)
        jit_v.off()
        assert(ok, err)
        local lines = {}
        for line in io.lines(log_path) do
            lines[#lines + 1] = line
        end
        return lines, table.concat(lines, "\n")
    end

    -- A trace that meets a hot loop it did not start in stops ("inner
    -- loop in root trace", "leaving loop in root trace"); then either the
    -- loop gets a trace of its own that later traces link to, or, after
    -- such aborts, an outer trace unrolls it: LuaJIT's normal ways into a
    -- short nested loop (the payload members loop).  Which one happens
    -- depends on shared hot counters (memory layout), so only "nothing is
    -- blacklisted" and "our code was compiled" are asserted.
    local NESTED_LOOP = { "inner loop in root trace",
                          "leaving loop in root trace" }

    local function nested_loop_abort(line)
        for _, why in ipairs(NESTED_LOOP) do
            if line:find(why, 1, true) then
                return true
            end
        end
        return false
    end

    -- Where a trace starts: "jwt.lua" in "[TRACE --- (2/3) jwt.lua:431 --".
    -- Traces of busted's own code (its environment.lua runs hot too) are
    -- not judged.
    local OURS = { ["jwt.lua"] = true, ["ffi.lua"] = true,
                   ["04-jit_spec.lua"] = true }

    local function started_in_ours(line)
        local rest = line:gsub("^%[TRACE%s+[%d%-]+%s+", ""):gsub("^%b()%s*", "")
        return OURS[rest:match("^([%w%-_]+%.lua):")] == true
    end

    -- No NYI, no other abort, and our code was compiled: a trace starts in
    -- the loop or in jwt.lua.  (Whether LuaJIT also closes the spec's own
    -- loop into a trace depends on shared hot counters; not asserted.)
    local function assert_compiled(lines, text)
        assert.is_nil(text:find("blacklisted", 1, true), text)
        for _, line in ipairs(lines) do
            if line:match("^%[TRACE %-%-%-") and started_in_ours(line) then
                assert.is_nil(line:find("NYI", 1, true), text)
                assert.is_true(nested_loop_abort(line), text)
            end
        end
        assert.is_truthy(text:match("%[TRACE%s+%d+ [^%]]-jwt%.lua:%d+")
                         or text:match("%[TRACE%s+%d+ 04%-jit_spec%.lua:"),
                         text)
    end

    it("verify() compiles without NYI or aborts", function()
        local n = 0
        local lines, text = traced(function()
            for _ = 1, ITERATIONS do
                local res = v:verify(ks, token)
                if res and res.payload.sub == "user-1" then
                    n = n + 1
                end
            end
        end)
        assert.equal(ITERATIONS, n)
        assert_compiled(lines, text)
    end)

    it("check_signature() compiles into a looping trace", function()
        local n = 0
        local lines, text = traced(function()
            for _ = 1, ITERATIONS do
                if v:check_signature(ks, token) then
                    n = n + 1
                end
            end
        end)
        assert.equal(ITERATIONS, n)
        assert_compiled(lines, text)
    end)

    it("parse() and failing verifies compile too", function()
        local bad = keys.tamper(token)
        local n = 0
        local lines, text = traced(function()
            for _ = 1, ITERATIONS do
                local res = v:parse(token)
                local no, reason = v:verify(ks, bad)
                if res and not no and reason == "bad_signature" then
                    n = n + 1
                end
            end
        end)
        assert.equal(ITERATIONS, n)
        assert_compiled(lines, text)
    end)
end)
