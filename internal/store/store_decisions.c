/*
 * store_decisions.c - decisions (activity_decisions) on both backends:
 * insert, get and the filtered, paged list.
 *
 * Writing decisions is group commit on both backends: concurrent inserts queue,
 * and a writer writes the queued ones in one transaction (one multi-row INSERT of
 * the decisions, one upsert of their sessions with summed counters, their links of
 * the audit chain) and one commit.
 * Each caller is answered once its batch has committed; a batch that fails before
 * COMMIT is written again row by row, so a bad row fails alone.  The upsert touches
 * one row per session, so the cost does not grow with the session.  On PostgreSQL the
 * same statements have fixed texts over arrays and go in one round trip (pg_write_tx).
 */
#include "base/base.h"
#include "store/store_decisions.h"
#include "store/store_backend.h"
#include "store/store_chain.h"
#include "store/store_owner_sql.h"
#include "store/store_pg_batch.h"
#include "store/store_query.h"
#include "base/buf.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * A decision row: its columns, the placeholders of one row of them, and
 * decision_params(), which fills the parameters from a struct decision_rec.  Every
 * write path (a batch's multi-row INSERT, a row written alone) is built from these
 * three, so a column added to the row is added here and nowhere else.  $13
 * (decided_at) is also created_at and updated_at: a decision never changes after it
 * is written.  $15..$17 are its Idempotency-Key (caller, key, request hash; NULL
 * without one).
 */
#define DECISION_COLS STORE_DECISION_COLS("")
#define DECISION_ROW                                                                         \
	"($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $13, $14, $15, $16, " \
	"$17)"
#define DECISION_NPARAMS 17

static void decision_params(const struct decision_rec *d, const char **p)
{
	const char *v[DECISION_NPARAMS] = {
		d->decision_id,	  d->session_id,  d->agent_id,		 d->actor,
		d->repository,	  d->action_type, d->policy_pack,	 d->rule_id,
		d->decision,	  d->severity,	  d->approver_group,	 d->correlation_id,
		d->decided_at,	  d->payload,	  d->idempotency_caller, d->idempotency_key,
		d->request_sha256};

	memcpy(p, v, sizeof(v));
}

/*
 * The session's counters live in its row and are bumped by each write, so a session
 * list never counts decisions.  One row per session and transaction carries the sums
 * of that transaction's decisions.  updated_at only moves forward, so a decision that
 * arrives late does not make its session look older; COALESCE fills in the agent,
 * actor, repository and pack only where the session has none yet, and never in a session
 * recorded through POST /sessions (it has recorded_by): its owner described it there, and
 * another caller's decision must not complete that description (store_sessions.c).
 */
#define SESSION_COUNTERS_TAIL                                                           \
	" ON CONFLICT (session_id) DO UPDATE SET "                                      \
	"updated_at = CASE WHEN excluded.updated_at > activity_sessions.updated_at "    \
	"THEN excluded.updated_at ELSE activity_sessions.updated_at END, "              \
	"decision_count = activity_sessions.decision_count + excluded.decision_count, " \
	"blocked_count = activity_sessions.blocked_count + excluded.blocked_count, "    \
	"approval_required_count = activity_sessions.approval_required_count + "        \
	"excluded.approval_required_count"
/* the decision's value where the session has none and was never recorded (SQL's ELSE NULL) */
#define IF_UNRECORDED "CASE WHEN NOT activity_sessions.payload ? 'recorded_by' THEN excluded."
#define SESSION_UPSERT_TAIL                                                                     \
	SESSION_COUNTERS_TAIL                                                                   \
	", agent_id = COALESCE(activity_sessions.agent_id, " IF_UNRECORDED "agent_id END), "    \
	"actor = COALESCE(activity_sessions.actor, " IF_UNRECORDED "actor END), "               \
	"repository = COALESCE(activity_sessions.repository, " IF_UNRECORDED                    \
	"repository END), policy_pack = COALESCE(activity_sessions.policy_pack, " IF_UNRECORDED \
	"policy_pack END)"

/*
 * SQLite rewrites the entries of every index on a column that an UPDATE sets, even to the
 * value the column had: the COALESCEs above cost a session's three indexes on agent,
 * repository and pack a delete and an insert each, and their pages a write each, at every
 * decision (docs/benchmarks.md).  On SQLite the upsert sets the counters only and this fills
 * in, for the rare session that lacks one, what the session lacks ($1 the session, $2..$5 its
 * agent, actor, repository and pack, as in SESSION_ROW).  PostgreSQL compares the values and
 * keeps the one statement.
 */
#define SESSION_FILL                                                                    \
	"UPDATE activity_sessions SET agent_id = COALESCE(agent_id, $2), "              \
	"actor = COALESCE(actor, $3), repository = COALESCE(repository, $4), "          \
	"policy_pack = COALESCE(policy_pack, $5) WHERE session_id = $1 AND "            \
	"json_type(payload, '$.recorded_by') IS NULL AND "                              \
	"((agent_id IS NULL AND $2 IS NOT NULL) OR (actor IS NULL AND $3 IS NOT NULL) " \
	"OR (repository IS NULL AND $4 IS NOT NULL) OR (policy_pack IS NULL AND $5 IS NOT NULL))"
#define SESSION_FILL_NPARAMS 5

#define SESSION_COLS                                                                \
	"session_id, agent_id, actor, repository, policy_pack, state, started_at, " \
	"updated_at, decision_count, blocked_count, approval_required_count, created_at, payload"
/* $6 the first decision's time (started_at, created_at), $7 the latest, $8.. the sums */
#define SESSION_ROW	"($1, $2, $3, $4, $5, 'active', $6, $7, $8, $9, $10, $6, '{}')"
#define SESSION_NPARAMS 10

/*
 * Bounds how long one transaction holds its locks and how long the last caller of a
 * batch waits behind the others; 256 rows of 17 parameters stay far below both
 * backends' limits on parameters per statement.
 */
#define BATCH_MAX 256 /* decisions written by one transaction at most */

/*
 * Batches written at the same time.  SQLite has one writer, so a second batch would
 * only wait for its lock.  On PostgreSQL every batch holds the audit chain's head from its
 * chain statement to its COMMIT, so batches serialize there anyway: a second writer lets
 * the next batch insert its rows while one commits, and more writers only make batches
 * smaller, each paying the same fixed cost (benchmarks.md, "PostgreSQL's batch in two
 * round trips": 2 writers gave the best rate at 32 connections and less CPU per decision
 * than 4 at both 8 and 32).
 */
#define SQLITE_WRITERS 1
#define PG_WRITERS     2

/*
 * One queued insert; lives on the stack of the thread that waits for it.  Its thread waits
 * on its own condition variable, so that a writer wakes the callers of the batch it wrote and
 * the one caller that is to write next, not every thread in the queue.
 */
struct batch_item {
	const struct decision_rec *rec;
	enum status st;
	struct err e;
	pthread_cond_t cv;
	bool taken; /* in a batch being written: no longer in the queue */
	bool done;
	struct batch_item *next;
};

/*
 * A writer's hold on the queue: while its batch is not on its way (on PostgreSQL, until its
 * one flight is sent; on SQLite, until it is written), no other writer takes a batch.  The
 * next writer then sends its batch while this one commits (the server inserts its rows
 * meanwhile, and its chain statement waits for this batch's head), once batch_ready() says
 * enough callers queued: larger batches, each paying a transaction's fixed cost once.
 */
struct batch_gate {
	struct store_batch *b;
	int max; /* writers at most */
	bool open; /* still holding the queue */
};

/* One session's share of a transaction: the sums of its decisions there. */
struct session_sum {
	const char *session_id, *agent_id, *actor, *repository, *policy_pack;
	const char *started_at, *updated_at; /* its earliest and latest decision */
	int64_t n, blocked, approval;
	char num[3][24]; /* the sums as text */
};

/* Appends row to q with each $N renumbered $(N + base). */
static void add_row(struct buf *q, const char *row, int base)
{
	char num[16];

	while (*row) {
		size_t plain = strcspn(row, "$");
		char *end;
		long n;

		buf_xaddf(q, "%.*s", (int)plain, row);
		row += plain;
		if (!*row)
			break;
		n = strtol(row + 1, &end, 10);
		snprintf(num, sizeof(num), "$%ld", n + base);
		buf_xadds(q, num);
		row = end;
	}
}

/* The INSERT of n rows of row after head, and tail. */
static char *multi_row_sql(const char *head, const char *row, int nparams, size_t n,
			   const char *tail)
{
	struct buf q = BUF_INIT;

	buf_xadds(&q, head);
	for (size_t i = 0; i < n; i++) {
		buf_xadds(&q, i ? ", " : "");
		add_row(&q, row, (int)i * nparams);
	}
	buf_xadds(&q, tail);
	return buf_detach(&q, NULL);
}

/*
 * Runs head row... tail for n rows of nparams parameters each.  On PostgreSQL the n rows
 * go as one statement: one round trip instead of n.  SQLite runs in-process, where a
 * statement costs no round trip but compiling one does (a sixth of a batch's CPU when
 * each batch compiled its own multi-row text): there each row runs the one-row text,
 * compiled once and kept in the connection's cache.  A multi-row text, which changes
 * with the batch's size, is run once and not kept prepared (one_shot): every size kept
 * would take a slot of the connection's statement cache from the statements that are
 * run again and again.
 */
static enum status exec_rows(struct store_conn *c, const char *head, const char *row, int nparams,
			     const char *tail, size_t n, const char *const *p, struct err *e)
{
	size_t per = c->ops->kind == STORE_SQLITE ? 1 : n;
	char *sql = multi_row_sql(head, row, nparams, per, tail);
	enum status rc = ST_OK;

	c->one_shot = per > 1;
	for (size_t i = 0; rc == ST_OK && i < n; i += per)
		rc = store_exec(c, sql, (int)per * nparams, p + i * (size_t)nparams, NULL, e);
	c->one_shot = false;
	free(sql);
	return rc;
}

static enum status insert_decisions(struct store_conn *c, const struct decision_rec *const *rows,
				    size_t n, struct err *e)
{
	const char **p = xcalloc(n * DECISION_NPARAMS, sizeof(*p));
	enum status rc;

	for (size_t i = 0; i < n; i++)
		decision_params(rows[i], p + i * DECISION_NPARAMS);
	rc = exec_rows(c, "INSERT INTO activity_decisions (" DECISION_COLS ") VALUES ",
		       DECISION_ROW, DECISION_NPARAMS, "", n, p, e);
	free(p);
	return rc;
}

/* A row of a transaction and its place in it: sessions are summed in session order. */
struct ordered {
	const struct decision_rec *r;
	size_t i;
};

static int by_session(const void *a, const void *b)
{
	const struct ordered *x = a, *y = b;
	int c = strcmp(x->r->session_id, y->r->session_id);

	return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* Adds d to its session's sums; the first non-NULL of each descriptive column wins. */
static void add_to_sum(struct session_sum *s, const struct decision_rec *d)
{
	s->agent_id = s->agent_id ? s->agent_id : d->agent_id;
	s->actor = s->actor ? s->actor : d->actor;
	s->repository = s->repository ? s->repository : d->repository;
	s->policy_pack = s->policy_pack ? s->policy_pack : d->policy_pack;
	/* canonical UTC text has a fixed width, so text order is time order */
	if (strcmp(d->decided_at, s->started_at) < 0)
		s->started_at = d->decided_at;
	if (strcmp(d->decided_at, s->updated_at) > 0)
		s->updated_at = d->decided_at;
	s->n++;
	s->blocked += strcmp(d->decision, "block") == 0;
	s->approval += strcmp(d->decision, "require_approval") == 0;
}

/*
 * One sum per distinct session of rows, in session_id order: every transaction takes
 * the session rows' locks in the same order, so two batches (of one replica or of
 * several) touching the same sessions wait for each other instead of deadlocking.
 */
static size_t sum_sessions(const struct decision_rec *const *rows, size_t n,
			   struct session_sum *out)
{
	struct ordered *o = xcalloc(n, sizeof(*o));
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		o[i] = (struct ordered){rows[i], i};
	qsort(o, n, sizeof(*o), by_session);
	for (size_t i = 0; i < n; i++) {
		const struct decision_rec *d = o[i].r;

		if (k == 0 || strcmp(out[k - 1].session_id, d->session_id) != 0)
			out[k++] = (struct session_sum){.session_id = d->session_id,
							.started_at = d->decided_at,
							.updated_at = d->decided_at};
		add_to_sum(&out[k - 1], d);
	}
	free(o);
	return k;
}

static void session_params(struct session_sum *s, const char **p)
{
	snprintf(s->num[0], sizeof(s->num[0]), "%lld", (long long)s->n);
	snprintf(s->num[1], sizeof(s->num[1]), "%lld", (long long)s->blocked);
	snprintf(s->num[2], sizeof(s->num[2]), "%lld", (long long)s->approval);
	p[0] = s->session_id;
	p[1] = s->agent_id;
	p[2] = s->actor;
	p[3] = s->repository;
	p[4] = s->policy_pack;
	p[5] = s->started_at;
	p[6] = s->updated_at;
	p[7] = s->num[0];
	p[8] = s->num[1];
	p[9] = s->num[2];
}

/* One upsert for the sessions of rows: one row per session, with the sums. */
static enum status upsert_sessions(struct store_conn *c, const struct decision_rec *const *rows,
				   size_t n, struct err *e)
{
	struct session_sum *s = xcalloc(n, sizeof(*s));
	size_t k = sum_sessions(rows, n, s);
	const char **p = xcalloc(k * SESSION_NPARAMS, sizeof(*p));
	bool sqlite = c->ops->kind == STORE_SQLITE; /* SESSION_FILL says why */
	enum status rc;

	for (size_t i = 0; i < k; i++)
		session_params(&s[i], p + i * SESSION_NPARAMS);
	rc = exec_rows(c, "INSERT INTO activity_sessions (" SESSION_COLS ") VALUES ", SESSION_ROW,
		       SESSION_NPARAMS, sqlite ? SESSION_COUNTERS_TAIL : SESSION_UPSERT_TAIL, k, p,
		       e);
	for (size_t i = 0; sqlite && rc == ST_OK && i < k; i++)
		rc = store_exec(c, SESSION_FILL, SESSION_FILL_NPARAMS, p + i * SESSION_NPARAMS,
				NULL, e);
	free(p);
	free(s);
	return rc;
}

/*
 * A new session's owner is settled by the write that creates it.  The service reads a session's
 * owner before it queues a decision, and a decision that found no session carries its caller's
 * recorded_by as owner (struct decision_rec): two callers' first decisions in one new session
 * at once both do.  The write checks again while it holds the session: on SQLite in the one
 * writer's transaction, before its rows go in; on PostgreSQL after the sessions' upsert, which
 * holds the session's row (a transaction that created it commits first), leaving this
 * transaction's own decisions out of the first-decision probe.  Both refuse a session that
 * another caller owns by then; one whose owner is still unknown (no row, or none recorded)
 * passes.  Rows of several callers starting one session in one batch are written one by one
 * (owners_agree), so that the first written owns it and the others are refused.
 */
static enum status owner_refused(const char *session_id, struct err *e)
{
	return err_set(e, ST_FORBIDDEN, SESSION_OWNED_ELSEWHERE, session_id);
}

/* Whether each session that a row of rows may start gets its rows from that row's caller. */
static bool owners_agree(const struct decision_rec *const *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; rows[i]->owner && j < n; j++)
			if (j != i && strcmp(rows[j]->session_id, rows[i]->session_id) == 0 &&
			    (!rows[j]->owner || strcmp(rows[j]->owner, rows[i]->owner) != 0))
				return false;
	return true;
}

#define SQLITE_OWNER_TAKEN                                                                \
	"SELECT 1 FROM activity_sessions s WHERE s.session_id = $1 AND " OWNER_OF_SQLITE( \
		"s") " <> json_extract($2, '$')"

static enum status sqlite_owners_settle(struct store_conn *c,
					const struct decision_rec *const *rows, size_t n,
					struct err *e)
{
	enum status rc = ST_OK;

	for (size_t i = 0; rc == ST_OK && i < n; i++) {
		const char *p[] = {rows[i]->session_id, rows[i]->owner};
		bool taken = false;

		if (!rows[i]->owner)
			continue;
		rc = store_row_exists(c, SQLITE_OWNER_TAKEN, 2, p, &taken, e);
		if (rc == ST_OK && taken)
			rc = owner_refused(rows[i]->session_id, e);
	}
	return rc;
}

/*
 * PostgreSQL's check is a step of the batch's one round trip, so it cannot answer with rows
 * that the client would read before COMMIT: a session owned by another caller fails the
 * statement instead (a division by zero, which nothing else in the batch can raise), and the
 * step's index tells pg_write_tx that the owner refused.  $1 and $2 the sessions and owners
 * of the rows that carry one, $3 every decision id of the transaction.  Each session is read
 * by a subquery on its key, not by a join: the plan is made once per connection, often while
 * the tables are still empty and without statistics, and a join was then planned as a hash
 * join over a scan of all sessions, kept as the tables grew (1.2 ms a batch after 15,000 new
 * sessions, docs/benchmarks.md); a lookup by key is the cheaper plan at every size.
 */
#define PG_OWNER_BEFORE_THESE OWNER_OF_PG_WHERE("s", " AND d.decision_id <> ALL ($3::text[])")
#define PG_OWNERS_SQL                                                                          \
	"SELECT 1 / CASE WHEN EXISTS (SELECT 1 FROM unnest($1::text[], $2::jsonb[]) AS u(id, " \
	"owner) WHERE (SELECT " PG_OWNER_BEFORE_THESE " FROM activity_sessions s WHERE "       \
	"s.session_id = u.id COLLATE \"C\") <> u.owner) THEN 0 ELSE 1 END"
#define PG_OWNERS_NPARAMS 3

struct pg_owners {
	struct buf a[PG_OWNERS_NPARAMS];
	const char *v[PG_OWNERS_NPARAMS];
	bool any; /* a row carries an owner: the step runs */
};

static enum status pg_owners_arrays(struct pg_owners *o, const struct decision_rec *const *rows,
				    size_t n, struct err *e)
{
	const char **p = xcalloc(2 * n, sizeof(*p));
	const char **ids = xcalloc(n, sizeof(*ids));
	size_t k = 0;
	enum status st;

	for (size_t i = 0; i < n; i++) {
		ids[i] = rows[i]->decision_id;
		if (rows[i]->owner) {
			p[2 * k] = rows[i]->session_id;
			p[2 * k + 1] = rows[i]->owner;
			k++;
		}
	}
	st = store_pg_array(&o->a[0], p, k, 2, e);
	if (st == ST_OK)
		st = store_pg_array(&o->a[1], p + 1, k, 2, e);
	if (st == ST_OK)
		st = store_pg_array(&o->a[2], ids, n, 1, e);
	for (size_t i = 0; i < PG_OWNERS_NPARAMS; i++)
		o->v[i] = o->a[i].data;
	free(ids);
	free(p);
	return st;
}

/* The step's arrays; none when no row carries an owner (the batch then has no such step). */
static enum status pg_owners_fill(struct pg_owners *o, const struct decision_rec *const *rows,
				  size_t n, struct err *e)
{
	o->any = false;
	for (size_t i = 0; i < PG_OWNERS_NPARAMS; i++) {
		o->a[i] = (struct buf)BUF_INIT;
		o->v[i] = NULL;
	}
	for (size_t i = 0; i < n; i++)
		o->any = o->any || rows[i]->owner != NULL;
	return o->any ? pg_owners_arrays(o, rows, n, e) : ST_OK;
}

static void pg_owners_release(struct pg_owners *o)
{
	for (size_t i = 0; i < PG_OWNERS_NPARAMS; i++)
		buf_release(&o->a[i]);
}

/*
 * The one point of every write transaction of decisions (a batch, or a row written
 * alone after its batch failed) where its rows are inserted and not yet committed:
 * rows are exactly the decisions this transaction writes, in the order inserted.
 * The audit hash chain (store_chain.h) appends its links here, so that a chain link
 * and its decision commit together or not at all, and a batch takes the chain's head
 * once for all its rows.
 */
static enum status batch_before_commit(struct store_conn *c, const struct decision_rec *const *rows,
				       size_t n, struct err *e)
{
	return store_chain_append_decisions(c, rows, n, e);
}

/*
 * PostgreSQL's batch: statements whose text is the same whatever the batch's size, so each
 * is parsed and planned once per connection (prepared), every column of the rows
 * travelling as one array parameter.  The columns and casts follow DECISION_ROW and
 * SESSION_ROW.
 */
#define PG_DECISIONS_SQL                                                                           \
	"INSERT INTO activity_decisions (" DECISION_COLS ") SELECT a1, a2, a3, a4, a5, a6, a7, "   \
	"a8, a9, a10, a11, a12, a13, a13, a13, a14, a15, a16, a17 FROM (SELECT unnest($1::text[])" \
	" AS a1, unnest($2::text[]) AS a2, unnest($3::text[]) AS a3, unnest($4::text[]) AS a4, "   \
	"unnest($5::text[]) AS a5, unnest($6::text[]) AS a6, unnest($7::text[]) AS a7, "           \
	"unnest($8::text[]) AS a8, unnest($9::text[]) AS a9, unnest($10::text[]) AS a10, "         \
	"unnest($11::text[]) AS a11, unnest($12::text[]) AS a12, unnest($13::timestamptz[]) AS "   \
	"a13, unnest($14::jsonb[]) AS a14, unnest($15::text[]) AS a15, unnest($16::text[]) AS "    \
	"a16, unnest($17::text[]) AS a17) AS u"
#define PG_SESSIONS_SQL                                                                            \
	"INSERT INTO activity_sessions (" SESSION_COLS ") SELECT a1, a2, a3, a4, a5, "             \
	"'active'::text, a6, a7, a8, a9, a10, a6, '{}'::jsonb FROM (SELECT unnest($1::text[]) AS " \
	"a1, unnest($2::text[]) AS a2, unnest($3::text[]) AS a3, unnest($4::text[]) AS a4, "       \
	"unnest($5::text[]) AS a5, unnest($6::timestamptz[]) AS a6, unnest($7::timestamptz[]) AS " \
	"a7, unnest($8::bigint[]) AS a8, unnest($9::bigint[]) AS a9, unnest($10::bigint[]) AS "    \
	"a10) AS u" SESSION_UPSERT_TAIL

/* The array parameters of a batch's decisions and sessions (one per column). */
struct pg_arrays {
	struct buf d[DECISION_NPARAMS], s[SESSION_NPARAMS];
	const char *dv[DECISION_NPARAMS], *sv[SESSION_NPARAMS];
};

/* Each of the np columns of the n rows of row-major p as an array literal into b, v. */
static enum status to_arrays(const char *const *p, size_t n, size_t np, struct buf *b,
			     const char **v, struct err *e)
{
	enum status st = ST_OK;

	for (size_t k = 0; st == ST_OK && k < np; k++) {
		st = store_pg_array(&b[k], p + k, n, np, e);
		v[k] = b[k].data;
	}
	return st;
}

static enum status pg_arrays_fill(struct pg_arrays *a, const struct decision_rec *const *rows,
				  size_t n, struct err *e)
{
	const char **p = xcalloc(n * DECISION_NPARAMS, sizeof(*p));
	struct session_sum *s = xcalloc(n, sizeof(*s));
	size_t k = sum_sessions(rows, n, s);
	enum status st;

	for (size_t i = 0; i < DECISION_NPARAMS; i++)
		a->d[i] = (struct buf)BUF_INIT;
	for (size_t i = 0; i < SESSION_NPARAMS; i++)
		a->s[i] = (struct buf)BUF_INIT;
	for (size_t i = 0; i < n; i++)
		decision_params(rows[i], p + i * DECISION_NPARAMS);
	st = to_arrays(p, n, DECISION_NPARAMS, a->d, a->dv, e);
	for (size_t i = 0; i < k; i++)
		session_params(&s[i], p + i * SESSION_NPARAMS); /* p holds n >= k rows of 17 */
	if (st == ST_OK)
		st = to_arrays(p, k, SESSION_NPARAMS, a->s, a->sv, e);
	free(s);
	free(p);
	return st;
}

static void pg_arrays_release(struct pg_arrays *a)
{
	for (size_t i = 0; i < DECISION_NPARAMS; i++)
		buf_release(&a->d[i]);
	for (size_t i = 0; i < SESSION_NPARAMS; i++)
		buf_release(&a->s[i]);
}

/*
 * write_tx on PostgreSQL in one round trip (libpq's pipeline): BEGIN, the decisions, the
 * sessions, the chain's step (store_chain_pg_step: the server takes the head and links the
 * rows) and COMMIT, the statements of write_tx in the same order and transaction.  g is
 * released once the flight is sent: the next writer may send its batch, whose rows the
 * server inserts while this one commits, and whose chain step waits for this one's head.
 * A failure before COMMIT wrote nothing (*rows_failed); one of COMMIT itself leaves the
 * outcome unknown.
 */
static void gate_release(struct batch_gate *g);

static void gate_sent(void *g)
{
	gate_release(g);
}

enum { PG_STEP_BEGIN, PG_STEP_OWNERS = 3 };

/* The steps of pg_write_tx in order, the owners' check only when a row carries an owner. */
static size_t pg_steps(struct pg_step *steps, const struct pg_arrays *a, const struct pg_owners *o,
		       const struct chain_pg_step *ch)
{
	size_t k = 0;

	steps[k++] = (struct pg_step){"BEGIN", 0, NULL};
	steps[k++] = (struct pg_step){PG_DECISIONS_SQL, DECISION_NPARAMS, a->dv};
	steps[k++] = (struct pg_step){PG_SESSIONS_SQL, SESSION_NPARAMS, a->sv};
	if (o->any)
		steps[k++] = (struct pg_step){PG_OWNERS_SQL, PG_OWNERS_NPARAMS, o->v};
	steps[k++] = ch->step;
	steps[k++] = (struct pg_step){"COMMIT", 0, NULL};
	return k;
}

/*
 * Whether the pipeline's failure rc at step failed is the owners' check refusing: its division
 * by zero (SQLSTATE 22012, which store_pg_error leaves ST_INTERNAL), not a lost connection or a
 * timeout met at that step.
 */
static bool pg_owner_refused(const struct pg_owners *o, enum status rc, size_t failed)
{
	return o->any && failed == PG_STEP_OWNERS && rc == ST_INTERNAL;
}

/* What a failure of step failed (of n) says: the rows' fault (nothing written) or not. */
static bool pg_rows_failed(const struct decision_rec *const *rows, size_t n, bool refused,
			   size_t failed, size_t nsteps, struct err *e)
{
	if (refused) {
		err_clear(e);
		owner_refused(n == 1 ? rows[0]->session_id : "(one of the batch)", e);
	}
	if (failed == nsteps - 1)
		err_wrap(e, "commit");
	return failed > PG_STEP_BEGIN && failed < nsteps - 1;
}

static enum status pg_write_tx(struct store_conn *c, const struct decision_rec *const *rows,
			       size_t n, struct batch_gate *g, bool *rows_failed, struct err *e)
{
	struct chain_pg_step ch = {0};
	struct pg_owners o;
	struct pg_arrays a;
	size_t failed = 0, k = 0;
	enum status rc = pg_arrays_fill(&a, rows, n, e);
	enum status owners = pg_owners_fill(&o, rows, n, rc == ST_OK ? e : NULL);

	if (rc == ST_OK)
		rc = owners;
	store_seal_tx_begin(c); /* BEGIN travels in the pipeline */
	if (rc == ST_OK)
		rc = store_chain_pg_step(c, rows, n, &ch, e);
	*rows_failed = rc != ST_OK; /* too large together: each row alone may fit */
	if (rc == ST_OK) {
		struct pg_step steps[6];
		const struct pg_sent sent = {gate_sent, g};
		bool refused;

		k = pg_steps(steps, &a, &o, &ch);
		rc = store_pg_pipeline(c, steps, k, NULL, &failed, &sent, e);
		refused = rc != ST_OK && pg_owner_refused(&o, rc, failed);
		if (rc != ST_OK)
			*rows_failed = pg_rows_failed(rows, n, refused, failed, k, e);
		if (refused)
			rc = ST_FORBIDDEN;
	}
	if (rc == ST_OK)
		c->wrote = true;
	c->saw_full = c->saw_full || rc == ST_STORAGE_FULL;
	if (rc != ST_OK && failed > PG_STEP_BEGIN) { /* BEGIN ran: roll back what is left open */
		c->in_tx = true;
		c->tx_write = true;
		store_tx_rollback(c);
	}
	if (rc != ST_OK)
		store_seal_tx_undone(c); /* whatever failed, nothing was committed ... */
	if (rc != ST_OK && k > 0 && failed == k - 1)
		store_seal_tx_unknown(c); /* ... unless the COMMIT was lost on its way back */
	store_chain_pg_step_release(&ch);
	pg_owners_release(&o);
	pg_arrays_release(&a);
	return rc;
}

/*
 * Writes rows and their sessions' sums in one transaction: one commit, one fsync.
 * *rows_failed tells that the transaction began and one of its statements failed, so
 * that it wrote nothing and the database was reachable and writable: a failure that
 * the rows may have caused.
 */
static enum status write_tx(struct store_conn *c, const struct decision_rec *const *rows, size_t n,
			    struct batch_gate *g, bool *rows_failed, struct err *e)
{
	enum status rc;

	if (n > 1 && !owners_agree(rows, n)) {
		*rows_failed = true;
		return err_set(e, ST_CONFLICT, "several callers start one session: one by one");
	}
	if (c->ops->kind == STORE_POSTGRES)
		return pg_write_tx(c, rows, n, g, rows_failed, e);
	rc = store_tx_begin(c, STORE_TX_WRITE, e);
	*rows_failed = false;
	if (rc != ST_OK)
		return rc;
	rc = sqlite_owners_settle(c, rows, n, e);
	if (rc == ST_OK)
		rc = insert_decisions(c, rows, n, e);
	if (rc == ST_OK)
		rc = upsert_sessions(c, rows, n, e);
	if (rc == ST_OK)
		rc = batch_before_commit(c, rows, n, e);
	if (rc != ST_OK) {
		store_tx_rollback(c);
		*rows_failed = true;
		return rc;
	}
	return store_tx_commit(c, e);
}

/*
 * After a batch's transaction failed before COMMIT (it wrote nothing), each of its
 * rows is written again in a transaction of its own, so a bad row (a duplicate id, a
 * value the database refuses) fails alone and every other row is written once.
 */
static void write_each(struct store_conn *c, struct batch_item *const *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct batch_item *it = items[i];
		bool rows_failed;

		if (c->broken) {
			it->st = err_set(&it->e, ST_UNAVAILABLE, "database connection lost");
			continue;
		}
		it->st = write_tx(c, &it->rec, 1, NULL, &rows_failed, &it->e);
	}
}

