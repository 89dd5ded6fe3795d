/*
 * router.c - the route table and the matcher.  Routes are data: method,
 * pattern, handler and the permission the auth layer will enforce.
 */
#include "base/base.h"
#include "http/http_int.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <string.h>

const struct route http_routes[] = {
	{"GET", "/healthz", handle_healthz, "public"},
	{"GET", "/readyz", handle_readyz, "public"},
	{"GET", "/version", handle_version, "public"},
	{"GET", "/metrics", handle_metrics, "metrics.read"},
	{"POST", "/decisions", handle_decision_create, "decisions.create"},
	{"GET", "/decisions", handle_decision_list, "activity.read"},
	{"GET", "/decisions/{id}", handle_decision_get, "activity.read"},
	{"GET", "/sessions", handle_session_list, "activity.read"},
	{"POST", "/sessions", handle_session_upsert, "sessions.write"},
	{"GET", "/sessions/{id}", handle_session_get, "activity.read"},
	{"GET", "/sessions/{id}/decisions", handle_session_decisions, "activity.read"},
	{"GET", "/policy-packs", handle_policy_packs, "policy.read"},
	{NULL, NULL, NULL, NULL},
};

/*
 * Matches path against pattern.  "{x}" takes one non-empty segment; "{x+}"
 * (last only) takes the non-empty rest, '/' included.  Captures are copied
 * into params.
 */
static bool match(const char *pattern, const char *path, char **params, int *n)
{
	const char *p = pattern, *s = path;

	*n = 0;
	while (*p) {
		if (*p == '{') {
			const char *close = strchr(p, '}');
			bool rest = close && close[-1] == '+';
			size_t len = rest ? strlen(s) : strcspn(s, "/");

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

enum route_match router_match(struct req *r, char *allow, size_t allow_size)
{
	bool path_found = false;
	size_t used = 0;

	allow[0] = '\0';
	for (const struct route *rt = http_routes; rt->method; rt++) {
		char *params[HTTP_MAX_PARAMS];
		int n;

		if (!match(rt->pattern, r->path, params, &n))
			continue;
		if (strcmp(rt->method, r->method) == 0) {
			memcpy(r->params, params, sizeof(params));
			r->nparams = n;
			r->route = rt;
			allow[0] = '\0';
			return ROUTE_FOUND;
		}
		for (int i = 0; i < n; i++)
			free(params[i]);
		path_found = true;
		if (!strstr(allow, rt->method) && used + strlen(rt->method) + 3 < allow_size)
			used += (size_t)snprintf(allow + used, allow_size - used, "%s%s",
						 used ? ", " : "", rt->method);
	}
	return path_found ? ROUTE_BAD_METHOD : ROUTE_NO_PATH;
}
