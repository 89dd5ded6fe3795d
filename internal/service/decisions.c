/*
 * decisions.c - POST /decisions and the decision queries (docs/policies.md).
 *
 * The hot path of the service: every action an agent takes passes through
 * service_decision_create, which validates the request, evaluates it against the pack (and
 * the MCP registry for tool calls), and stores the decision together with its session's
 * counters.  A decision is stored once and never updated: it is evidence, so the whole record,
 * including the policy version it was judged by, is written as the answer gives it.  No HTTP
 * here; the handler only parses the body and replies (docs/architecture.md).
 */
#include "base/base.h"
#include "service/service.h"
#include "service/paging.h"
#include "service/registry_view.h"
#include "service/idempotency.h"
#include "service/records.h"
#include "base/buf.h"
#include "base/timeutil.h"
#include "base/hash.h"
#include "base/xalloc.h"
#include "json/jx.h"
#include "store/store_chain.h"
#include "store/store_decisions.h"
#include "store/store_sessions.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_MAX 8192 /* target, operation: commands can be long, not unbounded */

const char *const service_decision_values[] = {
	"allow", "block", "require_approval", "warn", "audit_only", "allow_with_attestation", NULL};
const char *const service_severity_values[] = {"low", "medium", "high", "critical", NULL};

/* The request's fields, borrowed from its JSON object. */
struct decision_req {
	const char *policy_pack, *session_id, *agent_id, *actor, *action_type, *target;
	const char *operation, *server, *tool, *capability, *repository;
};

static enum status text_field(json_object *req, const char *key, const char **out, struct err *e)
{
	enum status st = jx_str(req, key, false, out, e);

	if (st == ST_OK && *out && strlen(*out) > TEXT_MAX)
		return err_set(e, ST_INVALID, "field '%s' is longer than %d bytes", key, TEXT_MAX);
	return st;
}

/* The identifier fields after action_type and session_id, in the order they are checked. */
static const struct {
	const char *key;
	size_t off;
} request_ids[] = {
	{"agent_id", offsetof(struct decision_req, agent_id)},
	{"actor", offsetof(struct decision_req, actor)},
	{"repository", offsetof(struct decision_req, repository)},
	{"server", offsetof(struct decision_req, server)},
	{"tool", offsetof(struct decision_req, tool)},
	{"capability", offsetof(struct decision_req, capability)},
};

/*
 * Every field is checked before anything is evaluated, so a bad request is refused with the
 * first bad field named and no decision is ever recorded for it.  session_id may not contain
 * '/' because it becomes a path segment (/sessions/{id}/decisions).
 */
static enum status read_request(json_object *req, struct decision_req *d, struct err *e)
{
	enum status st = ST_OK;

	memset(d, 0, sizeof(*d));
	if (st == ST_OK)
		st = jx_id(req, "action_type", true, &d->action_type, e);
	if (st == ST_OK)
		st = jx_id(req, "policy_pack", false, &d->policy_pack, e);
	if (st == ST_OK)
		st = jx_id(req, "session_id", false, &d->session_id, e);
	if (st == ST_OK && d->session_id)
		st = service_check_path_id("session_id", d->session_id, e);
	for (size_t i = 0; st == ST_OK && i < ARRAY_SIZE(request_ids); i++)
		st = jx_id(req, request_ids[i].key, false,
			   (const char **)(void *)((char *)d + request_ids[i].off), e);
	if (st == ST_OK)
		st = text_field(req, "target", &d->target, e);
	if (st == ST_OK)
		st = text_field(req, "operation", &d->operation, e);
	return st;
}

/* Evaluates d; MCP tool calls consult the registry first. */
/*
 * An unknown pack is the client's mistake (400 naming the field), not a missing resource (404):
 * the request URL exists, one of its fields is wrong.  The registry is read only for MCP tool
 * calls, so other decisions cost no query before their insert.
 */
static enum status evaluate(struct service *s, const struct decision_req *d,
			    const struct policy_pack **pack, struct policy_result *res,
			    struct err *e)
{
	const struct policy_action act = {d->action_type, d->target, d->operation,
					  d->server,	  d->tool,   d->capability};
	struct registry_view view = {0};
	bool registered = false;
	enum status st;

	st = policy_set_find(s->policies, d->policy_pack ? d->policy_pack : POLICY_DEFAULT_PACK,
			     pack, e);
	if (st == ST_NOT_FOUND)
		return err_set(e, ST_INVALID, "field 'policy_pack': policy pack '%s' not found",
			       d->policy_pack);
	if (st != ST_OK)
		return st;
	if (strcmp(d->action_type, "mcp_tool_call") == 0 && (d->server || d->target)) {
		st = service_registry_view_load(s->store, d->server ? d->server : d->target, &view,
						&registered, e);
		if (st != ST_OK)
			return st;
	}
	policy_evaluate(*pack, &act, registered ? &view.server : NULL, res);
	service_registry_view_release(&view);
	return ST_OK;
}

