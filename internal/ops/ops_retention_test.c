/* Unit tests for the retention plan's parameters and its Markdown rendering. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "ops/ops.h"
#include "ops/ops_testutil.h"

static const struct {
	const char *days, *cls, *hold;
	enum status want;
	int64_t days_out;
	bool hold_out;
	const char *msg_has;
} cases[] = {
	{NULL, NULL, NULL, ST_OK, 2555, false, NULL},
	{"365", "internal", "true", ST_OK, 365, true, NULL},
	{"1", "a.b-c_D9", "0", ST_OK, 1, false, NULL},
	{"36500", NULL, "1", ST_OK, 36500, true, NULL},
	{"0", NULL, NULL, ST_INVALID, 0, false, "retention_days"},
	{"-5", NULL, NULL, ST_INVALID, 0, false, "retention_days"},
	{"36501", NULL, NULL, ST_INVALID, 0, false, "retention_days"},
	{"7x", NULL, NULL, ST_INVALID, 0, false, "retention_days"},
	{"", NULL, NULL, ST_INVALID, 0, false, "retention_days"},
	{NULL, "", NULL, ST_INVALID, 0, false, "classification"},
	{NULL, "a b", NULL, ST_INVALID, 0, false, "classification"},
	{NULL, "x/../y", NULL, ST_INVALID, 0, false, "classification"},
	{NULL, NULL, "maybe", ST_INVALID, 0, false, "legal_hold"},
};

static void test_opts_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ops_retention_opts o;
		struct err e = {0};
		enum status got = ops_retention_opts_parse(cases[i].days, cases[i].cls,
							   cases[i].hold, &o, &e);

		if (got != cases[i].want)
			fail_msg("case %zu: got %s (%s)", i, status_name(got), e.msg);
		if (got == ST_OK &&
		    (o.days != cases[i].days_out || o.legal_hold != cases[i].hold_out))
			fail_msg("case %zu: days %lld hold %d", i, (long long)o.days, o.legal_hold);
		if (cases[i].msg_has && !strstr(e.msg, cases[i].msg_has))
			fail_msg("case %zu: message '%s' lacks '%s'", i, e.msg, cases[i].msg_has);
	}
}

static void test_defaults(void **state)
{
	struct ops_retention_opts o;

	(void)state;
	assert_int_equal(ops_retention_opts_parse(NULL, NULL, NULL, &o, NULL), ST_OK);
	assert_string_equal(o.classification, "regulated-sdlc");
	assert_true(o.now_us > 0);
}

/* The Markdown is rendered from the JSON alone, so CLI and API plans cannot drift apart. */
static void test_markdown(void **state)
{
	json_object *plan = json_tokener_parse(
		"{\"classification\":\"regulated-sdlc\",\"retention_days\":2555,\"legal_hold\":"
		"true,"
		"\"delete_protection\":true,\"delete_protection_reason\":\"legal hold\","
		"\"records\":3,\"past_cutoff\":1,\"eligible_for_deletion\":0,\"stores\":[{"
		"\"store\":"
		"\"activity\",\"action\":\"retain: legal hold\",\"tables\":[{\"table\":"
		"\"activity_decisions\",\"records\":3,\"past_cutoff\":1}]}],\"controls\":{"
		"\"backup_every_days\":1,\"restore_test_every_days\":30,\"last_backup\":null,"
		"\"backup_overdue\":true,\"restore_test_overdue\":true}}");
	char *md;

	(void)state;
	assert_non_null(plan);
	md = ops_retention_markdown(plan);
	OPS_TEST_HAS_ALL(md, "# Retention plan: regulated-sdlc", "| retention | 2555 days |",
			 "| legal hold | yes", "| activity | activity_decisions | 3 | 1 |",
			 "| last backup | none recorded |", "| backup overdue | **yes** |");
	free(md);
	json_object_put(plan);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opts_table),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_markdown),
	};

	return cmocka_run_group_tests_name("ops/retention", tests, NULL, NULL);
}
