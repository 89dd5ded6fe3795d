/*
 * approvals.c - the approval router (cavra.approval.v1): creation from a
 * decision with routing, the pending -> approved | denied | expired state
 * machine, and break-glass.
 *
 * Every change is one compare-and-set statement on the stored row: it
 * writes the new state and the history (in the payload) together, and only
 * while the row is still pending, so two concurrent decisions on one
 * approval cannot both win.  A pending approval past expires_at reads as
 * expired; it is written as expired only by an explicit expire.  Each write
 * is chained (store/store_chain.h) in its own transaction.
 */
#include "base/base.h"
#include "service/records.h"
#include "service/paging.h"
#include "base/timeutil.h"
#include "base/hash.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "json/jx.h"
#include "store/store_chain.h"
#include "store/store_decisions.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TTL_DEFAULT_HOURS     24.0
#define TTL_MAX_HOURS	      720.0
#define BREAK_GLASS_MAX_HOURS 4.0
#define BREAK_GLASS_GROUP     "Change Advisory Board"
#define REASON_MAX	      4096

static void now_text(char *out, size_t size)
{
	time_format_utc(time_now_us(), out, size);
}

/* A positive number of hours, at most max; default when absent. */
static enum status read_hours(json_object *req, const char *key, double def, double max,
			      double *out, struct err *e)
{
	json_object *v = NULL;

	*out = def;
	if (!json_object_object_get_ex(req, key, &v) || !v)
		return ST_OK;
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return err_set(e, ST_INVALID, "field '%s' must be a number of hours", key);
	*out = json_object_get_double(v);
	if (!isfinite(*out) || *out <= 0 || *out > max)
		return err_set(e, ST_INVALID, "field '%s' must be more than 0 and at most %g", key,
			       max);
	return ST_OK;
}

/* One history entry; recorded_by says who authenticated, whatever actor says. */
static json_object *history_entry(const char *event, const char *actor, const char *now,
				  const char *reason, const char *external_ref,
				  const struct caller *who)
{
	json_object *h = json_object_new_object();

	jx_add_str(h, "event", event);
	jx_add_str(h, "actor", actor);
	jx_add_str(h, "timestamp", now);
	jx_add_str(h, "reason", reason);
	jx_add_str(h, "external_ref", external_ref);
	json_object_object_add(h, "recorded_by", service_recorded_by(who));
	return h;
}

/* A problem inside the "decision" object: says so, stays 400. */
static enum status in_decision(struct err *e)
{
	err_wrap(e, "field 'decision'");
	return ST_INVALID;
}

/*
 * An actor field (actor, requested_by): with verified callers it is the
 * caller, and a different one in the body is refused; without (auth mode
 * none) it comes from the body.
 */
static enum status take_actor(json_object *req, const char *key, const struct caller *who,
			      bool need, const char **actor, struct err *e)
{
	if (jx_id(req, key, need && !who->verified, actor, e) != ST_OK)
		return ST_INVALID;
	if (!who->verified)
		return ST_OK;
	if (*actor && strcmp(*actor, who->actor) != 0)
		return err_set(
			e, ST_FORBIDDEN,
			"field '%s': '%s' is not the caller ('%s'); leave it out, it is taken "
			"from the credentials",
			key, *actor, who->actor);
	*actor = who->actor;
	return ST_OK;
}

/* The decision id the request names: decision_id, else the "decision" object's. */
static enum status decision_ref(json_object *req, json_object **copy, const char **id,
				struct err *e)
{
	json_object *d = NULL;
	const char *own = NULL;

	*copy = NULL;
	if (jx_id(req, "decision_id", false, id, e) != ST_OK)
		return ST_INVALID;
	if (json_object_object_get_ex(req, "decision", &d) && d) {
		if (!json_object_is_type(d, json_type_object))
			return err_set(e, ST_INVALID, "field 'decision' must be an object");
		if (jx_id(d, "decision_id", !*id, &own, e) != ST_OK)
			return in_decision(e);
		if (*id && own && strcmp(*id, own) != 0)
			return err_set(e, ST_INVALID,
				       "field 'decision_id' ('%s') is not the decision's ('%s')",
				       *id, own);
		*copy = d;
		*id = *id ? *id : own;
	}
	if (!*id)
		return err_set(e, ST_INVALID,
			       "give 'decision_id' (or a 'decision' object with one)");
	return ST_OK;
}

