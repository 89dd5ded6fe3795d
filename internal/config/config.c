/*
 * config.c - every setting of cavra in one table, and the code that fills struct config from
 * it: defaults < config file < environment < flags.  One table means one place to add a
 * setting, and it is what --print-config walks and what the unit test compares with
 * docs/config.md, so a setting cannot exist undocumented.  Values are validated as they are
 * applied and a bad one names its setting, so cmd/ can fail before anything is opened.  This
 * file does not decide what a setting means; the commands read struct config.
 */
#include "base/base.h"
#include "config/config_int.h"
#include "base/str.h"
#include "base/num.h"
#include "base/redact.h"
#include "base/xalloc.h"
#include "base/dburl.h"
#include "base/files.h"
#include "base/path.h"
#include "json/jx_yaml.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A config file larger than this is refused (a settings file is a few hundred bytes). */
#define CONFIG_FILE_MAX (1u << 20)

enum cfg_type { CFG_STR, CFG_INT, CFG_BOOLISH };
/*
 * F_SECRET_URL: a database URL, printed with its password redacted but its host kept (an
 * operator needs to see where it points).  F_SECRET: printed as "*****" whole.  F_NULLABLE:
 * unset is a valid state with its own meaning (no file, no second database), not "empty".
 */
enum { F_SECRET_URL = 1, F_NULLABLE = 2, F_SECRET = 4 };

typedef enum status (*cfg_check_fn)(const char *value, struct err *e);

struct cfg_entry {
	const char *name; /* config-file key */
	const char *env;
	const char *flag; /* without the leading "--" */
	enum cfg_type type;
	size_t offset;
	const char *def; /* NULL: unset */
	int64_t min, max; /* CFG_INT bounds */
	unsigned flags;
	cfg_check_fn check;
};

static enum status check_listen(const char *v, struct err *e);
static enum status check_level(const char *v, struct err *e);
static enum status check_format(const char *v, struct err *e);
static enum status check_boolish(const char *v, struct err *e);
static enum status check_auth_mode(const char *v, struct err *e);

#define OFF(f) offsetof(struct config, f)

