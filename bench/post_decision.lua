-- wrk script: POST /decisions as an agent harness sends them: 1,000 sessions (each with its
-- own agent and repository: agent-NN of 20, acme/svc-NN of 50), and a rotation of actions
-- that hits the baseline pack's rules: allow (read, write, allowed commands, git push to a
-- feature branch), block (secrets, CI files, terraform apply, push to main, unknown MCP
-- server) and require_approval (IaC writes, unlisted commands, unknown action type).
--   wrk -t2 -c8 -d10s --latency -s bench/post_decision.lua http://127.0.0.1:PORT/decisions
-- Prints one machine-readable line at the end:
--   RESULT rps=.. p50_ms=.. p90_ms=.. p99_ms=.. max_ms=.. requests=.. non2xx=.. sockerr=..
-- (non2xx: responses with a status >= 400; sockerr: connect/read/write errors and timeouts).
local actions = {
	'"action_type":"read_file","target":"README.md"',
	'"action_type":"read_file","target":"src/app.py"',
	'"action_type":"write_file","target":"src/app.py"',
	'"action_type":"write_file","target":"tests/test_app.py"',
	'"action_type":"execute_command","target":"pytest -q"',
	'"action_type":"execute_command","target":"ls -la"',
	'"action_type":"execute_command","target":"git status"',
	'"action_type":"git_operation","target":"feature/login","operation":"push"',
	'"action_type":"read_file","target":".env"',
	'"action_type":"write_file","target":".github/workflows/ci.yml"',
	'"action_type":"execute_command","target":"terraform apply -auto-approve"',
	'"action_type":"git_operation","target":"main","operation":"push"',
	'"action_type":"mcp_tool_call","server":"github","tool":"create_issue"',
	'"action_type":"write_file","target":"iam/role.tf"',
	'"action_type":"execute_command","target":"make deploy"',
	'"action_type":"deploy_model","target":"models/churn"',
}
local next_tid = 0
-- BENCH_TOKEN set: every request carries it as an agent's bearer token (bench/writes.sh AUTH=token)
local headers = {["Content-Type"] = "application/json"}
if os.getenv("BENCH_TOKEN") then
	headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
end

function setup(thread)
	thread:set("tid", next_tid) -- a global of the thread's own Lua state
	next_tid = next_tid + 1
end

function init(args)
	math.randomseed(os.time() * 7 + (tid or 0))
end

-- BENCH_SESSIONS=new: every request names a session of its own that does not exist yet (the
-- first decision of each task, where the write settles the session's owner), instead of one
-- of the 1,000
local new_sessions = os.getenv("BENCH_SESSIONS") == "new"
local run = tostring(os.time())
local sent = 0

request = function()
	local s = math.random(1000)
	local sid = string.format("bench-%04d", s)
	if new_sessions then
		sent = sent + 1
		sid = string.format("new-%s-%d-%d", run, tid or 0, sent)
	end
	local body = string.format(
		'{"session_id":"%s","agent_id":"agent-%02d","actor":"dev-%d@example.com",' ..
		'"repository":"acme/svc-%02d",%s}',
		sid, s % 20 + 1, s % 20 + 1, s % 50 + 1, actions[math.random(#actions)])
	return wrk.format("POST", "/decisions", headers, body)
end

package.path = "./bench/?.lua;" .. package.path
done = require("wrk_result")
