/*
 * store_sessions.c - session summaries (activity_sessions) on both
 * backends: read, list, the descriptive upsert of POST /sessions, and what
 * imports write (a session as the original kept it, and a recount from the
 * stored decisions).  The live counters change only with decisions, in
 * store_decisions.c, because the bump belongs to the decision's own
 * statement or transaction.
 */
#include "base/base.h"
#include "store/store_sessions.h"
#include "store/store_backend.h"
#include "store/store_query.h"
#include "store/store_owner_sql.h"
#include "store/store_chain.h"
#include "base/num.h"
#include "base/str.h"
#include "base/files.h"
#include "base/hash.h"
#include "base/timeutil.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SESSION_SELECT                                                                     \
	"SELECT session_id, agent_id, actor, repository, policy_pack, state, started_at, " \
	"updated_at, decision_count, blocked_count, approval_required_count, created_at, " \
	"payload FROM activity_sessions"

/* The columns of SESSION_SELECT, in order. */
#define COL(member, kind) STORE_FIELD(struct session_row, member, kind)
static const struct store_field session_field[] = {COL(session_id, TEXT),
						   COL(agent_id, TEXT),
						   COL(actor, TEXT),
						   COL(repository, TEXT),
						   COL(policy_pack, TEXT),
						   COL(state, TEXT),
						   COL(started_at, TIME),
						   COL(updated_at, TIME),
						   COL(decision_count, INT),
						   COL(blocked_count, INT),
						   COL(approval_required_count, INT),
						   COL(created_at, TIME),
						   COL(payload, TEXT)};
#undef COL
static const struct store_fields session_fields = {session_field, ARRAY_SIZE(session_field),
						   sizeof(struct session_row)};

void store_session_row_release(struct session_row *s)
{
	store_fields_release(s, &session_fields);
}

enum status store_session_get(struct store *st, const char *id, struct session_row *out,
			      struct err *e)
{
	enum status rc = store_run_row(st, SESSION_SELECT " WHERE session_id = $1", 1, &id,
				       &session_fields, out, e);

	return rc == ST_NOT_FOUND ? err_set(e, rc, "session '%s' not found", id) : rc;
}

struct upsert {
	struct store *st;
	const struct session_upsert *u;
	bool *created;
};

#define UPSERT_SQL(payload, owned)                                                      \
	"INSERT INTO activity_sessions (session_id, agent_id, actor, repository, "      \
	"policy_pack, state, started_at, updated_at, created_at, payload) VALUES "      \
	"($1, $2, $3, $4, $5, COALESCE($6, 'active'), $7, $7, $7, $8) "                 \
	"ON CONFLICT (session_id) DO UPDATE SET "                                       \
	"agent_id = COALESCE(excluded.agent_id, activity_sessions.agent_id), "          \
	"actor = COALESCE(excluded.actor, activity_sessions.actor), "                   \
	"repository = COALESCE(excluded.repository, activity_sessions.repository), "    \
	"policy_pack = COALESCE(excluded.policy_pack, activity_sessions.policy_pack), " \
	"state = COALESCE($6, activity_sessions.state), "                               \
	"updated_at = excluded.updated_at, payload = " payload " WHERE " owned

/* The written payload: the new one, carrying the earlier metadata when $9 says so. */
#define NEW_PAYLOAD(keep_metadata) \
	"CASE WHEN $9 = '1' AND " keep_metadata " ELSE excluded.payload END"

/*
 * The owner check of session_upsert.owner, in the upsert's own DO UPDATE: the row it
 * compares is the one the statement updates, so a session created by another caller between
 * the existence check and the write is not taken over either.  Compared as JSON values on
 * PostgreSQL, as SQLite's minified text of both on SQLite (written by one function, so in one
 * key order).  A session with neither owner (imported) is changed by no API caller but one
 * allowed to replace sessions.
 */
#define OWNER_PG     "$10::jsonb IS NULL OR " OWNED_BY_PG("activity_sessions", "$10")
#define OWNER_SQLITE "$10 IS NULL OR " OWNED_BY_SQLITE("activity_sessions", "$10")

