-- wrk script: the URL given on the command line, again and again (bench/rollout_detail.sh);
-- prints the RESULT line of bench/wrk_result.lua.
package.path = "./bench/?.lua;" .. package.path
done = require("wrk_result")
