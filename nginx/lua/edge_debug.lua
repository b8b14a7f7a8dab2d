-- Debug-only response headers. A task's address is internal, so it is not sent to clients unless the
-- stack runs with EDGE_DEBUG_HEADERS=1 (the Swarm suite does: it reads X-Upstream-Addr to see which task
-- answered). The access log has the upstream on every line either way.
--
-- nginx.conf names the variable with `env EDGE_DEBUG_HEADERS;` (Nginx clears the rest of the workers'
-- environment). The upstream watcher refuses values other than 0 and 1 at start.
local M = {}

local enabled = os.getenv("EDGE_DEBUG_HEADERS") == "1"

-- header_filter_by_lua: the tasks tried for this request, the last one answered ("10.0.1.5:8000, 10.0.1.6:8000").
function M.header_filter()
    if enabled then
        local tried = ngx.var.upstream_addr
        if tried and tried ~= "" then
            ngx.header["X-Upstream-Addr"] = tried
        end
    end
end

return M
