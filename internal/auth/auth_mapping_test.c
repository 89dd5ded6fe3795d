/*
 * auth_mapping_test.c - group -> role mappings (the default, documents with
 * global and per-issuer rules, strict rejection of bad documents), principals
 * built from verified claims, and the whoami explanation.
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
#include "json/jx.h"

#define B(x)	  AUTH_ROLE_BIT(AUTH_ROLE_##x)
#define WORKFORCE "https://login.example"
#define WORKLOAD  "https://ci.example"

static json_object *parse(const char *text)
{
	json_object *o = NULL;

	if (jx_parse(text, strlen(text), JX_MAX_DEPTH, &o, NULL) != ST_OK)
		fail_msg("bad test JSON: %s", text);
	return o;
}

static struct auth_mapping *load(const char *text)
{
	json_object *doc = parse(text);
	struct auth_mapping *m = NULL;
	struct err e = {0};

	if (auth_mapping_from_json(doc, "rbac.yaml", &m, &e) != ST_OK)
		fail_msg("mapping: %s", e.msg);
	json_object_put(doc);
	return m;
}

static void test_default(void **state)
{
	static const struct {
		const char *group;
		uint32_t roles;
	} cases[] = {
		{"CAVRA-CISO", B(CISO)},
		{"CAVRA-Security-Operations", B(SECURITY_OPERATOR)},
		{"CAVRA-Platform-Security", B(PLATFORM_SECURITY)},
		{"CAVRA-Model-Owners", B(MODEL_OWNER)},
		{"CAVRA-Auditors", B(AUDITOR)},
		{"Change Advisory Board", B(BREAK_GLASS_APPROVER)},
		{"cavra-agents", B(AGENT)},
		{"cavra-ciso", 0}, /* exact, case-sensitive */
		{"Everyone", 0},
	};
	struct auth_mapping *m = auth_mapping_new_default();
	const char *two[] = {"CAVRA-CISO", "CAVRA-Auditors", "Other"};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (auth_mapping_roles(m, WORKFORCE, &cases[i].group, 1) != cases[i].roles)
			fail_msg("group '%s'", cases[i].group);
	assert_int_equal(auth_mapping_roles(m, NULL, two, 3), B(CISO) | B(AUDITOR));
	assert_int_equal(auth_mapping_roles(m, NULL, NULL, 0), 0);
	auth_mapping_free(m);
	auth_mapping_free(NULL);
}

static void test_document(void **state)
{
	struct auth_mapping *m = load(
		"{\"groups\":{\"SecOps\":[\"security_operator\",\"auditor\"],\"Admins\":\"admin\"},"
		"\"issuers\":{\"" WORKLOAD "\":{\"groups\":{\"repo:org/app\":[\"agent\"]}}}}");
	const char *secops = "SecOps", *repo = "repo:org/app", *admins = "Admins";

	(void)state;
	assert_int_equal(auth_mapping_roles(m, WORKFORCE, &secops, 1),
			 B(SECURITY_OPERATOR) | B(AUDITOR));
	assert_int_equal(auth_mapping_roles(m, WORKFORCE, &admins, 1), B(ADMIN));
	/* an issuer with its own rules uses only those */
	assert_int_equal(auth_mapping_roles(m, WORKLOAD, &repo, 1), B(AGENT));
	assert_int_equal(auth_mapping_roles(m, WORKLOAD, &secops, 1), 0);
	assert_int_equal(auth_mapping_roles(m, WORKFORCE, &repo, 1), 0);
	auth_mapping_free(m);

	/* issuer rules only: other issuers get nothing */
	m = load("{\"issuers\":{\"" WORKLOAD "\":{\"groups\":{\"g\":\"agent\"}}}}");
	assert_int_equal(auth_mapping_roles(m, WORKFORCE, &secops, 1), 0);
	auth_mapping_free(m);
}

static const struct {
	const char *doc, *msg_has;
} bad_docs[] = {
	{"{\"groups\":{\"Ops\":[\"security_operator\",\"superuser\"]}}",
	 "rbac.yaml: groups: 'Ops': unknown role 'superuser' (roles: agent, ciso,"},
	{"{\"groups\":{\"Ops\":\"Admin\"}}", "unknown role 'Admin'"},
	{"{\"groups\":{\"Ops\":[]}}", "'Ops': maps to no role"},
	{"{\"groups\":{\"Ops\":[1]}}", "roles must be strings"},
	{"{\"groups\":{\"Ops\":{\"role\":\"admin\"}}}", "roles must be strings"},
	{"{\"groups\":{\"\":\"admin\"}}", "empty group name"},
	{"{\"groups\":[\"admin\"]}", "groups must be a mapping"},
	{"{\"group\":{\"Ops\":\"admin\"}}", "unknown key 'group'"},
	{"{}", "neither 'groups' nor 'issuers'"},
	{"[]", "must be a mapping"},
	{"{\"issuers\":[]}", "issuers must be a mapping"},
	{"{\"issuers\":{\"" WORKLOAD "\":[]}}", "issuers: 'https://ci.example': must be"},
	{"{\"issuers\":{\"" WORKLOAD "\":{}}}", "has no 'groups'"},
	{"{\"issuers\":{\"" WORKLOAD "\":{\"groups\":{},\"roles\":{}}}}", "unknown key 'roles'"},
	{"{\"issuers\":{\"" WORKLOAD "\":{\"groups\":{\"g\":\"robot\"}}}}",
	 "issuers: 'https://ci.example': groups: 'g': unknown role 'robot'"},
};