/* The one settings table.  docs/config.md documents every row (unit-tested). */
static const struct cfg_entry table[] = {
	{"config_file", "CAVRA_CONFIG_FILE", "config", CFG_STR, OFF(config_file), NULL, 0, 0,
	 F_NULLABLE, NULL},
	{"database_url", "CAVRA_DATABASE_URL", "database", CFG_STR, OFF(database_url),
	 CONFIG_DEFAULT_SQLITE, 0, 0, F_SECRET_URL, config_check_database_url},
	{"migration_database_url", "CAVRA_MIGRATION_DATABASE_URL", "migration-database", CFG_STR,
	 OFF(migration_database_url), NULL, 0, 0, F_SECRET_URL | F_NULLABLE,
	 config_check_database_url},
	{"migrations_dir", "CAVRA_MIGRATIONS_DIR", "migrations-dir", CFG_STR, OFF(migrations_dir),
	 NULL, 0, 0, F_NULLABLE, NULL},
	{"listen", "CAVRA_LISTEN", "listen", CFG_STR, OFF(listen), "127.0.0.1:8080", 0, 0, 0,
	 check_listen},
	{"log_level", "CAVRA_LOG_LEVEL", "log-level", CFG_STR, OFF(log_level), "info", 0, 0, 0,
	 check_level},
	{"log_format", "CAVRA_LOG_FORMAT", "log-format", CFG_STR, OFF(log_format), "logfmt", 0, 0,
	 0, check_format},
	{"db_pool_size", "CAVRA_DB_POOL_SIZE", "db-pool-size", CFG_INT, OFF(db_pool_size), "8", 1,
	 256, 0, NULL},
	{"db_prepared_statements", "CAVRA_DB_PREPARED_STATEMENTS", "db-prepared-statements",
	 CFG_BOOLISH, OFF(db_prepared_statements), "true", 0, 0, 0, check_boolish},
	/*
	 * The lock timeout is below the statement timeout so that a statement stuck behind
	 * another session's lock fails as "lock not available" (55P03), which names the
	 * cause, with time left over for the statement's own work; the request deadline is
	 * above both, so a request has room for a wait in the pool and one slow statement.
	 */
	{"db_statement_timeout_ms", "CAVRA_DB_STATEMENT_TIMEOUT_MS", "db-statement-timeout-ms",
	 CFG_INT, OFF(db_statement_timeout_ms), "5000", 100, 3600000, 0, NULL},
	{"db_lock_timeout_ms", "CAVRA_DB_LOCK_TIMEOUT_MS", "db-lock-timeout-ms", CFG_INT,
	 OFF(db_lock_timeout_ms), "2000", 100, 3600000, 0, NULL},
	{"request_timeout_ms", "CAVRA_REQUEST_TIMEOUT_MS", "request-timeout-ms", CFG_INT,
	 OFF(request_timeout_ms), "10000", 100, 3600000, 0, NULL},
	{"list_count_cache_seconds", "CAVRA_LIST_COUNT_CACHE_SECONDS", "list-count-cache-seconds",
	 CFG_INT, OFF(list_count_cache_seconds), "60", 0, 3600, 0, NULL},
	{"sqlite_checkpoint_pages", "CAVRA_SQLITE_CHECKPOINT_PAGES", "sqlite-checkpoint-pages",
	 CFG_INT, OFF(sqlite_checkpoint_pages), "8000", 100, 1000000, 0, NULL},
	{"auto_migrate", "CAVRA_AUTO_MIGRATE", "auto-migrate", CFG_BOOLISH, OFF(auto_migrate),
	 "auto", 0, 0, 0, check_boolish},
	{"policy_dir", "CAVRA_POLICY_DIR", "policy-dir", CFG_STR, OFF(policy_dir), NULL, 0, 0,
	 F_NULLABLE, NULL},
	{"approval_routing_file", "CAVRA_APPROVAL_ROUTING_FILE", "approval-routing-file", CFG_STR,
	 OFF(approval_routing_file), NULL, 0, 0, F_NULLABLE, NULL},
	{"rollout_change_share_max_percent", "CAVRA_ROLLOUT_CHANGE_SHARE_MAX_PERCENT",
	 "rollout-change-share-max-percent", CFG_INT, OFF(rollout_change_share_max_percent), "5", 0,
	 100, 0, NULL},
	{"auth_mode", "CAVRA_AUTH_MODE", "auth-mode", CFG_STR, OFF(auth_mode), "none", 0, 0, 0,
	 check_auth_mode},
	{"allow_unauthenticated", "CAVRA_ALLOW_UNAUTHENTICATED", "allow-unauthenticated",
	 CFG_BOOLISH, OFF(allow_unauthenticated), "false", 0, 0, 0, check_boolish},
	{"metrics_public", "CAVRA_METRICS_PUBLIC", "metrics-public", CFG_BOOLISH,
	 OFF(metrics_public), "false", 0, 0, 0, check_boolish},
	{"auth_token_cache_seconds", "CAVRA_AUTH_TOKEN_CACHE_SECONDS", "auth-token-cache-seconds",
	 CFG_INT, OFF(auth_token_cache_seconds), "60", 0, 3600, 0, NULL},
	{"oidc_issuer", "CAVRA_OIDC_ISSUER", "oidc-issuer", CFG_STR, OFF(oidc_issuer), NULL, 0, 0,
	 F_NULLABLE, NULL},
	{"oidc_audience", "CAVRA_OIDC_AUDIENCE", "oidc-audience", CFG_STR, OFF(oidc_audience), NULL,
	 0, 0, F_NULLABLE, NULL},
	{"oidc_groups_claim", "CAVRA_OIDC_GROUPS_CLAIM", "oidc-groups-claim", CFG_STR,
	 OFF(oidc_groups_claim), "groups", 0, 0, 0, NULL},
	{"oidc_leeway_seconds", "CAVRA_OIDC_LEEWAY_SECONDS", "oidc-leeway-seconds", CFG_INT,
	 OFF(oidc_leeway_seconds), "60", 0, 3600, 0, NULL},
	{"oidc_algorithms", "CAVRA_OIDC_ALGORITHMS", "oidc-algorithms", CFG_STR,
	 OFF(oidc_algorithms), "RS256,ES256,PS256", 0, 0, 0, NULL},
	{"oidc_ca_file", "CAVRA_OIDC_CA_FILE", "oidc-ca-file", CFG_STR, OFF(oidc_ca_file), NULL, 0,
	 0, F_NULLABLE, NULL},
	{"oidc_require_at_jwt", "CAVRA_OIDC_REQUIRE_AT_JWT", "oidc-require-at-jwt", CFG_BOOLISH,
	 OFF(oidc_require_at_jwt), "false", 0, 0, 0, check_boolish},
	{"oidc_issuers_file", "CAVRA_OIDC_ISSUERS_FILE", "oidc-issuers-file", CFG_STR,
	 OFF(oidc_issuers_file), NULL, 0, 0, F_NULLABLE, NULL},
	{"oidc_refresh_seconds", "CAVRA_OIDC_REFRESH_SECONDS", "oidc-refresh-seconds", CFG_INT,
	 OFF(oidc_refresh_seconds), "300", 1, 86400, 0, NULL},
	{"oidc_refetch_interval_seconds", "CAVRA_OIDC_REFETCH_INTERVAL_SECONDS",
	 "oidc-refetch-interval-seconds", CFG_INT, OFF(oidc_refetch_interval_seconds), "30", 1,
	 3600, 0, NULL},
	{"api_token_key_file", "CAVRA_API_TOKEN_KEY_FILE", "api-token-key-file", CFG_STR,
	 OFF(api_token_key_file), NULL, 0, 0, F_NULLABLE, NULL},
	{"audit_seal_key_file", "CAVRA_AUDIT_SEAL_KEY_FILE", "audit-seal-key-file", CFG_STR,
	 OFF(audit_seal_key_file), NULL, 0, 0, F_NULLABLE, NULL},
	{"console_client_id", "CAVRA_CONSOLE_CLIENT_ID", "console-client-id", CFG_STR,
	 OFF(console_client_id), NULL, 0, 0, F_NULLABLE, NULL},
	{"console_client_secret", "CAVRA_CONSOLE_CLIENT_SECRET", "console-client-secret", CFG_STR,
	 OFF(console_client_secret), NULL, 0, 0, F_NULLABLE | F_SECRET, NULL},
	{"console_client_secret_file", "CAVRA_CONSOLE_CLIENT_SECRET_FILE",
	 "console-client-secret-file", CFG_STR, OFF(console_client_secret_file), NULL, 0, 0,
	 F_NULLABLE, NULL},
	{"console_public_url", "CAVRA_CONSOLE_PUBLIC_URL", "console-public-url", CFG_STR,
	 OFF(console_public_url), NULL, 0, 0, F_NULLABLE, NULL},
	{"console_scopes", "CAVRA_CONSOLE_SCOPES", "console-scopes", CFG_STR, OFF(console_scopes),
	 "openid email profile groups", 0, 0, 0, NULL},
	{"console_session_seconds", "CAVRA_CONSOLE_SESSION_SECONDS", "console-session-seconds",
	 CFG_INT, OFF(console_session_seconds), "28800", 60, 604800, 0, NULL},
	{"console_purge_seconds", "CAVRA_CONSOLE_PURGE_SECONDS", "console-purge-seconds", CFG_INT,
	 OFF(console_purge_seconds), "60", 1, 3600, 0, NULL},
	{"console_max_pending_logins", "CAVRA_CONSOLE_MAX_PENDING_LOGINS",
	 "console-max-pending-logins", CFG_INT, OFF(console_max_pending_logins), "1000", 1, 1000000,
	 0, NULL},
	{"trust_forwarded_proto", "CAVRA_TRUST_FORWARDED_PROTO", "trust-forwarded-proto",
	 CFG_BOOLISH, OFF(trust_forwarded_proto), "false", 0, 0, 0, check_boolish},
	{"rbac_file", "CAVRA_RBAC_FILE", "rbac-file", CFG_STR, OFF(rbac_file), NULL, 0, 0,
	 F_NULLABLE, NULL},
	{"max_body_bytes", "CAVRA_MAX_BODY_BYTES", "max-body-bytes", CFG_INT, OFF(max_body_bytes),
	 "1048576", 1024, 64 << 20, 0, NULL},
	{"max_connections", "CAVRA_MAX_CONNECTIONS", "max-connections", CFG_INT,
	 OFF(max_connections), "1024", 16, 16384, 0, NULL},
	{"max_connections_per_ip", "CAVRA_MAX_CONNECTIONS_PER_IP", "max-connections-per-ip",
	 CFG_INT, OFF(max_connections_per_ip), "256", 0, 16384, 0, NULL},
	{"header_timeout_seconds", "CAVRA_HEADER_TIMEOUT_SECONDS", "header-timeout-seconds",
	 CFG_INT, OFF(header_timeout_seconds), "10", 1, 300, 0, NULL},
	{"body_timeout_seconds", "CAVRA_BODY_TIMEOUT_SECONDS", "body-timeout-seconds", CFG_INT,
	 OFF(body_timeout_seconds), "30", 1, 3600, 0, NULL},
	{"shutdown_grace_seconds", "CAVRA_SHUTDOWN_GRACE_SECONDS", "shutdown-grace-seconds",
	 CFG_INT, OFF(shutdown_grace_seconds), "25", 0, 3600, 0, NULL},
	{"backup_signing_key_file", "CAVRA_BACKUP_SIGNING_KEY_FILE", "backup-signing-key-file",
	 CFG_STR, OFF(backup_signing_key_file), NULL, 0, 0, F_NULLABLE, NULL},
	{"backup_public_key_file", "CAVRA_BACKUP_PUBLIC_KEY_FILE", "backup-public-key-file",
	 CFG_STR, OFF(backup_public_key_file), NULL, 0, 0, F_NULLABLE, NULL},
	{"backup_compression", "CAVRA_BACKUP_COMPRESSION", "backup-compression", CFG_STR,
	 OFF(backup_compression), "zstd", 0, 0, 0, NULL},
	{"restore_maintenance_work_mem_mb", "CAVRA_RESTORE_MAINTENANCE_WORK_MEM_MB",
	 "restore-maintenance-work-mem-mb", CFG_INT, OFF(restore_maintenance_work_mem_mb), "0", 0,
	 65536, 0, NULL},
	{"audit_checkpoint_dir", "CAVRA_AUDIT_CHECKPOINT_DIR", "audit-checkpoint-dir", CFG_STR,
	 OFF(audit_checkpoint_dir), NULL, 0, 0, F_NULLABLE, NULL},
	{"audit_checkpoint_seconds", "CAVRA_AUDIT_CHECKPOINT_SECONDS", "audit-checkpoint-seconds",
	 CFG_INT, OFF(audit_checkpoint_seconds), "3600", 1, 86400, 0, NULL},
	{"audit_signing_key_file", "CAVRA_AUDIT_SIGNING_KEY_FILE", "audit-signing-key-file",
	 CFG_STR, OFF(audit_signing_key_file), NULL, 0, 0, F_NULLABLE, NULL},
};

