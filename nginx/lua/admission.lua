-- Admission control for the searches: a bounded number in flight per task, a bounded wait in arrival
-- order, then a fast 503.
--
-- Why at the edge: past the point where PostgreSQL's cores are busy, more concurrent searches only make
-- every search slower (at 1M parts, 128 connections gave a p99 of 11 s and health checks that timed out,
-- so Swarm replaced every task). Here each app service (colour) admits at most
--     per-peer limit x peers in rotation
-- searches at once; the peer count is the watcher's, so the limit follows scaling and rolling updates.
-- A request over the limit waits up to EDGE_QUEUE_SECONDS for a slot, then gets the apps' own JSON 503
-- `overloaded` with Retry-After. The apps bound their own database work too (DB_CONCURRENCY), so a task
-- is safe even from traffic that does not come through here.
--
-- The per-peer limit matches the app's database slots per task: django = 2 processes x 2 slots,
-- fastapi = 2 processes x 4 slots (stack.yml). More would only queue inside the task, where a
-- queued request cannot be shed any more.
--
-- The wait is first come, first served, across Nginx's workers: a ticket lock over the shared
-- dictionary. Each search draws a ticket (ticket:<service>); ticket t may run once
--     t <= done:<service> + limit
-- where done counts the searches that finished and the waits given up. Each search thus waits for the
-- ones that came before it and for no one else. The first version let every waiter grab a free slot at
-- its next poll, whoever came first: at 1M parts and 32 connections the median search took 88 ms but
-- the slowest 10 % waited 1-2 s and some were shed, while others walked straight in. A waiter that
-- gives up counts as done. That is exact at the head of the queue, so waiters give up in ticket order
-- (within GIVE_UP_GRACE_SECONDS); one that could not would let one search too many in until the queue
-- passes its ticket.
--
-- Waiters sleep on a semaphore of their own worker, which a finishing search of that worker posts at
-- once; waiters of the other workers see the freed slot at their next poll (POLL_SECONDS).
--
-- Keys of ngx.shared.edge per service: ticket:, done:, and inflight: (admitted, not yet finished; what
-- /edge/state shows). Each admitted search is counted done in its log phase, which runs for every
-- finished request, aborted or not. A reload keeps the counts right: old workers finish their requests.
-- Only a crashed worker could leak a count (its searches never count as done, and the window stays
-- that much smaller until Nginx restarts); a leak shows in /edge/state as inflight that never drains.
local edge = require("edge")
local edge_errors = require("edge_errors")

local semaphore = require("ngx.semaphore")

local shared = ngx.shared.edge
local M = {}

local POLL_SECONDS = 0.005
-- How long past its deadline a waiter behind the head waits for the ones ahead to give up first. Only a
-- ticket whose request can no longer act (its worker crashed) keeps the head that long.
local GIVE_UP_GRACE_SECONDS = 0.25
-- Waiters of this worker; a finishing search wakes them all, and the one whose ticket is due goes.
-- Made on first use, inside a worker (a semaphore must not come from the master process).
local wake

local function wake_semaphore()
    wake = wake or semaphore.new(0)
    return wake
end

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

local function admitted(key)
    shared:incr("inflight:" .. key, 1, 0)
    ngx.ctx.edge_admitted = key
    ngx.var.edge_admitted = key
end

local function finished(key)
    shared:incr("done:" .. key, 1, 0)
    local waiters = wake_semaphore()
    local waiting = -waiters:count()
    if waiting > 0 then
        waiters:post(waiting)
    end
end

-- Waits for `ticket`'s turn: "admitted", "shed" (waited long enough), or "gone" (no task left).
local function wait_turn(service, per_peer, ticket)
    local deadline
    while true do
        local peers = edge.peer_count(service)
        if peers == 0 then
            return "gone"
        end
        local done, limit = shared:get("done:" .. service) or 0, per_peer * peers
        if ticket <= done + limit then
            return "admitted"
        end
        ngx.update_time()
        local now = ngx.now()
        deadline = deadline or now + QUEUE_SECONDS
        -- Give up at the head of the queue only, so the window moves past exactly this ticket. A waiter
        -- further back has its deadline within milliseconds of those ahead, who are resolving theirs.
        if now >= deadline and (ticket == done + limit + 1 or now >= deadline + GIVE_UP_GRACE_SECONDS) then
            return "shed"
        end
        wake_semaphore():wait(math.max(math.min(POLL_SECONDS, deadline - now), 0.001))
    end
end

-- Access phase of a search location: admit the request, or make it wait its turn, or shed it.
function M.admit(app)
    local per_peer = LIMITS[app]
    if per_peer == nil then
        return
    end
    local service = edge.request_service(app)
    if edge.peer_count(service) == 0 then
        return -- the balancer answers the "no healthy task" 503 itself
    end
    local ticket = shared:incr("ticket:" .. service, 1, 0)
    local ok, outcome = pcall(wait_turn, service, per_peer, ticket)
    if ok and outcome == "admitted" then
        return admitted(service)
    end
    -- Every ticket ends counted done, or the queue would stall behind it.
    finished(service)
    if not ok then
        error(outcome)
    elseif outcome == "shed" then
        return reject()
    end
    -- "gone": the balancer answers the "no healthy task" 503 itself
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
        shared:incr("inflight:" .. key, -1, 0)
        finished(key)
    end
end

return M
