/*
 * auth_rbac_test.c - the permission table: every name the routes use exists,
 * a table of (roles, permission) -> allowed, the forbidden message, role names
 * and the rendered table.
 */
#include <stdarg.h> /* cmocka 1.1.x needs these four before <cmocka.h> */
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "auth/auth.h"

#define B(x) AUTH_ROLE_BIT(AUTH_ROLE_##x)

/* The names the route table uses now and the ones the coming routes will use. */
static const char *const route_permissions[] = {
	"public",	    "metrics.read",	     "decisions.create",   "activity.read",
	"sessions.write",   "policy.read",	     "evidence.read",	   "evidence.write",
	"approvals.read",   "approvals.create",	     "approvals.decide",   "approvals.break_glass",
	"approvals.route",  "registry.read",	     "registry.write",	   "inventory.read",
	"inventory.write",  "integrations.read",     "integrations.write", "operations.read",
	"auth.read",	    "tokens.manage",	     "policy.admin",	   "evidence.replace",
	"sessions.replace", "approvals.request_any", "approvals.read_any",
};

static void test_names_exist(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(route_permissions); i++)
		if (!auth_permission_find(route_permissions[i]))
			fail_msg("permission '%s' is not in the table", route_permissions[i]);
	assert_int_equal(auth_permission_count(), ARRAY_SIZE(route_permissions));
	assert_null(auth_permission_at(auth_permission_count()));
	assert_null(auth_permission_find("nope"));
}

static const struct {
	uint32_t roles;
	const char *perm;
	bool want;
} cases[] = {
	/* public and whoami need no role */
	{0, "public", true},
	{0, "auth.read", true},
	{0, "activity.read", false},
	/* agents create decisions and sessions, read nothing of the audit trail */
	{B(AGENT), "decisions.create", true},
	{B(AGENT), "sessions.write", true},
	{B(AGENT), "activity.read", false},
	{B(AGENT), "evidence.read", false},
	{B(AGENT), "registry.read", false},
	{B(AGENT), "inventory.read", false},
	{B(AGENT), "approvals.decide", false},
	{B(AGENT), "approvals.read", true},
	{B(AGENT), "approvals.create", true},
	/* people read, do not act as agents */
	{B(AUDITOR), "activity.read", true},
	{B(AUDITOR), "evidence.read", true},
	{B(AUDITOR), "decisions.create", false},
	{B(AUDITOR), "approvals.decide", false},
	{B(AUDITOR), "operations.read", true},
	{B(MODEL_OWNER), "registry.read", true},
	{B(MODEL_OWNER), "operations.read", false},
	{B(MODEL_OWNER), "registry.write", false},
	{B(CISO), "operations.read", true},
	{B(CISO), "approvals.decide", false},
	/* deciding approvals */
	{B(SECURITY_OPERATOR), "approvals.decide", true},
	{B(PLATFORM_SECURITY), "approvals.decide", true},
	{B(SECURITY_OPERATOR), "approvals.break_glass", false},
	{B(BREAK_GLASS_APPROVER), "approvals.break_glass", true},
	{B(BREAK_GLASS_APPROVER), "approvals.decide", false},
	/* a rollout's change of mode or state is policy administration */
	{B(PLATFORM_SECURITY), "policy.admin", true},
	{B(SECURITY_OPERATOR), "policy.admin", false},
	{B(CISO), "policy.admin", false},
	{B(AUDITOR), "policy.admin", false},
	{B(AGENT), "policy.admin", false},
	{B(ADMIN), "policy.admin", true},
	/* choosing an approval's group picks its approvers: not for deciders or agents */
	{B(SECURITY_OPERATOR), "approvals.route", false},
	{B(PLATFORM_SECURITY), "approvals.route", false},
	{B(AGENT), "approvals.route", false},
	{B(ADMIN), "approvals.route", true},
	{B(AGENT), "evidence.replace", false},
	{B(SECURITY_OPERATOR), "evidence.replace", true},
	{B(ADMIN), "evidence.replace", true},
	{B(AGENT), "sessions.replace", false},
	{B(SECURITY_OPERATOR), "sessions.replace", false},
	{B(ADMIN), "sessions.replace", true},
	/* an agent asks for approvals of its own decisions; the deciding roles, of any */
	{B(AGENT), "approvals.request_any", false},
	{B(CISO), "approvals.request_any", false},
	{B(SECURITY_OPERATOR), "approvals.request_any", true},
	{B(PLATFORM_SECURITY), "approvals.request_any", true},
	{B(ADMIN), "approvals.request_any", true},
	/* an agent reads the approvals of its own decisions; people, every one */
	{B(AGENT), "approvals.read", true},
	{B(AGENT), "approvals.read_any", false},
	{B(AUDITOR), "approvals.read_any", true},
	{B(CISO), "approvals.read_any", true},
	{B(MODEL_OWNER), "approvals.read_any", true},
	{B(BREAK_GLASS_APPROVER), "approvals.read_any", true},
	{B(ADMIN), "approvals.read_any", true},
	{B(METRICS), "approvals.read_any", false},
	/* writes to registry, inventory and integrations */
	{B(PLATFORM_SECURITY), "registry.write", true},
	{B(PLATFORM_SECURITY), "inventory.write", true},
	{B(PLATFORM_SECURITY), "integrations.write", true},
	{B(SECURITY_OPERATOR), "registry.write", false},
	{B(PLATFORM_SECURITY), "tokens.manage", false},
	/* admin can do everything */
	{B(ADMIN), "decisions.create", true},
	{B(ADMIN), "approvals.break_glass", true},
	{B(ADMIN), "tokens.manage", true},
	/* roles add up */
	{B(AGENT) | B(AUDITOR), "activity.read", true},
	/* unknown permissions are denied to everyone */
	{B(ADMIN), "no.such", false},
};

