/*
 * cmd_db.c - opening the configured database for a command that needs the
 * current schema: drift is refused, pending migrations too unless
 * auto-migrate is on (the default only for the embedded SQLite pilot).
 */
#include "base/base.h"
#include "cmd.h"
#include "base/log.h"
#include "migrate/migrate.h"
#include "store/store.h"
#include "store/store_chain.h"
#include "base/dburl.h"
#include "base/progress.h"

#include <unistd.h>

static void on_applied(void *ctx, const char *what, const struct migration *m, int64_t ms)
{
	UNUSED(ctx);
	if (m)
		log_info("auto-migrate: %s %s (%lld ms)", what, m->file, (long long)ms);
	else
		log_info("auto-migrate: %s the legacy migration ledger", what);
}

/*
 * Applies pending migrations through the migration URL (its own pool of one), unless the
 * database is someone else's (ledger: the status's), which only an explicit migrate up fills.
 */
static enum status auto_migrate(const struct config *cfg, const struct migration_set *set,
				enum ledger_kind ledger, struct err *e)
{
	struct store *mst = NULL;
	const struct store_options opt = {.pool_size = 1, .prepare = false};
	enum status st = store_open(config_migration_url(cfg), &opt, &mst, e);

	if (st == ST_OK)
		st = migrate_refuse_foreign(mst, ledger, "migrate it automatically", e);
	if (st == ST_OK)
		st = migrate_up(mst, set, 0, on_applied, NULL, e);
	store_close(mst);
	return st;
}

/*
 * A database without cavra's current schema and no auto-migrate: another application's (or the
 * original CAVRA's file) is named as such, bad input, exit 2; telling its owner to run
 * migrations, or to pass --auto-migrate, which would refuse it too, sent them the wrong way.
 * Cavra's own database, or an empty one, is behind: exit 1.
 */
static enum status refuse_behind(struct store *st, const char *verb, const struct migrate_report *r,
				 struct err *e)
{
	enum status rc = migrate_refuse_foreign(st, r->ledger, verb, e);

	if (rc != ST_OK)
		return rc;
	return err_set(e, ST_CONFLICT,
		       "refusing to %s: %zu pending migrations; run 'cavra migrate up' (or use "
		       "--auto-migrate)",
		       verb, r->pending);
}

/* Refuses drift and, unless auto-migrate is on, pending migrations. */
static enum status check_schema(const struct config *cfg, const char *verb, struct store *st,
				const struct migration_set *set, struct err *e)
{
	struct ledger l = {0};
	struct migrate_report r = {0};
	enum status rc = migrate_status(st, set, &l, &r, e);
	bool behind = r.pending > 0 || r.ledger == LEDGER_LEGACY;

	if (rc == ST_OK && r.nproblems)
		rc = err_set(e, ST_CONFLICT,
			     "refusing to %s: %s; run 'cavra migrate verify' to see every "
			     "problem",
			     verb, r.problems[0].msg);
	else if (rc == ST_OK && behind && !config_auto_migrate(cfg))
		rc = refuse_behind(st, verb, &r, e);
	else if (rc == ST_OK && behind)
		rc = auto_migrate(cfg, set, r.ledger, e);
	migrate_report_release(&r);
	migrate_ledger_release(&l);
	return rc;
}

enum status cmd_chain_adopt(struct store *st, struct progress *progress, struct err *e)
{
	struct store_conn *c = NULL;
	bool has = false;
	int64_t n = 0;
	enum status rc = store_conn_get(st, &c, e);

	if (rc == ST_OK)
		rc = store_table_exists(c, "audit_chain_head", &has, e);
	if (c)
		store_conn_put(st, c);
	if (rc == ST_OK && has)
		rc = store_chain_adopt(st, progress, &n, e);
	progress_clear(progress);
	if (rc == ST_CONFLICT) {
		/* a flag set by hand: logged, left for verify to report; the service runs on */
		log_error("%s", e->msg);
		rc = ST_OK;
	}
	if (rc == ST_OK && n > 0)
		log_info("audit chain: chained %lld records (decisions, approvals, evidence, "
			 "registry, inventory, integrations, sessions) written before their "
			 "entries existed",
			 (long long)n);
	return rc;
}

/*
 * Opening a SQLite file creates it, which is right only when it is then migrated: a mistyped
 * path without auto-migrate would leave an empty database behind and report it as pending
 * migrations instead of naming the path.
 */
static enum status check_exists(const struct config *cfg, const char *verb, struct err *e)
{
	const char *path = dburl_sqlite_path(cfg->database_url);

	if (!path || config_auto_migrate(cfg) || access(path, F_OK) == 0)
		return ST_OK;
	return err_set(e, ST_NOT_FOUND,
		       "refusing to %s: database '%s' does not exist (create it with 'cavra "
		       "migrate up', or check database_url)",
		       verb, path);
}

enum status cmd_open_database(const struct config *cfg, const char *verb,
			      const struct store_options *opt, struct store **st,
			      struct migration_set *set, struct err *e)
{
	enum status rc = check_exists(cfg, verb, e);

	*st = NULL;
	if (rc == ST_OK)
		rc = store_open(cfg->database_url, opt, st, e);

	if (rc == ST_OK)
		rc = migrate_set_load(cfg->migrations_dir, store_backend_name(*st), set, e);
	if (rc == ST_OK)
		rc = check_schema(cfg, verb, *st, set, e);
	if (rc == ST_OK)
		rc = cmd_chain_adopt(*st, NULL, e);
	return rc;
}

/*
 * Someone else's database would otherwise read as an empty cavra one ("none recorded"), or
 * fail on a missing column, naming no cause.
 */
static enum status require_cavra(struct store *st, struct err *e)
{
	struct store_conn *c = NULL;
	enum status rc = store_conn_get(st, &c, e);

	if (rc == ST_OK)
		rc = migrate_require_cavra(c, e);
	store_conn_put(st, c);
	return rc;
}

enum status cmd_open_existing(const struct config *cfg, struct store **st,
			      struct migration_set *set, struct err *e)
{
	const struct store_options opt = {
		.pool_size = 2, .prepare = config_db_prepare(cfg), .existing = true};
	const char *path = dburl_sqlite_path(cfg->database_url);
	enum status rc;

	*st = NULL;
	/* an operation on a mistyped path must not leave a new, empty database behind */
	if (path && access(path, F_OK) != 0)
		return err_set(e, ST_NOT_FOUND, "database '%s' does not exist", path);
	rc = store_open(cfg->database_url, &opt, st, e);
	if (rc == ST_OK)
		rc = require_cavra(*st, e);
	if (rc == ST_OK)
		rc = migrate_set_load(cfg->migrations_dir, store_backend_name(*st), set, e);
	return rc;
}
