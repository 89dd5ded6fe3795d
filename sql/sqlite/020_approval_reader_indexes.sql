-- 020_approval_reader_indexes.sql (SQLite)
-- compatibility: backward
-- (two indexes only: an older binary's statements get the same answers, and its writes
-- keep the indexes as any write does)
-- A caller without approvals.read_any (an agent) lists the approvals it asked for (the
-- payload's recorded_by) and those of decisions it recorded (decision.recorded_by).
-- Nothing indexed either value, so each agent's GET /approvals parsed the JSON of every
-- approval for its total, and of every approval newer than its page for the page. These
-- indexes hold each value with the list's order, created_at then approval_id, in append
-- order as 018 made the decision indexes (a backward scan reads them newest first, then
-- approval_id ascending). The list reads each index in that order, one branch a value, and
-- stops after the page; the total reads both through one OR (MULTI-INDEX OR). SQLite uses an
-- index on an expression only for the same expression, so the list's SQL writes these two
-- exactly (internal/store/store_records.c, by_cond). A value is the minified JSON text of
-- the recorded_by object, as json_extract gives it; NULL for a record without one
-- (imported). Builds both indexes, which parses every approval's payload twice and blocks
-- writes until it commits (its time: docs/migrations.md).
-- Applied once by `cavra migrate up`, inside the runner's transaction.

CREATE INDEX ix_approvals_recorded_by_created_at_approval_id
    ON approvals (json_extract(payload, '$.recorded_by'), created_at, approval_id DESC);
CREATE INDEX ix_approvals_decision_recorded_by_created_at_approval_id
    ON approvals (json_extract(payload, '$.decision.recorded_by'), created_at, approval_id DESC);