/* The first member of copy whose value the stored decision does not have, or NULL. */
static const char *differing_key(json_object *copy, json_object *stored)
{
	json_object_object_foreach(copy, key, val)
	{
		json_object *have = NULL;

		if (!json_object_object_get_ex(stored, key, &have))
			have = NULL;
		if (!json_object_equal(val, have))
			return key;
	}
	return NULL;
}

/*
 * The stored decision the request names (*out, the caller's), its id and the body's copy, if
 * any (both borrowed from req).
 */
static enum status read_decision(struct service *s, json_object *req, json_object **copy,
				 const char **id, json_object **out, struct err *e)
{
	char *payload = NULL;
	enum status st = decision_ref(req, copy, id, e);

	*out = NULL;
	if (st == ST_OK)
		st = service_decision_read(s, *id, &payload, e);
	if (st == ST_NOT_FOUND)
		return err_set(e, ST_NOT_FOUND,
			       "decision '%s' not found: approvals are for decisions stored by "
			       "POST /decisions",
			       *id);
	if (st == ST_OK)
		st = jx_parse_object(payload, strlen(payload), out, e);
	free(payload);
	return st;
}

/*
 * A copy in the body is only checked against the stored decision, never used: approvers must
 * see what the policy decided, not what the agent that asks for the approval says it decided.
 * On a difference *d is put and set to NULL.
 */
static enum status same_as_stored(json_object *copy, const char *id, json_object **d, struct err *e)
{
	const char *key = copy ? differing_key(copy, *d) : NULL;
	enum status st;

	if (!key)
		return ST_OK;
	st = err_set(e, ST_CONFLICT,
		     "field 'decision.%.64s' differs from stored decision '%s'; send the decision "
		     "unchanged or only its decision_id",
		     key, id);
	json_object_put(*d);
	*d = NULL;
	return st;
}

/* The stored decision the approval is about, checked against the body's copy. */
static enum status load_decision(struct service *s, json_object *req, json_object **out,
				 struct err *e)
{
	json_object *copy = NULL;
	const char *id = NULL;
	enum status st = read_decision(s, req, &copy, &id, out, e);

	if (st == ST_OK)
		st = same_as_stored(copy, id, out, e);
	return st;
}

/* Whether record's recorded_by is mine (a caller's, service_recorded_by). */
static bool written_by(json_object *record, json_object *mine)
{
	json_object *by = NULL;

	return json_object_object_get_ex(record, "recorded_by", &by) && json_object_equal(by, mine);
}

/*
 * An agent asks for approvals of its own decisions: another caller's request would open the
 * decision's one pending approval (with a lifetime of its choosing) for an action the deciding
 * agent never asked to take.  A decision without recorded_by (imported, adopted) is nobody's.
 * Checked before the body's copy is compared, so that a 409 naming a field tells a caller
 * nothing of a decision it may not ask about.  Callers without credentials (auth mode none) hold
 * every role and are not checked.
 */
static enum status check_requester(json_object *d, const char *id, const struct caller *who,
				   struct err *e)
{
	json_object *mine;
	bool own;

	if (!who->verified || who->may_request_any)
		return ST_OK;
	mine = service_recorded_by(who);
	own = written_by(d, mine);
	json_object_put(mine);
	if (own)
		return ST_OK;
	return service_owner_refusal("decision", id, "recorded", "approvals.request_any",
				     "ask for its approval", e);
}

/* Fields of the decision the approval copies; enums are checked. */
static enum status decision_facts(json_object *d, struct routing_facts *f, struct err *e)
{
	static const char *const keys[] = {"session_id", "rule_id",	  "action_type",
					   "target",	 "policy_pack",	  "repository",
					   "agent_id",	 "approver_group"};
	const char *v;

	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (jx_str(d, keys[i], false, &v, e) != ST_OK)
			return in_decision(e);
	if (jx_str(d, "decision", false, &f->decision, e) != ST_OK ||
	    (f->decision && jx_check_enum("decision", f->decision, service_decision_values, e)) ||
	    jx_str(d, "severity", false, &f->severity, e) != ST_OK ||
	    (f->severity && jx_check_enum("severity", f->severity, service_severity_values, e)))
		return in_decision(e);
	f->action_type = jx_get_str(d, "action_type");
	f->target = jx_get_str(d, "target");
	f->rule_id = jx_get_str(d, "rule_id");
	f->policy_pack = jx_get_str(d, "policy_pack");
	f->repository = jx_get_str(d, "repository");
	return ST_OK;
}

