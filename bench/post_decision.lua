-- wrk script: POST /decisions with varied sessions, actions and targets.
-- Reports p50/p99 latency, throughput and non-2xx responses on one line.
local actions = {
	{"execute_command", "pytest -q"},
	{"execute_command", "terraform apply -auto-approve"},
	{"execute_command", "make deploy"},
	{"write_file", "src/app.py"},
	{"write_file", "iam/role.tf"},
	{"write_file", ".github/workflows/ci.yml"},
	{"read_file", "README.md"},
	{"git_operation", "main"},
}
local counter = 0

function init(args)
	math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

request = function()
	counter = counter + 1
	local a = actions[math.random(#actions)]
	local body = string.format(
		'{"session_id":"bench-%d","agent_id":"agent-%d","actor":"ci@example",' ..
		'"repository":"repo-%d/api","action_type":"%s","target":"%s","operation":"push"}',
		math.random(1000), math.random(20), math.random(50), a[1], a[2])
	return wrk.format("POST", "/decisions", {["Content-Type"] = "application/json"}, body)
end

done = function(summary, latency, requests)
	local secs = summary.duration / 1e6
	io.write(string.format("RESULT rps=%.1f p50_ms=%.2f p99_ms=%.2f requests=%d non2xx=%d errors=%d\n",
		summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
		summary.requests, summary.errors.status,
		summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
