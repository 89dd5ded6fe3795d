-- 007_api_tokens.sql (SQLite)
-- Creates api_tokens: static bearer tokens for agent service accounts. Why:
-- CI jobs and agent harnesses that have no workload identity still need a
-- credential that can be listed, expired and revoked. Only the SHA-256 of a
-- token is stored; the token itself is shown once, when it is created.
-- SQLite: times are TEXT 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (UTC, text order is time
-- order; the GLOB checks enforce that shape), payload JSON TEXT (an object).
-- Applied once by `cavra migrate up`, inside the runner's transaction.

CREATE TABLE api_tokens (
    token_id     TEXT NOT NULL PRIMARY KEY,
    token_sha256 TEXT NOT NULL,
    name         TEXT NOT NULL,
    subject      TEXT NOT NULL,
    created_by   TEXT,
    expires_at   TEXT CHECK (expires_at GLOB '????-??-??T??:??:??.??????Z'),
    revoked_at   TEXT CHECK (revoked_at GLOB '????-??-??T??:??:??.??????Z'),
    last_used_at TEXT CHECK (last_used_at GLOB '????-??-??T??:??:??.??????Z'),
    created_at   TEXT NOT NULL CHECK (created_at GLOB '????-??-??T??:??:??.??????Z'),
    updated_at   TEXT NOT NULL CHECK (updated_at GLOB '????-??-??T??:??:??.??????Z'),
    payload      TEXT NOT NULL,
    CONSTRAINT ck_api_tokens_token_id CHECK (token_id <> ''),
    CONSTRAINT ck_api_tokens_token_sha256
        CHECK (length(token_sha256) = 64 AND token_sha256 NOT GLOB '*[^0-9a-f]*'),
    CONSTRAINT ck_api_tokens_payload CHECK (json_valid(payload) AND json_type(payload) = 'object')
);

CREATE UNIQUE INDEX ux_api_tokens_token_sha256
    ON api_tokens (token_sha256);
CREATE INDEX ix_api_tokens_created_at_token_id
    ON api_tokens (created_at DESC, token_id);
CREATE INDEX ix_api_tokens_subject_created_at
    ON api_tokens (subject, created_at DESC);
