/*
 * ops_restore.c - `cavra ops restore`: verify everything, then load a
 * backup into a target database of either backend in one transaction.
 *
 * Order matters: the full verification and the schema compatibility check
 * run before the target is even opened, so a bad backup writes nothing
 * anywhere.  A new SQLite target (--target-dir) is built under a temporary
 * name and renamed into place only when complete, so a restore killed
 * half-way leaves no file that looks like a database.
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/interrupt.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "json/jx.h"
#include "base/files.h"
#include "base/str.h"
#include "base/redact.h"
#include "store/store_chain.h"
#include "store/store_sqlite_file.h"
#include "base/progress.h"
#include "base/dburl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TARGET_DB_NAME "cavra.db"

struct restore {
	const struct ops_restore_opts *o;
	struct ops_restore_result *out;
	const struct ops_manifest *m; /* borrowed from out->verify */
	char *dir; /* the backup directory */
	const struct ops_manifest_file *plan[32]; /* files in catalogue order */
	struct ops_table tables[32]; /* as of the backup's schema version */
	size_t nplan;
	char *url; /* target URL (may hold a password) */
	char *final_path, *temp_path; /* a new SQLite database built under temp_path */
	char *final_dir; /* final_path's directory, synced after the rename */
	struct store *st;
	struct migration_set tset; /* the target backend's migrations */
	bool migrate_in_load; /* the target's migrations run in the load's transaction */
	bool deferred; /* the content is checked while it loads, not verified first */
	bool made_dir; /* the target directory did not exist: a failed restore removes it */
	struct ops_vcount *counts; /* the sessions' counters, counted as their lines load */
};

/* ---- compatibility of the backup with this binary ---- */

/*
 * The backup's ledger against this binary's migrations of the SOURCE dialect:
 * when they agree, this binary knows exactly which schema the rows came
 * from, and its other dialect's migrations of the same versions build the
 * equivalent schema on the target.  Legacy ledger rows have no checksum;
 * their names must still agree.
 */
static enum status check_migrations(const struct ops_manifest *m, struct err *e)
{
	struct migration_set src = {0};
	enum status st = migrate_set_load(NULL, m->backend, &src, e);

	if (st == ST_OK && (size_t)m->schema_version > src.n)
		st = err_set(e, ST_CONFLICT,
			     "the backup's schema version %d is newer than this binary's %zu: "
			     "restore it with the newer cavra",
			     m->schema_version, src.n);
	for (size_t i = 0; st == ST_OK && i < m->nmigrations; i++) {
		const struct ops_manifest_migration *g = &m->migrations[i];
		const struct migration *b = &src.items[i];

		if (!str_eq(g->name, b->name) && !str_eq(g->name, b->file))
			st = err_set(e, ST_CONFLICT,
				     "the backup's migration %d is '%s', this binary's is '%s'",
				     g->version, g->name, b->name);
		else if (g->checksum && strcmp(g->checksum, b->checksum) != 0)
			st = err_set(
				e, ST_CONFLICT,
				"the backup's migration %s has checksum %.12s..., this "
				"binary's %s migration has %.12s...: the backup's schema is not "
				"one this binary knows",
				b->file, g->checksum, m->backend, b->checksum);
	}
	migrate_set_release(&src);
	return st;
}

/* Every table of the backup's schema version, once, with this binary's columns. */
static enum status plan_files(struct restore *r, struct err *e)
{
	const struct ops_manifest *m = r->m;

