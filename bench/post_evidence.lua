-- wrk script: POST /evidence as a harness records a session's evidence bundle. By default each
-- request is the evidence of a session of its own that does not exist yet (the write starts the
-- session and, from migration 021, appends an audit chain entry); BENCH_EVIDENCE=replace: the
-- evidence of 1,000 sessions per thread, each replaced in turn with new content (an update and
-- an entry each).
--   wrk -t2 -c8 -d10s --latency -s bench/post_evidence.lua http://127.0.0.1:PORT/evidence
-- Prints the RESULT line of bench/wrk_result.lua at the end.
local next_tid = 0
local headers = {["Content-Type"] = "application/json"}

function setup(thread)
	thread:set("tid", next_tid) -- a global of the thread's own Lua state
	next_tid = next_tid + 1
end

local run = tostring(os.time())
local sent = 0
local replace = os.getenv("BENCH_EVIDENCE") == "replace"

request = function()
	sent = sent + 1
	local sid = string.format("ev-%s-%d-%d", run, tid or 0, sent)
	if replace then
		sid = string.format("ev-%s-%d-%d", run, tid or 0, sent % 1000)
	end
	local body = string.format('{"session_id":"%s","signer":"ci-%d","decision_count":%d,' ..
		'"blocked_count":%d}', sid, sent, sent % 7, sent % 3)
	return wrk.format("POST", "/evidence", headers, body)
end

package.path = "./bench/?.lua;" .. package.path
done = require("wrk_result")