static void test_bad_documents(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_docs); i++) {
		json_object *doc = parse(bad_docs[i].doc);
		struct auth_mapping *m = NULL;
		struct err e = {0};

		if (auth_mapping_from_json(doc, "rbac.yaml", &m, &e) != ST_INVALID)
			fail_msg("doc %zu accepted", i);
		if (!strstr(e.msg, bad_docs[i].msg_has))
			fail_msg("doc %zu: message '%s' lacks '%s'", i, e.msg, bad_docs[i].msg_has);
		assert_null(m);
		json_object_put(doc);
	}
}

/* A verified token as auth_jwt_verify would fill it. */
static void fake_jwt(struct auth_jwt *t, const char *claims)
{
	memset(t, 0, sizeof(*t));
	t->claims = parse(claims);
	t->iss = jx_get_str(t->claims, "iss");
	t->sub = jx_get_str(t->claims, "sub");
}

static const struct {
	const char *claims, *groups_claim;
	enum status want;
	uint32_t roles;
	const char *actor;
} principal_cases[] = {
	{"{\"iss\":\"" WORKFORCE "\",\"sub\":\"u1\",\"groups\":[\"CAVRA-Auditors\",\"x\"],"
	 "\"email\":\"a@example.com\",\"preferred_username\":\"alice\"}",
	 NULL, ST_OK, B(AUDITOR), "a@example.com"},
	{"{\"iss\":\"" WORKFORCE "\",\"sub\":\"u1\",\"groups\":\"cavra-agents\","
	 "\"preferred_username\":\"bot\"}",
	 "groups", ST_OK, B(AGENT), "bot"},
	{"{\"iss\":\"" WORKFORCE "\",\"sub\":\"u1\"}", NULL, ST_OK, 0, "u1"},
	{"{\"iss\":\"" WORKFORCE "\",\"sub\":\"u1\",\"groups\":null}", NULL, ST_OK, 0, "u1"},
	{"{\"iss\":\"" WORKFORCE "\",\"sub\":\"u1\",\"realm_access\":{\"roles\":[\"CAVRA-CISO\"]}}",
	 "realm_access.roles", ST_OK, B(CISO), "u1"},
	{"{\"iss\":\"" WORKFORCE "\",\"sub\":\"u1\",\"https://x.example/groups\":[\"CAVRA-CISO\"]}",
	 "https://x.example/groups", ST_OK, B(CISO), "u1"},
	{"{\"iss\":\"" WORKFORCE "\",\"sub\":\"u1\",\"email\":\"\"}", NULL, ST_OK, 0, "u1"},
	{"{\"iss\":\"" WORKFORCE "\",\"sub\":\"u1\",\"groups\":{\"a\":1}}", NULL,
	 ST_UNAUTHENTICATED, 0, NULL},
	{"{\"iss\":\"" WORKFORCE "\",\"sub\":\"u1\",\"groups\":[\"a\",2]}", NULL,
	 ST_UNAUTHENTICATED, 0, NULL},
	{"{\"iss\":\"" WORKFORCE "\"}", NULL, ST_UNAUTHENTICATED, 0, NULL},
	{"{\"iss\":\"" WORKFORCE "\",\"sub\":\"\"}", NULL, ST_UNAUTHENTICATED, 0, NULL},
};

static void test_principal(void **state)
{
	struct auth_mapping *m = auth_mapping_new_default();

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(principal_cases); i++) {
		struct auth_principal p;
		struct auth_jwt t;
		struct err e = {0};
		enum status st;

		fake_jwt(&t, principal_cases[i].claims);
		st = auth_principal_from_jwt(&t, principal_cases[i].groups_claim, m, &p, &e);
		if (st != principal_cases[i].want)
			fail_msg("case %zu: got %s (%s)", i, status_name(st), e.msg);
		if (st == ST_OK) {
			assert_int_equal(p.kind, AUTH_KIND_JWT);
			assert_int_equal(p.roles, principal_cases[i].roles);
			assert_string_equal(p.actor, principal_cases[i].actor);
			assert_string_equal(p.issuer, WORKFORCE);
			assert_string_equal(p.subject, "u1");
		} else {
			assert_null(p.groups);
			assert_null(p.subject);
		}
		auth_principal_release(&p);
		auth_jwt_release(&t);
	}
	auth_mapping_free(m);
}