_Static_assert(ARRAY_SIZE(table) <= ARRAY_SIZE(((struct config *)0)->source), "grow config.source");

/*
 * Where each effective value came from, for --print-config: "why is it using that database?"
 * is the first question of every misconfigured deployment.
 */
static const char *const source_names[] = {"default", "file", "env", "flag", "original"};

bool config_entry_at(size_t i, const char **name, const char **env, const char **flag)
{
	if (i >= ARRAY_SIZE(table))
		return false;
	*name = table[i].name;
	*env = table[i].env;
	*flag = table[i].flag;
	return true;
}

/*
 * The table addresses struct config fields by offset, so that adding a setting is one row
 * rather than a row plus a case in every function below.
 */
static char **str_slot(struct config *c, const struct cfg_entry *t)
{
	return (char **)((char *)c + t->offset);
}

static int64_t *int_slot(struct config *c, const struct cfg_entry *t)
{
	return (int64_t *)((char *)c + t->offset);
}

/* The same slots read through a const config (config_print). */
static const char *str_val(const struct config *c, const struct cfg_entry *t)
{
	return *(char *const *)((const char *)c + t->offset);
}

static int64_t int_val(const struct config *c, const struct cfg_entry *t)
{
	return *(const int64_t *)((const char *)c + t->offset);
}