	for (size_t k = 0; k < m->nfiles; k++) {
		const struct ops_table *t = ops_table_find(m->files[k].table);

		if (!t || !ops_table_at(t, m->schema_version))
			return err_set(e, ST_CONFLICT,
				       "the backup's table '%s' is unknown to this "
				       "binary at schema version %d",
				       m->files[k].table, m->schema_version);
	}
	for (size_t i = 0; i < ops_catalog_n; i++) {
		const struct ops_table *t = &ops_catalog[i];
		const struct ops_manifest_file *f = NULL;

		if (!ops_table_at(t, m->schema_version))
			continue;
		for (size_t k = 0; k < m->nfiles && !f; k++)
			if (str_eq(m->files[k].table, t->table))
				f = &m->files[k];
		if (!f)
			return err_set(e, ST_CONFLICT, "the backup has no file for table '%s'",
				       t->table);
		ops_table_view(t, m->schema_version, &r->tables[r->nplan]);
		if (!ops_same_columns(f, &r->tables[r->nplan],
				      !str_eq(m->format, OPS_BACKUP_FORMAT)))
			return err_set(e, ST_CONFLICT,
				       "the backup's columns of '%s' differ from this binary's",
				       t->table);
		r->plan[r->nplan++] = f;
	}
	return ST_OK;
}

/* ---- the target ---- */

/* Builds the new database dir/name under a temporary name beside it. */
static void build_beside(struct restore *r, const char *dir, const char *name)
{
	r->final_dir = xstrdup(dir);
	r->temp_path = xasprintf("%s/.%s.restore-%ld", dir, name, (long)getpid());
	unlink(r->temp_path);
	r->url = xasprintf("sqlite:%s", r->temp_path);
}

/*
 * A SQLite URL naming a file that is not there yet (nor its log) in a directory that is: the
 * new database is built beside it, as with --target-dir, instead of in place with a journal
 * (the configured database on a new host, say).
 */
static bool new_sqlite_file(struct restore *r)
{
	const char *path = dburl_sqlite_path(r->o->target_url);
	const char *slash = path ? strrchr(path, '/') : NULL;
	struct stat sb;
	char *dir, *wal;
	bool fresh;

	if (!path || !*path || (slash && !slash[1]) || stat(path, &sb) == 0 || errno != ENOENT)
		return false;
	wal = xasprintf("%s-wal", path);
	fresh = stat(wal, &sb) != 0 && errno == ENOENT;
	free(wal);
	dir = file_dir_of(path);
	fresh = fresh && stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode);
	if (fresh) {
		r->final_path = xstrdup(path);
		build_beside(r, dir, slash ? slash + 1 : path);
	}
	free(dir);
	return fresh;
}

/*
 * Where the rows go.  A new SQLite database is built under a temporary name
 * in the target directory (same file system, so the final rename is atomic)
 * and only then becomes DIR/cavra.db, or the file a SQLite URL names.
 */
static enum status choose_target(struct restore *r, struct err *e)
{
	struct stat sb;
	enum status st;

	if (!r->o->target_dir) {
		r->out->target = redact_url(r->o->target_url);
		if (!new_sqlite_file(r))
			r->url = xstrdup(r->o->target_url);
		return ST_OK;
	}
	r->made_dir = stat(r->o->target_dir, &sb) != 0;
	st = mkdir_p(r->o->target_dir, e);
	if (st != ST_OK)
		return st;
	r->final_path = ops_path_join(r->o->target_dir, TARGET_DB_NAME);
	r->out->target = xstrdup(r->final_path);
	if (stat(r->final_path, &sb) == 0) {
		/* an existing database there is restored in place, like any URL */
		r->url = xasprintf("sqlite:%s", r->final_path);
		return ST_OK;
	}
	build_beside(r, r->o->target_dir, TARGET_DB_NAME);
	return ST_OK;
}

/* After a failure: the new database's temporary file, and the directory if this made it. */
static void remove_temp(struct restore *r)
{
	if (r->temp_path)
		store_sqlite_file_remove(r->temp_path);
	if (r->made_dir)
		(void)rmdir(r->o->target_dir); /* only if empty: nothing of anyone else's goes */
}

/*
 * Rows in the tables a restore would replace.  Merged tables do not count:
 * a database whose only rows are records of earlier backups is empty for
 * this purpose, and those records are kept anyway.
 */
static enum status rows_on(struct store_conn *c, int version, int64_t *rows, struct err *e)
{
	enum status st = ST_OK;

