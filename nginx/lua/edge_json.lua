-- JSON for the control server and the edge's figures (lua/edge_control.lua, lua/edge_metrics.lua, /nginx-healthz),
-- with lua-cjson (Debian's package: nginx/Dockerfile, scripts/system-packages.sh). Needs no `ngx`: the specs in
-- tests/nginx/lua/ run it in plain LuaJIT.
--
-- Their readers (scripts/control_plane, the upstream watcher, the tests) parse it, so key order is free. Not for
-- the error bodies of lua/edge_errors.lua: those must be byte for byte the apps' orjson rendering, keys in order,
-- and cjson keeps no order.
--
-- Debian's lua-cjson is upstream's 2.1.0: it has no cjson.empty_array or cjson.array_mt (OpenResty's fork adds
-- them) and encodes every empty table as {}. A list that must stay [] when empty is made with M.array.
local cjson = require("cjson")

local M = {}

-- A JSON null (a nil in a Lua table is no key at all).
M.null = cjson.null

local ARRAY_MT = {}

-- `list` (a new table without one), encoded as [] when empty.
function M.array(list)
    return setmetatable(list or {}, ARRAY_MT)
end

-- An empty M.array is encoded as this string first, then replaced by []. No value the edge encodes holds a
-- control character (service names, peers, X-Canary values and routes are checked words), so none is this.
local EMPTY_ARRAY = "\1edge_json: empty array\1"
local EMPTY_ARRAY_ENCODED = string.gsub(cjson.encode(EMPTY_ARRAY), "%p", "%%%0")

local function marked(value)
    if type(value) ~= "table" then
        return value
    end
    if next(value) == nil then
        return getmetatable(value) == ARRAY_MT and EMPTY_ARRAY or value
    end
    local copy = {}
    for key, item in pairs(value) do
        copy[key] = marked(item)
    end
    return copy
end

function M.encode(value)
    return (string.gsub(cjson.encode(marked(value)), EMPTY_ARRAY_ENCODED, "[]"))
end

return M
