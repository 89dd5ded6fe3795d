/*
 * store_rollouts.c - the rollout drill-down's questions (store_rollouts.h).
 *
 * Each summary is one aggregate query over an index's range, never a list
 * of decisions copied out: the drill-down of a repository with 100,000
 * decisions reads a few hundred group rows (docs/benchmarks.md).  The two
 * dialects differ only in how a day is written and compared.
 */
#include "base/base.h"
#include "store/store_rollouts.h"
#include "store/store_backend.h"
#include "store/store_chain.h"
#include "store/store_query.h"
#include "base/num.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Answered from ix_activity_decisions_rollout_groups alone (migration 017): its columns are
 * the filter's and the groups', in the GROUP BY's order, so the rows arrive grouped and no
 * row or payload is read, nor any sort made.  decided_day and would_decision are generated
 * columns (the UTC day of decided_at, the payload's would_decision).  The day's bound only
 * narrows the index range; decided_at's is the filter.  A would_decision counts for the
 * decisions that can carry one (allow and the original's audit_only): a group of any other
 * outcome reports NULL, and groups that differ only there are summed by the reader.
 */
#define GROUPS_SELECT(day)                                                                  \
	"SELECT " day ", rule_id, decision, "                                               \
	"CASE WHEN decision IN ('allow', 'audit_only') THEN would_decision END, severity, " \
	"count(*) FROM activity_decisions WHERE repository = $1 AND policy_pack = $2 "      \
	"AND decided_at >= $3 AND decided_day >= "
#define GROUPS_GROUP " GROUP BY decided_day, decision, would_decision, severity, rule_id"

static const char groups_sqlite[] = GROUPS_SELECT("decided_day") "substr($3, 1, 10)" GROUPS_GROUP;
/* to_char, not the date's own text, which follows the server's DateStyle */
static const char groups_pg[] =
	GROUPS_SELECT("to_char(decided_day, 'YYYY-MM-DD')") "($3::timestamptz AT TIME ZONE "
							    "'UTC')::date" GROUPS_GROUP;

enum status store_rollout_groups(struct store_conn *c, const struct rollout_scope *s,
				 struct store_rows **out, struct err *e)
{
	const char *p[3] = {s->repository, s->policy_pack, s->since};

	return store_query(c, c->ops->kind == STORE_POSTGRES ? groups_pg : groups_sqlite, 3, p, out,
			   e);
}

static enum status two_counts(struct store_conn *c, const char *sql, int n, const char *const *p,
			      const char *what, int64_t *a, int64_t *b, struct err *e)
{
	struct store_rows *r = NULL;
	enum status st = store_query(c, sql, n, p, &r, e);
	const char *va = st == ST_OK ? store_rows_get(r, 0, 0) : NULL;
	const char *vb = st == ST_OK ? store_rows_get(r, 0, 1) : NULL;

	if (st == ST_OK &&
	    (!va || !vb || !str_to_i64(va, 0, INT64_MAX, a) || !str_to_i64(vb, 0, INT64_MAX, b)))
		st = err_set(e, ST_INTERNAL, "%s: counts are not numbers", what);
	store_rows_free(r);
	return st;
}

enum status store_rollout_sessions(struct store_conn *c, const struct rollout_scope *s,
				   int64_t *blocked, int64_t *approval, struct err *e)
{
	static const char sql[] =
		"SELECT count(*) FILTER (WHERE blocked_count > 0), "
		"count(*) FILTER (WHERE approval_required_count > 0) FROM activity_sessions "
		"WHERE repository = $1 AND policy_pack = $2 AND updated_at >= $3";
	const char *p[3] = {s->repository, s->policy_pack, s->since};

	return two_counts(c, sql, 3, p, "activity_sessions", blocked, approval, e);
}

enum status store_rollout_approvals(struct store_conn *c, const struct rollout_scope *s,
				    const char *now, int64_t *pending, int64_t *expired,
				    struct err *e)
{
	static const char sql[] =
		"SELECT count(*) FILTER (WHERE a.expires_at > $3), "
		"count(*) FILTER (WHERE a.expires_at <= $3) "
		"FROM approvals a JOIN activity_decisions d ON d.decision_id = a.decision_id "
		"WHERE a.state = 'pending' AND d.repository = $1 AND d.policy_pack = $2";
	const char *p[3] = {s->repository, s->policy_pack, now};

	return two_counts(c, sql, 3, p, "approvals", pending, expired, e);
}

enum status store_rollout_recent(struct store_conn *c, const struct rollout_scope *s, int limit,
				 struct store_rows **out, struct err *e)
{
	/* the order of GET /decisions */
	static const char sql[] = "SELECT payload FROM activity_decisions "
				  "WHERE repository = $1 AND policy_pack = $2 "
				  "ORDER BY decided_at DESC, decision_id LIMIT $3";
	char lim[24];
	const char *p[3] = {s->repository, s->policy_pack, lim};

	snprintf(lim, sizeof(lim), "%d", limit);
	return store_query(c, sql, 3, p, out, e);
}

enum status store_rollout_integrations(struct store_conn *c, int limit, struct store_rows **out,
				       struct err *e)
{
	char lim[24];
	const char *p[1] = {lim};

	snprintf(lim, sizeof(lim), "%d", limit);
	return store_query(c,
			   "SELECT integration_id, payload FROM integrations ORDER BY "
			   "integration_id LIMIT $1",
			   1, p, out, e);
}

enum status store_rollout_version(struct store_conn *c, const char *id, int64_t *version,
				  char **history, struct err *e)
{
	static const char sql[] =
		"SELECT version, history FROM inventory_policy_rollouts WHERE rollout_id = $1";
	struct store_rows *r = NULL;
	enum status st = store_query(c, sql, 1, &id, &r, e);
	const char *v = st == ST_OK ? store_rows_get(r, 0, 0) : NULL;

	if (st == ST_OK && store_rows_count(r) == 0)
		st = err_set(e, ST_NOT_FOUND, "policy rollout '%s' not found", id);
	else if (st == ST_OK && (!v || !str_to_i64(v, 1, INT64_MAX, version)))
		st = err_set(e, ST_INTERNAL, "inventory_policy_rollouts.version is not a number");
	if (st == ST_OK)
		*history = xstrdup(store_rows_get(r, 0, 1) ? store_rows_get(r, 0, 1) : "[]");
	store_rows_free(r);
	return st;
}

enum status store_rollout_apply(struct store_conn *c, const struct rollout_change *w, bool *won,
				struct err *e)
{
	static const char sql[] =
		"UPDATE inventory_policy_rollouts SET mode = $1, state = $2, payload = $3, "
		"history = $4, updated_at = $5, version = version + 1 "
		"WHERE rollout_id = $6 AND version = $7";
	char base[24];
	const char *p[7] = {w->mode, w->state, w->payload, w->history, w->updated_at, w->id, base};
	int64_t changes = 0;
	enum status st;

	snprintf(base, sizeof(base), "%lld", (long long)w->base_version);
	st = store_chain_write_check(c, "inventory_policy_rollouts", w->id, "policy rollout", e);
	if (st == ST_OK)
		st = store_exec(c, sql, 7, p, &changes, e);
	*won = st == ST_OK && changes == 1;
	if (*won)
		st = store_chain_append_record(c, "inventory_policy_rollouts", w->id, e);
	return st;
}
