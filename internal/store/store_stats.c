/*
 * store_stats.c - what `cavra ops` asks of whole tables: rows, rows before
 * a time, the span of a time column, columns, sizes on disk and the list of
 * tables.  The operations module names the tables from its catalogue and
 * leaves the SQL (and its dialects) here.
 */
#include "base/base.h"
#include "store/store_stats.h"
#include "store/store_backend.h"
#include "base/num.h"
#include "store/store_query.h"
#include "base/str.h"
#include "base/files.h"
#include "base/hash.h"
#include "base/xalloc.h"

#include <stdlib.h>

/* Heap, indexes and TOAST; NULL when the table does not exist. */
static const char pg_bytes_sql[] = "SELECT pg_total_relation_size(to_regclass($1))";

enum status store_table_bytes(struct store_conn *c, const char *table, int64_t *bytes, bool *known,
			      struct err *e)
{
	struct store_rows *r = NULL;
	enum status st;

	*known = false;
	*bytes = 0;
	/*
	 * SQLite can only tell by walking every page of the table (dbstat):
	 * 16 s for a million decisions, too slow for a status page.
	 */
	if (c->ops->kind == STORE_SQLITE)
		return ST_OK;
	st = store_query(c, pg_bytes_sql, 1, &table, &r, e);
	if (st == ST_OK && store_rows_get(r, 0, 0))
		*known = str_to_i64(store_rows_get(r, 0, 0), 0, INT64_MAX, bytes);
	store_rows_free(r);
	return st;
}

enum status store_database_bytes(struct store_conn *c, int64_t *bytes, struct err *e)
{
	static const char sqlite_sql[] =
		"SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()";
	static const char pg_sql[] = "SELECT pg_database_size(current_database())";
	struct store_rows *r = NULL;
	enum status st =
		store_query(c, c->ops->kind == STORE_SQLITE ? sqlite_sql : pg_sql, 0, NULL, &r, e);

	*bytes = 0;
	if (st == ST_OK && !str_to_i64(store_rows_get(r, 0, 0), 0, INT64_MAX, bytes))
		st = err_set(e, ST_INTERNAL, "database size: unexpected result");
	store_rows_free(r);
	return st;
}

enum status store_table_names(struct store_conn *c, struct store_rows **out, struct err *e)
{
	static const char sqlite_sql[] = "SELECT name FROM sqlite_master WHERE type = 'table' AND "
					 "name NOT LIKE 'sqlite_%' ORDER BY name";
	static const char pg_sql[] =
		"SELECT table_name FROM information_schema.tables WHERE "
		"table_schema = current_schema() AND table_type = 'BASE TABLE' "
		"ORDER BY table_name";

	return store_query(c, c->ops->kind == STORE_SQLITE ? sqlite_sql : pg_sql, 0, NULL, out, e);
}

enum status store_table_count(struct store_conn *c, const char *table, int64_t *out, struct err *e)
{
	char *sql = xasprintf("SELECT count(*) FROM %s", table);
	enum status rc = store_query_count(c, sql, 0, NULL, table, out, e);

	free(sql);
	return rc;
}

enum status store_table_count_before(struct store_conn *c, const char *table, const char *time_col,
				     const char *cutoff, int64_t *out, struct err *e)
{
	char *sql = xasprintf("SELECT count(*) FROM %s WHERE %s < $1", table, time_col);
	enum status rc = store_query_count(c, sql, 1, &cutoff, table, out, e);

	free(sql);
	return rc;
}

enum status store_table_span(struct store_conn *c, const char *table, const char *time_col,
			     int64_t *rows, char **oldest, char **newest, struct err *e)
{
	char *sql =
		xasprintf("SELECT count(*), min(%s), max(%s) FROM %s", time_col, time_col, table);
	struct store_rows *r = NULL;
	enum status st = store_query(c, sql, 0, NULL, &r, e);

	*oldest = *newest = NULL;
	if (st == ST_OK && !str_to_i64(store_rows_get(r, 0, 0), 0, INT64_MAX, rows))
		st = err_set(e, ST_INTERNAL, "count '%s': unexpected result", table);
	if (st == ST_OK) {
		*oldest = store_time_dup(store_rows_get(r, 0, 1));
		*newest = store_time_dup(store_rows_get(r, 0, 2));
	}
	store_rows_free(r);
	free(sql);
	return st;
}

/* Generated columns (migration 017's) are the database's to compute: a backup leaves them out. */
enum status store_table_ncols(struct store_conn *c, const char *table, size_t *out, struct err *e)
{
	static const char sqlite_sql[] =
		"SELECT count(*) FROM pragma_table_xinfo($1) WHERE hidden NOT IN (2, 3)";
	static const char pg_sql[] = "SELECT count(*) FROM pg_attribute WHERE attrelid = "
				     "to_regclass($1) AND attnum > 0 AND NOT attisdropped "
				     "AND attgenerated = ''";
	int64_t n = 0;
	enum status st = store_query_count(c, c->ops->kind == STORE_POSTGRES ? pg_sql : sqlite_sql,
					   1, &table, "columns", &n, e);

	if (st == ST_OK && n == 0)
		st = err_set(e, ST_NOT_FOUND, "table '%s' not found", table);
	if (st == ST_OK)
		*out = (size_t)n;
	return st;
}
