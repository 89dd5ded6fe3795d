/*
 * store_import.c - session summaries and write-once records for imports.
 */
#include "base/base.h"
#include "store/store_import.h"
#include "store/store_backend.h"
#include "base/xalloc.h"

#include <stdlib.h>
#include <string.h>

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

enum status store_rec_put_once(struct store_conn *c, const struct rec_table *t,
			       const struct rec_write *w, enum rec_outcome *out, struct err *e)
{
	char *sql =
		xasprintf("SELECT 1 FROM %s WHERE %s = $1 AND payload = $2", t->name, t->id_col);
	const char *p[2] = {w->id, w->payload};
	struct store_rows *r = NULL;
	enum status rc = store_query(c, sql, 2, p, &r, e);

	*out = REC_CREATED;
	free(sql);
	if (rc == ST_OK && store_rows_count(r) == 1)
		*out = REC_UNCHANGED;
	store_rows_free(r);
	if (rc != ST_OK || *out == REC_UNCHANGED)
		return rc;
	rc = store_rec_put(c, t, w, out, e);
	if (rc == ST_OK && *out != REC_CREATED)
		rc = err_set(e, ST_CONFLICT,
			     "'%s' is already stored with different content; records of this kind "
			     "never change",
			     w->id);
	return rc;
}