/* Only the form is checked: resolving the host is serve's business, and no other command listens.
 */
static enum status check_listen(const char *v, struct err *e)
{
	const char *colon = strrchr(v, ':');
	int64_t port;

	if (!colon || colon == v || !str_to_i64(colon + 1, 1, 65535, &port))
		return err_set(e, ST_INVALID, "must be HOST:PORT with a port from 1 to 65535");
	return ST_OK;
}

static enum status check_level(const char *v, struct err *e)
{
	static const char *const ok[] = {"debug", "info", "warn", "error"};

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		if (strcmp(v, ok[i]) == 0)
			return ST_OK;
	return err_set(e, ST_INVALID, "must be one of debug, info, warn, error");
}

static enum status check_format(const char *v, struct err *e)
{
	if (strcmp(v, "logfmt") == 0 || strcmp(v, "json") == 0)
		return ST_OK;
	return err_set(e, ST_INVALID, "must be one of logfmt, json");
}

/*
 * Three values, not a boolean: "auto" lets the default depend on the situation
 * (each such setting says how, below: config_db_prepare, the auto_migrate check),
 * and only these exact spellings are taken, so that "yes" or "1" in a chart fails
 * at start instead of meaning something unintended.
 */
static enum status check_boolish(const char *v, struct err *e)
{
	if (strcmp(v, "auto") == 0 || strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
		return ST_OK;
	return err_set(e, ST_INVALID, "must be one of true, false, auto");
}

/*
 * A string without "://" is a SQLite path (the default .cavra/cavra.db is one), so only an
 * unknown scheme, or what looks like a libpq connection string, is refused.  Only the part before
 * "://" is echoed, at most 32 bytes of it: a password always comes after.
 */
enum status config_check_database_url(const char *url, struct err *e)
{
	const char *sep = strstr(url, "://");
	size_t key_len = 0;

