/*
 * store_decisions.c - decisions (activity_decisions) on both backends:
 * insert, get and the filtered, paged list.
 *
 * Writing a decision, bumping its session's counters and appending it to the
 * audit chain (store_chain.h) is one transaction: on PostgreSQL one
 * statement (a data-modifying CTE) and the chain's, on SQLite two statements
 * a row inside BEGIN IMMEDIATE and the chain's once per batch.  The upsert
 * touches one session row, so the cost does not grow with the session.
 */
#include "base/base.h"
#include "store/store_decisions.h"
#include "store/store_backend.h"
#include "store/store_chain.h"
#include "store/store_query.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DECISION_COLS                                                                           \
	"decision_id, session_id, agent_id, actor, repository, action_type, policy_pack, "      \
	"rule_id, decision, severity, approver_group, correlation_id, decided_at, created_at, " \
	"updated_at, payload"

/*
 * $2.. of the decision, $13 its time, $15/$16 the counter increments.
 *
 * The session's counters live in its row and are bumped by each decision, so a
 * session list never counts decisions.  updated_at only moves forward, so a
 * decision that arrives late does not make its session look older; COALESCE fills
 * in the agent, actor, repository and pack only where the session has none yet.
 */
#define SESSION_UPSERT_TAIL                                                          \
	" ON CONFLICT (session_id) DO UPDATE SET "                                   \
	"updated_at = CASE WHEN excluded.updated_at > activity_sessions.updated_at " \
	"THEN excluded.updated_at ELSE activity_sessions.updated_at END, "           \
	"decision_count = activity_sessions.decision_count + 1, "                    \
	"blocked_count = activity_sessions.blocked_count + excluded.blocked_count, " \
	"approval_required_count = activity_sessions.approval_required_count + "     \
	"excluded.approval_required_count, "                                         \
	"agent_id = COALESCE(activity_sessions.agent_id, excluded.agent_id), "       \
	"actor = COALESCE(activity_sessions.actor, excluded.actor), "                \
	"repository = COALESCE(activity_sessions.repository, excluded.repository), " \
	"policy_pack = COALESCE(activity_sessions.policy_pack, excluded.policy_pack)"

#define SESSION_COLS                                                                \
	"session_id, agent_id, actor, repository, policy_pack, state, started_at, " \
	"updated_at, decision_count, blocked_count, approval_required_count, created_at, payload"

/*
 * $13 (decided_at) is also created_at and updated_at: a decision never changes
 * after it is written.
 */
static const char sqlite_decision_sql[] =
	"INSERT INTO activity_decisions (" DECISION_COLS ") VALUES "
	"($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $13, $14)";

static const char sqlite_session_sql[] =
	"INSERT INTO activity_sessions (" SESSION_COLS ") VALUES "
	"($2, $3, $4, $5, $7, 'active', $13, $13, 1, $15, $16, $13, '{}')" SESSION_UPSERT_TAIL;

/*
 * One statement, one round trip: the session upsert selects FROM the decision's
 * INSERT ... RETURNING, so a decision that fails (a duplicate id, 23505) bumps no
 * counter.  Parameters in a SELECT list get no type from a target column, hence
 * the casts.
 */
static const char pg_insert_sql[] =
	"WITH d AS (INSERT INTO activity_decisions (" DECISION_COLS ") VALUES "
	"($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::timestamptz, "
	"$13::timestamptz, $13::timestamptz, $14::jsonb) RETURNING 1) "
	"INSERT INTO activity_sessions (" SESSION_COLS ") "
	"SELECT $2::text, $3::text, $4::text, $5::text, $7::text, 'active', $13::timestamptz, "
	"$13::timestamptz, 1, $15::bigint, $16::bigint, $13::timestamptz, '{}'::jsonb FROM "
	"d" SESSION_UPSERT_TAIL;

/*
 * Bounds how long one transaction holds the write lock and how long the last
 * caller of a batch waits behind the others.
 */
#define BATCH_MAX 256 /* decisions written by one SQLite transaction at most */

/* One queued insert; lives on the stack of the thread that waits for it. */
struct batch_item {
	const struct decision_rec *d;
	const char *const *params;
	enum status st;
	struct err e;
	bool done;
	struct batch_item *next;
};

/*
 * Inserts one decision under a savepoint, so that a bad one fails alone.
 *
 * A failed ROLLBACK TO or RELEASE leaves the batch's transaction in a state no one
 * can vouch for: the connection is marked broken, and the pool closes it.
 */
static void insert_one(struct store_conn *c, struct batch_item *it)
{
	it->st = store_exec_script(c, "SAVEPOINT d", &it->e);
	if (it->st == ST_OK)
		it->st = store_exec(c, sqlite_decision_sql, 16, it->params, NULL, &it->e);
	if (it->st == ST_OK)
		it->st = store_exec(c, sqlite_session_sql, 16, it->params, NULL, &it->e);
	if (it->st != ST_OK && store_exec_script(c, "ROLLBACK TO d", NULL) != ST_OK)
		c->broken = true;
	if (store_exec_script(c, "RELEASE d", NULL) != ST_OK)
		c->broken = true;
}

