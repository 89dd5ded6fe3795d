/*
 * auth_mapping.c - IdP group -> role mapping: the built-in default and the
 * strict loader of a mapping document (YAML or JSON, already parsed into
 * json-c).  Rules are kept sorted so a lookup is a binary search per group.
 */
#include "base/base.h"
#include "auth/auth_mapping_int.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *group;
	enum auth_role role;
} default_rules[] = {
	{"CAVRA-CISO", AUTH_ROLE_CISO},
	{"CAVRA-Security-Operations", AUTH_ROLE_SECURITY_OPERATOR},
	{"CAVRA-Platform-Security", AUTH_ROLE_PLATFORM_SECURITY},
	{"CAVRA-Model-Owners", AUTH_ROLE_MODEL_OWNER},
	{"CAVRA-Auditors", AUTH_ROLE_AUDITOR},
	{"Change Advisory Board", AUTH_ROLE_BREAK_GLASS_APPROVER},
	{"cavra-agents", AUTH_ROLE_AGENT},
};

/*
 * Group names compare exactly, case included, as the IdP sends them: folding case would let a
 * group that is spelt differently pick up another group's roles.
 */
static int rule_cmp(const void *a, const void *b)
{
	return strcmp(((const struct group_rule *)a)->group, ((const struct group_rule *)b)->group);
}

/* bsearch's comparison: the key is the group name itself, so no rule is built around it. */
static int group_cmp(const void *group, const void *rule)
{
	return strcmp(group, ((const struct group_rule *)rule)->group);
}

static void set_add(struct rule_set *set, const char *group, uint32_t roles)
{
	set->rules = xrealloc(set->rules, (set->n + 1) * sizeof(*set->rules));
	set->rules[set->n].group = xstrdup(group);
	set->rules[set->n].roles = roles;
	set->n++;
}

static void set_release(struct rule_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->rules[i].group);
	free(set->rules);
	free(set->issuer);
}

/* Used when no mapping file is configured: the default IdP groups of docs/security.md. */
struct auth_mapping *auth_mapping_new_default(void)
{
	struct auth_mapping *m = xcalloc(1, sizeof(*m));

	m->has_global = true;
	for (size_t i = 0; i < ARRAY_SIZE(default_rules); i++)
		set_add(&m->global, default_rules[i].group, AUTH_ROLE_BIT(default_rules[i].role));
	qsort(m->global.rules, m->global.n, sizeof(*m->global.rules), rule_cmp);
	return m;
}

void auth_mapping_free(struct auth_mapping *m)
{
	if (!m)
		return;
	set_release(&m->global);
	for (size_t i = 0; i < m->n_issuers; i++)
		set_release(&m->issuers[i]);
	free(m->issuers);
	free(m);
}

/* "src: where: 'group'" prefix for messages; where is "groups" or "issuers.'x'.groups". */
struct place {
	const char *src, *where, *group;
};

static enum status role_word(json_object *v, const struct place *at, uint32_t *roles, struct err *e)
{
	char known[256];
	enum auth_role r;

	if (!json_object_is_type(v, json_type_string))
		return err_set(e, ST_INVALID, "%s: %s: '%s': roles must be strings", at->src,
			       at->where, at->group);
	if (!auth_role_parse(json_object_get_string(v), &r)) {
		auth_roles_format(AUTH_ROLE_BIT(AUTH_ROLE__COUNT) - 1, known, sizeof(known));
		return err_set(e, ST_INVALID, "%s: %s: '%s': unknown role '%.64s' (roles: %s)",
			       at->src, at->where, at->group, json_object_get_string(v), known);
	}
	*roles |= AUTH_ROLE_BIT(r);
	return ST_OK;
}

/* A group's value: one role name or a non-empty list of them. */
static enum status roles_value(json_object *v, const struct place *at, uint32_t *roles,
			       struct err *e)
{
	size_t n;

	*roles = 0;
	if (!json_object_is_type(v, json_type_array))
		return role_word(v, at, roles, e);
	n = json_object_array_length(v);
	if (n == 0)
		return err_set(e, ST_INVALID, "%s: %s: '%s': maps to no role", at->src, at->where,
			       at->group);
	for (size_t i = 0; i < n; i++)
		if (role_word(json_object_array_get_idx(v, i), at, roles, e) != ST_OK)
			return ST_INVALID;
	return ST_OK;
}

static enum status groups_parse(json_object *obj, const char *src, const char *where,
				struct rule_set *set, size_t *total, struct err *e)
{
	struct place at = {src, where, NULL};
	uint32_t roles;

	if (!json_object_is_type(obj, json_type_object))
		return err_set(e, ST_INVALID, "%s: %s must be a mapping of group to roles", src,
			       where);
	json_object_object_foreach(obj, group, val)
	{
		at.group = group;
		if (!*group)
			return err_set(e, ST_INVALID, "%s: %s: empty group name", src, where);
		if (++*total > AUTH_MAPPING_MAX_GROUPS)
			return err_set(e, ST_INVALID, "%s: more than %d group rules", src,
				       AUTH_MAPPING_MAX_GROUPS);
		if (roles_value(val, &at, &roles, e) != ST_OK)
			return ST_INVALID;
		set_add(set, group, roles);
	}
	qsort(set->rules, set->n, sizeof(*set->rules), rule_cmp);
	return ST_OK;
}