/*
 * A caller allowed to replace sessions does not take them over: where the session has an
 * owner and it is someone else, its recorded_by stays the owner's and changed_by names the
 * caller, so that the agent whose session an admin closed or annotated still owns it (its
 * decisions are not refused) and the change still says who made it.  A caller's own write
 * drops an earlier changed_by, as it replaces the whole payload.
 */
#define OWNER_NOW_PG	 OWNER_OF_PG("activity_sessions")
#define CALLER_PG	 "excluded.payload -> 'recorded_by'"
#define OWNER_NOW_SQLITE OWNER_OF_SQLITE("activity_sessions")
#define CALLER_SQLITE	 "json_extract(excluded.payload, '$.recorded_by')"
#define PG_KEEP_METADATA                                                   \
	"activity_sessions.payload ? 'metadata' THEN excluded.payload || " \
	"jsonb_build_object('metadata', activity_sessions.payload -> 'metadata')"
#define SQLITE_KEEP_METADATA                                                          \
	"json_type(activity_sessions.payload, '$.metadata') IS NOT NULL THEN "        \
	"json_set(excluded.payload, '$.metadata', json(activity_sessions.payload -> " \
	"'$.metadata'))"
#define PG_PAYLOAD                                                                          \
	"(" NEW_PAYLOAD(PG_KEEP_METADATA) ") || CASE WHEN " OWNER_NOW_PG " IS NULL "        \
					  "OR " OWNER_NOW_PG " = " CALLER_PG                \
					  " THEN '{}'::jsonb ELSE "                         \
					  "jsonb_build_object('recorded_by', " OWNER_NOW_PG \
					  ", 'changed_by', " CALLER_PG ") END"
#define SQLITE_PAYLOAD                                                                    \
	"CASE WHEN " OWNER_NOW_SQLITE " IS NULL OR " OWNER_NOW_SQLITE " = " CALLER_SQLITE \
	" THEN " NEW_PAYLOAD(SQLITE_KEEP_METADATA) " ELSE json_set(" NEW_PAYLOAD(         \
		SQLITE_KEEP_METADATA) ", '$.recorded_by', json(" OWNER_NOW_SQLITE         \
				      "), '$.changed_by', json(" CALLER_SQLITE ")) END"

/*
 * Before session id is written to or written again on c (first_decision as
 * OWNING_DECISION_PG): ST_CONFLICT, logged, when the chain does not vouch for it and what made
 * its owner, a session handed to another caller, reopened or rewritten in the database or a
 * restored backup.  Whatever cavra wrote then would take it in: a new session entry, or
 * decisions counted into it.
 */
static enum status owner_vouched(struct store *st, struct store_conn *c, const char *id,
				 const char *first_decision, struct err *e)
{
	bool vouched = true;
	enum status rc = store_session_owner_vouched(st, c, id, first_decision, &vouched, e);

	return rc != ST_OK || vouched
		       ? rc
		       : store_chain_refuse("session", id, " (or the decision that started it)", e);
}

/*
 * A session just written in c's transaction gets a chain entry unless its last one already
 * hashed what it now holds (a POST /sessions of the same description moves updated_at only,
 * which the entry leaves out); a new one has none to compare with.
 */
static enum status chain_session(struct store_conn *c, const char *id, bool created, struct err *e)
{
	bool appended = false;

	if (created)
		return store_chain_append_record(c, "activity_sessions", id, e);
	return store_chain_append_changed(c, "activity_sessions", id, &appended, e);
}

/* *exists: whether session id is there on c; if it is, owner_vouched's refusal. */
static enum status existing(struct store *st, struct store_conn *c, const char *id, bool *exists,
			    struct err *e)
{
	static const char pg_sql[] = "SELECT " OWNING_DECISION_PG(
		"s") " FROM activity_sessions s WHERE s.session_id = $1";
	static const char sqlite_sql[] = "SELECT " OWNING_DECISION_SQLITE(
		"s") " FROM activity_sessions s WHERE s.session_id = $1";
	struct store_rows *r = NULL;
	enum status rc =
		store_query(c, c->ops->kind == STORE_POSTGRES ? pg_sql : sqlite_sql, 1, &id, &r, e);

