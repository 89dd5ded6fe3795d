-- wrk_result.lua - the end-of-run report every bench/*.lua wrk script prints: one line
-- `RESULT rps=.. p50_ms=.. p90_ms=.. p99_ms=.. max_ms=.. requests=.. non2xx=.. sockerr=..`
-- that the bench/*.sh scripts read back with `kv`. Loaded with require from the repository's
-- top directory (the scripts run wrk from there):
--   package.path = "./bench/?.lua;" .. package.path
--   done = require("wrk_result")
return function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("RESULT rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f " ..
		"requests=%d non2xx=%d sockerr=%d\n",
		summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
		latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
		summary.requests, e.status, e.connect + e.read + e.write + e.timeout))
end
