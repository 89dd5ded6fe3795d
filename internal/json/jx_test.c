/* Unit tests for the JSON helpers: strict parsing and field checks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "json/jx.h"

static const struct {
	const char *name, *body;
	enum status want;
	const char *msg_has;
} parse_cases[] = {
	{"object", "{\"a\":1}", ST_OK, NULL},
	{"array", "[1,2]", ST_INVALID, "must be a JSON object"},
	{"string", "\"x\"", ST_INVALID, "must be a JSON object"},
	{"malformed", "{\"a\":", ST_INVALID, "not valid JSON"},
	{"trailing", "{} {}", ST_INVALID, "not valid JSON"},
	{"empty", "", ST_INVALID, "not valid JSON"},
	{"bad utf8", "{\"a\":\"\xff\xfe\"}", ST_INVALID, "not valid UTF-8 at byte 6"},
	/* json-c's own check takes these two */
	{"a surrogate in UTF-8", "{\"a\":\"\xed\xa0\x80x\"}", ST_INVALID,
	 "not valid UTF-8 at byte 6"},
	{"an overlong '/'", "{\"a\":\"\xc0\xaf\"}", ST_INVALID, "not valid UTF-8 at byte 6"},
	{"too deep", "{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}", ST_INVALID,
	 "not valid JSON"},
	{"null", "null", ST_INVALID, NULL},
	{"lone high surrogate", "{\"a\":\"\\ud800\"}", ST_INVALID,
	 "lone UTF-16 surrogate at byte 6"},
	{"lone low surrogate", "{\"a\":\"\\uDC00\"}", ST_INVALID, "lone UTF-16 surrogate"},
	{"high then letter", "{\"a\":\"\\ud800x\"}", ST_INVALID, "lone UTF-16 surrogate"},
	{"high then non-low", "{\"a\":\"\\ud800\\u0041\"}", ST_INVALID, "lone UTF-16 surrogate"},
	{"two highs", "{\"a\":\"\\ud800\\ud800\"}", ST_INVALID, "lone UTF-16 surrogate"},
	{"surrogate in key", "{\"\\udfff\":1}", ST_INVALID, "lone UTF-16 surrogate"},
	{"pair", "{\"a\":\"\\ud83d\\ude00\"}", ST_OK, NULL},
	{"escaped backslash", "{\"a\":\"\\\\ud800\"}", ST_OK, NULL},
	{"bmp escape", "{\"a\":\"\\u00e9\\uffff\\ud7ff\\ue000\"}", ST_OK, NULL},
	{"key twice", "{\"a\":1,\"a\":2}", ST_INVALID,
	 "body has a key twice in one object (the object at byte 0)"},
	{"key twice, once escaped", "{\"a\":1,\"\\u0061\":2}", ST_INVALID, "the object at byte 0"},
	{"key twice, spaces", "{\"a\" : 1, \"a\" :2}", ST_INVALID, "the object at byte 0"},
	{"key twice deep in an array", "{\"x\":[{\"b\":1},{\"b\":1,\"c\":{\"d\":1,\"d\":2}}]}",
	 ST_INVALID, "the object at byte 25"},
	{"key twice, the first an object", "{\"a\":{\"b\":1,\"c\":2},\"a\":3}", ST_INVALID,
	 "the object at byte 0"},
	{"key twice in a later object", "{\"a\":{\"x\":1},\"b\":{\"y\":1,\"y\":2}}", ST_INVALID,
	 "the object at byte 17"},
	{"key twice, the dropped value with a repeat", "{\"k\":[{\"z\":1,\"z\":2}],\"k\":2}",
	 ST_INVALID, "the object at byte 0"},
	{"one key in several objects", "{\"k\":{\"k\":1},\"b\":{\"k\":1},\"c\":[{\"k\":{}}]}",
	 ST_OK, NULL},
	{"colons and quotes in strings", "{\"a:b\":\"c:d\\\":\",\"e\":\"\\\\\",\"f\":\"\\\"\"}",
	 ST_OK, NULL},
	{"NUL in a key", "{\"a\":1,\"target\\u0000x\":1}", ST_INVALID,
	 "body has a key with a NUL character (\\u0000) at byte 7"},
	{"NUL in a nested key", "{\"m\":{\"\\u0000\" :1}}", ST_INVALID, "at byte 6"},
	{"NUL in a value", "{\"a\":\"x\\u0000y\"}", ST_OK, NULL},
	{"an escaped backslash, then u0000", "{\"a\\\\u0000\":1}", ST_OK, NULL},
	{"keys that differ by case", "{\"a\":1,\"A\":2}", ST_OK, NULL},
	{"raw control in a value", "{\"a\":\"x\x19y\"}", ST_INVALID,
	 "body has a control character (U+0019) that is not escaped at byte 7: write it as "
	 "\\u0019"},
	{"raw tab in a value", "{\"a\":\"x\ty\"}", ST_INVALID, "(U+0009)"},
	{"raw line feed in a key", "{\"a\nb\":1}", ST_INVALID,
	 "(U+000A) that is not escaped at byte 3"},
	{"raw escape after an escaped quote", "{\"a\":\"\\\"\x1b[2J\"}", ST_INVALID, "(U+001B)"},
	{"raw form feed between tokens", "{\"a\":\f1}", ST_INVALID, "(U+000C)"},
	{"whitespace between tokens", "{\t\"a\"\r\n:\n1 }", ST_OK, NULL},
	{"a point without digits after it", "{\"a\":3.}", ST_INVALID,
	 "body is not valid JSON: a malformed number (a leading zero, or no digit after '-', '.' "
	 "or 'e') at byte 5"},
	{"a point before an exponent", "{\"a\":[1,3.e5]}", ST_INVALID,
	 "malformed number (a leading zero, or no digit after '-', '.' or 'e') at byte 8"},
	{"no digit before the point", "{\"a\":-.5}", ST_INVALID, "malformed number"},
	{"a leading zero", "{\"a\":007}", ST_INVALID, "malformed number"},
	{"a negative leading zero", "{\"a\":-01}", ST_INVALID, "malformed number"},
	{"two zeros", "{\"a\":00}", ST_INVALID, "malformed number"},
	{"an empty exponent", "{\"a\":1e+}", ST_INVALID, "malformed number"},
	{"NaN", "{\"a\":NaN}", ST_INVALID,
	 "body is not valid JSON: NaN and Infinity are not JSON numbers (at byte 5)"},
	{"Infinity", "{\"a\":[1,Infinity]}", ST_INVALID, "not JSON numbers (at byte 8)"},
	{"-Infinity", "{\"a\":-Infinity}", ST_INVALID, "not JSON numbers (at byte 5)"},
	{"a string cut after a backslash", "{\"\\", ST_INVALID, "not valid JSON"},
	{"a value cut after a backslash", "{\"a\":\"x\\", ST_INVALID, "not valid JSON"},
	{"NaN and Infinity as text", "{\"NaN\":\"Infinity -Infinity\"}", ST_OK, NULL},
	{"numbers as the RFC writes them",
	 "{\"a\":[0,-0,0.5,-0.0,10,1e5,1E-5,2.5e+3,-9.99E0,0e0],\"b\":\"007 3. -.5\"}", ST_OK,
	 NULL},
	{"escaped controls", "{\"a\":\"\\t\\n\\u0019\\u001b\"}", ST_OK, NULL},
};