	*exists = rc == ST_OK && store_rows_count(r) == 1;
	if (*exists)
		rc = owner_vouched(st, c, id, store_rows_get(r, 0, 0), e);
	store_rows_free(r);
	return rc;
}

/* Notes whether the session is new, then writes it and its entry, in the caller's transaction. */
static enum status upsert_tx(struct store_conn *c, void *ctx, struct err *e)
{
	/* the row as it stands when the statement updates it: another upsert's commit included */
	static const char pg_sql[] = UPSERT_SQL(PG_PAYLOAD, OWNER_PG);
	static const char sqlite_sql[] = UPSERT_SQL(SQLITE_PAYLOAD, OWNER_SQLITE);
	const struct session_upsert *u = ((struct upsert *)ctx)->u;
	const char *p[] = {u->session_id, u->agent_id,	  u->actor,
			   u->repository, u->policy_pack, u->state,
			   u->now,	  u->payload,	  u->keep_metadata ? "1" : "0",
			   u->owner};
	bool exists = false;
	int64_t changes = 0;
	enum status rc = existing(((struct upsert *)ctx)->st, c, u->session_id, &exists, e);

	if (rc == ST_OK)
		*((struct upsert *)ctx)->created = !exists;
	if (rc == ST_OK)
		rc = store_exec(c, c->ops->kind == STORE_POSTGRES ? pg_sql : sqlite_sql,
				(int)ARRAY_SIZE(p), p, &changes, e);
	if (rc == ST_OK && changes == 0)
		rc = err_set(e, ST_FORBIDDEN, SESSION_OWNED_ELSEWHERE, u->session_id);
	if (rc == ST_OK)
		rc = chain_session(c, u->session_id, !exists, e);
	return rc;
}

/* 'y' when the caller owns session $1 (owned), else 'n'; and owning's decision id. */
#define OWNER_CHECK_SQL(owned, owning)                                       \
	"SELECT CASE WHEN " owned " THEN 'y' ELSE 'n' END, " owning " FROM " \
	"activity_sessions s WHERE s.session_id = $1"

/*
 * Whether owner (a recorded_by object, JSON text) may add decisions to session id: it is new,
 * or owner recorded or started it (OWNER_OF_PG) and the chain vouches for that.  One read by
 * primary key, and for a session never recorded through POST /sessions one probe of the
 * decisions' index by session, then the chain's check (one or two statements), unless the
 * process found the same owner of the same session within the owner cache's TTL
 * (store_owner_cache.h).  A new session is not kept: its owner is the first decision's caller,
 * which the write of this one does not settle alone (*is_new: the write checks again,
 * struct decision_rec's owner).
 */
enum status store_session_owner_check(struct store *st, const char *id, const char *owner,
				      bool *is_new, struct err *e)
{
	static const char pg_sql[] =
		OWNER_CHECK_SQL(OWNED_BY_PG("s", "$2"), OWNING_DECISION_PG("s"));
	static const char sqlite_sql[] =
		OWNER_CHECK_SQL(OWNED_BY_SQLITE("s", "$2"), OWNING_DECISION_SQLITE("s"));
	const char *p[] = {id, owner};
	struct store_conn *c = NULL;
	struct store_rows *r = NULL;
	enum status rc;

	*is_new = false;
	if (store_owner_cache_has(&st->owners, id, owner, time_mono_us()))
		return ST_OK;
	rc = store_conn_get(st, &c, e);
	if (rc == ST_OK)
		rc = store_query(c, store_kind(st) == STORE_POSTGRES ? pg_sql : sqlite_sql, 2, p,
				 &r, e);
	if (rc == ST_OK && store_rows_count(r) == 0)
		*is_new = true; /* a new session: the decision starts it */
	else if (rc == ST_OK && !str_eq(store_rows_get(r, 0, 0), "y"))
		rc = err_set(e, ST_FORBIDDEN, SESSION_OWNED_ELSEWHERE, id);
	else if (rc == ST_OK)
		rc = owner_vouched(st, c, id, store_rows_get(r, 0, 1), e);
	if (rc == ST_OK && !*is_new)
		store_owner_cache_add(&st->owners, id, owner, time_mono_us());
	store_rows_free(r);
	store_conn_put(st, c);
	return rc;
}

