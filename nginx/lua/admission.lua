-- Admission control for the searches: a bounded number in flight per task, a bounded wait, then a fast 503.
--
-- Why at the edge: past the point where PostgreSQL's cores are busy, more concurrent searches only make
-- every search slower (at 1M parts, 128 connections gave a p99 of 11 s and health checks that timed out,
-- so Swarm replaced every task). Here each app service (colour) admits at most
--     per-peer limit x peers in rotation
-- searches at once; the peer count is the watcher's, so the limit follows scaling and rolling updates.
-- A request over the limit waits up to EDGE_QUEUE_SECONDS for a slot (polling the shared counter), then
-- gets the apps' own JSON 503 `overloaded` with Retry-After. The apps bound their own database work too
-- (DB_CONCURRENCY), so a task is safe even from traffic that does not come through here.
--
-- The per-peer limit matches the app's database slots per task: django = 2 processes x 2 slots,
-- fastapi = 2 processes x 4 slots (stack.yml). More would only queue inside the task, where a
-- queued request cannot be shed any more.
--
-- Keys of ngx.shared.edge: inflight:<service>, incremented when a request is admitted and decremented
-- in its log phase (which runs for every finished request, aborted or not). A reload keeps the counts
-- right: old workers finish their requests and decrement. Only a crashed worker could leak a count,
-- and Nginx's own restart of that worker does not reset it; a leak shows in /edge/state.
local edge = require("edge")
local edge_errors = require("edge_errors")

local shared = ngx.shared.edge
local M = {}

local POLL_SECONDS = 0.02

-- "django=4,fastapi=8" -> {django = 4, fastapi = 8}
function M.parse_limits(text)
    local limits = {}
    for app, limit in string.gmatch(text or "", "([%w_-]+)%s*=%s*(%d+)") do
        limits[app] = tonumber(limit)
    end
    return limits
end

local LIMITS = M.parse_limits(os.getenv("EDGE_PEER_CONCURRENCY") or "django=4,fastapi=8")
local QUEUE_SECONDS = tonumber(os.getenv("EDGE_QUEUE_SECONDS") or "") or 2

-- search_contract.errors.overloaded(), as both apps answer it (lua/edge_errors.lua).
local function reject()
    return edge_errors.respond("overloaded")
end

-- Access phase of a search location: admit the request, or make it wait, or shed it.
function M.admit(app)
    local per_peer = LIMITS[app]
    if per_peer == nil then
        return
    end
    local service = edge.request_service(app)
    local key = "inflight:" .. service
    local deadline
    while true do
        local peers = edge.peer_count(service)
        if peers == 0 then
            return -- the balancer answers the "no healthy task" 503 itself
        end
        local count = shared:incr(key, 1, 0)
        if count <= per_peer * peers then
            ngx.ctx.edge_admitted = key
            ngx.var.edge_admitted = key
            return
        end
        shared:incr(key, -1, 0)
        ngx.update_time()
        deadline = deadline or ngx.now() + QUEUE_SECONDS
        if ngx.now() >= deadline then
            return reject()
        end
        ngx.sleep(POLL_SECONDS)
    end
end

-- Log phase: give the slot back. An error page that Nginx answers itself (error_page: 413 while reading
-- the body, 502, 504) moves the request to a named location. That clears ngx.ctx, and the named location's
-- log phase runs instead of the search location's. So the key is also kept in $edge_admitted, which
-- survives the move, and nginx.conf's server runs this for every location that has no log_by_lua of its own.
function M.release()
    local key = ngx.ctx.edge_admitted or ngx.var.edge_admitted
    if key and key ~= "" then
        ngx.ctx.edge_admitted = nil
        ngx.var.edge_admitted = ""
        shared:incr(key, -1, 0)
    end
end

return M
