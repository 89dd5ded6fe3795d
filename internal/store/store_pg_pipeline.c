/*
 * store_pg_pipeline.c - several statements in one round trip on PostgreSQL
 * (libpq's pipeline mode), for the batch of decisions.
 */
#include "base/base.h"
#include "store/store_pg_batch.h"
#include "store/store_pg_int.h"
#include "base/xalloc.h"

#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

/* A connection that failed under the pipeline: dropped by the pool, never reused. */
static enum status lost(struct store_conn *c, struct err *e)
{
	const char *msg = PQerrorMessage(store_pg_handle(c));
	int n = (int)strcspn(msg, "\n");

	c->broken = true;
	return err_set(e, ST_UNAVAILABLE, "pipeline: %.*s", n > 300 ? 300 : n,
		       n ? msg : "connection failed");
}

/* The rows of res, as store_query returns them. */
static struct store_rows *copy_rows(PGresult *res)
{
	int nrows = PQntuples(res), ncols = PQnfields(res);
	struct store_rows *r = store_rows_new((size_t)ncols);
	const char *vals[8];
	size_t lens[8];

	for (int i = 0; i < nrows && ncols <= 8; i++) {
		for (int j = 0; j < ncols; j++) {
			vals[j] = PQgetisnull(res, i, j) ? NULL : PQgetvalue(res, i, j);
			lens[j] = (size_t)PQgetlength(res, i, j);
		}
		store_rows_add(r, vals, lens);
	}
	return r;
}

/*
 * Queues every step and the sync.  Blocking sends cannot deadlock here: PostgreSQL's
 * replies to these steps are a few small messages, far below a socket's buffer, so the
 * server never waits for us to read while we wait for it to read.
 */
static enum status send_all(struct store_conn *c, const struct pg_step *steps, size_t n,
			    char (*names)[24], struct err *e)
{
	PGconn *pg = store_pg_handle(c);

	if (!PQenterPipelineMode(pg))
		return lost(c, e);
	for (size_t i = 0; i < n; i++) {
		const struct pg_step *s = &steps[i];
		int ok = names[i][0] ? PQsendQueryPrepared(pg, names[i], s->nparams, s->params,
							   NULL, NULL, 0)
				     : PQsendQueryParams(pg, s->sql, s->nparams, NULL, s->params,
							 NULL, NULL, 0);

		if (!ok)
			return lost(c, e);
	}
	return PQpipelineSync(pg) ? ST_OK : lost(c, e);
}

/*
 * Reads each step's result (and the NULL that ends it), then the sync's.  The first
 * failure is the error; the steps after it come back PGRES_PIPELINE_ABORTED.
 */
static enum status read_all(struct store_conn *c, size_t n, struct store_rows **last,
			    size_t *failed, struct err *e)
{
	PGconn *pg = store_pg_handle(c);
	enum status st = ST_OK;
	PGresult *res;

	for (size_t i = 0; i < n; i++) {
		ExecStatusType rs;

		if (!(res = PQgetResult(pg)))
			return lost(c, e);
		rs = PQresultStatus(res);
		if (st == ST_OK && rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK) {
			st = store_pg_error(c, res, e, "execute");
			*failed = i;
		} else if (st == ST_OK && last && i == n - 1) {
			*last = copy_rows(res);
		}
		PQclear(res);
		while ((res = PQgetResult(pg)))
			PQclear(res);
		if (PQstatus(pg) != CONNECTION_OK)
			return c->broken ? st : lost(c, e);
	}
	res = PQgetResult(pg);
	if (PQresultStatus(res) != PGRES_PIPELINE_SYNC) {
		PQclear(res);
		return st == ST_OK ? lost(c, e) : (c->broken = true, st);
	}
	PQclear(res);
	if (!PQexitPipelineMode(pg))
		return st == ST_OK ? lost(c, e) : (c->broken = true, st);
	return st;
}

enum status store_pg_pipeline(struct store_conn *c, const struct pg_step *steps, size_t n,
			      struct store_rows **last, size_t *failed, const struct pg_sent *sent,
			      struct err *e)
{
	char(*names)[24] = xcalloc(n, sizeof(*names));
	enum status st = ST_OK;

	*failed = 0;
	if (last)
		*last = NULL;
	for (size_t i = 0; st == ST_OK && i < n; i++)
		st = store_pg_prepared(c, steps[i].sql, steps[i].nparams, names[i], e);
	if (st == ST_OK)
		st = send_all(c, steps, n, names, e);
	if (sent)
		sent->fn(sent->arg);
	if (st == ST_OK) {
		*failed = n;
		st = read_all(c, n, last, failed, e);
	}
	if (st != ST_OK && last) {
		store_rows_free(*last);
		*last = NULL;
	}
	free(names);
	return st;
}