/* Where an approval's group came from. */
struct route {
	const char *group;
	const char *routed_by; /* rule name, "decision" or "override" */
	const char *rule; /* what the rules gave, before an override (may be NULL) */
	const char *routed_group;
	bool overridden;
};

/*
 * The routing rules, then the stored decision's own group.  The request may
 * name that same group; another one is an override, only for callers
 * holding approvals.route, since whoever picks the group picks the approvers.
 */
static enum status pick_group(struct service *s, json_object *req, json_object *d,
			      const struct routing_facts *f, const struct caller *who,
			      struct route *rt, struct err *e)
{
	const char *asked = NULL;

	memset(rt, 0, sizeof(*rt));
	if (jx_id(req, "approver_group", false, &asked, e) != ST_OK)
		return ST_INVALID;
	if ((rt->group = service_routing_pick(s->routing, f, &rt->routed_by)) == NULL &&
	    (rt->group = jx_get_str(d, "approver_group")) != NULL && *rt->group)
		rt->routed_by = "decision";
	if (rt->group && !*rt->group)
		rt->group = NULL;
	if (!asked || str_eq(asked, rt->group))
		return rt->group
			       ? ST_OK
			       : err_set(e, ST_INVALID,
					 "no approver group: no routing rule matches decision '%s' "
					 "and it names none; add a routing rule for it",
					 jx_get_str(d, "decision_id"));
	if (!who->may_route)
		return err_set(e, ST_FORBIDDEN,
			       "field 'approver_group': the routing rules give '%s'; choosing "
			       "another group needs permission 'approvals.route'",
			       rt->group ? rt->group : "none");
	rt->rule = rt->routed_by;
	rt->routed_group = rt->group;
	rt->group = asked;
	rt->routed_by = "override";
	rt->overridden = true;
	return ST_OK;
}

/* The history entry of an override: the group chosen and the one the rules gave. */
static json_object *override_entry(const struct route *rt, const char *actor, const char *now,
				   const struct caller *who)
{
	json_object *h = history_entry("approver_group_override", actor, now, NULL, NULL, who);

	jx_add_str(h, "approver_group", rt->group);
	jx_add_str(h, "routed_group", rt->routed_group);
	jx_add_str(h, "routed_by", rt->rule);
	return h;
}

static void copy_fields(json_object *rec, json_object *d)
{
	static const char *const keys[] = {"session_id", "rule_id",	"action_type",
					   "target",	 "policy_pack", "repository",
					   "agent_id",	 "severity",	"reason"};

	jx_add_str(rec, "decision_id", jx_get_str(d, "decision_id"));
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const char *v = jx_get_str(d, keys[i]);

		if (v)
			jx_add_str(rec, keys[i], v);
	}
	json_object_object_add(rec, "decision", json_object_get(d));
}

/* evidence_refs: the approval's own, then the decision's. */
static void add_refs(json_object *rec, const char *id)
{
	json_object *refs = json_object_new_array(), *d = NULL, *dr = NULL;
	char *own = xasprintf("approval://%s", id);

	json_object_array_add(refs, json_object_new_string(own));
	free(own);
	if (json_object_object_get_ex(rec, "decision", &d) &&
	    json_object_object_get_ex(d, "evidence_refs", &dr) &&
	    json_object_is_type(dr, json_type_array))
		for (size_t i = 0; i < json_object_array_length(dr); i++)
			json_object_array_add(refs,
					      json_object_get(json_object_array_get_idx(dr, i)));
	json_object_object_add(rec, "evidence_refs", refs);
}

/*
 * Stores a new approval record built in rec (takes rec).  With decision_id, only while that
 * decision has no open approval: else *record is the open one and *created false.
 */
