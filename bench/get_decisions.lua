-- wrk script: GET /decisions with two filters and limit=50, rotating the filter values.
local decisions = {"block", "allow", "require_approval"}

function init(args)
	math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

request = function()
	local path = string.format("/decisions?repository=repo-%d/api&decision=%s&limit=50",
		math.random(50), decisions[math.random(#decisions)])
	return wrk.format("GET", path)
end

done = function(summary, latency, requests)
	local secs = summary.duration / 1e6
	io.write(string.format("RESULT rps=%.1f p50_ms=%.2f p99_ms=%.2f requests=%d non2xx=%d errors=%d\n",
		summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
		summary.requests, summary.errors.status,
		summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
