/*
 * store_query.c - the query builder and small helpers of the domain stores.
 */
#include "base/base.h"
#include "store/store_query.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void qb_init(struct qb *q, const char *select)
{
	memset(q, 0, sizeof(*q));
	buf_init(&q->sql, 1 << 16);
	qb_add(q, select);
}

void qb_release(struct qb *q)
{
	buf_release(&q->sql);
}

void qb_add(struct qb *q, const char *sql)
{
	/* the cap is far above any query we build: overflow is a bug */
	if (buf_adds(&q->sql, sql, NULL) != ST_OK)
		abort();
}

int qb_param(struct qb *q, const char *value)
{
	if (q->n >= QB_MAX_PARAMS)
		abort();
	q->params[q->n++] = value;
	return q->n;
}

void qb_filter(struct qb *q, const char *cond, const char *value)
{
	char frag[256];

	if (!value)
		return;
	snprintf(frag, sizeof(frag), cond, qb_param(q, value));
	qb_add(q, q->where ? " AND " : " WHERE ");
	qb_add(q, frag);
	q->where = true;
}

void qb_page(struct qb *q, int64_t limit, int64_t offset)
{
	char frag[64];
	int a, b;

	snprintf(q->owned[q->nowned], sizeof(q->owned[0]), "%lld", (long long)limit);
	a = qb_param(q, q->owned[q->nowned++]);
	snprintf(q->owned[q->nowned], sizeof(q->owned[0]), "%lld", (long long)offset);
	b = qb_param(q, q->owned[q->nowned++]);
	snprintf(frag, sizeof(frag), " LIMIT $%d OFFSET $%d", a, b);
	qb_add(q, frag);
}

void qb_after(struct qb *q, const char *time_col, const char *id_col, const char *ts,
	      const char *id, bool ascending)
{
	char cond[200];
	int t, i;

	if (!ts || !id)
		return;
	t = qb_param(q, ts);
	i = qb_param(q, id);
	snprintf(cond, sizeof(cond), "%s(%s %c $%d OR (%s = $%d AND %s > $%d))",
		 q->where ? " AND " : " WHERE ", time_col, ascending ? '>' : '<', t, time_col, t,
		 id_col, i);
	qb_add(q, cond);
	q->where = true;
}

/*
 * One shape on both backends: the LIMIT inside the subquery lets the database stop after
 * bound + 1 index entries, where count(*) over the bare filter would visit every match.
 */
enum status qb_count(struct store *st, const struct qb *q, int64_t bound, int64_t *total,
		     struct err *e)
{
	struct store_rows *r = NULL;
	enum status rc;
	char *sql;

	/* a literal, not a parameter: a server constant that the planner should see */
	if (bound > 0)
		sql = xasprintf("SELECT count(*) FROM (%s LIMIT %lld) s", q->sql.data,
				(long long)bound + 1);
	else
		sql = xasprintf("SELECT count(*) FROM (%s) s", q->sql.data);
	rc = store_run_query(st, sql, q->n, q->params, &r, e);
	if (rc == ST_OK && !str_to_i64(store_rows_get(r, 0, 0), 0, INT64_MAX, total))
		rc = err_set(e, ST_INTERNAL, "count: unexpected result");
	store_rows_free(r);
	free(sql);
	return rc;
}

enum status store_run_query(struct store *st, const char *sql, int n, const char *const *params,
			    struct store_rows **out, struct err *e)
{
	struct store_conn *c;
	enum status rc = store_conn_get(st, &c, e);

	if (rc != ST_OK)
		return rc;
	rc = store_query(c, sql, n, params, out, e);
	store_conn_put(st, c);
	return rc;
}

enum status store_run_exec(struct store *st, const char *sql, int n, const char *const *params,
			   int64_t *changes, struct err *e)
{
	struct store_conn *c;
	enum status rc = store_conn_get(st, &c, e);

	if (rc != ST_OK)
		return rc;
	rc = store_exec(c, sql, n, params, changes, e);
	store_conn_put(st, c);
	return rc;
}

char *store_time_dup(const char *s)
{
	char out[TIME_FMT_LEN];
	int64_t us;

	if (!s)
		return NULL;
	if (!time_parse(s, &us))
		return xstrdup(s);
	time_format_utc(us, out, sizeof(out));
	return xstrdup(out);
}

char *store_dup(const char *s)
{
	return s ? xstrdup(s) : NULL;
}
