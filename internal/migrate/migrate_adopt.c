/*
 * migrate_adopt.c - adopting a SQLite database that the original CAVRA
 * made: its tables have other columns than ours, so its records are moved
 * into tables that our migrations create, on a copy that replaces the file
 * only when everything worked (a pilot is often an organisation's only copy
 * of its evidence).
 */
#include "base/base.h"
#include "migrate/migrate.h"
#include "migrate/migrate_int.h"
#include "base/xalloc.h"
#include "base/files.h"
#include "store/store_chain.h"
#include "store/store_sqlite_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The tables of the original's migrations 001-006, which its stores also made on open. */
static const char *const original_tables[] = {
	"evidence_metadata",	  "approvals",
	"registry_agents",	  "registry_mcp_servers",
	"activity_sessions",	  "activity_decisions",
	"inventory_repositories", "inventory_policy_rollouts",
	"integrations",
};

/*
 * One query tells both facts needed: whether any of the original's tables exist, and whether
 * the ledger is already ours (has a checksum column).  Run on a read-only connection, so that
 * merely looking never creates a database file or a WAL beside the pilot's file.
 */
static const char probe_sql[] =
	"SELECT m.name, EXISTS (SELECT 1 FROM pragma_table_info(m.name) p WHERE p.name = "
	"'" STORE_LEDGER_CURRENT "') FROM sqlite_master m WHERE m.type = 'table'";

static bool is_original_table(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(original_tables); i++)
		if (strcmp(name, original_tables[i]) == 0)
			return true;
	return false;
}

enum status migrate_sqlite_is_original(const char *path, bool *out, struct err *e)
{
	struct store_rows *r = NULL;
	bool tables = false, current = false;
	enum status st;

	*out = false;
	if (access(path, F_OK) != 0)
		return ST_OK;
	st = store_sqlite_query_ro(path, probe_sql, &r, e);
	for (size_t i = 0; st == ST_OK && i < store_rows_count(r); i++) {
		const char *name = store_rows_get(r, i, 0);

		tables |= is_original_table(name);
		if (strcmp(name, MIGRATE_LEDGER) == 0)
			current = strcmp(store_rows_get(r, i, 1), "1") == 0;
	}
	store_rows_free(r);
	*out = tables && !current;
	return st;
}

/*
 * Guards `migrate up` on SQLite: migrating such a file in place would create our tables
 * beside the original's and leave its records where nothing reads them.  Bad input, as the
 * read-only commands' refusal of it is: the command to run is another one.
 */
enum status migrate_refuse_original(struct store_conn *c, struct err *e)
{
	for (size_t i = 0; i < ARRAY_SIZE(original_tables); i++) {
		bool exists = false;
		enum status st = store_table_exists(c, original_tables[i], &exists, e);

		if (st != ST_OK)
			return st;
		if (exists)
			return err_set(
				e, ST_INVALID,
				"this database was made by the original CAVRA: adopt it with "
				"'cavra migrate up --database PATH' first");
	}
	return ST_OK;
}

/* The original's ledger names only its own migrations, each with its tables. */
static enum status check_ledger(struct store_conn *c, const struct migration_set *set,
				const struct ledger *l, struct err *e)
{
	enum status st = ST_OK;

	for (size_t i = 0; st == ST_OK && i < l->n; i++) {
		if (l->rows[i].version > MIGRATE_ORIGINAL_LAST)
			return err_set(
				e, ST_CONFLICT,
				"legacy ledger entry '%s' is not a migration of the original "
				"CAVRA",
				l->rows[i].id);
		st = migrate_check_legacy_row(c, set, &l->rows[i], e);
	}
	return st;
}

/*
 * "DROP INDEX" of an index named in the file: the name is the file's text, so it is quoted as
 * an identifier, every '"' doubled (a name such as 'x"; CREATE TABLE ...' ran its statement).
 */
static char *drop_index_sql(const char *name)
{
	size_t n = strlen(name), k = 0;
	char *sql = xmalloc(sizeof("DROP INDEX \"\"") + 2 * n);

	memcpy(sql, "DROP INDEX \"", sizeof("DROP INDEX \"") - 1);
	k += sizeof("DROP INDEX \"") - 1;
	for (const char *p = name; *p; p++) {
		sql[k++] = *p;
		if (*p == '"')
			sql[k++] = '"';
	}
	sql[k++] = '"';
	sql[k] = '\0';
	return sql;
}

