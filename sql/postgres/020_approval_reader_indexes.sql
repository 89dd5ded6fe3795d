-- 020_approval_reader_indexes.sql (PostgreSQL)
-- compatibility: backward
-- (two indexes only: an older binary's statements get the same answers, and its writes
-- keep the indexes as any write does)
-- A caller without approvals.read_any (an agent) lists the approvals it asked for (the
-- payload's recorded_by) and those of decisions it recorded (decision.recorded_by).
-- Nothing indexed either value, so each agent's GET /approvals read every approval's
-- payload for its total (a sequential scan), and for its page every approval newer than its
-- last row (the scan of ix_approvals_created_at_approval_id, filtered). These indexes hold
-- each value (jsonb, compared as jsonb: key order does not count) with the list's order,
-- created_at then approval_id, as SQLite's 020 does. The list reads each index backward
-- (newest first, approval_id ascending), one branch a value, and stops after the page; the
-- total reads both through one OR (a BitmapOr of the two). A record without recorded_by
-- (imported) has a NULL entry. An entry holds the value itself, and PostgreSQL refuses one
-- over 2,704 bytes (after compression): the API writes a few hundred at most (a token's name
-- and an OIDC subject are at most 256 bytes each); only an imported approval's decision can
-- carry a longer one. Builds both indexes, which reads approvals twice and blocks
-- writes to it until the migration commits (its time: docs/migrations.md).
-- Then ANALYZE approvals: PostgreSQL has statistics of an index's expression only from the
-- next ANALYZE, and autovacuum runs one only once a tenth of the table has changed. Without
-- them the planner takes any value for 0.5 % of the rows, so for an agent holding most
-- approvals it read both indexes whole for the total (290 ms a list against 50 ms before
-- 020, at 200,000 approvals of one agent, docs/benchmarks.md). ANALYZE reads a sample of the
-- table (30,000 rows at the default statistics target) and blocks neither reads nor writes.
-- Applied once by `cavra migrate up`, inside the runner's transaction.

CREATE INDEX ix_approvals_recorded_by_created_at_approval_id
    ON approvals ((payload -> 'recorded_by'), created_at, approval_id DESC);
CREATE INDEX ix_approvals_decision_recorded_by_created_at_approval_id
    ON approvals ((payload -> 'decision' -> 'recorded_by'), created_at, approval_id DESC);

ANALYZE approvals;
