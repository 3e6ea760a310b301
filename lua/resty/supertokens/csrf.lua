--- Anti-CSRF as getSessionFromRequest / sessionFunctions.getSession do it.
-- Every failure is TRY_REFRESH_TOKEN (401 "try refresh token").
-- @module resty.supertokens.csrf

local _M = { _VERSION = "0.1.0" }


--- Whether the check applies: route override, else any method but GET;
-- never for header transport or without a token.
function _M.should_check(route, method_lower, transfer, has_token)
    local check = route.anti_csrf_check
    if check == nil then
        check = method_lower ~= "get"
    end
    if transfer == "header" or not has_token then
        return false
    end
    return check
end


--- VIA_CUSTOM_HEADER: any `rid` value (even empty) passes.  Returns the
-- new doAntiCsrfCheck and, on failure, a reason.
function _M.custom_header(mode, do_check, header)
    if do_check and mode == "VIA_CUSTOM_HEADER" then
        if header("rid") == nil then
            return false, "anti_csrf_rid_missing"
        end
        return false
    end
    return do_check
end


--- VIA_TOKEN: the request's `anti-csrf` header must equal the token's
-- (trimmed) antiCsrfToken.  Returns nil when fine, else a reason.
function _M.via_token(request_value, token_value)
    if request_value == nil then
        return "anti_csrf_header_missing"
    end
    if request_value ~= token_value then
        return "anti_csrf_mismatch"
    end
    return nil
end


return _M
