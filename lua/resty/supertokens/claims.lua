--- Session claim validators: the SDK's PrimitiveClaim / BooleanClaim /
-- PrimitiveArrayClaim validators, EmailVerificationClaim.isVerified and
-- the MFA claim's hasCompletedMFARequirementsForAuth, with their exact
-- failure reasons, plus the refetch step (fetchValue through the core)
-- of recipeImplementation.validateClaims.
--
-- Payloads are jsonjs trees so reasons echo claim values byte for byte.
-- @module resty.supertokens.claims

local jsonjs = require "resty.supertokens.jsonjs"
local normalise = require "resty.supertokens.normalise"
local token = require "resty.supertokens.token"

local find = string.find
local huge = math.huge
local ipairs = ipairs
local pairs = pairs
local tonumber = tonumber
local tostring = tostring
local type = type
local NULL = jsonjs.null
local jget = jsonjs.get
local jset = jsonjs.set


local _M = { _VERSION = "0.1.0" }

local NAN = 0 / 0

-- check -> kind of claim it applies to
local CHECKS = {
    is_verified = "ev",
    has_value = "primitive", is_true = "primitive", is_false = "primitive",
    includes = "array", excludes = "array", includes_all = "array",
    excludes_all = "array", includes_any = "array",
    mfa_completed = "mfa",
}

-- fetchValue of the SDK's built-in claims
local FETCHERS = { ["st-ev"] = "ev", ["st-role"] = "roles",
                   ["st-perm"] = "perms" }

local SPEC_KEYS = { claim = true, check = true, value = true, max_age = true,
                    id = true, refetch_time_on_false = true }


local function is_primitive(v)
    local t = type(v)
    return t == "string" or t == "number" or t == "boolean"
end


--- Validate and compile a list of validator specs (README "Claim validators").
-- @return list of validators, or nil and an error ("[2].value: ...")
function _M.compile(specs)
    if type(specs) ~= "table" then
        return nil, "must be a list of validator specs"
    end
    local out = {}
    for i, spec in ipairs(specs) do
        local at = "[" .. i .. "]"
        if type(spec) ~= "table" then
            return nil, at .. ": must be a table"
        end
        for k in pairs(spec) do
            if not SPEC_KEYS[k] then
                return nil, at .. ": unknown key '" .. tostring(k) .. "'"
            end
        end
        local key, check = spec.claim, spec.check
        if type(key) ~= "string" or key == "" then
            return nil, at .. ".claim: must be a claim key like \"st-role\""
        end
        local kind = CHECKS[check]
        if not kind then
            return nil, at .. ".check: must be one of is_verified, "
                        .. "has_value, is_true, is_false, includes, excludes, "
                        .. "includes_all, excludes_all, includes_any, "
                        .. "mfa_completed"
        end
        if kind == "ev" and key ~= "st-ev" then
            return nil, at .. ".check: is_verified is for claim st-ev"
        end
        if kind == "mfa" and key ~= "st-mfa" then
            return nil, at .. ".check: mfa_completed is for claim st-mfa"
        end
        local max_age = spec.max_age
        if max_age ~= nil and (type(max_age) ~= "number" or max_age < 0) then
            return nil, at .. ".max_age: must be a number of seconds >= 0"
        end
        if spec.id ~= nil and type(spec.id) ~= "string" then
            return nil, at .. ".id: must be a string"
        end
        local value = spec.value
        if check == "is_true" then
            value = true
        elseif check == "is_false" then
            value = false
        elseif check == "is_verified" then
            value = true
        elseif check == "has_value" or check == "includes"
               or check == "excludes"
        then
            if not is_primitive(value) then
                return nil, at .. ".value: must be a string, number or "
                            .. "boolean"
            end
        elseif kind == "array" then
            if type(value) ~= "table" or #value == 0 then
                return nil, at .. ".value: must be a non-empty list"
            end
            for j, v in ipairs(value) do
                if not is_primitive(v) then
                    return nil, at .. ".value[" .. j .. "]: must be a "
                                .. "string, number or boolean"
                end
            end
            value = jsonjs.array(value)
        end
        local refetch_false = spec.refetch_time_on_false
        if refetch_false ~= nil then
            if check ~= "is_verified" then
                return nil, at .. ".refetch_time_on_false: only for "
                            .. "is_verified"
            end
            if type(refetch_false) ~= "number" or refetch_false < 0 then
                return nil, at .. ".refetch_time_on_false: must be a "
                            .. "number of seconds >= 0"
            end
        end
        if kind == "mfa" and (max_age ~= nil or spec.value ~= nil) then
            return nil, at .. ": mfa_completed takes no value/max_age"
        end
        out[i] = {
            id = spec.id or key,
            key = key,
            kind = kind,
            check = check,
            value = value,
            max_age = max_age,
            refetch_false = refetch_false or 10,
            fetcher = FETCHERS[key],
        }
    end
    return out