#define TEN_TIMES(x) x x x x x x x x x x

/* What jx_check_numbers refuses, and what it lets through. */
static const struct {
	const char *name, *body, *msg_has; /* msg_has NULL: accepted */
} number_cases[] = {
	{"integer beyond 2^64 in an array", "{\"a\":[1,123456789012345678901234567890]}",
	 "body has a number beyond the 64-bit integer range at byte 8"},
	{"2^64", "{\"a\":18446744073709551616}",
	 "field 'a' is a number beyond the 64-bit integer range (at byte 5)"},
	{"2^64 - 1", "{\"a\":18446744073709551615}", NULL},
	{"2^64 - 1 with a zero fraction", "{\"a\":18446744073709551615.0000000000000000}", NULL},
	{"2^64 - 1 and a half", "{\"a\":18446744073709551615.5}", "field 'a'"},
	{"-2^63", "{\"a\":-9223372036854775808}", NULL},
	{"-2^63 - 1", "{\"a\":-9223372036854775809}", "field 'a' is a number beyond"},
	{"a long negative integer, spaced", "{\"m\":{\"a\" : -100000000000000000000}}",
	 "field 'a' is a number beyond the 64-bit integer range (at byte 12)"},
	{"an exponent", "{\"a\":1e20}", "field 'a' is a number beyond"},
	{"1e400", "{\"a\":1e400}", "field 'a' is a number beyond"},
	{"a fraction with an exponent", "{\"a\":0.0000185e25}", "field 'a' is a number beyond"},
	{"1.8e19 fits", "{\"a\":1.8e19,\"b\":-9.2e18,\"c\":1E+2,\"d\":0.5,\"e\":-0.0}", NULL},
	{"a huge exponent", "{\"a\":1e99999999999999999999999}", "field 'a' is a number beyond"},
	{"a tiny number", "{\"a\":1e-301}", "field 'a' is a number closer to zero than 1e-300"},
	{"a tiny number as digits", "{\"a\":[0.0000000000000000000000000000000000000001e-280]}",
	 "body has a number closer to zero than 1e-300 at byte 6"},
	{"1e-300 fits, and zero", "{\"a\":1e-300,\"b\":0e-1000,\"c\":0.000}", NULL},
	{"a key with an escape is not named", "{\"\\u0061\":100000000000000000000}",
	 "body has a number beyond the 64-bit integer range at byte 10"},
	{"after a member, in an array", "{\"a\":1,\"b\":[100000000000000000000]}",
	 "body has a number beyond the 64-bit integer range at byte 12"},
	{"long digits in strings", "{\"123456789012345678901234567890\":\"1e999\"}", NULL},
	/* PostgreSQL's numeric refuses these two (its jsonb answered 500) */
	{"zero with a huge exponent", "{\"a\":0e99999999999999999999}",
	 "field 'a' is a number written with more than 1000 characters or an exponent beyond 1000"},
	{"zero with a negative one", "{\"a\":[-0E-1001]}", "exponent beyond 1000"},
	{"an exponent of 1000", "{\"a\":0e1000}", NULL},
	{"1001 characters", "{\"a\":0.1111111111" TEN_TIMES(TEN_TIMES("1111111111")) "}",
	 "more than 1000 characters"},
	{"902 characters", "{\"a\":0." TEN_TIMES(TEN_TIMES("111111111")) "}", NULL},
};

