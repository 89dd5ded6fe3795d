/*
 * store_sqlite_bulk.c - bulk reads and loads on SQLite: one statement
 * stepped row by row, and one prepared INSERT bound and run per row (in the
 * caller's transaction, so a row costs no more than the B-tree insert).
 *
 * A load raises the connection's page cache to LOAD_CACHE_KIB for its
 * duration.  Rows arrive in the dump's order, which for a table dumped
 * newest first is not key order, so with random ids each insert touches
 * another page of the primary key's index, more than SQLite's 2 MB default
 * holds.  Measured on a million decisions with random ids: 44.6 and 53.0 s
 * with it, 46.1 and 56.7 s without; no difference with ids in order.
 *
 * The INSERTs run on a thread of their own (store_row_pipe.c): the caller
 * decodes the next rows while SQLite inserts the last ones.  A failed row is
 * reported at a later store_load_row or at store_load_end, by its number.
 */
#include "base/base.h"
#include "base/interrupt.h"
#include "store/store_sqlite_int.h"
#include "base/buf.h"
#include "base/xalloc.h"
#include "base/files.h"
#include "store/store_row_pipe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOAD_CACHE_KIB 131072 /* 128 MiB: the key index of a million rows, with room */
/* the page cache between loads, while the indexes are built: the sorter's memory follows it */
#define INDEX_CACHE_KIB 16384
/* SQLite clamps it to its build's limit (2 GiB in Debian's) */
#define LOAD_MMAP_BYTES "1099511627776"

/* The journal mode a PRAGMA journal_mode statement answers with, lowercase, in out. */
static int journal_mode(sqlite3 *db, const char *sql, char *out, size_t cap)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);

	out[0] = '\0';
	if (rc == SQLITE_OK)
		rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(q, 0));
		rc = SQLITE_OK;
	}
	sqlite3_finalize(q);
	return rc;
}

/*
 * Whether SQLite finds a directory for temporary files: any of SQLITE_TMPDIR, TMPDIR,
 * /var/tmp, /usr/tmp, /tmp and . that is a directory it may write and search, the list and
 * test of its Unix VFS, which takes the first such (a read-only root file system without a
 * writable /tmp has none).
 */
static bool temp_dir_usable(void)
{
	const char *dirs[] = {
		getenv("SQLITE_TMPDIR"), getenv("TMPDIR"), "/var/tmp", "/usr/tmp", "/tmp", "."};
	struct stat sb;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (dirs[i] && stat(dirs[i], &sb) == 0 && S_ISDIR(sb.st_mode) &&
		    access(dirs[i], W_OK | X_OK) == 0)
			return true;
	return false;
}

/* The sorter's settings of set_bulk_pragmas below, or the connection's usual ones (off). */
static void set_sort_pragmas(sqlite3 *db, bool on)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "PRAGMA cache_size=%d; PRAGMA threads=%d; PRAGMA temp_store=%s",
		 on ? -INDEX_CACHE_KIB : -2000, on ? 1 : 0,
		 on && temp_dir_usable() ? "FILE" : "MEMORY");
	(void)sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/*
 * Sizes only, so a failure costs speed, never data.  For the whole unjournaled load, the
 * index builds after the rows included: the file is read through a memory map (each CREATE
 * INDEX scans the table: without it, one pread and one page copy per page and index).
 * Between the loads (each raises the cache to LOAD_CACHE_KIB while it inserts), the cache is
 * INDEX_CACHE_KIB with one sorter thread: a CREATE INDEX then sorts its keys in runs of about
 * that size in temporary files, the next run sorted on the second thread while this one scans,
 * and merges them.  That needs temp_store=FILE: with the connection's temp_store=MEMORY,
 * SQLite sorts every key in memory at once on the calling thread, whatever the cache and
 * threads say.  The decisions' 13 indexes at 1,000,000 decisions: 16 s with MEMORY, about 11 s
 * with FILE (docs/benchmarks.md).  Where no temporary directory is writable the sort stays in
 * memory.  Off puts the connection's settings back.
 */
