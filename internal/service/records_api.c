/*
 * records_api.c - the service entry points of the record kinds, and
 * GET /mcp/trust.
 */
#include "base/base.h"
#include "service/records.h"
#include "service/paging.h"
#include "service/registry_view.h"
#include "base/timeutil.h"
#include "json/jx.h"

#include <stdlib.h>
#include <string.h>

/*
 * The public enum maps to the kind tables here so that callers (http, import) never see
 * struct kind: adding a field to a kind changes kinds.c only.
 */
static const struct kind *const kinds[] = {
	[SK_EVIDENCE] = &service_kind_evidence,
	[SK_APPROVAL] = &service_kind_approval,
	[SK_AGENT] = &service_kind_agent,
	[SK_MCP_SERVER] = &service_kind_mcp_server,
	[SK_REPOSITORY] = &service_kind_repository,
	[SK_ROLLOUT] = &service_kind_rollout,
	[SK_INTEGRATION] = &service_kind_integration,
};

/*
 * GET /approvals' own filters: ?state= (with expiry) and, for a caller that may read only its
 * own, whose they are.  *by is the caller's (free()).
 */
static enum status approval_filters(const struct caller *who, service_arg_fn arg, void *ctx,
				    char *now, struct rec_filter *f, size_t *n, char **by,
				    struct err *e)
{
	static const char *const states[] = {"pending", "approved",    "denied",
					     "expired", "break_glass", NULL};
	const char *state = NULL;

	if (service_arg_enum(arg, ctx, "state", states, &state, e) != ST_OK)
		return ST_INVALID;
	time_format_utc(time_now_us(), now, TIME_FMT_LEN);
	*n = service_approval_state_filter(state, now, f);
	/* in the query, not after it: a page holds up to limit of the caller's own rows */
	if ((*by = service_approval_reader(who)) != NULL)
		f[(*n)++] = (struct rec_filter){"decision", REC_BY, *by, 0};
	return ST_OK;
}

enum status service_record_list(struct service *s, enum service_kind k, const struct caller *who,
				service_arg_fn arg, void *ctx, char **envelope, struct err *e)
{
	struct rec_filter extra[4];
	char now[TIME_FMT_LEN], *by = NULL;
	size_t n = 0;
	enum status st = ST_OK;

	if (k == SK_APPROVAL)
		st = approval_filters(who, arg, ctx, now, extra, &n, &by, e);
	if (st == ST_OK)
		st = service_kind_list(s, kinds[k], arg, ctx, extra, n, envelope, e);
	free(by);
	return st;
}

/* Another caller's approval is answered as a missing one: its existence is not told either. */
enum status service_record_get(struct service *s, enum service_kind k, const struct caller *who,
			       const char *id, char **record, struct err *e)
{
	enum status st = service_kind_get_unvouched(s, kinds[k], id, record, e);

	if (st == ST_OK && k == SK_APPROVAL && !service_approval_readable(*record, who))
		st = err_set(e, ST_NOT_FOUND, "%s '%s' not found", kinds[k]->name, id);
	if (st == ST_OK)
		st = service_kind_vouch(s, kinds[k], id, e);
	if (st != ST_OK) {
		free(*record);
		*record = NULL;
	}
	return st;
}

/*
 * A session's evidence is what proves it, so it comes from the session's owner as its
 * decisions do: another agent's evidence for it, first or only, would tell an auditor filtering
 * on blocked_count another story of the session than its own.  The read here refuses early;
 * the write settles it (service_kind_upsert's owned write starts a new session for its caller,
 * so evidence written before a session's first decision takes the session, not the record).
 */
enum status service_record_upsert(struct service *s, enum service_kind k, json_object *req,
				  const struct caller *who, char **record, bool *created,
				  struct err *e)
{
	json_object *by;
	enum status st;

	if (k == SK_APPROVAL)
		return err_set(e, ST_INVALID, "approvals change through their own endpoints");
	if (k == SK_EVIDENCE) {
		st = service_session_owner_check(s, jx_get_str(req, "session_id"), who,
						 who && who->may_replace, "evidence.replace",
						 "record its evidence", NULL, e);
		if (st != ST_OK)
			return st;
	}
	by = service_recorded_by(who);
	st = service_kind_upsert(s, kinds[k], req, by,
				 kinds[k]->writer_owned && who && who->verified &&
					 !who->may_replace,
				 record, created, e);
	json_object_put(by);
	return st;
}

