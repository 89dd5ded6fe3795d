/*
 * migrate_run.c - the ledger and the runner: status, up and the adoption of
 * a ledger written by the original CAVRA (id, applied_at; no checksums).
 */
#include "base/base.h"
#include "migrate/migrate.h"
#include "migrate/migrate_int.h"
#include "base/xalloc.h"
#include "base/str.h"
#include "base/num.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* Legacy ids look like "004_activity_sessions_decisions.sql". */
/*
 * The original's ledger keyed rows by file name only; the version and name are recovered from
 * it so that the comparison can treat both ledgers alike.  An id of any other form is left
 * without a version, which migrate_compare then reports instead of guessing.
 */
static void parse_legacy_id(struct ledger_row *row)
{
	const char *id = row->id;
	size_t digits = strspn(id, "0123456789");
	int64_t v;
	char num[12];

	if (digits == 0 || digits > 9 || id[digits] != '_')
		return;
	memcpy(num, id, digits);
	num[digits] = '\0';
	if (!str_to_i64(num, 1, 999999999, &v))
		return;
	row->version = (int)v;
	row->name = xstrdup(id + digits + 1);
	if (str_ends_with(row->name, ".sql"))
		row->name[strlen(row->name) - 4] = '\0';
}

/* Values come back as text on both backends (store.h); NULL columns stay NULL, never "". */
static void fill_rows(struct ledger *out, struct store_rows *r, bool legacy)
{
	out->n = store_rows_count(r);
	out->rows = xcalloc(out->n + 1, sizeof(*out->rows));
	for (size_t i = 0; i < out->n; i++) {
		struct ledger_row *row = &out->rows[i];
		int64_t v = 0;

		row->id = xstrdup(store_rows_get(r, i, 0));
		row->applied_at = store_time_dup(store_rows_get(r, i, 1));
		if (legacy) {
			parse_legacy_id(row);
			continue;
		}
		if (store_rows_get(r, i, 2))
			str_to_i64(store_rows_get(r, i, 2), 0, 999999999, &v);
		row->version = (int)v;
		row->name = dup_or_null(store_rows_get(r, i, 3));
		row->checksum = dup_or_null(store_rows_get(r, i, 4));
		row->applied_by = dup_or_null(store_rows_get(r, i, 5));
		if (store_rows_get(r, i, 6))
			str_to_i64(store_rows_get(r, i, 6), 0, INT64_MAX, &row->duration_ms);
		row->compatibility = dup_or_null(store_rows_get(r, i, 7));
	}
}

/*
 * A ledger without checksums is the original CAVRA's only if it has its id column: Rails and
 * golang-migrate name their ledgers schema_migrations too (a version column), and reading
 * theirs as the original's would fail on a missing column, naming no cause.
 */
static enum status require_legacy_shape(struct store_conn *c, struct err *e)
{
	bool has_id = false;
	enum status st = store_column_exists(c, MIGRATE_LEDGER, "id", &has_id, e);

	if (st == ST_OK && !has_id)
		st = err_set(e, ST_INVALID,
			     "the database is not cavra's: its %s table is another tool's "
			     "migration ledger (it has no checksum column)",
			     MIGRATE_LEDGER);
	return st;
}

/*
 * The ledger's shape tells which ledger it is: ours has a checksum column, the original's has
 * only id and applied_at.  No ledger at all is a valid state (a new database), not an error.
 */
enum status migrate_ledger_read(struct store_conn *c, struct ledger *out, struct err *e)
{
	struct store_rows *r = NULL;
	bool exists = false, current = false;
	enum status st;

	memset(out, 0, sizeof(*out));
	st = store_table_exists(c, MIGRATE_LEDGER, &exists, e);
	if (st != ST_OK || !exists)
		return st;
	st = store_column_exists(c, MIGRATE_LEDGER, STORE_LEDGER_CURRENT, &current, e);
	if (st == ST_OK && !current)
		st = require_legacy_shape(c, e);
	if (st != ST_OK)
		return st;
	out->kind = current ? LEDGER_CURRENT : LEDGER_LEGACY;
	/* added in place by a later cavra: a ledger written before it has no such column */
	if (current)
		st = store_column_exists(c, MIGRATE_LEDGER, "compatibility", &out->has_compat, e);
	if (st != ST_OK)
		return st;
	st = store_query(c,
			 !current ? "SELECT id, applied_at FROM schema_migrations ORDER BY id"
			 : out->has_compat ? "SELECT id, applied_at, version, name, checksum, "
					     "applied_by, duration_ms, compatibility "
					     "FROM schema_migrations ORDER BY version, id"
					   : "SELECT id, applied_at, version, name, checksum, "
					     "applied_by, duration_ms, NULL "
					     "FROM schema_migrations ORDER BY version, id",
			 0, NULL, &r, e);
	if (st != ST_OK)
		return err_ctx(st, e, "read the migration ledger");
	fill_rows(out, r, !current);
	store_rows_free(r);
	return ST_OK;
}

