-- 018_decision_index_order.sql (PostgreSQL)
-- compatibility: backward
-- (the same indexes under the same names, their entries in the other order: an older
-- binary's statements read and write them as before)
-- The decision list's indexes end in (decided_at DESC, decision_id), the list's
-- order, so a new decision's entry goes in front of every older one. Here only the
-- time index changes, to (decided_at, decision_id DESC), which a backward scan reads
-- in the same order (newest first, then decision_id ascending): every statement that
-- used it keeps its plan, and a new entry goes last. A b-tree page that fills up is
-- split in half, except the index's last page, which keeps most of its entries:
-- entries that always went first left every page half empty (46 MB against 26 MB for
-- 400,000 entries, docs/benchmarks.md, "SQLite: the decision indexes in append
-- order"). In the indexes that begin with a filter column a new entry goes inside
-- the index whichever the order, so they stay as they are (rebuilding them would
-- block writes for minutes on a large table for nothing; SQLite's 018 rebuilds them).
-- Rebuilds one index, which reads activity_decisions once and blocks writes until
-- it commits (9 s at 1,000,000 decisions on the benchmark machine).
-- Applied once by `cavra migrate up`, inside the runner's transaction.

DROP INDEX ix_activity_decisions_decided_at_decision_id;
CREATE INDEX ix_activity_decisions_decided_at_decision_id
    ON activity_decisions (decided_at, decision_id DESC);
