-- The subset of Kong's schema DSL that kong.plugins.supertokens.schema uses,
-- written from Kong's schema docs and kong/db/schema/{init,metaschema}.lua
-- (Kong/kong @22246ef), so the plugin schema can be exercised without Kong.
--
-- What it does as Kong does (same order, same error strings):
--   * process_auto_fields("insert"): defaults, null for optional fields,
--     required records expanded with their nested defaults, sets de-duped;
--   * validate_field: types, eq/not_one_of/one_of/gt/between/len_min/
--     len_max/match/contains/custom_validator in Kong's validator order,
--     elements, records;
--   * validate: unknown fields, required, entity checks (distinct,
--     conditional, mutually_exclusive, at_least_one_of, custom_entity_check);
--   * check_definition: the metaschema rules a plugin schema must pass
--     (known attributes, attribute/type pairs, description 10..500 chars,
--     defaults valid, entity checks naming existing fields).
-- Anything outside the subset raises, so the plugin schema cannot quietly
-- rely on something this file does not check.

local cjson = require "cjson.safe"

local null = (ngx and ngx.null) or cjson.null
local type = type
local pairs = pairs
local ipairs = ipairs
local next = next
local tostring = tostring
local floor = math.floor
local concat = table.concat
local insert = table.insert
local find = string.find
local sub = string.sub

local _M = { null = null }

local ERR = {
    ARRAY = "expected an array",
    SET = "expected a set",
    RECORD = "expected a record",
    STRING = "expected a string",
    NUMBER = "expected a number",
    BOOLEAN = "expected a boolean",
    INTEGER = "expected an integer",
    EQ = "value must be %s",
    GT = "value must be greater than %s",
    BETWEEN = "value should be between %d and %d",
    LEN_MIN = "length must be at least %d",
    LEN_MAX = "length must be at most %d",
    MATCH = "invalid value: %s",
    CONTAINS = "expected to contain: %s",
    ONE_OF = "expected one of: %s",
    NOT_ONE_OF = "must not be one of: %s",
    VALIDATION = "failed validating: %s",
    REQUIRED = "required field missing",
    UNKNOWN = "unknown field",
    REQUIRED_FOR_ENTITY_CHECK = "field required for entity check",
    ENTITY_CHECK = "failed entity check: %s(%s)",
    CONDITIONAL = "failed conditional validation given value of field '%s'",
    AT_LEAST_ONE_OF = "at least one of these fields must be non-empty: %s",
    DISTINCT = "values of these fields must be distinct: %s",
    MUTUALLY_EXCLUSIVE = "only one or none of these fields must be set: %s",
}
_M.ERR = ERR

local VALID_TYPES = {
    array = true, set = true, string = true, number = true, boolean = true,
    integer = true, foreign = true, record = true,
}

-- Kong's validators_order, restricted to the ones implemented here.
local VALIDATORS_ORDER = {
    "eq", "not_one_of", "one_of", "gt", "between", "len_min", "len_max", "match",
    "contains", "custom_validator",
}

-- attribute -> types allowed (nil: any type); metaschema attribute_types
-- plus the field attributes Kong accepts that need no runtime work here.
local ATTRIBUTES = {
    type = false, required = false, default = false, description = false,
    elements = false, fields = false, reference = false, eq = false,
    gt = false, len_min = false, len_max = false, custom_validator = false,
    referenceable = false, encrypted = false, err = false,
    between = { integer = true, number = true },
    one_of = { string = true, number = true, integer = true },
    not_one_of = false,
    match = { string = true },
    contains = { array = true, set = true },
}

local REQUIRED_ATTRIBUTES = {
    array = "elements", set = "elements", record = "fields",
}


local function is_sequence(t)
    if type(t) ~= "table" then
        return false
    end
    local n = 0
    for k in pairs(t) do
        if type(k) ~= "number" or k < 1 or floor(k) ~= k then
            return false
        end
        n = n + 1
    end
    for i = 1, n do
        if t[i] == nil then
            return false
        end
    end
    return true
end


local function deep_copy(v)
    if type(v) ~= "table" then
        return v
    end
    local out = {}
    for k, x in pairs(v) do
        out[k] = deep_copy(x)
    end
    return out
end
_M.deep_copy = deep_copy


local function quoted_list(words)
    local out = {}
    for i = 1, #words do
        out[i] = "'" .. tostring(words[i]) .. "'"
    end
    return concat(out, ", ")
end


