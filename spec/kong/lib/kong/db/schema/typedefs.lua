-- Test-only stand-in for Kong's kong.db.schema.typedefs, holding just the
-- two typedefs kong.plugins.supertokens.schema uses, defined as in Kong
-- (Kong/kong @22246ef kong/db/schema/typedefs.lua):
--   no_consumer    = a foreign key to consumers that must stay null;
--   protocols_http = the set of protocols whose subsystem is "http"
--                    (constants.PROTOCOLS_WITH_SUBSYSTEM), sorted.
-- Inside Kong the real module is found first; this directory is only on
-- the path of `make test-kong`.

local null = (ngx and ngx.null) or require("cjson").null

local http_protocols = { "grpc", "grpcs", "http", "https" }

return {
    no_consumer = {
        type = "foreign",
        reference = "consumers",
        eq = null,
        description = "Custom type for representing a foreign key with " ..
                      "a null value allowed.",
    },
    protocols_http = {
        type = "set",
        required = true,
        default = http_protocols,
        elements = { type = "string", one_of = http_protocols },
        description = "A set of strings representing HTTP protocols.",
    },
}
