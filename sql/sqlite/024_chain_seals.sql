-- 024_chain_seals.sql (SQLite)
-- compatibility: contract
-- (a binary of 023 still writes entries, unsealed, which `cavra audit verify --seal-key-file`
-- reports; but its backups refuse audit_chain's new column)
-- Adds audit_chain.seal: an HMAC-SHA256 of the entry's kind, record id and record hash, and of
-- its writer (one connection) and that writer's number for it, under audit_seal_key_file's
-- key, which the database never holds
-- (docs/audit.md, "Sealed entries"). Why: an entry's link is public, so anyone with SQL access
-- could append an entry for a record they wrote, or edit a record and rebuild the chain from
-- it, and every entry after the last signed checkpoint verified like one of cavra's.
-- NULL for every entry written before, or without the key; nothing is sealed after the fact.
-- A nullable column with no default and no CHECK: a change of the catalogue alone, no rewrite
-- or scan of the table, whatever its size.
-- Applied once by `cavra migrate up`, inside the runner's transaction.

ALTER TABLE audit_chain ADD COLUMN seal TEXT;
