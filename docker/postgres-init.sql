-- Run once by the postgres image when docker-compose.yml's volume is new
-- (/docker-entrypoint-initdb.d). The least-privilege layout of docs/migrations.md: cavra_owner
-- owns the database and runs migrations, cavra_app reads and writes rows for `cavra serve`.
-- Development passwords only: this file is for the laptop stack, never for a real server.
CREATE ROLE cavra_owner LOGIN PASSWORD 'owner-dev-secret';
CREATE ROLE cavra_app LOGIN PASSWORD 'app-dev-secret';
CREATE DATABASE cavra OWNER cavra_owner;
REVOKE ALL ON DATABASE cavra FROM PUBLIC;
GRANT CONNECT ON DATABASE cavra TO cavra_app;
\connect cavra
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO cavra_app;
ALTER DEFAULT PRIVILEGES FOR ROLE cavra_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO cavra_app;
ALTER DEFAULT PRIVILEGES FOR ROLE cavra_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO cavra_app;