static void write_items(struct store_conn *c, struct batch_item *const *items, size_t n,
			struct batch_gate *g, bool settle);
static void write_settled(struct store_conn *c, struct batch_item *const *items, size_t n);

/*
 * After a batch's transaction failed before COMMIT: its two halves, each in one transaction,
 * and a half that fails again the same way, down to the bad row alone.  One bad row among n
 * costs about log2(n) commits instead of n: a bad row that a caller can send at will (two
 * requests with one Idempotency-Key at once, whose second fails the unique index) no longer
 * makes every other caller of its batch pay a commit of its own.
 */
static void write_halves(struct store_conn *c, struct batch_item *const *items, size_t n)
{
	if (n <= 1 || c->broken) {
		write_each(c, items, n);
		return;
	}
	write_items(c, items, n / 2, NULL, false);
	write_items(c, items + n / 2, n - n / 2, NULL, false);
}

/* Whether a batch that failed with rc may be written again, its rows fewer or alone. */
static bool batch_retry(const struct store_conn *c, enum status rc, bool rows_failed, size_t n)
{
	return rows_failed && n > 1 && rc != ST_UNAVAILABLE && !c->broken;
}

/*
 * Writes n items in one transaction (g: the writer's hold on the queue, or NULL); when one of
 * its statements failed, in halves (write_halves).  Never after a failed COMMIT: a connection
 * lost during COMMIT leaves its outcome unknown (the server may have committed before the
 * reply was lost), and writing the rows again could store them twice, so every caller gets
 * the error and decides.  Nor when the database was unavailable (no connection, a busy SQLite
 * file, a timeout, a lost connection): each row alone would wait for it again, one after the
 * other.  Nor for a batch of one, whose error is its own.  With settle (the queue's batch, not
 * a retry) the retry is write_settled's.
 */