/* Fails on any key of obj not in allowed (NULL-terminated). */
static enum status keys_only(json_object *obj, const char *const *allowed, const char *src,
			     const char *where, struct err *e)
{
	json_object_object_foreach(obj, key, val)
	{
		size_t i = 0;

		(void)val;
		while (allowed[i] && strcmp(allowed[i], key) != 0)
			i++;
		if (!allowed[i])
			return err_set(e, ST_INVALID, "%s: %sunknown key '%.64s'", src, where, key);
	}
	return ST_OK;
}

static enum status issuer_parse(struct auth_mapping *m, const char *iss, json_object *v,
				const char *src, size_t *total, struct err *e)
{
	static const char *const keys[] = {"groups", NULL};
	struct rule_set *set;
	json_object *groups;
	char where[160];

	snprintf(where, sizeof(where), "issuers: '%.100s': ", iss);
	if (!*iss || !json_object_is_type(v, json_type_object))
		return err_set(e, ST_INVALID, "%s: %smust be a non-empty issuer with a mapping",
			       src, where);
	if (keys_only(v, keys, src, where, e) != ST_OK)
		return ST_INVALID;
	if (!json_object_object_get_ex(v, "groups", &groups))
		return err_set(e, ST_INVALID, "%s: %shas no 'groups'", src, where);
	m->issuers = xrealloc(m->issuers, (m->n_issuers + 1) * sizeof(*m->issuers));
	set = &m->issuers[m->n_issuers++];
	memset(set, 0, sizeof(*set));
	set->issuer = xstrdup(iss);
	snprintf(where, sizeof(where), "issuers: '%.100s': groups", iss);
	return groups_parse(groups, src, where, set, total, e);
}

/*
 * Strict on purpose: a typo in a role or key would otherwise silently grant
 * nobody (or, worse, be read as something else) and only show up as 403s.
 */
static enum status mapping_parse(struct auth_mapping *m, json_object *doc, const char *src,
				 struct err *e)
{
	static const char *const keys[] = {"groups", "issuers", NULL};
	json_object *groups = NULL, *issuers = NULL;
	size_t total = 0;

	if (!json_object_is_type(doc, json_type_object))
		return err_set(e, ST_INVALID, "%s: must be a mapping with 'groups' or 'issuers'",
			       src);
	if (keys_only(doc, keys, src, "", e) != ST_OK)
		return ST_INVALID;
	json_object_object_get_ex(doc, "groups", &groups);
	json_object_object_get_ex(doc, "issuers", &issuers);
	if (!groups && !issuers)
		return err_set(e, ST_INVALID, "%s: has neither 'groups' nor 'issuers'", src);
	m->has_global = groups != NULL;
	if (groups && groups_parse(groups, src, "groups", &m->global, &total, e) != ST_OK)
		return ST_INVALID;
	if (!issuers)
		return ST_OK;
	if (!json_object_is_type(issuers, json_type_object))
		return err_set(e, ST_INVALID, "%s: issuers must be a mapping of issuer URL", src);
	json_object_object_foreach(issuers, iss, val)
	{
		if (issuer_parse(m, iss, val, src, &total, e) != ST_OK)
			return ST_INVALID;
	}
	return ST_OK;
}

enum status auth_mapping_from_json(json_object *doc, const char *source, struct auth_mapping **out,
				   struct err *e)
{
	struct auth_mapping *m = xcalloc(1, sizeof(*m));

	*out = NULL;
	if (mapping_parse(m, doc, source ? source : "role mapping", e) != ST_OK) {
		auth_mapping_free(m);
		return ST_INVALID;
	}
	*out = m;
	return ST_OK;
}

/*
 * An issuer's own rules replace the global ones rather than add to them: a group name means
 * what its issuer says, and a workload IdP's "admins" must not inherit the workforce IdP's.
 */
const struct rule_set *auth_mapping_set_for(const struct auth_mapping *m, const char *issuer)
{
	for (size_t i = 0; issuer && i < m->n_issuers; i++)
		if (strcmp(m->issuers[i].issuer, issuer) == 0)
			return &m->issuers[i];
	return m->has_global ? &m->global : NULL;
}

uint32_t auth_mapping_group_roles(const struct rule_set *set, const char *group)
{
	const struct group_rule *r;

	if (!set || !set->n)
		return 0;
	r = bsearch(group, set->rules, set->n, sizeof(*set->rules), group_cmp);
	return r ? r->roles : 0;
}

/* Roles are the union over all groups; an unknown group adds nothing rather than failing. */
uint32_t auth_mapping_roles(const struct auth_mapping *m, const char *issuer,
			    const char *const *groups, size_t n)
{
	const struct rule_set *set = auth_mapping_set_for(m, issuer);
	uint32_t roles = 0;

	for (size_t i = 0; i < n; i++)
		roles |= auth_mapping_group_roles(set, groups[i]);
	return roles;
}
