-- wrk helper for the POST scripts: numbers each wrk thread (its global tid, set by setup
-- before the thread starts) and makes the record ids of a run: prefix-RUN-TID-N, or with
-- replace one of 1,000 ids per thread, reused in turn.
--   local ids = require("wrk_ids")  -- after package.path names ./bench
local M = {}
local next_tid = 0

function setup(thread)
	thread:set("tid", next_tid) -- a global of the thread's own Lua state
	next_tid = next_tid + 1
end

local run = tostring(os.time())

function M.id(prefix, sent, replace)
	return string.format("%s-%s-%d-%d", prefix, run, tid or 0, replace and sent % 1000 or sent)
end

return M
