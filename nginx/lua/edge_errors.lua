-- Every error Nginx answers itself, in the services' JSON error shape: {"error":{"code","message","fields"}},
-- rendered as the apps render search_contract's ContractError (orjson: no spaces, keys in this order).
--
-- The one place these bodies and headers live on the edge: nginx.conf's error pages, the no-healthy-task
-- server and lua/admission.lua all answer through M.respond. tests/nginx/test_edge_errors.py requests each
-- of them from a real Nginx and holds status, headers and body equal, byte for byte, to the ContractError
-- that search_contract renders (its own constructors where the apps answer the same error: 405, the
-- searches' 400, overloaded); a code added here without a test there fails that test.
local M = {}

-- The methods the apps serve between them; Nginx itself refuses TRACE and CONNECT.
M.ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"

-- name -> status, code, message, fields (a JSON object, already rendered), headers.
M.ERRORS = {
    -- search_contract.errors.method_not_allowed(method=..., allowed=M.ALLOWED_METHODS); %s is the method.
    method_not_allowed = {
        status = 405, code = "method_not_allowed",
        message = "Method %s is not allowed here; use " .. M.ALLOWED_METHODS .. ".",
        headers = { Allow = M.ALLOWED_METHODS },
    },
    -- search_contract.body_too_large(): what both apps answer for a search body over 64 KiB.
    search_body_too_large = {
        status = 400, code = "validation_error", message = "Invalid search request: body.",
        fields = '{"body":"must be at most 65536 bytes"}',
    },
    body_too_large = {
        status = 413, code = "body_too_large", message = "The request body is larger than this route accepts.",
    },
    bad_request = {
        status = 400, code = "bad_request", message = "The request could not be parsed.",
    },
    -- One login attempt frees up every 12 s (nginx.conf, rate=5r/m).
    too_many_login_attempts = {
        status = 429, code = "too_many_requests",
        message = "Too many login attempts from this address; retry later.",
        headers = { ["Retry-After"] = "12" },
    },
    -- nginx.conf's per-client limits (requests in progress, requests a second): a second frees up plenty.
    too_many_requests = {
        status = 429, code = "too_many_requests",
        message = "Too many requests from this address at once; retry shortly.",
        headers = { ["Retry-After"] = "1" },
    },
    -- search_contract.errors.not_found(): the apps' health probes, asked from the public port (lua/edge_operator.lua).
    not_found = {
        status = 404, code = "not_found", message = "No such resource.",
    },
    -- A request line over large_client_header_buffers (8 KiB).
    uri_too_long = {
        status = 414, code = "uri_too_long", message = "The request URI is longer than this server accepts.",
    },
    -- A header line over 8 KiB, or headers over 4 x 8 KiB (large_client_header_buffers): Nginx's 494.
    headers_too_large = {
        status = 431, code = "headers_too_large", message = "The request headers are larger than this server accepts.",
    },
    -- With TLS on, the admin over plain HTTP, other than a page load (lua/edge_admin.lua redirects those).
    https_required = {
        status = 403, code = "https_required", message = "The admin is served over HTTPS only.",
    },
    -- Every upload slot of this Nginx is taken (EDGE_UPLOAD_CONCURRENCY, lua/edge_uploads.lua).
    uploads_busy = {
        status = 503, code = "uploads_busy", message = "The server takes no more uploads at once; retry shortly.",
        headers = { ["Retry-After"] = "10" },
    },
    bad_gateway = {
        status = 502, code = "bad_gateway", message = "The service behind this route failed to answer.",
    },
    gateway_timeout = {
        status = 504, code = "gateway_timeout", message = "The service behind this route did not answer in time.",
    },
    -- The watcher pushes peers every few seconds: a task may be back by then.
    service_unavailable = {
        status = 503, code = "service_unavailable", message = "No healthy task serves this route; retry shortly.",
        headers = { ["Retry-After"] = "5" },
    },
    -- search_contract.errors.overloaded(): admission control sheds a search (lua/admission.lua).
    overloaded = {
        status = 503, code = "overloaded", message = "The service is at capacity; retry shortly.",
        headers = { ["Retry-After"] = "1" },
    },
}

-- The body of error `name`; `detail` fills the message's %s (the method of a 405). Put together by hand, not
-- with cjson (lua/edge_json.lua): cjson keeps no key order, and these bytes must be orjson's, keys in order.
function M.body(name, detail)
    local err = M.ERRORS[name]
    local message = err.message
    if detail ~= nil then
        -- Nginx accepts only letters, `_` and `-` in a method; anything else would not be safe inside JSON.
        message = string.format(message, (string.gsub(detail, "[^%w_-]", "?")))
    end
    return '{"error":{"code":"' .. err.code .. '","message":"' .. message .. '","fields":' .. (err.fields or "{}")
        .. "}}"
end

-- Answer error `name` (content or access phase). Nginx's own add_header (HSTS) still applies.
function M.respond(name, detail)
    local err, body = M.ERRORS[name], M.body(name, detail)
    ngx.status = err.status
    ngx.header["Content-Type"] = "application/json"
    -- A length rather than chunks, as Nginx's own `return` sends: a client that reads a refusal before
    -- sending its body (413 on Content-Length) gets the whole answer at once.
    ngx.header["Content-Length"] = #body
    for header, value in pairs(err.headers or {}) do
        ngx.header[header] = value
    end
    ngx.print(body)
    return ngx.exit(err.status)
end

return M
