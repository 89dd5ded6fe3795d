/* ops_line_test.c - the dump line parser against the JSON rules and json-c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops_int.h"

#include <json-c/json.h>

static const char *const cols[] = {"id", "n", "p", "t"};

static const struct {
	const char *name, *line;
	bool ok;
} cases[] = {
	{"canonical", "{\"id\":\"a\",\"n\":1,\"p\":{\"x\":[1,2.5e3,true,null]},\"t\":null}", true},
	{"any member order", "{\"t\":\"x\",\"p\":[],\"n\":-0,\"id\":\"b\"}", true},
	{"whitespace", " { \"id\" : \"a\" , \"n\" : 1 , \"p\" : { } , \"t\" : \"\" } ", true},
	{"escapes",
	 "{\"id\":\"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\",\"n\":1,"
	 "\"p\":1,\"t\":1}",
	 true},
	{"escaped member name", "{\"i\\u0064\":\"a\",\"n\":1,\"p\":1,\"t\":1}", true},
	{"utf-8", "{\"id\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\",\"n\":1,\"p\":1,\"t\":1}",
	 true},
	{"empty line", "", false},
	{"not an object", "[1]", false},
	{"truncated", "{\"id\":\"a\",\"n\":1,\"p\":{\"x\":1", false},
	{"missing column", "{\"id\":\"a\",\"n\":1,\"p\":1}", false},
	{"extra column", "{\"id\":\"a\",\"n\":1,\"p\":1,\"t\":1,\"u\":1}", false},
	{"column twice", "{\"id\":\"a\",\"n\":1,\"p\":1,\"t\":1,\"id\":\"b\"}", false},
	{"empty object", "{}", false},
	{"text after", "{\"id\":\"a\",\"n\":1,\"p\":1,\"t\":1}x", false},
	{"two objects", "{\"id\":\"a\",\"n\":1,\"p\":1,\"t\":1}{}", false},
	{"trailing comma", "{\"id\":\"a\",\"n\":1,\"p\":[1,],\"t\":1}", false},
	{"single quotes", "{'id':\"a\",\"n\":1,\"p\":1,\"t\":1}", false},
	{"leading zero", "{\"id\":\"a\",\"n\":01,\"p\":1,\"t\":1}", false},
	{"bare fraction", "{\"id\":\"a\",\"n\":1.,\"p\":1,\"t\":1}", false},
	{"plus sign", "{\"id\":\"a\",\"n\":+1,\"p\":1,\"t\":1}", false},
	{"NaN", "{\"id\":\"a\",\"n\":NaN,\"p\":1,\"t\":1}", false},
	{"bad word", "{\"id\":\"a\",\"n\":nul,\"p\":1,\"t\":1}", false},
	{"control char", "{\"id\":\"a\tb\",\"n\":1,\"p\":1,\"t\":1}", false},
	{"bad escape", "{\"id\":\"\\x41\",\"n\":1,\"p\":1,\"t\":1}", false},
	{"short \\u", "{\"id\":\"\\u12\",\"n\":1,\"p\":1,\"t\":1}", false},
	{"lone high surrogate", "{\"id\":\"\\ud83d\",\"n\":1,\"p\":1,\"t\":1}", false},
	{"lone low surrogate", "{\"id\":\"\\ude00\",\"n\":1,\"p\":1,\"t\":1}", false},
	{"invalid utf-8", "{\"id\":\"\xff\",\"n\":1,\"p\":1,\"t\":1}", false},
	{"overlong utf-8", "{\"id\":\"\xc0\xaf\",\"n\":1,\"p\":1,\"t\":1}", false},
	{"utf-8 surrogate", "{\"id\":\"\xed\xa0\x80\",\"n\":1,\"p\":1,\"t\":1}", false},
	{"cut utf-8", "{\"id\":\"\xe2\x82\",\"n\":1,\"p\":1,\"t\":1}", false},
	{"unterminated string", "{\"id\":\"a", false},
	{"missing colon", "{\"id\" \"a\",\"n\":1,\"p\":1,\"t\":1}", false},
};

static void test_cases(void **state)
{
	struct ops_line_keys k;
	struct ops_span out[OPS_LINE_KEYS_MAX];

	(void)state;
	ops_line_keys_init(&k, cols, 4);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = NULL;
		bool ok = ops_line_split(cases[i].line, strlen(cases[i].line), &k, out, &why);

		if (ok != cases[i].ok)
			fail_msg("case '%s': got %d (%s)", cases[i].name, ok, why ? why : "-");
		if (!ok)
			assert_non_null(why);
	}
}

/* Everything the parser accepts, json-c accepts too (strict mode, UTF-8 checked). */
static void test_agrees_with_json_c(void **state)
{
	struct json_tokener *tok = json_tokener_new_ex(64);
	struct ops_line_keys k;
	struct ops_span out[OPS_LINE_KEYS_MAX];

	(void)state;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	ops_line_keys_init(&k, cols, 4);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = NULL;
		size_t len = strlen(cases[i].line);
		json_object *o;

		if (!ops_line_split(cases[i].line, len, &k, out, &why))
			continue;
		json_tokener_reset(tok);
		o = json_tokener_parse_ex(tok, cases[i].line, (int)len);
		if (!o || json_tokener_get_error(tok) != json_tokener_success)
			fail_msg("case '%s': json-c refuses it", cases[i].name);
		json_object_put(o);
	}
	json_tokener_free(tok);
}

