/*
 * rollout_change.c - POST /policy-rollouts/{id}/change-plan and
 * /apply-change (docs/api.md, "Policy rollout drill-down").
 *
 * A plan is not stored: it is the count of what would change, made against
 * one version of the rollout.  Applying sends that version back, and the
 * change lands only while the rollout still has it (one UPDATE ... WHERE
 * version = ?, store_rollout_apply), so a plan made before anyone else's
 * change is refused with 409 instead of overwriting what it never saw.
 */
#include "base/base.h"
#include "service/rollout.h"
#include "service/records.h"
#include "base/hash.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "json/jx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROLLOUT_REASON_MAX 2000

static const char *const modes[] = {"audit_only", "enforce", "strict", "break_glass", NULL};
static const char *const states[] = {"planned", "active", "paused", "retired", NULL};

struct change_req {
	const char *id, *mode, *state, *reason, *plan_id;
	int64_t base_version;
};

static enum status read_id(json_object *req, const char *id, struct change_req *r, struct err *e)
{
	const char *body_id = NULL;

	if (jx_id(req, "rollout_id", id == NULL, &body_id, e) != ST_OK)
		return ST_INVALID;
	if (id && body_id && strcmp(id, body_id) != 0)
		return err_set(e, ST_INVALID,
			       "field 'rollout_id': '%s' is not the rollout of the path ('%s')",
			       body_id, id);
	r->id = id ? id : body_id;
	return ST_OK;
}

/* The target: mode and/or state, each checked; reason when given. */
static enum status read_target(json_object *req, const char *id, struct change_req *r,
			       struct err *e)
{
	memset(r, 0, sizeof(*r));
	if (read_id(req, id, r, e) != ST_OK || jx_str(req, "mode", false, &r->mode, e) != ST_OK ||
	    jx_str(req, "state", false, &r->state, e) != ST_OK ||
	    jx_str(req, "reason", false, &r->reason, e) != ST_OK)
		return ST_INVALID;
	if (r->mode && jx_check_enum("mode", r->mode, modes, e) != ST_OK)
		return ST_INVALID;
	if (r->state && jx_check_enum("state", r->state, states, e) != ST_OK)
		return ST_INVALID;
	if (!r->mode && !r->state)
		return err_set(e, ST_INVALID,
			       "give 'mode' or 'state' (or both): what the rollout would move to");
	if (r->reason && strlen(r->reason) > ROLLOUT_REASON_MAX)
		return err_set(e, ST_INVALID, "field 'reason': longer than %d bytes",
			       ROLLOUT_REASON_MAX);
	return ST_OK;
}

static json_object *mode_state(const char *mode, const char *state)
{
	json_object *o = json_object_new_object();

	jx_add_str(o, "mode", mode);
	jx_add_str(o, "state", state);
	return o;
}

/* Opaque, and the same for the same rollout, version, target and time. */
static void plan_id(const struct rollout_view *v, const char *mode, const char *state, char out[24])
{
	char *text = xasprintf("%s\n%lld\n%s\n%s\n%s", jx_get_str_or(v->rec, "rollout_id", ""),
			       (long long)v->version, mode, state, v->now);
	char hex[SHA256_HEX_LEN];

	sha256_hex(text, strlen(text), hex);
	snprintf(out, 24, "plan-%.16s", hex);
	free(text);
}

static json_object *by_rule(const struct rollout_tally *t)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < t->nrules; i++) {
		json_object *o = json_object_new_object();

		jx_add_str(o, "rule_id", t->rules[i].rule_id);
		jx_add_str(o, "from_outcome", t->rules[i].from);
		jx_add_str(o, "to_outcome", t->rules[i].to);
		jx_add_int(o, "count", t->rules[i].count);
		json_object_array_add(arr, o);
	}
	return arr;
}

