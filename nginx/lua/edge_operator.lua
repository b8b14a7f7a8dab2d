-- Operators and the public: what only an operator may ask of the public port.
--
-- An operator sends X-Edge-Operator-Token with the token in the file that EDGE_OPERATOR_TOKEN_FILE names
-- (the edge_operator_token Docker secret in stack.yml; whoever can `docker exec` into the Nginx task can
-- read it, and `make bench` does). Without that variable, or with a file that holds no usable token,
-- nobody is an operator. nginx.conf never passes the header on to an app.
--
-- Only an operator may
-- - make a search skip the response cache (M.search_cache_control): `Cache-Control: no-cache` from anyone
--   made every search a database search on demand (service_common/search_cache.py honours it, and the
--   apps behind the edge still do, for the benchmark and operators);
-- - ask an app's health probes through the public port (M.probe): /healthz and /livez are for Swarm and
--   the upstream watcher, which reach each task directly. From the public they get the contract's 404,
--   so nobody can flood them until tasks drop out of rotation or get replaced. `make bench` measures
--   them through Nginx as the apps' ceilings, as an operator.
local edge_errors = require("edge_errors")

local M = {}

-- A shorter token is refused (as app/jobs/auth.py refuses a short jobs_api_token): a guessable one would
-- open the cache bypass to anyone who guesses.
local TOKEN_MIN_CHARS = 20

-- Per worker: the token's HMAC under a key of this worker (false: no operator token), computed on first use.
-- Comparing HMACs rather than the strings means the time a comparison takes tells a client nothing about
-- the token.
local key, expected

local function token_load()
    local path = os.getenv("EDGE_OPERATOR_TOKEN_FILE")
    if path == nil or path == "" then
        return false
    end
    local file, problem = io.open(path, "r")
    if file == nil then
        ngx.log(ngx.ERR, "edge: EDGE_OPERATOR_TOKEN_FILE cannot be read (", problem, "): nobody is an operator")
        return false
    end
    local token = string.match(file:read("*a") or "", "^%s*(.-)%s*$")
    file:close()
    if #token < TOKEN_MIN_CHARS then
        ngx.log(ngx.ERR, "edge: the operator token in ", path, " is shorter than ", TOKEN_MIN_CHARS,
            " characters: nobody is an operator")
        return false
    end
    key = ngx.sha1_bin(tostring(ngx.now()) .. tostring(ngx.worker.pid()) .. tostring(math.random()) .. token)
    return ngx.hmac_sha1(key, token)
end

function M.is_operator()
    if expected == nil then
        expected = token_load()
    end
    local sent = ngx.var.http_x_edge_operator_token
    return expected ~= false and sent ~= nil and ngx.hmac_sha1(key, sent) == expected
end

-- Access phase of the search locations: the request's Cache-Control goes on to the app from an operator only.
function M.search_cache_control()
    if not M.is_operator() then
        ngx.req.clear_header("Cache-Control")
    end
end

-- Access phase of the probe locations: the contract's 404 for the public.
function M.probe()
    if not M.is_operator() then
        return edge_errors.respond("not_found")
    end
end

return M