struct ids {
	char decision_id[4 + 24 + 1];
	char correlation_id[5 + 24 + 1];
	char session_id[4 + 24 + 1];
	char now[TIME_FMT_LEN];
	char evidence_ref[600];
};

/*
 * Ids are random, not sequential: replicas share no counter, and a sequential id would tell
 * any caller how busy the service is.  Without a session_id the decision opens a new session
 * of its own, so that every decision belongs to exactly one session.
 */
static enum status make_ids(const struct decision_req *d, struct ids *ids, struct err *e)
{
	enum status st;

	memcpy(ids->decision_id, "dec_", 4);
	memcpy(ids->correlation_id, "corr_", 5);
	memcpy(ids->session_id, "ses_", 4);
	st = random_hex(ids->decision_id + 4, 6, e);
	if (st == ST_OK)
		st = random_hex(ids->correlation_id + 5, 6, e);
	if (st == ST_OK && !d->session_id)
		st = random_hex(ids->session_id + 4, 6, e);
	time_format_utc(time_now_us(), ids->now, sizeof(ids->now));
	snprintf(ids->evidence_ref, sizeof(ids->evidence_ref), "evidence://%s/%s",
		 d->session_id ? d->session_id : ids->session_id, ids->decision_id);
	return st;
}

/* What the pack's approvals routing and an audit_only mode add to a decision. */
static void add_policy_extras(json_object *o, const struct policy_result *res)
{
	if (res->approvers_len) {
		json_object *a = json_object_new_array();

		for (size_t i = 0; i < res->approvers_len; i++)
			json_object_array_add(a, json_object_new_string(res->approvers[i]));
		jx_add_str(o, "approval_class", res->approval_class);
		json_object_object_add(o, "approvers", a);
	}
	if (res->would_rule_id) {
		jx_add_str(o, "would_decision", policy_decision_name(res->would_decision));
		jx_add_str(o, "would_rule_id", res->would_rule_id);
	}
}

/* actor is what the harness reports (an agent acts for a person); recorded_by who called. */
static json_object *build_record(const struct decision_req *d, const struct ids *ids,
				 const struct policy_pack *pack, const struct policy_result *res,
				 const struct caller *who)
{
	json_object *o = json_object_new_object();
	json_object *refs = json_object_new_array();

	json_object_array_add(refs, json_object_new_string(ids->evidence_ref));
	jx_add_str(o, "schema_version", "cavra.decision.v1");
	jx_add_str(o, "decision_id", ids->decision_id);
	jx_add_str(o, "session_id", d->session_id ? d->session_id : ids->session_id);
	jx_add_str(o, "agent_id", d->agent_id);
	jx_add_str(o, "actor", d->actor);
	jx_add_str(o, "repository", d->repository);
	jx_add_str(o, "action_type", d->action_type);
	jx_add_str(o, "target", d->target);
	jx_add_str(o, "requested_operation", d->operation);
	if (d->server || d->tool || d->capability) {
		jx_add_str(o, "server", d->server);
		jx_add_str(o, "tool", d->tool);
		jx_add_str(o, "capability", d->capability);
	}
	jx_add_str(o, "policy_pack", res->policy_id);
	jx_add_str(o, "policy_id", res->policy_id);
	jx_add_str(o, "rule_id", res->rule_id);
	jx_add_str(o, "decision", policy_decision_name(res->decision));
	jx_add_str(o, "severity", policy_severity_name(res->severity));
	jx_add_str(o, "reason", res->reason);
	json_object_object_add(o, "evidence_refs", refs);
	jx_add_str(o, "approver_group", res->approver_group);
	add_policy_extras(o, res);
	jx_add_str(o, "timestamp", ids->now);
	jx_add_str(o, "correlation_id", ids->correlation_id);
	json_object_object_add(o, "policy_version", service_policy_version_json(pack));
	json_object_object_add(o, "recorded_by", service_recorded_by(who));
	return o;
}

/*
 * The decision stored under k: ST_OK with its payload when it was made for the same request,
 * ST_UNPROCESSABLE when the key was used with another, ST_NOT_FOUND when there is none.
 */
static enum status replay(struct service *s, const struct idempotency *k, char **record,
			  struct err *e)
{
	char *id = NULL, *sha = NULL;
	enum status st = store_decision_find_key(s->store, k->caller, k->key, &id, &sha, e);