	*rows = 0;
	for (size_t i = 0; st == ST_OK && i < ops_catalog_n; i++) {
		int64_t n = 0;

		/* the chain's head row comes with migration 015: it is not data */
		if (ops_catalog[i].merge || !ops_table_at(&ops_catalog[i], version) ||
		    str_eq(ops_catalog[i].table, "audit_chain_head"))
			continue;
		st = store_table_count(c, ops_catalog[i].table, &n, e);
		*rows += n;
	}
	return st;
}

static enum status target_rows(struct restore *r, int version, int64_t *rows, struct err *e)
{
	struct store_conn *c = NULL;
	enum status st = store_conn_get(r->st, &c, e);

	if (st == ST_OK)
		st = rows_on(c, version, rows, e);
	store_conn_put(r->st, c);
	return st;
}

/*
 * The check of open_target again, inside the load's transaction and under the schema lock
 * (PostgreSQL's advisory lock, which migrations and every other restore take too; SQLite's
 * write lock): a second restore started beside this one, or a serve that wrote in between,
 * made the target hold data after the first look, and without --overwrite it is not replaced.
 */
static enum status still_empty(struct restore *r, struct store_conn *c, struct err *e)
{
	int64_t rows = 0;
	enum status st = rows_on(c, r->out->schema_after, &rows, e);

	if (st == ST_OK && rows > 0 && !r->o->overwrite)
		return err_set(e, ST_CONFLICT,
			       "the target holds data (%lld rows), written since this restore "
			       "looked (another restore, or a cavra serve?): pass --overwrite to "
			       "replace it; nothing was written",
			       (long long)rows);
	r->out->overwrote = st == ST_OK && rows > 0;
	return st;
}

/*
 * Tables of the target newer than the backup (a backup from before a migration restored with
 * --overwrite over a database after it) hold the replaced data's rows.  The chain's entries
 * would name records that are gone: it starts again from the genesis with adoption pending,
 * as migration 015 left a database with records; any other such table is emptied.  A backup
 * with a chain but from before 021 or 022 brings records of the kinds they chain without
 * entries: the flags of those migrations (evidence_pending, records_pending) ask for them, as
 * the migrations do.
 */
static enum status reset_newer(struct restore *r, struct store_conn *c, struct err *e)
{
	enum status st = ST_OK;

	for (size_t i = 0; st == ST_OK && i < ops_catalog_n; i++) {
		const struct ops_table *t = &ops_catalog[i];

		if (t->merge || ops_table_at(t, r->m->schema_version) ||
		    !ops_table_at(t, r->out->schema_after) || str_eq(t->table, "audit_chain_head"))
			continue;
		if (str_eq(t->table, "audit_chain")) {
			st = store_chain_restart(c, e);
			r->out->chain_restarted = st == ST_OK;
		} else {
			st = store_empty_table(c, t->table, e);
		}
	}
	/* records of kinds chained from a later migration have no entries: the next adoption */
	if (st == ST_OK && !r->out->chain_restarted &&
	    ops_table_at(ops_table_find("audit_chain"), r->m->schema_version))
		st = store_chain_late_restart(c, r->m->schema_version, e);
	return st;
}

/* Migrations through the separate migration URL, committed before the load. */
static enum status migrate_target(struct restore *r, struct err *e)
{
	const struct store_options opt = {.pool_size = 1};
	struct store *mst = NULL;
	enum status st = store_open(r->o->migration_url, &opt, &mst, e);

	if (st == ST_OK)
		st = migrate_up(mst, &r->tset, r->m->schema_version, NULL, NULL, e);
	store_close(mst);
	if (st != ST_OK)
		err_wrap(e, "bring the target's schema to version %d", r->m->schema_version);
	return st;
}

/*
 * The target's ledger, drift refused, and a database that is not cavra's, even with
 * --overwrite (which replaces cavra's data, never anyone else's): reading the ledger refuses
 * another tool's, migrate_refuse_foreign another application's tables and the original's
 * file, each as ST_INVALID, the only one these give.
 */
static enum status target_schema(struct restore *r, struct ledger *l, struct migrate_report *rep,
				 struct err *e)
{
	enum status st = migrate_status(r->st, &r->tset, l, rep, e);