local function is_nonempty(v)
    return not (v == nil or v == null
                or (type(v) == "table" and next(v) == nil)
                or v == "")
end


local function get_field(tbl, name)
    if tbl == nil or tbl == null then
        return nil
    end
    local dot = find(name, ".", 1, true)
    if not dot then
        return tbl[name]
    end
    return get_field(tbl[sub(name, 1, dot - 1)], sub(name, dot + 1))
end


local function set_field(tbl, name, value)
    local dot = find(name, ".", 1, true)
    if not dot then
        tbl[name] = value
        return
    end
    local hd = sub(name, 1, dot - 1)
    if tbl[hd] == nil then
        tbl[hd] = {}
    end
    set_field(tbl[hd], sub(name, dot + 1), value)
end


local function field_list_get(fields, name)
    for _, item in ipairs(fields) do
        local k, f = next(item)
        if k == name then
            return f
        end
    end
end


local function get_schema_field(schema, name)
    if schema == nil or schema.fields == nil then
        return nil
    end
    local dot = find(name, ".", 1, true)
    if not dot then
        return field_list_get(schema.fields, name)
    end
    return get_schema_field(field_list_get(schema.fields, sub(name, 1, dot - 1)),
                            sub(name, dot + 1))
end


-- validators ---------------------------------------------------------------

local validators = {}

function validators.eq(value, wanted)
    if value == wanted then
        return true
    end
    return nil, ERR.EQ:format(wanted == null and "null" or tostring(wanted))
end

function validators.one_of(value, options)
    for i = 1, #options do
        if value == options[i] then
            return true
        end
    end
    return nil, ERR.ONE_OF:format(concat(options, ", "))
end

function validators.not_one_of(value, options)
    for i = 1, #options do
        if value == options[i] then
            return nil, ERR.NOT_ONE_OF:format(concat(options, ", "))
        end
    end
    return true
end

function validators.gt(value, limit)
    if value > limit then
        return true
    end
    return nil, ERR.GT:format(tostring(limit))
end

function validators.between(value, limits)
    if value < limits[1] or value > limits[2] then
        return nil, ERR.BETWEEN:format(limits[1], limits[2])
    end
    return true
end

function validators.len_min(value, n)
    if #value >= n then
        return true
    end
    return nil, ERR.LEN_MIN:format(n)
end

function validators.len_max(value, n)
    if #value <= n then
        return true
    end
    return nil, ERR.LEN_MAX:format(n)
end

function validators.match(value, pattern)
    if value:match(pattern) then
        return true
    end
    return nil, ERR.MATCH:format(value)
end

function validators.contains(array, wanted)
    for i = 1, #array do
        if array[i] == wanted then
            return true
        end
    end
    return nil, ERR.CONTAINS:format(wanted)
end

function validators.custom_validator(value, fn)
    return fn(value)
end


-- fields -------------------------------------------------------------------

local validate_record, process_record

local function validate_elements(field, value)
    local errs, ok = {}, true
    local elements = setmetatable({ required = true },
                                  { __index = field.elements })
    for i = 1, #value do
        local fine, err = _M.validate_field(elements, value[i])
        if not fine then
            errs[i] = err
            ok = false
        end
    end
    if ok then
        return true
    end
    return nil, errs
end


function _M.validate_field(field, value)
    if value == null then
        if field.eq ~= nil and field.eq ~= null then
            return nil, ERR.EQ:format(tostring(field.eq))
        end
        if field.required then
            return nil, ERR.REQUIRED
        end
        return true
    end

    if field.eq == null then
        return nil, field.err or ERR.EQ:format("null")
    end

    local ftype = field.type
    local len_min = field.len_min

    if ftype == "array" or ftype == "set" then
        if not is_sequence(value) then
            return nil, ftype == "set" and ERR.SET or ERR.ARRAY
        end
        local ok, err = validate_elements(field, value)
        if not ok then
            return nil, err
        end

    elseif ftype == "record" then
        if type(value) ~= "table" then
            return nil, ERR.RECORD
        end
        local ok, err = validate_record(field, process_record(field, value))
        if not ok then
            return nil, err
        end

    elseif ftype == "foreign" then
        if type(value) ~= "table" or type(value.id) ~= "string" then
            return nil, ERR.RECORD
        end

    elseif ftype == "integer" then
        if not (type(value) == "number" and value == floor(value)
                and value ~= 1 / 0 and value ~= -1 / 0) then
            return nil, ERR.INTEGER
        end

    elseif ftype == "string" then
        if type(value) ~= "string" then
            return nil, ERR.STRING
        end
        -- Kong rejects empty strings unless len_min says otherwise.
        len_min = len_min or 1

    elseif VALID_TYPES[ftype] then
        if type(value) ~= ftype then
            return nil, ERR[ftype:upper()]
        end

    else
        error("kong_schema: unsupported type " .. tostring(ftype), 2)
    end

    for _, k in ipairs(VALIDATORS_ORDER) do
        local arg = field[k]
        if k == "len_min" then
            arg = len_min
        end
        if arg ~= nil then
            local ok, err = validators[k](value, arg, field)
            if not ok then
                if not err then
                    err = ERR.VALIDATION:format(tostring(value))
                end
                return nil, field.err or err
            end
        end
    end

    return true
