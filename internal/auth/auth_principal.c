/*
 * auth_principal.c - who is calling: identity, groups and roles from a
 * verified token or an API token, and the explanation that
 * GET /auth/whoami?explain=1 shows.
 */
#include "base/base.h"
#include "auth/auth_mapping_int.h"
#include "base/xalloc.h"
#include "json/jx.h"

#include <string.h>

#define CLAIM_PATH_MAX 256

/* The claim called name, or when there is none and name has dots, the value at that path. */
/*
 * The exact name is tried first because some IdPs use claim names that contain dots (URLs as
 * names); only when there is none is the name read as a path, as Keycloak nests its roles
 * ("realm_access.roles").
 */
static json_object *claim_find(json_object *claims, const char *name)
{
	json_object *cur = claims;
	const char *p = name;
	char seg[CLAIM_PATH_MAX];

	if (json_object_object_get_ex(claims, name, &cur))
		return cur;
	if (!strchr(name, '.'))
		return NULL;
	cur = claims;
	while (cur && *p) {
		size_t n = strcspn(p, ".");

		if (n == 0 || n >= sizeof(seg) || !json_object_is_type(cur, json_type_object))
			return NULL;
		memcpy(seg, p, n);
		seg[n] = '\0';
		if (!json_object_object_get_ex(cur, seg, &cur))
			return NULL;
		p += n + (p[n] == '.');
	}
	return cur;
}

static enum status groups_read(json_object *v, const char *claim, struct auth_principal *out,
			       struct err *e)
{
	bool one = json_object_is_type(v, json_type_string);
	size_t n;

	if (!v)
		return ST_OK;
	if (!one && !json_object_is_type(v, json_type_array))
		return err_set(e, ST_UNAUTHENTICATED,
			       "token claim '%.64s' must be a string or an array of strings",
			       claim);
	n = one ? 1 : json_object_array_length(v);
	/* Entra ID stops listing groups at 200 ("overage"); far more means a bad claim */
	if (n > AUTH_GROUPS_MAX)
		return err_set(e, ST_UNAUTHENTICATED, "token claim '%.64s' has more than %d values",
			       claim, AUTH_GROUPS_MAX);
	out->groups = xcalloc(n + 1, sizeof(*out->groups));
	for (size_t i = 0; i < n; i++) {
		json_object *g = one ? v : json_object_array_get_idx(v, i);

		if (!json_object_is_type(g, json_type_string))
			return err_set(e, ST_UNAUTHENTICATED,
				       "token claim '%.64s' must hold only strings", claim);
		out->groups[out->n_groups++] = xstrdup(json_object_get_string(g));
	}
	return ST_OK;
}

/* email, else preferred_username, else sub: the name recorded on approvals. */
static const char *actor_of(json_object *claims, const char *sub)
{
	static const char *const keys[] = {"email", "preferred_username"};

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const char *v = jx_get_str(claims, keys[i]);

		/* recorded in the audit trail: no control characters, bounded length */
		if (v && *v && jx_check_id(keys[i], v, NULL) == ST_OK)
			return v;
	}
	return sub;
}

enum status auth_principal_from_jwt(const struct auth_jwt *jwt, const char *groups_claim,
				    const struct auth_mapping *m, struct auth_principal *out,
				    struct err *e)
{
	const char *claim = groups_claim ? groups_claim : AUTH_GROUPS_CLAIM_DEFAULT;

	memset(out, 0, sizeof(*out));
	/* sub is the stable identity; without it nothing can be attributed */
	if (!jwt->sub || jx_check_id("sub", jwt->sub, NULL) != ST_OK)
		return err_set(e, ST_UNAUTHENTICATED, "token has no usable 'sub' claim");
	out->kind = AUTH_KIND_JWT;
	out->issuer = xstrdup(jwt->iss);
	out->subject = xstrdup(jwt->sub);
	out->actor = xstrdup(actor_of(jwt->claims, jwt->sub));
	if (groups_read(claim_find(jwt->claims, claim), claim, out, e) != ST_OK) {
		auth_principal_release(out);
		return ST_UNAUTHENTICATED;
	}
	if (m)
		out->roles = auth_mapping_roles(m, out->issuer, (const char *const *)out->groups,
						out->n_groups);
	return ST_OK;
}

/*
 * An API token has no issuer or groups: its roles were fixed when it was created, and its
 * subject "token:<name>" keeps it apart from any person's sub in the audit trail.
 */