static void write_items(struct store_conn *c, struct batch_item *const *items, size_t n,
			struct batch_gate *g, bool settle)
{
	/* an array of pointers: NOLINTNEXTLINE(bugprone-sizeof-expression) */
	const struct decision_rec **rows = xcalloc(n, sizeof(*rows));
	bool rows_failed = false;
	struct err e = {0};
	enum status rc;

	for (size_t i = 0; i < n; i++)
		rows[i] = items[i]->rec;
	rc = write_tx(c, rows, n, g, &rows_failed, &e);
	gate_release(g);
	free(rows);
	if (!batch_retry(c, rc, rows_failed, n)) {
		for (size_t i = 0; i < n; i++) {
			items[i]->st = rc;
			items[i]->e = e;
		}
	} else if (settle) {
		write_settled(c, items, n);
	} else {
		write_halves(c, items, n);
	}
}

/*
 * A batch that failed is written again: its rows that start no session (the read found it,
 * struct decision_rec's owner) in one transaction, as they would have been had they come
 * alone (in halves when it fails again), and only those that start one each alone, so that
 * the first written owns its session.  A write's owner check that refuses a row (two callers
 * raced to start one session) or several callers starting one session in the batch fail the
 * whole transaction; without this, every other caller of the batch paid a transaction of its
 * own for it, which a caller holding two tokens could bring about at will.  A batch without
 * such rows goes to write_halves at once.
 */
