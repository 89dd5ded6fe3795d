-- 011_operations_doctor.sql (PostgreSQL)
-- Widens operations_records.kind to 'doctor': `cavra ops doctor --fix`
-- records what it rewrote (text that was not valid UTF-8) next to the
-- backups and restores, so that the trail shows why stored values changed.
-- Every value the old constraint allowed is still allowed.
-- PostgreSQL: only the CHECK constraint is swapped.
-- Applied once by `cavra migrate up`, inside the runner's transaction.

ALTER TABLE operations_records
    DROP CONSTRAINT ck_operations_records_kind,
    ADD CONSTRAINT ck_operations_records_kind
        CHECK (kind IN ('backup', 'restore', 'restore_test', 'doctor'));