/* Who wrote a record, as verified: never from the body, so an agent cannot name another. */
json_object *service_recorded_by(const struct caller *who)
{
	json_object *o = json_object_new_object();

	if (who && who->verified && who->subject) {
		jx_add_str(o, "kind", "oidc");
		jx_add_str(o, "issuer", who->issuer);
		jx_add_str(o, "subject", who->subject);
	} else if (who && who->verified && who->token) {
		jx_add_str(o, "kind", "api_token");
		jx_add_str(o, "token", who->token);
	} else {
		jx_add_str(o, "kind", "local");
	}
	return o;
}

enum status service_owner_refusal(const char *what, const char *id, const char *how,
				  const char *permission, const char *may, struct err *e)
{
	return err_set(e, ST_FORBIDDEN,
		       "%s '%s' was %s by another caller: only that caller, or one with permission "
		       "'%s', may %s",
		       what, id, how, permission, may);
}

static enum status trust_args(service_arg_fn arg, void *ctx, struct policy_action *a,
			      const char **pack, struct err *e)
{
	memset(a, 0, sizeof(*a));
	a->action_type = "mcp_tool_call";
	if (service_arg_id(arg, ctx, "server", &a->server, e) != ST_OK ||
	    service_arg_id(arg, ctx, "tool", &a->tool, e) != ST_OK ||
	    service_arg_id(arg, ctx, "capability", &a->capability, e) != ST_OK ||
	    service_arg_id(arg, ctx, "policy_pack", pack, e) != ST_OK)
		return ST_INVALID;
	if (!a->server)
		return err_set(e, ST_INVALID, "parameter 'server' is required");
	return ST_OK;
}

static json_object *trust_json(const struct policy_action *a, const struct registry_view *v,
			       bool found, const struct policy_result *r)
{
	json_object *o = json_object_new_object();

	jx_add_str(o, "server", a->server);
	jx_add_str(o, "tool", a->tool);
	jx_add_str(o, "capability", a->capability);
	json_object_object_add(o, "registered", json_object_new_boolean(found));
	jx_add_str(o, "trust_tier", found ? jx_get_str(v->record, "trust_tier") : NULL);
	jx_add_str(o, "approval_state", found ? jx_get_str(v->record, "approval_state") : NULL);
	jx_add_str(o, "decision", policy_decision_name(r->decision));
	jx_add_str(o, "rule_id", r->rule_id);
	jx_add_str(o, "severity", policy_severity_name(r->severity));
	jx_add_str(o, "reason", r->reason);
	jx_add_str(o, "approver_group", r->approver_group);
	if (r->would_rule_id) {
		jx_add_str(o, "would_decision", policy_decision_name(r->would_decision));
		jx_add_str(o, "would_rule_id", r->would_rule_id);
	}
	jx_add_str(o, "policy_pack", r->policy_id);
	return o;
}

/*
 * A dry run of an MCP tool call: the same registry read and the same evaluation as
 * POST /decisions, so the answer is the decision the call would get, but nothing is recorded.
 * That lets a harness ask before it offers a tool to the agent.
 */
enum status service_mcp_trust(struct service *s, service_arg_fn arg, void *ctx, char **out,
			      struct err *e)
{
	const struct policy_pack *pack = NULL;
	struct registry_view view = {0};
	struct policy_action a;
	struct policy_result r;
	const char *pack_id = NULL;
	bool found = false;
	enum status st = trust_args(arg, ctx, &a, &pack_id, e);

	if (st == ST_OK && policy_set_find(s->policies, pack_id ? pack_id : POLICY_DEFAULT_PACK,
					   &pack, e) != ST_OK)
		st = err_set(e, ST_INVALID, "parameter 'policy_pack': policy pack '%s' not found",
			     pack_id);
	if (st == ST_OK)
		st = service_registry_view_load(s->store, a.server, &view, &found, e);
	if (st == ST_OK) {
		policy_evaluate(pack, &a, found ? &view.server : NULL, &r);
		*out = jx_take_text(trust_json(&a, &view, found, &r));
	}
	service_registry_view_release(&view);
	return st;
}
