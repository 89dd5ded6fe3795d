-- 017_decision_rollout_projection.sql (SQLite)
-- compatibility: backward
-- (generated columns and an index: an older binary never names the columns, and its
-- inserts, imports and restores fill them all the same, since the database computes them)
-- Adds two columns to activity_decisions, both computed from the row by the database:
-- would_decision, the payload's would_decision (what the decision would have been
-- outside an audit-only rollout; NULL when the payload carries none), and
-- decided_day, the UTC day of decided_at ('YYYY-MM-DD'); and the index
-- ix_activity_decisions_rollout_groups over them.
-- Why: the rollout drill-down (GET /policy-rollouts/{id}/detail) and the change
-- plan count a repository's decisions of one pack over 30 days by day, outcome,
-- would_decision, severity and rule. With all of these in one index, in that
-- order, the count reads index pages only and groups them as they come, instead
-- of reading every decision's row and whole payload and sorting them
-- (docs/benchmarks.md, policy rollout drill-down).
-- Because the database computes the columns, every insert path (POST /decisions,
-- imports, restores, adoption, seeding) fills them, a backup need not carry them,
-- and creating the index computes them for the rows already stored.
-- SQLite: VIRTUAL generated columns (ALTER TABLE cannot add STORED ones), whose
-- values the index keeps. The byte search spares the JSON parse to payloads
-- without the key, most of them.
-- Statistics of an earlier ANALYZE know nothing of the new index: with them, SQLite
-- takes it for a selective one and sorts every decision of a repository to list 20
-- (the drill-down's recent decisions). This drops the table's statistics; without
-- any the planner chooses well, and a new ANALYZE gathers them all again. ANALYZE
-- of the small schema_migrations makes sure sqlite_stat1 exists for the DELETE.
-- Applied once by `cavra migrate up`, inside the runner's transaction.

ALTER TABLE activity_decisions
    ADD COLUMN would_decision TEXT
    GENERATED ALWAYS AS (
        CASE WHEN instr(payload, '"would_decision"') > 0
             THEN json_extract(payload, '$.would_decision') END) VIRTUAL;

ALTER TABLE activity_decisions
    ADD COLUMN decided_day TEXT
    GENERATED ALWAYS AS (substr(decided_at, 1, 10)) VIRTUAL;

CREATE INDEX ix_activity_decisions_rollout_groups
    ON activity_decisions (repository, policy_pack, decided_day, decision, would_decision,
                           severity, rule_id, decided_at);

ANALYZE schema_migrations;
DELETE FROM sqlite_stat1 WHERE tbl = 'activity_decisions';
