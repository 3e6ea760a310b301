-- The upstream service behind the Kong tests (content_by_lua).  It stands
-- for the user's application: it only sees what the plugin forwarded.
--
--   /echo/...          {"method","uri","headers"} of the proxied request
--   /status/<n>        answers <n> with its own Set-Cookie, Vary and
--                      Access-Control-Expose-Headers (merge tests), and
--                      the X-App-Front-Token header's value as its own
--                      front-token
--   anything else      the conformance seed body the SDK app answers,
--                      {"note","userId","sessionHandle",
--                       "userDataInAccessToken"}, built only from the
--                      identity headers the plugin set

local cjson = require "cjson.safe"
local jsonjs = require "resty.supertokens.jsonjs"

local ngx = ngx
local concat = table.concat

local _M = {}

local NOTE = "Fetch any data from your application for authenticated user "
             .. "after using verifySession middleware"
local CT = "application/json; charset=utf-8"


local function send(status, body)
    ngx.status = status
    ngx.header["Content-Type"] = CT
    ngx.header["Content-Length"] = #body
    ngx.print(body)
end


local function seed()
    local h = ngx.req.get_headers()
    local parts = { '{"note":', jsonjs.quote(NOTE) }
    local user = h["x-supertokens-user-id"]
    if user then
        parts[#parts + 1] = ',"userId":' .. jsonjs.quote(user)
    end
    local handle = h["x-supertokens-session-handle"]
    if handle then
        parts[#parts + 1] = ',"sessionHandle":' .. jsonjs.quote(handle)
    end
    local payload = h["x-supertokens-access-token-payload"]
    if payload then
        parts[#parts + 1] = ',"userDataInAccessToken":' .. payload
    end
    parts[#parts + 1] = "}"
    return concat(parts)
end


function _M.serve()
    local uri = ngx.var.uri
    if uri:sub(1, 6) == "/echo/" then
        return send(200, cjson.encode({
            method = ngx.req.get_method(),
            uri = ngx.var.request_uri,
            headers = ngx.req.get_headers(0),
        }))
    end
    local status = uri:match("^/status/(%d%d%d)$")
    if status then
        ngx.header["Set-Cookie"] = { "app=1; Path=/" }
        ngx.header["Vary"] = "Accept-Encoding"
        ngx.header["Access-Control-Expose-Headers"] = "x-app"
        if ngx.var.http_x_app_front_token then
            -- a handler that also runs the SDK and answers a token
            ngx.header["front-token"] = ngx.var.http_x_app_front_token
        end
        return send(tonumber(status), '{"app":true}')
    end
    return send(200, seed())
end


return _M