static enum status insert_approval(struct service *s, json_object *rec, const char *decision_id,
				   char **record, bool *created, struct err *e)
{
	char now[TIME_FMT_LEN], hex[13];
	enum rec_outcome out;
	struct prepared p;
	struct rec_write w;
	char *id, *open_id = NULL;
	const struct approval_guard g = {decision_id, now, &open_id};
	enum status st = random_hex(hex, 6, e);

	id = xasprintf("apr_%s", hex);
	jx_add_str(rec, "approval_id", id);
	add_refs(rec, id);
	free(id);
	now_text(now, sizeof(now));
	if (st == ST_OK)
		st = service_kind_prepare(&service_kind_approval, rec, false, &p, e);
	json_object_put(rec);
	if (st != ST_OK)
		return st;
	service_prepared_write(&service_kind_approval, &p, now, &w);
	st = decision_id
		     ? store_chain_approval_create(s->store, service_kind_approval.table, &w, &g,
						   &out, e)
		     : store_chain_approval_put(s->store, service_kind_approval.table, &w, &out, e);
	*created = st == ST_OK && !open_id;
	if (st == ST_OK)
		st = service_kind_get(s, &service_kind_approval, open_id ? open_id : p.id, record,
				      e);
	free(open_id);
	service_prepared_release(&p);
	return st;
}

/* An approval of the decision that is still pending, if any. */
static enum status find_open(struct service *s, const char *decision_id, char **record,
			     struct err *e)
{
	char now[TIME_FMT_LEN];
	struct rec_filter f[3] = {{"decision_id", REC_EQ, decision_id, 0},
				  {"state", REC_EQ, "pending", 0},
				  {"expires_at", REC_AFTER, now, 0}};
	struct rec_query q = {.filters = f, .nfilters = 3, .limit = 1};
	struct rec_page page = {0};
	enum status st;

	now_text(now, sizeof(now));
	*record = NULL;
	st = store_rec_list(s->store, service_kind_approval.table, &q, &page, e);
	if (st == ST_OK && page.n > 0)
		st = service_kind_vouch(s, &service_kind_approval, page.rows[0].id, e);
	if (st == ST_OK && page.n > 0)
		*record = jx_take_text(service_kind_record(&service_kind_approval, &page.rows[0]));
	store_rec_page_release(&page);
	return st;
}

static void fill_request(json_object *rec, json_object *d, const struct route *rt,
			 const char *requested_by, double ttl, const struct caller *who)
{
	json_object *hist = json_object_new_array();
	char now[TIME_FMT_LEN];

	now_text(now, sizeof(now));
	copy_fields(rec, d);
	jx_add_str(rec, "state", "pending");
	jx_add_str(rec, "approver_group", rt->group);
	jx_add_str(rec, "routed_by", rt->routed_by);
	jx_add_str(rec, "requested_by", requested_by);
	jx_add_str(rec, "requested_at", now);
	jx_add_time(rec, "expires_at", time_now_us() + (int64_t)llround(ttl * 3600e6));
	json_object_object_add(rec, "recorded_by", service_recorded_by(who));
	json_object_array_add(hist, history_entry("requested", requested_by, now, NULL, NULL, who));
	if (rt->overridden)
		json_object_array_add(hist, override_entry(rt, requested_by, now, who));
	json_object_object_add(rec, "history", hist);
}

static enum status build_request(struct service *s, json_object *req, json_object *d,
				 const struct caller *who, json_object *rec, struct err *e)
{
	const char *requested_by = NULL;
	struct routing_facts f;
	struct route rt;
	double ttl;
	enum status st = decision_facts(d, &f, e);

	if (st == ST_OK)
		st = pick_group(s, req, d, &f, who, &rt, e);
	if (st == ST_OK)
		st = take_actor(req, "requested_by", who, false, &requested_by, e);
	if (st == ST_OK)
		st = read_hours(req, "ttl_hours", TTL_DEFAULT_HOURS, TTL_MAX_HOURS, &ttl, e);
	if (st != ST_OK)
		return st;
	if (!requested_by)
		requested_by = jx_get_str(d, "actor");
	fill_request(rec, d, &rt, requested_by, ttl, who);
	return ST_OK;
}

