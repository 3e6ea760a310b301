-- From a Kong plugin config to what the OpenResty module takes: the
-- config.new() table and the decide.route() options.  Used by the handler
-- (once per config) and by the schema's last entity check, so the Admin
-- API and the data plane read a config the same way.
--
-- Kong hands plugins their config with unset fields as nil (or ngx.null in
-- some paths) and adds its own keys (route_id, __key__, ...); only the
-- schema's fields are copied, null is dropped.

local schema = require "kong.plugins.supertokens.schema"

local type = type
local next = next
local ipairs = ipairs
local null = ngx and ngx.null or require("cjson").null

local _M = { _VERSION = "0.1.0" }

-- Plugin fields that are not config.new() keys.
local ROUTE = {
    session_required = true, anti_csrf_check = true, check_database = true,
    override_global_claim_validators = true,
}
local SHELL = { run_on_preflight = true, http_client = true }

-- upstream_headers entries whose null means "do not send" (config false).
local HEADER_SLOTS = {
    user_id = true, recipe_user_id = true, session_handle = true,
    tenant_id = true, payload = true,
}


local function unset(v)
    return v == nil or v == null
end


-- The config record's fields that config.new() takes, in schema order.
local USER_FIELDS = {}
for _, item in ipairs(schema.fields) do
    local name, field = next(item)
    if name == "config" then
        for _, sub in ipairs(field.fields) do
            local sub_name = next(sub)
            if not ROUTE[sub_name] and not SHELL[sub_name] then
                USER_FIELDS[#USER_FIELDS + 1] = sub
            end
        end
    end
end


-- The Kong field each check reads its expected value from (the OpenResty
-- module has one `value` for both).
local VALUE_FIELD = {
    has_value = "value", includes = "value", excludes = "value",
    includes_all = "values", excludes_all = "values", includes_any = "values",
}


-- The first claim spec of a Kong list that sets a value its check does
-- not read, or lacks the list its check needs, as "[i].field: why"; nil
-- when there is none.  (config.new() would name `value` for both.)
function _M.claim_field_error(list)
    if unset(list) then
        return nil
    end
    for i, k in ipairs(list) do
        local want = VALUE_FIELD[k.check]
        for _, f in ipairs({ "value", "values" }) do
            if f ~= want and not unset(k[f]) then
                return "[" .. i .. "]." .. f .. ": not read by check "
                       .. tostring(k.check)
                       .. (want and "; it reads " .. want or "")
            end
        end
        if want == "values" and (unset(k.values) or #k.values == 0) then
            return "[" .. i .. "].values: must be a non-empty list"
        end
    end
    return nil
end


local function claim_spec(k)
    local field = VALUE_FIELD[k.check]
    local value = field and k[field]
    return {
        claim = k.claim,
        check = k.check,
        value = (not unset(value)) and value or nil,
        max_age = (not unset(k.max_age)) and k.max_age or nil,
        refetch_time_on_false = (not unset(k.refetch_time_on_false))
                                and k.refetch_time_on_false or nil,
        id = (not unset(k.id)) and k.id or nil,
    }
end


local function claim_list(list)
    if unset(list) then
        return nil
    end
    local out = {}
    for i, k in ipairs(list) do
        out[i] = claim_spec(k)
    end
    return out
end


local function copy(fields, value, path)
    local out = {}
    for _, item in ipairs(fields) do
        local name, field = next(item)
        local v = value[name]
        if path == "upstream_headers" and HEADER_SLOTS[name] and unset(v) then
            out[name] = false
        elseif unset(v) then -- luacheck: ignore 542
        elseif field.type == "record" then
            out[name] = copy(field.fields, v, name)
        elseif name == "claims" and path == "" then
            out[name] = claim_list(v)
        elseif type(v) == "table" then
            local list = {}
            for i, x in ipairs(v) do
                list[i] = x
            end
            out[name] = list
        else
            out[name] = v
        end
    end
    return out
end


-- user_config(kong_conf) -> table for resty.supertokens.config.new()
function _M.user_config(kconf)
    return copy(USER_FIELDS, kconf, "")
end


-- route_opts(kong_conf) -> options for resty.supertokens.decide.route()
function _M.route_opts(kconf)
    local opts = {
        session_required = kconf.session_required ~= false,
        check_database = kconf.check_database == true,
    }
    if not unset(kconf.anti_csrf_check) then
        opts.anti_csrf_check = kconf.anti_csrf_check
    end
    opts.claims = claim_list(kconf.override_global_claim_validators)
    return opts
end


-- http_client(kong_conf) -> module name or nil (resty.supertokens.http)
function _M.http_client(kconf)
    local v = kconf.http_client
    if unset(v) then
        return nil
    end
    return v
end


return _M
