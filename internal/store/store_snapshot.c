/*
 * store_snapshot.c - one snapshot read by several connections at once
 * (PostgreSQL's pg_export_snapshot and SET TRANSACTION SNAPSHOT), so that a
 * backup can dump its tables in parallel and still see one point in time.
 */
#include "base/base.h"
#include "store/store_bulk.h"
#include "store/store_backend.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What pg_export_snapshot returns: hexadecimal groups joined by '-' (e.g. 00000003-0000001B-1). */
static bool snapshot_id_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n >= STORE_SNAPSHOT_ID_MAX)
		return false;
	return strspn(id, "0123456789ABCDEFabcdef-") == n;
}

enum status store_snapshot_export(struct store_conn *c, char id[STORE_SNAPSHOT_ID_MAX],
				  struct err *e)
{
	struct store_rows *r = NULL;
	enum status st;

	id[0] = '\0';
	if (c->ops->kind != STORE_POSTGRES)
		return err_set(e, ST_INTERNAL, "snapshot export: only on PostgreSQL");
	if (!c->in_tx || c->tx_write)
		return err_set(e, ST_INTERNAL,
			       "snapshot export: needs an open snapshot transaction");
	st = store_query(c, "SELECT pg_export_snapshot()", 0, NULL, &r, e);
	if (st == ST_OK && (store_rows_count(r) != 1 || !store_rows_get(r, 0, 0) ||
			    !snapshot_id_ok(store_rows_get(r, 0, 0))))
		st = err_set(e, ST_INTERNAL, "snapshot export: unexpected answer");
	if (st == ST_OK)
		snprintf(id, STORE_SNAPSHOT_ID_MAX, "%s", store_rows_get(r, 0, 0));
	store_rows_free(r);
	return st;
}

/*
 * SET TRANSACTION SNAPSHOT must be the transaction's first statement and takes no parameter:
 * the id goes into the text, and only in the form the export gives.
 */
enum status store_snapshot_join(struct store_conn *c, const char *id, struct err *e)
{
	char *sql;
	enum status st;

	if (c->ops->kind != STORE_POSTGRES)
		return err_set(e, ST_INTERNAL, "snapshot join: only on PostgreSQL");
	if (c->in_tx)
		return err_set(e, ST_INTERNAL, "snapshot join: a transaction is already open");
	if (!snapshot_id_ok(id))
		return err_set(e, ST_INTERNAL, "snapshot join: '%.40s' is not a snapshot id", id);
	sql = xasprintf("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
			"SET TRANSACTION SNAPSHOT '%s'",
			id);
	st = store_exec_script(c, sql, e);
	free(sql);
	if (st == ST_OK) {
		c->in_tx = true;
		c->tx_write = false;
	} else {
		/* the BEGIN may have gone through: the connection must not stay in it */
		c->in_tx = true;
		store_tx_rollback(c);
	}
	return st;
}