enum status service_approval_create(struct service *s, json_object *req, const struct caller *who,
				    char **record, bool *created, struct err *e)
{
	json_object *d = NULL, *copy = NULL, *rec = json_object_new_object();
	const char *id = NULL;
	enum status st = read_decision(s, req, &copy, &id, &d, e);

	*created = false;
	*record = NULL;
	/* whose decision it is comes first: a refused caller learns only that it exists */
	if (st == ST_OK)
		st = check_requester(d, id, who, e);
	if (st == ST_OK)
		st = same_as_stored(copy, id, &d, e);
	if (st == ST_OK)
		st = build_request(s, req, d, who, rec,
				   e); /* bad input is 4xx even when one is open */
	if (st == ST_OK)
		st = find_open(s, jx_get_str(d, "decision_id"), record, e);
	if (st != ST_OK || *record) {
		json_object_put(d);
		json_object_put(rec);
		return st;
	}
	/* checked again where the write happens: two first requests at once make one approval */
	st = insert_approval(s, rec, jx_get_str(d, "decision_id"), record, created, e);
	json_object_put(d);
	return st;
}

static const char *const action_names[] = {"approved", "denied", "expired"};
static const char *const action_events[] = {"approved", "denied", "expired"};

/* actor and reason: required to approve or deny, optional to expire. */
static enum status read_act(json_object *req, enum approval_action a, const struct caller *who,
			    const char **actor, const char **reason, const char **ext,
			    struct err *e)
{
	enum status st = take_actor(req, "actor", who, a != APPROVAL_EXPIRE, actor, e);

	if (st != ST_OK)
		return st;
	if (jx_str(req, "reason", a != APPROVAL_EXPIRE, reason, e) != ST_OK ||
	    jx_str(req, "external_ref", false, ext, e) != ST_OK)
		return ST_INVALID;
	if (*reason && strlen(*reason) > REASON_MAX)
		return err_set(e, ST_INVALID, "field 'reason' is longer than %d bytes", REASON_MAX);
	if (*ext && jx_check_id("external_ref", *ext, e) != ST_OK)
		return ST_INVALID;
	return ST_OK;
}

/*
 * The stored payload with the change applied (history appended) into *out, the caller's.
 * ST_INTERNAL when the stored payload does not parse (edited in the database): starting from an
 * empty object would write the approval back without its history.
 */
static enum status changed_payload(const struct rec_row *row, enum approval_action a,
				   const char *actor, const char *reason, const char *ext,
				   const char *now, const struct caller *who, char **out,
				   struct err *e)
{
	json_object *p = NULL, *hist = NULL;

	*out = NULL;
	if (service_stored_for_write("approval", row->id, row->payload ? row->payload : "", &p,
				     e) != ST_OK)
		return ST_INTERNAL;
	jx_add_str(p, "state", action_names[a]);
	jx_add_str(p, "decided_at", now);
	jx_add_str(p, "decided_by", actor);
	jx_add_str(p, "decision_reason", reason);
	if (ext)
		jx_add_str(p, "external_ref", ext);
	if (!json_object_object_get_ex(p, "history", &hist) ||
	    !json_object_is_type(hist, json_type_array)) {
		hist = json_object_new_array();
		json_object_object_add(p, "history", hist);
	}
	json_object_array_add(hist, history_entry(action_events[a], actor, now, reason, ext, who));
	*out = jx_take_text(p);
	return ST_OK;
}

/* Why the change was refused: the approval's state as read now. */
/*
 * Called after a compare-and-set found the row no longer pending: the state is read again so
 * that the 409 names what another caller (or the clock) already made of it.
 */
static enum status not_pending(struct service *s, const char *id, struct err *e)
{
	struct rec_row row;
	json_object *o;
	enum status st = store_rec_get(s->store, service_kind_approval.table, id, &row, e);

	if (st != ST_OK)
		return st;
	o = service_kind_record(&service_kind_approval, &row);
	st = err_set(e, ST_CONFLICT, "approval '%s' is %s: only a pending approval changes", id,
		     jx_get_str(o, "state") ? jx_get_str(o, "state") : "not pending");
	json_object_put(o);
	store_rec_row_release(&row);
	return st;
}

/* Deciding needs membership of the approval's group (admins excepted). */
/*
 * An unverified caller only exists in auth_mode none, where nobody has an identity to check
 * and the pilot acts with every role; refusing there would make approvals unusable.
 */
static enum status check_member(struct service *s, const char *id, const struct caller *who,
				struct err *e)
{
	struct rec_row row;
	json_object *o;
	const char *group;
	enum status st;

