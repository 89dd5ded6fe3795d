-- 014_reserved.sql (PostgreSQL)
-- Holds version 14's place, which another change of the same release fills;
-- versions must run 1..N without gaps. Changes nothing.
-- Applied once by `cavra migrate up`, inside the runner's transaction.

SELECT 1;