	if (!*url)
		return err_set(e, ST_INVALID, "must not be empty");
	if (dburl_is_postgres(url))
		return ST_OK;
	if (str_starts_with(url, "sqlite:")) {
		if (!url[strlen("sqlite:")] || strcmp(url, "sqlite://") == 0)
			return err_set(e, ST_INVALID, "sqlite URL has no path");
		return ST_OK;
	}
	if (sep) {
		return err_set(e, ST_INVALID,
			       "unsupported scheme '%.*s' (use a SQLite path, sqlite:PATH, "
			       "postgres:// or postgresql://)",
			       (int)(sep - url > 32 ? 32 : sep - url), url);
	}
	if (dburl_looks_like_conninfo(url, &key_len))
		return err_set(
			e, ST_INVALID,
			"looks like a libpq connection string ('%.*s=...'), which cavra does "
			"not take: give a postgresql://USER@HOST:PORT/DB URL, or a SQLite path",
			(int)key_len, url);
	return ST_OK;
}

/* Applies one value to one entry, validating it; names the setting on error. */
/* A later source overwrites an earlier one here, which is what makes the precedence hold. */
static enum status apply(struct config *c, const struct cfg_entry *t, const char *value,
			 enum config_source src, struct err *e)
{
	enum status st = ST_OK;

