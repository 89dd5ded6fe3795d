/*
 * router.c - the route table and the matcher.  Routes are data: method,
 * pattern, handler and the permission the auth layer will enforce.
 */
#include "base/base.h"
#include "http/http_int.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <string.h>

/*
 * Order matters only where patterns overlap: the first matching row wins, so a literal path
 * ("/console/login") must come before the pattern that would also take it ("/console/{file}").
 * Every row names a permission from auth's one table; "public" is the only exception, and
 * docs/api.md lists the same rows.
 */
const struct route http_routes[] = {
	{"GET", "/healthz", http_handle_healthz, "public"},
	{"GET", "/health", http_handle_healthz,
	 "public"}, /* the original's Helm chart probes this */
	{"GET", "/readyz", http_handle_readyz, "public"},
	{"GET", "/version", http_handle_version, "public"},
	{"GET", "/metrics", http_handle_metrics, "metrics.read"},
	{"GET", "/auth/whoami", http_handle_whoami, "auth.read"},
	{"GET", "/console", http_handle_console_root, "public"},
	{"GET", "/console/", http_handle_console_index, "public"},
	{"GET", "/console/login", http_handle_console_login, "public"},
	{"GET", "/console/callback", http_handle_console_callback, "public"},
	{"POST", "/console/logout", http_handle_console_logout, "auth.read"},
	{"GET", "/console/config", http_handle_console_config, "public"},
	{"GET", "/console/{file}", http_handle_console_file, "public"},
	{"POST", "/decisions", http_handle_decision_create, "decisions.create"},
	{"GET", "/decisions", http_handle_decision_list, "activity.read"},
	{"GET", "/decisions/{id}", http_handle_decision_get, "activity.read"},
	{"GET", "/sessions", http_handle_session_list, "activity.read"},
	{"POST", "/sessions", http_handle_session_upsert, "sessions.write"},
	{"GET", "/sessions/{id}", http_handle_session_get, "activity.read"},
	{"GET", "/sessions/{id}/decisions", http_handle_session_decisions, "activity.read"},
	{"GET", "/policy-packs", http_handle_policy_packs, "policy.read"},
	{"GET", "/policy-packs/{id}", http_handle_policy_pack_get, "policy.read"},
	{"GET", "/evidence", http_handle_evidence_list, "evidence.read"},
	{"POST", "/evidence", http_handle_evidence_upsert, "evidence.write"},
	{"GET", "/evidence/{session_id}", http_handle_evidence_get, "evidence.read"},
	{"GET", "/approvals", http_handle_approval_list, "approvals.read"},
	{"POST", "/approvals", http_handle_approval_create, "approvals.create"},
	{"POST", "/approvals/break-glass", http_handle_break_glass, "approvals.break_glass"},
	{"GET", "/approvals/{id}", http_handle_approval_get, "approvals.read"},
	{"POST", "/approvals/{id}/approve", http_handle_approval_approve, "approvals.decide"},
	{"POST", "/approvals/{id}/deny", http_handle_approval_deny, "approvals.decide"},
	{"POST", "/approvals/{id}/expire", http_handle_approval_expire, "approvals.decide"},
	{"GET", "/agents", http_handle_agent_list, "registry.read"},
	{"POST", "/agents", http_handle_agent_upsert, "registry.write"},
	{"GET", "/agents/{id}", http_handle_agent_get, "registry.read"},
	{"GET", "/mcp/servers", http_handle_mcp_server_list, "registry.read"},
	{"POST", "/mcp/servers", http_handle_mcp_server_upsert, "registry.write"},
	{"GET", "/mcp/servers/{id}", http_handle_mcp_server_get, "registry.read"},
	{"GET", "/mcp/trust", http_handle_mcp_trust, "registry.read"},
	{"GET", "/repositories", http_handle_repository_list, "inventory.read"},
	{"POST", "/repositories", http_handle_repository_upsert, "inventory.write"},
	{"GET", "/repositories/{id+}", http_handle_repository_get, "inventory.read"},
	{"GET", "/policy-rollouts", http_handle_rollout_list, "inventory.read"},
	{"POST", "/policy-rollouts", http_handle_rollout_upsert, "inventory.write"},
	/* the id in the body first: "{id+}/change-plan" needs a non-empty id before the suffix */
	{"POST", "/policy-rollouts/change-plan", http_handle_rollout_plan, "policy.admin"},
	{"POST", "/policy-rollouts/apply-change", http_handle_rollout_apply, "policy.admin"},
	/* a suffix wins over the id: the detail of an id ending in /detail is the alias's */
	{"GET", "/policy-rollouts/{id+}/detail", http_handle_rollout_detail, "inventory.read"},
	{"POST", "/policy-rollouts/{id+}/change-plan", http_handle_rollout_plan, "policy.admin"},
	{"POST", "/policy-rollouts/{id+}/apply-change", http_handle_rollout_apply, "policy.admin"},
	{"GET", "/policy-rollouts/{id+}", http_handle_rollout_get, "inventory.read"},
	{"GET", "/policy-rollout-details/{id+}", http_handle_rollout_detail, "inventory.read"},
	{"GET", "/integrations", http_handle_integration_list, "integrations.read"},
	{"POST", "/integrations", http_handle_integration_upsert, "integrations.write"},
	{"GET", "/integrations/{id}", http_handle_integration_get, "integrations.read"},
	{"GET", "/operations/stores", http_handle_operations_stores, "operations.read"},
	{"GET", "/audit/head", http_handle_audit_head, "activity.read"},
	{"GET", "/operations/retention-plan", http_handle_operations_retention_plan,
	 "operations.read"},
	{NULL, NULL, NULL, NULL},
};

