-- resty.supertokens.reasons: the catalogue covers every code the C
-- library and the decision core emit, and every entry is complete.

local reasons = require "resty.supertokens.reasons"
local nginx = require "spec.helpers.nginx"
local files = require "spec.helpers.files"

local TOP = nginx.TOP

local function read(path)
    return files.must_read(TOP .. "/" .. path)
end

local function exists(path)
    local f = io.open(TOP .. "/" .. path, "rb")
    if f then
        f:close()
        return true
    end
    return false
end

-- Reason codes written as string literals in the emitting modules, found
-- by the call shapes the decision core uses.
local PATTERNS = {
    ["lua/resty/supertokens/decide.lua"] = {
        'try_refresh%(conf, "([%w_]+)"%)',
        'internal_error%("([%w_]+)"',
        'unauthorised%(conf, %w+, "([%w_]+)"%)',
        'pass%("[%w_]+", "([%w_]+)"%)',
        'return nil, "([%w_]+)"',
        '"(anti_csrf_[%w_]+)"',
    },
    ["lua/resty/supertokens/token.lua"] = {
        'return nil, "([%w_]+)"',
        'return "([%w_]+)"',
    },
    ["lua/resty/supertokens/csrf.lua"] = {
        '"(anti_csrf_[%w_]+)"',
    },
    ["lua/resty/supertokens/claims.lua"] = {
        'internal_error%("([%w_]+)"',
        '"(core_[%w_]+)"',
        '"(unknown_user_id)"',
    },
    ["lua/resty/supertokens/outcome.lua"] = {
        '"invalid_claim",%s*"([%w_]+)"',
    },
}

-- Not reason codes although they match a pattern above.
local NOT_CODES = {
    ["lua/resty/supertokens/token.lua"] = { string = true, number = true },
}

describe("reason catalogue", function()
    it("covers every libstjwt status name", function()
        local c = read("csrc/stjwt.c")
        local n = 0
        for name in c:gmatch('%[STJWT_E_[%u_]+%]%s*=%s*"([%w_]+)"') do
            n = n + 1
            assert.is_table(reasons.get(name), "C code " .. name)
        end
        assert.truthy(n >= 20, "found only " .. n .. " C codes")
        assert.is_table(reasons.get("unknown"))
    end)

    it("covers every code the decision core emits", function()
        local missing, seen = {}, 0
        for path, pats in pairs(PATTERNS) do
            if exists(path) then
                local src = read(path)
                for _, pat in ipairs(pats) do
                    for code in src:gmatch(pat) do
                        local skip = NOT_CODES[path] and NOT_CODES[path][code]
                        if not skip then
                            seen = seen + 1
                            if not reasons.get(code) then
                                missing[#missing + 1] = path .. ": " .. code
                            end
                        end
                    end
                end
            end
        end
        assert.truthy(seen >= 20, "found only " .. seen .. " codes")
        assert.same({}, missing)
    end)

    it("covers the decision's reason codes and the key engine's reasons", function()
        for _, code in ipairs({
            "options", "trace", "refresh_path", "no_token", "token_ignored",
            "legacy_id_refresh_token", "multiple_access_token_cookies",
            "anti_csrf_rid_missing", "anti_csrf_header_missing",
            "anti_csrf_mismatch", "anti_csrf_claim_missing", "expired",
            "not_before", "bad_time_claim", "kid_type_mismatch",
            "kid_not_string", "core_try_refresh", "core_unauthorised",
            "regenerate_unauthorised", "claims", "core_unavailable",
            "core_bad_response", "claim_fetch_failed", "unknown_user_id",
            "jwks_unavailable", "internal",
        }) do
            assert.is_table(reasons.get(code), code)
        end
    end)

    it("has a complete entry for every code", function()
        local classes = { unauthorised = true, try_refresh = true,
                          invalid_claim = true, error = true,
                          skipped = true }
        local stages = { flow = true, parse = true, signature = true,
                         jwks = true, core = true, claims = true }
        for code, e in pairs(reasons.CODES) do
            assert.truthy(code:match("^[a-z][a-z0-9_]*$"), code)
            assert.truthy(classes[e.class], code)
            assert.truthy(stages[e.stage], code)
            assert.truthy(#e.text > 20 and e.text:match("%.$"), code)
            assert.truthy(#e.frontend > 20, code)
            assert.is_boolean(e.clears)
            if e.class == "skipped" then
                assert.is_nil(e.sdk_body)
            else
                assert.truthy(e.sdk_body:match('^{"message":"'), code)
            end
            if e.clears then
                assert.equal("unauthorised", e.class, code)
                assert.equal(reasons.FRONTEND.unauthorised_cleared,
                             e.frontend)
            end
        end
        -- the SDK's exact bodies (spec 5.1)
        assert.equal('{"message":"try refresh token"}',
                     reasons.get("expired").sdk_body)
        assert.equal('{"message":"unauthorised"}',
                     reasons.get("no_token").sdk_body)
        assert.is_true(reasons.get("core_unauthorised").clears)
        assert.is_false(reasons.get("no_token").clears)
        assert.equal("try_refresh", reasons.get("bad_signature").class)
        assert.equal("parse", reasons.get("bad_base64").stage)
    end)

    it("resolves aliases and splits decision details", function()
        local e, canonical = reasons.get("not_yet_valid")
        assert.equal("not_before", canonical)
        assert.equal(reasons.CODES.not_before, e)
        for alias, code in pairs(reasons.ALIASES) do
            assert.is_table(reasons.CODES[code], alias)
            assert.is_nil(reasons.CODES[alias], alias)
        end
        assert.is_nil(reasons.get("no_such_code"))
        assert.is_nil(reasons.get(nil))
        local d = reasons.details("header:bad_json,cookie:structure")
        assert.equal(2, #d)
        assert.same({ "header", "bad_json" }, { d[1].where, d[1].code })
        assert.equal(reasons.CODES.structure, d[2].entry)
        assert.same({}, reasons.details(nil))
    end)

    it("describes a decision in one line", function()
        local line = reasons.describe({ class = "unauthorised",
                                        reason = "core_unauthorised",
                                        clear = true })
        assert.truthy(line:find("^401 unauthorised %(core_unauthorised%)"))
        assert.truthy(line:find("does NOT refresh", 1, true))
        line = reasons.describe({ class = "try_refresh", reason = "expired" })
        assert.truthy(line:find("session/refresh", 1, true))
    end)
end)