	if (!who->verified || who->admin)
		return ST_OK;
	st = store_rec_get(s->store, service_kind_approval.table, id, &row, e);
	if (st != ST_OK)
		return st;
	o = service_kind_record(&service_kind_approval, &row);
	group = jx_get_str(o, "approver_group");
	st = ST_FORBIDDEN;
	for (size_t i = 0; group && i < who->ngroups; i++)
		if (strcmp(who->groups[i], group) == 0)
			st = ST_OK;
	if (st != ST_OK)
		err_set(e, ST_FORBIDDEN,
			"approval '%s' is for approver group '%s'; '%s' is not a member", id,
			group ? group : "?", who->actor);
	json_object_put(o);
	store_rec_row_release(&row);
	return st;
}

/*
 * Checks run in the order a client can act on: 400 for the body, 404 for the id, 403 for the
 * group, and only then the write.  The write is guarded on state = 'pending' and (except for an
 * explicit expire) on expires_at still ahead, so of two approvers acting at once exactly one
 * wins, and an approval that expired a moment ago cannot be approved by a stale screen.
 */
enum status service_approval_act(struct service *s, const char *id, enum approval_action a,
				 json_object *req, const struct caller *who, char **record,
				 struct err *e)
{
	const char *actor = NULL, *reason = NULL, *ext = NULL;
	char now[TIME_FMT_LEN];
	struct rec_row row = {0};
	bool won = false;
	enum status st = read_act(req, a, who, &actor, &reason, &ext, e);

	if (st == ST_OK)
		st = service_kind_get(s, &service_kind_approval, id, record, e); /* 404 first */
	if (st == ST_OK)
		st = check_member(s, id, who, e);
	if (st != ST_OK) {
		free(*record);
		*record = NULL;
		return st;
	}
	free(*record);
	*record = NULL;
	now_text(now, sizeof(now));
	st = store_rec_get(s->store, service_kind_approval.table, id, &row, e);
	if (st == ST_OK) {
		char *payload = NULL;
		struct rec_cas cas = {
			.id = id,
			.guard_col = "state",
			.guard = "pending",
			.later_col = a == APPROVAL_EXPIRE ? NULL : "expires_at",
			.now = now,
			.set_cols = {"state", "decided_at", "decided_by"},
			.set_values = {action_names[a], now, actor},
			.updated_at = now,
		};

		st = changed_payload(&row, a, actor, reason, ext, now, who, &payload, e);
		cas.payload = payload;
		if (st == ST_OK)
			st = store_chain_approval_cas(s->store, service_kind_approval.table, &cas,
						      &won, e);
		free(payload);
	}
	store_rec_row_release(&row);
	if (st == ST_OK && !won)
		st = not_pending(s, id, e);
	if (st == ST_OK)
		st = service_kind_get(s, &service_kind_approval, id, record, e);
	return st;
}

static enum status read_break_glass(json_object *req, const struct caller *who, const char **actor,
				    const char **reason, const char **ext, double *ttl,
				    struct err *e)
{
	enum status st = take_actor(req, "actor", who, true, actor, e);

	if (st != ST_OK)
		return st;
	if (jx_str(req, "reason", true, reason, e) != ST_OK ||
	    jx_id(req, "external_ref", true, ext, e) != ST_OK)
		return ST_INVALID;
	if (strlen(*reason) > REASON_MAX)
		return err_set(e, ST_INVALID, "field 'reason' is longer than %d bytes", REASON_MAX);
	return read_hours(req, "ttl_hours", BREAK_GLASS_MAX_HOURS, BREAK_GLASS_MAX_HOURS, ttl, e);
}

/*
 * Break-glass skips the approver group but leaves more trace, not less: the reason and an
 * external reference (an incident ticket) are required, the grant expires, and both the
 * request and the grant are in the history with who made them.
 */