static void write_settled(struct store_conn *c, struct batch_item *const *items, size_t n)
{
	/* an array of pointers: NOLINTNEXTLINE(bugprone-sizeof-expression) */
	struct batch_item **sorted = xcalloc(n, sizeof(*sorted));
	size_t plain = 0;

	for (size_t i = 0; i < n; i++)
		if (!items[i]->rec->owner)
			sorted[plain++] = items[i];
	for (size_t i = 0, k = plain; i < n; i++)
		if (items[i]->rec->owner)
			sorted[k++] = items[i];
	if (plain > 1 && plain < n)
		write_items(c, sorted, plain, NULL, false);
	else
		write_halves(c, sorted, plain);
	write_each(c, sorted + plain, n - plain);
	free(sorted);
}

/* Writes the batch in list on a connection of st (write_items). */
static void write_batch(struct store *st, struct batch_item *list, struct batch_gate *g)
{
	struct store_conn *c = NULL;
	struct batch_item **items;
	struct err e = {0};
	size_t n = 0, i = 0;
	enum status rc;

	for (struct batch_item *it = list; it; it = it->next)
		n++;
	/* an array of pointers: NOLINTNEXTLINE(bugprone-sizeof-expression) */
	items = xcalloc(n, sizeof(*items));
	for (struct batch_item *it = list; it; it = it->next)
		items[i++] = it;
	rc = store_conn_get(st, &c, &e);
	if (rc == ST_OK)
		write_items(c, items, n, g, true);
	gate_release(g);
	for (i = 0; rc != ST_OK && i < n; i++) {
		items[i]->st = rc;
		items[i]->e = e;
	}
	store_conn_put(st, c);
	free(items);
}

