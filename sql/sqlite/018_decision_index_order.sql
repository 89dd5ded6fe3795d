-- 018_decision_index_order.sql (SQLite)
-- compatibility: backward
-- (the same indexes under the same names, their entries in the other order: an older
-- binary's statements read and write them as before)
-- The decision list's indexes ended in (decided_at DESC, decision_id), the list's
-- order, so a new decision's entry went in front of every older one of its range.
-- The ten now end in (decided_at, decision_id DESC), which a backward scan reads in
-- the same order (newest first, then decision_id ascending), so every list
-- statement keeps its plan and a new entry goes last.
-- SQLite: an entry that goes first makes the leaf it fills rebalance with its
-- neighbours and their parent far more often than one that goes last (one such
-- index alone: 3.8 pages written a commit against 2.1). With the ten in append
-- order a decision writes about 11 % fewer pages to the write-ahead log, 12 % fewer
-- bytes to the disk, and takes 16 % less room in the file (docs/benchmarks.md,
-- "SQLite: the decision indexes in append order"). Rebuilds the ten indexes, which
-- reads activity_decisions ten times and blocks writes until it commits (33 s at
-- 1,000,000 decisions on the benchmark machine).
-- Applied once by `cavra migrate up`, inside the runner's transaction.

DROP INDEX ix_activity_decisions_decided_at_decision_id;
CREATE INDEX ix_activity_decisions_decided_at_decision_id
    ON activity_decisions (decided_at, decision_id DESC);

DROP INDEX ix_activity_decisions_agent_id_decided_at_decision_id;
CREATE INDEX ix_activity_decisions_agent_id_decided_at_decision_id
    ON activity_decisions (agent_id, decided_at, decision_id DESC);

DROP INDEX ix_activity_decisions_repository_decided_at_decision_id;
CREATE INDEX ix_activity_decisions_repository_decided_at_decision_id
    ON activity_decisions (repository, decided_at, decision_id DESC);

DROP INDEX ix_activity_decisions_policy_pack_decided_at_decision_id;
CREATE INDEX ix_activity_decisions_policy_pack_decided_at_decision_id
    ON activity_decisions (policy_pack, decided_at, decision_id DESC);

DROP INDEX ix_activity_decisions_decision_decided_at_decision_id;
CREATE INDEX ix_activity_decisions_decision_decided_at_decision_id
    ON activity_decisions (decision, decided_at, decision_id DESC);

DROP INDEX ix_activity_decisions_severity_decided_at_decision_id;
CREATE INDEX ix_activity_decisions_severity_decided_at_decision_id
    ON activity_decisions (severity, decided_at, decision_id DESC);

DROP INDEX ix_activity_decisions_action_type_decided_at_decision_id;
CREATE INDEX ix_activity_decisions_action_type_decided_at_decision_id
    ON activity_decisions (action_type, decided_at, decision_id DESC);

DROP INDEX ix_activity_decisions_repository_decision_decided_at;
CREATE INDEX ix_activity_decisions_repository_decision_decided_at
    ON activity_decisions (repository, decision, decided_at, decision_id DESC);

DROP INDEX ix_activity_decisions_agent_id_severity_decided_at;
CREATE INDEX ix_activity_decisions_agent_id_severity_decided_at
    ON activity_decisions (agent_id, severity, decided_at, decision_id DESC);

DROP INDEX ix_activity_decisions_policy_pack_decision_decided_at;
CREATE INDEX ix_activity_decisions_policy_pack_decision_decided_at
    ON activity_decisions (policy_pack, decision, decided_at, decision_id DESC);