static json_object *break_glass_record(json_object *d, const char *actor, const char *reason,
				       const char *ext, double ttl, const struct caller *who)
{
	json_object *rec = json_object_new_object(), *hist = json_object_new_array();
	char now[TIME_FMT_LEN];

	now_text(now, sizeof(now));
	copy_fields(rec, d);
	jx_add_str(rec, "state", "break_glass");
	jx_add_str(rec, "approver_group", BREAK_GLASS_GROUP);
	jx_add_str(rec, "routed_by", "break_glass");
	jx_add_str(rec, "requested_by", actor);
	jx_add_str(rec, "decided_by", actor);
	jx_add_str(rec, "decided_at", now);
	jx_add_str(rec, "decision_reason", reason);
	jx_add_str(rec, "external_ref", ext);
	json_object_object_add(rec, "break_glass", json_object_new_boolean(1));
	jx_add_str(rec, "break_glass_reason", reason);
	jx_add_str(rec, "requested_at", now);
	jx_add_time(rec, "expires_at", time_now_us() + (int64_t)llround(ttl * 3600e6));
	json_object_object_add(rec, "recorded_by", service_recorded_by(who));
	json_object_array_add(hist, history_entry("requested", actor, now, reason, ext, who));
	json_object_array_add(hist, history_entry("break_glass", actor, now, reason, ext, who));
	json_object_object_add(rec, "history", hist);
	return rec;
}

enum status service_break_glass(struct service *s, json_object *req, const struct caller *who,
				char **record, struct err *e)
{
	const char *actor = NULL, *reason = NULL, *ext = NULL;
	json_object *d = NULL, *rec;
	double ttl = 0;
	bool created = false;
	enum status st = read_break_glass(req, who, &actor, &reason, &ext, &ttl, e);

	if (st == ST_OK)
		st = load_decision(s, req, &d, e);
	if (st != ST_OK)
		return st;
	rec = break_glass_record(d, actor, reason, ext, ttl, who);
	json_object_put(d);
	/* no guard: break glass is recorded whatever else is open */
	return insert_approval(s, rec, NULL, record, &created, e);
}

/* Read-time view: a pending approval past expires_at reads as expired. */
void service_approval_view(json_object *rec)
{
	const char *state = jx_get_str(rec, "state"), *exp = jx_get_str(rec, "expires_at");
	bool pending = str_eq(state, "pending"), glass = str_eq(state, "break_glass");
	int64_t us, now = time_now_us();

	if (!exp || !time_parse(exp, &us))
		return;
	if (pending && us <= now)
		jx_add_str(rec, "state", "expired"); /* frees state */
	if (glass)
		json_object_object_add(rec, "active", json_object_new_boolean(us > now));
}

/*
 * An approval carries its decision whole (target, action, repository, reason): reading another
 * agent's would tell what that agent did, which agents may not read (activity.read).  So a
 * caller with credentials but without approvals.read_any reads the approvals of decisions it
 * recorded and those it asked for itself; without credentials (auth mode none) every one.
 */
char *service_approval_reader(const struct caller *who)
{
	if (!who || !who->verified || who->may_read_any)
		return NULL;
	return jx_take_text(service_recorded_by(who));
}

/* The same rule as the list's filter (REC_BY on "decision"), for one stored record. */
bool service_approval_readable(const char *record, const struct caller *who)
{
	json_object *rec = NULL, *mine, *d = NULL;
	bool yes;

	if (!who || !who->verified || who->may_read_any)
		return true;
	if (jx_parse_object(record, strlen(record), &rec, NULL) != ST_OK)
		return false;
	mine = service_recorded_by(who);
	yes = written_by(rec, mine) ||
	      (json_object_object_get_ex(rec, "decision", &d) && written_by(d, mine));
	json_object_put(mine);
	json_object_put(rec);
	return yes;
}

/* The state filter, with expiry taken into account. */
/*
 * Expiry is evaluated at read time (see service_approval_view), so the filter must match the same
 * view: "pending" excludes rows past expires_at, and "expired" includes them.
 */
size_t service_approval_state_filter(const char *state, const char *now, struct rec_filter *f)
{
	if (!state)
		return 0;
	if (strcmp(state, "pending") == 0) {
		f[0] = (struct rec_filter){"state", REC_EQ, "pending", 0};
		f[1] = (struct rec_filter){"expires_at", REC_AFTER, now, 0};
		return 2;
	}
	if (strcmp(state, "expired") == 0) {
		f[0] = (struct rec_filter){"state", REC_EQ, "expired", 1};
		f[1] = (struct rec_filter){"state", REC_EQ, "pending", 2};
		f[2] = (struct rec_filter){"expires_at", REC_NOT_AFTER, now, 2};
		return 3;
	}
	f[0] = (struct rec_filter){"state", REC_EQ, state, 0};
	return 1;
}
