-- nginx/lua/edge_decisions.lua in plain LuaJIT: the balancer's choice, colours and the canary share, the control
-- server's bodies, the seed and /edge/state's document.
local spec = require("spec")
local decisions = require("edge_decisions")
local edge_json = require("edge_json")
local cjson = require("cjson")

local test, equal = spec.test, spec.equal

local function never_down()
    return false
end

local function bucket(value)
    return function()
        return value
    end
end

-- PEERS

test("peers: IPv4:port only, in order, with their keys", function()
    equal(decisions.parse_peers("10.0.1.5:8000 junk 10.0.1.6:8001 host:80 [::1]:8000"),
        { { "10.0.1.5", 8000, "10.0.1.5:8000" }, { "10.0.1.6", 8001, "10.0.1.6:8001" } })
    equal(decisions.parse_peers(""), {})
    equal(decisions.parse_peers(nil), {})
end)

local PEERS = decisions.parse_peers("10.0.0.1:80 10.0.0.2:80 10.0.0.3:80")

test("balancer: round robin from the start, wrapping", function()
    local picked, start = {}, 0
    for _ = 1, 4 do
        local index
        index, start = decisions.peer_choose(PEERS, start, nil, never_down)
        picked[#picked + 1] = index
    end
    equal(picked, { 1, 2, 3, 1 })
    equal(start, 1)
end)

test("balancer: a retry never picks the peer it left", function()
    equal({ decisions.peer_choose(PEERS, 0, "10.0.0.1:80", never_down) }, { 2, 2 })
end)

test("balancer: a peer marked down is skipped", function()
    local function down(key)
        return key == "10.0.0.2:80"
    end
    equal({ decisions.peer_choose(PEERS, 1, nil, down) }, { 3, 0 })
end)

test("balancer: every other peer down, the one at the start is tried anyway", function()
    local function all_down()
        return true
    end
    equal({ decisions.peer_choose(PEERS, 1, nil, all_down) }, { 2, 2 })
    local one = decisions.parse_peers("10.0.0.1:80")
    equal({ decisions.peer_choose(one, 0, "10.0.0.1:80", never_down) }, { 1, 0 })
end)

-- COLOURS AND THE CANARY

test("colour: live, the other one on the preview listener", function()
    equal(decisions.colour_choose("blue", false, false, 0), "blue")
    equal(decisions.colour_choose("green", false, false, 3), "green")
    equal(decisions.colour_choose("blue", true, false, 0), "green")
    equal(decisions.colour_choose("green", true, false, 0), "blue")
end)

test("colour: the canary share goes to the candidate only while it has a peer", function()
    equal(decisions.colour_choose("blue", false, true, 2), "green")
    equal(decisions.colour_choose("blue", false, true, 0), "blue")
end)

test("canary: the bucket is the checksum mod 100 (crc32 of 'abc' is 891568578)", function()
    equal(decisions.canary_bucket(891568578), 78)
    equal(decisions.canary_bucket(0), 0)
end)

test("canary: no share and no allowlist: nobody, and the bucket is not asked", function()
    local function unasked()
        error("the bucket was asked")
    end
    equal(decisions.in_canary(0, nil, "team-qa", unasked), false)
end)

test("canary: users whose bucket is under the share", function()
    equal(decisions.in_canary(30, nil, nil, bucket(29)), true)
    equal(decisions.in_canary(30, nil, nil, bucket(30)), false)
    equal(decisions.in_canary(1, nil, nil, bucket(0)), true)
    equal(decisions.in_canary(100, nil, nil, bucket(99)), true)
end)

test("canary: an allowlisted X-Canary value always, a part of one never", function()
    local allow = decisions.allow_text({ "team-qa", "release.bot" })
    equal(allow, " team-qa release.bot ")
    equal(decisions.in_canary(0, allow, "team-qa", bucket(0)), true)
    equal(decisions.in_canary(0, allow, "release.bot", bucket(0)), true)
    equal(decisions.in_canary(0, allow, "team", bucket(0)), false)
    equal(decisions.in_canary(0, allow, nil, bucket(0)), false)
    equal(decisions.in_canary(5, allow, "other", bucket(4)), true)
    equal(decisions.in_canary(5, allow, "other", bucket(5)), false)
end)

test("canary: the allowlist's stored form and back", function()
    equal(decisions.allow_text({}), nil)
    equal(decisions.allow_values(" a b "), { "a", "b" })
    equal(decisions.allow_values(nil), {})
end)

-- REQUESTS

test("requests: the app of a route, the prefix stripped, the drain, the heartbeat", function()
    equal(decisions.route_app("django-search"), "django")
    equal(decisions.route_app("fastapi"), "fastapi")
    equal(decisions.route_app(""), nil)
    equal(decisions.prefix_strip("/fastapi/docs", "/fastapi"), "/docs")
    equal(decisions.prefix_strip("/fastapi/", "/fastapi"), "/")
    equal(decisions.prefix_strip("/fastapix/docs", "/fastapi"), nil)
    equal(decisions.prefix_strip("/fastapi", "/fastapi"), nil)
    equal(decisions.draining(nil, 100, false), false)
    equal(decisions.draining(101, 100, false), true)
    equal(decisions.draining(101, 100, true), false)
    equal(decisions.draining(100, 101, false), false)
    equal(decisions.heartbeat_fresh(nil, 100, 15), false)
    equal(decisions.heartbeat_fresh(85, 100, 15), true)
    equal(decisions.heartbeat_fresh(84.9, 100, 15), false)
end)

-- THE CONTROL SERVER'S BODIES

test("POST /edge/peers: one line per service, peers in the dictionary's form", function()
    equal(decisions.peers_body_parse("django-blue 10.0.0.1:80  10.0.0.2:80 \n  fastapi_green\n!not a service\n\n"),
        { { "django-blue", "10.0.0.1:80 10.0.0.2:80" }, { "fastapi_green", "" } })
end)

test("POST /edge/live: a colour, nothing else", function()
    equal(decisions.colour_parse(" green\n"), "green")
    equal({ decisions.colour_parse("purple") }, { nil, "the body must be a colour: blue or green" })
    equal(decisions.colour_parse(nil), nil)
end)

test("POST /edge/canary: a share 0-100, then checked X-Canary values", function()
    equal({ decisions.canary_parse("5 team-qa release.bot") }, { 5, { "team-qa", "release.bot" } })
    equal({ decisions.canary_parse("0") }, { 0, {} })
    equal({ decisions.canary_parse("100") }, { 100, {} })
    for _, body in ipairs({ "101", "-1", "five", "", "5 bad;value" }) do
        local percent, problem = decisions.canary_parse(body)
        equal(percent, nil, body)
        equal(type(problem), "string", body)
    end
end)

test("seed: the live colour, an optional canary line, then the peers", function()
    equal({ decisions.seed_parse("live green\ncanary 30 team-qa\ndjango-green 10.0.0.1:80\n") },
        { "green", "30 team-qa", "django-green 10.0.0.1:80\n" })
    equal({ decisions.seed_parse("live blue\ndjango-blue\n") }, { "blue", nil, "django-blue\n" })
    equal(decisions.seed_parse("live purple\n"), nil)
    equal(decisions.seed_parse("django-blue 10.0.0.1:80\n"), nil)
end)

-- WHAT THE CONTROL SERVER SHOWS

test("a switch needs every app of the colour with a peer", function()
    local values = { ["peers:django-green"] = "10.0.0.1:80", ["peers:fastapi-green"] = "",
        ["peers:django-blue"] = "10.0.0.2:80" }
    equal(decisions.colour_has_peers("green", values), false)
    equal(decisions.colour_has_peers("blue", values), true)
    values["peers:fastapi-green"] = "10.0.0.3:80"
    equal(decisions.colour_has_peers("green", values), true)
    equal(decisions.colour_has_peers("green", {}), false)
end)

test("/edge/state: empty lists stay lists, unknown times are null", function()
    local state = cjson.decode(edge_json.encode(decisions.state_document({ ["peers:django-green"] = "" })))
    equal(state.live, "blue")
    equal(state.live_since, cjson.null)
    equal(state.heartbeat, cjson.null)
    equal(state.close_before, cjson.null)
    local text = edge_json.encode(decisions.state_document({ ["peers:django-green"] = "" }))
    equal(string.find(text, '"django-green":[]', 1, true) ~= nil, true, text)
    equal(string.find(text, '"allow":[]', 1, true) ~= nil, true, text)
end)

test("/edge/state: peers, the canary share, searches in flight and waiting", function()
    local document = decisions.state_document({
        live = "green", live_since = 1796594660.125, heartbeat = 1796594661.5, close_before = 1796594662,
        canary_percent = 30, canary_allow = " team-qa ",
        ["peers:django-green"] = "10.0.0.1:80 10.0.0.2:80", ["version:django-green"] = 3,
        ["inflight:django-green"] = 2, ["ticket:django-green"] = 10, ["done:django-green"] = 5,
        ["inflight:fastapi-green"] = 0, ["ticket:fastapi-green"] = 4, ["done:fastapi-green"] = 7,
        ["down:10.0.0.1:80"] = true,
    })
    equal(cjson.decode(edge_json.encode(document)), {
        live = "green", live_since = 1796594660.125, heartbeat = 1796594661.5, close_before = 1796594662,
        canary = { percent = 30, allow = { "team-qa" } },
        peers = { ["django-green"] = { "10.0.0.1:80", "10.0.0.2:80" } },
        inflight = { ["django-green"] = 2, ["fastapi-green"] = 0 },
        queued = { ["django-green"] = 3, ["fastapi-green"] = 0 },
    })
end)

spec.run()