/* Its indexes go: they are read once, in rowid order, and their names may be ours. */
static enum status drop_indexes(struct store_conn *c, const char *table, struct err *e)
{
	static const char q[] = "SELECT name FROM sqlite_master WHERE type = 'index' AND "
				"tbl_name = $1 AND sql IS NOT NULL";
	struct store_rows *r = NULL;
	enum status st = store_query(c, q, 1, &table, &r, e);

	for (size_t i = 0; st == ST_OK && i < store_rows_count(r); i++) {
		char *sql = drop_index_sql(store_rows_get(r, i, 0));

		st = store_exec(c, sql, 0, NULL, NULL, e);
		free(sql);
	}
	store_rows_free(r);
	return st;
}

/* Moves the original's tables aside, so that our migrations create ours. */
static enum status rename_originals(struct store_conn *c, bool legacy, bool renamed[],
				    struct err *e)
{
	enum status st = ST_OK;

	if (legacy)
		st = store_exec_script(c, "DROP TABLE " MIGRATE_LEDGER, e);
	for (size_t i = 0; st == ST_OK && i < ARRAY_SIZE(original_tables); i++) {
		char sql[160];

		st = store_table_exists(c, original_tables[i], &renamed[i], e);
		if (st != ST_OK || !renamed[i])
			continue;
		st = drop_indexes(c, original_tables[i], e);
		snprintf(sql, sizeof(sql), "ALTER TABLE %s RENAME TO " MIGRATE_ORIGINAL_PREFIX "%s",
			 original_tables[i], original_tables[i]);
		if (st == ST_OK)
			st = store_exec_script(c, sql, e);
	}
	return err_ctx(st, e, "move the original tables aside");
}

/* 001-006 are marked adopted; the original's times of applying are kept. */
static enum status mark_ledger(struct store_conn *c, const struct ledger *l, struct err *e)
{
	static const char by[] = "UPDATE schema_migrations SET applied_by = $1 WHERE version <= $2";
	static const char at[] = "UPDATE schema_migrations SET applied_at = $1 WHERE id = $2";
	char last[16];
	const char *bp[] = {"adopted by cavra " CAVRA_VERSION, last};
	enum status st;

	snprintf(last, sizeof(last), "%d", MIGRATE_ORIGINAL_LAST);
	st = store_exec(c, by, 2, bp, NULL, e);

	for (size_t i = 0; st == ST_OK && i < l->n; i++) {
		const char *p[] = {l->rows[i].applied_at, l->rows[i].id};

		if (p[0])
			st = store_exec(c, at, 2, p, NULL, e);
	}
	return st;
}

static enum status drop_originals(struct store_conn *c, const bool renamed[], struct err *e)
{
	enum status st = ST_OK;

	for (size_t i = 0; st == ST_OK && i < ARRAY_SIZE(original_tables); i++) {
		char sql[160];

		if (!renamed[i])
			continue;
		snprintf(sql, sizeof(sql), "DROP TABLE " MIGRATE_ORIGINAL_PREFIX "%s",
			 original_tables[i]);
		st = store_exec_script(c, sql, e);
	}
	return st;
}

/*
 * The order matters: the original's tables are renamed out of the way first so that our
 * migrations can create tables of the same names, the records are moved while both exist, and
 * the originals are dropped last.  All of it is one transaction on the copy, so any failure
 * leaves nothing half-adopted.
 */
static enum status adopt_in_tx(struct store_conn *c, const struct migration_set *set,
			       migrate_records_fn records, void *ctx, struct err *e)
{
	bool renamed[ARRAY_SIZE(original_tables)] = {false};
	struct ledger l = {0};
	enum status st = migrate_ledger_read(c, &l, e);

	if (st == ST_OK && l.kind == LEDGER_CURRENT)
		st = err_set(e, ST_CONFLICT, "the database already has cavra's ledger");
	if (st == ST_OK)
		st = check_ledger(c, set, &l, e);
	if (st == ST_OK)
		st = rename_originals(c, l.kind == LEDGER_LEGACY, renamed, e);
	if (st == ST_OK)
		st = err_ctx(migrate_up_in_tx(c, STORE_SQLITE, set, 0, e), e,
			     "create cavra's tables");
	if (st == ST_OK)
		st = records(ctx, c, e);
	/* the migrations built empty tables, so none asked for the records copied since */
	if (st == ST_OK)
		st = err_ctx(store_chain_ask_adoption(c, e), e,
			     "mark the records for the audit chain");
	if (st == ST_OK)
		st = err_ctx(mark_ledger(c, &l, e), e, "record the adoption in the ledger");
	if (st == ST_OK)
		st = err_ctx(drop_originals(c, renamed, e), e, "drop the original tables");
	migrate_ledger_release(&l);
	return st;
}

