-- 009_operations_records.sql (PostgreSQL)
-- Creates operations_records: one row per backup, restore and restore test
-- (cavra.operations_record.v1, opr_ ids). Why: auditors review the backup and
-- restore-test controls from the database itself, and `cavra ops stores` and
-- the retention plan show the last of each. A restore merges these rows into
-- the target instead of replacing them, so the trail survives restores.
-- PostgreSQL: times are TIMESTAMPTZ, payload JSONB (an object); key columns use
-- COLLATE "C" so that id order matches SQLite's byte order.
-- Applied once by `cavra migrate up`, inside the runner's transaction.

CREATE TABLE operations_records (
    record_id       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    kind            TEXT             NOT NULL,
    outcome         TEXT             NOT NULL,
    manifest_sha256 TEXT COLLATE "C",
    location        TEXT,
    started_at      TIMESTAMPTZ      NOT NULL,
    finished_at     TIMESTAMPTZ      NOT NULL,
    created_at      TIMESTAMPTZ      NOT NULL,
    updated_at      TIMESTAMPTZ      NOT NULL,
    payload         JSONB            NOT NULL,
    CONSTRAINT ck_operations_records_record_id CHECK (record_id <> ''),
    CONSTRAINT ck_operations_records_kind
        CHECK (kind IN ('backup', 'restore', 'restore_test')),
    CONSTRAINT ck_operations_records_outcome CHECK (outcome IN ('succeeded', 'failed')),
    CONSTRAINT ck_operations_records_manifest_sha256
        CHECK (manifest_sha256 ~ '^[0-9a-f]{64}$'),
    CONSTRAINT ck_operations_records_payload CHECK (jsonb_typeof(payload) = 'object')
);

CREATE INDEX ix_operations_records_finished_at_record_id
    ON operations_records (finished_at DESC, record_id);
CREATE INDEX ix_operations_records_kind_finished_at
    ON operations_records (kind, finished_at DESC);
