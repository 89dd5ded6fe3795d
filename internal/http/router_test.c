/* Unit tests for the router: HEAD is served by GET routes, and Allow names it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "http/http_int.h"

static enum route_match route(const char *method, const char *path, struct req *r)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->path = path;
	return http_router_match(r, r->allow, sizeof(r->allow));
}

static void release(struct req *r)
{
	for (int i = 0; i < r->nparams; i++)
		free(r->params[i]);
}

static void test_head_uses_the_get_route(void **state)
{
	struct req r;

	UNUSED(state);
	assert_int_equal(route("HEAD", "/healthz", &r), ROUTE_FOUND);
	assert_string_equal(r.route->method, "GET");
	assert_string_equal(r.route->pattern, "/healthz");
	assert_int_equal(route("HEAD", "/sessions/s1/decisions", &r), ROUTE_FOUND);
	assert_string_equal(r.route->pattern, "/sessions/{id}/decisions");
	assert_int_equal(r.nparams, 1);
	assert_string_equal(r.params[0], "s1");
	release(&r);
}

static void test_allow_lists_head_beside_get(void **state)
{
	struct req r;

	UNUSED(state);
	assert_int_equal(route("PUT", "/healthz", &r), ROUTE_BAD_METHOD);
	assert_string_equal(r.allow, "GET, HEAD");
	assert_int_equal(route("DELETE", "/decisions", &r), ROUTE_BAD_METHOD);
	assert_string_equal(r.allow, "POST, GET, HEAD");
	assert_int_equal(route("HEAD", "/approvals/a1/approve", &r), ROUTE_BAD_METHOD);
	assert_string_equal(r.allow, "POST");
	assert_int_equal(route("HEAD", "/nope", &r), ROUTE_NO_PATH);
}

/* Rollout ids hold '/' and ':'; a suffix after "{id+}" is cut off the end, never the middle. */
static const struct {
	const char *method, *path, *pattern, *id; /* id NULL: no parameter */
} rollout_cases[] = {
	{"GET", "/policy-rollouts/acme/svc:base", "/policy-rollouts/{id+}", "acme/svc:base"},
	{"GET", "/policy-rollouts/acme/svc:base/detail", "/policy-rollouts/{id+}/detail",
	 "acme/svc:base"},
	{"GET", "/policy-rollouts/a/detail/detail", "/policy-rollouts/{id+}/detail", "a/detail"},
	{"GET", "/policy-rollouts/detail", "/policy-rollouts/{id+}", "detail"},
	{"GET", "/policy-rollout-details/a/detail", "/policy-rollout-details/{id+}", "a/detail"},
	{"POST", "/policy-rollouts/acme/x:p/change-plan", "/policy-rollouts/{id+}/change-plan",
	 "acme/x:p"},
	{"POST", "/policy-rollouts/acme/x:p/apply-change", "/policy-rollouts/{id+}/apply-change",
	 "acme/x:p"},
	{"POST", "/policy-rollouts/change-plan", "/policy-rollouts/change-plan", NULL},
	{"POST", "/policy-rollouts/apply-change", "/policy-rollouts/apply-change", NULL},
};

static void test_rollout_routes(void **state)
{
	UNUSED(state);
	for (size_t i = 0; i < ARRAY_SIZE(rollout_cases); i++) {
		struct req r;

		if (route(rollout_cases[i].method, rollout_cases[i].path, &r) != ROUTE_FOUND)
			fail_msg("%s %s: not found", rollout_cases[i].method,
				 rollout_cases[i].path);
		assert_string_equal(r.route->pattern, rollout_cases[i].pattern);
		assert_int_equal(r.nparams, rollout_cases[i].id ? 1 : 0);
		if (rollout_cases[i].id)
			assert_string_equal(r.params[0], rollout_cases[i].id);
		release(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head_uses_the_get_route),
		cmocka_unit_test(test_allow_lists_head_beside_get),
		cmocka_unit_test(test_rollout_routes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