/*
 * What "{x+}" takes of s: the rest, or when a literal suffix follows it in the pattern
 * ("{id+}/detail"), the rest up to that suffix, which must end the path; 0 when it does not.
 */
static size_t rest_len(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	if (k == 0)
		return n;
	if (n <= k || strcmp(s + n - k, suffix) != 0)
		return 0;
	return n - k;
}

/*
 * Matches path against pattern.  "{x}" takes one non-empty segment; "{x+}"
 * takes the non-empty rest, '/' included, up to a literal suffix that ends
 * the pattern.  Captures are copied into params.
 */
static bool match(const char *pattern, const char *path, char **params, int *n)
{
	const char *p = pattern, *s = path;

	*n = 0;
	while (*p) {
		if (*p == '{') {
			const char *close = strchr(p, '}');
			bool rest = close && close[-1] == '+';
			size_t len = !close ? 0 : rest ? rest_len(s, close + 1) : strcspn(s, "/");

			if (!close || len == 0 || *n >= HTTP_MAX_PARAMS)
				goto fail;
			params[(*n)++] = xstrndup(s, len);
			s += len;
			p = close + 1;
			continue;
		}
		if (*p++ != *s++)
			goto fail;
	}
	if (*s == '\0')
		return true;
fail:
	for (int i = 0; i < *n; i++)
		free(params[i]);
	*n = 0;
	return false;
}

/* HEAD is GET without the body (MHD leaves the body out). */
static bool method_matches(const char *route_method, const char *method)
{
	return strcmp(route_method, method) == 0 ||
	       (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

static size_t allow_add(char *allow, size_t allow_size, size_t used, const char *method)
{
	if (strstr(allow, method) || used + strlen(method) + 3 >= allow_size)
		return used;
	return used +
	       (size_t)snprintf(allow + used, allow_size - used, "%s%s", used ? ", " : "", method);
}

/*
 * A linear scan: the table is a few dozen rows and matching is a byte compare, far below the
 * cost of anything a handler does.  Rows whose path matches but whose method does not still
 * count, so that the client gets 405 with an Allow header instead of a misleading 404.
 */
enum route_match http_router_match(struct req *r, char *allow, size_t allow_size)
{
	bool path_found = false;
	size_t used = 0;

	allow[0] = '\0';
	for (const struct route *rt = http_routes; rt->method; rt++) {
		char *params[HTTP_MAX_PARAMS];
		int n;

		if (!match(rt->pattern, r->path, params, &n))
			continue;
		if (method_matches(rt->method, r->method)) {
			memcpy(r->params, params, sizeof(params));
			r->nparams = n;
			r->route = rt;
			allow[0] = '\0';
			return ROUTE_FOUND;
		}
		for (int i = 0; i < n; i++)
			free(params[i]);
		path_found = true;
		used = allow_add(allow, allow_size, used, rt->method);
		if (strcmp(rt->method, "GET") == 0)
			used = allow_add(allow, allow_size, used, "HEAD");
	}
	return path_found ? ROUTE_BAD_METHOD : ROUTE_NO_PATH;
}
