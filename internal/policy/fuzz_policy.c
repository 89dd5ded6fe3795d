/*
 * fuzz_policy.c - libFuzzer target for what an agent controls on the decision path: the
 * request body, read as the service reads it (jx_parse_object, the text fields), then judged
 * by policy_evaluate under every pack in policies/ (the embedded baseline, and packs that
 * inherit and route approvals), with and without an MCP registry entry whose tool list and
 * capabilities come from the same body ("registry": {"tools": [...], "capabilities": [...]}),
 * so hostile glob patterns reach policy_match too.  Built with -DCAVRA_FUZZ=ON and clang; the
 * test command runs it briefly on the seeds in fuzz/policy/ (scripts/test.sh).
 */
#include "base/base.h"
#include "json/jx.h"
#include "policy/policy.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LIST_MAX 8

static struct policy_set *packs;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (policy_set_load(CAVRA_POLICY_SOURCE_DIR, &packs, NULL) != ST_OK)
		abort();
	return 0;
}

/* A field as the service reads it: a string, or absent (NULL) for anything else. */
static const char *text(json_object *req, const char *key)
{
	const char *s = NULL;

	return jx_str(req, key, false, &s, NULL) == ST_OK ? s : NULL;
}

/* Up to LIST_MAX strings of obj[key] (an array), borrowed. */
static size_t strings(json_object *obj, const char *key, const char **out)
{
	json_object *arr = NULL;
	size_t n = 0;

	if (!json_object_object_get_ex(obj, key, &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(arr) && n < LIST_MAX; i++) {
		json_object *v = json_object_array_get_idx(arr, i);

		if (json_object_is_type(v, json_type_string))
			out[n++] = json_object_get_string(v);
	}
	return n;
}

/* Whatever the input, the result is complete: a known decision, a rule and a bounded reason. */
static void check(const struct policy_result *r)
{
	if ((unsigned)r->decision >= POLICY_DECISION_COUNT || !r->rule_id ||
	    memchr(r->reason, '\0', sizeof(r->reason)) == NULL)
		abort();
	if (r->decision == POLICY_AUDIT_ONLY &&
	    ((unsigned)r->would_decision >= POLICY_DECISION_COUNT || !r->would_rule_id))
		abort();
}

static void judge(const struct policy_action *act, const struct policy_mcp_server *srv)
{
	for (size_t i = 0; i < policy_set_count(packs); i++) {
		struct policy_result r;

		policy_evaluate(policy_set_at(packs, i), act, srv, &r);
		check(&r);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *req = NULL, *reg = NULL;
	const char *tools[LIST_MAX], *caps[LIST_MAX];
	struct policy_mcp_server srv = {0};
	struct policy_action act;

	if (jx_parse_object((const char *)data, size, &req, NULL) != ST_OK)
		return 0;
	act = (struct policy_action){text(req, "action_type"), text(req, "target"),
				     text(req, "operation"),   text(req, "server"),
				     text(req, "tool"),	       text(req, "capability")};
	judge(&act, NULL);
	if (json_object_object_get_ex(req, "registry", &reg)) {
		srv.trust_tier = (enum policy_trust_tier)(size % POLICY_TIER_COUNT);
		srv.approval_state = (enum policy_approval_state)(size / POLICY_TIER_COUNT %
								  POLICY_APPROVAL_COUNT);
		srv.allowed_tools = tools;
		srv.allowed_tools_len = strings(reg, "tools", tools);
		srv.capabilities = caps;
		srv.capabilities_len = strings(reg, "capabilities", caps);
		judge(&act, &srv);
		for (size_t i = 0; i < srv.allowed_tools_len && act.target; i++)
			(void)policy_match(tools[i], act.target);
	}
	json_object_put(req);
	return 0;
}