static void test_allowed(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (auth_allowed(cases[i].roles, cases[i].perm) != cases[i].want)
			fail_msg("roles 0x%x, '%s': want %d", cases[i].roles, cases[i].perm,
				 cases[i].want);
}

static void test_admin_everywhere(void **state)
{
	(void)state;
	for (size_t i = 0; i < auth_permission_count(); i++)
		assert_true(auth_allowed(B(ADMIN), auth_permission_at(i)->name));
}

static void test_check_messages(void **state)
{
	struct err e = {0};

	(void)state;
	assert_int_equal(auth_check(B(AGENT), "decisions.create", &e), ST_OK);
	assert_int_equal(auth_check(B(AUDITOR), "approvals.decide", &e), ST_FORBIDDEN);
	assert_string_equal(e.msg, "permission 'approvals.decide' needs one of the roles "
				   "security_operator, platform_security, admin");
	assert_int_equal(auth_check(B(ADMIN), "typo.read", &e), ST_INTERNAL);
	assert_non_null(strstr(e.msg, "'typo.read'"));
}

static void test_role_names(void **state)
{
	char text[256];
	enum auth_role r;

	(void)state;
	for (unsigned i = 0; i < AUTH_ROLE__COUNT; i++) {
		assert_true(auth_role_parse(auth_role_name(i), &r));
		assert_int_equal(r, i);
	}
	assert_false(auth_role_parse("Admin", &r));
	assert_false(auth_role_parse("", &r));
	assert_null(auth_role_name(AUTH_ROLE__COUNT));
	auth_roles_format(B(AGENT) | B(ADMIN), text, sizeof(text));
	assert_string_equal(text, "agent, admin");
	auth_roles_format(0, text, sizeof(text));
	assert_string_equal(text, "");
}

static void test_render(void **state)
{
	struct buf md = BUF_INIT, text = BUF_INIT;

	(void)state;
	assert_int_equal(auth_permissions_render(AUTH_RENDER_MARKDOWN, &md, NULL), ST_OK);
	assert_int_equal(auth_permissions_render(AUTH_RENDER_TEXT, &text, NULL), ST_OK);
	assert_non_null(strstr(md.data, "| permission | who | what |"));
	assert_non_null(strstr(md.data, "| `decisions.create` | agent, admin |"));
	assert_non_null(strstr(md.data, "| `public` | anyone, no credentials |"));
	for (size_t i = 0; i < auth_permission_count(); i++) {
		assert_non_null(strstr(md.data, auth_permission_at(i)->name));
		assert_non_null(strstr(text.data, auth_permission_at(i)->name));
	}
	assert_non_null(strstr(text.data, "who: break_glass_approver, admin"));
	buf_release(&md);
	buf_release(&text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_exist),	 cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_admin_everywhere), cmocka_unit_test(test_check_messages),
		cmocka_unit_test(test_role_names),	 cmocka_unit_test(test_render),
	};

	return cmocka_run_group_tests_name("auth/rbac", tests, NULL, NULL);
}