	if (st == ST_OK && strcmp(sha, k->request_sha256) != 0)
		st = err_set(e, ST_UNPROCESSABLE,
			     "header 'Idempotency-Key': the key was used with a different request "
			     "body; send a new key for a new request");
	/* what the harness acts on again: only as the audit chain recorded it */
	if (st == ST_OK)
		st = service_decision_read(s, id, record, e);
	free(id);
	free(sha);
	return st;
}

/*
 * The stored payload is the exact text returned to the client, so that GET /decisions/{id}
 * gives back byte for byte what the agent's harness was told.  The key goes into the same
 * row, written by the same statement, so a decision is never durable without its key.  owner
 * (NULL: none) is the caller's recorded_by when its decision may start the session: the
 * write settles who owns it (struct decision_rec).
 */
static enum status store_new(struct service *s, const struct decision_req *d,
			     const struct caller *who, const struct idempotency *k,
			     const char *owner, char **record, enum policy_decision *decision,
			     struct err *e)
{
	const struct policy_pack *pack = NULL;
	struct policy_result res;
	struct decision_rec rec;
	json_object *o;
	struct ids ids;
	enum status st = evaluate(s, d, &pack, &res, e);

	if (st == ST_OK)
		st = make_ids(d, &ids, e);
	if (st != ST_OK)
		return st;
	o = build_record(d, &ids, pack, &res, who);
	rec = (struct decision_rec){
		ids.decision_id,
		jx_get_str(o, "session_id"),
		d->agent_id,
		d->actor,
		d->repository,
		d->action_type,
		res.policy_id,
		res.rule_id,
		policy_decision_name(res.decision),
		policy_severity_name(res.severity),
		res.approver_group,
		ids.correlation_id,
		ids.now,
		json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE),
		k->key[0] ? k->caller : NULL,
		k->key[0] ? k->key : NULL,
		k->key[0] ? k->request_sha256 : NULL,
		owner};
	st = store_decision_insert(s->store, &rec, e);
	if (st == ST_OK) {
		*record = xstrdup(rec.payload);
		*decision = res.decision;
	}
	json_object_put(o);
	return st;
}

/* What a caller refused a session needs, and what it would allow, as its 403 names them. */
#define JOIN_PERMISSION "sessions.replace"
#define JOIN_MAY	"add decisions to it"

/*
 * A decision joins an existing session only from the caller that owns it (the one that
 * recorded it through POST /sessions, else the one whose decision started it) or from one
 * allowed to replace sessions: another agent's decisions would add to the counters and to the
 * list an approver reads as that session's.  A decision without session_id opens a session of
 * its own, which no one else can name yet.
 */
static enum status check_session_owner(struct service *s, const struct decision_req *d,
				       const struct caller *who, char **settle, struct err *e)
{
	return service_session_owner_check(s, d->session_id, who, who && who->may_replace_sessions,
					   JOIN_PERMISSION, JOIN_MAY, settle, e);
}

/*
 * With a key, a decision already stored under it is answered before anything is evaluated:
 * a retry costs one indexed read and never reaches the write batch.  Two requests with the
 * same key at once both miss it; the unique index lets one insert through, and the other's
 * conflict is answered by the lookup that now finds the winner's row.
 */
enum status service_decision_create(struct service *s, json_object *req, const struct caller *who,
				    const char *idempotency_key, char **record,
				    enum policy_decision *decision, bool *replayed, struct err *e)
{
	struct idempotency k;
	struct decision_req d;
	char *owner = NULL;
	enum status st = read_request(req, &d, e);

	*replayed = false;
	if (st == ST_OK)
		st = service_idempotency_init(&k, idempotency_key, who, req, e);
	if (st != ST_OK)
		return st;
	if (k.key[0]) {
		st = replay(s, &k, record, e);
		if (st != ST_NOT_FOUND) {
			*replayed = st == ST_OK;
			return st;
		}
		err_clear(e);
	}
	st = check_session_owner(s, &d, who, &owner, e);
	if (st != ST_OK)
		return st; /* a conflict here is the chain's, not the key's */
	st = store_new(s, &d, who, &k, owner, record, decision, e);
	if (st == ST_FORBIDDEN && owner) /* another caller's decision started the session first */
		st = service_owner_refusal("session", d.session_id, "recorded or started",
					   JOIN_PERMISSION, JOIN_MAY, e);
	free(owner);
	if (st == ST_CONFLICT && k.key[0]) {
		enum status again = replay(s, &k, record, e);

		if (again != ST_NOT_FOUND) {
			*replayed = again == ST_OK;
			return again;
		}
		st = err_set(e, ST_CONFLICT, "decision could not be stored: id conflict, retry");
	}
	return st;
}

enum status service_check_path_id(const char *field, const char *value, struct err *e)
{
	if (strchr(value, '/'))
		return err_set(e, ST_INVALID,
			       "field '%s' must not contain '/' (it is part of URL paths)", field);
	return ST_OK;
}

