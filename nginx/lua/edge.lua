-- The edge's dynamic half, per request: the balancer, the colour of a request, the drain before a reload, and
-- the watcher's heartbeat (/nginx-healthz). The decisions themselves are lua/edge_decisions.lua's (no `ngx`,
-- tested in plain LuaJIT); this module reads the request and the shared dictionary and hands them in.
--
-- Peers live in the shared dictionary `edge`, written by the upstream watcher through the local-only control
-- server (lua/edge_control.lua; nginx.conf, 127.0.0.1:8091). Changing them needs no reload, so no client
-- keep-alive connection is ever closed because a task came or went (a reload closes every idle one: trac #1022).
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
local decisions = require("edge_decisions")
local edge_json = require("edge_json")

local shared = ngx.shared.edge
local M = {}

-- nginx.conf's local server answering 503 JSON for a service without a healthy task.
local PLACEHOLDER_HOST, PLACEHOLDER_PORT = "127.0.0.1", 8090
-- A peer whose connection failed is skipped this long (the watcher drops it for good within a poll).
local DOWN_SECONDS = 5
-- /nginx-healthz turns 503 when the watcher has not pushed for this long (it pushes every poll).
local HEARTBEAT_MAX_AGE = 15

local OTHER_COLOUR = decisions.OTHER_COLOUR
local HEALTHY_BODY = edge_json.encode({ status = "ok" })

local parsed = {}       -- per worker: service -> {version = n, peers = {{host, port, key}, ...}}
local next_index = {}   -- per worker: service -> round-robin position
local worker_started = 0

function M.init_worker()
    ngx.update_time()
    worker_started = ngx.now()
end

local function peers_of(service)
    local version = shared:get("version:" .. service) or 0
    local entry = parsed[service]
    if entry == nil or entry.version ~= version then
        entry = { version = version, peers = decisions.parse_peers(shared:get("peers:" .. service)) }
        parsed[service] = entry
    end
    return entry.peers
end

function M.live_colour()
    return shared:get("live") or decisions.DEFAULT_COLOUR
end

-- The user's bucket: crc32 of the partscat_user cookie, or of the client address without one.
local function user_bucket()
    return decisions.canary_bucket(ngx.crc32_long(ngx.var.cookie_partscat_user or ngx.var.remote_addr or ""))
end

local function in_canary()
    return decisions.in_canary(shared:get("canary_percent") or 0, shared:get("canary_allow"),
        ngx.var.http_x_canary, user_bucket)
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
        local live = M.live_colour()
        local preview = ngx.var.edge_preview == "1"
        -- Asked only when they matter, as the decision reads them: the share, then the candidate's peers.
        local canary = not preview and in_canary()
        local candidate_peers = canary and #peers_of(app .. "-" .. OTHER_COLOUR[live]) or 0
        colour = decisions.colour_choose(live, preview, canary, candidate_peers)
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

local function peer_down(key)
    return shared:get("down:" .. key)
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
    local index
    index, next_index[service] = decisions.peer_choose(peers, next_index[service] or 0, ctx.edge_last, peer_down)
    local chosen = peers[index]
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
    local app = decisions.route_app(ngx.var.edge_route)
    if app then
        ngx.var.edge_colour = request_colour(ngx.ctx, app)
    end
    return M.close_if_draining()
end

-- Before a reload or a stop, old workers answer every request with `Connection: close`, so clients leave
-- their keep-alive connections after a complete response instead of having an idle one closed under them.
-- keepalive_timeout 0 in @edge_close turns r->keepalive off; re-entering the route cannot turn it back on.
-- POST /edge/drain (lua/edge_control.lua) sets close_before.
function M.close_if_draining()
    if decisions.draining(shared:get("close_before"), worker_started, ngx.req.is_internal()) then
        return ngx.exec("@edge_close")
    end
end

-- The FastAPI routes: the app sees paths without /fastapi (it sets root_path). Stripped here, after the drain
-- check, rather than by `rewrite ^/fastapi(/.*)$ $1 break`: a rewrite marks the request internal before the
-- access phase, so the drain skipped these routes (their answers kept connections alive, and the reload
-- then closed those connections under their clients), and a re-entry would land on the stripped path's route.
function M.strip_prefix(prefix)
    local uri = decisions.prefix_strip(ngx.var.uri, prefix)
    if uri then
        ngx.req.set_uri(uri)
    end
end

function M.reenter_route()
    return ngx.exec(ngx.var.uri, ngx.var.args)
end

function M.healthz()
    local beat = shared:get("heartbeat")
    ngx.header["Content-Type"] = "application/json"
    ngx.update_time()
    local now = ngx.now()
    if not decisions.heartbeat_fresh(beat, now, HEARTBEAT_MAX_AGE) then
        ngx.status = 503
        local age = beat and tonumber(string.format("%.1f", now - beat)) or edge_json.null
        ngx.say(edge_json.encode({ status = "watcher stalled", heartbeat_age = age }))
        return ngx.exit(503)
    end
    ngx.say(HEALTHY_BODY)
end

return M