/* A session started by $2 (a recorded_by object) at $3 unless one with id $1 exists. */
#define START_SQL(payload)                                                                       \
	"INSERT INTO activity_sessions (session_id, state, started_at, updated_at, created_at, " \
	"payload) VALUES ($1, 'active', $3, $3, $3, " payload ") ON CONFLICT (session_id) DO "   \
	"NOTHING"

enum status store_session_start(struct store_conn *c, const char *id, const char *owner,
				const char *now, struct err *e)
{
	static const char pg_insert[] = START_SQL("jsonb_build_object('started_by', $2::jsonb)");
	static const char sqlite_insert[] = START_SQL("json_object('started_by', json($2))");
	static const char pg_owned[] = "SELECT 1 FROM activity_sessions s WHERE s.session_id = $1 "
				       "AND " OWNED_BY_PG("s", "$2");
	static const char sqlite_owned[] = "SELECT 1 FROM activity_sessions s WHERE s.session_id = "
					   "$1 AND " OWNED_BY_SQLITE("s", "$2");
	bool pg = c->ops->kind == STORE_POSTGRES, owned = false;
	const char *p[] = {id, owner, now};
	int64_t changes = 0;
	enum status rc = store_exec(c, pg ? pg_insert : sqlite_insert, 3, p, &changes, e);

	if (rc == ST_OK && changes > 0)
		return store_chain_append_record(c, "activity_sessions", id, e);
	if (rc != ST_OK)
		return rc;
	rc = store_row_exists(c, pg ? pg_owned : sqlite_owned, 2, p, &owned, e);
	if (rc == ST_OK && !owned)
		rc = err_set(e, ST_FORBIDDEN, SESSION_OWNED_ELSEWHERE, id);
	return rc;
}

/*
 * Sessions are never deleted by a running server, and a decision only fills in a session's
 * empty agent, repository or pack, which adds it to filters; an update here can move it out
 * of one (another state, agent, repository or pack), so the remembered counts of session
 * filters go.
 */
#define SESSION_COUNT_SELECT "SELECT 1 FROM activity_sessions"

enum status store_session_upsert(struct store *st, const struct session_upsert *u, bool *created,
				 struct err *e)
{
	struct upsert ctx = {st, u, created};
	enum status rc = store_run_write(st, upsert_tx, &ctx, e);

	if (rc == ST_OK && !*created)
		store_counts_forget(st, SESSION_COUNT_SELECT);
	return err_ctx(rc, e, "store session");
}

static void session_where(struct qb *q, const void *filter)
{
	const struct session_filter *f = filter;

	store_qb_filter(q, "agent_id = $%d", f->agent_id);
	store_qb_filter(q, "repository = $%d", f->repository);
	store_qb_filter(q, "policy_pack = $%d", f->policy_pack);
	store_qb_filter(q, "state = $%d", f->state);
}

/* The page goes first, as for decisions: a page with the last match is its own total. */
enum status store_session_list(struct store *st, const struct session_filter *f,
			       struct session_list *out, struct err *e)
{
	struct store_rows *r = NULL;
	enum status rc;
	struct qb q;

