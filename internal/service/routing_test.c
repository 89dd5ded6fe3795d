/* Unit tests for approval routing rules: the built-in set, files, and bad files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "service/service.h"

static const char *pick(const struct routing *rt, const char *action, const char *target,
			const char *rule, const char *decision, const char *severity)
{
	const struct routing_facts f = {.action_type = action,
					.target = target,
					.rule_id = rule,
					.decision = decision,
					.severity = severity};

	return service_routing_pick(rt, &f, NULL);
}

static void test_builtin(void **state)
{
	struct routing *rt = NULL;

	(void)state;
	assert_int_equal(service_routing_load(NULL, &rt, NULL), ST_OK);
	assert_int_equal(service_routing_count(rt), 5);
	assert_string_equal(pick(rt, "write_file", "infra/iam/role.tf",
				 "filesystem.write.require_approval", "require_approval", "high"),
			    "IAM");
	assert_string_equal(pick(rt, "write_file", ".github/workflows/ci.yml",
				 "filesystem.write.block", "block", "high"),
			    "Platform Security");
	assert_string_equal(pick(rt, "execute_command", "make", "commands.default.require_approval",
				 "require_approval", "medium"),
			    "Repository Owners");
	assert_null(pick(rt, "execute_command", "make", "commands.default.require_approval",
			 "require_approval", "high"));
	assert_string_equal(pick(rt, "execute_command", "terraform destroy", "commands.block",
				 "block", "critical"),
			    "Cloud Security");
	assert_string_equal(
		pick(rt, "mcp_tool_call", "srv", "mcp.registry.unknown", "block", "high"),
		"AI Governance");
	assert_null(pick(rt, "read_file", "README.md", "filesystem.read.allow", "allow", "low"));
	assert_null(pick(rt, NULL, NULL, NULL, NULL, NULL));
	service_routing_free(rt);
}

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/cavra-routing-XXXXXX");
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	fputs(text, f);
	fclose(f);
	return path;
}

static void test_file_shapes(void **state)
{
	static const char *const texts[] = {
		"- {rule_id: x.y, approver_group: G}\n",
		"approval_routing:\n  - rule_id: x.y\n    approver_group: G\n",
		"{\"routing_rules\": [{\"rule_id\": \"x.y\", \"approver_group\": \"G\"}]}",
		"rules:\n  - {name: n, rule_id: x.y, approver_group: G}\n",
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		char *path = write_tmp(texts[i]);
		struct routing *rt = NULL;
		struct err e = {0};

		if (service_routing_load(path, &rt, &e) != ST_OK)
			fail_msg("shape %zu: %s", i, e.msg);
		assert_string_equal(pick(rt, "a", "t", "x.y", "block", "low"), "G");
		assert_null(pick(rt, "a", "t", "x.yz", "block", "low"));
		assert_string_equal(service_routing_source(rt), path);
		service_routing_free(rt);
		unlink(path);
		free(path);
	}
}

static void test_bad_files(void **state)
{
	static const struct {
		const char *text, *needle;
	} cases[] = {
		{"rules:\n  - approver_group: [x\n", ":3: invalid yaml: did not find"},
		{"rules:\n  - rule_id: x\n", "approver_group"},
		{"rules:\n  - approver_group: A\n    colour: red\n", "unknown key 'colour'"},
		{"rules:\n  - approver_group: A\n    severity: [high]\n", "'severity' must be"},
		{"just: words\n", "list of rules"},
		{"rules:\n  - 42\n", "must be a mapping"},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *path = write_tmp(cases[i].text);
		struct routing *rt = NULL;
		struct err e = {0};

		assert_int_equal(service_routing_load(path, &rt, &e), ST_INVALID);
		assert_null(rt);
		if (!strstr(e.msg, cases[i].needle) || !strstr(e.msg, path))
			fail_msg("case %zu: '%s' lacks '%s' or the file name", i, e.msg,
				 cases[i].needle);
		unlink(path);
		free(path);
	}
	assert_int_equal(
		service_routing_load("/nonexistent/routing.yaml", &(struct routing *){NULL}, NULL),
		ST_IO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin),
		cmocka_unit_test(test_file_shapes),
		cmocka_unit_test(test_bad_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