static void set_bulk_pragmas(sqlite3 *db, bool on)
{
	char sql[64];

	set_sort_pragmas(db, on);
	snprintf(sql, sizeof(sql), "PRAGMA mmap_size=%s", on ? LOAD_MMAP_BYTES : "0");
	(void)sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/*
 * A load that keeps the journal (a restore in place) sorts its index builds the same way, with
 * the same settings put back after them; an unjournaled load has them for its whole length.
 */
void store_sqlite_index_builds(struct store_conn *c, bool on)
{
	sqlite3 *db = store_sqlite_handle(c);
	char mode[16];

	if (journal_mode(db, "PRAGMA journal_mode", mode, sizeof(mode)) != SQLITE_OK ||
	    strcmp(mode, "off") != 0)
		set_sort_pragmas(db, on);
}

/*
 * Leaving WAL needs the only connection to the file: with another one open SQLite
 * keeps WAL (or answers busy), and the load then runs journaled as before.
 */
enum status store_sqlite_unjournaled(struct store_conn *c, bool *on, struct err *e)
{
	sqlite3 *db = store_sqlite_handle(c);
	char mode[16];

	UNUSED(e);
	if (journal_mode(db, "PRAGMA journal_mode=OFF", mode, sizeof(mode)) != SQLITE_OK ||
	    strcmp(mode, "off") != 0)
		return ST_OK;
	(void)sqlite3_exec(db, "PRAGMA synchronous=OFF", NULL, NULL, NULL);
	set_bulk_pragmas(db, true);
	*on = true;
	return ST_OK;
}

/*
 * synchronous=FULL first, so that the switch back to WAL (a write of the file's header)
 * syncs; the explicit sync after it covers every page the load wrote unsynced.
 */
enum status store_sqlite_journaled(struct store_conn *c, struct err *e)
{
	sqlite3 *db = store_sqlite_handle(c);
	const char *path = sqlite3_db_filename(db, "main");
	char mode[16];
	int rc;
	int err;

	set_bulk_pragmas(db, false);
	rc = sqlite3_exec(db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = journal_mode(db, "PRAGMA journal_mode=WAL", mode, sizeof(mode));
	if (rc != SQLITE_OK)
		return store_sqlite_status(db, rc, e, "journal_mode=WAL");
	if (strcmp(mode, "wal") != 0)
		return err_set(e, ST_IO, "journal_mode=WAL: the database stayed in '%s'", mode);
	err = path && *path ? file_fsync_path(path, 0) : 0;
	if (err)
		return err_set(e, ST_IO, "sync '%s': %s", path, BASE_ERRSTR(err));
	return ST_OK;
}

enum status store_sqlite_stream(struct store_conn *c, const char *sql, size_t ncols,
				store_row_fn fn, void *ctx, struct err *e)
{
	sqlite3 *db = store_sqlite_handle(c);
	const char *vals[STORE_BULK_MAX_COLS];
	size_t lens[STORE_BULK_MAX_COLS];
	sqlite3_stmt *stmt = NULL;
	enum status st = ST_OK;
	int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);

	if (rc != SQLITE_OK)
		return store_sqlite_status(db, rc, e, "stream");
	if ((size_t)sqlite3_column_count(stmt) != ncols)
		st = err_set(e, ST_INTERNAL, "stream: %d columns, expected %zu",
			     sqlite3_column_count(stmt), ncols);
	while (st == ST_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		for (size_t i = 0; i < ncols; i++) {
			vals[i] = (const char *)sqlite3_column_text(stmt, (int)i);
			lens[i] = (size_t)sqlite3_column_bytes(stmt, (int)i);
		}
		st = interrupt_check(e); /* the row's work (a backup's file) is the callback's */
		if (st == ST_OK)
			st = fn(ctx, vals, lens, e);
	}
	if (st == ST_OK && rc != SQLITE_DONE)
		st = store_sqlite_status(db, rc, e, "stream");
	sqlite3_finalize(stmt);
	return st;
}

struct sqlite_load {
	struct store_load base; /* first */
	sqlite3_stmt *stmt;
	size_t ncols;
	sqlite3_int64 cache_size; /* the connection's own setting, put back at the end */
	struct row_pipe *pipe; /* the thread that inserts, NULL when the caller's does */
};

static sqlite3_int64 cache_size(sqlite3 *db)
{
	sqlite3_stmt *q = NULL;
	sqlite3_int64 v = -2000; /* SQLite's default, should the query fail */

	if (sqlite3_prepare_v2(db, "PRAGMA cache_size", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

/* A pragma that only sizes the cache: a failure costs speed, never data. */
static void set_cache_size(sqlite3 *db, sqlite3_int64 v)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA cache_size=%lld", (long long)v);
	(void)sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static char *insert_sql(const char *table, const char *const *cols, size_t ncols,
			enum store_load_mode mode)
{
	struct buf b = BUF_INIT;

	/* identifiers from the catalogue: the statement stays far below the cap */
	buf_xaddf(&b, "INSERT INTO %s (", table);
	for (size_t i = 0; i < ncols; i++)
		buf_xaddf(&b, "%s%s", i ? ", " : "", cols[i]);
	buf_xadds(&b, ") VALUES (");
	for (size_t i = 0; i < ncols; i++)
		buf_xaddf(&b, "%s?%zu", i ? ", " : "", i + 1);
	buf_xadds(&b, mode == STORE_LOAD_SKIP_EXISTING ? ") ON CONFLICT DO NOTHING" : ")");
	return buf_detach(&b, NULL);
}

/* row_pipe_fn: binds and runs the INSERT for one row. */
static enum status insert_row(void *ctx, const char *const *vals, const size_t *lens, struct err *e)
{
	struct sqlite_load *l = ctx;
	sqlite3 *db = store_sqlite_handle(l->base.c);
	int rc = SQLITE_OK;

	for (size_t i = 0; i < l->ncols && rc == SQLITE_OK; i++)
		rc = vals[i] ? sqlite3_bind_text(l->stmt, (int)i + 1, vals[i], (int)lens[i],
						 SQLITE_STATIC)
			     : sqlite3_bind_null(l->stmt, (int)i + 1);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(l->stmt);
	if (rc != SQLITE_DONE) {
		enum status st = store_sqlite_status(db, rc, e, "load");

		sqlite3_reset(l->stmt);
		return st;
	}
	l->base.rows += sqlite3_changes64(db);
	sqlite3_reset(l->stmt);
	return ST_OK;
}

enum status store_sqlite_load_begin(struct store_conn *c, const char *table,
				    const char *const *cols, size_t ncols,
				    enum store_load_mode mode, struct store_load **out,
				    struct err *e)
{
	sqlite3 *db = store_sqlite_handle(c);
	char *sql = insert_sql(table, cols, ncols, mode);
	struct sqlite_load *l = xcalloc(1, sizeof(*l));
	int rc = sqlite3_prepare_v2(db, sql, -1, &l->stmt, NULL);

	free(sql);
	if (rc != SQLITE_OK) {
		free(l);
		return store_sqlite_status(db, rc, e, "load");
	}
	l->base.c = c;
	l->ncols = ncols;
	l->cache_size = cache_size(db);
	if (l->cache_size > -LOAD_CACHE_KIB)
		set_cache_size(db, -LOAD_CACHE_KIB);
	l->pipe = row_pipe_start(ncols, insert_row, l);
	*out = &l->base;
	return ST_OK;
}

enum status store_sqlite_load_row(struct store_load *base, const char *const *vals,
				  const size_t *lens, struct err *e)
{
	struct sqlite_load *l = (struct sqlite_load *)base;

	return l->pipe ? row_pipe_put(l->pipe, vals, lens, e) : insert_row(l, vals, lens, e);
}

enum status store_sqlite_load_end(struct store_load *base, bool ok, int64_t *rows, struct err *e)
{
	struct sqlite_load *l = (struct sqlite_load *)base;
	enum status st = row_pipe_finish(l->pipe, ok, e);

	if (ok && st == ST_OK)
		*rows = base->rows;
	sqlite3_finalize(l->stmt);
	set_cache_size(store_sqlite_handle(base->c), l->cache_size);
	free(l);
	return st;
}
