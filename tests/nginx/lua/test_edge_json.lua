-- nginx/lua/edge_json.lua in plain LuaJIT: cjson's JSON, with lists that stay [] when empty.
local spec = require("spec")
local edge_json = require("edge_json")
local cjson = require("cjson")

local test, equal = spec.test, spec.equal

test("an empty M.array is [], any other empty table {}", function()
    equal(edge_json.encode({ list = edge_json.array() }), '{"list":[]}')
    equal(edge_json.encode({ map = {} }), '{"map":{}}')
    equal(edge_json.encode(edge_json.array()), "[]")
end)

test("empty arrays deep inside, and full ones as they are", function()
    local value = { a = { b = { edge_json.array(), edge_json.array({ "x" }) } } }
    equal(edge_json.encode(value), '{"a":{"b":[[],["x"]]}}')
end)

test("null, numbers and strings as cjson writes them", function()
    equal(cjson.decode(edge_json.encode({ n = edge_json.null, t = 1796594660.123, c = 3.0, s = 'a"b' })),
        { n = cjson.null, t = 1796594660.123, c = 3, s = 'a"b' })
    equal(edge_json.encode({ c = 3.0 }), '{"c":3}')
end)

test("encoding leaves the value as it was", function()
    local value = { list = edge_json.array() }
    edge_json.encode(value)
    equal(getmetatable(value.list) ~= nil, true)
    equal(next(value.list), nil)
end)

spec.run()
