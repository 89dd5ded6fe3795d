/*
 * handlers_records.c - evidence, approvals, registry, inventory and
 * integrations (docs/api.md).  Each handler parses, calls the service, and
 * replies; the list / get / upsert trio is the same for every record kind,
 * and POST /sessions and /approvals take the same create-or-update path.
 */
#include "base/base.h"
#include "http/http_int.h"

#include "json/jx.h"

#include <stdlib.h>
#include <string.h>

/*
 * whoami shows the groups as the identity provider sent them, so an operator can
 * compare them with the group-to-role mapping (docs/security.md).
 */
static json_object *groups_array(const struct auth_principal *p)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < p->n_groups; i++)
		json_object_array_add(arr, json_object_new_string(p->groups[i]));
	return arr;
}

static enum MHD_Result list(struct req *r, enum service_kind k)
{
	const struct caller who = http_authn_caller(r);
	struct err e = {0};
	char *env = NULL;
	enum status st = service_record_list(r->app->svc, k, &who, http_req_query_arg, r, &env, &e);

	return http_reply_result(r, st, MHD_HTTP_OK, env, &e);
}

static enum MHD_Result get(struct req *r, enum service_kind k)
{
	const struct caller who = http_authn_caller(r);
	struct err e = {0};
	char *rec = NULL;
	enum status st = service_record_get(r->app->svc, k, &who, r->params[0], &rec, &e);

	return http_reply_result(r, st, MHD_HTTP_OK, rec, &e);
}

/*
 * 201 when the record was created, 200 when it existed (updated or unchanged): a
 * client that retries a create after a lost answer gets 200, not an error, and
 * can tell the two apart.
 */
enum MHD_Result http_handle_upsert(struct req *r, upsert_fn fn)
{
	const struct caller who = http_authn_caller(r);
	enum MHD_Result ret;
	struct err e = {0};
	bool created = false;
	char *rec = NULL;
	json_object *body = http_req_body_or_reply(r, &ret);
	enum status st;

	if (!body)
		return ret;
	st = fn(r->app->svc, body, &who, &rec, &created, &e);
	json_object_put(body);
	return http_reply_result(r, st, created ? MHD_HTTP_CREATED : MHD_HTTP_OK, rec, &e);
}

enum MHD_Result http_handle_get(struct req *r, get_fn fn)
{
	struct err e = {0};
	char *rec = NULL;
	enum status st = fn(r->app->svc, r->params[0], &rec, &e);

	return http_reply_result(r, st, MHD_HTTP_OK, rec, &e);
}

/*
 * Each record kind's upsert_fn binds its kind to service_record_upsert.
 *
 * The record kinds differ only in their description (service/kinds.c), so their
 * handlers are generated rather than copied: a new kind is its description, one
 * line below and its routes in router.c.
 */