static void test_numbers(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(number_cases); i++) {
		const char *body = number_cases[i].body, *want = number_cases[i].msg_has;
		json_object *obj = NULL;
		struct err e = {0};
		enum status st;

		if (jx_parse_object(body, strlen(body), &obj, &e) != ST_OK)
			fail_msg("case '%s' does not parse: %s", number_cases[i].name, e.msg);
		json_object_put(obj);
		st = jx_check_numbers(body, strlen(body), &e);
		if (want ? st != ST_INVALID || !strstr(e.msg, want) : st != ST_OK)
			fail_msg("case '%s': got %s '%s'", number_cases[i].name, status_name(st),
				 e.msg);
	}
}

/* The advice ends the refusal: the API's by default, the importer's where it gives its own. */
static void test_numbers_advice(void **state)
{
	static const char body[] = "{\"n\": 1e30}", top[] = "[1e30]";
	struct err e = {0};

	(void)state;
	assert_int_equal(jx_check_numbers(body, strlen(body), &e), ST_INVALID);
	assert_string_equal(e.msg, "field 'n' is a number beyond the 64-bit integer range (at byte "
				   "6): it would not come back as sent; in a free-form field "
				   "(payload, metadata) send it as a string");
	assert_int_equal(jx_check_numbers_for(body, strlen(body), "make it a string", &e),
			 ST_INVALID);
	assert_string_equal(e.msg, "field 'n' is a number beyond the 64-bit integer range (at byte "
				   "6): make it a string");
	assert_int_equal(jx_check_numbers_for(top, strlen(top), "make it a string", &e),
			 ST_INVALID);
	assert_string_equal(e.msg, "body has a number beyond the 64-bit integer range at byte 1: "
				   "make it a string");
}

/* Each body is parsed from a heap copy of exactly its bytes, as a request body arrives (no NUL
 * after it), so that a read past its end is caught by the address sanitizer. */
static void test_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
		size_t len = strlen(parse_cases[i].body);
		char *body = malloc(len ? len : 1);
		json_object *obj = NULL;
		struct err e = {0};
		enum status st;

		assert_non_null(body);
		memcpy(body, parse_cases[i].body, len);
		st = jx_parse_object(body, len, &obj, &e);
		free(body);

		if (st != parse_cases[i].want ||
		    (parse_cases[i].msg_has && !strstr(e.msg, parse_cases[i].msg_has)))
			fail_msg("case '%s': got %s '%s'", parse_cases[i].name, status_name(st),
				 e.msg);
		json_object_put(obj);
	}
}

/*
 * json-c decodes a \u pair of a code point in U+xD800..U+xDFFF of planes 1-16 as U+FFFD:
 * jx_parse hands it the character's UTF-8 instead, in keys and values; an escaped backslash
 * before "ud836" is no escape and stays as it is.
 */
