/*
 * routing.c - approval routing rules: which approver group decides an
 * approval, from the decision's action, target, rule, outcome and severity.
 *
 * A rule set is a list; the first rule whose every key holds wins (a key
 * left out matches anything).  The keys and the file shapes are the
 * original CAVRA's, so its routing files keep working: exact keys
 * (action_type, rule_id, severity, policy_pack, decision, repository),
 * rule_id_prefix and target_contains.  The built-in set is used when no
 * file is configured; a file replaces it.
 */
#include "base/base.h"
#include "service/service.h"
#include "base/xalloc.h"
#include "json/jx.h"
#include "json/jx_yaml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUTING_FILE_MAX  (1 << 20)
#define ROUTING_RULES_MAX 1000

enum {
	M_ACTION,
	M_RULE,
	M_SEVERITY,
	M_PACK,
	M_DECISION,
	M_REPO,
	M_RULE_PREFIX,
	M_TARGET_CONTAINS,
	M_COUNT
};

static const char *const match_keys[M_COUNT] = {"action_type",	  "rule_id",	    "severity",
						"policy_pack",	  "decision",	    "repository",
						"rule_id_prefix", "target_contains"};

struct routing_rule {
	char *name;
	char *match[M_COUNT]; /* NULL: any */
	char *group;
};

struct routing {
	struct routing_rule *rules;
	size_t n;
	char *source;
};

/* The original's defaults, in its order. */
static const struct {
	const char *name, *rule_prefix, *target_contains, *severity, *group;
} builtin[] = {
	{"iam-writes", "filesystem.write", "iam/", NULL, "IAM"},
	{"workflow-writes", "filesystem.write", ".github/workflows", NULL, "Platform Security"},
	{"default-command-approvals", "commands.default", NULL, "medium", "Repository Owners"},
	{"blocked-terraform", "commands.block", "terraform", NULL, "Cloud Security"},
	{"mcp-rules", "mcp.", NULL, NULL, "AI Governance"},
};

static void rule_release(struct routing_rule *r)
{
	free(r->name);
	free(r->group);
	for (int i = 0; i < M_COUNT; i++)
		free(r->match[i]);
}

void service_routing_free(struct routing *rt)
{
	if (!rt)
		return;
	for (size_t i = 0; i < rt->n; i++)
		rule_release(&rt->rules[i]);
	free(rt->rules);
	free(rt->source);
	free(rt);
}

static struct routing *builtin_set(void)
{
	struct routing *rt = xcalloc(1, sizeof(*rt));

	rt->n = ARRAY_SIZE(builtin);
	rt->rules = xcalloc(rt->n, sizeof(*rt->rules));
	rt->source = xstrdup("built-in");
	for (size_t i = 0; i < rt->n; i++) {
		rt->rules[i].name = xstrdup(builtin[i].name);
		rt->rules[i].group = xstrdup(builtin[i].group);
		rt->rules[i].match[M_RULE_PREFIX] = xstrdup(builtin[i].rule_prefix);
		if (builtin[i].target_contains)
			rt->rules[i].match[M_TARGET_CONTAINS] = xstrdup(builtin[i].target_contains);
		if (builtin[i].severity)
			rt->rules[i].match[M_SEVERITY] = xstrdup(builtin[i].severity);
	}
	return rt;
}

static int key_index(const char *key)
{
	for (int k = 0; k < M_COUNT; k++)
		if (strcmp(match_keys[k], key) == 0)
			return k;
	return -1;
}

/*
 * Unknown keys are refused, with the known ones listed: a misspelt key would otherwise match
 * everything (a key left out matches anything) and route every approval to that rule's group.
 */
static enum status read_rule(json_object *o, struct routing_rule *r, const char *where,
			     struct err *e)
{
	const char *group = NULL;

	if (!json_object_is_type(o, json_type_object))
		return err_set(e, ST_INVALID, "%s: a rule must be a mapping", where);
	if (jx_str(o, "approver_group", true, &group, NULL) != ST_OK ||
	    jx_check_id("approver_group", group, NULL) != ST_OK)
		return err_set(e, ST_INVALID, "%s: 'approver_group' must be a non-empty string",
			       where);
	r->group = xstrdup(group);
	r->name = xstrdup(jx_get_str(o, "name") ? jx_get_str(o, "name") : where);
	json_object_object_foreach(o, key, val)
	{
		int k = key_index(key);

		if (strcmp(key, "approver_group") == 0 || strcmp(key, "name") == 0)
			continue;
		if (k < 0)
			return err_set(e, ST_INVALID,
				       "%s: unknown key '%s' (known: name, approver_group, "
				       "action_type, rule_id, severity, policy_pack, decision, "
				       "repository, rule_id_prefix, target_contains)",
				       where, key);
		if (!json_object_is_type(val, json_type_string) || !*json_object_get_string(val))
			return err_set(e, ST_INVALID, "%s: '%s' must be a non-empty string", where,
				       key);
		r->match[k] = xstrdup(json_object_get_string(val));
	}
	return ST_OK;
}

