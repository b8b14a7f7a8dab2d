-- The edge's dynamic half: upstream peers, drain before reload, and the watcher's heartbeat.
--
-- Peers live in the shared dictionary `edge`, written by the upstream watcher through the local-only
-- control server (nginx.conf, 127.0.0.1:8091). Changing them needs no reload, so no client keep-alive
-- connection is ever closed because a task came or went (a reload closes every idle one: trac #1022).
--
-- Keys of ngx.shared.edge:
--   peers:<service>    "10.0.1.5:8000 10.0.1.6:8000" (space separated; empty = no healthy task)
--   version:<service>  bumped on every change, so each worker re-parses the list only when it changed
--   down:<host:port>   set for a few seconds after a connection to that peer failed
--   heartbeat          ngx.now() of the watcher's last push; /nginx-healthz fails when it is stale
--   close_before       workers started before this time answer with `Connection: close` (drain)
--   live, live_since   the colour that takes user traffic (blue-green) and since when
--   canary_percent     share of users (0-100) sent to the other colour, the candidate (canary releases)
--   canary_allow       " value value ": X-Canary header values that always reach the candidate
--
-- Blue-green: each app runs as two services, <app>-blue and <app>-green. Users reach the live colour; the
-- preview listener (127.0.0.1:8081, inside the container only: $edge_preview = 1) reaches the other one, so
-- an operator checks a new release through Nginx before any user request does. A switch changes `live` for
-- new requests at once; requests in flight finish where they are.
--
-- Canary: with canary_percent > 0, a user whose bucket (crc32 of the partscat_user cookie, or of the client
-- address without one, mod 100) is below the percentage goes to the candidate, the colour that is not live.
-- The same user keeps the same bucket, so they do not flip between versions, and raising the share keeps
-- everyone who was already on the candidate there. A request whose X-Canary header is in canary_allow always
-- goes to the candidate (the team's own checks). A candidate app with no task in rotation sends nobody there.
local balancer = require("ngx.balancer")

local shared = ngx.shared.edge
local M = {}

-- nginx.conf's local server answering 503 JSON for a service without a healthy task.
local PLACEHOLDER_HOST, PLACEHOLDER_PORT = "127.0.0.1", 8090
-- A peer whose connection failed is skipped this long (the watcher drops it for good within a poll).
local DOWN_SECONDS = 5
-- /nginx-healthz turns 503 when the watcher has not pushed for this long (it pushes every poll).
local HEARTBEAT_MAX_AGE = 15

local OTHER_COLOUR = { blue = "green", green = "blue" }
local DEFAULT_COLOUR = "blue"

local parsed = {}       -- per worker: service -> {version = n, peers = {{host, port, key}, ...}}
local next_index = {}   -- per worker: service -> round-robin position
local worker_started = 0

function M.init_worker()
    ngx.update_time()
    worker_started = ngx.now()
end

-- "a:1 b:2" -> {{"a", 1, "a:1"}, {"b", 2, "b:2"}}; anything that is not IPv4:port is ignored.
function M.parse_peers(text)
    local peers = {}
    for host, port in string.gmatch(text or "", "(%d+%.%d+%.%d+%.%d+):(%d+)") do
        peers[#peers + 1] = { host, tonumber(port), host .. ":" .. port }
    end
    return peers
end

local function peers_of(service)
    local version = shared:get("version:" .. service) or 0
    local entry = parsed[service]
    if entry == nil or entry.version ~= version then
        entry = { version = version, peers = M.parse_peers(shared:get("peers:" .. service)) }
        parsed[service] = entry
    end
    return entry.peers
end

function M.live_colour()
    return shared:get("live") or DEFAULT_COLOUR
end

-- 0-99, the same for a user on every request and every edge node (crc32 is the same everywhere).
function M.canary_bucket(key)
    return ngx.crc32_long(key or "") % 100
end

-- True when this request belongs to the canary share: allowlisted, or its user's bucket is under the share.
local function in_canary()
    local percent = shared:get("canary_percent") or 0
    local allow = shared:get("canary_allow")
    if percent <= 0 and allow == nil then
        return false
    end
    if allow ~= nil then
        local asked = ngx.var.http_x_canary
        if asked and string.find(allow, " " .. asked .. " ", 1, true) then
            return true
        end
    end
    if percent >= 100 then
        return true
    end
    return percent > 0 and M.canary_bucket(ngx.var.cookie_partscat_user or ngx.var.remote_addr) < percent
end

-- The colour this request goes to, fixed once (M.access) so that retries stay on it. $edge_colour keeps it
-- when an error page moves the request to a named location, which clears ngx.ctx.
local function request_colour(ctx, app)
    local colour = ctx.edge_colour
    if colour == nil and ngx.get_phase() ~= "balancer" then
        colour = ngx.var.edge_colour
        colour = colour ~= "" and colour or nil
    end
    if colour == nil then
        colour = M.live_colour()
        if ngx.var.edge_preview == "1" then
            colour = OTHER_COLOUR[colour]
        elseif in_canary() and #peers_of(app .. "-" .. OTHER_COLOUR[colour]) > 0 then
            colour = OTHER_COLOUR[colour]
        end
        ctx.edge_colour = colour
    end
    return colour
end

-- "<app>-<colour>": the service this request goes to (admission.lua counts per service too).
function M.request_service(app)
    return app .. "-" .. request_colour(ngx.ctx, app)
end

function M.peer_count(service)
    return #peers_of(service)
end

-- Round robin over the peers not marked down; a retry (proxy_next_upstream) never picks the peer it left.
function M.balance(app)
    local ctx = ngx.ctx
    local service = M.request_service(app)
    local peers = peers_of(service)
    local count = #peers
    if count == 0 then
        return balancer.set_current_peer(PLACEHOLDER_HOST, PLACEHOLDER_PORT)
    end
    if ctx.edge_last then
        -- A retry: the previous attempt failed (connect error, reset, timeout); keep others away from it.
        local state = balancer.get_last_failure()
        if state == "failed" then
            shared:set("down:" .. ctx.edge_last, true, DOWN_SECONDS)
        end
    elseif count > 1 then
        balancer.set_more_tries(count - 1)
    end
    local start = next_index[service] or 0
    local chosen
    for step = 1, count do
        local peer = peers[(start + step - 1) % count + 1]
        if peer[3] ~= ctx.edge_last and not shared:get("down:" .. peer[3]) then
            chosen = peer
            next_index[service] = (start + step) % count
            break
        end
    end
    if chosen == nil then
        -- Every other peer is marked down: try them anyway rather than fail without trying.
        chosen = peers[start % count + 1]
        next_index[service] = (start + 1) % count
    end
    ctx.edge_last = chosen[3]
    local ok, err = balancer.set_current_peer(chosen[1], chosen[2])
    if not ok then
        ngx.log(ngx.ERR, "edge: cannot set peer ", chosen[3], " for ", service, ": ", err)
        return ngx.exit(502)
    end
end

-- Access phase of every route: the request's colour is chosen here, where $edge_colour can be written, for
-- the app that $edge_route names ("django-search" -> django; empty: no app, no colour), then the drain.
function M.access()
    local route = ngx.var.edge_route
    local app = route and string.match(route, "^(%a+)")
    if app then
        ngx.var.edge_colour = request_colour(ngx.ctx, app)
    end
    return M.close_if_draining()
end

-- Before a reload or a stop, old workers answer every request with `Connection: close`, so clients leave
-- their keep-alive connections after a complete response instead of having an idle one closed under them.
-- keepalive_timeout 0 in @edge_close turns r->keepalive off; re-entering the route cannot turn it back on.
function M.close_if_draining()
    local close_before = shared:get("close_before")
    if close_before and worker_started < close_before and not ngx.req.is_internal() then
        return ngx.exec("@edge_close")
    end
end

-- The FastAPI routes: the app sees paths without /fastapi (it sets root_path). Stripped here, after the drain
-- check, rather than by `rewrite ^/fastapi(/.*)$ $1 break`: a rewrite marks the request internal before the
-- access phase, so the drain skipped these routes (their answers kept connections alive, and the reload
-- then closed those connections under their clients), and a re-entry would land on the stripped path's route.
function M.strip_prefix(prefix)
    local uri = ngx.var.uri
    if string.sub(uri, 1, #prefix + 1) == prefix .. "/" then
        ngx.req.set_uri(string.sub(uri, #prefix + 1))
    end
end

function M.reenter_route()
    return ngx.exec(ngx.var.uri, ngx.var.args)
end

function M.healthz()
    local beat = shared:get("heartbeat")
    ngx.header["Content-Type"] = "application/json"
    ngx.update_time()
    if beat == nil or ngx.now() - beat > HEARTBEAT_MAX_AGE then
        ngx.status = 503
        ngx.say('{"status": "watcher stalled", "heartbeat_age": ',
            beat and string.format("%.1f", ngx.now() - beat) or "null", "}")
        return ngx.exit(503)
    end
    ngx.say('{"status": "ok"}')
end

-- POST /edge/peers, body: one line per service, "name addr:port addr:port ...". Also the heartbeat, at `now`
-- (ngx.now() where the request API is available).
local function peers_set(body, now)
    local changed = {}
    for line in string.gmatch(body, "[^\n]+") do
        local service, rest = string.match(line, "^%s*([%w_-]+)%s*(.-)%s*$")
        if service then
            local keys = {}
            for _, peer in ipairs(M.parse_peers(rest)) do
                keys[#keys + 1] = peer[3]
            end
            local text = table.concat(keys, " ")
            if shared:get("peers:" .. service) ~= text then
                shared:set("peers:" .. service, text)
                shared:incr("version:" .. service, 1, 0)
                changed[#changed + 1] = service
            end
        end
    end
    shared:set("heartbeat", now)
    return changed
end

local function allow_json()
    local quoted = {}
    for value in string.gmatch(shared:get("canary_allow") or "", "%S+") do
        quoted[#quoted + 1] = '"' .. value .. '"'
    end
    return table.concat(quoted, ", ")
end

local function state_json()
    local services, inflight, queued = {}, {}, {}
    for _, key in ipairs(shared:get_keys(0)) do
        local service = string.match(key, "^peers:(.+)$")
        if service then
            local quoted = {}
            for _, peer in ipairs(M.parse_peers(shared:get(key))) do quoted[#quoted + 1] = '"' .. peer[3] .. '"' end
            services[#services + 1] = string.format('"%s": [%s]', service, table.concat(quoted, ", "))
        end
        service = string.match(key, "^inflight:(.+)$")
        if service then
            local running = shared:get(key) or 0
            inflight[#inflight + 1] = string.format('"%s": %d', service, running)
            -- Waiting in lua/admission.lua's queue: tickets drawn, less those done and those running.
            local waiting = (shared:get("ticket:" .. service) or 0) - (shared:get("done:" .. service) or 0) - running
            queued[#queued + 1] = string.format('"%s": %d', service, math.max(waiting, 0))
        end
    end
    table.sort(services)
    table.sort(inflight)
    table.sort(queued)
    return string.format(
        '{"live": "%s", "live_since": %s, "canary": {"percent": %d, "allow": [%s]}, "peers": {%s}, '
            .. '"inflight": {%s}, "queued": {%s}, "heartbeat": %s, "close_before": %s}',
        M.live_colour(), tostring(shared:get("live_since") or "null"), shared:get("canary_percent") or 0,
        allow_json(), table.concat(services, ", "),
        table.concat(inflight, ", "), table.concat(queued, ", "), tostring(shared:get("heartbeat") or "null"),
        tostring(shared:get("close_before") or "null"))
end

-- True when some service of `colour` is known and every one has a peer in rotation.
local function colour_has_peers(colour)
    local found = false
    for _, key in ipairs(shared:get_keys(0)) do
        if string.match(key, "^peers:.+%-" .. colour .. "$") then
            if #M.parse_peers(shared:get(key)) == 0 then
                return false
            end
            found = true
        end
    end
    return found
end

-- POST /edge/live, body "green": new requests go to that colour from now on, and a canary in progress ends.
-- With ?require_peers=1 (what bluegreen.sh sends) a colour with an app that has no task in rotation is
-- refused: never switch to nothing.
local function live_set(body, require_peers)
    local colour = string.match(body or "", "^%s*(%a+)%s*$")
    if colour == nil or OTHER_COLOUR[colour] == nil then
        return 400, "the body must be a colour: blue or green"
    end
    if require_peers and not colour_has_peers(colour) then
        return 409, "some app of " .. colour .. " has no task in rotation; not switching"
    end
    -- A switch (or a switch back) sends everyone to one colour: a canary ends in the same step.
    shared:set("canary_percent", 0)
    shared:delete("canary_allow")
    if shared:get("live") ~= colour then
        ngx.update_time()
        shared:set("live", colour)
        shared:set("live_since", ngx.now())
    end
    return 200
end

-- POST /edge/canary, body "<percent> [value ...]": the canary share (0-100) and the X-Canary values that always
-- reach the candidate (none: the allowlist is cleared). Requests in flight keep the colour they started on.
local function canary_set(body)
    local percent, rest = string.match(body or "", "^%s*(%d+)%s*(.-)%s*$")
    percent = tonumber(percent)
    if percent == nil or percent > 100 then
        return 400, "the body must be a percentage 0-100, then the allowed X-Canary values"
    end
    local values = {}
    for value in string.gmatch(rest, "%S+") do
        if not string.match(value, "^[%w._-]+$") then
            return 400, "an allowed X-Canary value may hold letters, digits, '.', '_' and '-' only"
        end
        values[#values + 1] = value
    end
    shared:set("canary_percent", percent)
    shared:set("canary_allow", #values > 0 and (" " .. table.concat(values, " ") .. " ") or nil)
    return 200
end

-- A change's answer: the state after it, or its status and the problem.
local function state_answer(status, problem)
    if status == 200 then
        ngx.say(state_json())
    else
        ngx.status = status
        ngx.say('{"error": "', problem, '"}')
    end
end

-- The control server (127.0.0.1 only): GET /edge/state, /edge/metrics, POST /edge/peers, /edge/drain,
-- /edge/live, /edge/canary.
function M.control()
    local uri, method = ngx.var.uri, ngx.req.get_method()
    ngx.header["Content-Type"] = "application/json"
    if uri == "/edge/state" and method == "GET" then
        ngx.say(state_json())
    elseif uri == "/edge/peers" and method == "POST" then
        ngx.req.read_body()
        ngx.update_time()
        local changed = peers_set(ngx.req.get_body_data() or "", ngx.now())
        ngx.say('{"changed": ', #changed, "}")
    elseif uri == "/edge/live" and method == "POST" then
        ngx.req.read_body()
        state_answer(live_set(ngx.req.get_body_data(), ngx.var.arg_require_peers == "1"))
    elseif uri == "/edge/canary" and method == "POST" then
        ngx.req.read_body()
        state_answer(canary_set(ngx.req.get_body_data()))
    elseif uri == "/edge/metrics" and method == "GET" then
        ngx.say(require("edge_metrics").json())
    elseif uri == "/edge/drain" and method == "POST" then
        ngx.update_time()
        shared:set("close_before", ngx.now())
        ngx.say(state_json())
    else
        ngx.status = 404
        ngx.say('{"error": "unknown control request"}')
    end
end

-- init_by_lua, in the master before any worker accepts: the watcher's first poll, which it wrote to `path`
-- before starting Nginx ("live <colour>" then POST /edge/peers's body). A new Nginx task that takes connections
-- from the shared listening socket beside the old one then routes its first request like the old one does,
-- instead of answering 503 until the watcher's first push. A reload keeps the shared dictionary, and what the
-- watcher pushed since is newer: the seed is only for a dictionary nothing was pushed to yet.
function M.seed(path)
    if shared:get("heartbeat") ~= nil then
        return
    end
    local file = io.open(path, "r")
    if file == nil then
        return
    end
    local text = file:read("*a")
    file:close()
    local colour, peers = string.match(text, "^live (%a+)\n(.*)$")
    if colour == nil or OTHER_COLOUR[colour] == nil then
        ngx.log(ngx.WARN, "edge: ignoring the seed ", path, ": it does not start with a colour")
        return
    end
    shared:set("live", colour)
    -- An optional second line: "canary <percent> [value ...]" (the canary share kept in the swarm).
    local canary, rest = string.match(peers, "^canary ([^\n]*)\n(.*)$")
    if canary ~= nil then
        canary_set(canary)
        peers = rest
    end
    -- The request API (ngx.now) is not there yet: the clock's seconds do as the heartbeat's time.
    peers_set(peers, os.time())
end

return M