/* Takes up to BATCH_MAX queued items, *taken of them; called with the batch lock held. */
static struct batch_item *take_batch(struct store_batch *b, int *taken)
{
	struct batch_item *list = b->head, *last = b->head;
	int n = 1;

	last->taken = true;
	while (last->next && n < BATCH_MAX) {
		last = last->next;
		last->taken = true;
		n++;
	}
	b->head = last->next;
	if (!b->head)
		b->tail = NULL;
	last->next = NULL;
	b->queued -= n;
	b->writing += n;
	*taken = n;
	return list;
}

/*
 * Whether a writer may take the queue now, given that fewer than the writers allowed are at
 * work and none is before its send: when none is at work, or when as many callers queue as
 * rows are being written.  A second writer that started as soon as the first had sent would
 * take the one or two callers queued at that moment, and every batch would pay a
 * transaction's fixed cost for a few rows; waiting for a batch as large as the one in flight
 * (or for that one to end) keeps batches large and still lets the next one's rows be
 * inserted while the one before commits (benchmarks.md, "One round trip").
 */
static bool batch_ready(const struct store_batch *b)
{
	return b->writers == 0 || b->queued >= b->writing;
}

/*
 * Wakes the first queued caller when a writer's place is free, so that it writes the queue's
 * next batch.  Called with the batch lock held.
 */