	if (st == ST_OK && rep->nproblems)
		return err_set(e, ST_CONFLICT, "target schema: %s", rep->problems[0].msg);
	if (st == ST_OK)
		st = migrate_refuse_foreign(r->st, rep->ledger, "restore into it", e);
	r->out->foreign_target = st == ST_INVALID;
	return st;
}

/* Opens the target, checks its schema and contents, and migrates it. */
static enum status open_target(struct restore *r, struct err *e)
{
	const struct store_options opt = {.pool_size = 2, .prepare = true};
	struct migrate_report rep = {0};
	struct ledger l = {0};
	int64_t rows = 0;
	enum status st = store_open(r->url, &opt, &r->st, e);

	if (st == ST_OK)
		st = migrate_set_load(r->o->migrations_dir, store_backend_name(r->st), &r->tset, e);
	if (st == ST_OK)
		st = target_schema(r, &l, &rep, e);
	if (st == ST_OK && (size_t)r->m->schema_version > r->tset.n)
		st = err_set(e, ST_CONFLICT,
			     "the target's migrations stop at version %zu, the "
			     "backup needs %d",
			     r->tset.n, r->m->schema_version);
	r->out->schema_before = rep.schema_version;
	r->out->has_audit_head = r->m->has_audit_head;
	r->out->audit_head_seq = r->m->audit_head_seq;
	memcpy(r->out->audit_head_hash, r->m->audit_head_hash, SHA256_HEX_LEN);
	if (st == ST_OK)
		st = target_rows(r, rep.schema_version, &rows, e);
	if (st == ST_OK && rows > 0 && !r->o->overwrite)
		st = err_set(e, ST_CONFLICT,
			     "the target holds data (%lld rows): pass --overwrite to replace it",
			     (long long)rows);
	r->out->overwrote = st == ST_OK && rows > 0;
	/*
	 * Behind the backup's version: migrated inside the load's transaction, so
	 * that a failed or killed restore leaves even an empty database as it
	 * was.  A separate migration URL (another role) cannot share that
	 * transaction: its migrations are committed first.
	 */
	if (st == ST_OK && rep.schema_version < r->m->schema_version) {
		/* the URL asked for, not r->url: a new SQLite file is built under another name */
		if (r->o->migration_url && !str_eq(r->o->migration_url, r->o->target_url))
			st = migrate_target(r, e);
		else
			r->migrate_in_load = true;
	}
	r->out->schema_after = rep.schema_version > r->m->schema_version ? rep.schema_version
									 : r->m->schema_version;
	migrate_report_release(&rep);
	migrate_ledger_release(&l);
	return st;
}

/* ---- loading ---- */

/*
 * A table being replaced is loaded without its secondary indexes (and on
 * PostgreSQL its primary key), which are built again afterwards in the same
 * transaction, from the definitions the database itself gives: one sort
 * per index instead of a B-tree insert per row and index (what pg_restore
 * does).  A file newest first arrives out of key order, where keeping the
 * primary key would cost an insert at a random place per row.  Only names
 * made of [a-z0-9_] are dropped; anything else stays and is maintained row
 * by row.  A key that repeats fails when the primary key is built again.
 */
