-- 017_decision_rollout_projection.sql (PostgreSQL)
-- compatibility: backward
-- (generated columns and an index: an older binary never names the columns, and its
-- inserts, imports and restores fill them all the same, since the database computes them)
-- Adds two columns to activity_decisions, both computed from the row by the database:
-- would_decision, the payload's would_decision (what the decision would have been
-- outside an audit-only rollout; NULL when the payload carries none), and
-- decided_day, the UTC day of decided_at; and the index
-- ix_activity_decisions_rollout_groups over them.
-- Why: the rollout drill-down (GET /policy-rollouts/{id}/detail) and the change
-- plan count a repository's decisions of one pack over 30 days by day, outcome,
-- would_decision, severity and rule. With all of these in one index, in that
-- order, the count reads index pages only and groups them as they come, instead
-- of reading every decision's row and whole payload and sorting them
-- (docs/benchmarks.md, policy rollout drill-down).
-- Because the database computes the columns, every insert path (POST /decisions,
-- imports, restores, adoption, seeding) fills them, a backup need not carry them.
-- PostgreSQL: STORED generated columns (TEXT and DATE); adding them rewrites
-- activity_decisions once, under an exclusive lock, computing them for the rows
-- already stored.
-- Applied once by `cavra migrate up`, inside the runner's transaction.

ALTER TABLE activity_decisions
    ADD COLUMN would_decision TEXT
        GENERATED ALWAYS AS (payload ->> 'would_decision') STORED,
    ADD COLUMN decided_day DATE
        GENERATED ALWAYS AS ((decided_at AT TIME ZONE 'UTC')::date) STORED;

CREATE INDEX ix_activity_decisions_rollout_groups
    ON activity_decisions (repository, policy_pack, decided_day, decision, would_decision,
                           severity, rule_id, decided_at);
