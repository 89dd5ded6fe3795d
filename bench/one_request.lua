-- wrk script: the same request again and again, as a harness polling one approval, or an agent
-- calling one MCP tool, sends it: the method from BENCH_METHOD (default GET), the body from
-- BENCH_BODY (JSON; none by default), the path from the URL wrk is given.
--   BENCH_METHOD=POST BENCH_BODY='{"action_type":"..."}' wrk -t2 -c8 -d10s --latency \
--     -s bench/one_request.lua http://127.0.0.1:PORT/decisions
-- Prints one machine-readable line at the end (bench/wrk_result.lua).
package.path = "./bench/?.lua;" .. package.path
local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
local headers = {}
if body then
	headers["Content-Type"] = "application/json"
end

function request()
	return wrk.format(method, nil, headers, body)
end

done = require("wrk_result")