static bool plain_name(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* Whether row i of the index list is one this restore drops and builds again. */
static bool suspended(const struct store_rows *idx, size_t i)
{
	return plain_name(store_rows_get(idx, i, 0)) && store_rows_get(idx, i, 1) &&
	       store_rows_get(idx, i, 2);
}

/*
 * Building an index once over loaded rows is much cheaper than maintaining it row by row; the
 * drop is inside the load transaction, so a failed restore gets its indexes back by rollback.
 */
static enum status drop_indexes(struct store_conn *c, const char *table, struct store_rows **out,
				struct err *e)
{
	enum status st = store_load_indexes(c, table, out, e);

	for (size_t i = 0; st == ST_OK && i < store_rows_count(*out); i++)
		if (suspended(*out, i))
			st = store_exec(c, store_rows_get(*out, i, 2), 0, NULL, NULL, e);
	return st;
}

static enum status build_indexes(struct store_conn *c, const struct store_rows *idx, struct err *e)
{
	enum status st = ST_OK;

	store_load_index_builds(c, true);
	for (size_t i = 0; st == ST_OK && i < store_rows_count(idx); i++)
		if (suspended(idx, i))
			st = store_exec(c, store_rows_get(idx, i, 1), 0, NULL, NULL, e);
	store_load_index_builds(c, false);
	return st;
}

/*
 * The last line of defence before commit: the bytes read must be the bytes verified (the file
 * may have changed since), and the table must hold exactly the rows the manifest promises.
 * Merged tables keep rows of the target and are checked by the increase instead.
 */
static enum status check_loaded(const struct ops_table *t, const struct ops_manifest_file *f,
				const struct ops_scan *scan, struct ops_table_count *tc,
				int64_t before, struct err *e)
{
	if (scan->bytes != f->bytes || strcmp(scan->sha256, f->sha256) != 0 || scan->overlong ||
	    scan->rows != f->rows || !scan->final_newline ||
	    scan->stored_bytes != f->stored_bytes ||
	    strcmp(scan->stored_sha256, f->stored_sha256) != 0)
		return err_set(e, ST_CONFLICT, "'%s' changed since it was verified", f->path);
	if (t->merge ? tc->after != before + tc->loaded
		     : tc->after != f->rows || tc->loaded != f->rows)
		return err_set(e, ST_CONFLICT,
			       "table '%s': %lld rows after the load, %lld loaded, the backup has "
			       "%lld",
			       t->table, (long long)tc->after, (long long)tc->loaded,
			       (long long)f->rows);
	return ST_OK;
}

/*
 * Empties (or, for merged tables, counts) the table, loads its file and
 * checks the result, all inside the caller's transaction, so that any
 * mismatch rolls the whole restore back rather than leaving part of it.
 */
static enum status load_table(struct restore *r, struct store_conn *c, size_t i,
			      struct ops_table_count *tc, struct err *e)
{
	const struct ops_table *t = &r->tables[i];
	const struct ops_manifest_file *f = r->plan[i];
	struct ops_load l = {.t = t,
			     .c = c,
			     .tally_into = r->out,
			     .progress = r->o->progress,
			     .how = {f->compression, f->bytes},
			     .counts = ops_vcount_reads(r->counts, f) ? r->counts : NULL};
	char *path = ops_path_join(r->dir, f->path);
	struct store_rows *idx = NULL;
	int64_t before = 0;
	struct ops_scan scan = {0};
	struct ops_line_check lc;
	struct ops_report lines = {0};
	enum status st;

	ops_line_check_init(&lc, f, &lines);
	if (r->deferred)
		l.check = &lc;
	if (str_eq(t->table, "activity_decisions") && !r->out->decision_hashes)
		r->out->decision_hashes = ops_decision_hashes_new(f->rows);
	if (str_eq(t->table, "activity_decisions"))
		l.hashes = r->out->decision_hashes;
	/* the chain's lines are proved as they load when the decisions' lines came first */
	if (str_eq(t->table, "audit_chain") && !r->out->chain_lines && r->out->decision_hashes)
		r->out->chain_lines = ops_chain_lines_new(r->out->decision_hashes);
	if (str_eq(t->table, "audit_chain"))
		l.chain = r->out->chain_lines;
	*tc = (struct ops_table_count){t->store, t->table, f->rows, 0, 0, t->merge};
	st = t->merge ? store_table_count(c, t->table, &before, e)
		      : store_empty_table(c, t->table, e);
	if (st == ST_OK && !t->merge && f->rows > 0)
		st = drop_indexes(c, t->table, &idx, e);
	progress_item(r->o->progress, t->table);
	if (st == ST_OK)
		st = ops_load_file(&l, path, &scan, e);
	if (st == ST_OK && lines.n)
		st = err_set(e, ST_CONFLICT, "'%s': %s", f->path, lines.items[0].msg);
	tc->loaded = l.loaded;
	if (st == ST_OK && idx) {
		char what[80];

		snprintf(what, sizeof(what), "%s, building its indexes", t->table);
		progress_item(r->o->progress, what);
		st = build_indexes(c, idx, e);
	}
	if (st == ST_OK)
		st = store_table_count(c, t->table, &tc->after, e);
	if (st == ST_OK)
		st = check_loaded(t, f, &scan, tc, before, e);
	ops_line_check_release(&lc);
	ops_report_release(&lines);
	store_rows_free(idx);
	free(path);
	return st;
}

/*
 * PostgreSQL settings for the load's transaction only (docs/config.md).  Each index of a loaded
 * table is built with one sort: with maintenance_work_mem (64 MB by default) below the table's
 * keys the sort spills to temporary files and merges them.  JIT is off: the tables have no
 * statistics yet, so the counts and the approvals' read look costly enough to be compiled,
 * about 0.5 s per restore of 1M decisions spent compiling queries that run for 0.2 s each.
 */
static enum status load_settings(struct restore *r, struct store_conn *c, struct err *e)
{
	char sql[80];
	enum status st;

	if (store_kind(r->st) != STORE_POSTGRES)
		return ST_OK;
	st = store_exec(c, "SET LOCAL jit = off", 0, NULL, NULL, e);
	if (st != ST_OK || r->o->maintenance_work_mem_mb <= 0)
		return st;
	snprintf(sql, sizeof(sql), "SET LOCAL maintenance_work_mem = '%lldMB'",
		 (long long)r->o->maintenance_work_mem_mb);
	return store_exec(c, sql, 0, NULL, NULL, e);
}

/*
 * One transaction for the schema and every table: other clients of the target see either
 * the old data or the whole restored backup, never a mix.
 */
static enum status load_all(struct restore *r, struct err *e)
{
	struct store_conn *c = NULL;
	enum status st = store_conn_get(r->st, &c, e);
	bool unjournaled = false;

	r->out->tables = xcalloc(r->nplan + 1, sizeof(*r->out->tables));
	progress_phase(r->o->progress, "load", r->m->rows);
	/*
	 * A new SQLite database is a temporary file that a failure removes: its pages go
	 * straight into it, not through the write-ahead log first (see store_load_unjournaled).
	 */
	if (st == ST_OK && r->temp_path)
		st = store_load_unjournaled(c, &unjournaled, e);
	if (st == ST_OK)
		st = store_tx_begin(c, STORE_TX_WRITE, e);
	if (st == ST_OK)
		st = load_settings(r, c, e);
	if (st == ST_OK)
		st = store_lock_schema(c, e);
	if (st == ST_OK && r->migrate_in_load &&
	    (st = migrate_up_in_tx(c, store_kind(r->st), &r->tset, r->m->schema_version, e)) !=
		    ST_OK)
		err_wrap(e, "bring the target's schema to version %d", r->m->schema_version);
	if (st == ST_OK)
		st = still_empty(r, c, e);
	r->counts = ops_vcount_new(r->m, &r->out->counter_problems, &r->out->counters);
	for (size_t i = 0; st == ST_OK && i < r->nplan; i++) {
		st = load_table(r, c, i, &r->out->tables[i], e);
		if (st == ST_OK && ops_vcount_reads(r->counts, r->plan[i]))
			ops_vcount_read(r->counts, r->plan[i], true);
		r->out->ntables = i + 1;
		r->out->rows += r->out->tables[i].loaded;
	}
	if (st == ST_OK)
		ops_vcount_end(r->counts);
	ops_vcount_free(r->counts);
	r->counts = NULL;
	if (st == ST_OK)
		st = reset_newer(r, c, e);
	if (st == ST_OK)
		st = store_tx_commit(c, e);
	if (st == ST_OK && unjournaled)
		st = store_load_journaled(c, e);
	store_conn_put(r->st, c); /* rolls back what is still open */
	return st;
}

/* A new SQLite database becomes DIR/cavra.db only now, complete. */
static enum status put_in_place(struct restore *r, struct err *e)
{
	char *wal;
	bool left;
	enum status st;

	store_close(r->st);
	r->st = NULL;
	if (!r->temp_path)
		return ST_OK;
	/* the last close checkpoints and removes the WAL; one left would not follow the rename */
	wal = xasprintf("%s-wal", r->temp_path);
	left = access(wal, F_OK) == 0;
	free(wal);
	if (left)
		return err_set(e, ST_IO, "'%s' still has a write-ahead log after closing",
			       r->temp_path);
	st = file_place_new(r->temp_path, r->final_path, e);
	if (st == ST_CONFLICT)
		return err_set(e, st,
			       "'%s' appeared while this restore ran (another restore, or a cavra "
			       "serve that created it): it is left as it is, and the restored copy "
			       "removed",
			       r->final_path);
	if (st != ST_OK)
		return st;
	free(r->temp_path);
	r->temp_path = NULL;
	return file_fsync_dir(r->final_dir, e);
}

/*
 * A target whose migrations run in the load's transaction: each file's content (size,
 * SHA-256, rows, every line's columns and order) is checked while it is loaded, before the
 * commit, instead of in a pass of its own first; the manifest, the signature, the paths and
 * each file as stored are still verified before the target is opened.  Whatever fails rolls
 * the whole load back (a new SQLite database, a temporary file, is removed).  Migrations
 * committed on their own URL first need the backup verified in full first.
 */
static bool defer_content(const struct ops_restore_opts *o)
{
	return !o->migration_url || (o->target_url && str_eq(o->migration_url, o->target_url));
}

static enum status verified(struct restore *r, struct err *e)
{
	const struct ops_verify_opts vo = {r->o->public_key, r->o->progress, r->deferred};

	if (!ops_verify_with(r->o->manifest, &vo, &r->out->verify) && r->out->verify.refused)
		return err_set(e, ST_INVALID, "backup refused: %s: nothing was written",
			       r->out->verify.problems.items[0].msg);
	if (r->out->verify.problems.n)
		return err_set(e, ST_INVALID,
			       "the backup failed verification (%zu problem%s): "
			       "nothing was written",
			       r->out->verify.problems.n,
			       r->out->verify.problems.n == 1 ? "" : "s");
	if (r->out->verify.v1)
		return err_set(e, ST_INVALID,
			       "'%s' is an original CAVRA backup (%s): import it with "
			       "'cavra ops import --backup %s'",
			       r->out->verify.manifest_path, OPS_V1_FORMAT,
			       r->out->verify.manifest_path);
	return ST_OK;
}

/*
 * A restore that checked the content while loading and failed (rolled back): when the backup
 * is the cause, the full verification reports it exactly as a restore that verifies first,
 * which refuses a bad backup before it looks at the target.
 */
static enum status reverify(struct restore *r, enum status st, struct err *e)
{
	r->deferred = false;
	ops_verify_result_release(&r->out->verify);
	r->m = NULL;
	if (verified(r, e) == ST_OK)
		return st;
	r->out->foreign_target = false;
	return ST_INVALID;
}

static enum status run(struct restore *r, struct err *e)
{
	enum status st;

	r->deferred = defer_content(r->o);
	st = verified(r, e);
	if (st != ST_OK)
		return st;
	r->m = r->out->verify.manifest;
	r->dir = file_dir_of(r->out->verify.manifest_path);
	st = check_migrations(r->m, e);
	if (st == ST_OK)
		st = plan_files(r, e);
	if (st == ST_OK)
		st = choose_target(r, e);
	if (st == ST_OK)
		st = open_target(r, e);
	if (st == ST_OK)
		r->out->target_backend = xstrdup(store_backend_name(r->st));
	if (st == ST_OK)
		st = load_all(r, e);
	if (st != ST_OK && r->deferred) {
		store_close(r->st); /* the load's transaction is rolled back before the check */
		r->st = NULL;
		st = reverify(r, st, e);
	}
	if (st == ST_OK)
		st = put_in_place(r, e);
	return st;
}

/*
 * The target URL may carry a password, and a libpq error may quote the URL; it is scrubbed
 * from the message here, once, whatever step failed.
 */
enum status ops_restore(const struct ops_restore_opts *o, struct ops_restore_result *out,
			struct err *e)
{
	struct restore r = {.o = o, .out = out};
	int64_t mono = time_mono_us();
	enum status st;

	memset(out, 0, sizeof(*out));
	if (!o->target_dir == !o->target_url)
		return err_set(e, ST_INVALID, "restore: give exactly one target");
	st = run(&r, e);
	/* whatever step a signal cut short (a file half verified, a load), the signal is why */
	if (st != ST_OK && interrupt_signal())
		st = interrupt_check(e);
	store_close(r.st);
	if (st != ST_OK)
		remove_temp(&r);
	if (st == ST_OK)
		out->url = r.final_path ? xasprintf("sqlite:%s", r.final_path) : xstrdup(r.url);
	if (st != ST_OK && r.url && e)
		scrub_url_password(e->msg, sizeof(e->msg), r.url);
	out->duration_ms = (time_mono_us() - mono) / 1000;
	migrate_set_release(&r.tset);
	free(r.dir);
	free(r.url);
	free(r.final_path);
	free(r.final_dir);
	free(r.temp_path);
	return st;
}

void ops_restore_result_release(struct ops_restore_result *r)
{
	if (!r)
		return;
	ops_verify_result_release(&r->verify);
	free(r->target);
	free(r->target_backend);
	free(r->tables);
	free(r->url);
	ops_decision_hashes_free(r->decision_hashes);
	ops_chain_lines_free(r->chain_lines);
	ops_report_release(&r->counter_problems);
	memset(r, 0, sizeof(*r));
}

static json_object *tables_json(const struct ops_restore_result *r)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < r->ntables; i++) {
		const struct ops_table_count *t = &r->tables[i];
		json_object *o = json_object_new_object();

		jx_add_str(o, "store", t->store);
		jx_add_str(o, "table", t->table);
		jx_add_int(o, "rows_in_backup", t->expected);
		jx_add_int(o, "rows_loaded", t->loaded);
		jx_add_int(o, "rows_after", t->after);
		json_object_object_add(o, "merged", json_object_new_boolean(t->merged));
		json_object_array_add(a, o);
	}
	return a;
}

