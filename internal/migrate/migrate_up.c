/*
 * migrate_up.c - applying migrations: one transaction per migration, the
 * schema lock taken inside it and the ledger re-read under the lock.
 */
#include "base/base.h"
#include "base/interrupt.h"
#include "migrate/migrate.h"
#include "migrate/migrate_int.h"
#include "base/timeutil.h"
#include "base/xalloc.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Room for the CREATE TABLEs of one migration file; migrate_tables stops at this many. */
#define MAX_TABLES 32

/*
 * The ledger is created by the runner, not by migration 001: it must exist before the first
 * migration is recorded, and its shape must not depend on the migration files it checks.
 */
static const char ledger_sqlite[] = "CREATE TABLE IF NOT EXISTS schema_migrations (\n"
				    "    id TEXT PRIMARY KEY,\n"
				    "    applied_at TEXT NOT NULL,\n"
				    "    version INTEGER,\n"
				    "    name TEXT,\n"
				    "    checksum TEXT,\n"
				    "    applied_by TEXT,\n"
				    "    duration_ms INTEGER,\n"
				    "    compatibility TEXT\n"
				    ")";

static const char ledger_pg[] = "CREATE TABLE IF NOT EXISTS schema_migrations (\n"
				"    id TEXT PRIMARY KEY,\n"
				"    applied_at TIMESTAMPTZ NOT NULL,\n"
				"    version INTEGER,\n"
				"    name TEXT,\n"
				"    checksum TEXT,\n"
				"    applied_by TEXT,\n"
				"    duration_ms BIGINT,\n"
				"    compatibility TEXT\n"
				")";

static const char ledger_index[] = "CREATE UNIQUE INDEX IF NOT EXISTS "
				   "ux_schema_migrations_version ON schema_migrations (version)";

/*
 * Added in place, like adoption's columns, by the first migration a cavra with expand/contract
 * applies: a ledger written before it keeps its rows, whose compatibility stays NULL ("not
 * recorded").  Older binaries name their columns, so the extra one changes nothing for them.
 */
static const char ledger_compat_column[] =
	"ALTER TABLE schema_migrations ADD COLUMN compatibility TEXT";

const char *migrate_ledger_sql(enum store_kind kind, enum migrate_ledger_part part)
{
	switch (part) {
	case MIGRATE_LEDGER_TABLE:
		return kind == STORE_POSTGRES ? ledger_pg : ledger_sqlite;
	case MIGRATE_LEDGER_INDEX:
		return ledger_index;
	case MIGRATE_LEDGER_COMPAT:
	default:
		return ledger_compat_column;
	}
}

/* Columns that adoption adds to a legacy ledger, in the order of a new one. */
/*
 * The original's ledger is extended in place rather than rebuilt: its rows (id, applied_at)
 * are the history of that database and are kept as they are.
 */
static const char *const adopt_columns[] = {
	"ALTER TABLE schema_migrations ADD COLUMN version INTEGER",
	"ALTER TABLE schema_migrations ADD COLUMN name TEXT",
	"ALTER TABLE schema_migrations ADD COLUMN checksum TEXT",
	"ALTER TABLE schema_migrations ADD COLUMN applied_by TEXT",
	"ALTER TABLE schema_migrations ADD COLUMN duration_ms BIGINT",
	ledger_compat_column,
};

/* Who applies: the database role on PostgreSQL, the OS user on SQLite. */
/*
 * For the audit trail of schema changes.  A failure to find out is never a reason to fail a
 * migration, hence "unknown" rather than an error.
 */
static char *applied_by(struct store_conn *c, enum store_kind kind)
{
	struct store_rows *r = NULL;
	struct passwd pwd, *pw = NULL;
	char pwbuf[4096];
	char *who = NULL;

	if (kind == STORE_POSTGRES &&
	    store_query(c, "SELECT current_user", 0, NULL, &r, NULL) == ST_OK)
		who = xstrdup(store_rows_get(r, 0, 0) ? store_rows_get(r, 0, 0) : "unknown");
	store_rows_free(r);
	if (who)
		return who;
	/* getpwuid_r: getpwuid's result is shared by every thread */
	if (getpwuid_r(geteuid(), &pwd, pwbuf, sizeof(pwbuf), &pw) != 0)
		pw = NULL;
	return xstrdup(pw && pw->pw_name ? pw->pw_name : "unknown");
}

static enum status create_ledger(struct store_conn *c, enum store_kind kind, struct err *e)
{
	enum status st =
		store_exec_script(c, kind == STORE_POSTGRES ? ledger_pg : ledger_sqlite, e);

