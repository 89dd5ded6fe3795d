-- wrk script: GET /decisions with two filters and limit=50, as a CISO's dashboard asks:
-- repository=acme/svc-NN (the 50 seeded repositories) and decision=D, rotating over both.
-- The decisions to rotate over come after `--` on the wrk command line (comma-separated,
-- default "block"), then optionally more query parameters to add to every request:
--   wrk -t2 -c8 -d10s --latency -s bench/get_decisions.lua http://127.0.0.1:PORT -- block
--   ... -- block,require_approval,allow
--   ... -- block count=none        (no total: the page query alone)
-- Prints one machine-readable line at the end (bench/wrk_result.lua).
local decisions = {"block"}
local extra = ""
local n = 0
local next_tid = 0

function setup(thread)
	thread:set("tid", next_tid) -- a global of the thread's own Lua state
	next_tid = next_tid + 1
end

function init(args)
	if args[1] and args[1] ~= "" then
		decisions = {}
		for d in string.gmatch(args[1], "[^,]+") do
			decisions[#decisions + 1] = d
		end
	end
	if args[2] and args[2] ~= "" then
		extra = "&" .. args[2]
	end
	-- threads start at different points of the rotation
	n = (tid or 0) * 25
end

request = function()
	n = n + 1
	local path = string.format("/decisions?repository=acme/svc-%02d&decision=%s&limit=50%s",
		n % 50 + 1, decisions[math.floor(n / 50) % #decisions + 1], extra)
	return wrk.format("GET", path)
end

package.path = "./bench/?.lua;" .. package.path
done = require("wrk_result")