/* Opens the copy with the store (WAL, as serve will) and adopts it in one transaction. */
static enum status adopt_copy(const char *copy, const struct migration_set *set,
			      migrate_records_fn records, void *ctx, struct err *e)
{
	struct store *st = NULL;
	struct store_conn *c = NULL;
	enum status rc = store_open(copy, &(struct store_options){.pool_size = 1}, &st, e);

	if (rc == ST_OK)
		rc = store_conn_get(st, &c, e);
	if (rc == ST_OK)
		rc = store_tx_begin(c, STORE_TX_WRITE, e);
	if (rc == ST_OK)
		rc = adopt_in_tx(c, set, records, ctx, e);
	if (rc == ST_OK)
		rc = store_tx_commit(c, e);
	/* one self-contained file to rename: everything checkpointed out of the WAL */
	if (rc == ST_OK)
		rc = err_ctx(store_exec_script(c, "PRAGMA wal_checkpoint(TRUNCATE)", e), e,
			     "write the adopted copy");
	if (c)
		store_conn_put(st, c); /* rolls back what is still open */
	store_close(st);
	return rc;
}

/* A journal or WAL beside the file means a writer is at work, or crashed mid-write. */
static enum status check_quiet(const char *path, struct err *e)
{
	static const char *const tails[] = {"-wal", "-journal"};

	for (size_t i = 0; i < ARRAY_SIZE(tails); i++) {
		char *p = xasprintf("%s%s", path, tails[i]);
		struct stat sb;
		bool busy = stat(p, &sb) == 0 && sb.st_size > 0;

		free(p);
		if (busy)
			return err_set(e, ST_CONFLICT,
				       "'%s%s' exists: stop every program that uses the database "
				       "(or open it once with sqlite3 to recover it) and try again",
				       path, tails[i]);
	}
	return ST_OK;
}

static enum status fsync_dir(const char *path, struct err *e)
{
	char *dir = file_dir_of(path);
	int err = file_fsync_path(dir, O_DIRECTORY);

	free(dir);
	if (err)
		return err_set(e, ST_IO, "fsync the directory of '%s': %s", path, BASE_ERRSTR(err));
	return ST_OK;
}

/* The copy gets the original's mode and owner, is made durable, then takes its name. */
static enum status replace(const char *path, const char *copy, bool *replaced, struct err *e)
{
	struct stat sb;
	int fd, rc = -1, saved;

	if (stat(path, &sb) != 0)
		return err_set(e, ST_IO, "stat '%s': %s", path, BASE_ERRSTR(errno));
	fd = open(copy, O_RDWR | O_CLOEXEC);
	if (fd >= 0 && fchmod(fd, sb.st_mode & 07777) == 0 &&
	    (fchown(fd, sb.st_uid, sb.st_gid) == 0 || errno == EPERM))
		rc = fsync(fd);
	saved = errno;
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		return err_set(e, ST_IO, "prepare '%s': %s", copy, BASE_ERRSTR(saved));
	if (rename(copy, path) != 0)
		return err_set(e, ST_IO, "rename '%s' to '%s': %s", copy, path, BASE_ERRSTR(errno));
	*replaced = true;
	return fsync_dir(path, e);
}

/*
 * Works on a copy named after our pid, so two adoptions never share one, and the pilot's file
 * is only ever replaced whole by a rename.  The file must be quiet before and the copy after:
 * a WAL beside the original means a writer whose last changes the copy would lose.
 */
enum status migrate_adopt_sqlite(const char *path, const struct migration_set *set,
				 migrate_records_fn records, void *ctx, struct err *e)
{
	char *copy = xasprintf("%s.cavra-adopt-%ld", path, (long)getpid());
	enum status st = check_quiet(path, e);
	bool replaced = false;

	store_sqlite_file_remove(copy);
	if (st == ST_OK)
		st = store_sqlite_copy(path, copy, e);
	if (st == ST_OK)
		st = adopt_copy(copy, set, records, ctx, e);
	if (st == ST_OK)
		st = check_quiet(copy, e);
	if (st == ST_OK)
		st = replace(path, copy, &replaced, e);
	if (replaced)
		store_sqlite_file_remove(
			copy); /* an empty -wal or -shm the copy's name left behind */
	if (st != ST_OK && !replaced) {
		store_sqlite_file_remove(copy);
		/* an unusable record is the pilot's problem, not a usage error (exit 1) */
		if (st == ST_INVALID && e) {
			st = ST_CONFLICT;
			e->code = st;
		}
		err_wrap(e, "adopt '%s' (left unchanged)", path);
	}
	free(copy);
	return st;
}