static void wake_next_writer(struct store_batch *b, int max)
{
	if (b->head && b->writers < max && b->opening == 0 && batch_ready(b))
		pthread_cond_signal(&b->head->cv);
}

/* Ends g's hold on the queue (once) and wakes the next writer; called without the lock. */
static void gate_release(struct batch_gate *g)
{
	if (!g || !g->open)
		return;
	pthread_mutex_lock(&g->b->mu);
	g->open = false;
	g->b->opening--;
	wake_next_writer(g->b, g->max);
	pthread_mutex_unlock(&g->b->mu);
}

/*
 * Writes the queue's next batch as one of its writers: the lock is released while it writes.
 * Each caller of the batch is then marked done and woken, and so is the caller to write next.
 * A writer that leaves callers queued behind its batch wakes the next one once its batch holds
 * the chain's head (struct batch_gate), when another writer may work (PostgreSQL's second
 * writer).  Called with the batch lock held.
 */
static void write_next(struct store *st, struct store_batch *b, int max)
{
	struct batch_gate g = {b, max, true};
	struct batch_item *list;
	int n;

	b->writers++;
	b->opening++;
	list = take_batch(b, &n);
	pthread_mutex_unlock(&b->mu);
	write_batch(st, list, &g);
	pthread_mutex_lock(&b->mu);
	for (struct batch_item *it = list, *next; it; it = next) {
		next = it->next;
		it->done = true;
		pthread_cond_signal(&it->cv);
	}
	b->writers--;
	b->writing -= n;
	wake_next_writer(b, max);
}

