-- wrk script: POST /evidence as a harness records a session's evidence bundle. By default each
-- request is the evidence of a session of its own that does not exist yet (the write starts the
-- session and, from migration 021, appends an audit chain entry); BENCH_EVIDENCE=replace: the
-- evidence of 1,000 sessions per thread, each replaced in turn with new content (an update and
-- an entry each).
--   wrk -t2 -c8 -d10s --latency -s bench/post_evidence.lua http://127.0.0.1:PORT/evidence
-- Prints the RESULT line of bench/wrk_result.lua at the end.
package.path = "./bench/?.lua;" .. package.path
local ids = require("wrk_ids")
local headers = {["Content-Type"] = "application/json"}
local sent = 0
local replace = os.getenv("BENCH_EVIDENCE") == "replace"

request = function()
	sent = sent + 1
	local sid = ids.id("ev", sent, replace)
	local body = string.format('{"session_id":"%s","signer":"ci-%d","decision_count":%d,' ..
		'"blocked_count":%d}', sid, sent, sent % 7, sent % 3)
	return wrk.format("POST", "/evidence", headers, body)
end

done = require("wrk_result")