/* Chains the rows of the batch that went in, in the order they went in. */
static enum status chain_batch(struct store_conn *c, struct batch_item *list, struct err *e)
{
	const struct decision_rec *rows[BATCH_MAX];
	size_t n = 0;

	for (struct batch_item *it = list; it; it = it->next)
		if (it->st == ST_OK)
			rows[n++] = it->d;
	return store_chain_append_decisions(c, rows, n, e);
}

/*
 * Writes a list of items in one transaction: one commit, one fsync.
 *
 * When the commit fails, no row of the batch is durable, so every item gets the
 * commit's error, also those whose own statements succeeded.
 */
static void write_batch(struct store *st, struct batch_item *list)
{
	struct store_conn *c = NULL;
	struct err e = {0};
	enum status rc = store_conn_get(st, &c, &e);

	if (rc == ST_OK)
		rc = store_tx_begin(c, STORE_TX_WRITE, &e);
	for (struct batch_item *it = list; rc == ST_OK && it; it = it->next)
		insert_one(c, it);
	if (rc == ST_OK)
		rc = chain_batch(c, list, &e);
	if (rc == ST_OK)
		rc = store_tx_commit(c, &e);
	for (struct batch_item *it = list; rc != ST_OK && it; it = it->next) {
		it->st = rc;
		it->e = e;
	}
	if (c)
		store_conn_put(st, c);
}

/* Takes up to BATCH_MAX queued items; called with the batch lock held. */
static struct batch_item *take_batch(struct store_batch *b)
{
	struct batch_item *list = b->head, *last = b->head;
	int n = 1;

	while (last->next && n < BATCH_MAX) {
		last = last->next;
		n++;
	}
	b->head = last->next;
	if (!b->head)
		b->tail = NULL;
	last->next = NULL;
	return list;
}

/*
 * Group commit: every caller queues its insert; whoever finds no writer at
 * work becomes the writer, commits everything queued so far, and wakes the
 * others.  Each caller returns only after its own row is durable.
 *
 * me lives on this thread's stack, which is safe because this thread does not
 * return before me.done is set under the lock, and the writer does not touch an
 * item after setting it.  Only one writer at a time (b->leader), so batches never
 * contend with each other for SQLite's write lock; a caller not in the batch just
 * written waits again and may become the next writer.
 */
static enum status insert_sqlite(struct store *st, const struct decision_rec *d,
				 const char *const *p, struct err *e)
{
	struct store_batch *b = &st->batch;
	struct batch_item me = {.d = d, .params = p};

	pthread_mutex_lock(&b->mu);
	if (b->tail)
		b->tail->next = &me;
	else
		b->head = &me;
	b->tail = &me;
	while (!me.done) {
		struct batch_item *list;

		if (b->leader || !b->head) {
			pthread_cond_wait(&b->cv, &b->mu);
			continue;
		}
		b->leader = true;
		list = take_batch(b);
		pthread_mutex_unlock(&b->mu);
		write_batch(st, list);
		pthread_mutex_lock(&b->mu);
		for (struct batch_item *it = list, *next; it; it = next) {
			next = it->next;
			it->done = true;
		}
		b->leader = false;
		pthread_cond_broadcast(&b->cv);
	}
	pthread_mutex_unlock(&b->mu);
	if (me.st != ST_OK && e)
		*e = me.e;
	return me.st;
}

/* The decision, its session's counters and its chain entry in one transaction. */
static enum status insert_pg(struct store *st, const struct decision_rec *d, const char *const *p,
			     struct err *e)
{
	struct store_conn *c = NULL;
	enum status rc = store_conn_get(st, &c, e);

	if (rc == ST_OK)
		rc = store_tx_begin(c, STORE_TX_WRITE, e);
	if (rc == ST_OK)
		rc = store_exec(c, pg_insert_sql, 16, p, NULL, e);
	if (rc == ST_OK)
		rc = store_chain_append_decisions(c, &d, 1, e);
	if (rc == ST_OK)
		rc = store_tx_commit(c, e);
	if (c)
		store_conn_put(st, c); /* rolls back what did not commit */
	return rc;
}

enum status store_decision_insert(struct store *st, const struct decision_rec *d, struct err *e)
{
	const char *blocked = strcmp(d->decision, "block") == 0 ? "1" : "0";
	const char *approval = strcmp(d->decision, "require_approval") == 0 ? "1" : "0";
	const char *p[16] = {d->decision_id, d->session_id,  d->agent_id,	d->actor,
			     d->repository,  d->action_type, d->policy_pack,	d->rule_id,
			     d->decision,    d->severity,    d->approver_group, d->correlation_id,
			     d->decided_at,  d->payload,     blocked,		approval};
	enum status rc = store_kind(st) == STORE_SQLITE ? insert_sqlite(st, d, p, e)
							: insert_pg(st, d, p, e);

	if (rc == ST_CONFLICT)
		return err_set(e, ST_CONFLICT, "decision '%s' already exists", d->decision_id);
	if (rc != ST_OK)
		err_wrap(e, "store decision");
	return rc;
}

