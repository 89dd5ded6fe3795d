-- 005_repository_policy_rollout.sql (SQLite)
-- Creates inventory_repositories (cavra.repository.v1; ids may contain '/')
-- and inventory_policy_rollouts (cavra.policy_rollout.v1). Why: operators track
-- which policy pack runs in which mode on which repository. No foreign key
-- from rollouts to repositories: imports may arrive in any order.
-- SQLite: times are TEXT 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (UTC, text order is time
-- order; the GLOB checks enforce that shape), counters INTEGER, payload JSON
-- TEXT (an object, like PostgreSQL's JSONB).
-- Applied once by `cavra migrate up`, inside the runner's transaction.

CREATE TABLE inventory_repositories (
    repository_id TEXT NOT NULL PRIMARY KEY,
    provider      TEXT,
    owner         TEXT,
    policy_pack   TEXT,
    risk_tier     TEXT,
    status        TEXT,
    created_at    TEXT NOT NULL CHECK (created_at GLOB '????-??-??T??:??:??.??????Z'),
    updated_at    TEXT NOT NULL CHECK (updated_at GLOB '????-??-??T??:??:??.??????Z'),
    payload       TEXT NOT NULL,
    CONSTRAINT ck_inventory_repositories_repository_id CHECK (repository_id <> ''),
    CONSTRAINT ck_inventory_repositories_payload
        CHECK (json_valid(payload) AND json_type(payload) = 'object')
);

CREATE INDEX ix_inventory_repositories_updated_at_repository_id
    ON inventory_repositories (updated_at DESC, repository_id);
CREATE INDEX ix_inventory_repositories_provider_updated_at
    ON inventory_repositories (provider, updated_at DESC);
CREATE INDEX ix_inventory_repositories_owner_updated_at
    ON inventory_repositories (owner, updated_at DESC);
CREATE INDEX ix_inventory_repositories_policy_pack_updated_at
    ON inventory_repositories (policy_pack, updated_at DESC);
CREATE INDEX ix_inventory_repositories_risk_tier_updated_at
    ON inventory_repositories (risk_tier, updated_at DESC);
CREATE INDEX ix_inventory_repositories_status_updated_at
    ON inventory_repositories (status, updated_at DESC);

CREATE TABLE inventory_policy_rollouts (
    rollout_id       TEXT    NOT NULL PRIMARY KEY,
    repository_id    TEXT    NOT NULL,
    policy_pack      TEXT    NOT NULL,
    mode             TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    coverage_percent INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT    NOT NULL CHECK (created_at GLOB '????-??-??T??:??:??.??????Z'),
    updated_at       TEXT    NOT NULL CHECK (updated_at GLOB '????-??-??T??:??:??.??????Z'),
    payload          TEXT    NOT NULL,
    CONSTRAINT ck_inventory_policy_rollouts_rollout_id CHECK (rollout_id <> ''),
    CONSTRAINT ck_inventory_policy_rollouts_mode
        CHECK (mode IN ('audit_only', 'enforce', 'strict', 'break_glass')),
    CONSTRAINT ck_inventory_policy_rollouts_state
        CHECK (state IN ('planned', 'active', 'paused', 'retired')),
    CONSTRAINT ck_inventory_policy_rollouts_coverage_percent
        CHECK (typeof(coverage_percent) = 'integer' AND coverage_percent BETWEEN 0 AND 100),
    CONSTRAINT ck_inventory_policy_rollouts_payload
        CHECK (json_valid(payload) AND json_type(payload) = 'object')
);

CREATE INDEX ix_inventory_policy_rollouts_updated_at_rollout_id
    ON inventory_policy_rollouts (updated_at DESC, rollout_id);
CREATE INDEX ix_inventory_policy_rollouts_repository_id_updated_at
    ON inventory_policy_rollouts (repository_id, updated_at DESC);
CREATE INDEX ix_inventory_policy_rollouts_policy_pack_updated_at
    ON inventory_policy_rollouts (policy_pack, updated_at DESC);
CREATE INDEX ix_inventory_policy_rollouts_mode_updated_at
    ON inventory_policy_rollouts (mode, updated_at DESC);
CREATE INDEX ix_inventory_policy_rollouts_state_updated_at
    ON inventory_policy_rollouts (state, updated_at DESC);