enum status service_decision_read(struct service *s, const char *id, char **payload, struct err *e)
{
	bool vouched = true;
	enum status st = store_record_vouched_get(s->store, "activity_decisions", id, "payload",
						  payload, &vouched, e);

	if (st == ST_OK && !*payload)
		return err_set(e, ST_NOT_FOUND, "decision '%s' not found", id);
	if (st == ST_OK && !vouched) {
		free(*payload);
		*payload = NULL;
		return store_chain_refuse("decision", id, "", e);
	}
	return st;
}

/* A malformed id cannot exist, so it is answered as not found without a query. */
enum status service_decision_get(struct service *s, const char *id, char **record, struct err *e)
{
	if (jx_check_id("decision_id", id, NULL) != ST_OK)
		return err_set(e, ST_NOT_FOUND, "decision not found");
	return service_decision_read(s, id, record, e);
}

struct list_args {
	const char *session_id, *agent_id, *repository, *policy_pack, *decision, *severity;
	const char *action_type;
	char *since, *until;
};

/* The list's filters in the order they are checked. */
static const struct arg_field list_fields[] = {
	{"session_id", offsetof(struct list_args, session_id), NULL},
	{"agent_id", offsetof(struct list_args, agent_id), NULL},
	{"repository", offsetof(struct list_args, repository), NULL},
	{"policy_pack", offsetof(struct list_args, policy_pack), NULL},
	{"action_type", offsetof(struct list_args, action_type), NULL},
	{"decision", offsetof(struct list_args, decision), service_decision_values},
	{"severity", offsetof(struct list_args, severity), service_severity_values},
};

static enum status read_list_args(service_arg_fn arg, void *ctx, struct list_args *a, struct err *e)
{
	enum status st;

	memset(a, 0, sizeof(*a));
	st = service_arg_fields(arg, ctx, list_fields, ARRAY_SIZE(list_fields), a, e);
	if (st == ST_OK)
		st = service_arg_time(arg, ctx, "since", &a->since, e);
	if (st == ST_OK)
		st = service_arg_time(arg, ctx, "until", &a->until, e);
	return st;
}

/*
 * The page's envelope; a decision the chain does not vouch for is left out of the items and
 * counted in "withheld" (the cursor still follows the page's last row).
 */
static char *page_envelope(const struct store_page *page, const struct paging *p, const char *key)
{
	char *next = page->more ? service_paging_cursor(key, page->last_ts, page->last_id) : NULL;
	struct paging shown = *p;
	size_t n = 0;
	struct buf b;

	shown.withheld += (int64_t)service_withheld("decision", (const char *const *)page->ids,
						    page->vouched, page->n);
	service_envelope_open(&b);
	for (size_t i = 0; i < page->n; i++)
		if (page->vouched[i])
			service_envelope_item(&b, n++, page->items[i]);
	service_envelope_close(&b, page->total, &shown, next);
	free(next);
	return buf_detach(&b, NULL);
}

/*
 * Under /sessions/{id}/decisions the session must exist (404 otherwise, rather than an empty
 * list that looks like a quiet session) and its decisions come oldest first, as a transcript.
 */
enum status service_decision_list(struct service *s, service_arg_fn arg, void *ctx,
				  const char *session_id, char **envelope, struct err *e)
{
	struct store_page page = {0};
	struct list_args a;
	struct paging p = {0};
	struct decision_filter f;
	/* a session's transcript runs the other way: its cursors are not the list's */
	const char *key = session_id ? PAGING_KEY_DECIDED_ASC : PAGING_KEY_DECIDED;
	enum status st = read_list_args(arg, ctx, &a, e);

	if (st == ST_OK)
		st = service_paging_parse(arg, ctx, key, &p, e);
	if (st == ST_OK && session_id) {
		struct session_row row;

		st = store_session_get(s->store, session_id, &row, e);
		store_session_row_release(&row);
	}
	if (st != ST_OK)
		goto out;
	f = (struct decision_filter){.session_id = session_id ? session_id : a.session_id,
				     .agent_id = a.agent_id,
				     .repository = a.repository,
				     .policy_pack = a.policy_pack,
				     .decision = a.decision,
				     .severity = a.severity,
				     .action_type = a.action_type,
				     .since = a.since,
				     .until = a.until,
				     .oldest_first = session_id != NULL};
	PAGING_APPLY(&f, &p);
	st = store_decision_list(s->store, &f, &page, e);
	if (st == ST_OK)
		*envelope = page_envelope(&page, &p, key);
out:
	store_page_release(&page);
	service_paging_release(&p);
	free(a.since);
	free(a.until);
	return st;
}
