/*
 * store_sqlite_file.c - SQLite files handled whole: a read-only query that
 * leaves the file's bytes as they are, and a copy by the online backup API
 * from one read snapshot.
 */
#include "base/base.h"
#include "store/store_sqlite_file.h"
#include "store/store_sqlite_int.h"
#include "store/store_sqlite_vfs.h"
#include "base/files.h"
#include "base/xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * For files that are not ours (the original tool's store): SQLITE_OPEN_READONLY
 * without SQLITE_OPEN_CREATE never creates or converts a file, and the existence
 * check first turns a mistyped path into "does not exist" instead of SQLite's
 * "unable to open".  The busy timeout lets a read wait out a writer that the
 * original tool may still be running.
 */
enum status store_sqlite_open_ro(const char *path, sqlite3 **db, struct err *e)
{
	enum status st;
	int rc;

	*db = NULL;
	if (access(path, F_OK) != 0)
		return err_set(e, ST_NOT_FOUND, "'%s' does not exist", path);
	(void)store_sqlite_vfs_name(); /* SQLite's once-a-process settings before it initializes */
	rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(*db, 10000);
		return ST_OK;
	}
	st = store_sqlite_status(*db, rc, e, "open");
	sqlite3_close(*db);
	*db = NULL;
	return err_ctx(st, e, "open sqlite database '%s' read-only", path);
}

/*
 * Values are copied out as text, like every other query of this module, so that
 * callers read these rows with the same store_rows_* helpers.
 */
static enum status collect(sqlite3 *db, sqlite3_stmt *stmt, struct store_rows **out, struct err *e)
{
	int ncols = sqlite3_column_count(stmt), rc;
	struct store_rows *r = store_rows_new((size_t)ncols);

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *vals[STORE_BULK_MAX_COLS];
		size_t lens[STORE_BULK_MAX_COLS];

		for (int i = 0; i < ncols && i < STORE_BULK_MAX_COLS; i++) {
			vals[i] = (const char *)sqlite3_column_text(stmt, i);
			lens[i] = (size_t)sqlite3_column_bytes(stmt, i);
		}
		store_rows_add(r, vals, lens);
	}
	if (rc != SQLITE_DONE) {
		store_rows_free(r);
		return store_sqlite_status(db, rc, e, "query");
	}
	*out = r;
	return ST_OK;
}

enum status store_sqlite_query_ro(const char *path, const char *sql, struct store_rows **out,
				  struct err *e)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	enum status st = store_sqlite_open_ro(path, &db, e);
	int rc;

	*out = NULL;
	if (st != ST_OK)
		return st;
	rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		st = store_sqlite_status(db, rc, e, "query");
	else if (sqlite3_column_count(stmt) > STORE_BULK_MAX_COLS)
		st = err_set(e, ST_INTERNAL, "query: too many columns");
	else
		st = collect(db, stmt, out, e);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return err_ctx(st, e, "'%s'", path);
}

/*
 * sqlite3_close() does not promise the copy is on disk; the adopt that follows
 * works on the copy, so it is synced before anyone relies on it.
 */
static enum status fsync_path(const char *path, struct err *e)
{
	int err = file_fsync_path(path, 0);

	if (err)
		return err_set(e, ST_IO, "fsync '%s': %s", path, BASE_ERRSTR(err));
	return ST_OK;
}

/* One step of -1 pages copies everything under a single read lock of src. */
static enum status backup_all(sqlite3 *src, sqlite3 *dst, struct err *e)
{
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
	int rc;

	if (!b)
		return store_sqlite_status(dst, sqlite3_errcode(dst), e, "copy");
	rc = sqlite3_backup_step(b, -1);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE)
		return store_sqlite_status(dst, rc == SQLITE_OK ? SQLITE_INTERNAL : rc, e, "copy");
	return ST_OK;
}

/*
 * The copy is what gets adopted, so the original file is only ever read; a copy that
 * failed halfway is removed so that no one mistakes it for a whole one.
 */
enum status store_sqlite_copy(const char *src, const char *dst, struct err *e)
{
	sqlite3 *from = NULL, *to = NULL;
	enum status st = store_sqlite_open_ro(src, &from, e);
	int rc;

	if (st != ST_OK)
		return st;
	rc = sqlite3_open_v2(
		dst, &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		st = store_sqlite_status(to, rc, e, "create");
	else
		st = backup_all(from, to, e);
	sqlite3_close(to);
	sqlite3_close(from);
	if (st == ST_OK)
		st = fsync_path(dst, e);
	if (st != ST_OK) {
		unlink(dst);
		return err_ctx(st, e, "copy '%s' to '%s'", src, dst);
	}
	return ST_OK;
}

void store_sqlite_file_remove(const char *path)
{
	static const char *const tails[] = {"", "-wal", "-shm", "-journal"};

	for (size_t i = 0; i < ARRAY_SIZE(tails); i++) {
		char *p = xasprintf("%s%s", path, tails[i]);

		unlink(p);
		free(p);
	}
}
