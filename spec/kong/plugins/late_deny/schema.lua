local typedefs = require "kong.db.schema.typedefs"

return {
    name = "late_deny",
    fields = {
        { protocols = typedefs.protocols_http },
        { config = {
            type = "record",
            fields = {
                { realm = { type = "string", default = "Key",
                            description = "WWW-Authenticate value." } },
            },
        } },
    },
}
