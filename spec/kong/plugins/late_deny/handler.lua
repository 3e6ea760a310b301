-- Test plugin: answers 401 after supertokens let the request through
-- (PRIORITY 1000, among the auth plugins below it) when the request has
-- X-Deny-Late: Kong's "works with 40x responses returned by another
-- plugin" case (spec/03-plugins/13-cors/01-access_spec.lua).
local kong = kong

local LateDeny = { PRIORITY = 1000, VERSION = "0.0.1" }

function LateDeny:access(conf)
    if kong.request.get_header("x-deny-late") then
        return kong.response.exit(401, { message = "Unauthorized" },
                                  { ["WWW-Authenticate"] = conf.realm })
    end
end

return LateDeny
