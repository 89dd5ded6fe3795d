-- 019_api_token_notify.sql (PostgreSQL)
-- compatibility: backward
-- (triggers that only send notifications: an older binary reads and writes
-- api_tokens as before and listens for none of them)
-- Tells every `cavra serve` that remembers verified API tokens (docs/security.md,
-- "API tokens") that a token changed, so that a revocation made by any process
-- (`cavra tokens revoke`, another replica, a restore, a DBA's SQL) reaches every
-- replica's memory when the change commits: pg_notify('cavra_api_tokens', <token_id>)
-- for a row that is deleted or updated, '*' (forget every token) for a TRUNCATE.
-- PostgreSQL delivers a notification only once its transaction commits, and only
-- to sessions that LISTEN on the channel; with none listening it costs next to
-- nothing.
-- An UPDATE that changes last_used_at alone (the once-a-minute record of a use)
-- notifies nothing: it makes no remembered token wrong, and a notification would
-- make every replica forget the token each time a use of it is recorded.
-- No notification for an INSERT: a replica remembers only tokens it read, and a new
-- row can be none of them (token_id is the primary key, token_sha256 has a unique
-- index). A restore empties api_tokens with TRUNCATE ('*') and COPYs the rows back;
-- a trigger per inserted row would queue one notification per row for nothing.
-- Applied once by `cavra migrate up`, inside the runner's transaction.

CREATE FUNCTION api_tokens_notify() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_LEVEL = 'STATEMENT' THEN
        PERFORM pg_notify('cavra_api_tokens', '*');
    ELSE
        PERFORM pg_notify('cavra_api_tokens', OLD.token_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tr_api_tokens_notify_update
    AFTER UPDATE ON api_tokens
    FOR EACH ROW
    WHEN ((to_jsonb(OLD) - 'last_used_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_used_at'))
    EXECUTE FUNCTION api_tokens_notify();

CREATE TRIGGER tr_api_tokens_notify_delete
    AFTER DELETE ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION api_tokens_notify();

CREATE TRIGGER tr_api_tokens_notify_truncate
    AFTER TRUNCATE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION api_tokens_notify();
