/*
 * store_bulk.c - bulk reads and loads, the part both backends share: the
 * checks before a stream or a load is handed to the backend
 * (store_pg_bulk.c streams with COPY, store_sqlite_bulk.c steps a
 * statement), whole-table scans in a given order, and the repair of one
 * value a scan found.
 */
#include "base/base.h"
#include "store/store_bulk.h"
#include "store/store_backend.h"
#include "store/store_sqlite_int.h"
#include "base/buf.h"
#include "base/xalloc.h"

#include <stdlib.h>

enum status store_stream(struct store_conn *c, const char *sql, size_t ncols, store_row_fn fn,
			 void *ctx, struct err *e)
{
	if (ncols == 0 || ncols > STORE_BULK_MAX_COLS)
		return err_set(e, ST_INTERNAL, "stream: %zu columns", ncols);
	return c->ops->stream(c, sql, ncols, fn, ctx, e);
}

/*
 * A load must sit in the caller's transaction: a restore loads every table in one
 * transaction so that a failure leaves the target as it was.
 */
enum status store_load_begin(struct store_conn *c, const char *table, const char *const *cols,
			     size_t ncols, enum store_load_mode mode, struct store_load **out,
			     struct err *e)
{
	*out = NULL;
	if (ncols == 0 || ncols > STORE_BULK_MAX_COLS)
		return err_set(e, ST_INTERNAL, "load: %zu columns", ncols);
	if (!c->in_tx)
		return err_set(e, ST_INTERNAL, "load: needs an open write transaction");
	return c->ops->load_begin(c, table, cols, ncols, mode, out, e);
}

enum status store_load_row(struct store_load *l, const char *const *vals, const size_t *lens,
			   struct err *e)
{
	return l->c->ops->load_row(l, vals, lens, e);
}

enum status store_load_end(struct store_load *l, bool ok, int64_t *rows, struct err *e)
{
	*rows = 0;
	if (!l)
		return ok ? err_set(e, ST_INTERNAL, "load: not started") : ST_OK;
	return l->c->ops->load_end(l, ok, rows, e);
}

/* PostgreSQL logs every page it writes whatever the transaction: nothing to change there. */
enum status store_load_unjournaled(struct store_conn *c, bool *on, struct err *e)
{
	*on = false;
	if (c->in_tx)
		return err_set(e, ST_INTERNAL, "load: the journal is set outside a transaction");
	return c->ops->kind == STORE_SQLITE ? store_sqlite_unjournaled(c, on, e) : ST_OK;
}

void store_load_index_builds(struct store_conn *c, bool on)
{
	if (c->ops->kind == STORE_SQLITE)
		store_sqlite_index_builds(c, on);
}

enum status store_load_journaled(struct store_conn *c, struct err *e)
{
	if (c->in_tx)
		return err_set(e, ST_INTERNAL, "load: the journal is set outside a transaction");
	return c->ops->kind == STORE_SQLITE ? store_sqlite_journaled(c, e) : ST_OK;
}

/*
 * TRUNCATE on PostgreSQL (transactional there, and it does not scan the table),
 * DELETE on SQLite, which has no TRUNCATE; both inside the restore's transaction.
 */
enum status store_empty_table(struct store_conn *c, const char *table, struct err *e)
{
	char *sql = xasprintf("%s%s", c->ops->empty_table_sql, table);
	enum status st = store_exec(c, sql, 0, NULL, NULL, e);

	free(sql);
	return st;
}

/*
 * The indexes a restore may drop and rebuild around its load (name, create and drop
 * statements): an index built once over loaded rows costs far less than one kept up
 * row by row.  The backends' queries leave out indexes that constraints need.
 */
enum status store_load_indexes(struct store_conn *c, const char *table, struct store_rows **out,
			       struct err *e)
{
	const char *p[] = {table};

	return store_query(c, c->ops->load_indexes_sql, 1, p, out, e);
}

enum status store_stream_table(struct store_conn *c, const char *table, const char *const *cols,
			       size_t ncols, const char *order, store_row_fn fn, void *ctx,
			       struct err *e)
{
	struct buf sql = BUF_INIT;
	enum status st = ST_OK;

	for (size_t i = 0; st == ST_OK && i < ncols; i++)
		st = buf_addf(&sql, e, "%s%s", i ? ", " : "SELECT ", cols[i]);
	if (st == ST_OK)
		st = buf_addf(&sql, e, " FROM %s ORDER BY %s", table, order);
	if (st == ST_OK)
		st = store_stream(c, sql.data, ncols, fn, ctx, e);
	buf_release(&sql);
	return st;
}

enum status store_value_replace(struct store_conn *c, const struct store_value_fix *f,
				int64_t *changed, struct err *e)
{
	char *sql = xasprintf("UPDATE %s SET %s = $1 WHERE %s = $2 AND %s = $3", f->table,
			      f->column, f->key_col, f->column);
	const char *params[3] = {f->value, f->key, f->old};
	enum status st = store_exec(c, sql, 3, params, changed, e);

	free(sql);
	return st;
}