	memset(out, 0, sizeof(*out));
	out->total = -1;
	store_qb_init(&q, SESSION_SELECT);
	session_where(&q, f);
	/*
	 * created_at, unlike updated_at, never changes after the insert, so a session that gets
	 * new decisions while a client pages keeps its place and is neither skipped nor repeated.
	 */
	store_qb_after(&q, "created_at", "session_id", f->after_ts, f->after_id, false);
	store_qb_add(&q, " ORDER BY created_at DESC, session_id ASC");
	rc = store_qb_run_page(st, &q, f->limit, f->offset, f->after_ts, &r, e);
	if (rc == ST_OK) {
		out->n = store_page_take(store_rows_count(r), f->limit, &out->more);
		out->rows = store_fields_collect(&session_fields, r, out->n);
	}
	store_rows_free(r);
	store_qb_release(&q);
	if (rc == ST_OK && f->want_total &&
	    !store_page_total(out->n, out->more, f->offset, f->after_ts != NULL, &out->total))
		rc = store_qb_total_cached(st, SESSION_COUNT_SELECT, session_where, f,
					   f->total_bound, &out->total, e);
	if (rc != ST_OK)
		store_session_list_release(out);
	return rc;
}

void store_session_list_release(struct session_list *l)
{
	if (!l)
		return;
	store_fields_free_all(l->rows, l->n, &session_fields);
	memset(l, 0, sizeof(*l));
}

/* ---- imports ---- */

/*
 * The counters a session gets: counted from its stored decisions when it has
 * any (import decisions first), else the file's values ($9..$11).
 */
#define HAS_DECISIONS "EXISTS (SELECT 1 FROM activity_decisions d WHERE d.session_id = $1)"
#define EFFECTIVE(cond, param)                                                               \
	"CASE WHEN " HAS_DECISIONS " THEN (SELECT count(*) FROM activity_decisions d WHERE " \
	"d.session_id = $1" cond ") ELSE " param " END"
#define EFF_ALL	  EFFECTIVE("", "$9")
#define EFF_BLOCK EFFECTIVE(" AND d.decision = 'block'", "$10")
#define EFF_APPR  EFFECTIVE(" AND d.decision = 'require_approval'", "$11")

/* %1$s is "::timestamptz" on PostgreSQL (a NULL time needs a type there), "" on SQLite. */
static const char session_insert[] =
	"INSERT INTO activity_sessions (session_id, agent_id, actor, repository, policy_pack, "
	"state, started_at, updated_at, created_at, decision_count, blocked_count, "
	"approval_required_count, payload) VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7%1$s, "
	"$13%1$s), COALESCE($8%1$s, $13%1$s), COALESCE($7%1$s, $13%1$s), " EFF_ALL ", " EFF_BLOCK
	", " EFF_APPR ", $12) ON CONFLICT (session_id) DO NOTHING";

/* Absent times keep what is stored, so that a second import changes nothing. */
static const char session_update[] =
	"UPDATE activity_sessions SET agent_id = $2, actor = $3, repository = $4, "
	"policy_pack = $5, state = $6, started_at = COALESCE($7%1$s, started_at), "
	"updated_at = COALESCE($8%1$s, updated_at), decision_count = " EFF_ALL
	", blocked_count = " EFF_BLOCK ", approval_required_count = " EFF_APPR
	", payload = $12 WHERE session_id = $1 AND (agent_id IS DISTINCT FROM $2 OR actor IS "
	"DISTINCT FROM $3 OR repository IS DISTINCT FROM $4 OR policy_pack IS DISTINCT FROM $5 "
	"OR state <> $6 OR ($7%1$s IS NOT NULL AND started_at <> $7%1$s) OR ($8%1$s IS NOT NULL "
	"AND updated_at <> $8%1$s) OR decision_count <> " EFF_ALL " OR blocked_count <> " EFF_BLOCK
	" OR approval_required_count <> " EFF_APPR " OR payload <> $12)";

enum status store_session_import(struct store_conn *c, const struct session_import *s,
				 enum rec_outcome *out, struct err *e)
{
	const char *p[13] = {s->session_id,
			     s->agent_id,
			     s->actor,
			     s->repository,
			     s->policy_pack,
			     s->state,
			     s->started_at,
			     s->updated_at,
			     s->decision_count,
			     s->blocked_count,
			     s->approval_required_count,
			     s->payload,
			     s->now};
	const char *cast = c->ops->kind == STORE_POSTGRES ? "::timestamptz" : "";
	char *ins = xasprintf(session_insert, cast), *upd = xasprintf(session_update, cast);
	int64_t changes = 0;
	enum status rc = store_exec(c, ins, 13, p, &changes, e);

