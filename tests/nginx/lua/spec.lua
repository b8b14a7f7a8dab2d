-- A tiny test harness for the edge's Lua specs (no framework): spec.test(name, fn) records a test,
-- spec.equal(actual, expected) compares deeply, spec.run() runs them all, prints each and exits non-zero when
-- one failed. tests/nginx/test_lua_specs.py runs every tests/nginx/lua/test_*.lua with luajit.
local M = {}

local tests = {}

function M.test(name, fn)
    tests[#tests + 1] = { name, fn }
end

local function show(value)
    if type(value) == "string" then
        return string.format("%q", value)
    end
    if type(value) ~= "table" then
        return tostring(value)
    end
    local keys = {}
    for key in pairs(value) do
        keys[#keys + 1] = key
    end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    local parts = {}
    for _, key in ipairs(keys) do
        parts[#parts + 1] = "[" .. show(key) .. "] = " .. show(value[key])
    end
    return "{" .. table.concat(parts, ", ") .. "}"
end

local function same(a, b)
    if type(a) ~= "table" or type(b) ~= "table" then
        return a == b
    end
    for key, value in pairs(a) do
        if not same(value, b[key]) then
            return false
        end
    end
    for key in pairs(b) do
        if a[key] == nil then
            return false
        end
    end
    return true
end

function M.equal(actual, expected, what)
    if not same(actual, expected) then
        error((what and what .. ": " or "") .. "expected " .. show(expected) .. ", got " .. show(actual), 2)
    end
end

function M.run()
    local failed = 0
    for _, entry in ipairs(tests) do
        local ok, problem = pcall(entry[2])
        if ok then
            print("ok      " .. entry[1])
        else
            failed = failed + 1
            print("FAILED  " .. entry[1] .. "\n        " .. tostring(problem))
        end
    end
    print(string.format("%d passed, %d failed", #tests - failed, failed))
    os.exit(failed == 0 and 0 or 1)
end

return M
