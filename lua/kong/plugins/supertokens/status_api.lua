-- Kong Status API endpoint of the plugin: GET /supertokens/metrics serves
-- resty.supertokens.metrics in the Prometheus text format, as Kong's own
-- prometheus plugin serves /metrics (Kong loads this module for an
-- enabled plugin; the proxy port never exposes it).  The handler's
-- init_worker() attaches the counters to a shared dict.

local metrics = require "resty.supertokens.metrics"

local ngx = ngx
local kong = kong

return {
    ["/supertokens/metrics"] = {
        GET = function()
            local body, err = metrics.collect()
            if not body then
                return kong.response.exit(500, { message = err })
            end
            ngx.header["Content-Type"] = metrics.CONTENT_TYPE
            ngx.print(body)
        end,
    },
}
