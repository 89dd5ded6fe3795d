-- wrk script: the read mix of the Activity Explorer and of the seeds' CISO and auditor stories,
-- every request with default parameters (no count=, no cursor), rotating over the shapes below
-- and over the values bench/seed.sh loads (50 repositories, 20 agents, sessions seed-NNNNNN of
-- 50 decisions each, decided_at spread over the last 90 days).
--   wrk -t2 -c8 -d20s --latency -s bench/reads_mix.lua http://127.0.0.1:PORT -- SESSIONS [SHAPE]
-- SESSIONS: how many seeded sessions there are (rows / 50). SHAPE (optional): run only the
-- shape of that name (see `shapes`), which is how bench/reads.sh times each one alone.
-- Each request carries its shape's name as X-Request-Id, which cavra writes into its access
-- log line. Prints one machine-readable line at the end (bench/wrk_result.lua).
local sessions = 20000
local only = nil
local n = 0
local next_tid = 0

function setup(thread)
	thread:set("tid", next_tid)
	next_tid = next_tid + 1
end

local function repo(i) return string.format("acme/svc-%02d", i % 50 + 1) end
local function agent(i) return string.format("agent-%02d", i % 20 + 1) end
local function outcome(i)
	local o = {"block", "require_approval", "allow"}
	return o[math.floor(i / 50) % 3 + 1]
end

-- A one-day window inside the seeded 90 days: RFC 3339 UTC, whole seconds.
local function window(i)
	local now = os.time()
	local from = now - (1 + i % 88) * 86400
	return os.date("!%Y-%m-%dT%H:%M:%SZ", from), os.date("!%Y-%m-%dT%H:%M:%SZ", from + 86400)
end

local shapes = {
	{"latest", function(i) return "/decisions?limit=50" end},
	{"repo_outcome", function(i)
		return "/decisions?repository=" .. repo(i) .. "&decision=" .. outcome(i) .. "&limit=50"
	end},
	{"agent_severity", function(i)
		local sev = {"high", "critical", "low", "medium"}
		return "/decisions?agent_id=" .. agent(i) .. "&severity=" .. sev[math.floor(i / 20) % 4 + 1]
	end},
	{"action_type", function(i)
		local act = {"write_file", "read_file", "execute_command", "git_operation", "mcp_tool_call"}
		return "/decisions?action_type=" .. act[i % 5 + 1] .. "&limit=100"
	end},
	{"pack_outcome", function(i)
		return "/decisions?policy_pack=cavra-ai-agent-baseline&decision=" .. outcome(i)
	end},
	{"session", function(i)
		return string.format("/decisions?session_id=seed-%06d", (i * 7919) % sessions)
	end},
	{"time_range", function(i)
		local a, b = window(i)
		return "/decisions?since=" .. a .. "&until=" .. b .. "&limit=50"
	end},
	{"sessions", function(i) return "/sessions?limit=50" end},
	{"sessions_agent", function(i) return "/sessions?agent_id=" .. agent(i) .. "&limit=50" end},
	{"sessions_repo", function(i) return "/sessions?repository=" .. repo(i) .. "&limit=50" end},
}

function init(args)
	if args[1] and args[1] ~= "" then sessions = tonumber(args[1]) end
	if args[2] and args[2] ~= "" then
		for _, s in ipairs(shapes) do
			if s[1] == args[2] then only = s end
		end
		if not only then error("unknown shape " .. args[2]) end
	end
	n = (tid or 0) * 997 -- threads start at different points of the rotation
end

request = function()
	n = n + 1
	local s = only or shapes[n % #shapes + 1]
	-- the shape's name as the request id, so that cavra's access log (ms=) times each shape
	-- inside the mix (bench/reads.sh, "shapes in the mix")
	return wrk.format("GET", s[2](math.floor(n / #shapes)), {["X-Request-Id"] = s[1]})
end

package.path = "./bench/?.lua;" .. package.path
done = require("wrk_result")
