-- What users measured, per colour and route: the figures a canary release is judged by.
--
-- Counted in the log phase of every request that was routed to a colour (lua/edge.lua fixed ngx.ctx.edge_colour:
-- the app routes, not /nginx-healthz, /bench/fixed or the edge's own 404s), in the shared dictionary
-- `edge_metrics`, so every worker adds to the same counters and a reload keeps them. A new Nginx task starts
-- from zero; readers take differences between two reads of the same task (scripts/control_plane canary).
--
-- Keys: "<colour>|<route>|<name>"; names: requests, 5xx (every answer >= 500 the client got, the edge's own
-- 502/503/504 included), edge_failures (the edge could not get an answer: connect error, reset or timeout
-- with the task, whatever the client got then), shed (the edge's 503 with Retry-After: admission queue full),
-- sum_ms, and b<i>: requests whose time (request_time) fell in bucket i of BUCKETS_MS (<= its bound; the last
-- is everything slower). Routes: $edge_route, set per location in nginx.conf.
--
-- Read as JSON on the control server (GET /edge/metrics) and in Prometheus' text format on the metrics
-- listener (nginx.conf: port 9145 inside the stack's network, never published).
local edge_json = require("edge_json")

local shared = ngx.shared.edge_metrics
local M = {}

M.BUCKETS_MS = { 5, 10, 25, 50, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2500, 5000, 10000 }
local BUCKET_COUNT = #M.BUCKETS_MS + 1
local NAMES = { "requests", "5xx", "edge_failures", "shed", "sum_ms" }

function M.bucket_of(ms)
    for index, bound in ipairs(M.BUCKETS_MS) do
        if ms <= bound then
            return index
        end
    end
    return BUCKET_COUNT
end

-- True when an attempt at a task failed without its answer: Nginx's upstream status for an attempt is 502 or
-- 504 (connect error, reset, timeout), whether or not a retry on another task answered in the end.
function M.edge_failed(upstream_status)
    return upstream_status ~= nil and string.find(upstream_status, "50[24]") ~= nil
end

local function add(key, value)
    local _, err = shared:incr(key, value, 0)
    if err then
        ngx.log(ngx.WARN, "edge_metrics: cannot count ", key, ": ", err)
    end
end

-- Log phase.
function M.record()
    -- $edge_colour when an error page moved the request to a named location (which clears ngx.ctx).
    local colour = ngx.ctx.edge_colour or ngx.var.edge_colour
    if colour == nil or colour == "" then
        return
    end
    local route = ngx.var.edge_route
    if route == nil or route == "" then
        route = "other"
    end
    local prefix = colour .. "|" .. route .. "|"
    local status = ngx.status
    local ms = (tonumber(ngx.var.request_time) or 0) * 1000
    add(prefix .. "requests", 1)
    add(prefix .. "sum_ms", ms)
    add(prefix .. "b" .. M.bucket_of(ms), 1)
    if status >= 500 then
        add(prefix .. "5xx", 1)
    end
    if status == 503 and ngx.ctx.edge_shed then
        add(prefix .. "shed", 1)
    end
    if M.edge_failed(ngx.var.upstream_status) then
        add(prefix .. "edge_failures", 1)
    end
end

-- colour -> route -> {requests, 5xx, edge_failures, shed, sum_ms, buckets = {n1, ..., n_last}}
local function collect()
    local figures = {}
    for _, key in ipairs(shared:get_keys(0)) do
        local colour, route, name = string.match(key, "^([^|]+)|([^|]+)|(.+)$")
        if colour then
            figures[colour] = figures[colour] or {}
            local entry = figures[colour][route]
            if entry == nil then
                entry = { buckets = {} }
                for index = 1, BUCKET_COUNT do
                    entry.buckets[index] = 0
                end
                for _, known in ipairs(NAMES) do
                    entry[known] = 0
                end
                figures[colour][route] = entry
            end
            local bucket = tonumber(string.match(name, "^b(%d+)$"))
            if bucket then
                entry.buckets[bucket] = shared:get(key) or 0
            else
                entry[name] = shared:get(key) or 0
            end
        end
    end
    return figures
end

local function sorted_keys(map)
    local keys = {}
    for key in pairs(map) do
        keys[#keys + 1] = key
    end
    table.sort(keys)
    return keys
end

-- {"buckets_ms": [...], "colours": {"blue": {"search": {"requests": n, ..., "buckets": [...]}}}}
function M.json()
    local colours = {}
    for colour, routes in pairs(collect()) do
        colours[colour] = {}
        for route, entry in pairs(routes) do
            local fields = { buckets = entry.buckets }
            for _, name in ipairs(NAMES) do
                -- Whole numbers (sum_ms adds fractions of a millisecond).
                fields[name] = tonumber(string.format("%.0f", entry[name]))
            end
            colours[colour][route] = fields
        end
    end
    return edge_json.encode({ buckets_ms = M.BUCKETS_MS, colours = colours })
end

-- Prometheus' text format (version 0.0.4).
function M.prometheus()
    local figures = collect()
    local lines = {
        "# HELP partscat_edge_requests_total Requests routed to a colour, by route.",
        "# TYPE partscat_edge_requests_total counter",
        "# HELP partscat_edge_responses_5xx_total Answers of 500 and over that clients got.",
        "# TYPE partscat_edge_responses_5xx_total counter",
        "# HELP partscat_edge_failures_total Requests the edge could not get an answer for from a task.",
        "# TYPE partscat_edge_failures_total counter",
        "# HELP partscat_edge_shed_total Requests the edge answered 503 because its admission queue was full.",
        "# TYPE partscat_edge_shed_total counter",
        "# HELP partscat_edge_request_duration_seconds Time to answer, as clients saw it at the edge.",
        "# TYPE partscat_edge_request_duration_seconds histogram",
    }
    local counters = {
        { "requests", "partscat_edge_requests_total" },
        { "5xx", "partscat_edge_responses_5xx_total" },
        { "edge_failures", "partscat_edge_failures_total" },
        { "shed", "partscat_edge_shed_total" },
    }
    for _, colour in ipairs(sorted_keys(figures)) do
        for _, route in ipairs(sorted_keys(figures[colour])) do
            local entry = figures[colour][route]
            local labels = string.format('colour="%s",route="%s"', colour, route)
            for _, counter in ipairs(counters) do
                lines[#lines + 1] = string.format("%s{%s} %.0f", counter[2], labels, entry[counter[1]])
            end
            local cumulative = 0
            for index = 1, BUCKET_COUNT do
                cumulative = cumulative + entry.buckets[index]
                local bound = M.BUCKETS_MS[index] and string.format("%g", M.BUCKETS_MS[index] / 1000) or "+Inf"
                lines[#lines + 1] = string.format(
                    'partscat_edge_request_duration_seconds_bucket{%s,le="%s"} %.0f', labels, bound, cumulative)
            end
            lines[#lines + 1] = string.format(
                "partscat_edge_request_duration_seconds_sum{%s} %.3f", labels, entry.sum_ms / 1000)
            lines[#lines + 1] = string.format(
                "partscat_edge_request_duration_seconds_count{%s} %.0f", labels, cumulative)
        end
    end
    return table.concat(lines, "\n") .. "\n"
end

function M.serve_prometheus()
    ngx.header["Content-Type"] = "text/plain; version=0.0.4"
    ngx.print(M.prometheus())
end

return M