end


------------------------------------------------------------------------
-- JavaScript value semantics

local concat = table.concat

-- String(v) of a JSON value: numbers to full precision, arrays as
-- Array.prototype.join(",") (null inside as "", arrays inside joined the
-- same way: [[5]] is "5"), objects as "[object Object]".
local js_string

local function array_string(a)
    local parts = {}
    for i = 1, a.n do
        local e = a[i]
        if e == nil or e == NULL then
            parts[i] = ""
        else
            parts[i] = js_string(e)
        end
    end
    return concat(parts, ",", 1, a.n)
end

js_string = function(v)
    local t = type(v)
    if t == "string" then
        return v
    elseif t == "number" then
        return jsonjs.number_tostring(v) or "NaN"
    elseif t == "boolean" then
        return v and "true" or "false"
    elseif v == nil then
        return "undefined"
    elseif v == NULL then
        return "null"
    elseif jsonjs.is_array(v) then
        return array_string(v)
    end
    return "[object Object]"
end


--- ToNumber() for the `t` member (relational operators, subtraction).
local function to_number(v)
    local t = type(v)
    if t == "number" then
        return v
    elseif v == nil then
        return NAN
    elseif v == NULL then
        return 0
    elseif t == "boolean" then
        return v and 1 or 0
    elseif t == "string" then
        -- StringToNumber trims what String.prototype.trim() does: also
        -- NBSP, U+FEFF, U+2028, U+3000... (" 1700000000000" is a time)
        local s = token.js_trim(v)
        if s == "" then
            return 0
        end
        if s == "Infinity" or s == "+Infinity" then
            return huge
        elseif s == "-Infinity" then
            return -huge
        end
        if find(s, "^0[xX]%x+$") then
            return tonumber(s:sub(3), 16)
        elseif find(s, "^0[oO][0-7]+$") then
            return tonumber(s:sub(3), 8)
        elseif find(s, "^0[bB][01]+$") then
            return tonumber(s:sub(3), 2)
        end
        if find(s, "^[-+]?%d+%.?%d*$") or find(s, "^[-+]?%.%d+$")
           or find(s, "^[-+]?%d+%.?%d*[eE][-+]?%d+$")
           or find(s, "^[-+]?%.%d+[eE][-+]?%d+$")
        then
            return tonumber(s) or NAN
        end
        return NAN
    elseif jsonjs.is_array(v) then
        -- ToPrimitive: the array as a string ([x] is String(x), to full
        -- precision; [[x]] too), then that string as a number
        return to_number(array_string(v))
    end
    return NAN
end
_M.to_number = to_number


-- payload[key]?.v  /  payload[key]?.t
local function claim_value(payload, key)
    return jget(jget(payload, key), "v")
end


local function last_refetch(payload, key)
    return jget(jget(payload, key), "t")
end


