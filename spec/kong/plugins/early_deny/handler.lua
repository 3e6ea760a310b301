-- Test plugin: answers 403 before supertokens runs (PRIORITY 2500, like
-- bot-detection) when the request has X-Deny-Early.
local kong = kong

local EarlyDeny = { PRIORITY = 2500, VERSION = "0.0.1" }

function EarlyDeny:access(conf)
    if kong.request.get_header("x-deny-early") then
        return kong.response.exit(conf.status, { message = "Forbidden" })
    end
end

return EarlyDeny
