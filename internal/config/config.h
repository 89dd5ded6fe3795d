/*
 * config.h - the one settings table (docs/config.md).
 *
 * Precedence: defaults < config file < environment < command-line flags.
 * Every setting has a name (also its config-file key), an environment
 * variable and a flag.  Secrets are never printed: see config_print().
 */
#ifndef CAVRA_CONFIG_H
#define CAVRA_CONFIG_H

#include "base/base.h"
#include "base/buf.h"
#include "base/err.h"

#define CONFIG_DEFAULT_SQLITE ".cavra/cavra.db"

enum config_source {
	CFG_SRC_DEFAULT = 0,
	CFG_SRC_FILE,
	CFG_SRC_ENV,
	CFG_SRC_FLAG,
	CFG_SRC_ORIGINAL, /* database_url from the original's store variables: original_source */
};

/* The effective settings.  Strings are owned by the struct. */
struct config {
	char *config_file;
	char *database_url;
	char *migration_database_url; /* NULL: use database_url */
	char *migrations_dir; /* NULL: the migrations embedded in the binary */
	char *listen;
	char *log_level;
	char *log_format;
	int64_t db_pool_size;
	char *db_prepared_statements; /* "true" | "false" | "auto" (= true) */
	int64_t db_statement_timeout_ms; /* serve's pool: PostgreSQL statement_timeout */
	int64_t db_lock_timeout_ms; /* serve's pool: lock_timeout, SQLite busy timeout */
	int64_t request_timeout_ms; /* a request's deadline for waiting on the database */
	int64_t list_count_cache_seconds; /* serve: trust a bounded total above its bound this long
					   */
	int64_t sqlite_checkpoint_pages; /* serve on SQLite: log pages that wake the checkpointer */
	char *auto_migrate; /* "auto" | "true" | "false" */
	char *policy_dir;
	char *approval_routing_file; /* NULL: the built-in routing rules */
	int64_t rollout_change_share_max_percent; /* rollout readiness: outcome_change_share */
	char *auth_mode; /* "none" | "oidc" */
	char *allow_unauthenticated; /* boolish: auth_mode none on a non-loopback listener */
	char *metrics_public; /* boolish: /metrics without credentials */
	int64_t auth_token_cache_seconds; /* serve on PostgreSQL: remember a verified API token */
	char *oidc_issuer, *oidc_audience, *oidc_groups_claim;
	int64_t oidc_leeway_seconds;
	char *oidc_algorithms; /* "RS256,ES256,PS256" */
	char *oidc_ca_file;
	char *oidc_require_at_jwt; /* boolish */
	char *oidc_issuers_file; /* more trusted issuers (YAML or JSON list) */
	int64_t oidc_refresh_seconds; /* the periodic refetch of discovery and keys */
	int64_t oidc_refetch_interval_seconds; /* at least this between refetches on an unknown kid
						*/
	char *rbac_file; /* IdP groups -> roles; NULL: the built-in mapping */
	char *api_token_key_file; /* a secret that seals API tokens (docs/security.md); NULL: none
				   */
	char *audit_seal_key_file; /* a secret that seals audit chain entries (docs/audit.md) */
	char *console_client_id, *console_client_secret, *console_client_secret_file;
	char *console_public_url; /* e.g. https://cavra.example.com: the callback's base */
	char *console_scopes;
	int64_t console_session_seconds;
	int64_t console_purge_seconds; /* how often serve deletes expired logins and sessions */
	int64_t console_max_pending_logins; /* unauthenticated rows: logins in flight */
	char *trust_forwarded_proto; /* boolish: X-Forwarded-Proto https makes cookies Secure */
	int64_t max_body_bytes;
	int64_t max_connections, max_connections_per_ip; /* per_ip 0: no per-address cap */
	int64_t header_timeout_seconds, body_timeout_seconds; /* total read time, not idle */
	int64_t shutdown_grace_seconds;
	char *backup_signing_key_file; /* PEM Ed25519 private key: ops backup signs; NULL: unsigned
					*/
	char *backup_public_key_file; /* PEM Ed25519 public key: verify/restore require it */
	char *backup_compression; /* none | zstd[:LEVEL]: how ops backup stores table files */
	int64_t restore_maintenance_work_mem_mb; /* restore's index builds (MB); 0: server's */
	char *audit_checkpoint_dir; /* NULL: serve writes no checkpoints (docs/audit.md) */
	int64_t audit_checkpoint_seconds;
	char *audit_signing_key_file; /* Ed25519 PEM private key for those checkpoints */
	enum config_source source[64]; /* per table entry */
	char *original_source; /* "env CAVRA_EVIDENCE_METADATA_DB, ..."; NULL unless used */
};

/* Looks up an environment variable; tests pass their own. */
typedef const char *(*config_getenv_fn)(const char *name);

void config_init(struct config *c);
void config_release(struct config *c);

/*
 * Loads settings from the optional file, env and the settings flags in argv.
 * Flags that are not settings are copied, in order, into rest (which must
 * hold argc entries); *nrest receives their count.  ST_INVALID (exit 2)
 * names the setting on any bad value.
 */
ATTR_NODISCARD enum status config_load(struct config *c, int argc, char **argv,
				       config_getenv_fn getenv_fn, char **rest, int *nrest,
				       struct err *e);

/*
 * True when the database is the embedded SQLite default's file, however its URL spells it
 * (path_same_file).
 */
bool config_is_default_database(const struct config *c);
/* Whether serve applies pending migrations first (resolves "auto"). */
bool config_auto_migrate(const struct config *c);
/* True when a boolish setting's value is "true" ("auto" and "false" are not). */
bool config_flag(const char *boolish);
/* Whether PostgreSQL statements are prepared once per connection. */
bool config_db_prepare(const struct config *c);
/* The URL migrations use: migration_database_url, else database_url. */
const char *config_migration_url(const struct config *c);

/*
 * The original CAVRA's store settings, for serve: ST_INVALID naming them
 * when a JSON store variable (CAVRA_*_STORE) is set for a store without a
 * SQLite one, when the SQLite ones (CAVRA_*_DB) name different files, or
 * another database than database_url.  The message says how to move them
 * (`cavra ops import --from-env`).
 */
ATTR_NODISCARD enum status config_original_check(const struct config *c, config_getenv_fn getenv_fn,
						 struct err *e);

/* Appends "name = value  (source)" lines, secrets redacted. */
ATTR_NODISCARD enum status config_print(const struct config *c, struct buf *out, struct err *e);

/* Iterates the table for docs checks: returns false past the end. */
bool config_entry_at(size_t i, const char **name, const char **env, const char **flag);

/* Validates a database URL's form (scheme); does not connect. */
ATTR_NODISCARD enum status config_check_database_url(const char *url, struct err *e);

#endif
