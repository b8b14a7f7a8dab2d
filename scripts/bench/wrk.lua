-- wrk script of `make bench` (scripts/bench/run.py): search bodies drawn with the workload's skew, or one GET.
--
-- wrk ... -s scripts/bench/wrk.lua URL -- mode=search bodies=FILE seed=N cache=bypass|on host=NAME [operator=1]
-- wrk ... -s scripts/bench/wrk.lua URL -- mode=get seed=N cache=on host=NAME [operator=1]
--
-- FILE holds "weight<TAB>kind<TAB>body" lines (scripts/bench/workload.py). Every thread has its own Lua state
-- and so its own RNG, seeded from N and the thread's number: the same run draws the same bodies in the same
-- order. Requests are built once in init(); request() only draws. cache=bypass adds Cache-Control: no-cache
-- (the response cache then answers from the database). operator=1 adds the edge's operator token
-- (X-Edge-Operator-Token) from the environment variable EDGE_OPERATOR_TOKEN, so that the token is on no
-- command line: Nginx passes a search's Cache-Control, and serves the apps' /healthz, to operators only
-- (nginx/lua/edge_operator.lua). response() counts answers by status code and by X-Cache value; done()
-- prints one line "BENCH_RESULT {json}" that run.py reads.

local threads = {}
local thread_count = 0

function setup(thread)
    thread_count = thread_count + 1
    thread:set("thread_number", thread_count)
    table.insert(threads, thread)
end

local function parse_args(args)
    local options = {}
    for _, arg in ipairs(args) do
        local key, value = string.match(arg, "^([%w_]+)=(.*)$")
        if key == nil then
            error("argument not of the form key=value: " .. arg)
        end
        options[key] = value
    end
    return options
end

local function read_bodies(path)
    local file = assert(io.open(path, "rb"))
    local bodies, weights = {}, {}
    for line in file:lines() do
        local weight, body = string.match(line, "^(%d+)\t[^\t]*\t(.*)$")
        if weight == nil then
            error("bad line in " .. path .. ": " .. line)
        end
        bodies[#bodies + 1] = body
        weights[#weights + 1] = tonumber(weight)
    end
    file:close()
    if #bodies == 0 then
        error("no bodies in " .. path)
    end
    return bodies, weights
end

function init(args)
    local options = parse_args(args)
    local headers = {}
    if options.host and options.host ~= "" then
        headers["Host"] = options.host
    end
    if options.cache == "bypass" then
        headers["Cache-Control"] = "no-cache"
    end
    if options.operator == "1" then
        local token = os.getenv("EDGE_OPERATOR_TOKEN")
        if token == nil or token == "" then
            error("operator=1 needs the operator token in the environment variable EDGE_OPERATOR_TOKEN")
        end
        headers["X-Edge-Operator-Token"] = token
    end
    math.randomseed(tonumber(options.seed or "1") * 1000 + thread_number)

    requests_built = {}
    cumulative = {}
    total_weight = 0
    if options.mode == "search" then
        headers["Content-Type"] = "application/json"
        local bodies, weights = read_bodies(options.bodies)
        for i, body in ipairs(bodies) do
            total_weight = total_weight + weights[i]
            cumulative[i] = total_weight
            requests_built[i] = wrk.format("POST", wrk.path, headers, body)
        end
    elseif options.mode == "get" then
        requests_built[1] = wrk.format("GET", wrk.path, headers, nil)
        cumulative[1] = 1
        total_weight = 1
    else
        error("mode must be search or get")
    end

    statuses = {}
    cache_values = {}
end

-- The first index whose cumulative weight reaches a uniform draw in 1..total_weight.
local function draw()
    local target = math.random(1, total_weight)
    local low, high = 1, #cumulative
    while low < high do
        local middle = math.floor((low + high) / 2)
        if cumulative[middle] < target then
            low = middle + 1
        else
            high = middle
        end
    end
    return low
end

function request()
    return requests_built[draw()]
end

function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
    local cache = headers["X-Cache"] or headers["x-cache"]
    if cache ~= nil then
        cache_values[cache] = (cache_values[cache] or 0) + 1
    end
end

local function json_counts(counts)
    local parts = {}
    for key, count in pairs(counts) do
        -- Status codes and X-Cache tokens; anything else in a value cannot break the JSON.
        local name = string.gsub(tostring(key), "[^%w%-_.]", "_")
        parts[#parts + 1] = string.format('"%s":%d', name, count)
    end
    table.sort(parts)
    return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
    local all_statuses, all_cache = {}, {}
    for _, thread in ipairs(threads) do
        for status, count in pairs(thread:get("statuses") or {}) do
            all_statuses[status] = (all_statuses[status] or 0) + count
        end
        for value, count in pairs(thread:get("cache_values") or {}) do
            all_cache[value] = (all_cache[value] or 0) + count
        end
    end
    local errors = summary.errors
    io.write(string.format(
        'BENCH_RESULT {"duration_us":%d,"requests":%d,"bytes":%d,'
            .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},'
            .. '"statuses":%s,"x_cache":%s,'
            .. '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d}}\n',
        summary.duration, summary.requests, summary.bytes,
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
        json_counts(all_statuses), json_counts(all_cache),
        errors.connect, errors.read, errors.write, errors.timeout
    ))
end
