/*
 * Unit tests for the WAL-gathering VFS (store_sqlite_vfs.c) on a real SQLite file: what a
 * connection on it commits is what a connection on the default VFS reads, at every
 * transaction size (within one buffer, over several, frames over half a buffer written
 * through, a page written twice in one transaction), across checkpoints and restarts of the
 * log, and the file passes integrity_check.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "store/store_sqlite_vfs.h"

#include <sqlite3.h>

#include "store/store_sqlite_testutil.h"

struct pair {
	char path[64];
	sqlite3 *w; /* on the gathering VFS */
	sqlite3 *r; /* on the default VFS */
};

/* page_size applies to a new file, so it is set before the first table */
static void open_pair(struct pair *p, int page_size)
{
	char sql[64];
	int fd;

	snprintf(p->path, sizeof(p->path), "/tmp/store_vfs_test_XXXXXX");
	fd = mkstemp(p->path);
	assert_true(fd >= 0);
	close(fd);
	assert_non_null(store_sqlite_vfs_name());
	assert_int_equal(
		sqlite3_open_v2(p->path, &p->w, SQLITE_OPEN_READWRITE, store_sqlite_vfs_name()),
		SQLITE_OK);
	snprintf(sql, sizeof(sql), "PRAGMA page_size=%d", page_size);
	exec_ok(p->w, sql);
	exec_ok(p->w, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
		      "PRAGMA wal_autocheckpoint=50;"
		      "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, v BLOB)");
	assert_int_equal(sqlite3_open_v2(p->path, &p->r, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
}

static void close_pair(struct pair *p)
{
	char side[80];

	sqlite3_close(p->r);
	sqlite3_close(p->w);
	unlink(p->path);
	snprintf(side, sizeof(side), "%s-wal", p->path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", p->path);
	unlink(side);
}

/* n rows in one transaction; randomblob keys scatter them over the index's pages */
static void insert_rows(sqlite3 *db, int n, int bytes)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "BEGIN IMMEDIATE; WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s "
		 "WHERE i < %d) INSERT INTO t (k, v) SELECT hex(randomblob(16)), "
		 "zeroblob(%d) FROM s; COMMIT",
		 n, bytes);
	exec_ok(db, sql);
}

/* Transaction sizes from one page to far over one buffer, read back after each commit. */
static void test_commits_are_read_by_the_default_vfs(void **state)
{
	static const int sizes[] = {1, 3, 40, 400, 2000, 7};
	struct pair p;
	long long want = 0;

	UNUSED(state);
	open_pair(&p, 4096);
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
			insert_rows(p.w, sizes[i], 100);
			want += sizes[i];
			assert_int_equal(one_int(p.r, "SELECT count(*) FROM t"), want);
		}
	}
	assert_int_equal(one_int(p.w, "SELECT count(*) FROM t"), want);
	close_pair(&p);
}

/* Frames of 64 KiB pages are over half a buffer: written through, in order with the rest. */
static void test_large_pages_are_written_through(void **state)
{
	struct pair p;

	UNUSED(state);
	open_pair(&p, 65536);
	for (int i = 0; i < 5; i++)
		insert_rows(p.w, 50, 3000);
	assert_int_equal(one_int(p.r, "SELECT count(*) FROM t"), 250);
	close_pair(&p);
}

/*
 * An update of rows inserted earlier in the same transaction, with a cache of a few pages:
 * SQLite spills and writes some pages twice into the log, at offsets before the end.
 */
static void test_pages_written_twice_in_one_transaction(void **state)
{
	struct pair p;

	UNUSED(state);
	open_pair(&p, 4096);
	exec_ok(p.w, "PRAGMA cache_size=10");
	exec_ok(p.w, "BEGIN IMMEDIATE; WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
		     "FROM s WHERE i < 3000) INSERT INTO t (k, v) SELECT 'k' || i, zeroblob(50) "
		     "FROM s; UPDATE t SET v = zeroblob(60); COMMIT");
	assert_int_equal(one_int(p.r, "SELECT count(*) FROM t WHERE length(v) = 60"), 3000);
	close_pair(&p);
}

/* A checkpoint that empties the log makes the next commit restart it from the header. */
static void test_log_restarts_and_integrity(void **state)
{
	struct pair p;
	char *msg = NULL;

	UNUSED(state);
	open_pair(&p, 4096);
	for (int i = 0; i < 20; i++) {
		insert_rows(p.w, 30, 200);
		if (i % 5 == 4)
			exec_ok(p.w, "PRAGMA wal_checkpoint(TRUNCATE)");
	}
	assert_int_equal(one_int(p.r, "SELECT count(*) FROM t"), 600);
	assert_int_equal(sqlite3_exec(p.r, "PRAGMA integrity_check", NULL, NULL, &msg), SQLITE_OK);
	sqlite3_free(msg);
	sqlite3_close(p.w); /* the last connection: checkpoints and removes the log */
	p.w = NULL;
	assert_int_equal(one_int(p.r, "SELECT count(*) FROM t"), 600);
	close_pair(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commits_are_read_by_the_default_vfs),
		cmocka_unit_test(test_large_pages_are_written_through),
		cmocka_unit_test(test_pages_written_twice_in_one_transaction),
		cmocka_unit_test(test_log_restarts_and_integrity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