	if (st == ST_OK)
		st = store_exec_script(c, ledger_index, e);
	return err_ctx(st, e, "create the migration ledger");
}

/* Written in the same transaction as the migration, so a migration is applied and recorded or
 * neither. */
static enum status record(struct store_conn *c, enum store_kind kind, const struct migration *m,
			  int64_t ms, struct err *e)
{
	static const char sql[] = "INSERT INTO schema_migrations (id, applied_at, version, name, "
				  "checksum, applied_by, duration_ms, compatibility) "
				  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
	char now[TIME_FMT_LEN], version[16], dur[24];
	char *who = applied_by(c, kind);
	const char *p[] = {m->file,	now, version, m->name,
			   m->checksum, who, dur,     migrate_compat_name(m->compat)};
	enum status st;

	time_format_utc(time_now_us(), now, sizeof(now));
	snprintf(version, sizeof(version), "%d", m->version);
	snprintf(dur, sizeof(dur), "%lld", (long long)ms);
	st = store_exec(c, sql, 8, p, NULL, e);
	free(who);
	return err_ctx(st, e, "record '%s' in the ledger", m->file);
}

/*
 * A legacy row carries no checksum, so trust is earned another way: its version and name must
 * be a migration this binary knows, and every table that migration creates must exist.  That
 * catches a ledger copied from another database and a table dropped by hand.
 */
enum status migrate_check_legacy_row(struct store_conn *c, const struct migration_set *set,
				     const struct ledger_row *row, struct err *e)
{
	char tables[MAX_TABLES][64];
	const struct migration *m;
	size_t n;

	if (row->version < 1 || (size_t)row->version > set->n)
		return err_set(e, ST_CONFLICT,
			       "legacy ledger entry '%s' is not a migration this binary knows",
			       row->id);
	m = &set->items[row->version - 1];
	if (!row->name || strcmp(row->name, m->name) != 0)
		return err_set(e, ST_CONFLICT, "legacy ledger entry '%s' does not match '%s'",
			       row->id, m->file);
	n = migrate_tables(m, tables, MAX_TABLES);
	for (size_t i = 0; i < n; i++) {
		bool exists = false;
		enum status st = store_table_exists(c, tables[i], &exists, e);

		if (st != ST_OK)
			return st;
		if (!exists)
			return err_set(
				e, ST_CONFLICT,
				"legacy ledger records '%s' but its table '%s' does not exist",
				row->id, tables[i]);
	}
	return ST_OK;
}

/*
 * Every row is checked before anything is altered, so a ledger that fails one check is left
 * exactly as it was.  Adopted rows get today's checksums and say so in applied_by.
 */
static enum status adopt_legacy(struct store_conn *c, const struct migration_set *set,
				const struct ledger *l, struct err *e)
{
	static const char upd[] = "UPDATE schema_migrations SET version = $1, name = $2, "
				  "checksum = $3, applied_by = $4 WHERE id = $5";
	enum status st = ST_OK;

	for (size_t i = 0; st == ST_OK && i < l->n; i++)
		st = migrate_check_legacy_row(c, set, &l->rows[i], e);
	for (size_t i = 0; st == ST_OK && i < ARRAY_SIZE(adopt_columns); i++)
		st = store_exec_script(c, adopt_columns[i], e);
	if (st == ST_OK)
		st = store_exec_script(c, ledger_index, e);
	for (size_t i = 0; st == ST_OK && i < l->n; i++) {
		const struct migration *m = &set->items[l->rows[i].version - 1];
		char version[16];
		const char *by = "adopted by cavra " CAVRA_VERSION;
		const char *p[] = {version, m->name, m->checksum, by, l->rows[i].id};

		snprintf(version, sizeof(version), "%d", m->version);
		st = store_exec(c, upd, 5, p, NULL, e);
	}
	return st;
}

static const struct migration *next_pending(const struct migration_set *set,
					    const struct migrate_report *r, int to)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct mig_entry *en = &r->entries[i];

		if (en->state == MIG_PENDING && (to == 0 || en->version <= to))
			return &set->items[en->version - 1];
	}
	return NULL;
}

static enum status refuse(const struct migrate_report *r, struct err *e)
{
	if (r->nproblems == 1)
		return err_set(e, ST_CONFLICT, "%s", r->problems[0].msg);
	return err_set(e, ST_CONFLICT, "%s (and %zu more problems: run 'cavra migrate verify')",
		       r->problems[0].msg, r->nproblems - 1);
}