void migrate_ledger_release(struct ledger *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->rows[i].id);
		free(l->rows[i].name);
		free(l->rows[i].checksum);
		free(l->rows[i].applied_at);
		free(l->rows[i].applied_by);
		free(l->rows[i].compatibility);
	}
	free(l->rows);
	memset(l, 0, sizeof(*l));
}

/*
 * Read-only and without the schema lock: status may report a state that a concurrent
 * `migrate up` is about to change, which is fine for a report; migrate_up re-reads the ledger
 * under the lock before acting on it.
 */
enum status migrate_status(struct store *st, const struct migration_set *set, struct ledger *ledger,
			   struct migrate_report *out, struct err *e)
{
	struct store_conn *c;
	enum status rc = store_conn_get(st, &c, e);

	if (rc != ST_OK)
		return rc;
	rc = migrate_ledger_read(c, ledger, e);
	store_conn_put(st, c);
	if (rc == ST_OK)
		migrate_compare(set, ledger, out);
	return rc;
}

enum status migrate_foreign_table(struct store_conn *c, enum ledger_kind ledger, char **table,
				  struct err *e)
{
	*table = NULL;
	return ledger == LEDGER_NONE ? store_first_table(c, table, e) : ST_OK;
}

/*
 * Bad input (ST_INVALID), as migrate_require_cavra says of the same databases: the fix is the
 * URL, or an explicit migrate up.  The original CAVRA's SQLite file is named as such before
 * its tables are: only migrate up adopts it, moving its records.
 */
enum status migrate_refuse_foreign(struct store *st, enum ledger_kind ledger, const char *verb,
				   struct err *e)
{
	struct store_conn *c = NULL;
	char *table = NULL;
	enum status rc = store_conn_get(st, &c, e);

	if (rc == ST_OK && ledger != LEDGER_CURRENT && store_kind(st) == STORE_SQLITE)
		rc = migrate_refuse_original(c, e);
	if (rc == ST_OK)
		rc = migrate_foreign_table(c, ledger, &table, e);
	store_conn_put(st, c);
	if (rc == ST_OK && table)
		rc = err_set(e, ST_INVALID,
			     "refusing to %s: the database is not cavra's (it holds '%.64s' and no "
			     "migration ledger): use an empty database, or run 'cavra migrate up' "
			     "against this one first if cavra is to share it",
			     verb, table);
	free(table);
	return rc;
}

/*
 * The three ways a database is not (yet) one cavra can read, each with the command that
 * changes that, if any: another application's is bad input (ST_INVALID), as is the
 * original CAVRA's before its adoption; a database no migration has touched is a state
 * on cavra's own way (ST_NOT_FOUND), as the runbook backs up only after the first migrate up.
 */
enum status migrate_require_cavra(struct store_conn *c, struct err *e)
{
	struct ledger l = {0};
	char *table = NULL;
	enum status rc = migrate_ledger_read(c, &l, e);

	if (rc == ST_OK)
		rc = migrate_foreign_table(c, l.kind, &table, e);
	if (rc == ST_OK && table)
		rc = err_set(e, ST_INVALID,
			     "the database is not cavra's: it holds '%.64s' and no cavra migration "
			     "ledger",
			     table);
	else if (rc == ST_OK && l.kind == LEDGER_LEGACY)
		rc = err_set(
			e, ST_INVALID,
			"the database is not cavra's yet: its migration ledger is the original "
			"CAVRA's (no checksums): run 'cavra migrate up' to adopt it");
	else if (rc == ST_OK && l.kind == LEDGER_NONE)
		rc = err_set(
			e, ST_NOT_FOUND,
			"the database has no applied migrations: run 'cavra migrate up' first");
	free(table);
	migrate_ledger_release(&l);
	return rc;
}
