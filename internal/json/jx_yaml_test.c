/* Unit tests for YAML / JSON settings files into json-c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "base/base.h"
#include "json/jx_yaml.h"

static const char *roundtrip(const char *text, json_object **keep)
{
	struct err e = {0};

	assert_int_equal(jx_yaml_parse(text, strlen(text), "t.yaml", keep, &e), ST_OK);
	return json_object_to_json_string_ext(*keep, JSON_C_TO_STRING_PLAIN);
}

static void test_types(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"a: 1\nb: x\nc: true\nd: ~\ne: '1'\nf: 1.5\n",
		 "{\"a\":1,\"b\":\"x\",\"c\":true,\"d\":null,\"e\":\"1\",\"f\":1.5}"},
		{"{\"a\": [1, \"two\", false], \"b\": {\"c\": null}}",
		 "{\"a\":[1,\"two\",false],\"b\":{\"c\":null}}"},
		{"rules:\n  - name: x\n    match: {target: \"iam/*\"}\n",
		 "{\"rules\":[{\"name\":\"x\",\"match\":{\"target\":\"iam\\/*\"}}]}"},
		{"", "{}"},
		{"v: 1.2.3\n", "{\"v\":\"1.2.3\"}"},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_object *o = NULL;

		assert_string_equal(roundtrip(cases[i].in, &o), cases[i].want);
		json_object_put(o);
	}
}

static void test_errors(void **state)
{
	static const struct {
		const char *in, *msg_has;
	} cases[] = {
		{"a: 1\nb: [1, 2\n", "t.yaml:3:"},
		{"{\"a\": 1,, }", "t.yaml:1:"},
		{"a: 1\n  b: 2\n", "t.yaml:2:"},
		{"? [1]\n: x\n", "mapping keys must be scalars"},
		{"a: &x [1]\nb: [*x, *x, *x, *x, *x, *x, *x, *x, *x, *x, *x]\n", NULL},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_object *o = NULL;
		struct err e = {0};
		enum status st = jx_yaml_parse(cases[i].in, strlen(cases[i].in), "t.yaml", &o, &e);

		if (!cases[i].msg_has) {
			assert_int_equal(st, ST_OK); /* small alias use is fine */
			json_object_put(o);
			continue;
		}
		assert_int_equal(st, ST_INVALID);
		assert_null(o);
		if (!strstr(e.msg, cases[i].msg_has))
			fail_msg("case %zu: '%s' lacks '%s'", i, e.msg, cases[i].msg_has);
	}
}

/* Nested aliases multiply: the node cap stops the walk. */
static void test_alias_bomb(void **state)
{
	const char *bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
			   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
			   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
			   "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
			   "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
			   "f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
	json_object *o = NULL;
	struct err e = {0};

	(void)state;
	assert_int_equal(jx_yaml_parse(bomb, strlen(bomb), "t.yaml", &o, &e), ST_INVALID);
	assert_non_null(strstr(e.msg, "too large"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_alias_bomb),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
