-- 007_api_tokens.sql (PostgreSQL)
-- Creates api_tokens: static bearer tokens for agent service accounts. Why:
-- CI jobs and agent harnesses that have no workload identity still need a
-- credential that can be listed, expired and revoked. Only the SHA-256 of a
-- token is stored; the token itself is shown once, when it is created.
-- PostgreSQL: times are TIMESTAMPTZ, payload JSONB (an object); key columns use
-- COLLATE "C" so that id order matches SQLite's byte order.
-- Applied once by `cavra migrate up`, inside the runner's transaction.

CREATE TABLE api_tokens (
    token_id     TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    token_sha256 TEXT COLLATE "C" NOT NULL,
    name         TEXT             NOT NULL,
    subject      TEXT             NOT NULL,
    created_by   TEXT,
    expires_at   TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    created_at   TIMESTAMPTZ      NOT NULL,
    updated_at   TIMESTAMPTZ      NOT NULL,
    payload      JSONB            NOT NULL,
    CONSTRAINT ck_api_tokens_token_id CHECK (token_id <> ''),
    CONSTRAINT ck_api_tokens_token_sha256 CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
    CONSTRAINT ck_api_tokens_payload CHECK (jsonb_typeof(payload) = 'object')
);

CREATE UNIQUE INDEX ux_api_tokens_token_sha256
    ON api_tokens (token_sha256);
CREATE INDEX ix_api_tokens_created_at_token_id
    ON api_tokens (created_at DESC, token_id);
CREATE INDEX ix_api_tokens_subject_created_at
    ON api_tokens (subject, created_at DESC);