static void test_parse_surrogate_pairs_json_c_misreads(void **state)
{
	static const struct {
		const char *body, *key, *want;
	} cases[] = {
		{"{\"a\":\"\\ud837\\ude00\"}", "a", "\xf0\x9d\xb8\x80"},
		{"{\"a\":\"x\\ud836\\udc00y\\ud83d\\ude00\"}", "a",
		 "x\xf0\x9d\xa0\x80y\xf0\x9f\x98\x80"},
		{"{\"\\udbb7\\udfff\":\"k\"}", "\xf3\xbd\xbf\xbf", "k"},
		{"{\"a\":\"\\\\ud836\\\\udc00\"}", "a", "\\ud836\\udc00"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_object *obj = NULL, *v = NULL;
		struct err e = {0};

		if (jx_parse_object(cases[i].body, strlen(cases[i].body), &obj, &e) != ST_OK)
			fail_msg("case %zu: %s", i, e.msg);
		assert_true(json_object_object_get_ex(obj, cases[i].key, &v));
		assert_string_equal(json_object_get_string(v), cases[i].want);
		json_object_put(obj);
	}
}

/* A parsed number is written back as PostgreSQL's jsonb writes it, whatever the backend. */
static void test_parse_numbers_as_postgres(void **state)
{
	static const char body[] =
		"{\"a\":[1e2,-0.0,1.50e1,5E-1,1.50,123.456e-10,-0,7],\"o\":{\"x\":2.5e+0}}";
	json_object *obj = NULL;
	struct err e = {0};

	(void)state;
	assert_int_equal(jx_parse_object(body, strlen(body), &obj, &e), ST_OK);
	assert_string_equal(
		json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN),
		"{\"a\":[100,0.0,15.0,0.5,1.50,0.0000000123456,0,7],\"o\":{\"x\":2.5}}");
	assert_true(json_object_get_double(json_object_array_get_idx(
			    json_object_object_get(obj, "a"), 0)) == 100.0);
	json_object_put(obj);
}

static void test_fields(void **state)
{
	const char *body = "{\"s\":\"x\",\"n\":5,\"b\":true,\"e\":\"\",\"z\":\".env\\u0000.txt\"}";
	json_object *obj = NULL;
	struct err e = {0};
	const char *s;
	int64_t n;
	bool present;

	(void)state;
	assert_int_equal(jx_parse_object(body, strlen(body), &obj, &e), ST_OK);
	assert_int_equal(jx_str(obj, "s", true, &s, &e), ST_OK);
	assert_string_equal(s, "x");
	assert_int_equal(jx_str(obj, "missing", false, &s, &e), ST_OK);
	assert_null(s);
	assert_int_equal(jx_str(obj, "missing", true, &s, &e), ST_INVALID);
	assert_int_equal(jx_str(obj, "n", false, &s, &e), ST_INVALID);
	assert_non_null(strstr(e.msg, "'n' must be a string"));
	assert_int_equal(jx_str(obj, "e", true, &s, &e), ST_INVALID);
	assert_int_equal(jx_str(obj, "z", false, &s, &e), ST_INVALID);
	assert_non_null(strstr(e.msg, "NUL"));
	assert_int_equal(jx_int(obj, "n", 0, 10, &n, &present, &e), ST_OK);
	assert_true(present && n == 5);
	assert_int_equal(jx_int(obj, "n", 6, 10, &n, &present, &e), ST_INVALID);
	assert_int_equal(jx_int(obj, "b", 0, 10, &n, &present, &e), ST_INVALID);
	json_object_put(obj);
}

/*
 * Numbers json-c clamps, and non-integers, are refused naming the field (beyond 64 bits a
 * request body is refused before: number_cases).
 */