-- The elements `for (const x of v)` visits: an array's, a string's code
-- points; nil when v is not iterable (node: TypeError).
local function js_iterable(v)
    if jsonjs.is_array(v) then
        return v, v.n
    elseif type(v) == "string" then
        local points = {}
        for point in v:gmatch("[%z\1-\127\194-\244][\128-\191]*") do
            points[#points + 1] = point
        end
        return points, #points
    end
    return nil
end


local function none()
    return false
end


-- Elements of `new Set(iterable)` as a membership test; nil when the
-- value is not iterable (node: TypeError).  new Set(null) is empty.
local function member_test(cv)
    if cv == NULL then
        return none
    elseif jsonjs.is_array(cv) then
        return function(x)
            for i = 1, cv.n do
                if cv[i] == x then
                    return true
                end
            end
            return false
        end
    elseif type(cv) == "string" then
        local chars = {}
        local points, n = js_iterable(cv)
        for i = 1, n do
            chars[points[i]] = true
        end
        return function(x)
            return type(x) == "string" and chars[x] == true
        end
    end
    return nil
end


-- claimVal.includes(val): arrays (SameValueZero) and strings (substring)
local function includes(cv, val)
    if jsonjs.is_array(cv) then
        for i = 1, cv.n do
            if cv[i] == val then
                return true
            end
        end
        return false
    elseif type(cv) == "string" then
        return find(cv, js_string(val), 1, true) ~= nil
    end
    return nil
end


local function reason(...)
    local r = jsonjs.object()
    local args = { ... }
    for i = 1, #args, 2 do
        jset(r, args[i], args[i + 1])
    end
    return r
end


------------------------------------------------------------------------
-- shouldRefetch / validate

local function should_refetch(v, payload, now_ms)
    local key = v.key
    if v.kind == "mfa" then
        return jget(payload, key) == nil
    end
    local value = claim_value(payload, key)
    if value == nil then
        return true
    end
    local t = to_number(last_refetch(payload, key))
    if v.kind == "ev" then
        if v.max_age ~= nil and t < now_ms - v.max_age * 1000 then
            return true
        end
        if value == false and t < now_ms - v.refetch_false * 1000 then
            return true
        end
        return false
    end
    return v.max_age ~= nil and t < now_ms - v.max_age * 1000
end
_M.should_refetch = should_refetch


local ARRAY_KEY = {
    includes = "expectedToInclude", includes_all = "expectedToInclude",
    excludes = "expectedToNotInclude", excludes_all = "expectedToNotInclude",
    -- includesAny reports a missing value with expectedToNotInclude (sic)
    includes_any = "expectedToNotInclude",
}


-- Returns nil when valid, else the reason (jsonjs object), or false for
-- "invalid without a reason" (MFA with a non-false falsy v).
local function validate(v, payload, now_ms)
    local key = v.key
    if v.kind == "mfa" then
        local cv = jget(payload, key)
        local ok = jget(cv, "v")
        if cv == nil then
            -- node refetches first (not possible here): not satisfied
            return reason("message", "MFA requirement for auth is not "
                          .. "satisfied")
        end
        if ok ~= nil and ok ~= false and ok ~= NULL and ok ~= 0
           and ok ~= "" and ok == ok
        then
            return nil
        end
        if ok == false then
            return reason("message", "MFA requirement for auth is not "
                          .. "satisfied")
        end
        return false
    end

    local cv = claim_value(payload, key)
    local val = v.value
    local array = v.kind == "array"
    local expected_key = array and ARRAY_KEY[v.check] or "expectedValue"
    if cv == nil then
        return reason("message", "value does not exist", expected_key, val,
                      "actualValue", nil)
    end
    if v.max_age ~= nil then
        local age = (now_ms - to_number(last_refetch(payload, key))) / 1000
        if age > v.max_age then
            return reason("message", "expired", "ageInSeconds", age,
                          "maxAgeInSeconds", v.max_age)
        end
    end
    local check = v.check
    local ok
    if not array then
        ok = cv == val
    elseif check == "includes" then
        ok = includes(cv, val)
    elseif check == "excludes" then
        ok = includes(cv, val)
        if ok ~= nil then
            ok = not ok
        end
    else
        local has = member_test(cv)
        if has then
            if check == "includes_all" then
                ok = true
                for i = 1, val.n do
                    if not has(val[i]) then
                        ok = false
                        break
                    end
                end
            elseif check == "excludes_all" then
                ok = true
                for i = 1, val.n do
                    if has(val[i]) then
                        ok = false
                        break
                    end
                end
            else
                ok = false
                for i = 1, val.n do
                    if has(val[i]) then
                        ok = true
                        break
                    end
                end
            end
        end
    end
    if ok then
        return nil
    end
    -- ok == nil: node would throw a TypeError (claim value neither array
    -- nor string); we report it as a wrong value instead of a 500
    if check == "includes_any" then
        expected_key = "expectedToIncludeAtLeastOneOf"
    end
    return reason("message", "wrong value", expected_key, val, "actualValue",
                  cv)
end
_M.validate_one = validate


--- Run every validator; nil when all pass, else the claimValidationErrors
-- array (jsonjs) and a comma-separated list of failed ids.
function _M.validate(validators, payload, now_ms)
    local errors
    local ids
    for _, v in ipairs(validators) do
        local r = validate(v, payload, now_ms)
        if r ~= nil then
            errors = errors or jsonjs.array()
            local e = jsonjs.object()
            jset(e, "id", v.id)
            if r then
                jset(e, "reason", r)
            end
            errors.n = errors.n + 1
            errors[errors.n] = e
            ids = ids and (ids .. "," .. v.id) or v.id
        end
    end
    return errors, ids
end


------------------------------------------------------------------------
-- fetchValue through the core

-- node's Querier answers a GET it already made for the same request from
-- userContext's coreCallCache, keyed by the path, the params (sorted, as
-- String() prints them) and the headers (here: only rid varies): fetches
-- of st-perm and st-role share one roles call, a role listed twice one
-- permissions call.  Nothing between the claim fetches is a POST (which
-- would empty it), so the cache lives as long as this ctx.
local function get_cache_key(path, query, rid)
    local params = {}
    for i = 1, #query do
        params[i] = query[i][1] .. "=" .. tostring(query[i][2])
    end
    table.sort(params)
    return path .. ";" .. concat(params, ";") .. ";hdrs;" .. (rid or "")
