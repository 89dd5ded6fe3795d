/*
 * policy_packs.c - policy packs as JSON: GET /policy-packs, GET /policy-packs/{id}, and the
 * policy_version each decision records, which carries the pack's audit-only settings
 * (compliance, evidence, git attestation flags) so that auditors see them on every decision.
 */
#include "base/base.h"
#include "service/service.h"
#include "json/jx.h"

#include <stdio.h>
#include <string.h>

/* The object for section ("git", "evidence", ...) inside o, created when absent. */
static json_object *section_of(json_object *o, const char *section, size_t len)
{
	char name[32];
	json_object *sec;

	snprintf(name, sizeof(name), "%.*s", (int)len, section);
	if (json_object_object_get_ex(o, name, &sec))
		return sec;
	sec = json_object_new_object();
	json_object_object_add(o, name, sec);
	return sec;
}

static json_object *strings_json(const char *const *v, size_t n)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

/* The switches that are set, each under its section: {"git": {"require_pull_request": true}}. */
static void add_flags(json_object *o, const struct policy_pack_settings *st, bool deciding)
{
	for (int f = 0; f < POLICY_FLAG_COUNT; f++) {
		const char *name = policy_flag_name((enum policy_flag)f);
		const char *dot = strchr(name, '.');

		if (st->flags[f] == POLICY_FLAG_UNSET || !dot ||
		    (policy_flag_decides((enum policy_flag)f) && !deciding))
			continue;
		json_object_object_add(section_of(o, name, (size_t)(dot - name)), dot + 1,
				       json_object_new_boolean(st->flags[f] == POLICY_FLAG_TRUE));
	}
}

/* Evidence and compliance settings, and the git attestation flags: kept, never evaluated. */
static void add_audit(json_object *o, const struct policy_pack_settings *st)
{
	add_flags(o, st, false);
	if (st->branch_pattern)
		jx_add_str(section_of(o, "evidence", 8), "require_branch_pattern",
			   st->branch_pattern);
	if (st->required_fields_len)
		json_object_object_add(section_of(o, "evidence", 8), "required_fields",
				       strings_json(st->required_fields, st->required_fields_len));
	if (st->maps_to_len)
		json_object_object_add(section_of(o, "compliance", 10), "maps_to",
				       strings_json(st->maps_to, st->maps_to_len));
}

/*
 * Copied into every decision rather than referenced: packs change and are redeployed, and a
 * decision must keep saying which version (and sha256 of the merged rules) judged it, and
 * which audit settings were in force, long after that pack is gone.
 */
json_object *service_policy_version_json(const struct policy_pack *pack)
{
	struct policy_pack_settings st;
	struct policy_pack_info info;
	json_object *o = json_object_new_object();

	policy_pack_info(pack, &info);
	policy_pack_settings(pack, &st);
	jx_add_str(o, "version", info.version);
	jx_add_str(o, "sha256", info.sha256);
	if (st.mode != POLICY_MODE_UNSET)
		jx_add_str(o, "mode", policy_mode_name(st.mode));
	add_audit(o, &st);
	return o;
}

/* Every setting beyond the pattern lists: the deciding switches and maps, then the rest. */
static json_object *settings_json(const struct policy_pack *pack)
{
	struct policy_pack_settings st;
	json_object *o = json_object_new_object();
	const char *cls;
	const char *const *v;
	size_t n;

	policy_pack_settings(pack, &st);
	add_flags(o, &st, true);
	add_audit(o, &st);
	if (st.risk_len) {
		json_object *risk = json_object_new_object();

		for (size_t i = 0; i < st.risk_len; i++)
			jx_add_str(risk, st.risk_servers[i],
				   policy_severity_name(st.risk_levels[i]));
		json_object_object_add(section_of(o, "mcp", 3), "risk_scoring", risk);
	}
	for (size_t i = 0; policy_pack_approvals(pack, i, &cls, &v, &n); i++) {
		json_object *c = json_object_new_object();

		json_object_object_add(c, "approvers", strings_json(v, n));
		json_object_object_add(section_of(o, "approvals", 9), cls, c);
	}
	return o;
}

/*
 * The listing shows counts, not the rules: it is read often (the console's packs view) and
 * the rules of every pack would make it large; GET /policy-packs/{id} has them.
 */
static json_object *pack_json(const struct policy_pack *pack)
{
	struct policy_pack_settings st;
	struct policy_pack_info info;
	json_object *o = json_object_new_object();
	json_object *counts = json_object_new_object();
	json_object *lists = json_object_new_object();

	policy_pack_info(pack, &info);
	policy_pack_settings(pack, &st);
	for (int i = 0; i < POLICY_LIST_COUNT; i++)
		jx_add_int(lists, policy_list_name((enum policy_list)i),
			   (int64_t)info.list_counts[i]);
	for (int i = 0; i < POLICY_SECTION_COUNT; i++)
		jx_add_int(counts, policy_section_name((enum policy_section)i),
			   (int64_t)info.section_counts[i]);
	jx_add_str(o, "id", info.id);
	jx_add_str(o, "title", info.title);
	jx_add_str(o, "description", info.description);
	jx_add_str(o, "version", info.version);
	jx_add_str(o, "mode", st.mode == POLICY_MODE_UNSET ? "enforce" : policy_mode_name(st.mode));
	json_object_object_add(o, "inherits", strings_json(info.inherits, info.inherits_len));
	jx_add_str(o, "sha256", info.sha256);
	jx_add_int(o, "rule_count", (int64_t)info.rule_count);
	json_object_object_add(o, "rule_counts", counts);
	json_object_object_add(o, "list_counts", lists);
	return o;
}

char *service_policy_packs(struct service *s)
{
	json_object *o = json_object_new_object();
	json_object *items = json_object_new_array();
	size_t n = policy_set_count(s->policies);

	for (size_t i = 0; i < n; i++)
		json_object_array_add(items, pack_json(policy_set_at(s->policies, i)));
	json_object_object_add(o, "items", items);
	jx_add_int(o, "total", (int64_t)n);
	return jx_take_text(o);
}

enum status service_policy_pack_get(struct service *s, const char *id, char **out, struct err *e)
{
	const struct policy_pack *pack;
	struct policy_pack_info info;
	json_object *o, *rules;
	enum status st = policy_set_find(s->policies, id, &pack, e);

	if (st != ST_OK)
		return st;
	o = pack_json(pack);
	rules = json_object_new_object();
	policy_pack_info(pack, &info);
	for (int l = 0; l < POLICY_LIST_COUNT; l++) {
		const char *const *v;
		size_t n;

		policy_pack_list(pack, (enum policy_list)l, &v, &n);
		json_object_object_add(rules, policy_list_name((enum policy_list)l),
				       strings_json(v, n));
	}
	jx_add_str(o, "source", info.source);
	json_object_object_add(o, "rules", rules);
	json_object_object_add(o, "settings", settings_json(pack));
	*out = jx_take_text(o);
	return ST_OK;
}
