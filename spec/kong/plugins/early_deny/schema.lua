local typedefs = require "kong.db.schema.typedefs"

return {
    name = "early_deny",
    fields = {
        { protocols = typedefs.protocols_http },
        { config = {
            type = "record",
            fields = {
                { status = { type = "integer", default = 403,
                             between = { 400, 499 },
                             description = "Status of the answer." } },
            },
        } },
    },
}
