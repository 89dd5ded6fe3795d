-- 011_operations_doctor.sql (SQLite)
-- Widens operations_records.kind to 'doctor': `cavra ops doctor --fix`
-- records what it rewrote (text that was not valid UTF-8) next to the
-- backups and restores, so that the trail shows why stored values changed.
-- Every value the old constraint allowed is still allowed.
-- SQLite cannot alter a CHECK: the table is rebuilt (create, copy, drop,
-- rename) and its indexes are created again. Rows are unchanged.
-- Applied once by `cavra migrate up`, inside the runner's transaction.

CREATE TABLE operations_records_v11 (
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
        CHECK (kind IN ('backup', 'restore', 'restore_test', 'doctor')),
    CONSTRAINT ck_operations_records_outcome CHECK (outcome IN ('succeeded', 'failed')),
    CONSTRAINT ck_operations_records_manifest_sha256
        CHECK (length(manifest_sha256) = 64 AND manifest_sha256 NOT GLOB '*[^0-9a-f]*'),
    CONSTRAINT ck_operations_records_payload
        CHECK (json_valid(payload) AND json_type(payload) = 'object')
);

INSERT INTO operations_records_v11 SELECT * FROM operations_records;
DROP TABLE operations_records;
ALTER TABLE operations_records_v11 RENAME TO operations_records;
CREATE INDEX ix_operations_records_finished_at_record_id
    ON operations_records (finished_at DESC, record_id);
CREATE INDEX ix_operations_records_kind_finished_at
    ON operations_records (kind, finished_at DESC);
