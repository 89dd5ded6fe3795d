/*
 * store_records.c - the record stores of one shape (approvals, registry,
 * inventory, integrations, evidence, operations records), described as
 * data by struct rec_table: upsert, write-once put, get, filtered list,
 * the newest by a column, and compare-and-set, on both backends.  One
 * implementation serves every such table so that a new record kind is a
 * table description, not new SQL.
 */
#include "base/base.h"
#include "store/store_records.h"
#include "store/store_backend.h"
#include "store/store_chain.h"
#include "store/store_query.h"
#include "store/store_sessions.h"
#include "base/buf.h"
#include "base/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The statements built here are a few hundred bytes; the cap is far above them, so
 * running into it is a bug (buf_xaddf aborts) and never a truncated statement.
 */
#define SQL_CAP (1 << 14)

static size_t ncols(const char *const *cols)
{
	size_t n = 0;

	while (cols[n])
		n++;
	return n;
}

/*
 * Only identifiers are formatted into SQL text, and they come from the compiled-in
 * struct rec_table of each kind, never from a request; every value travels as a
 * "$N" parameter.
 *
 * INSERT ... ON CONFLICT (id) DO NOTHING: $1 id, $2.. values, then times and payload.
 *
 * An insert that does nothing on conflict and then a guarded update, rather than
 * one INSERT ... ON CONFLICT DO UPDATE: the two change counts tell created, updated
 * and unchanged apart the same way on both backends, and the update's
 * "payload <> $N" leaves updated_at alone when a client sends the same record
 * again.  On PostgreSQL payload is JSONB, compared as JSONB's text, so that key order
 * and spacing do not count but a number's spelling does (JSONB's own <> finds 1 and
 * 1.0 equal, and the update of one to the other was dropped); on SQLite it compares
 * the text.
 */
static void insert_sql(struct buf *b, const struct rec_table *t, size_t n)
{
	buf_xaddf(b, "INSERT INTO %s (%s", t->name, t->id_col);
	for (size_t i = 0; i < n; i++)
		buf_xaddf(b, ", %s", t->cols[i]);
	buf_xaddf(b, ", created_at, updated_at, payload) VALUES ($1");
	for (size_t i = 0; i < n + 3; i++)
		buf_xaddf(b, ", $%zu", i + 2);
	buf_xaddf(b, ") ON CONFLICT (%s) DO NOTHING", t->id_col);
}

/*
 * The payload an update writes, from the sent one, $N (caller frees).  With keep_writer, a
 * stored record whose recorded_by is another caller's keeps it and the sender becomes its
 * changed_by; a record without one (imported) is the sender's, as is the sender's own record,
 * whose earlier changed_by the new payload drops.  It reads the row the UPDATE changes, so a
 * writer committing in between cannot slip between the read and the write.  SQLite's
 * json_extract of an object is its minified text, as is the recorded_by the service sends.
 */
static char *payload_sql(size_t n, bool pg, bool keep_writer)
{
	char p[32];

	snprintf(p, sizeof(p), pg ? "$%zu::jsonb" : "$%zu", n + 3);
	if (!keep_writer)
		return xstrdup(p);
	if (pg)
		return xasprintf("CASE WHEN payload -> 'recorded_by' IS NULL OR payload -> "
				 "'recorded_by' = %s -> 'recorded_by' THEN %s ELSE %s || "
				 "jsonb_build_object('recorded_by', payload -> 'recorded_by', "
				 "'changed_by', %s -> 'recorded_by') END",
				 p, p, p, p);
	return xasprintf("CASE WHEN json_extract(payload, '$.recorded_by') IS NULL OR "
			 "json_extract(payload, '$.recorded_by') = json_extract(%s, "
			 "'$.recorded_by') THEN %s ELSE json_set(%s, '$.recorded_by', "
			 "json(json_extract(payload, '$.recorded_by')), '$.changed_by', "
			 "json(json_extract(%s, '$.recorded_by'))) END",
			 p, p, p, p);
}

/*
 * UPDATE only when the payload written differs from the stored one: $1 id, $2.. values,
 * updated_at, payload.
 */
