/*
 * store_query.c - what the noun stores share, so that each writes only its
 * own SQL: the builder of filtered, paged SELECTs; one statement, one row
 * or one count on a borrowed connection; a write transaction around a
 * callback; and row structs described as fields (copied from result rows
 * and released in one place).
 */
#include "base/base.h"
#include "store/store_query.h"
#include "store/store_backend.h"
#include "base/timeutil.h"
#include "base/num.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void store_qb_init(struct qb *q, const char *select)
{
	memset(q, 0, sizeof(*q));
	buf_init(&q->sql, 1 << 16);
	store_qb_add(q, select);
}

void store_qb_release(struct qb *q)
{
	buf_release(&q->sql);
}

void store_qb_add(struct qb *q, const char *sql)
{
	/* the cap is far above any query we build: overflow is a bug */
	buf_xadds(&q->sql, sql);
}

int store_qb_param(struct qb *q, const char *value)
{
	if (q->n >= QB_MAX_PARAMS)
		abort();
	q->params[q->n++] = value;
	return q->n;
}

void store_qb_filter(struct qb *q, const char *cond, const char *value)
{
	const char *mark = strstr(cond, "%d");
	char frag[256];

	if (!value)
		return;
	/* "%d" is filled in by hand: -Wformat=2 rejects a format that is not a literal */
	if (!mark)
		abort(); /* a bug: every caller's cond holds the "%d" */
	snprintf(frag, sizeof(frag), "%.*s%d%s", (int)(mark - cond), cond, store_qb_param(q, value),
		 mark + 2);
	store_qb_add(q, q->where ? " AND " : " WHERE ");
	store_qb_add(q, frag);
	q->where = true;
}

void store_qb_page(struct qb *q, int64_t limit, int64_t offset)
{
	char frag[64];
	int a, b;

	snprintf(q->owned[q->nowned], sizeof(q->owned[0]), "%lld", (long long)limit);
	a = store_qb_param(q, q->owned[q->nowned++]);
	snprintf(q->owned[q->nowned], sizeof(q->owned[0]), "%lld", (long long)offset);
	b = store_qb_param(q, q->owned[q->nowned++]);
	snprintf(frag, sizeof(frag), " LIMIT $%d OFFSET $%d", a, b);
	store_qb_add(q, frag);
}

void store_qb_after(struct qb *q, const char *time_col, const char *id_col, const char *ts,
		    const char *id, bool ascending)
{
	char cond[200];
	int t, i;

	if (!ts || !id)
		return;
	t = store_qb_param(q, ts);
	i = store_qb_param(q, id);
	snprintf(cond, sizeof(cond), "%s(%s %c $%d OR (%s = $%d AND %s > $%d))",
		 q->where ? " AND " : " WHERE ", time_col, ascending ? '>' : '<', t, time_col, t,
		 id_col, i);
	store_qb_add(q, cond);
	q->where = true;
}

/*
 * One shape on both backends: the LIMIT inside the subquery lets the database stop after
 * bound + 1 index entries, where count(*) over the bare filter would visit every match.
 */
