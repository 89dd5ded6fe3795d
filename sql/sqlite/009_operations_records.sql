-- 009_operations_records.sql (SQLite)
-- Creates operations_records: one row per backup, restore and restore test
-- (cavra.operations_record.v1, opr_ ids). Why: auditors review the backup and
-- restore-test controls from the database itself, and `cavra ops stores` and
-- the retention plan show the last of each. A restore merges these rows into
-- the target instead of replacing them, so the trail survives restores.
-- SQLite: times are TEXT 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (UTC, text order is time
-- order; the GLOB checks enforce that shape), payload JSON TEXT (an object).
-- Applied once by `cavra migrate up`, inside the runner's transaction.

CREATE TABLE operations_records (
    record_id       TEXT NOT NULL PRIMARY KEY,
    kind            TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    manifest_sha256 TEXT,
    location        TEXT,
    started_at      TEXT NOT NULL CHECK (started_at GLOB '????-??-??T??:??:??.??????Z'),
    finished_at     TEXT NOT NULL CHECK (finished_at GLOB '????-??-??T??:??:??.??????Z'),
    created_at      TEXT NOT NULL CHECK (created_at GLOB '????-??-??T??:??:??.??????Z'),
    updated_at      TEXT NOT NULL CHECK (updated_at GLOB '????-??-??T??:??:??.??????Z'),
    payload         TEXT NOT NULL,
    CONSTRAINT ck_operations_records_record_id CHECK (record_id <> ''),
    CONSTRAINT ck_operations_records_kind
        CHECK (kind IN ('backup', 'restore', 'restore_test')),
    CONSTRAINT ck_operations_records_outcome CHECK (outcome IN ('succeeded', 'failed')),
    CONSTRAINT ck_operations_records_manifest_sha256
        CHECK (length(manifest_sha256) = 64 AND manifest_sha256 NOT GLOB '*[^0-9a-f]*'),
    CONSTRAINT ck_operations_records_payload
        CHECK (json_valid(payload) AND json_type(payload) = 'object')
);

CREATE INDEX ix_operations_records_finished_at_record_id
    ON operations_records (finished_at DESC, record_id);
CREATE INDEX ix_operations_records_kind_finished_at
    ON operations_records (kind, finished_at DESC);