static void update_sql(struct buf *b, const struct rec_table *t, size_t n, bool pg,
		       bool keep_writer)
{
	char *payload = payload_sql(n, pg, keep_writer);

	buf_xaddf(b, "UPDATE %s SET ", t->name);
	for (size_t i = 0; i < n; i++)
		buf_xaddf(b, "%s = $%zu, ", t->cols[i], i + 2);
	buf_xaddf(b, "updated_at = $%zu, payload = %s WHERE %s = $1 AND ", n + 2, payload,
		  t->id_col);
	if (pg)
		buf_xaddf(b, "payload::text <> (%s)::text", payload);
	else
		buf_xaddf(b, "payload <> (%s)", payload);
	free(payload);
}

enum status store_rec_put(struct store_conn *c, const struct rec_table *t,
			  const struct rec_write *w, enum rec_outcome *out, struct err *e)
{
	size_t n = ncols(t->cols);
	const char *p[REC_MAX_COLS + 4];
	int64_t changes = 0;
	struct buf sql;
	enum status rc;

	if (w->session_owner) {
		rc = store_session_start(c, w->id, w->session_owner, w->updated_at, e);
		if (rc != ST_OK)
			return rc;
	}
	buf_init(&sql, SQL_CAP);
	insert_sql(&sql, t, n);
	p[0] = w->id;
	memcpy(p + 1, w->values, n * sizeof(*p));
	p[n + 1] = w->created_at;
	p[n + 2] = w->updated_at;
	p[n + 3] = w->payload;
	rc = store_exec(c, sql.data, (int)n + 4, p, &changes, e);
	*out = REC_CREATED;
	if (rc == ST_OK && changes == 0) {
		buf_reset(&sql);
		update_sql(&sql, t, n, c->ops->kind == STORE_POSTGRES, w->keep_writer);
		p[n + 1] = w->updated_at;
		p[n + 2] = w->payload;
		rc = store_exec(c, sql.data, (int)n + 3, p, &changes, e);
		*out = changes > 0 ? REC_UPDATED : REC_UNCHANGED;
	}
	buf_release(&sql);
	return rc;
}

/*
 * store_rec_upsert runs both statements of store_rec_put in one write transaction,
 * so they see the same row, and the record's chain entry (rec_table.chained) in the same.
 */
struct upsert {
	const struct rec_table *t;
	const struct rec_write *w;
	enum rec_outcome *out;
};

static enum status upsert_tx(struct store_conn *c, void *ctx, struct err *e)
{
	struct upsert *u = ctx;
	enum status st = store_rec_put(c, u->t, u->w, u->out, e);

	if (st == ST_OK && u->t->chained && *u->out != REC_UNCHANGED)
		st = store_chain_append_record(c, u->t->name, u->w->id, e);
	return st;
}

enum status store_rec_upsert(struct store *st, const struct rec_table *t, const struct rec_write *w,
			     enum rec_outcome *out, struct err *e)
{
	struct upsert u = {t, w, out};

	return store_run_write(st, upsert_tx, &u, e);
}

/* The first columns of select_sql, in order. */
#define COL(member, kind) STORE_FIELD(struct rec_row, member, kind)
static const struct store_field rec_field[] = {COL(id, TEXT), COL(payload, TEXT),
					       COL(created_at, TIME), COL(updated_at, TIME)};
#undef COL
static const struct store_fields rec_fields = {rec_field, ARRAY_SIZE(rec_field),
					       sizeof(struct rec_row)};

/*
 * The order column is selected fifth (column 4), after the record's own fields:
 * the page's cursor is read from it, so the list and its cursor cannot disagree.
 */
static char *select_sql(const struct rec_table *t)
{
	return xasprintf("SELECT %s, payload, created_at, updated_at, %s FROM %s", t->id_col,
			 t->order_col, t->name);
}

enum status store_rec_get_conn(struct store_conn *c, const struct rec_table *t, const char *id,
			       struct rec_row *out, struct err *e)
{
	char *base = select_sql(t);
	char *sql = xasprintf("%s WHERE %s = $1", base, t->id_col);
	enum status rc = store_query_row(c, sql, 1, &id, &rec_fields, out, e);

