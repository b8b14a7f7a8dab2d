-- Admission control for the searches: a bounded number in flight per task, a bounded wait in arrival
-- order with a fair share for each client address, then a fast 503.
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
-- A slot is held only while an app works on the search (issue 16):
-- - The body is read before the search asks for a slot (M.admit reads it first), with the search routes'
--   short client_body_timeout (nginx.conf). A client that sends its body one byte at a time holds a
--   connection (bounded per address by nginx.conf's limit_conn), never a slot: before, 32 such sockets
--   from one address held every slot of both apps, and every other search was shed after 2 s.
-- - The slot comes back as soon as the app answers (the search locations' header filter, M.answered),
--   not when the client has read the answer: a client that reads nothing held its slot until the log
--   phase, up to send_timeout (30 s) after Nginx gave up sending, before.
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
-- Fair share per client address: a search first waits in its client's own line, a ticket lock of the
-- same kind per (service, address) in ngx.shared.edge_clients, which lets at most `limit` searches of
-- one address (as many as the service has slots) hold tickets of the shared queue at once. A client
-- alone still gets every slot (`make bench`'s 128 connections from one address run as fast as before),
-- but a burst from one address no longer fills the shared queue: another client's search waits behind at
-- most `limit` of its searches, i.e. for the first slot that frees up, instead of behind the whole burst
-- (measured: 40 searches of 0.5 s from one address made another's search wait 1.76 s, at the edge of
-- being shed; now about 0.5 s). Two busy addresses get about half the slots each.
--
-- Waiters sleep on a semaphore of their own worker, which a finishing search of that worker posts at
-- once; waiters of the other workers see the freed slot at their next poll (POLL_SECONDS).
--
-- Keys of ngx.shared.edge per service: ticket:, done:, and inflight: (admitted, not yet finished; what
-- /edge/state shows). Each admitted search is counted done when the app answers or, at the latest,
-- in its log phase, which runs for every finished request, aborted or not. A reload keeps the
-- counts right: old workers finish their requests. Only a crashed worker could leak a count (its
-- searches never count as done, and the window stays that much smaller until Nginx restarts); a leak
-- shows in /edge/state as inflight that never drains.
--
-- Keys of ngx.shared.edge_clients per service and address: t:<service>:<address> (tickets of the client's
-- line) and d:<service>:<address> (done). Both are touched together and expire CLIENT_KEY_SECONDS after
-- the client's last search, so the dictionary holds the addresses seen in the last minutes; when it is
-- full, the least recently used (idle) clients' keys go first. Should a busy client's done count still be
-- lost, its line would stall: a waiter that finds its ticket further ahead of done than a client can have
-- searches at once resets the line (over-admitting that client once, never stalling it).
local edge = require("edge")
local edge_errors = require("edge_errors")

local semaphore = require("ngx.semaphore")

local shared = ngx.shared.edge
local clients = ngx.shared.edge_clients
local M = {}

local POLL_SECONDS = 0.005
-- How long past its deadline a waiter behind the head waits for the ones ahead to give up first. Only a
-- ticket whose request can no longer act (its worker crashed) keeps the head that long.
local GIVE_UP_GRACE_SECONDS = 0.25
-- Longer than any search can live (queue 2 s + proxy_read_timeout 60 s, nginx.conf), so a client's keys
-- never expire while it has a search on the way.
local CLIENT_KEY_SECONDS = 300
-- More searches than one address can have on the way at once (nginx.conf: limit_conn 256 on the search
-- routes): a client line whose tickets run further ahead of its done count lost that count.
local CLIENT_LINE_MAX = 1024
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

local LIMITS = M.parse_limits(os.getenv("EDGE_PEER_CONCURRENCY") or "django=4,fastapi=4")
local QUEUE_SECONDS = tonumber(os.getenv("EDGE_QUEUE_SECONDS") or "") or 2

-- search_contract.errors.overloaded(), as both apps answer it (lua/edge_errors.lua).
local function reject()
    ngx.ctx.edge_shed = true -- counted apart by lua/edge_metrics.lua
    return edge_errors.respond("overloaded")
end

-- A queue: the shared one of a service, or one client's line in front of it.
local function service_queue(service)
    return { dict = shared, ticket = "ticket:" .. service, done = "done:" .. service }
end

local function client_queue(service, address)
    local suffix = service .. ":" .. address
    return { dict = clients, ticket = "t:" .. suffix, done = "d:" .. suffix, client = true }
end

local function client_touch(queue)
    clients:expire(queue.ticket, CLIENT_KEY_SECONDS)
    clients:expire(queue.done, CLIENT_KEY_SECONDS)
end

local function draw(queue)
    if not queue.client then
        return shared:incr(queue.ticket, 1, 0)
    end
    clients:add(queue.done, 0, CLIENT_KEY_SECONDS)
    local ticket = clients:incr(queue.ticket, 1, 0, CLIENT_KEY_SECONDS)
    client_touch(queue)
    return ticket
end

local function count_done(queue)
    if queue.client then
        clients:incr(queue.done, 1, 0, CLIENT_KEY_SECONDS)
        client_touch(queue)
    else
        shared:incr(queue.done, 1, 0)
    end
end

local function finished(service, address)
    count_done(service_queue(service))
    if address then
        count_done(client_queue(service, address))
    end
    local waiters = wake_semaphore()
    local waiting = -waiters:count()
    if waiting > 0 then
        waiters:post(waiting)
    end
end

-- Waits for `ticket`'s turn in `queue`: "admitted", "shed" (waited until `deadline`), or "gone" (no task
-- left). The window is the service's slots: per-peer limit x peers, now.
local function wait_turn(queue, service, per_peer, ticket, deadline)
    while true do
        local peers = edge.peer_count(service)
        if peers == 0 then
            return "gone"
        end
        local done, limit = queue.dict:get(queue.done) or 0, per_peer * peers
        if queue.client and ticket - done > CLIENT_LINE_MAX then
            ngx.log(ngx.WARN, "admission: the line of ", queue.ticket, " lost its count (ticket ", ticket,
                ", done ", done, "); starting it again")
            done = ticket - 1
            clients:set(queue.done, done, CLIENT_KEY_SECONDS)
        end
        if ticket <= done + limit then
            return "admitted"
        end
        ngx.update_time()
        local now = ngx.now()
        -- Give up at the head of the queue only, so the window moves past exactly this ticket. A waiter
        -- further back has its deadline within milliseconds of those ahead, who are resolving theirs.
        if now >= deadline and (ticket == done + limit + 1 or now >= deadline + GIVE_UP_GRACE_SECONDS) then
            return "shed"
        end
        wake_semaphore():wait(math.max(math.min(POLL_SECONDS, deadline - now), 0.001))
    end
end

-- The client's line, then the service's queue. "admitted" holds a place in both until finished(). Every
-- ticket ends counted done, or the queue (and the client's line) would stall behind it.
local function wait_both(service, address, per_peer)
    ngx.update_time()
    local deadline = ngx.now() + QUEUE_SECONDS
    local line = client_queue(service, address)
    local ok, outcome = pcall(wait_turn, line, service, per_peer, draw(line), deadline)
    if not (ok and outcome == "admitted") then
        count_done(line)
        if not ok then
            error(outcome)
        end
        return outcome
    end
    local queue = service_queue(service)
    ok, outcome = pcall(wait_turn, queue, service, per_peer, draw(queue), deadline)
    if ok and outcome == "admitted" then
        return outcome
    end
    finished(service, address)
    if not ok then
        error(outcome)
    end
    return outcome
end

-- Access phase of a search location: read the body, then admit the request, or make it wait its turn, or
-- shed it.
function M.admit(app)
    -- A body Nginx cannot take (over 64 KiB, or stalled past client_body_timeout) ends the request here,
    -- through nginx.conf's error page, before it takes any place in a queue.
    ngx.req.read_body()
    local per_peer = LIMITS[app]
    if per_peer == nil then
        return
    end
    local service = edge.request_service(app)
    if edge.peer_count(service) == 0 then
        return -- the balancer answers the "no healthy task" 503 itself
    end
    local address = ngx.var.remote_addr
    local outcome = wait_both(service, address, per_peer)
    if outcome == "admitted" then
        shared:incr("inflight:" .. service, 1, 0)
        local key = service .. " " .. address
        ngx.ctx.edge_admitted = key
        ngx.var.edge_admitted = key
    elseif outcome == "shed" then
        return reject()
    end
    -- "gone": the balancer answers the "no healthy task" 503 itself
end

-- Give the slot back, once: when the app answers (M.answered) or in the log phase. An error
-- page that Nginx answers itself (error_page: 502, 504) moves the request to a named location. That clears
-- ngx.ctx, and the named location's log phase runs instead of the search location's. So the key is also
-- kept in $edge_admitted, which survives the move, and nginx.conf's server runs this for every location
-- that has no log_by_lua of its own.
function M.release()
    local key = ngx.ctx.edge_admitted or ngx.var.edge_admitted
    if key and key ~= "" then
        ngx.ctx.edge_admitted = nil
        ngx.var.edge_admitted = ""
        local service, address = string.match(key, "^(%S+) (%S+)$")
        shared:incr("inflight:" .. service, -1, 0)
        finished(service, address)
    end
end

-- Header filter of a search location: the app has answered. Both apps render the whole answer before they
-- send its headers (neither streams a search), and their database slot is free by then; Nginx reads the rest
-- of the answer into its buffers at network speed, whatever the client does. The body filter would be too
-- late: with a client that reads nothing, the answer's last buffer reaches it only once the client has
-- taken almost all of it (Nginx passes a buffered answer down the filters as the client accepts it).
function M.answered()
    M.release()
end

return M
