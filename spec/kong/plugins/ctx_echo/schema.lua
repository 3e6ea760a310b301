return {
    name = "ctx_echo",
    fields = {
        { config = { type = "record", fields = {} } },
    },
}
