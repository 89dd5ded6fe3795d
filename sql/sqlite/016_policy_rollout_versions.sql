-- 016_policy_rollout_versions.sql (SQLite)
-- Adds inventory_policy_rollouts.version and .history. Why: a change plan
-- (POST /policy-rollouts/{id}/change-plan) is made against one state of a
-- rollout, and applying it (apply-change) must refuse when the rollout
-- changed since: one UPDATE ... WHERE version = <the plan's>, then version + 1.
-- history is a JSON array of the applied changes (who, when, why, from, to),
-- newest last, written by that same UPDATE, so a change and its entry never
-- part; the record's payload stays what clients post, and a POST of the
-- rollout cannot rewrite history.
-- The trigger moves version on every other update too (POST /policy-rollouts,
-- imports): a plan made before such a change is stale as well.
-- SQLite: version INTEGER, history TEXT holding a JSON array.
-- Applied once by `cavra migrate up`, inside the runner's transaction.

ALTER TABLE inventory_policy_rollouts
    ADD COLUMN version INTEGER NOT NULL DEFAULT 1
    CONSTRAINT ck_inventory_policy_rollouts_version
        CHECK (typeof(version) = 'integer' AND version >= 1);

ALTER TABLE inventory_policy_rollouts
    ADD COLUMN history TEXT NOT NULL DEFAULT '[]'
    CONSTRAINT ck_inventory_policy_rollouts_history
        CHECK (json_valid(history) AND json_type(history) = 'array');

CREATE TRIGGER tr_inventory_policy_rollouts_version
    AFTER UPDATE ON inventory_policy_rollouts
    FOR EACH ROW WHEN NEW.version = OLD.version
BEGIN
    UPDATE inventory_policy_rollouts SET version = OLD.version + 1
     WHERE rollout_id = NEW.rollout_id;
END;
