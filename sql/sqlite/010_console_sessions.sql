-- 010_console_sessions.sql (SQLite)
-- Creates console_sessions: the web console's server-side sessions and the
-- logins in flight (OpenID Connect state, nonce and PKCE verifier). Why: the
-- browser holds only an opaque cookie, and any replica must find the session
-- that another replica created. Rows are keyed by the SHA-256 of the cookie
-- value (kind 'session') or of the login's state (kind 'login'), never by the
-- value itself; a login row is deleted when its callback uses it.
-- SQLite: times are TEXT 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (UTC, text order is time
-- order; the GLOB checks enforce that shape), payload JSON TEXT (an object).
-- Applied once by `cavra migrate up`, inside the runner's transaction.

CREATE TABLE console_sessions (
    session_hash TEXT NOT NULL PRIMARY KEY,
    kind         TEXT NOT NULL,
    subject      TEXT,
    actor        TEXT,
    issuer       TEXT,
    created_at   TEXT NOT NULL CHECK (created_at GLOB '????-??-??T??:??:??.??????Z'),
    expires_at   TEXT NOT NULL CHECK (expires_at GLOB '????-??-??T??:??:??.??????Z'),
    payload      TEXT NOT NULL,
    CONSTRAINT ck_console_sessions_session_hash
        CHECK (length(session_hash) = 64 AND session_hash NOT GLOB '*[^0-9a-f]*'),
    CONSTRAINT ck_console_sessions_kind CHECK (kind IN ('login', 'session')),
    CONSTRAINT ck_console_sessions_payload
        CHECK (json_valid(payload) AND json_type(payload) = 'object')
);

CREATE INDEX ix_console_sessions_expires_at
    ON console_sessions (expires_at);