/*
 * Takes me, still queued, out of the queue: its caller's request deadline passed
 * before a writer took it, so it is never written.  Called with the batch lock held.
 */
static enum status leave_queue(struct store_batch *b, struct batch_item *me, struct err *e)
{
	struct batch_item *prev = NULL;

	for (struct batch_item *it = b->head; it != me; it = it->next)
		prev = it;
	if (prev)
		prev->next = me->next;
	else
		b->head = me->next;
	if (b->tail == me)
		b->tail = prev;
	b->queued--;
	return err_set(e, ST_TIMEOUT, "request deadline passed waiting to write the decision");
}

/*
 * Group commit: every caller queues its insert; whoever finds the queue non-empty and
 * fewer than max writers at work becomes a writer, writes up to BATCH_MAX of what is
 * queued in one transaction, and wakes that batch's callers and the next writer.  Each caller
 * returns only after its own row is durable (or has failed).  No one waits for a batch to fill:
 * under light load a writer takes its own row alone; under load the rows queued during one commit
 * become the next batch, so a caller waits at most for the commit in flight and its own.
 *
 * A caller waits in the queue until its request deadline at most: a row still queued
 * then is taken out and gets ST_TIMEOUT (HTTP 503), having written nothing.  A row
 * already in a batch waits for that batch's outcome, which is the outcome of its write.
 *
 * me lives on this thread's stack, which is safe because this thread does not return
 * before me.done is set under the lock (or before it took me out of the queue), and a
 * writer does not touch an item after setting it and signalling its condition variable,
 * both under the lock.  A caller not in the batch just written waits again and may become
 * the next writer.
 */
