/*
 * rollouts.c - GET /policy-rollouts/{id}/detail: one policy rollout with its
 * repository, its pack, the repository's activity under the pack, the
 * integrations that serve it and the readiness checks (docs/api.md, "Policy
 * rollout drill-down").
 *
 * Everything is read in one snapshot on one connection, and every summary
 * is an aggregate query (store_rollouts.h): the answer costs the same for a
 * repository with a hundred decisions or a hundred thousand.
 */
#include "base/base.h"
#include "service/rollout.h"
#include "service/records.h"
#include "base/buf.h"
#include "base/num.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "json/jx.h"
#include "store/store_chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_US (86400LL * 1000000LL)

/* ---- the rollout and its scope ---- */

static enum status add_version(struct store_conn *c, const char *id, struct rollout_view *v,
			       struct err *e)
{
	char *history = NULL;
	enum status st = store_rollout_version(c, id, &v->version, &history, e);

	if (st == ST_OK &&
	    jx_parse(history, strlen(history), JX_MAX_DEPTH, &v->history, NULL) != ST_OK)
		st = err_set(e, ST_INTERNAL, "policy rollout '%s': stored history is not JSON", id);
	if (st == ST_OK && !json_object_is_type(v->history, json_type_array))
		st = err_set(e, ST_INTERNAL, "policy rollout '%s': stored history is not an array",
			     id);
	free(history);
	if (st == ST_OK)
		jx_add_int(v->rec, "version", v->version);
	return st;
}

/* Today and the ROLLOUT_WINDOW_DAYS - 1 days before it, from midnight UTC. */
static void set_scope(struct rollout_view *v)
{
	int64_t now = time_now_us();
	int64_t start = now - now % DAY_US - (int64_t)(ROLLOUT_WINDOW_DAYS - 1) * DAY_US;

	time_format_utc(now, v->now, sizeof(v->now));
	time_format_utc(start, v->since, sizeof(v->since));
	v->scope = (struct rollout_scope){v->repository, v->policy_pack, v->since};
}

enum status rollout_view_load(struct store_conn *c, const char *id, struct rollout_view *v,
			      struct err *e)
{
	const struct kind *k = &service_kind_rollout;
	struct rec_row row = {0};
	json_object *cov = NULL;
	enum status st;

	memset(v, 0, sizeof(*v));
	if (jx_check_id(k->id_field, id, NULL) != ST_OK)
		return err_set(e, ST_NOT_FOUND, "policy rollout not found");
	st = store_rec_get_conn(c, k->table, id, &row, e);
	if (st == ST_NOT_FOUND)
		st = err_set(e, ST_NOT_FOUND, "policy rollout '%s' not found", id);
	if (st == ST_OK) {
		v->rec = service_kind_record(k, &row);
		st = add_version(c, id, v, e);
	}
	store_rec_row_release(&row);
	if (st != ST_OK)
		return st;
	v->repository = jx_get_str_or(v->rec, "repository", "");
	v->policy_pack = jx_get_str_or(v->rec, "policy_pack", "");
	v->mode = jx_get_str_or(v->rec, "mode", "enforce");
	v->state = jx_get_str_or(v->rec, "state", "planned");
	if (json_object_object_get_ex(v->rec, "coverage_percent", &cov))
		v->coverage = json_object_get_int64(cov);
	set_scope(v);
	return ST_OK;
}

enum status rollout_view_load_vouched(struct store *st, struct store_conn *c, const char *id,
				      struct rollout_view *v, struct err *e)
{
	bool vouched = true;
	enum status rc = rollout_view_load(c, id, v, e);

	if (rc == ST_OK)
		rc = store_record_vouched_in(st, c, service_kind_rollout.table->name, id, &vouched,
					     e);
	if (rc == ST_OK && !vouched)
		rc = store_chain_refuse(service_kind_rollout.name, id, "", e);
	if (rc != ST_OK)
		rollout_view_release(v);
	return rc;
}

void rollout_view_release(struct rollout_view *v)
{
	json_object_put(v->rec);
	json_object_put(v->history);
	memset(v, 0, sizeof(*v));
}

/* ---- counting the groups ---- */

static struct rollout_rule_count *rule_slot(struct rollout_tally *t, const char *rule,
					    const char *from, const char *to)
{
	for (size_t i = 0; i < t->nrules; i++) {
		struct rollout_rule_count *r = &t->rules[i];

		if (strcmp(r->rule_id, rule) == 0 && r->from == from && r->to == to)
			return r;
	}
	t->rules = xrealloc(t->rules, (t->nrules + 1) * sizeof(*t->rules));
	t->rules[t->nrules] = (struct rollout_rule_count){xstrdup(rule), from, to, 0};
	return &t->rules[t->nrules++];
}

static int by_count(const void *a, const void *b)
{
	const struct rollout_rule_count *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->rule_id, y->rule_id);
}

void rollout_tally_changes(const struct store_rows *groups, const char *mode, const char *state,
			   struct rollout_tally *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < store_rows_count(groups); i++) {
		const char *decision = store_rows_get(groups, i, 2);
		const char *would = store_rows_get(groups, i, 3);
		/* the recorded outcome, as a static string to compare by address */
		const char *from = rollout_outcome("enforce", "active", decision, NULL);
		const char *to = rollout_outcome(mode, state, decision, would);
		int64_t n = 0;

		if (!decision || !str_to_i64(store_rows_get(groups, i, 5), 0, INT64_MAX, &n))
			continue;
		t->decisions += n;
		if (strcmp(from, to) == 0)
			continue;
		t->would_change += n;
		rule_slot(t,
			  jx_check_id("rule_id", store_rows_get(groups, i, 1), NULL) == ST_OK
				  ? store_rows_get(groups, i, 1)
				  : "unknown",
			  from, to)
			->count += n;
	}
	if (t->nrules > 1)
		qsort(t->rules, t->nrules, sizeof(*t->rules), by_count);
}

void rollout_tally_release(struct rollout_tally *t)
{
	for (size_t i = 0; i < t->nrules; i++)
		free(t->rules[i].rule_id);
	free(t->rules);
	memset(t, 0, sizeof(*t));
}