/* A bare list, or a mapping holding it under approval_routing / routing_rules / rules. */
static json_object *rule_list(json_object *root)
{
	static const char *const keys[] = {"approval_routing", "routing_rules", "rules"};
	json_object *v = NULL;

	if (json_object_is_type(root, json_type_array))
		return root;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (json_object_is_type(root, json_type_object) &&
		    json_object_object_get_ex(root, keys[i], &v) &&
		    json_object_is_type(v, json_type_array))
			return v;
	return NULL;
}

static enum status read_rules(json_object *root, struct routing *rt, const char *file,
			      struct err *e)
{
	json_object *rules = rule_list(root);
	size_t n;

	if (!rules)
		return err_set(e, ST_INVALID,
			       "%s: expected a list of rules (bare, or under 'approval_routing', "
			       "'routing_rules' or 'rules')",
			       file);
	n = json_object_array_length(rules);
	if (n > ROUTING_RULES_MAX)
		return err_set(e, ST_INVALID, "%s: more than %d rules", file, ROUTING_RULES_MAX);
	rt->rules = xcalloc(n + 1, sizeof(*rt->rules));
	for (size_t i = 0; i < n; i++) {
		char where[300];
		enum status st;

		snprintf(where, sizeof(where), "%s: rules[%zu]", file, i);
		rt->n = i + 1;
		st = read_rule(json_object_array_get_idx(rules, i), &rt->rules[i], where, e);
		if (st != ST_OK)
			return st;
	}
	return ST_OK;
}

enum status service_routing_load(const char *file, struct routing **out, struct err *e)
{
	struct routing *rt;
	json_object *root = NULL;
	enum status st;

	*out = NULL;
	if (!file) {
		*out = builtin_set();
		return ST_OK;
	}
	st = jx_yaml_load(file, ROUTING_FILE_MAX, &root, e);
	if (st != ST_OK) {
		err_wrap(e, "approval routing file");
		return st;
	}
	rt = xcalloc(1, sizeof(*rt));
	rt->source = xstrdup(file);
	st = read_rules(root, rt, file, e);
	json_object_put(root);
	if (st != ST_OK) {
		service_routing_free(rt);
		err_wrap(e, "approval routing file");
		return st;
	}
	*out = rt;
	return ST_OK;
}

/*
 * A fact the decision does not have (no repository, no target) never matches a key that asks
 * for one, so a rule for "repository: payments/api" cannot catch decisions without one.
 */
static bool key_holds(int k, const char *want, const char *have)
{
	if (!have)
		return false;
	if (k == M_RULE_PREFIX)
		return strncmp(have, want, strlen(want)) == 0;
	if (k == M_TARGET_CONTAINS)
		return strstr(have, want) != NULL;
	return strcmp(have, want) == 0;
}

static bool rule_matches(const struct routing_rule *r, const char *const facts[M_COUNT])
{
	for (int k = 0; k < M_COUNT; k++)
		if (r->match[k] && !key_holds(k, r->match[k], facts[k]))
			return false;
	return true;
}

/* rule_id appears twice because both the exact key and rule_id_prefix test it. */
const char *service_routing_pick(const struct routing *rt, const struct routing_facts *f,
				 const char **rule_name)
{
	const char *facts[M_COUNT] = {f->action_type, f->rule_id,    f->severity, f->policy_pack,
				      f->decision,    f->repository, f->rule_id,  f->target};

	for (size_t i = 0; rt && i < rt->n; i++)
		if (rule_matches(&rt->rules[i], facts)) {
			if (rule_name)
				*rule_name = rt->rules[i].name;
			return rt->rules[i].group;
		}
	return NULL;
}

size_t service_routing_count(const struct routing *rt)
{
	return rt ? rt->n : 0;
}

const char *service_routing_source(const struct routing *rt)
{
	return rt ? rt->source : "none";
}
