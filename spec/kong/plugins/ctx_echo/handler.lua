-- Test plugin: a lower-priority plugin reading the session supertokens
-- left in kong.ctx.shared, passing its user id upstream as X-Ctx-User.
local kong = kong

local CtxEcho = { PRIORITY = 900, VERSION = "0.0.1" }

function CtxEcho:access()
    local s = kong.ctx.shared.supertokens
    if s then
        kong.service.request.set_header("X-Ctx-User", s.user_id)
    end
end

return CtxEcho