	if (rc == ST_NOT_FOUND)
		rc = err_set(e, rc, "'%s' not found", id);
	free(sql);
	free(base);
	return rc;
}

enum status store_rec_get(struct store *st, const struct rec_table *t, const char *id,
			  struct rec_row *out, struct err *e)
{
	struct store_conn *c;
	enum status rc = store_conn_get(st, &c, e);

	memset(out, 0, sizeof(*out));
	if (rc != ST_OK)
		return rc;
	rc = store_rec_get_conn(c, t, id, out, e);
	store_conn_put(st, c);
	return rc;
}

/*
 * The sides of a REC_BY filter: the payload's recorded_by (the writer's), the recorded_by of its
 * object field named by the filter's column (an approval's decision), or either.
 */
enum by_side { BY_EITHER, BY_WRITER, BY_FIELD };

/*
 * REC_BY: compared as JSON values on PostgreSQL (jsonb: key order does not count), as the
 * minified text of both on SQLite, like owned_by; one parameter, used twice for BY_EITHER.
 * Each side is written as migration 020 indexes it: SQLite uses an index on an expression only
 * where the query writes that very expression.
 */
static void by_cond(struct qb *q, enum store_kind kind, const struct rec_filter *f,
		    enum by_side side, char *out, size_t size)
{
	char writer[96], field[128];
	int n = store_qb_param(q, f->value);

	if (kind == STORE_POSTGRES) {
		snprintf(writer, sizeof(writer), "payload->'recorded_by' = $%d::jsonb", n);
		snprintf(field, sizeof(field), "payload->'%s'->'recorded_by' = $%d::jsonb",
			 f->column, n);
	} else {
		snprintf(writer, sizeof(writer),
			 "json_extract(payload, '$.recorded_by') = json_extract($%d, '$')", n);
		snprintf(field, sizeof(field),
			 "json_extract(payload, '$.%s.recorded_by') = json_extract($%d, '$')",
			 f->column, n);
	}
	if (side == BY_EITHER)
		snprintf(out, size, "(%s OR %s)", writer, field);
	else
		snprintf(out, size, "%s", side == BY_WRITER ? writer : field);
}

/*
 * One condition as SQL text (parameters registered with q).
 *
 * The dialects differ here only: instr() and strpos() both give a 1-based position
 * and 0 when absent; a JSON array member is PostgreSQL's jsonb "?" and SQLite's
 * json_each(); a payload field is "->>" on PostgreSQL and json_extract() on SQLite,
 * both compared as text.  Column and field names come from the kind's table, the
 * compared values only as parameters.
 */
static void cond(struct qb *q, enum store_kind kind, const struct rec_filter *f, enum by_side side,
		 char *out, size_t size)
{
	const char *col = f->column;

	switch (f->op) {
	case REC_CONTAINS:
		snprintf(out, size, "%s(%s, $%d) > 0", kind == STORE_POSTGRES ? "strpos" : "instr",
			 col, store_qb_param(q, f->value));
		break;
	case REC_HAS:
		if (kind == STORE_POSTGRES)
			snprintf(out, size, "payload->'%s' ? $%d", col,
				 store_qb_param(q, f->value));
		else
			snprintf(out, size,
				 "EXISTS (SELECT 1 FROM json_each(payload, '$.%s') WHERE value = "
				 "$%d)",
				 col, store_qb_param(q, f->value));
		break;
	case REC_FIELD_EQ:
		if (kind == STORE_POSTGRES)
			snprintf(out, size, "payload->>'%s' = $%d", col,
				 store_qb_param(q, f->value));
		else
			snprintf(out, size, "json_extract(payload, '$.%s') = $%d", col,
				 store_qb_param(q, f->value));
		break;
	case REC_BY:
		by_cond(q, kind, f, side, out, size);
		break;
	case REC_MIN:
		snprintf(out, size, "%s >= $%d", col, store_qb_param(q, f->value));
		break;
	case REC_NONZERO:
		snprintf(out, size, "%s %s 0", col, strcmp(f->value, "true") == 0 ? ">" : "=");
		break;
	case REC_AFTER:
		snprintf(out, size, "%s > $%d", col, store_qb_param(q, f->value));
		break;
	case REC_NOT_AFTER:
		snprintf(out, size, "%s <= $%d", col, store_qb_param(q, f->value));
		break;
	default:
		snprintf(out, size, "%s = $%d", col, store_qb_param(q, f->value));
		break;
	}
}