void auth_principal_for_token(const char *name, uint32_t roles, struct auth_principal *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = AUTH_KIND_API_TOKEN;
	out->subject = xasprintf("token:%s", name);
	out->actor = xstrdup(name);
	out->roles = roles;
}

void auth_principal_release(struct auth_principal *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_groups; i++)
		free(p->groups[i]);
	free(p->groups);
	free(p->issuer);
	free(p->subject);
	free(p->actor);
	memset(p, 0, sizeof(*p));
}

json_object *auth_roles_json(uint32_t roles)
{
	json_object *arr = json_object_new_array();

	for (unsigned r = 0; r < AUTH_ROLE__COUNT; r++)
		if (roles & AUTH_ROLE_BIT(r))
			json_object_array_add(arr, json_object_new_string(auth_role_name(r)));
	return arr;
}

/* [{group, roles}] for each group of p: what each claim value matched. */
static json_object *explain_groups(const struct rule_set *set, const struct auth_principal *p)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < p->n_groups; i++) {
		json_object *g = json_object_new_object();

		jx_add_str(g, "group", p->groups[i]);
		json_object_object_add(
			g, "roles", auth_roles_json(auth_mapping_group_roles(set, p->groups[i])));
		json_object_array_add(arr, g);
	}
	return arr;
}

/* The groups of set that grant role r. */
static json_object *groups_granting(const struct rule_set *set, enum auth_role r)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; set && i < set->n; i++)
		if (set->rules[i].roles & AUTH_ROLE_BIT(r))
			json_object_array_add(arr, json_object_new_string(set->rules[i].group));
	return arr;
}

/* [{role, granted, by_groups | via}] for every role. */
static json_object *explain_roles(const struct rule_set *set, const struct auth_principal *p)
{
	json_object *arr = json_object_new_array();

	for (unsigned r = 0; r < AUTH_ROLE__COUNT; r++) {
		json_object *o = json_object_new_object();
		json_object *from = json_object_new_array();
		bool granted = (p->roles & AUTH_ROLE_BIT(r)) != 0;

		jx_add_str(o, "role", auth_role_name(r));
		json_object_object_add(o, "granted", json_object_new_boolean(granted));
		for (size_t i = 0; i < p->n_groups; i++)
			if (auth_mapping_group_roles(set, p->groups[i]) & AUTH_ROLE_BIT(r))
				json_object_array_add(from, json_object_new_string(p->groups[i]));
		json_object_object_add(o, "matched_groups", from);
		if (p->kind == AUTH_KIND_API_TOKEN && granted)
			jx_add_str(o, "via", "api token");
		if (!granted)
			json_object_object_add(o, "granted_by_groups", groups_granting(set, r));
		json_object_array_add(arr, o);
	}
	return arr;
}

/* [{permission, allowed, granted_by}] for every row of the table. */
static json_object *explain_permissions(const struct auth_principal *p)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < auth_permission_count(); i++) {
		const struct auth_permission *perm = auth_permission_at(i);
		json_object *o = json_object_new_object();
		bool ok = auth_allowed(p->roles, perm->name);

		jx_add_str(o, "permission", perm->name);
		json_object_object_add(o, "allowed", json_object_new_boolean(ok));
		if (!ok)
			json_object_object_add(o, "granted_by_roles",
					       auth_roles_json(auth_permission_roles(perm)));
		json_object_array_add(arr, o);
	}
	return arr;
}

static const char *kind_name(enum auth_kind k)
{
	return k == AUTH_KIND_JWT ? "jwt" : k == AUTH_KIND_API_TOKEN ? "api_token" : "none";
}

/*
 * For /auth/whoami?explain=1: shows which mapping applied, which groups gave which roles, and
 * which permissions are missing and what would grant them, so that a refused user and an
 * administrator can sort out access without reading logs.
 */
json_object *auth_explain(const struct auth_mapping *m, const struct auth_principal *p)
{
	const struct rule_set *set = NULL;
	json_object *o = json_object_new_object();

	if (m && p->kind == AUTH_KIND_JWT)
		set = auth_mapping_set_for(m, p->issuer);
	jx_add_str(o, "kind", kind_name(p->kind));
	jx_add_str(o, "issuer", p->issuer);
	jx_add_str(o, "subject", p->subject);
	jx_add_str(o, "actor", p->actor);
	jx_add_str(o, "mapping", !set ? "none" : set->issuer ? "issuer" : "global");
	json_object_object_add(o, "groups", explain_groups(set, p));
	json_object_object_add(o, "roles", explain_roles(set, p));
	json_object_object_add(o, "permissions", explain_permissions(p));
	return o;
}
