-- The edge's decisions, with no `ngx` in them: which peer, which colour, who is in the canary share, what the
-- control server's bodies and the seed say, what /edge/state shows. lua/edge.lua (the balancer, per request) and
-- lua/edge_control.lua (the control server) read the shared dictionary and the request, and hand the values in.
-- tests/nginx/lua/test_edge_decisions.lua runs each one in plain LuaJIT (tests/nginx/test_lua_specs.py).
local edge_json = require("edge_json")

local M = {}

M.OTHER_COLOUR = { blue = "green", green = "blue" }
M.DEFAULT_COLOUR = "blue"

-- PEERS

-- "a:1 b:2" -> {{"a", 1, "a:1"}, {"b", 2, "b:2"}}; anything that is not IPv4:port is ignored.
function M.parse_peers(text)
    local peers = {}
    for host, port in string.gmatch(text or "", "(%d+%.%d+%.%d+%.%d+):(%d+)") do
        peers[#peers + 1] = { host, tonumber(port), host .. ":" .. port }
    end
    return peers
end

-- The peer a request goes to, round robin from `start` (0-based): the first that is not `last` (the peer a
-- retry left) and not `is_down(key)`; when every other peer is down, the one at `start` anyway, rather than
-- fail without trying. Returns its index in `peers` and the next start.
function M.peer_choose(peers, start, last, is_down)
    local count = #peers
    for step = 1, count do
        local index = (start + step - 1) % count + 1
        local key = peers[index][3]
        if key ~= last and not is_down(key) then
            return index, (start + step) % count
        end
    end
    return start % count + 1, (start + 1) % count
end

-- COLOURS AND THE CANARY

-- The colour a request goes to: the other one on the preview listener, or for a request of the canary share
-- when the candidate has a peer in rotation (a candidate with none gets nobody); else the live colour.
function M.colour_choose(live, preview, in_canary, candidate_peers)
    if preview or (in_canary and candidate_peers > 0) then
        return M.OTHER_COLOUR[live]
    end
    return live
end

-- 0-99 from a checksum (ngx.crc32_long), the same for a user on every request and every edge node.
function M.canary_bucket(checksum)
    return checksum % 100
end

-- True when a request belongs to the canary share: its X-Canary value (`asked`) is in `allow` (" a b ", or nil),
-- or its user's bucket (`user_bucket()`, asked only when the share needs it) is under `percent`.
function M.in_canary(percent, allow, asked, user_bucket)
    if percent <= 0 and allow == nil then
        return false
    end
    if allow ~= nil and asked and string.find(allow, " " .. asked .. " ", 1, true) then
        return true
    end
    if percent >= 100 then
        return true
    end
    return percent > 0 and user_bucket() < percent
end

-- " a b " -> {"a", "b"}: the allowlist as the dictionary keeps it, and back (nil for none).
function M.allow_values(text)
    local values = {}
    for value in string.gmatch(text or "", "%S+") do
        values[#values + 1] = value
    end
    return values
end

function M.allow_text(values)
    return #values > 0 and (" " .. table.concat(values, " ") .. " ") or nil
end

-- REQUESTS

-- The app a route names ("django-search" -> "django"); nil for a route without an app ("").
function M.route_app(route)
    return route and string.match(route, "^(%a+)")
end

-- `uri` without `prefix` ("/fastapi/docs" -> "/docs"), or nil when it does not start with prefix .. "/".
function M.prefix_strip(uri, prefix)
    if string.sub(uri, 1, #prefix + 1) == prefix .. "/" then
        return string.sub(uri, #prefix + 1)
    end
    return nil
end

-- True when a worker started at `started` must answer with `Connection: close`: a drain was asked after it
-- started (`close_before`), and the request is the client's own, not an internal re-entry.
function M.draining(close_before, started, internal)
    return close_before ~= nil and started < close_before and not internal
end

-- True when the watcher pushed (at `beat`, nil: never) less than `max_age` seconds before `now`.
function M.heartbeat_fresh(beat, now, max_age)
    return beat ~= nil and now - beat <= max_age
end

-- THE CONTROL SERVER'S BODIES

-- POST /edge/peers: one line per service, "name addr:port addr:port ..." -> {{service, "addr:port ..."}, ...},
-- each list in the dictionary's form (the IPv4:port peers, space separated).
function M.peers_body_parse(body)
    local services = {}
    for line in string.gmatch(body or "", "[^\n]+") do
        local service, rest = string.match(line, "^%s*([%w_-]+)%s*(.-)%s*$")
        if service then
            local keys = {}
            for _, peer in ipairs(M.parse_peers(rest)) do
                keys[#keys + 1] = peer[3]
            end
            services[#services + 1] = { service, table.concat(keys, " ") }
        end
    end
    return services
end

-- POST /edge/live: "green" -> "green"; nil and the problem for anything but a colour.
function M.colour_parse(body)
    local colour = string.match(body or "", "^%s*(%a+)%s*$")
    if colour == nil or M.OTHER_COLOUR[colour] == nil then
        return nil, "the body must be a colour: blue or green"
    end
    return colour
end

-- POST /edge/canary: "<percent> [value ...]" -> percent, {value, ...}; nil and the problem when it is not one.
function M.canary_parse(body)
    local percent, rest = string.match(body or "", "^%s*(%d+)%s*(.-)%s*$")
    percent = tonumber(percent)
    if percent == nil or percent > 100 then
        return nil, "the body must be a percentage 0-100, then the allowed X-Canary values"
    end
    local values = M.allow_values(rest)
    for _, value in ipairs(values) do
        if not string.match(value, "^[%w._-]+$") then
            return nil, "an allowed X-Canary value may hold letters, digits, '.', '_' and '-' only"
        end
    end
    return percent, values
end

-- The seed file (init_by_lua): "live <colour>\n", optionally "canary <percent> [value ...]\n", then POST
-- /edge/peers's body -> colour, canary body (or nil), peers body; nil when it does not start with a colour.
function M.seed_parse(text)
    local colour, peers = string.match(text or "", "^live (%a+)\n(.*)$")
    if colour == nil or M.OTHER_COLOUR[colour] == nil then
        return nil
    end
    local canary, rest = string.match(peers, "^canary ([^\n]*)\n(.*)$")
    if canary ~= nil then
        return colour, canary, rest
    end
    return colour, nil, peers
end

-- WHAT THE CONTROL SERVER SHOWS

-- True when some service of `colour` is known in `values` (the dictionary's keys and values) and every one of
-- them has a peer in rotation.
function M.colour_has_peers(colour, values)
    local found = false
    for key, value in pairs(values) do
        if string.match(key, "^peers:.+%-" .. colour .. "$") then
            if #M.parse_peers(value) == 0 then
                return false
            end
            found = true
        end
    end
    return found
end

-- GET /edge/state from the dictionary's keys and values: live colour, canary share, peers per service,
-- searches in flight and waiting in lua/admission.lua's queue per service, heartbeat and drain times.
function M.state_document(values)
    local peers, inflight, queued = {}, {}, {}
    for key, value in pairs(values) do
        local service = string.match(key, "^peers:(.+)$")
        if service then
            local keys = edge_json.array()
            for _, peer in ipairs(M.parse_peers(value)) do
                keys[#keys + 1] = peer[3]
            end
            peers[service] = keys
        end
        service = string.match(key, "^inflight:(.+)$")
        if service then
            local running = value or 0
            inflight[service] = running
            -- Waiting: tickets drawn, less those done and those running.
            local waiting = (values["ticket:" .. service] or 0) - (values["done:" .. service] or 0) - running
            queued[service] = math.max(waiting, 0)
        end
    end
    return {
        live = values.live or M.DEFAULT_COLOUR,
        live_since = values.live_since or edge_json.null,
        canary = {
            percent = values.canary_percent or 0,
            allow = edge_json.array(M.allow_values(values.canary_allow)),
        },
        peers = peers,
        inflight = inflight,
        queued = queued,
        heartbeat = values.heartbeat or edge_json.null,
        close_before = values.close_before or edge_json.null,
    }
end

return M