static json_object *plan_json(const struct rollout_view *v, const struct change_req *r,
			      const struct store_rows *groups)
{
	const char *mode = r->mode ? r->mode : v->mode, *state = r->state ? r->state : v->state;
	json_object *o = json_object_new_object();
	struct rollout_tally t;
	char id[24];

	rollout_tally_changes(groups, mode, state, &t);
	plan_id(v, mode, state, id);
	jx_add_str(o, "schema_version", "cavra.policy_rollout_change_plan.v1");
	jx_add_str(o, "plan_id", id);
	jx_add_str(o, "rollout_id", r->id);
	jx_add_int(o, "base_version", v->version);
	json_object_object_add(o, "from", mode_state(v->mode, v->state));
	json_object_object_add(o, "to", mode_state(mode, state));
	jx_add_str(o, "reason", r->reason);
	jx_add_int(o, "window_days", ROLLOUT_WINDOW_DAYS);
	jx_add_str(o, "since", v->since);
	jx_add_int(o, "decisions", t.decisions);
	jx_add_int(o, "would_change", t.would_change);
	json_object_object_add(
		o, "share",
		json_object_new_double(t.decisions ? (double)t.would_change / (double)t.decisions
						   : 0.0));
	json_object_object_add(o, "by_rule", by_rule(&t));
	jx_add_str(o, "planned_at", v->now);
	rollout_tally_release(&t);
	return o;
}

enum status service_rollout_plan(struct service *s, const char *id, json_object *req, char **out,
				 struct err *e)
{
	struct store_conn *c = NULL;
	struct store_rows *groups = NULL;
	struct rollout_view v = {0};
	struct change_req r;
	enum status st = read_target(req, id, &r, e);

	if (st == ST_OK)
		st = store_conn_get(s->store, &c, e);
	if (st == ST_OK)
		st = store_tx_begin(c, STORE_TX_SNAPSHOT, e);
	if (st == ST_OK)
		st = rollout_view_load_vouched(s->store, c, r.id, &v, e);
	if (st == ST_OK)
		st = store_rollout_groups(c, &v.scope, &groups, e);
	if (c)
		store_conn_put(s->store, c); /* ends the read transaction */
	if (st == ST_OK)
		*out = jx_take_text(plan_json(&v, &r, groups));
	store_rows_free(groups);
	rollout_view_release(&v);
	return st;
}

/* ---- apply ---- */

struct apply {
	struct change_req r;
	const char *actor;
	json_object *recorded_by; /* owned */
	json_object *out; /* the answer, built inside the transaction */
};

/* A verified caller is the actor; an unverified one (auth mode none) may name one. */
static enum status read_apply(json_object *req, const char *id, const struct caller *who,
			      struct apply *a, struct err *e)
{
	const char *actor = NULL;
	bool has = false;

	if (read_target(req, id, &a->r, e) != ST_OK)
		return ST_INVALID;
	if (jx_int(req, "base_version", 1, INT64_MAX, &a->r.base_version, &has, e) != ST_OK)
		return ST_INVALID;
	if (!has)
		return err_set(e, ST_INVALID,
			       "field 'base_version' is required: the version the plan was made "
			       "against");
	if (!a->r.reason || !*a->r.reason)
		return err_set(e, ST_INVALID, "field 'reason' is required: why the change is made");
	if (jx_id(req, "plan_id", false, &a->r.plan_id, e) != ST_OK ||
	    jx_id(req, "actor", false, &actor, e) != ST_OK)
		return ST_INVALID;
	if (who->verified && actor && strcmp(actor, who->actor) != 0)
		return err_set(e, ST_FORBIDDEN,
			       "field 'actor': '%s' is not the caller ('%s'); leave it out, it is "
			       "taken from the credentials",
			       actor, who->actor);
	a->actor = who->verified ? who->actor : actor ? actor : "local";
	a->recorded_by = service_recorded_by(who);
	return ST_OK;
}

static json_object *history_entry(const struct apply *a, const struct rollout_view *v,
				  const char *mode, const char *state)
{
	json_object *h = json_object_new_object();

	jx_add_str(h, "at", v->now);
	jx_add_str(h, "actor", a->actor);
	jx_add_str(h, "action", "apply_change");
	json_object_object_add(h, "from", mode_state(v->mode, v->state));
	json_object_object_add(h, "to", mode_state(mode, state));
	jx_add_str(h, "reason", a->r.reason);
	jx_add_str(h, "plan_id", a->r.plan_id);
	jx_add_int(h, "version", v->version + 1);
	json_object_object_add(h, "recorded_by", json_object_get(a->recorded_by));
	return h;
}

