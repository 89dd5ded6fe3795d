-- wrk script: POST /sessions as a harness records its session. By default each request
-- records a session of its own that does not exist yet (from migration 023, an audit chain
-- entry each); BENCH_SHAPE=replace: 1,000 sessions per thread, each described again in turn with
-- new content (an update and an entry each).
--   wrk -t2 -c8 -d10s --latency -s bench/post_session.lua http://127.0.0.1:PORT/sessions
-- Prints the RESULT line of bench/wrk_result.lua at the end.
package.path = "./bench/?.lua;" .. package.path
local ids = require("wrk_ids")
local headers = {["Content-Type"] = "application/json"}
local sent = 0
local replace = os.getenv("BENCH_SHAPE") == "replace"

request = function()
	sent = sent + 1
	local sid = ids.id("se", sent, replace)
	local body = string.format('{"session_id":"%s","agent_id":"agent-%d","repository":' ..
		'"acme/svc-%02d","metadata":{"run":%d}}', sid, sent % 20, sent % 50, sent)
	return wrk.format("POST", "/sessions", headers, body)
end

done = require("wrk_result")