	if (t->type == CFG_INT) {
		int64_t v;

		if (!str_to_i64(value, t->min, t->max, &v))
			return err_set(
				e, ST_INVALID,
				"setting %s: '%.40s' is not a whole number from %lld to %lld",
				t->name, value, (long long)t->min, (long long)t->max);
		*int_slot(c, t) = v;
	} else {
		/* the environment's empty variables never get here (load_env: unset) */
		if (!*value)
			return err_set(
				e, ST_INVALID,
				"setting %s: the value is empty (leave the setting out instead)",
				t->name);
		if (t->check)
			st = t->check(value, e);
		if (st != ST_OK)
			return err_ctx(st, e, "setting %s", t->name);
		free(*str_slot(c, t));
		*str_slot(c, t) = xstrdup(value);
	}
	c->source[t - table] = src;
	return ST_OK;
}

/* Defaults are text like every other source and go through the same converter and bounds. */
void config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		const struct cfg_entry *t = &table[i];

		if (t->type == CFG_INT)
			str_to_i64(t->def, t->min, t->max, int_slot(c, t));
		else if (t->def)
			*str_slot(c, t) = xstrdup(t->def);
	}
}

/*
 * Every string slot is owned (apply() copies each value), so release walks the
 * same table; a new setting needs no line here.
 */
void config_release(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(table); i++)
		if (table[i].type != CFG_INT)
			free(*str_slot(c, &table[i]));
	free(c->original_source);
	memset(c, 0, sizeof(*c));
}

/*
 * Linear over a few dozen rows, once per setting at start-up: a hash would cost more
 * code than it saves.
 */
static const struct cfg_entry *by_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(table); i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

static const struct cfg_entry *by_flag(const char *flag, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(table); i++)
		if (strlen(table[i].flag) == len && strncmp(table[i].flag, flag, len) == 0)
			return &table[i];
	return NULL;
}

/*
 * One "key: value" of the file: the value must be a scalar, the key a setting.
 *
 * An unknown key is an error, not a warning: a misspelt setting in a file would
 * otherwise leave the default in force, unnoticed.  config_file itself cannot be
 * set from inside a file (table[0]).
 */
static enum status load_pair(struct config *c, const char *label, const char *key, json_object *val,
			     struct err *e)
{
	const struct cfg_entry *t = by_name(key);
	struct jx_yaml_pos pos;

	jx_yaml_pos(val, &pos);
	if (json_object_get_type(val) != json_type_string)
		return err_set(e, ST_INVALID, "%s:%zu: expected 'key: value'", label, pos.line);
	if (!t || t == &table[0])
		return err_set(e, ST_INVALID, "%s:%zu: unknown setting '%s'", label, pos.key_line,
			       key);
	return apply(c, t, json_object_get_string(val), CFG_SRC_FILE, e);
}

/*
 * The document: a mapping of settings.  An empty file, one of comments only
 * or a bare "---" holds no settings, which is not an error.
 */
static enum status load_document(struct config *c, const char *label, json_object *doc,
				 struct err *e)
{
	struct jx_yaml_pos pos;

	jx_yaml_pos(doc, &pos);
	if (!doc || (json_object_get_type(doc) == json_type_string && pos.plain &&
		     json_object_get_string_len(doc) == 0))
		return ST_OK;
	if (json_object_get_type(doc) != json_type_object)
		return err_set(e, ST_INVALID, "%s:%zu: expected a mapping of settings", label,
			       pos.line);
	json_object_object_foreach(doc, key, val)
	{
		enum status st = load_pair(c, label, key, val, e);

		if (st != ST_OK)
			return st;
	}
	return ST_OK;
}

