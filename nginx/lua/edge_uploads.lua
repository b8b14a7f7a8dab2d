-- The parts-file upload (/api/jobs/import/, up to 100 MiB): the token first, then a bounded number of uploads.
--
-- The token is checked before Nginx reads a byte of the body. Before, Nginx buffered up to 100 MiB to disk
-- for anyone and only then asked Django, which refused a missing or bad token. Tokens live in the database
-- as SHA-256 digests (app/jobs/auth.py: made by create_api_token or the admin, plus the jobs_api_token
-- secret that every deploy ensures), so only Django can tell a live token from an unknown or revoked one.
-- So the edge asks Django: the same route with the request's headers and an empty body, as a subrequest
-- (nginx.conf's /_edge/jobs-import-token). Django's import view checks the token before it reads the body
-- (jobs.auth.token_required): without a live token it answers 401 or 403. With one, it refuses the empty
-- upload itself (UPLOAD_REFUSALS: no job is made), and only then does the real upload go on. Any other
-- answer (Django's 401/403, its 400 for a Host it does not serve, a 5xx while it is away) goes to the client
-- as it is, byte for byte: the upload would have got the same after its body. A check costs Django one
-- indexed lookup and no body; nginx.conf's per-address limits bound how often one client asks.
--
-- Then an upload slot: at most EDGE_UPLOAD_CONCURRENCY uploads (default 4) are taken at once per Nginx,
-- each at most client_max_body_size (100 MiB) of temporary file, so the disk that request bodies take is
-- bounded (400 MiB by default). Over it: 503 uploads_busy with Retry-After, before the body. The count is
-- only taken for a live token, so nobody without one can keep the slots busy. The slot comes back in the
-- log phase; a crashed worker could leak one until Nginx restarts (as lua/admission.lua's counts).
local cjson_safe = require("cjson.safe")
local edge_errors = require("edge_errors")

local shared = ngx.shared.edge
local M = {}

local CHECK_LOCATION = "/_edge/jobs-import-token"
-- The error codes of Django's import view for an upload it read nothing of, once the token passed
-- (jobs.api_requests.import_upload_parse): an empty file, a missing format, a length it cannot take.
-- tests/nginx/test_edge_uploads.py holds them to the real view: a live token passes, no job is made.
local UPLOAD_REFUSALS = { validation_error = true, length_required = true, body_too_large = true }
local SLOTS_KEY = "uploads"
local SLOTS = tonumber(os.getenv("EDGE_UPLOAD_CONCURRENCY") or "") or 4

-- The code of an error body in the apps' shape, or nil.
local function refusal_code(body)
    local document = cjson_safe.decode(body or "")
    local err = type(document) == "table" and document.error
    return type(err) == "table" and err.code or nil
end

-- Relay Django's refusal as it wrote it.
local function relay(answer)
    ngx.status = answer.status
    for _, name in ipairs({ "Content-Type", "WWW-Authenticate", "Retry-After" }) do
        local value = answer.header[name]
        if value ~= nil then
            ngx.header[name] = value
        end
    end
    ngx.header["Content-Length"] = #answer.body
    ngx.print(answer.body)
    return ngx.exit(answer.status)
end

-- Access phase of /api/jobs/import/.
function M.admit()
    local answer = ngx.location.capture(CHECK_LOCATION, { method = ngx.HTTP_POST, body = "" })
    -- The apps' error shape: {"error":{"code":"...", ...}}. Anything else (no JSON, another shape) is relayed.
    local code = refusal_code(answer.body)
    if answer.status < 400 or answer.status >= 500 or not UPLOAD_REFUSALS[code] then
        return relay(answer)
    end
    if shared:incr(SLOTS_KEY, 1, 0) > SLOTS then
        shared:incr(SLOTS_KEY, -1, 0)
        return edge_errors.respond("uploads_busy")
    end
    ngx.var.edge_upload = "1"
end

-- Log phase (nginx.conf's server runs it for every request): give the upload slot back.
function M.release()
    if ngx.var.edge_upload == "1" then
        ngx.var.edge_upload = ""
        shared:incr(SLOTS_KEY, -1, 0)
    end
end

return M