end


-- process_auto_fields("insert") -------------------------------------------

local function make_set(value)
    if not is_sequence(value) then
        return value
    end
    local out, seen = {}, {}
    for _, v in ipairs(value) do
        if not seen[v] then
            seen[v] = true
            out[#out + 1] = v
        end
    end
    return out
end


local function missing_value(field)
    if field.default ~= nil then
        return deep_copy(field.default)
    end
    if field.required ~= true then
        return null
    end
    if field.type == "record" then
        return process_record(field, {})
    end
    return nil
end


local function adjust(field, value)
    if field.type == "record" then
        if value ~= null and (value ~= nil or field.required == true) then
            value = value or missing_value(field)
            if type(value) == "table" then
                return process_record(field, value)
            end
        end
    elseif type(value) == "table" and field.elements then
        if field.type == "set" then
            value = make_set(value)
        end
        for k, v in pairs(value) do
            value[k] = adjust(field.elements, v)
        end
    end
    if value == nil then
        return missing_value(field)
    end
    return value
end


process_record = function(schema, data)
    data = deep_copy(data)
    for _, item in ipairs(schema.fields) do
        local k, field = next(item)
        data[k] = adjust(field, data[k])
    end
    return data
end
_M.process_auto_fields = process_record


-- entity checks -------------------------------------------------------------

local checkers = {}

checkers.distinct = {
    fn = function(entity, names)
        local seen = {}
        for _, name in ipairs(names) do
            local v = get_field(entity, name)
            if is_nonempty(v) then
                if seen[v] then
                    return nil, quoted_list(names)
                end
                seen[v] = true
            end
        end
        return true
    end,
}

checkers.mutually_exclusive = {
    run_with_missing_fields = true,
    fn = function(entity, names)
        local n = 0
        for _, name in ipairs(names) do
            if is_nonempty(get_field(entity, name)) then
                n = n + 1
            end
        end
        if n <= 1 then
            return true
        end
        return nil, quoted_list(names)
    end,
}

checkers.at_least_one_of = {
    run_with_missing_fields = true,
    run_with_invalid_fields = true,
    fn = function(entity, names)
        for _, name in ipairs(names) do
            if is_nonempty(get_field(entity, name)) then
                return true
            end
        end
        return nil, quoted_list(names)
    end,
}

checkers.conditional = {
    run_with_invalid_fields = true,
    field_sources = { "if_field", "then_field" },
    required_fields = { if_field = true },
    fn = function(entity, arg, schema, errors)
        local if_value = get_field(entity, arg.if_field)
        local then_value = get_field(entity, arg.then_field)
        if then_value == nil then
            then_value = null
        end
        local if_match = setmetatable({}, {
            __index = function(_, k)
                local v = arg.if_match[k]
                if v == nil then
                    v = get_schema_field(schema, arg.if_field)[k]
                end
                return v
            end,
        })
        if not _M.validate_field(if_match, if_value) then
            return true
        end
        if arg.then_match.required == true and then_value == null then
            set_field(errors, arg.then_field, ERR.REQUIRED)
            return nil, arg.if_field
        end
        local then_match = setmetatable({}, {
            __index = function(_, k)
                local v = arg.then_match[k]
                if v == nil then
                    v = get_schema_field(schema, arg.then_field)[k]
                end
                return v
            end,
        })
        local ok, err = _M.validate_field(then_match, then_value)
        if not ok then
            set_field(errors, arg.then_field, err)
            return nil, arg.if_field,
                   arg.then_err and arg.then_err:format(arg.if_field)
        end
        return true
    end,
}

checkers.custom_entity_check = {
    field_sources = { "field_sources" },
    required_fields = { field_sources = true },
    fn = function(entity, arg)
        return arg.fn(entity)
    end,
}


local function run_entity_check(schema, name, input, arg, errors)
    local checker = checkers[name]
    if not checker then
        error("kong_schema: unsupported entity check " .. tostring(name), 2)
    end

    local fields, required = {}, {}
    if checker.field_sources then
        for _, source in ipairs(checker.field_sources) do
            local v = arg[source]
            local list = type(v) == "table" and v or { v }
            for _, fname in ipairs(list) do
                fields[#fields + 1] = fname
                if checker.required_fields[source] then
                    required[fname] = true
                end
            end
        end
    else
        for _, fname in ipairs(arg) do
            fields[#fields + 1] = fname
            required[fname] = true
        end
    end

    local check_input, missing, all_nil, all_ok = {}, nil, true, true
    for _, fname in ipairs(fields) do
        local value = get_field(input, fname)
        if value == nil then
            if not checker.run_with_missing_fields
               and not arg.run_with_missing_fields
               and required[fname]
            then
                missing = missing or {}
                missing[#missing + 1] = fname
            end
        else
            all_nil = false
        end
        if get_field(errors, fname) then
            all_ok = false
        end
        set_field(check_input, fname, value)
    end

    if not all_ok and not checker.run_with_invalid_fields
       and not arg.run_with_invalid_fields
    then
        return
    end
    if all_nil and not checker.run_with_missing_fields then
        return
    end
    if missing then
        for _, fname in ipairs(missing) do
            set_field(errors, fname, ERR.REQUIRED_FOR_ENTITY_CHECK)
        end
        return
    end

    local ok, err, err2 = checker.fn(check_input, arg, schema, errors)
    if ok then
        return
    end
    if not err2 then
        local fmt = ERR[name:upper()]
        err2 = fmt and fmt:format(err) or err
        if not err2 then
            err2 = ERR.ENTITY_CHECK:format(name, "...")
        end
    end
    errors["@entity"] = errors["@entity"] or {}
    insert(errors["@entity"], err2)
end


-- validate ------------------------------------------------------------------

local function known_field(schema, k)
    return type(k) == "string" and field_list_get(schema.fields, k)
end


validate_record = function(schema, input, entity_checks)
    local errors = {}
    for k, v in pairs(input) do
        local field = known_field(schema, k)
        if field then
            local _, err = _M.validate_field(field, v)
            errors[k] = err
        else
            errors[k] = ERR.UNKNOWN
        end
    end

    for _, item in ipairs(schema.fields) do
        local k, field = next(item)
        if field.required and (input[k] == null or input[k] == nil) then
            errors[k] = ERR.REQUIRED
        end
    end

    for _, check in ipairs(schema.entity_checks or {}) do
        local name, arg = next(check)
        run_entity_check(schema, name, input, arg, errors)
    end
    for _, check in ipairs(entity_checks or {}) do
        local name, arg = next(check)
        run_entity_check(schema, name, input, arg, errors)
    end

    if next(errors) then
        return nil, errors
    end
    return true
end
_M.validate = validate_record


-- The plugins entity (kong/db/schema/entities/plugins.lua) with the plugin's
-- own consumer/protocols/config fields laid over it, as new_subschema does.
local function plugin_entity_schema(def)
    local fields = {
        { name = { type = "string", required = true } },
        { route = { type = "foreign", default = null } },
        { service = { type = "foreign", default = null } },
        { consumer = { type = "foreign", default = null } },
        { config = { type = "record", fields = {} } },
        { protocols = { type = "set", required = true,
                        default = { "grpc", "grpcs", "http", "https" },
                        elements = { type = "string" } } },
        { enabled = { type = "boolean", required = true, default = true } },
    }
    for _, item in ipairs(def.fields) do
        local k, f = next(item)
        local replaced = false
        for i, base in ipairs(fields) do
            if next(base) == k then
                fields[i] = { [k] = f }
                replaced = true
            end
        end
        if not replaced then
            fields[#fields + 1] = { [k] = f }
        end
    end
    return { fields = fields }
end


-- Same contract as Kong's spec.helpers.validate_plugin_config_schema:
-- returns the processed entity, or nil and Kong's nested error table.
function _M.validate_plugin_config(config, def, extra)
    local ok, err = _M.check_definition(def)
    if not ok then
        error("kong_schema: invalid plugin schema: " .. cjson.encode(err), 2)
    end
    local schema = plugin_entity_schema(def)
    local entity = { name = def.name, config = config }
    for k, v in pairs(extra or {}) do
        entity[k] = v
    end
    entity = process_record(schema, entity)
    local valid, errors = validate_record(schema, entity, def.entity_checks)
    if not valid then
        return nil, errors
    end
    return entity
end


-- What a plugin's handler receives at run time: the stored config read back
-- in Kong's "select" context, where null turns into nil.
function _M.runtime_config(value)
    if value == null then
        return nil
    end
    if type(value) ~= "table" then
        return value
    end
    local out = {}
    for k, v in pairs(value) do
        out[k] = _M.runtime_config(v)
    end
    return out
end


-- metaschema ----------------------------------------------------------------

local check_field

local function check_fields(fields, errors, path)
    if type(fields) ~= "table" then
        errors[path] = "'fields' must be a table"
        return
    end
    for _, item in ipairs(fields) do
        if type(item) ~= "table" then
            errors[path] = "each entry in fields must be a sub-table"
            return
        end
        local k, f = next(item)
        if type(k) ~= "string" or type(f) ~= "table" then
            errors[path] = "field entry table is empty"
            return
        end
        check_field(path == "" and k or path .. "." .. k, f, errors)
    end
end


check_field = function(path, field, errors)
    local ftype = field.type
    if not VALID_TYPES[ftype] then
        errors[path] = "missing type declaration"
        return
    end
    local req = REQUIRED_ATTRIBUTES[ftype]
    if req and not field[req] then
        errors[path] = ("field of type '%s' must declare '%s'")
                       :format(ftype, req)
    end
    for attr in pairs(field) do
        local allowed = ATTRIBUTES[attr]
        if allowed == nil then
            errors[path] = "unsupported attribute '" .. tostring(attr) .. "'"
        elseif allowed and not allowed[ftype] then
            errors[path] = ("field of type '%s' cannot have attribute '%s'")
                           :format(ftype, attr)
        end
    end
    local d = field.description
    if d ~= nil and (type(d) ~= "string" or #d < 10 or #d > 500) then
        errors[path .. ".description"] =
            "length must be between 10 and 500"
    end
    if field.default ~= nil and field.default ~= null then
        local f = setmetatable({ default = false }, { __index = field })
        local ok, err = _M.validate_field(f, adjust(f, field.default))
        if not ok then
            errors[path .. ".default"] = err
        end
    end
    if field.elements then
        check_field(path .. ".elements", field.elements, errors)
    end
    if field.fields then
        check_fields(field.fields, errors, path)
    end
end


function _M.check_definition(def)
    local errors = {}
    if type(def) ~= "table" or type(def.name) ~= "string" then
        return nil, { name = "required field missing" }
    end
    check_fields(def.fields, errors, "")
    local config = get_schema_field(def, "config")
    if not config or config.type ~= "record" then
        errors.config = "plugin schema must declare a 'config' record"
    end
    for i, check in ipairs(def.entity_checks or {}) do
        local name, arg = next(check)
        if not checkers[name] then
            errors["entity_checks." .. i] = "unsupported check " .. name
        else
            local names = {}
            if checkers[name].field_sources then
                for _, src in ipairs(checkers[name].field_sources) do
                    local v = arg[src]
                    for _, n in ipairs(type(v) == "table" and v or { v }) do
                        names[#names + 1] = n
                    end
                end
            else
                names = arg
            end
            for _, n in ipairs(names) do
                if not get_schema_field(def, n) then
                    errors["entity_checks." .. i] =
                        "invalid field name: " .. tostring(n)
                end
            end
        end
    end
    if next(errors) then
        return nil, errors
    end
    return true
end


-- Claim specs of the Lua config (`claims`, `override_global_claim_validators`)
-- in the plugin schema's shape, in place: the lists of includes_all,
-- excludes_all and includes_any go in `values`; a value must be a string
-- (the schema has no other type for it).  Returns the list.
local LIST_CHECKS = { includes_all = true, excludes_all = true,
                      includes_any = true }

function _M.plugin_claims(list)
    for i, spec in ipairs(list or {}) do
        if LIST_CHECKS[spec.check] and type(spec.value) == "table" then
            spec.values, spec.value = spec.value, nil
        end
        for _, v in ipairs(spec.values or { spec.value }) do
            if type(v) ~= "string" then
                error("claims[" .. i .. "]: the Kong plugin takes string "
                      .. "values only", 2)
            end
        end
    end
    return list
end


return _M