/* The file through jx_yaml, every value as written; messages start "config file 'PATH'". */
static enum status load_file(struct config *c, const char *path, struct err *e)
{
	char *label = xasprintf("config file '%s'", path);
	json_object *doc = NULL;
	struct buf b = BUF_INIT;
	enum status st = file_read(path, CONFIG_FILE_MAX, &b, e);

	if (st == ST_IO) /* the file is missing or unreadable */
		st = err_set(e, ST_INVALID, "%s: cannot open", label);
	else if (st != ST_OK)
		st = err_ctx(ST_INVALID, e, "%s", label);
	else
		st = jx_yaml_parse_ex(b.data ? b.data : "", b.len, label, JX_YAML_TEXT, &doc, e);
	if (st == ST_OK)
		st = load_document(c, label, doc, e);
	json_object_put(doc);
	buf_release(&b);
	free(label);
	return st;
}

/*
 * Starts at 1: entry 0 is config_file itself, which config_load has already resolved from the
 * environment or a flag before reading the file.  An empty variable counts as unset, so that
 * "CAVRA_X=" in a compose file or chart falls back to the file or default instead of failing.
 */
static enum status load_env(struct config *c, config_getenv_fn getenv_fn, struct err *e)
{
	for (size_t i = 1; i < ARRAY_SIZE(table); i++) {
		const char *v = getenv_fn(table[i].env);
		enum status st;

		if (!v || !*v)
			continue;
		st = apply(c, &table[i], v, CFG_SRC_ENV, e);
		if (st != ST_OK)
			return st;
	}
	return ST_OK;
}

/*
 * Splits "--name[=value]".  Boolean-ish flags take no separate value:
 * --auto-migrate means true and --no-auto-migrate false.
 */
static enum status take_flag(const char *arg, const char *next, const struct cfg_entry **t,
			     const char **value, bool *used_next, struct err *e)
{
	const char *name = arg + 2;
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);

	*used_next = false;
	*t = by_flag(name, len);
	if (!*t && str_starts_with(name, "no-")) {
		*t = by_flag(name + 3, len - 3);
		if (*t && (*t)->type == CFG_BOOLISH && eq)
			return err_set(e, ST_INVALID, "option --no-%s takes no value", (*t)->flag);
		if (*t && (*t)->type == CFG_BOOLISH) {
			*value = "false";
			return ST_OK;
		}
		*t = NULL;
	}
	if (!*t)
		return ST_OK;
	if (eq) {
		*value = eq + 1;
	} else if ((*t)->type == CFG_BOOLISH) {
		*value = "true";
	} else if (next) {
		*value = next;
		*used_next = true;
	} else {
		return err_set(e, ST_INVALID, "option --%s needs a value", (*t)->flag);
	}
	return ST_OK;
}

struct pending_flag {
	const struct cfg_entry *t;
	const char *value;
};

/*
 * Settings flags may appear anywhere on the line, before or after the command;
 * words that are not settings flags go to rest, in order, for the command's own
 * parser (cmd_opts.c).  Everything after "--" is left to the command untouched.
 */
static enum status split_args(int argc, char **argv, struct pending_flag *flags, int *nflags,
			      char **rest, int *nrest, struct err *e)
{
	*nflags = 0;
	*nrest = 0;
	for (int i = 0; i < argc; i++) {
		const struct cfg_entry *t = NULL;
		const char *value = NULL;
		bool used_next = false;

		if (strcmp(argv[i], "--") == 0) {
			while (i < argc)
				rest[(*nrest)++] = argv[i++];
			break;
		}
		if (str_starts_with(argv[i], "--")) {
			enum status st = take_flag(argv[i], i + 1 < argc ? argv[i + 1] : NULL, &t,
						   &value, &used_next, e);
			if (st != ST_OK)
				return st;
		}
		if (!t) {
			rest[(*nrest)++] = argv[i];
			continue;
		}
		flags[(*nflags)++] = (struct pending_flag){t, value};
		if (used_next)
			i++;
	}
	return ST_OK;
}