static void where_and(struct qb *q, const char *frag)
{
	store_qb_add(q, q->where ? " AND " : " WHERE ");
	store_qb_add(q, frag);
	q->where = true;
}

/*
 * Alternatives: (a1 AND a1') OR (a2 ...), as one more AND-ed condition.
 *
 * An alternative none of whose filters was given becomes "1 = 0": it must match
 * nothing, or an OR with an always-true group would drop every other condition.
 */
static void where_alts(struct qb *q, enum store_kind kind, const struct rec_query *rq,
		       enum by_side side)
{
	char frag[256];
	int max_alt = 0;

	for (size_t i = 0; i < rq->nfilters; i++)
		if (rq->filters[i].value && rq->filters[i].alt > max_alt)
			max_alt = rq->filters[i].alt;
	if (max_alt == 0)
		return;
	store_qb_add(q, q->where ? " AND (" : " WHERE (");
	q->where = true;
	for (int a = 1; a <= max_alt; a++) {
		bool first = true;

		store_qb_add(q, a > 1 ? " OR (" : "(");
		for (size_t i = 0; i < rq->nfilters; i++) {
			if (rq->filters[i].alt != a || !rq->filters[i].value)
				continue;
			cond(q, kind, &rq->filters[i], side, frag, sizeof(frag));
			store_qb_add(q, first ? "" : " AND ");
			store_qb_add(q, frag);
			first = false;
		}
		store_qb_add(q, first ? "1 = 0)" : ")");
	}
	store_qb_add(q, ")");
}

/* rq's filters, each REC_BY filter on the given side. */
static void where(struct qb *q, enum store_kind kind, const struct rec_query *rq, enum by_side side)
{
	char frag[256];

	for (size_t i = 0; i < rq->nfilters; i++) {
		if (!rq->filters[i].value || rq->filters[i].alt != 0)
			continue;
		cond(q, kind, &rq->filters[i], side, frag, sizeof(frag));
		where_and(q, frag);
	}
	where_alts(q, kind, rq, side);
}

/* How many REC_BY filters rq applies. */
static size_t by_filters(const struct rec_query *rq)
{
	size_t n = 0;

	for (size_t i = 0; i < rq->nfilters; i++)
		n += rq->filters[i].op == REC_BY && rq->filters[i].value;
	return n;
}

static enum status count_rows(struct store *st, const struct rec_table *t,
			      const struct rec_query *rq, int64_t *total, struct err *e)
{
	char *sel = xasprintf("SELECT 1 FROM %s", t->name);
	enum status rc;
	struct qb q;

	/*
	 * The OR of both sides in one WHERE: each backend reads the two indexes of migration 020
	 * into one set of rows (PostgreSQL's BitmapOr, SQLite's MULTI-INDEX OR), a row on both
	 * sides once, and stops at the bound.
	 */
	store_qb_init(&q, sel);
	where(&q, store_kind(st), rq, BY_EITHER);
	rc = store_qb_count(st, &q, rq->total_bound, total, e);
	store_qb_release(&q);
	free(sel);
	return rc;
}

static void fill_page(struct rec_page *out, const struct store_rows *r, int limit)
{
	out->n = store_page_take(store_rows_count(r), limit, &out->more);
	out->rows = store_fields_collect(&rec_fields, r, out->n);
	if (out->n > 0) {
		out->last_ts = store_time_dup(store_rows_get(r, out->n - 1, 4));
		out->last_id = store_dup(store_rows_get(r, out->n - 1, 0));
	}
}