/* Splits line by the four test columns into out; whether it is a valid row. */
static bool split(const char *line, size_t n, struct ops_span *out, const char **why)
{
	struct ops_line_keys k;

	ops_line_keys_init(&k, cols, 4);
	return ops_line_split(line, n, &k, out, why);
}

/* Spans point at each column's value; strings decode their escapes. */
static void test_spans(void **state)
{
	const char *line = "{\"t\":\"x\\u00e9\\ud83d\\ude00\\n\",\"p\":{\"a\":[1]},\"n\":-12,"
			   "\"id\":\"plain\"}";
	struct ops_span out[OPS_LINE_KEYS_MAX];
	const char *why = NULL;
	struct buf b;

	(void)state;
	assert_true(split(line, strlen(line), out, &why));
	assert_int_equal(out[0].kind, OPS_SPAN_STRING);
	assert_false(out[0].escaped);
	assert_int_equal(out[0].n, 5);
	assert_memory_equal(out[0].p, "plain", 5);
	assert_int_equal(out[1].kind, OPS_SPAN_NUMBER);
	assert_true(out[1].integer);
	assert_memory_equal(out[1].p, "-12", 3);
	assert_int_equal(out[2].kind, OPS_SPAN_OBJECT);
	assert_int_equal(out[2].n, strlen("{\"a\":[1]}"));
	assert_true(out[3].escaped);
	buf_init(&b, 1024);
	assert_int_equal(ops_span_text(&out[3], &b, NULL), ST_OK);
	assert_string_equal(b.data, "x\xc3\xa9\xf0\x9f\x98\x80\n");
	buf_release(&b);
}

/* "\u0000" would end a C string early: decoding it is refused. */
static void test_nul_refused(void **state)
{
	const char *line = "{\"id\":\"a\\u0000b\",\"n\":1,\"p\":1,\"t\":1}";
	struct ops_span out[OPS_LINE_KEYS_MAX];
	const char *why = NULL;
	struct buf b;

	(void)state;
	assert_true(split(line, strlen(line), out, &why));
	buf_init(&b, 1024);
	assert_int_equal(ops_span_text(&out[0], &b, NULL), ST_INVALID);
	buf_release(&b);
}

/* Nesting deeper than 64 is refused rather than recursing without bound. */
static void test_depth(void **state)
{
	char line[400];
	size_t n = 0;
	struct ops_span out[OPS_LINE_KEYS_MAX];
	const char *why = NULL;

	(void)state;
	n += (size_t)snprintf(line, sizeof(line), "{\"id\":\"a\",\"n\":1,\"t\":1,\"p\":");
	for (int i = 0; i < 100; i++)
		line[n++] = '[';
	for (int i = 0; i < 100; i++)
		line[n++] = ']';
	line[n++] = '}';
	line[n] = '\0';
	assert_false(split(line, n, out, &why));
	assert_string_equal(why, "nested too deep");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases), cmocka_unit_test(test_agrees_with_json_c),
		cmocka_unit_test(test_spans), cmocka_unit_test(test_nul_refused),
		cmocka_unit_test(test_depth),
	};

	return cmocka_run_group_tests_name("ops/line", tests, NULL, NULL);
}
