/*
 * migrate_script.c - `cavra migrate sql`: the exact SQL of `migrate up`, the
 * ledger's DDL and rows included, as a script a DBA reviews and runs by hand.
 */
#include "base/base.h"
#include "migrate/migrate.h"
#include "migrate/migrate_int.h"

#include <stdio.h>

/*
 * The ledger row carries what the runner records, so that `migrate status`, `verify` and
 * `serve` cannot tell a hand-applied migration from one that `migrate up` applied.  Ids,
 * names, checksums and compatibility are quoted as they are: file names are [a-z0-9_] (the
 * set refuses any other), checksums hex.  The duration is unknown (NULL).
 */
static void print_row(FILE *f, enum store_kind kind, const struct migration *m)
{
	bool pg = kind == STORE_POSTGRES;

	fprintf(f,
		"INSERT INTO schema_migrations (id, applied_at, version, name, checksum, "
		"applied_by, duration_ms, compatibility)\n"
		"VALUES ('%s', %s, %d, '%s', '%s', %s, NULL, '%s');\n",
		m->file, pg ? "now()" : "strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')", m->version,
		m->name, m->checksum, pg ? "current_user" : "'by hand (cavra migrate sql)'",
		migrate_compat_name(m->compat));
}

/* The ledger's own DDL goes into the first transaction, as the runner does it. */
static void print_ledger(FILE *f, enum store_kind kind, const struct ledger *l)
{
	if (l->kind == LEDGER_NONE)
		fprintf(f, "%s;\n%s;\n", migrate_ledger_sql(kind, MIGRATE_LEDGER_TABLE),
			migrate_ledger_sql(kind, MIGRATE_LEDGER_INDEX));
	else if (!l->has_compat)
		fprintf(f, "%s;\n", migrate_ledger_sql(kind, MIGRATE_LEDGER_COMPAT));
}

/* One transaction: the lock, the ledger where needed, the file, its row. */
static void print_one(FILE *f, enum store_kind kind, const struct ledger *l, bool first,
		      const struct migration *m)
{
	fprintf(f, "\n-- %s sha256=%s compatibility=%s\n", m->file, m->checksum,
		migrate_compat_name(m->compat));
	if (kind == STORE_POSTGRES)
		fprintf(f, "BEGIN;\nSELECT pg_advisory_xact_lock(%s);\n", STORE_PG_SCHEMA_LOCK_KEY);
	else
		fprintf(f, "BEGIN IMMEDIATE;\n");
	if (first)
		print_ledger(f, kind, l);
	fprintf(f, "%s\n", m->sql);
	print_row(f, kind, m);
	fprintf(f, "COMMIT;\n");
}

static size_t count_pending(const struct migrate_report *r, int to, int *last)
{
	size_t n = 0;

	*last = r->schema_version;
	for (size_t i = 0; i < r->n; i++)
		if (r->entries[i].state == MIG_PENDING &&
		    (to == 0 || r->entries[i].version <= to)) {
			n++;
			*last = r->entries[i].version;
		}
	return n;
}

enum status migrate_script(FILE *f, const struct migration_set *set, const struct ledger *l,
			   const struct migrate_report *r, enum store_kind kind, int to,
			   struct err *e)
{
	int last;
	size_t n = count_pending(r, to, &last);
	bool first = true;

	if (r->nproblems)
		return err_set(e, ST_CONFLICT, "%s", r->problems[0].msg);
	if (l->kind == LEDGER_LEGACY)
		return err_set(e, ST_CONFLICT,
			       "the ledger has no checksums yet: adopt it with 'cavra migrate up' "
			       "before applying migrations by hand");
	fprintf(f,
		"-- cavra migrate sql (cavra %s, %s): schema version %d to %d, %zu migrations\n"
		"-- Review, then run as the schema owner, e.g.\n"
		"--   psql \"$URL\" -v ON_ERROR_STOP=1 -f THIS_FILE      (PostgreSQL)\n"
		"--   sqlite3 -bail DATABASE < THIS_FILE                (SQLite)\n"
		"-- Each migration commits with its ledger row or not at all; then run\n"
		"-- 'cavra migrate verify'.\n",
		CAVRA_VERSION, kind == STORE_POSTGRES ? "postgres" : "sqlite", r->schema_version,
		last, n);
	for (size_t i = 0; i < r->n; i++) {
		const struct mig_entry *en = &r->entries[i];

		if (en->state != MIG_PENDING || (to != 0 && en->version > to))
			continue;
		print_one(f, kind, l, first, &set->items[en->version - 1]);
		first = false;
	}
	if (n == 0)
		fprintf(f, "-- nothing to apply: the database is at version %d\n",
			r->schema_version);
	return ST_OK;
}
