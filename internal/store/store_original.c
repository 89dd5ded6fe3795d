/*
 * store_original.c - reads the payload column of the original CAVRA's
 * SQLite store tables, read-only, for `cavra ops import`.  Only the payload
 * is read: it holds the whole record, and the projection columns beside it
 * are derived from it.
 */
#include "base/base.h"
#include "base/interrupt.h"
#include "store/store_original.h"
#include "store/store_sqlite_int.h"

#include <stdio.h>

/* Whether the table exists; a file that is not a database fails here. */
static enum status has_table(sqlite3 *db, const char *path, const char *table, struct err *e)
{
	sqlite3_stmt *q = NULL;
	enum status st;
	int rc = sqlite3_prepare_v2(
		db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1, &q, NULL);

	if (rc == SQLITE_OK) {
		sqlite3_bind_text(q, 1, table, -1, SQLITE_STATIC);
		rc = sqlite3_step(q);
	}
	if (rc == SQLITE_ROW)
		st = ST_OK;
	else if (rc == SQLITE_DONE)
		st = err_set(e, ST_NOT_FOUND, "'%s': no table %s", path, table);
	else
		st = err_set(e, ST_INVALID, "'%s': not a SQLite database (%s)", path,
			     sqlite3_errmsg(db));
	sqlite3_finalize(q);
	return st;
}

static enum status each_payload(sqlite3 *db, const char *path, const char *table,
				store_payload_fn fn, void *ctx, struct err *e)
{
	char sql[128];
	sqlite3_stmt *q = NULL;
	enum status st = ST_OK;
	int rc;

	/* table is one of the importer's fixed names, never user input */
	snprintf(sql, sizeof(sql), "SELECT payload FROM \"%s\" ORDER BY rowid", table);
	rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);
	if (rc != SQLITE_OK) {
		st = err_set(e, ST_INVALID, "'%s': table %s: %s", path, table, sqlite3_errmsg(db));
		sqlite3_finalize(q);
		return st;
	}
	while (st == ST_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *p = (const char *)sqlite3_column_text(q, 0);

		st = interrupt_check(e);
		if (st == ST_OK)
			st = fn(ctx, p ? p : "null", p ? (size_t)sqlite3_column_bytes(q, 0) : 4, e);
	}
	if (st == ST_OK && rc != SQLITE_DONE)
		st = err_set(e, ST_IO, "'%s': read %s: %s", path, table, sqlite3_errmsg(db));
	sqlite3_finalize(q);
	return st;
}

enum status store_original_payloads(const char *path, const char *table, store_payload_fn fn,
				    void *ctx, struct err *e)
{
	sqlite3 *db = NULL;
	enum status st = store_sqlite_open_ro(path, &db, e);

	if (st == ST_OK) {
		/* a file from elsewhere: its schema's views, triggers and generated columns run no
		 * function that is not harmless, and it cannot change itself behind SQL's back */
		sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
		sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
		st = has_table(db, path, table, e);
	}
	if (st == ST_OK)
		st = each_payload(db, path, table, fn, ctx, e);
	sqlite3_close(db);
	return st;
}
