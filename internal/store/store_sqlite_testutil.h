/*
 * store_sqlite_testutil.h - helpers the unit tests on a real SQLite file share (tests only;
 * include after <cmocka.h> and <sqlite3.h>).
 */
#ifndef CAVRA_STORE_SQLITE_TESTUTIL_H
#define CAVRA_STORE_SQLITE_TESTUTIL_H

/* Runs sql, failing the test with SQLite's message. */
static inline void exec_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : sqlite3_errstr(rc));
}

/* The first column of the one row sql answers. */
static inline long long one_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

#endif
