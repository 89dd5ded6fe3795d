-- 010_console_sessions.sql (PostgreSQL)
-- Creates console_sessions: the web console's server-side sessions and the
-- logins in flight (OpenID Connect state, nonce and PKCE verifier). Why: the
-- browser holds only an opaque cookie, and any replica must find the session
-- that another replica created. Rows are keyed by the SHA-256 of the cookie
-- value (kind 'session') or of the login's state (kind 'login'), never by the
-- value itself; a login row is deleted when its callback uses it.
-- PostgreSQL: times are TIMESTAMPTZ, payload JSONB (an object); key columns use
-- COLLATE "C" so that id order matches SQLite's byte order.
-- Applied once by `cavra migrate up`, inside the runner's transaction.

CREATE TABLE console_sessions (
    session_hash TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    kind         TEXT             NOT NULL,
    subject      TEXT,
    actor        TEXT,
    issuer       TEXT,
    created_at   TIMESTAMPTZ      NOT NULL,
    expires_at   TIMESTAMPTZ      NOT NULL,
    payload      JSONB            NOT NULL,
    CONSTRAINT ck_console_sessions_session_hash CHECK (session_hash ~ '^[0-9a-f]{64}$'),
    CONSTRAINT ck_console_sessions_kind CHECK (kind IN ('login', 'session')),
    CONSTRAINT ck_console_sessions_payload CHECK (jsonb_typeof(payload) = 'object')
);

CREATE INDEX ix_console_sessions_expires_at
    ON console_sessions (expires_at);