	*out = REC_CREATED;
	if (rc == ST_OK && changes == 0) {
		rc = store_exec(c, upd, 12, p, &changes, e);
		*out = changes > 0 ? REC_UPDATED : REC_UNCHANGED;
	}
	free(ins);
	free(upd);
	return rc;
}

/* A session that only its decisions name: made from the first of them. */
#define SESSION_FROM_DECISIONS                                                                  \
	"INSERT INTO activity_sessions (session_id, agent_id, actor, repository, policy_pack, " \
	"state, started_at, updated_at, created_at, payload) SELECT d.session_id, d.agent_id, " \
	"d.actor, d.repository, d.policy_pack, 'active', d.decided_at, (SELECT "                \
	"max(m.decided_at) FROM activity_decisions m WHERE m.session_id = $1), d.decided_at, "  \
	"'{}' FROM activity_decisions d WHERE d.session_id = $1 ORDER BY d.decided_at, "        \
	"d.decision_id LIMIT 1 ON CONFLICT (session_id) DO NOTHING"

#define COUNT_ALL "(SELECT count(*) FROM activity_decisions d WHERE d.session_id = $1)"
#define COUNT_BLOCK                                                                            \
	"(SELECT count(*) FROM activity_decisions d WHERE d.session_id = $1 AND d.decision = " \
	"'block')"
#define COUNT_APPR                                                            \
	"(SELECT count(*) FROM activity_decisions d WHERE d.session_id = $1 " \
	"AND d.decision = 'require_approval')"

#define SESSION_RECOUNT                                                                  \
	"UPDATE activity_sessions SET decision_count = " COUNT_ALL                       \
	", blocked_count = " COUNT_BLOCK ", approval_required_count = " COUNT_APPR       \
	" WHERE session_id = $1 AND " COUNT_ALL " > 0 AND (decision_count <> " COUNT_ALL \
	" OR blocked_count <> " COUNT_BLOCK " OR approval_required_count <> " COUNT_APPR ")"

enum status store_session_recount(struct store_conn *c, const char *id, bool *changed,
				  struct err *e)
{
	int64_t made = 0, fixed = 0;
	enum status rc = store_exec(c, SESSION_FROM_DECISIONS, 1, &id, &made, e);

	if (rc == ST_OK)
		rc = store_exec(c, SESSION_RECOUNT, 1, &id, &fixed, e);
	*changed = made > 0 || fixed > 0;
	return rc;
}

enum status store_session_recount_all(struct store_conn *c, int64_t *changed, struct err *e)
{
	static const char sql[] = "SELECT session_id FROM activity_decisions UNION "
				  "SELECT session_id FROM activity_sessions";
	struct store_rows *r = NULL;
	enum status st = store_query(c, sql, 0, NULL, &r, e);

	for (size_t i = 0; st == ST_OK && i < store_rows_count(r); i++) {
		bool one = false;

		st = store_session_recount(c, store_rows_get(r, i, 0), &one, e);
		*changed += one;
	}
	store_rows_free(r);
	return st;
}

/* ---- restore-test ---- */

enum status store_session_busiest(struct store_conn *c, char **id, int64_t *count, struct err *e)
{
	static const char sql[] = "SELECT session_id, decision_count FROM activity_sessions "
				  "ORDER BY decision_count DESC, session_id LIMIT 1";
	struct store_rows *r = NULL;
	enum status st = store_query(c, sql, 0, NULL, &r, e);

	*id = NULL;
	*count = 0;
	if (st == ST_OK && store_rows_count(r) == 1) {
		*id = store_dup(store_rows_get(r, 0, 0));
		str_to_i64(store_rows_get(r, 0, 1), 0, INT64_MAX, count);
	}
	store_rows_free(r);
	return st;
}
