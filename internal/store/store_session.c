/*
 * store_session.c - session summaries: read, list, and the descriptive
 * upsert of POST /sessions.  Counters change only with decisions.
 */
#include "base/base.h"
#include "store/store_activity.h"
#include "store/store_query.h"
#include "base/util.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SESSION_SELECT                                                                     \
	"SELECT session_id, agent_id, actor, repository, policy_pack, state, started_at, " \
	"updated_at, decision_count, blocked_count, approval_required_count, created_at, " \
	"payload FROM activity_sessions"

void session_row_release(struct session_row *s)
{
	if (!s)
		return;
	free(s->session_id);
	free(s->agent_id);
	free(s->actor);
	free(s->repository);
	free(s->policy_pack);
	free(s->state);
	free(s->started_at);
	free(s->updated_at);
	free(s->created_at);
	free(s->payload);
	memset(s, 0, sizeof(*s));
}

static int64_t num(const char *s)
{
	int64_t v = 0;

	if (s)
		str_to_i64(s, 0, INT64_MAX, &v);
	return v;
}

static void fill_row(struct session_row *s, const struct store_rows *r, size_t i)
{
	s->session_id = store_dup(store_rows_get(r, i, 0));
	s->agent_id = store_dup(store_rows_get(r, i, 1));
	s->actor = store_dup(store_rows_get(r, i, 2));
	s->repository = store_dup(store_rows_get(r, i, 3));
	s->policy_pack = store_dup(store_rows_get(r, i, 4));
	s->state = store_dup(store_rows_get(r, i, 5));
	s->started_at = store_time_dup(store_rows_get(r, i, 6));
	s->updated_at = store_time_dup(store_rows_get(r, i, 7));
	s->decision_count = num(store_rows_get(r, i, 8));
	s->blocked_count = num(store_rows_get(r, i, 9));
	s->approval_required_count = num(store_rows_get(r, i, 10));
	s->created_at = store_time_dup(store_rows_get(r, i, 11));
	s->payload = store_dup(store_rows_get(r, i, 12));
}

enum status store_session_get(struct store *st, const char *id, struct session_row *out,
			      struct err *e)
{
	struct store_rows *r = NULL;
	enum status rc =
		store_run_query(st, SESSION_SELECT " WHERE session_id = $1", 1, &id, &r, e);

	memset(out, 0, sizeof(*out));
	if (rc == ST_OK && store_rows_count(r) == 0)
		rc = err_set(e, ST_NOT_FOUND, "session '%s' not found", id);
	if (rc == ST_OK)
		fill_row(out, r, 0);
	store_rows_free(r);
	return rc;
}

enum status store_session_upsert(struct store *st, const struct session_upsert *u, bool *created,
				 struct err *e)
{
	static const char sql[] =
		"INSERT INTO activity_sessions (session_id, agent_id, actor, repository, "
		"policy_pack, state, started_at, updated_at, created_at, payload) VALUES "
		"($1, $2, $3, $4, $5, COALESCE($6, 'active'), $7, $7, $7, $8) "
		"ON CONFLICT (session_id) DO UPDATE SET "
		"agent_id = COALESCE(excluded.agent_id, activity_sessions.agent_id), "
		"actor = COALESCE(excluded.actor, activity_sessions.actor), "
		"repository = COALESCE(excluded.repository, activity_sessions.repository), "
		"policy_pack = COALESCE(excluded.policy_pack, activity_sessions.policy_pack), "
		"state = COALESCE($6, activity_sessions.state), "
		"updated_at = excluded.updated_at, "
		"payload = CASE WHEN $9 = '1' THEN excluded.payload "
		"ELSE activity_sessions.payload END";
	static const char exists_sql[] = "SELECT 1 FROM activity_sessions WHERE session_id = $1";
	const char *p[] = {u->session_id, u->agent_id,	  u->actor,
			   u->repository, u->policy_pack, u->state,
			   u->now,	  u->payload,	  u->replace_payload ? "1" : "0"};
	struct store_rows *r = NULL;
	struct store_conn *c;
	enum status rc = store_conn_get(st, &c, e);

	if (rc != ST_OK)
		return rc;
	rc = store_tx_begin(c, STORE_TX_WRITE, e);
	if (rc == ST_OK)
		rc = store_query(c, exists_sql, 1, p, &r, e);
	if (rc == ST_OK)
		*created = store_rows_count(r) == 0;
	if (rc == ST_OK)
		rc = store_exec(c, sql, (int)ARRAY_SIZE(p), p, NULL, e);
	if (rc == ST_OK)
		rc = store_tx_commit(c, e);
	store_rows_free(r);
	store_conn_put(st, c); /* rolls back what is still open */
	return err_ctx(rc, e, "store session");
}

static void session_where(struct qb *q, const struct session_filter *f)
{
	qb_filter(q, "agent_id = $%d", f->agent_id);
	qb_filter(q, "repository = $%d", f->repository);
	qb_filter(q, "policy_pack = $%d", f->policy_pack);
	qb_filter(q, "state = $%d", f->state);
}

static enum status session_total(struct store *st, const struct session_filter *f, int64_t *total,
				 struct err *e)
{
	enum status rc;
	struct qb q;

	qb_init(&q, "SELECT 1 FROM activity_sessions");
	session_where(&q, f);
	rc = qb_count(st, &q, f->total_bound, total, e);
	qb_release(&q);
	return rc;
}

enum status store_session_list(struct store *st, const struct session_filter *f,
			       struct session_list *out, struct err *e)
{
	struct store_rows *r = NULL;
	enum status rc;
	struct qb q;

	memset(out, 0, sizeof(*out));
	out->total = -1;
	rc = f->want_total ? session_total(st, f, &out->total, e) : ST_OK;
	if (rc != ST_OK)
		return rc;
	qb_init(&q, SESSION_SELECT);
	session_where(&q, f);
	/*
	 * created_at, unlike updated_at, never changes after the insert, so a session that gets
	 * new decisions while a client pages keeps its place and is neither skipped nor repeated.
	 */
	qb_after(&q, "created_at", "session_id", f->after_ts, f->after_id, false);
	qb_add(&q, " ORDER BY created_at DESC, session_id ASC");
	qb_page(&q, f->limit + 1, f->after_ts ? 0 : f->offset);
	if (rc == ST_OK)
		rc = store_run_query(st, q.sql.data, q.n, q.params, &r, e);
	if (rc == ST_OK) {
		size_t n = store_rows_count(r);

		out->more = n > (size_t)f->limit;
		out->n = out->more ? (size_t)f->limit : n;
		out->rows = xcalloc(out->n + 1, sizeof(*out->rows));
		for (size_t i = 0; i < out->n; i++)
			fill_row(&out->rows[i], r, i);
	}
	store_rows_free(r);
	qb_release(&q);
	return rc;
}

void session_list_release(struct session_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		session_row_release(&l->rows[i]);
	free(l->rows);
	memset(l, 0, sizeof(*l));
}