/* One side of by_list: its rows in the list's order, the first m of them. */
static void by_branch(struct qb *q, const struct rec_table *t, enum store_kind kind,
		      const struct rec_query *rq, enum by_side side, int64_t m)
{
	char *sel = select_sql(t), tail[200];

	store_qb_add(q, "SELECT * FROM (");
	store_qb_add(q, sel);
	q->where = false;
	where(q, kind, rq, side);
	store_qb_after(q, t->order_col, t->id_col, rq->after_ts, rq->after_id, false);
	snprintf(tail, sizeof(tail), " ORDER BY %s DESC, %s ASC LIMIT %lld) %s", t->order_col,
		 t->id_col, (long long)m, side == BY_WRITER ? "w" : "f");
	store_qb_add(q, tail);
	free(sel);
}

/*
 * The list of a query with one REC_BY filter: the UNION of its two sides, each read from its
 * own index of migration 020 in the list's order and cut at the page's end (a row of the page
 * is among the first offset + limit + 1 of its side), so a page reads about that many rows of
 * each side whatever the caller's share of the table.  UNION also drops the second copy of a
 * row that both sides hold.  The OR of the sides in one WHERE matches the same rows, but no
 * index returns it in order: PostgreSQL filtered the time index row by row, SQLite sorted every
 * row of the caller's.  The outer ORDER BY names the order and id columns by their places
 * (fifth and first, select_sql).
 */
static void by_list(struct qb *q, const struct rec_table *t, enum store_kind kind,
		    const struct rec_query *rq)
{
	int64_t m = (int64_t)rq->limit + 1 + (rq->after_ts ? 0 : rq->offset);

	store_qb_init(q, "");
	by_branch(q, t, kind, rq, BY_WRITER, m);
	store_qb_add(q, " UNION ");
	by_branch(q, t, kind, rq, BY_FIELD, m);
	store_qb_add(q, " ORDER BY 5 DESC, 1 ASC");
}

static void list_sql(struct qb *q, const struct rec_table *t, enum store_kind kind,
		     const struct rec_query *rq)
{
	char *sel, order[160];

	/*
	 * With two, a row may pass one on the writer's side and the other on the field's: no
	 * branch holds it, so such a query keeps the OR.
	 */
	if (by_filters(rq) == 1) {
		by_list(q, t, kind, rq);
		return;
	}
	sel = select_sql(t);
	store_qb_init(q, sel);
	where(q, kind, rq, BY_EITHER);
	store_qb_after(q, t->order_col, t->id_col, rq->after_ts, rq->after_id, false);
	snprintf(order, sizeof(order), " ORDER BY %s DESC, %s ASC", t->order_col, t->id_col);
	store_qb_add(q, order);
	free(sel);
}

enum status store_rec_list(struct store *st, const struct rec_table *t, const struct rec_query *rq,
			   struct rec_page *out, struct err *e)
{
	struct store_rows *r = NULL;
	enum status rc = ST_OK;
	struct qb q;

	memset(out, 0, sizeof(*out));
	out->total = -1;
	if (rq->want_total)
		rc = count_rows(st, t, rq, &out->total, e);
	list_sql(&q, t, store_kind(st), rq);
	if (rc == ST_OK)
		rc = store_qb_run_page(st, &q, rq->limit, rq->offset, rq->after_ts, &r, e);
	if (rc == ST_OK)
		fill_page(out, r, rq->limit);
	store_rows_free(r);
	store_qb_release(&q);
	return rc;
}

void store_rec_row_release(struct rec_row *r)
{
	store_fields_release(r, &rec_fields);
}

void store_rec_page_release(struct rec_page *p)
{
	if (!p)
		return;
	store_fields_free_all(p->rows, p->n, &rec_fields);
	free(p->last_ts);
	free(p->last_id);
	memset(p, 0, sizeof(*p));
}

/*
 * UPDATE ... WHERE id = $1 AND guard = $2 [AND later > $3]; sets follow.
 *
 * The guard (an approval's state = 'pending', and expires_at > now unless this is
 * the expiry itself) sits in the UPDATE's own WHERE, so the check and the write are
 * one statement: when two approvers race, exactly one changes the row (changes ==
 * 1) and the other learns it lost, on both backends, without a lock held between a
 * read and a write.
 */