/* The stored payload with the new mode and state; caller frees. */
static enum status new_payload(struct store_conn *c, const char *id, const char *mode,
			       const char *state, char **out, struct err *e)
{
	struct rec_row row = {0};
	json_object *p = NULL;
	enum status st = store_rec_get_conn(c, service_kind_rollout.table, id, &row, e);

	if (st == ST_OK && jx_parse_object(row.payload, strlen(row.payload), &p, NULL) != ST_OK)
		st = err_set(e, ST_INTERNAL, "policy rollout '%s': stored payload is not JSON", id);
	if (st == ST_OK) {
		jx_add_str(p, "mode", mode);
		jx_add_str(p, "state", state);
		*out = jx_take_text(p);
	}
	store_rec_row_release(&row);
	return st;
}

static enum status check_base(const struct apply *a, const struct rollout_view *v, const char *mode,
			      const char *state, struct err *e)
{
	if (v->version != a->r.base_version)
		return err_set(e, ST_CONFLICT,
			       "policy rollout '%s' changed since the plan: it is at version %lld, "
			       "the plan was made against %lld; make a new plan",
			       a->r.id, (long long)v->version, (long long)a->r.base_version);
	if (strcmp(mode, v->mode) == 0 && strcmp(state, v->state) == 0)
		return err_set(e, ST_INVALID,
			       "policy rollout '%s' is already in mode %s and state %s: nothing to "
			       "apply",
			       a->r.id, mode, state);
	return ST_OK;
}

static enum status write_change(struct store_conn *c, struct apply *a, const struct rollout_view *v,
				json_object **entry, struct err *e)
{
	const char *mode = a->r.mode ? a->r.mode : v->mode;
	const char *state = a->r.state ? a->r.state : v->state;
	char *payload = NULL, *history = NULL;
	bool won = false;
	enum status st = check_base(a, v, mode, state, e);

	if (st == ST_OK)
		st = new_payload(c, a->r.id, mode, state, &payload, e);
	if (st == ST_OK) {
		*entry = history_entry(a, v, mode, state);
		json_object_array_add(v->history, json_object_get(*entry));
		history = jx_take_text(json_object_get(v->history));
		st = store_rollout_apply(c,
					 &(struct rollout_change){a->r.id, a->r.base_version, mode,
								  state, payload, history, v->now},
					 &won, e);
	}
	if (st == ST_OK && !won)
		st = err_set(e, ST_CONFLICT,
			     "policy rollout '%s' changed while the change was applied; make a new "
			     "plan",
			     a->r.id);
	free(payload);
	free(history);
	return st;
}

static enum status apply_tx(struct store_conn *c, struct apply *a, struct err *e)
{
	struct rollout_view v = {0}, after = {0};
	json_object *entry = NULL;
	enum status st = rollout_view_load(c, a->r.id, &v, e);

	if (st == ST_OK)
		st = write_change(c, a, &v, &entry, e);
	if (st == ST_OK)
		st = rollout_view_load(c, a->r.id, &after, e);
	if (st == ST_OK) {
		a->out = json_object_new_object();
		json_object_object_add(a->out, "rollout", json_object_get(after.rec));
		json_object_object_add(a->out, "history_entry", json_object_get(entry));
	}
	json_object_put(entry);
	rollout_view_release(&v);
	rollout_view_release(&after);
	return st;
}

enum status service_rollout_apply(struct service *s, const char *id, json_object *req,
				  const struct caller *who, char **out, struct err *e)
{
	struct apply a = {0};
	struct store_conn *c = NULL;
	enum status st = read_apply(req, id, who, &a, e);

	if (st == ST_OK)
		st = store_conn_get(s->store, &c, e);
	if (st == ST_OK)
		st = store_tx_begin(c, STORE_TX_WRITE, e);
	if (st == ST_OK)
		st = apply_tx(c, &a, e);
	if (st == ST_OK)
		st = store_tx_commit(c, e);
	if (c)
		store_conn_put(s->store, c); /* rolls back what did not commit */
	if (st == ST_OK)
		*out = jx_take_text(a.out);
	else
		json_object_put(a.out);
	json_object_put(a.recorded_by);
	return st;
}