json_object *ops_restore_json(const struct ops_restore_result *r, const struct err *e)
{
	json_object *o = json_object_new_object();
	json_object *v = ops_verify_json(&r->verify);
	const struct ops_manifest *m = r->verify.manifest;

	jx_add_str(o, "schema_version", OPS_RESTORE_FORMAT);
	json_object_object_add(o, "ok", json_object_new_boolean(!e || e->code == ST_OK));
	jx_add_str(o, "error", e && e->code != ST_OK ? e->msg : NULL);
	jx_add_str(o, "manifest", r->verify.manifest_path);
	jx_add_str(o, "manifest_sha256",
		   r->verify.manifest_sha256[0] ? r->verify.manifest_sha256 : NULL);
	jx_add_str(o, "backup_id", m ? m->backup_id : NULL);
	jx_add_str(o, "source_backend", m ? m->backend : NULL);
	json_object_object_add(o, "database_schema_version",
			       m ? json_object_new_int(m->schema_version) : NULL);
	jx_add_str(o, "target", r->target);
	jx_add_str(o, "target_backend", r->target_backend);
	jx_add_int(o, "target_schema_version_before", r->schema_before);
	jx_add_int(o, "target_schema_version_after", r->schema_after);
	json_object_object_add(o, "overwrote", json_object_new_boolean(r->overwrote));
	jx_add_int(o, "rows", r->rows);
	jx_add_int(o, "duration_ms", r->duration_ms);
	json_object_object_add(o, "tables", tables_json(r));
	json_object_object_add(o, "session_counters", ops_verify_counters_json(&r->counters));
	json_object_object_add(o, "problems",
			       json_object_get(json_object_object_get(v, "problems")));
	json_object_put(v);
	return o;
}