#define RECORD_HANDLERS(name, kind)                                                              \
	static enum status name##_upsert(struct service *s, json_object *req,                    \
					 const struct caller *who, char **record, bool *created, \
					 struct err *e)                                          \
	{                                                                                        \
		return service_record_upsert(s, kind, req, who, record, created, e);             \
	}                                                                                        \
	enum MHD_Result http_handle_##name##_list(struct req *r)                                 \
	{                                                                                        \
		return list(r, kind);                                                            \
	}                                                                                        \
	enum MHD_Result http_handle_##name##_get(struct req *r)                                  \
	{                                                                                        \
		return get(r, kind);                                                             \
	}                                                                                        \
	enum MHD_Result http_handle_##name##_upsert(struct req *r)                               \
	{                                                                                        \
		return http_handle_upsert(r, name##_upsert);                                     \
	}

RECORD_HANDLERS(evidence, SK_EVIDENCE)
RECORD_HANDLERS(agent, SK_AGENT)
RECORD_HANDLERS(mcp_server, SK_MCP_SERVER)
RECORD_HANDLERS(repository, SK_REPOSITORY)
RECORD_HANDLERS(rollout, SK_ROLLOUT)
RECORD_HANDLERS(integration, SK_INTEGRATION)

enum MHD_Result http_handle_approval_list(struct req *r)
{
	return list(r, SK_APPROVAL);
}

enum MHD_Result http_handle_approval_get(struct req *r)
{
	return get(r, SK_APPROVAL);
}

enum MHD_Result http_handle_approval_create(struct req *r)
{
	return http_handle_upsert(r, service_approval_create);
}

/*
 * An empty body reads as {}: the service names the missing fields.
 *
 * Approve, deny and expire all go through service_approval_act, whose
 * compare-and-set lets exactly one of two racing approvers win (409 for the other).
 */
static enum MHD_Result act(struct req *r, enum approval_action a)
{
	const struct caller who = http_authn_caller(r);
	enum MHD_Result ret = MHD_NO;
	struct err e = {0};
	char *rec = NULL;
	json_object *body =
		r->body.len == 0 ? json_object_new_object() : http_req_body_or_reply(r, &ret);
	enum status st;

	if (!body)
		return ret;
	st = service_approval_act(r->app->svc, r->params[0], a, body, &who, &rec, &e);
	json_object_put(body);
	return http_reply_result(r, st, MHD_HTTP_OK, rec, &e);
}

enum MHD_Result http_handle_approval_approve(struct req *r)
{
	return act(r, APPROVAL_APPROVE);
}

enum MHD_Result http_handle_approval_deny(struct req *r)
{
	return act(r, APPROVAL_DENY);
}

enum MHD_Result http_handle_approval_expire(struct req *r)
{
	return act(r, APPROVAL_EXPIRE);
}

/* Break-glass always writes a new approval: the create-or-update path with nothing to update. */
static enum status break_glass(struct service *s, json_object *req, const struct caller *who,
			       char **record, bool *created, struct err *e)
{
	*created = true;
	return service_break_glass(s, req, who, record, e);
}

enum MHD_Result http_handle_break_glass(struct req *r)
{
	return http_handle_upsert(r, break_glass);
}

enum MHD_Result http_handle_mcp_trust(struct req *r)
{
	struct err e = {0};
	char *out = NULL;
	enum status st = service_mcp_trust(r->app->svc, http_req_query_arg, r, &out, &e);

	return http_reply_result(r, st, MHD_HTTP_OK, out, &e);
}

/*
 * GET /auth/whoami[?explain=1]: the caller, its roles and permissions.
 *
 * Answers from the principal authn.c built, not from the token again, so it shows
 * exactly what the permission checks saw.  The CSRF token is in the answer because
 * the console reads it from here to send it back on its writes; an API client never
 * has one.  Only non-public permissions are listed: the public ones need no role.
 */
enum MHD_Result http_handle_whoami(struct req *r)
{
	const struct http_auth *a = r->app->auth;
	const char *explain = http_req_query(r, "explain");
	json_object *o = json_object_new_object(), *perms = json_object_new_array();
	char roles[256];
	enum MHD_Result ret;

	auth_roles_format(r->who.roles, roles, sizeof(roles));
	json_object_object_add(
		o, "auth_mode",
		json_object_new_string(a && a->mode == HTTP_AUTH_OIDC ? "oidc" : "none"));
	json_object_object_add(o, "kind",
			       json_object_new_string(r->who.kind == AUTH_KIND_JWT ? "jwt"
						      : r->who.kind == AUTH_KIND_API_TOKEN
							      ? "api_token"
							      : "none"));
	jx_add_str(o, "issuer", r->who.issuer);
	jx_add_str(o, "subject", r->who.subject);
	jx_add_str(o, "actor", r->who.actor);
	json_object_object_add(o, "roles", auth_roles_json(r->who.roles));
	json_object_object_add(o, "groups", groups_array(&r->who));
	jx_add_str(o, "csrf_token", r->csrf_token);
	jx_add_str(o, "login_url", a && a->console ? "/console/login" : NULL);
	for (size_t i = 0; i < auth_permission_count(); i++) {
		const struct auth_permission *p = auth_permission_at(i);

		if (p->access != AUTH_ACCESS_PUBLIC && auth_allowed(r->who.roles, p->name))
			json_object_array_add(perms, json_object_new_string(p->name));
	}
	json_object_object_add(o, "permissions", perms);
	if (explain && strcmp(explain, "0") != 0 && strcmp(explain, "false") != 0)
		json_object_object_add(o, "explain", auth_explain(a ? a->mapping : NULL, &r->who));
	ret = http_reply_json(r, MHD_HTTP_OK, o);
	json_object_put(o);
	return ret;
}