static const struct {
	const char *body;
	int64_t min, max;
	enum status want;
	int64_t value;
} int_cases[] = {
	{"{\"n\":99999999999999999999999}", 0, INT64_MAX, ST_INVALID, 0},
	{"{\"n\":18446744073709551615}", 0, INT64_MAX, ST_INVALID, 0},
	{"{\"n\":9223372036854775808}", 0, INT64_MAX, ST_INVALID, 0},
	{"{\"n\":9223372036854775807}", 0, INT64_MAX, ST_OK, INT64_MAX},
	{"{\"n\":-99999999999999999999999}", INT64_MIN, INT64_MAX, ST_INVALID, 0},
	{"{\"n\":-9223372036854775807}", INT64_MIN, INT64_MAX, ST_OK, -INT64_MAX},
	{"{\"n\":-1}", 0, INT64_MAX, ST_INVALID, 0},
	{"{\"n\":2147483648}", 0, INT32_MAX, ST_INVALID, 0},
	{"{\"n\":2147483647}", 0, INT32_MAX, ST_OK, INT32_MAX},
	{"{\"n\":1e400}", 0, INT64_MAX, ST_INVALID, 0},
	{"{\"n\":1e30}", 0, INT64_MAX, ST_INVALID, 0},
	{"{\"n\":5.0}", 0, INT64_MAX, ST_INVALID, 0},
	{"{\"n\":0.5}", 0, INT64_MAX, ST_INVALID, 0},
	{"{\"n\":\"5\"}", 0, INT64_MAX, ST_INVALID, 0},
	{"{\"n\":0}", 0, INT64_MAX, ST_OK, 0},
};

static void test_int_range(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(int_cases); i++) {
		json_object *obj = NULL;
		struct err e = {0};
		int64_t n = -7;
		bool present;
		enum status st;

		assert_int_equal(
			jx_parse_object(int_cases[i].body, strlen(int_cases[i].body), &obj, &e),
			ST_OK);
		st = jx_int(obj, "n", int_cases[i].min, int_cases[i].max, &n, &present, &e);
		if (st != int_cases[i].want || (st == ST_OK && n != int_cases[i].value) ||
		    (st != ST_OK && !strstr(e.msg, "field 'n'")))
			fail_msg("case '%s': got %s '%s'", int_cases[i].body, status_name(st),
				 e.msg);
		json_object_put(obj);
	}
}

static void test_checks(void **state)
{
	static const char *const colours[] = {"red", "green", NULL};
	char longid[300];
	struct err e = {0};

	(void)state;
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_int_equal(jx_check_id("id", "payments/api", &e), ST_OK);
	assert_int_equal(jx_check_id("id", longid, &e), ST_INVALID);
	assert_int_equal(jx_check_id("id", "a\nb", &e), ST_INVALID);
	assert_int_equal(jx_check_id("id", "", &e), ST_INVALID);
	assert_int_equal(jx_check_enum("colour", "red", colours, &e), ST_OK);
	assert_int_equal(jx_check_enum("colour", "blue", colours, &e), ST_INVALID);
	assert_string_equal(e.msg, "field 'colour': 'blue' is not one of red, green");
}

static void test_get_str_or(void **state)
{
	json_object *o = json_tokener_parse("{\"s\":\"x\",\"n\":1,\"z\":null}");

	(void)state;
	assert_string_equal(jx_get_str_or(o, "s", "?"), "x");
	assert_string_equal(jx_get_str_or(o, "n", "?"), "?");
	assert_string_equal(jx_get_str_or(o, "z", "-"), "-");
	assert_string_equal(jx_get_str_or(o, "absent", "?"), "?");
	assert_null(jx_get_str_or(o, "absent", NULL));
	json_object_put(o);
}

/* What jx_add_time_text adds for stored. */
static const char *time_text(json_object *o, const char *stored)
{
	jx_add_time_text(o, "t", stored);
	return jx_get_str(o, "t");
}

/* Both time adders write the one canonical form; stored text that is not a time stays as it is. */
static void test_add_time(void **state)
{
	json_object *o = json_object_new_object();

	(void)state;
	jx_add_time(o, "us", 1767323045000001LL);
	assert_string_equal(jx_get_str(o, "us"), "2026-01-02T03:04:05.000001Z");
	assert_string_equal(time_text(o, "2026-01-02 03:04:05.1+00"),
			    "2026-01-02T03:04:05.100000Z");
	assert_string_equal(time_text(o, "2026-01-02T03:04:05Z"), "2026-01-02T03:04:05.000000Z");
	assert_string_equal(time_text(o, "2026-01-02T04:04:05.000001+01:00"),
			    "2026-01-02T03:04:05.000001Z");
	assert_string_equal(time_text(o, "not a time"), "not a time");
	assert_null(time_text(o, NULL));
	assert_true(json_object_object_get_ex(o, "t", NULL));
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_numbers_as_postgres),
		cmocka_unit_test(test_parse_surrogate_pairs_json_c_misreads),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_numbers_advice),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_int_range),
		cmocka_unit_test(test_checks),
		cmocka_unit_test(test_get_str_or),
		cmocka_unit_test(test_add_time),
	};

	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
