-- The control server (nginx.conf: 127.0.0.1:8091, inside the container only) and the seed: what writes the
-- shared dictionary `edge` that lua/edge.lua routes by (its keys are listed there).
--
-- GET /edge/state, /edge/metrics; POST /edge/peers (the upstream watcher, every poll: also its heartbeat),
-- /edge/drain, /edge/live, /edge/canary. Answers are JSON (lua/edge_json.lua); the bodies' rules and the state's
-- shape are lua/edge_decisions.lua's.
local decisions = require("edge_decisions")
local edge_json = require("edge_json")

local shared = ngx.shared.edge
local M = {}

-- The dictionary's keys and values, for the decisions that look at all of it.
local function dictionary_values()
    local values = {}
    for _, key in ipairs(shared:get_keys(0)) do
        values[key] = shared:get(key)
    end
    return values
end

local function state_json()
    return edge_json.encode(decisions.state_document(dictionary_values()))
end

-- POST /edge/peers's body; also the heartbeat, at `now` (ngx.now() where the request API is available).
-- Returns how many services changed.
local function peers_set(body, now)
    local changed = 0
    for _, entry in ipairs(decisions.peers_body_parse(body)) do
        local service, text = entry[1], entry[2]
        if shared:get("peers:" .. service) ~= text then
            shared:set("peers:" .. service, text)
            shared:incr("version:" .. service, 1, 0)
            changed = changed + 1
        end
    end
    shared:set("heartbeat", now)
    return changed
end

-- POST /edge/live, body "green": new requests go to that colour from now on, and a canary in progress ends.
-- With ?require_peers=1 (what bluegreen.sh sends) a colour with an app that has no task in rotation is
-- refused: never switch to nothing.
local function live_set(body, require_peers)
    local colour, problem = decisions.colour_parse(body)
    if colour == nil then
        return 400, problem
    end
    if require_peers and not decisions.colour_has_peers(colour, dictionary_values()) then
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
    local percent, values = decisions.canary_parse(body)
    if percent == nil then
        return 400, values
    end
    shared:set("canary_percent", percent)
    shared:set("canary_allow", decisions.allow_text(values))
    return 200
end

-- A change's answer: the state after it, or its status and the problem.
local function state_answer(status, problem)
    if status == 200 then
        ngx.say(state_json())
    else
        ngx.status = status
        ngx.say(edge_json.encode({ error = problem }))
    end
end

function M.control()
    local uri, method = ngx.var.uri, ngx.req.get_method()
    ngx.header["Content-Type"] = "application/json"
    if uri == "/edge/state" and method == "GET" then
        ngx.say(state_json())
    elseif uri == "/edge/peers" and method == "POST" then
        ngx.req.read_body()
        ngx.update_time()
        ngx.say(edge_json.encode({ changed = peers_set(ngx.req.get_body_data() or "", ngx.now()) }))
    elseif uri == "/edge/live" and method == "POST" then
        ngx.req.read_body()
        state_answer(live_set(ngx.req.get_body_data(), ngx.var.arg_require_peers == "1"))
    elseif uri == "/edge/canary" and method == "POST" then
        ngx.req.read_body()
        state_answer(canary_set(ngx.req.get_body_data()))
    elseif uri == "/edge/metrics" and method == "GET" then
        ngx.say(require("edge_metrics").json())
    elseif uri == "/edge/drain" and method == "POST" then
        -- Workers started before now answer with `Connection: close` (lua/edge.lua, close_if_draining).
        ngx.update_time()
        shared:set("close_before", ngx.now())
        ngx.say(state_json())
    else
        ngx.status = 404
        ngx.say(edge_json.encode({ error = "unknown control request" }))
    end
end

-- init_by_lua, in the master before any worker accepts: the watcher's first poll, which it wrote to `path`
-- before starting Nginx ("live <colour>", optionally "canary <percent> [value ...]" (the canary share kept in
-- the swarm), then POST /edge/peers's body). A new Nginx task that takes connections from the shared listening
-- socket beside the old one then routes its first request like the old one does, instead of answering 503
-- until the watcher's first push. A reload keeps the shared dictionary, and what the watcher pushed since is
-- newer: the seed is only for a dictionary nothing was pushed to yet.
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
    local colour, canary, peers = decisions.seed_parse(text)
    if colour == nil then
        ngx.log(ngx.WARN, "edge: ignoring the seed ", path, ": it does not start with a colour")
        return
    end
    shared:set("live", colour)
    if canary ~= nil then
        canary_set(canary)
    end
    -- The request API (ngx.now) is not there yet: the clock's seconds do as the heartbeat's time.
    peers_set(peers, os.time())
end

return M