enum status store_qb_count(struct store *st, const struct qb *q, int64_t bound, int64_t *total,
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

enum status store_qb_run_page(struct store *st, struct qb *q, int limit, int64_t offset,
			      const char *after_ts, struct store_rows **out, struct err *e)
{
	store_qb_page(q, (int64_t)limit + 1, after_ts ? 0 : offset);
	return store_run_query(st, q->sql.data, q->n, q->params, out, e);
}

enum status store_qb_total(struct store *st, const char *select, qb_where_fn where, const void *f,
			   int64_t bound, int64_t *total, struct err *e)
{
	enum status rc;
	struct qb q;

	store_qb_init(&q, select);
	where(&q, f);
	rc = store_qb_count(st, &q, bound, total, e);
	store_qb_release(&q);
	return rc;
}

/*
 * The count's key holds its SQL and parameters, not the page's: every page of a filter, at
 * any limit, offset or cursor, shares one entry.
 */
enum status store_qb_total_cached(struct store *st, const char *select, qb_where_fn where,
				  const void *f, int64_t bound, int64_t *total, struct err *e)
{
	struct store_count_cache *cc = &st->counts;
	char *key = NULL;
	int64_t began;
	uint64_t gen;
	enum status rc;
	struct qb q;

	if (bound <= 0 || !store_count_cache_enabled(cc))
		return store_qb_total(st, select, where, f, bound, total, e);
	store_qb_init(&q, select);
	where(&q, f);
	key = store_count_key(q.sql.data, q.n, q.params, bound);
	began = time_mono_us();
	gen = store_count_cache_gen(cc);
	if (key && store_count_cache_hit(cc, key, began)) {
		*total = bound + 1;
		rc = ST_OK;
	} else {
		rc = store_qb_count(st, &q, bound, total, e);
		if (rc == ST_OK && key && *total > bound)
			store_count_cache_add(cc, key, began, gen);
	}
	free(key);
	store_qb_release(&q);
	return rc;
}

void store_counts_forget(struct store *st, const char *select)
{
	store_count_cache_forget(&st->counts, select);
}

size_t store_page_take(size_t n, int limit, bool *more)
{
	*more = n > (size_t)limit;
	return *more ? (size_t)limit : n;
}

/*
 * The count is the dearer half of a default list request on a large table (up to bound + 1
 * index entries against a page's limit + 1), and a selective filter's single page makes it
 * redundant. A cursor page tells nothing: the total counts the rows before the cursor too.
 */
bool store_page_total(size_t n, bool more, int64_t offset, bool cursor, int64_t *total)
{
	if (cursor || more || (n == 0 && offset > 0))
		return false;
	*total = offset + (int64_t)n;
	return true;
}

/* One statement on a borrowed connection: a query when out is set. */
static enum status run(struct store *st, const char *sql, int n, const char *const *params,
		       struct store_rows **out, int64_t *changes, struct err *e)
{
	struct store_conn *c;
	enum status rc = store_conn_get(st, &c, e);

	if (rc != ST_OK)
		return rc;
	rc = out ? store_query(c, sql, n, params, out, e)
		 : store_exec(c, sql, n, params, changes, e);
	store_conn_put(st, c);
	return rc;
}

enum status store_run_query(struct store *st, const char *sql, int n, const char *const *params,
			    struct store_rows **out, struct err *e)
{
	return run(st, sql, n, params, out, NULL, e);
}

struct one_exec {
	const char *sql;
	int n;
	const char *const *params;
	int64_t *changes;
};

static enum status one_exec_tx(struct store_conn *c, void *ctx, struct err *e)
{
	const struct one_exec *x = ctx;

	return store_exec(c, x->sql, x->n, x->params, x->changes, e);
}

/*
 * On SQLite the statement runs in a write transaction of its own, so that it passes the
 * file's writer gate (store_sqlite_ckpt.h) like every other write of the process: alone, it
 * would only poll SQLite's lock while gated writers hand it on to one another.
 */
enum status store_run_exec(struct store *st, const char *sql, int n, const char *const *params,
			   int64_t *changes, struct err *e)
{
	struct one_exec x = {sql, n, params, changes};

	if (store_kind(st) == STORE_SQLITE)
		return store_run_write(st, one_exec_tx, &x, e);
	return run(st, sql, n, params, NULL, changes, e);
}

enum status store_query_count(struct store_conn *c, const char *sql, int n, const char *const *p,
			      const char *table, int64_t *out, struct err *e)
{
	struct store_rows *r = NULL;
	enum status rc = store_query(c, sql, n, p, &r, e);

	if (rc == ST_OK && !str_to_i64(store_rows_get(r, 0, 0), 0, INT64_MAX, out))
		rc = err_set(e, ST_INTERNAL, "count '%s': unexpected result", table);
	store_rows_free(r);
	return rc;
}

enum status store_query_limit(struct store_conn *c, const char *sql, const char *value, int limit,
			      struct store_rows **out, struct err *e)
{
	char n[24];
	const char *p[2] = {value, n};

	snprintf(n, sizeof(n), "%d", limit);
	return store_query(c, sql, 2, p, out, e);
}

enum status store_run_write(struct store *st, store_tx_fn fn, void *ctx, struct err *e)
{
	struct store_conn *c;
	enum status rc = store_conn_get(st, &c, e);

	if (rc != ST_OK)
		return rc;
	rc = store_tx_begin(c, STORE_TX_WRITE, e);
	if (rc == ST_OK)
		rc = fn(c, ctx, e);
	if (rc == ST_OK)
		rc = store_tx_commit(c, e);
	store_conn_put(st, c); /* rolls back what is still open */
	return rc;
}

char *store_time_dup(const char *s)
{
	char out[TIME_FMT_LEN];
	int64_t us;

	if (!s)
		return NULL;
	if (!time_parse_stored(s, &us))
		return xstrdup(s);
	time_format_utc(us, out, sizeof(out));
	return xstrdup(out);
}

char *store_dup(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void store_fields_fill(void *obj, const struct store_fields *fs, const struct store_rows *r,
		       size_t i)
{
	for (size_t k = 0; k < fs->n; k++) {
		const char *v = store_rows_get(r, i, k);
		char *p = (char *)obj + fs->f[k].off;
		int64_t n = 0;

		if (fs->f[k].kind == STORE_FIELD_INT) {
			if (v)
				str_to_i64(v, 0, INT64_MAX, &n);
			memcpy(p, &n, sizeof(n));
		} else {
			char *s = fs->f[k].kind == STORE_FIELD_TIME ? store_time_dup(v)
								    : store_dup(v);

			memcpy(p, &s, sizeof(s));
		}
	}
}

void store_fields_release(void *obj, const struct store_fields *fs)
{
	if (!obj)
		return;
	for (size_t k = 0; k < fs->n; k++) {
		char *s;

		if (fs->f[k].kind == STORE_FIELD_INT)
			continue;
		memcpy(&s, (char *)obj + fs->f[k].off, sizeof(s));
		free(s);
	}
	memset(obj, 0, fs->size);
}

void *store_fields_collect(const struct store_fields *fs, const struct store_rows *r, size_t n)
{
	char *rows = xcalloc(n + 1, fs->size);

	for (size_t i = 0; i < n; i++)
		store_fields_fill(rows + i * fs->size, fs, r, i);
	return rows;
}

void store_fields_free_all(void *rows, size_t n, const struct store_fields *fs)
{
	for (size_t i = 0; rows && i < n; i++)
		store_fields_release((char *)rows + i * fs->size, fs);
	free(rows);
}

enum status store_query_row(struct store_conn *c, const char *sql, int n, const char *const *params,
			    const struct store_fields *fs, void *out, struct err *e)
{
	struct store_rows *r = NULL;
	enum status rc = store_query(c, sql, n, params, &r, e);

	memset(out, 0, fs->size);
	if (rc == ST_OK && store_rows_count(r) == 0)
		rc = ST_NOT_FOUND;
	if (rc == ST_OK)
		store_fields_fill(out, fs, r, 0);
	store_rows_free(r);
	return rc;
}

enum status store_run_row(struct store *st, const char *sql, int n, const char *const *params,
			  const struct store_fields *fs, void *out, struct err *e)
{
	struct store_conn *c;
	enum status rc = store_conn_get(st, &c, e);

	if (rc != ST_OK) {
		memset(out, 0, fs->size);
		return rc;
	}
	rc = store_query_row(c, sql, n, params, fs, out, e);
	store_conn_put(st, c);
	return rc;
}

enum status store_run_text(struct store *st, const char *sql, int n, const char *const *params,
			   char **out, struct err *e)
{
	static const struct store_field text_field[] = {{0, STORE_FIELD_TEXT}};
	static const struct store_fields text = {text_field, 1, sizeof(char *)};

	return store_run_row(st, sql, n, params, &text, out, e);
}
