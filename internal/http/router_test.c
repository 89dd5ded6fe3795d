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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head_uses_the_get_route),
		cmocka_unit_test(test_allow_lists_head_beside_get),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