/*
 * The flags are split out first but applied last: --config must be known before the file is
 * read, yet every other flag must win over the file and the environment.  The original
 * CAVRA's store variables are consulted only at the end, and only replace a database_url that
 * is still the default.
 */
enum status config_load(struct config *c, int argc, char **argv, config_getenv_fn getenv_fn,
			char **rest, int *nrest, struct err *e)
{
	struct pending_flag *flags = xcalloc((size_t)argc + 1, sizeof(*flags));
	const char *file = getenv_fn(table[0].env);
	enum config_source file_src = CFG_SRC_ENV;
	enum status st;
	int nflags;

	st = split_args(argc, argv, flags, &nflags, rest, nrest, e);
	for (int i = 0; st == ST_OK && i < nflags; i++)
		if (flags[i].t == &table[0]) {
			file = flags[i].value;
			file_src = CFG_SRC_FLAG;
		}
	if (st == ST_OK && file && *file) {
		st = apply(c, &table[0], file, file_src, e);
		if (st == ST_OK)
			st = load_file(c, file, e);
	}
	if (st == ST_OK)
		st = load_env(c, getenv_fn, e);
	for (int i = 0; st == ST_OK && i < nflags; i++)
		st = apply(c, flags[i].t, flags[i].value, CFG_SRC_FLAG, e);
	if (st == ST_OK)
		config_original_apply(c, &c->source[by_name("database_url") - table], getenv_fn);
	free(flags);
	return st;
}

/*
 * However it is written: "sqlite:.cavra/cavra.db", "./.cavra/cavra.db" or its absolute path
 * are the same file, and the pilot that names it so must migrate as the one that does not.
 */
bool config_is_default_database(const struct config *c)
{
	const char *path = dburl_sqlite_path(c->database_url);

	return path && path_same_file(path, CONFIG_DEFAULT_SQLITE);
}

/*
 * "auto" migrates only the default embedded database, the pilot's zero-setup case.  A
 * database named explicitly (a shared PostgreSQL above all) is migrated on purpose with
 * `cavra migrate up` (docs/migrations.md), never as a side effect of starting a replica.
 */
bool config_auto_migrate(const struct config *c)
{
	if (strcmp(c->auto_migrate, "auto") == 0)
		return config_is_default_database(c);
	return strcmp(c->auto_migrate, "true") == 0;
}

static enum status check_auth_mode(const char *v, struct err *e)
{
	if (strcmp(v, "none") == 0 || strcmp(v, "oidc") == 0)
		return ST_OK;
	return err_set(e, ST_INVALID, "'%s' is not one of none, oidc", v);
}

bool config_flag(const char *boolish)
{
	return boolish && strcmp(boolish, "true") == 0;
}

bool config_db_prepare(const struct config *c)
{
	return strcmp(c->db_prepared_statements, "false") != 0;
}

const char *config_migration_url(const struct config *c)
{
	return c->migration_database_url ? c->migration_database_url : c->database_url;
}

/* Secrets are redacted here, the only place that prints settings. */
enum status config_print(const struct config *c, struct buf *out, struct err *e)
{
	enum status st = ST_OK;

	for (size_t i = 0; st == ST_OK && i < ARRAY_SIZE(table); i++) {
		const struct cfg_entry *t = &table[i];
		const char *src = c->source[i] == CFG_SRC_ORIGINAL ? c->original_source
								   : source_names[c->source[i]];

		if (t->type == CFG_INT) {
			st = buf_addf(out, e, "%-24s = %lld  (%s)\n", t->name,
				      (long long)int_val(c, t), src);
		} else if (!str_val(c, t)) {
			st = buf_addf(out, e, "%-24s = (unset)  (%s)\n", t->name, src);
		} else {
			char *v = t->flags & F_SECRET	    ? xstrdup("*****")
				  : t->flags & F_SECRET_URL ? redact_url(str_val(c, t))
							    : xstrdup(str_val(c, t));

			st = buf_addf(out, e, "%-24s = %s  (%s)\n", t->name, v, src);
			free(v);
		}
	}
	return st;
}