/*
 * The duration is recorded because a migration that took minutes on staging will lock a
 * production table as long; the ledger is where a DBA looks first.
 */
static enum status apply_one(struct store_conn *c, enum store_kind kind, const struct ledger *l,
			     const struct migration *m, int64_t *ms, struct err *e)
{
	int64_t t0 = time_mono_us();
	enum status st = ST_OK;

	if (l->kind == LEDGER_NONE)
		st = create_ledger(c, kind, e);
	else if (!l->has_compat)
		st = err_ctx(store_exec_script(c, ledger_compat_column, e), e,
			     "add the compatibility column to the migration ledger");
	if (st == ST_OK && (st = store_exec_script(c, m->sql, e)) != ST_OK)
		err_wrap(e, "migration '%s' failed", m->file);
	*ms = (time_mono_us() - t0) / 1000;
	if (st == ST_OK)
		st = record(c, kind, m, *ms, e);
	return st;
}

/*
 * One step under the lock: adopt a legacy ledger, or apply the next pending
 * migration.  *done is set when nothing is left to do.
 */
static enum status step(struct store_conn *c, enum store_kind kind, const struct migration_set *set,
			int to, const struct migration **applied, bool *adopted, int64_t *ms,
			struct err *e)
{
	struct ledger l = {0};
	struct migrate_report r = {0};
	enum status st = migrate_ledger_read(c, &l, e);

	*applied = NULL;
	*adopted = false;
	/* the original's SQLite tables need their records moved: migrate_adopt_sqlite */
	if (st == ST_OK && kind == STORE_SQLITE && l.kind != LEDGER_CURRENT)
		st = migrate_refuse_original(c, e);
	if (st == ST_OK && l.kind == LEDGER_LEGACY) {
		st = adopt_legacy(c, set, &l, e);
		*adopted = st == ST_OK;
		goto out;
	}
	if (st != ST_OK)
		goto out;
	migrate_compare(set, &l, &r);
	if (r.nproblems) {
		st = refuse(&r, e);
		goto out;
	}
	*applied = next_pending(set, &r, to);
	if (*applied)
		st = apply_one(c, kind, &l, *applied, ms, e);
out:
	migrate_report_release(&r);
	migrate_ledger_release(&l);
	return st;
}

/*
 * For callers that already hold a write transaction (a restore builds the target's schema
 * inside its load transaction; adopting an original SQLite database migrates the copy inside
 * its own), so that the schema and what follows commit or roll back together.
 */
enum status migrate_up_in_tx(struct store_conn *c, enum store_kind kind,
			     const struct migration_set *set, int to, struct err *e)
{
	enum status rc = store_lock_schema(c, e);
	bool more = true;

	while (rc == ST_OK && more) {
		const struct migration *m = NULL;
		bool adopted = false;
		int64_t ms = 0;

		rc = step(c, kind, set, to, &m, &adopted, &ms, e);
		more = m || adopted;
	}
	return rc;
}

/*
 * One transaction per migration, each taking the schema lock and re-reading the ledger under
 * it: two replicas started together with auto-migrate, or a DBA and a replica, can never apply
 * the same file twice, and a failure leaves every earlier migration committed (the next run
 * resumes there).  Progress is reported only after a commit, so what it says is durable.
 */
enum status migrate_up(struct store *st, const struct migration_set *set, int to,
		       migrate_progress_fn progress, void *ctx, struct err *e)
{
	enum store_kind kind = store_kind(st);
	struct store_conn *c;
	enum status rc = store_conn_get(st, &c, e);

	while (rc == ST_OK) {
		const struct migration *m = NULL;
		bool adopted = false;
		int64_t ms = 0;

		/* a signal stops between migrations, and rolls back the one it came during */
		rc = interrupt_check(e);
		if (rc == ST_OK)
			rc = store_tx_begin(c, STORE_TX_WRITE, e);
		if (rc == ST_OK)
			rc = store_lock_schema(c, e);
		if (rc == ST_OK)
			rc = step(c, kind, set, to, &m, &adopted, &ms, e);
		if (rc == ST_OK && (m || adopted))
			rc = interrupt_check(e);
		if (rc != ST_OK || (!m && !adopted)) {
			store_tx_rollback(c);
			break;
		}
		rc = store_tx_commit(c, e);
		if (rc == ST_OK && progress)
			progress(ctx, adopted ? "adopted" : "applied", m, ms);
	}
	if (c)
		store_conn_put(st, c);
	return rc;
}