static enum status insert_batched(struct store *st, const struct decision_rec *d, int max,
				  struct err *e)
{
	struct store_batch *b = &st->batch;
	struct batch_item me = {.rec = d};

	pthread_cond_init(&me.cv, NULL);
	pthread_mutex_lock(&b->mu);
	if (b->tail)
		b->tail->next = &me;
	else
		b->head = &me;
	b->tail = &me;
	b->queued++;
	while (!me.done) {
		if (!me.taken && store_deadline_passed()) {
			me.st = leave_queue(b, &me, &me.e);
			wake_next_writer(b, max);
			break;
		}
		if (b->writers >= max || b->opening > 0 || !b->head || !batch_ready(b)) {
			if (me.taken)
				pthread_cond_wait(&me.cv, &b->mu);
			else
				store_deadline_wait(&me.cv, &b->mu);
			continue;
		}
		write_next(st, b, max);
	}
	pthread_mutex_unlock(&b->mu);
	pthread_cond_destroy(&me.cv);
	if (me.st != ST_OK && e)
		*e = me.e;
	return me.st;
}

enum status store_decision_insert(struct store *st, const struct decision_rec *d, struct err *e)
{
	int max = store_kind(st) == STORE_SQLITE ? SQLITE_WRITERS : PG_WRITERS;
	enum status rc = insert_batched(st, d, max, e);

	if (rc == ST_CONFLICT)
		return err_set(e, ST_CONFLICT, "decision '%s' already exists", d->decision_id);
	if (rc != ST_OK)
		err_wrap(e, "store decision");
	return rc;
}

/* Served by ux_activity_decisions_idempotency, whose WHERE the query repeats. */
enum status store_decision_find_key(struct store *st, const char *caller, const char *key,
				    char **decision_id, char **request_sha256, struct err *e)
{
	static const char sql[] = "SELECT decision_id, request_sha256 FROM activity_decisions "
				  "WHERE idempotency_caller "
				  "= $1 AND idempotency_key = $2 AND idempotency_key IS NOT NULL";
	const char *p[2] = {caller, key};
	struct store_rows *r = NULL;
	enum status rc = store_run_query(st, sql, 2, p, &r, e);

	if (rc == ST_OK && store_rows_count(r) == 0)
		rc = err_set(e, ST_NOT_FOUND, "no decision under this idempotency key");
	if (rc == ST_OK) {
		*decision_id = xstrdup(store_rows_get(r, 0, 0));
		*request_sha256 = xstrdup(store_rows_get(r, 0, 1) ? store_rows_get(r, 0, 1) : "");
	}
	store_rows_free(r);
	return rc;
}

/*
 * Decisions are never updated and, in a running server, never deleted (restores and
 * imports are other processes, bounded by the cache's TTL), so a filter's count only grows.
 */
#define DECISION_COUNT_SELECT "SELECT 1 FROM activity_decisions"

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

/* Where the list's statement (DECISION_COLS) has the columns the page takes. */
enum { LIST_ID = 0, LIST_DECIDED_AT = 12, LIST_PAYLOAD = 15 };

static void fill_page(struct store_page *out, struct store_rows *r, int limit)
{
	size_t n = store_page_take(store_rows_count(r), limit, &out->more);

	out->items = xcalloc(n + 1, sizeof(char *));
	out->ids = xcalloc(n + 1, sizeof(char *));
	out->vouched = xcalloc(n + 1, sizeof(bool));
	for (size_t i = 0; i < n; i++) {
		out->items[i] = xstrdup(store_rows_get(r, i, LIST_PAYLOAD));
		out->ids[i] = xstrdup(store_rows_get(r, i, LIST_ID));
	}
	out->n = n;
	if (n > 0) {
		out->last_ts = store_time_dup(store_rows_get(r, n - 1, LIST_DECIDED_AT));
		out->last_id = xstrdup(store_rows_get(r, n - 1, LIST_ID));
	}
}

/*
 * The page goes first: when it holds the last match, its size is the total and the count
 * statement is not run (see store_page_total).
 */
enum status store_decision_list(struct store *st, const struct decision_filter *f,
				struct store_page *out, struct err *e)
{
	struct store_rows *r = NULL;
	enum status rc;
	struct qb q;

	memset(out, 0, sizeof(*out));
	out->total = -1;
	store_qb_init(&q, "SELECT " DECISION_COLS " FROM activity_decisions");
	decision_where(&q, f);
	store_qb_after(&q, "decided_at", "decision_id", f->after_ts, f->after_id, f->oldest_first);
	store_qb_add(&q, f->oldest_first ? " ORDER BY decided_at ASC, decision_id ASC"
					 : " ORDER BY decided_at DESC, decision_id ASC");
	rc = store_qb_run_page(st, &q, f->limit, f->offset, f->after_ts, &r, e);
	if (rc == ST_OK)
		fill_page(out, r, f->limit);
	if (rc == ST_OK)
		rc = store_decisions_vouched(st, r, out->n, out->vouched, e);
	store_rows_free(r);
	store_qb_release(&q);
	if (rc == ST_OK && f->want_total &&
	    !store_page_total(out->n, out->more, f->offset, f->after_ts != NULL, &out->total))
		rc = store_qb_total_cached(st, DECISION_COUNT_SELECT, decision_where, f,
					   f->total_bound, &out->total, e);
	if (rc != ST_OK)
		store_page_release(out);
	return rc;
}

void store_page_release(struct store_page *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->items[i]);
		free(p->ids ? p->ids[i] : NULL);
	}
	free(p->items);
	free(p->ids);
	free(p->vouched);
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
