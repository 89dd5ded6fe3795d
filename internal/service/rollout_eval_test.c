/* Unit tests for rollout_eval.c: the mode-outcome mapping and the readiness checks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "base/base.h"
#include "service/rollout.h"

static const struct {
	const char *mode, *state, *decision, *would, *want;
} outcome_cases[] = {
	/* enforcing modes answer what enforcing answered */
	{"enforce", "active", "block", NULL, "block"},
	{"strict", "active", "require_approval", NULL, "require_approval"},
	{"break_glass", "active", "allow", NULL, "allow"},
	{"enforce", "active", "allow", "block", "block"}, /* recorded by an audit_only pack */
	{"enforce", "active", "allow", "warn", "warn"},
	{"enforce", "active", "audit_only", "require_approval", "require_approval"},
	{"enforce", "active", "audit_only", NULL, "audit_only"},
	{"enforce", "active", "block", "allow", "block"}, /* would only counts on allow */
	{"enforce", "active", "allow_with_attestation", NULL, "allow_with_attestation"},
	/* audit_only and every state but active stop nothing */
	{"audit_only", "active", "block", NULL, "allow"},
	{"audit_only", "active", "warn", NULL, "allow"},
	{"audit_only", "active", "allow", "block", "allow"},
	{"audit_only", "active", "allow_with_attestation", NULL, "allow_with_attestation"},
	{"enforce", "paused", "block", NULL, "allow"},
	{"enforce", "planned", "allow", "require_approval", "allow"},
	{"strict", "retired", "require_approval", NULL, "allow"},
	{"enforce", "active", NULL, NULL, NULL},
};

static void test_outcome_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(outcome_cases); i++) {
		const char *got =
			rollout_outcome(outcome_cases[i].mode, outcome_cases[i].state,
					outcome_cases[i].decision, outcome_cases[i].would);
		const char *want = outcome_cases[i].want;

		if ((got == NULL) != (want == NULL) || (got && strcmp(got, want) != 0))
			fail_msg("case %zu (%s/%s %s would %s): got %s, want %s", i,
				 outcome_cases[i].mode, outcome_cases[i].state,
				 outcome_cases[i].decision, outcome_cases[i].would,
				 got ? got : "NULL", want ? want : "NULL");
	}
}

static void test_target_mode_and_lists(void **state)
{
	(void)state;
	assert_string_equal(rollout_target_mode("audit_only"), "enforce");
	assert_string_equal(rollout_target_mode("strict"), "strict");
	assert_string_equal(rollout_target_mode(NULL), "enforce");
	assert_string_equal(rollout_list_outcome(POLICY_LIST_CMD_ALLOW), "allow");
	assert_string_equal(rollout_list_outcome(POLICY_LIST_FS_BLOCK_READ), "block");
	assert_string_equal(rollout_list_outcome(POLICY_LIST_GIT_PROTECTED_BRANCHES), "block");
	assert_string_equal(rollout_list_outcome(POLICY_LIST_MCP_REQUIRE_APPROVAL_TOOLS),
			    "require_approval");
	assert_true(rollout_integration_usable("active", "healthy"));
	assert_true(rollout_integration_usable("configured", "not_checked"));
	assert_false(rollout_integration_usable("active", "failed"));
	assert_false(rollout_integration_usable("planned", "healthy"));
	assert_false(rollout_integration_usable(NULL, NULL));
}

static const struct rollout_facts ready = {
	.repository = "acme/x",
	.repository_registered = true,
	.coverage_percent = 80,
	.source_control = 1,
	.siem_or_storage = 2,
	.expired_pending = 0,
	.decisions = 100,
	.would_change = 5,
	.target_mode = "enforce",
	.change_pct_max = 5,
};

/* Each case spoils one fact; exactly its check fails. */
static void test_each_check_fails_alone(void **state)
{
	struct rollout_check_result r[RC__COUNT];

	(void)state;
	assert_true(rollout_readiness(&ready, r));
	for (int i = 0; i < RC__COUNT; i++) {
		struct rollout_facts f = ready;

		switch (i) {
		case RC_REPOSITORY:
			f.repository_registered = false;
			break;
		case RC_COVERAGE:
			f.coverage_percent = 79;
			break;
		case RC_SOURCE_CONTROL:
			f.source_control = 0;
			break;
		case RC_SIEM_STORAGE:
			f.siem_or_storage = 0;
			break;
		case RC_APPROVALS:
			f.expired_pending = 1;
			break;
		default:
			f.would_change = 6;
			break;
		}
		assert_false(rollout_readiness(&f, r));
		for (int j = 0; j < RC__COUNT; j++)
			if (r[j].passed == (i == j))
				fail_msg("spoiling check %d: check %s passed=%d", i, r[j].name,
					 r[j].passed);
		assert_true(strlen(r[i].reason) > 0);
	}
}

static void test_share_edges(void **state)
{
	struct rollout_check_result r[RC__COUNT];
	struct rollout_facts f = ready;

	(void)state;
	f.decisions = 0;
	f.would_change = 0;
	assert_true(rollout_readiness(&f, r));
	assert_non_null(strstr(r[RC_CHANGE_SHARE].reason, "no decisions"));
	f = ready;
	f.change_pct_max = 0;
	f.would_change = 1;
	assert_false(rollout_readiness(&f, r));
	assert_non_null(strstr(r[RC_CHANGE_SHARE].reason, "1 of 100"));
	f.would_change = 0;
	assert_true(rollout_readiness(&f, r));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outcome_table),
		cmocka_unit_test(test_target_mode_and_lists),
		cmocka_unit_test(test_each_check_fails_alone),
		cmocka_unit_test(test_share_edges),
	};

	return cmocka_run_group_tests_name("service/rollout_eval", tests, NULL, NULL);
}
