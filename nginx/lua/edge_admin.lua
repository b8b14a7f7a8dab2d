-- With TLS on, the admin is served over HTTPS only: its password and session cookie never cross the network in
-- clear (issue 16). Over plain HTTP a page load (GET, HEAD) is sent to the same URL on the TLS listener with a
-- 301; anything else (a login form already sent in clear) gets a JSON 403 and is not passed on.
--
-- TLS is on when the upstream watcher wrote the TLS listener that nginx.conf's main server includes
-- (nginx/watcher_listeners.py, tls_include_write: a `listen [address:]port ssl;` line). nginx.conf hands the file's
-- path in ($edge_tls_listener), so its /tmp/nginx prefix stays in one place. Nginx reads the file at start,
-- and the watcher writes it only before Nginx starts, so each worker reads it once.
local edge_errors = require("edge_errors")

local M = {}

-- Per worker: the TLS listener's port, or false when TLS is off.
local tls_port

-- "listen 8443 ssl;" or "listen 0.0.0.0:8443 ssl;" -> 8443; nil without a TLS listener line.
function M.tls_port_of(text)
    for line in string.gmatch(text or "", "[^\n]+") do
        local port = string.match(line, "^%s*listen%s+%S-:?(%d+)%s+[^;]*ssl[^;]*;")
        if port then
            return tonumber(port)
        end
    end
    return nil
end

local function tls_port_load(path)
    local file = io.open(path, "r")
    if file == nil then
        return false
    end
    local text = file:read("*a")
    file:close()
    return M.tls_port_of(text) or false
end

-- Access phase of the admin's locations.
function M.https_only()
    if ngx.var.https == "on" then
        return
    end
    if tls_port == nil then
        tls_port = tls_port_load(ngx.var.edge_tls_listener)
    end
    if not tls_port then
        return
    end
    local method = ngx.req.get_method()
    if method ~= "GET" and method ~= "HEAD" then
        return edge_errors.respond("https_required")
    end
    local port = tls_port == 443 and "" or ":" .. tls_port
    return ngx.redirect("https://" .. ngx.var.host .. port .. ngx.var.request_uri, ngx.HTTP_MOVED_PERMANENTLY)
end

return M