static void cas_sql(struct buf *b, const struct rec_table *t, const struct rec_cas *w, size_t n)
{
	size_t k = w->later_col ? 4 : 3;

	buf_xaddf(b, "UPDATE %s SET ", t->name);
	for (size_t i = 0; i < n; i++)
		buf_xaddf(b, "%s = $%zu, ", w->set_cols[i], k++);
	buf_xaddf(b, "updated_at = $%zu, payload = $%zu WHERE %s = $1 AND %s = $2", k, k + 1,
		  t->id_col, w->guard_col);
	if (w->later_col)
		buf_xaddf(b, " AND %s > $3", w->later_col);
}

/* The statement of store_rec_cas and its parameters, for either way of running it. */
static int cas_params(const struct rec_table *t, const struct rec_cas *w, struct buf *sql,
		      const char **p)
{
	size_t n = ncols(w->set_cols), k = 0;

	cas_sql(sql, t, w, n);
	p[k++] = w->id;
	p[k++] = w->guard;
	if (w->later_col)
		p[k++] = w->now;
	for (size_t i = 0; i < n; i++)
		p[k++] = w->set_values[i];
	p[k++] = w->updated_at;
	p[k++] = w->payload;
	return (int)k;
}

enum status store_rec_cas_conn(struct store_conn *c, const struct rec_table *t,
			       const struct rec_cas *w, bool *won, struct err *e)
{
	const char *p[REC_MAX_COLS + 5];
	int64_t changes = 0;
	struct buf sql;
	enum status rc;
	int k;

	buf_init(&sql, SQL_CAP);
	k = cas_params(t, w, &sql, p);
	rc = store_exec(c, sql.data, k, p, &changes, e);
	*won = rc == ST_OK && changes == 1;
	buf_release(&sql);
	return rc;
}

enum status store_rec_cas(struct store *st, const struct rec_table *t, const struct rec_cas *w,
			  bool *won, struct err *e)
{
	struct store_conn *c;
	enum status rc = store_conn_get(st, &c, e);

	*won = false;
	if (rc != ST_OK)
		return rc;
	rc = store_rec_cas_conn(c, t, w, won, e);
	store_conn_put(st, c);
	return rc;
}

/* Ties on the order column are broken by id, so the same row wins every time. */
enum status store_rec_latest(struct store_conn *c, const struct rec_table *t, const char *col,
			     const char *value, struct store_rows **out, struct err *e)
{
	struct buf sql;
	enum status rc;

	buf_init(&sql, SQL_CAP);
	buf_xaddf(&sql, "SELECT %s", t->id_col);
	for (size_t i = 0; t->cols[i]; i++)
		buf_xaddf(&sql, ", %s", t->cols[i]);
	buf_xaddf(&sql, " FROM %s WHERE %s = $1 ORDER BY %s DESC, %s LIMIT 1", t->name, col,
		  t->order_col, t->id_col);
	rc = store_query(c, sql.data, 1, &value, out, e);
	buf_release(&sql);
	return rc;
}

/*
 * For records that never change once stored (imports): the same id with the same
 * payload is a re-run and changes nothing; the same id with another payload is a
 * 409, never an overwrite.
 */
enum status store_rec_put_once(struct store_conn *c, const struct rec_table *t,
			       const struct rec_write *w, enum rec_outcome *out, struct err *e)
{
	char *sql =
		xasprintf("SELECT 1 FROM %s WHERE %s = $1 AND payload = $2", t->name, t->id_col);
	const char *p[2] = {w->id, w->payload};
	bool same = false;
	enum status rc = store_row_exists(c, sql, 2, p, &same, e);

	free(sql);
	*out = same ? REC_UNCHANGED : REC_CREATED;
	if (rc != ST_OK || same)
		return rc;
	rc = store_rec_put(c, t, w, out, e);
	if (rc == ST_OK && *out != REC_CREATED)
		rc = err_set(e, ST_CONFLICT,
			     "'%s' is already stored with different content; records of this kind "
			     "never change",
			     w->id);
	return rc;
}