static void test_too_many_groups(void **state)
{
	json_object *claims = json_object_new_object(), *groups = json_object_new_array();
	struct auth_principal p;
	struct auth_jwt t = {0};
	struct err e = {0};

	(void)state;
	for (int i = 0; i <= AUTH_GROUPS_MAX; i++)
		json_object_array_add(groups, json_object_new_string("g"));
	json_object_object_add(claims, "groups", groups);
	t.claims = claims;
	t.iss = WORKFORCE;
	t.sub = "u1";
	assert_int_equal(auth_principal_from_jwt(&t, NULL, NULL, &p, &e), ST_UNAUTHENTICATED);
	assert_non_null(strstr(e.msg, "more than 512"));
	json_object_put(claims);
}

/* The member name=value of the entry of array arr whose key equals value. */
static json_object *entry(json_object *o, const char *arr, const char *key, const char *value)
{
	json_object *a = NULL;

	assert_true(json_object_object_get_ex(o, arr, &a));
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *x = json_object_array_get_idx(a, i);
		const char *v = jx_get_str(x, key);

		if (v && strcmp(v, value) == 0)
			return x;
	}
	fail_msg("%s has no %s '%s'", arr, key, value);
	return NULL;
}

static bool flag(json_object *o, const char *key)
{
	json_object *v = NULL;

	assert_true(json_object_object_get_ex(o, key, &v));
	return json_object_get_boolean(v);
}

static const char *dump(json_object *o, const char *key)
{
	json_object *v = NULL;

	assert_true(json_object_object_get_ex(o, key, &v));
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

static void test_explain(void **state)
{
	struct auth_mapping *m = auth_mapping_new_default();
	struct auth_principal p;
	struct auth_jwt t;
	json_object *x, *role, *perm;

	(void)state;
	fake_jwt(&t, "{\"iss\":\"" WORKFORCE "\",\"sub\":\"u1\",\"groups\":[\"CAVRA-Auditors\","
		     "\"Staff\"]}");
	assert_int_equal(auth_principal_from_jwt(&t, NULL, m, &p, NULL), ST_OK);
	x = auth_explain(m, &p);
	assert_string_equal(jx_get_str(x, "mapping"), "global");
	assert_string_equal(dump(entry(x, "groups", "group", "CAVRA-Auditors"), "roles"),
			    "[\"auditor\"]");
	assert_string_equal(dump(entry(x, "groups", "group", "Staff"), "roles"), "[]");
	role = entry(x, "roles", "role", "auditor");
	assert_true(flag(role, "granted"));
	assert_string_equal(dump(role, "matched_groups"), "[\"CAVRA-Auditors\"]");
	role = entry(x, "roles", "role", "security_operator");
	assert_false(flag(role, "granted"));
	assert_string_equal(dump(role, "granted_by_groups"), "[\"CAVRA-Security-Operations\"]");
	perm = entry(x, "permissions", "permission", "approvals.decide");
	assert_false(flag(perm, "allowed"));
	assert_string_equal(dump(perm, "granted_by_roles"),
			    "[\"security_operator\",\"platform_security\",\"admin\"]");
	assert_true(flag(entry(x, "permissions", "permission", "evidence.read"), "allowed"));
	json_object_put(x);
	auth_principal_release(&p);
	auth_jwt_release(&t);

	auth_principal_for_token("ci-bot", B(AGENT), &p);
	x = auth_explain(NULL, &p);
	assert_string_equal(jx_get_str(x, "kind"), "api_token");
	assert_string_equal(jx_get_str(x, "subject"), "token:ci-bot");
	assert_string_equal(jx_get_str(entry(x, "roles", "role", "agent"), "via"), "api token");
	assert_true(flag(entry(x, "permissions", "permission", "decisions.create"), "allowed"));
	json_object_put(x);
	auth_principal_release(&p);
	auth_principal_release(NULL);
	auth_mapping_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),		cmocka_unit_test(test_document),
		cmocka_unit_test(test_bad_documents),	cmocka_unit_test(test_principal),
		cmocka_unit_test(test_too_many_groups), cmocka_unit_test(test_explain),
	};

	return cmocka_run_group_tests_name("auth/mapping", tests, NULL, NULL);
}
