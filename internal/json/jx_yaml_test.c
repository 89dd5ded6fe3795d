/* Unit tests for YAML / JSON settings files into json-c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "base/base.h"
#include "json/jx_yaml.h"

/* text parses, and reads back as the JSON want. */
static void assert_roundtrip(const char *text, const char *want)
{
	json_object *o = NULL;
	struct err e = {0};

	assert_int_equal(jx_yaml_parse(text, strlen(text), "t.yaml", &o, &e), ST_OK);
	assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), want);
	json_object_put(o);
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
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_roundtrip(cases[i].in, cases[i].want);
}

static void test_errors(void **state)
{
	static const struct {
		const char *in, *msg_has;
	} cases[] = {
		{"a: 1\nb: [1, 2\n", "t.yaml:3:"},
		{"{\"a\": 1,, }", "t.yaml:1:"},
		{"a: 1\n  b: 2\n", "t.yaml:2:"},
		{"? [1]\n: x\n", "t.yaml:1: top level keys must be strings"},
		{"a:\n  b:\n    - {? [1] : x}\n", "t.yaml:3: a.b[0] keys must be strings"},
		{"a: [1\n",
		 "t.yaml:2: invalid yaml: did not find expected ',' or ']' while parsing"},
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

/* JX_YAML_TEXT: scalars as written, lines and quoting kept, no document gives NULL. */
static void test_text(void **state)
{
	const char *text = "a: 1\nb: 'true'\nc:\n  - x\n  - ~\nd: 1.50\n";
	json_object *o = NULL, *v;
	struct jx_yaml_pos pos;
	struct err e = {0};

	(void)state;
	assert_int_equal(jx_yaml_parse_ex(text, strlen(text), "t.yaml", JX_YAML_TEXT, &o, &e),
			 ST_OK);
	assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
			    "{\"a\":\"1\",\"b\":\"true\",\"c\":[\"x\",\"~\"],\"d\":\"1.50\"}");
	assert_true(jx_yaml_pos(json_object_object_get(o, "b"), &pos));
	assert_int_equal(pos.line, 2);
	assert_int_equal(pos.key_line, 2);
	assert_false(pos.plain);
	v = json_object_object_get(o, "c");
	assert_true(jx_yaml_pos(v, &pos));
	assert_int_equal(pos.line, 4); /* the list starts below its key */
	assert_int_equal(pos.key_line, 3);
	assert_true(jx_yaml_pos(json_object_array_get_idx(v, 1), &pos));
	assert_int_equal(pos.line, 5);
	assert_true(pos.plain);
	assert_int_equal(jx_yaml_line(o), 1);
	json_object_put(o);
	assert_int_equal(jx_yaml_parse_ex("# no document\n", 14, "t.yaml", JX_YAML_TEXT, &o, &e),
			 ST_OK);
	assert_null(o);
	assert_int_equal(jx_yaml_parse("a: 1\n", 5, "t.yaml", &o, &e), ST_OK);
	assert_false(jx_yaml_pos(o, &pos)); /* only JX_YAML_TEXT trees keep positions */
	assert_int_equal(jx_yaml_line(o), 0);
	json_object_put(o);
}

/* JX_YAML_UNIQUE_KEYS names the key, its line and the mapping; without it the last wins. */
static void test_unique_keys(void **state)
{
	const char *text = "a: 1\nm:\n  k: 1\n  k: 2\n";
	json_object *o = NULL;
	struct err e = {0};

	(void)state;
	assert_int_equal(
		jx_yaml_parse_ex(text, strlen(text), "t.yaml", JX_YAML_UNIQUE_KEYS, &o, &e),
		ST_INVALID);
	assert_null(o);
	assert_string_equal(e.msg, "t.yaml:4: duplicate key 'k' in m");
	assert_int_equal(jx_yaml_parse(text, strlen(text), "t.yaml", &o, &e), ST_OK);
	assert_int_equal(
		json_object_get_int(json_object_object_get(json_object_object_get(o, "m"), "k")),
		2);
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),	    cmocka_unit_test(test_errors),
		cmocka_unit_test(test_alias_bomb),  cmocka_unit_test(test_text),
		cmocka_unit_test(test_unique_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