enum status store_decision_get(struct store *st, const char *id, char **payload, struct err *e)
{
	static const char sql[] = "SELECT payload FROM activity_decisions WHERE decision_id = $1";
	enum status rc = store_run_text(st, sql, 1, &id, payload, e);

	return rc == ST_NOT_FOUND ? err_set(e, rc, "decision '%s' not found", id) : rc;
}

static void decision_where(struct qb *q, const void *filter)
{
	const struct decision_filter *f = filter;

	store_qb_filter(q, "session_id = $%d", f->session_id);
	store_qb_filter(q, "agent_id = $%d", f->agent_id);
	store_qb_filter(q, "repository = $%d", f->repository);
	store_qb_filter(q, "policy_pack = $%d", f->policy_pack);
	store_qb_filter(q, "decision = $%d", f->decision);
	store_qb_filter(q, "severity = $%d", f->severity);
	store_qb_filter(q, "action_type = $%d", f->action_type);
	store_qb_filter(q, "decided_at >= $%d", f->since);
	store_qb_filter(q, "decided_at < $%d", f->until);
}

static void fill_page(struct store_page *out, struct store_rows *r, int limit)
{
	size_t n = store_page_take(store_rows_count(r), limit, &out->more);

	out->items = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		out->items[i] = xstrdup(store_rows_get(r, i, 0));
	out->n = n;
	if (n > 0) {
		out->last_ts = store_time_dup(store_rows_get(r, n - 1, 1));
		out->last_id = xstrdup(store_rows_get(r, n - 1, 2));
	}
}

enum status store_decision_list(struct store *st, const struct decision_filter *f,
				struct store_page *out, struct err *e)
{
	struct store_rows *r = NULL;
	enum status rc = ST_OK;
	struct qb q;

	memset(out, 0, sizeof(*out));
	out->total = -1;
	if (f->want_total)
		rc = store_qb_total(st, "SELECT 1 FROM activity_decisions", decision_where, f,
				    f->total_bound, &out->total, e);
	if (rc != ST_OK)
		return rc;
	store_qb_init(&q, "SELECT payload, decided_at, decision_id FROM activity_decisions");
	decision_where(&q, f);
	store_qb_after(&q, "decided_at", "decision_id", f->after_ts, f->after_id, f->oldest_first);
	store_qb_add(&q, f->oldest_first ? " ORDER BY decided_at ASC, decision_id ASC"
					 : " ORDER BY decided_at DESC, decision_id ASC");
	rc = store_qb_run_page(st, &q, f->limit, f->offset, f->after_ts, &r, e);
	if (rc == ST_OK)
		fill_page(out, r, f->limit);
	store_rows_free(r);
	store_qb_release(&q);
	return rc;
}

void store_page_release(struct store_page *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->items[i]);
	free(p->items);
	free(p->last_ts);
	free(p->last_id);
	memset(p, 0, sizeof(*p));
}

static const char *const count_sql[] = {
	[ACTIVITY_DECISIONS_WITH_VALUE] =
		"SELECT count(*) FROM activity_decisions WHERE decision = $1",
	[ACTIVITY_DECISIONS_OF_SESSION] =
		"SELECT count(*) FROM activity_decisions WHERE session_id = $1",
	[ACTIVITY_DECISIONS_ORPHANED] =
		"SELECT count(*) FROM activity_decisions d WHERE NOT EXISTS (SELECT 1 FROM "
		"activity_sessions s WHERE s.session_id = d.session_id)",
	[ACTIVITY_SESSIONS_MISCOUNTED] =
		"SELECT count(*) FROM activity_sessions s LEFT JOIN (SELECT session_id, count(*) "
		"AS n, sum(CASE WHEN decision = 'block' THEN 1 ELSE 0 END) AS b, sum(CASE WHEN "
		"decision = 'require_approval' THEN 1 ELSE 0 END) AS a FROM activity_decisions "
		"GROUP BY session_id) d ON d.session_id = s.session_id WHERE s.decision_count <> "
		"COALESCE(d.n, 0) OR s.blocked_count <> COALESCE(d.b, 0) OR "
		"s.approval_required_count <> COALESCE(d.a, 0)",
};

enum status store_activity_count(struct store_conn *c, enum activity_count what, const char *value,
				 int64_t *out, struct err *e)
{
	return store_query_count(c, count_sql[what], value ? 1 : 0, &value, "activity", out, e);
}

static const char *const rows_sql[] = {
	[ACTIVITY_FIRST_PAGE_OF_VALUE] =
		"SELECT decided_at, decision_id FROM activity_decisions WHERE decision = $1 "
		"ORDER BY decided_at DESC, decision_id LIMIT $2",
	[ACTIVITY_SESSION_RECONSTRUCTION] =
		"SELECT decision_id, decided_at, payload FROM activity_decisions "
		"WHERE session_id = $1 ORDER BY decided_at, decision_id LIMIT $2",
};

enum status store_activity_rows(struct store_conn *c, enum activity_rows what, const char *value,
				int limit, struct store_rows **out, struct err *e)
{
	return store_query_limit(c, rows_sql[what], value, limit, out, e);
}