end


-- The answer as the Querier returns it: a text/* body (the core's "Hello",
-- its 404 texts are not 200s) is the string itself, whose members are all
-- undefined; anything else is JSON and must be an object.
local function core_json(ctx, method, path, query, rid)
    local request = ctx.request
    if not request then
        return nil, "core_unavailable", "no core configured"
    end
    local key, body, err, text
    if method == "GET" then
        key = get_cache_key(path, query, rid)
        local hit = ctx.get_cache and ctx.get_cache[key]
        if hit then
            body, text = hit[1], hit[2]
        end
    end
    if not body then
        body, err, text = request(method, path, query, nil, rid)
        if not body then
            return nil, "core_unavailable", err
        end
        if key then
            ctx.get_cache = ctx.get_cache or {}
            ctx.get_cache[key] = { body, text }
        end
    end
    if text then
        return body
    end
    local resp = jsonjs.parse(body)
    if not jsonjs.is_object(resp) then
        return nil, "core_bad_response", path
    end
    return resp
end


-- EmailVerificationClaim.fetchValue: getUser + isEmailVerified
local function fetch_ev(ctx)
    local rid = ctx.recipe_user_id
    local resp, why, detail = core_json(ctx, "GET", "/user/id",
                                        { { "userId", rid } }, nil)
    if not resp then
        return nil, why, detail
    end
    local email, found
    if jget(resp, "status") == "OK" then
        -- new User(result.user) maps every login method to a LoginMethod
        -- before any is looked at: no array, or a method that is not an
        -- object with a recipeUserId (null is one), throws
        local methods = jget(jget(resp, "user"), "loginMethods")
        if not jsonjs.is_array(methods) then
            return nil, "core_bad_response", "GET /user/id"
        end
        for i = 1, methods.n do
            local lm = methods[i]
            local id = jget(lm, "recipeUserId")
            if not jsonjs.is_object(lm) or id == nil then
                return nil, "core_bad_response", "GET /user/id"
            end
            -- the first match; node: === on the raw values (1 is not "1")
            if not found and id == rid then
                found = true
                email = jget(lm, "email")
            end
        end
    end
    if not found then
        -- fetchValue throws Error("UNKNOWN_USER_ID")
        return nil, "unknown_user_id", "GET /user/id"
    end
    if email == nil then
        return true     -- no email: treated as verified
    end
    resp, why, detail = core_json(ctx, "GET", "/recipe/user/email/verify",
                                  { { "userId", rid },
                                    { "email", js_string(email) } },
                                  "emailverification")
    if not resp then
        return nil, why, detail
    end
    return jget(resp, "isVerified")
end


-- node: "/<tenantId>" .. tail, then .replace(/<tenantId>/g, String(tId)).
-- The value is a replacement string, so "$$", "$&", "$`" and "$'" in it
-- are patterns ($n and $<name> stay as written: the regex has no groups).
local function tenant_path(payload, tail)
    local tid = jget(payload, "tId")
    local tenant = tid == nil and "public" or js_string(tid)
    local substitutions = { ["$"] = "$", ["&"] = "<tenantId>", ["`"] = "/",
                            ["'"] = tail }
    tenant = tenant:gsub("%$([%$&`'])", substitutions)
    return normalise.path("/" .. tenant .. tail)
end


-- recipeInterfaceImpl.getRolesForUser: the core's answer, as it is
local function roles_answer(ctx, payload)
    return core_json(ctx, "GET", tenant_path(payload, "/recipe/user/roles"),
                     { { "userId", ctx.user_id } }, "userroles")
end


-- UserRoleClaim.fetchValue: `res.roles` whatever it is (absent: no value)
local function fetch_roles(ctx, payload)
    local resp, why, detail = roles_answer(ctx, payload)
    if not resp then
        return nil, why, detail
    end
    return jget(resp, "roles")
end


-- PermissionClaim.fetchValue: the permissions of every role, in a Set
local function fetch_perms(ctx, payload)
    local resp, why, detail = roles_answer(ctx, payload)
    if not resp then
        return nil, why, detail
    end
    local roles, n = js_iterable(jget(resp, "roles"))
    if not roles then
        return nil, "core_bad_response", "roles"
    end
    local perms = jsonjs.array()
    local seen = {}
    for i = 1, n do
        resp, why, detail = core_json(ctx, "GET", "/recipe/role/permissions",
                                      { { "role", js_string(roles[i]) } },
                                      "userroles")
        if not resp then
            return nil, why, detail
        end
        if jget(resp, "status") == "OK" then
            local list, count = js_iterable(jget(resp, "permissions"))
            if not list then
                return nil, "core_bad_response", "permissions"
            end
            for j = 1, count do
                local p = list[j]
                if not seen[p] then
                    seen[p] = true
                    perms.n = perms.n + 1
                    perms[perms.n] = p
                end
            end
        end
    end
    return perms
end


local FETCH = { ev = fetch_ev, roles = fetch_roles, perms = fetch_perms }


--- The refetch loop of validateClaims.  ctx = { user_id, recipe_user_id,
-- now_ms, request = env.core.request }.
-- @return payload (new tree when something was fetched), changed flag;
--   or nil, reason, detail when a fetch failed (node: 500)
function _M.refetch(validators, payload, ctx)
    local before = jsonjs.stringify(payload)
    local now_ms = ctx.now_ms
    for _, v in ipairs(validators) do
        if v.fetcher and should_refetch(v, payload, now_ms) then
            local value, why, detail = FETCH[v.fetcher](ctx, payload)
            if value == nil and why then
                return nil, why, detail
            end
            if value ~= nil then
                -- addToPayload_internal: {...payload, [key]: {v, t: now}}
                local entry = jsonjs.object()
                jset(entry, "v", value)
                jset(entry, "t", now_ms)
                payload = jsonjs.copy(payload)
                jset(payload, v.key, entry)
            end
        end
    end
    return payload, jsonjs.stringify(payload) ~= before
end


return _M
