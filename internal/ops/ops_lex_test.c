/* ops_lex_test.c - the shared JSON scanner: every token kind and every error it reports. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops_int.h"

enum what { STR, LAX, NUM, LIT, VAL, KEY, COLON, MORE_OBJ, MORE_ARR };

static const struct {
	const char *name;
	enum what what;
	const char *text;
	const char *why; /* NULL: accepted */
	size_t used; /* bytes read when accepted */
	enum ops_span_kind kind;
} cases[] = {
	{"string", STR, "\"ab\" x", NULL, 4, OPS_SPAN_STRING},
	{"empty string", STR, "\"\"", NULL, 2, OPS_SPAN_STRING},
	{"long ascii string", STR, "\"abcdefghijklmnopqrstuvwxyz\"", NULL, 28, OPS_SPAN_STRING},
	{"escapes", STR, "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"", NULL, 36,
	 OPS_SPAN_STRING},
	{"utf-8", STR, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 and more text\"", NULL, 25,
	 OPS_SPAN_STRING},
	{"unterminated", STR, "\"abc", "unterminated string", 0, 0},
	{"backslash at the end", STR, "\"a\\", "unterminated string", 0, 0},
	{"control character", STR, "\"a\tb\"", "control character in a string", 0, 0},
	{"bad escape", STR, "\"\\x41\"", "bad escape in a string", 0, 0},
	{"short \\u", STR, "\"\\u12\"", "bad \\u escape", 0, 0},
	{"\\u not hex", STR, "\"\\u12g4\"", "bad \\u escape", 0, 0},
	{"lone low surrogate", STR, "\"\\ude00\"", "lone low surrogate", 0, 0},
	{"lone high surrogate", STR, "\"\\ud83d\"", "lone high surrogate", 0, 0},
	{"high then not low", STR, "\"\\ud83d\\u0041\"", "lone high surrogate", 0, 0},
	{"invalid utf-8", STR, "\"\xff\"", "invalid UTF-8", 0, 0},
	{"overlong utf-8", STR, "\"\xc0\xaf\"", "invalid UTF-8", 0, 0},
	{"utf-8 surrogate", STR, "\"\xed\xa0\x80\"", "invalid UTF-8", 0, 0},
	{"cut utf-8", STR, "\"\xe2\x82\"", "invalid UTF-8", 0, 0},
	{"unchecked: bad escape passes", LAX, "\"\\x41\" ", NULL, 6, OPS_SPAN_STRING},
	{"unchecked: any bytes pass", LAX, "\"\xff\xc0\xaf\"", NULL, 5, OPS_SPAN_STRING},
	{"unchecked: escaped quote", LAX, "\"a\\\"b\"", NULL, 6, OPS_SPAN_STRING},
	{"unchecked: control character", LAX, "\"a\x01\"", "control character in a string", 0, 0},
	{"unchecked: backslash at the end", LAX, "\"a\\", "unterminated string", 0, 0},
	{"unchecked: unterminated", LAX, "\"a\\\"", "unterminated string", 0, 0},
	{"integer", NUM, "-120,", NULL, 4, OPS_SPAN_NUMBER},
	{"zero", NUM, "0", NULL, 1, OPS_SPAN_NUMBER},
	{"fraction and exponent", NUM, "1.5e+3]", NULL, 6, OPS_SPAN_NUMBER},
	{"leading zero stops", NUM, "01", NULL, 1, OPS_SPAN_NUMBER},
	{"minus alone", NUM, "-", "bad number", 0, 0},
	{"bare fraction", NUM, "1.", "bad number", 0, 0},
	{"bare exponent", NUM, "1e+", "bad number", 0, 0},
	{"plus sign", NUM, "+1", "bad number", 0, 0},
	{"true", LIT, "true,", NULL, 4, OPS_SPAN_BOOL},
	{"false", LIT, "false", NULL, 5, OPS_SPAN_BOOL},
	{"null", LIT, "null}", NULL, 4, OPS_SPAN_NULL},
	{"cut literal", LIT, "nul", "unexpected character", 0, 0},
	{"not a literal", LIT, "NaN", "unexpected character", 0, 0},
	{"value: object", VAL, "{ \"a\" : [1, {}], \"b\":null } x", NULL, 27, OPS_SPAN_OBJECT},
	{"value: array", VAL, "[ ]", NULL, 3, OPS_SPAN_ARRAY},
	{"value: string", VAL, "\"s\"", NULL, 3, OPS_SPAN_STRING},
	{"value: number", VAL, "-1", NULL, 2, OPS_SPAN_NUMBER},
	{"value: literal", VAL, "false", NULL, 5, OPS_SPAN_BOOL},
	{"value: nothing", VAL, "", "expected a value", 0, 0},
	{"value: bad character", VAL, "x", "unexpected character", 0, 0},
	{"value: trailing comma", VAL, "[1,]", "unexpected character", 0, 0},
	{"value: unclosed array", VAL, "[1", "expected ',' or ']'", 0, 0},
	{"value: unclosed object", VAL, "{\"a\":1", "expected ',' or '}'", 0, 0},
	{"value: name not a string", VAL, "{a:1}", "expected a member name", 0, 0},
	{"value: missing colon", VAL, "{\"a\" 1}", "expected ':'", 0, 0},
	{"value: first error kept", VAL, "{\"a\":\"\\x\"}", "bad escape in a string", 0, 0},
	{"key", KEY, " \"id\":", NULL, 5, OPS_SPAN_STRING},
	{"key not a string", KEY, " 1", "expected a member name", 0, 0},
	{"key at the end", KEY, " ", "expected a member name", 0, 0},
	{"key badly written", KEY, "\"\\q\"", "bad escape in a string", 0, 0},
	{"colon", COLON, " : 1", NULL, 3, 0},
	{"no colon", COLON, " ,", "expected ':'", 0, 0},
	{"colon at the end", COLON, "", "expected ':'", 0, 0},
	{"comma in an object", MORE_OBJ, " , ", NULL, 2, 0},
	{"end of an object", MORE_OBJ, "}", NULL, 1, 0},
	{"object not closed", MORE_OBJ, " ]", "expected ',' or '}'", 0, 0},
	{"end of an array", MORE_ARR, " ]", NULL, 2, 0},
	{"array not closed", MORE_ARR, "", "expected ',' or ']'", 0, 0},
};

static bool scan(struct ops_lex *l, enum what what, struct ops_span *s)
{
	bool more;

	switch (what) {
	case STR:
	case LAX:
		return ops_lex_string(l, what == STR, s);
	case NUM:
		return ops_lex_number(l, s);
	case LIT:
		return ops_lex_literal(l, s);
	case VAL:
		return ops_lex_value(l, s, 1);
	case KEY:
		return ops_lex_key(l, s);
	case COLON:
		return ops_lex_colon(l);
	default:
		return ops_lex_more(l, what == MORE_OBJ ? '}' : ']', &more);
	}
}

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *t = cases[i].text;
		struct ops_lex l = {.p = t, .end = t + strlen(t)};
		struct ops_span s = {0};
		bool ok = scan(&l, cases[i].what, &s);

		if (ok != !cases[i].why || (!ok && strcmp(l.why, cases[i].why) != 0))
			fail_msg("case '%s': got %d (%s)", cases[i].name, ok, l.why ? l.why : "-");
		if (ok && (size_t)(l.p - t) != cases[i].used)
			fail_msg("case '%s': read %zu bytes", cases[i].name, (size_t)(l.p - t));
		if (ok && cases[i].what <= VAL && s.kind != cases[i].kind)
			fail_msg("case '%s': kind %d", cases[i].name, (int)s.kind);
	}
}

/* What the spans say: a string's inside and escapes, a number's integer flag, a value's text. */
static void test_spans(void **state)
{
	const char *t = "{\"k\\n\":[1.0,\"x\"]}";
	struct ops_lex l = {.p = t, .end = t + strlen(t)};
	struct ops_span s;

	(void)state;
	assert_true(ops_lex_value(&l, &s, 1));
	assert_int_equal(s.n, strlen(t));
	assert_ptr_equal(s.p, t);
	l.p = t + 1;
	assert_true(ops_lex_key(&l, &s));
	assert_true(s.escaped);
	assert_int_equal(s.n, 3);
	assert_memory_equal(s.p, "k\\n", 3);
	l.p = t + 8;
	assert_true(ops_lex_number(&l, &s));
	assert_false(s.integer);
	l.p = t + 8;
	l.end = t + 9;
	assert_true(ops_lex_number(&l, &s));
	assert_true(s.integer);
	t = "\"plain\"";
	l = (struct ops_lex){.p = t, .end = t + 7};
	assert_true(ops_lex_string(&l, true, &s));
	assert_false(s.escaped);
	assert_int_equal(s.n, 5);
}

static void test_more_tells_which(void **state)
{
	const char *t = ",]";
	struct ops_lex l = {.p = t, .end = t + 2};
	bool more = false;

	(void)state;
	assert_true(ops_lex_more(&l, ']', &more));
	assert_true(more);
	assert_true(ops_lex_more(&l, ']', &more));
	assert_false(more);
}

/* Depth counts from the argument: OPS_LEX_DEPTH levels pass, one more does not. */
static void test_depth(void **state)
{
	char deep[2 * OPS_LEX_DEPTH + 3];
	struct ops_span s;

	(void)state;
	for (size_t n = OPS_LEX_DEPTH; n <= OPS_LEX_DEPTH + 1; n++) {
		struct ops_lex l = {.p = deep, .end = deep + 2 * n};

		memset(deep, '[', n);
		memset(deep + n, ']', n);
		assert_int_equal(ops_lex_value(&l, &s, 1), n == OPS_LEX_DEPTH);
		if (n > OPS_LEX_DEPTH)
			assert_string_equal(l.why, "nested too deep");
	}
}

static void test_whitespace_and_fail(void **state)
{
	const char *t = " \t\r\n x ";
	struct ops_lex l = {.p = t, .end = t + strlen(t)};

	(void)state;
	assert_ptr_equal(ops_json_ws(t, t + strlen(t)), t + 5);
	assert_ptr_equal(ops_json_ws(t, t + 3), t + 3);
	ops_lex_ws(&l);
	assert_ptr_equal(l.p, t + 5);
	assert_false(ops_lex_fail(&l, "first"));
	assert_false(ops_lex_fail(&l, "second"));
	assert_string_equal(l.why, "first");
}

/* The run of bytes a canonical string copies as they are: it stops at '"', '\\' and controls. */
static void test_plain_run(void **state)
{
	static const struct {
		const char *s;
		size_t want;
	} runs[] = {
		{"", 0},
		{"abc", 3},
		{"abcdefghijklmnop\"", 16},
		{"abcdefgh\\ijk", 8},
		{"abcdefghij\x1f", 10},
		{"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f", 10},
		{"a\"bcdefghijklmnop", 1},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
		assert_int_equal(ops_plain_run(runs[i].s, strlen(runs[i].s)), runs[i].want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_spans),
		cmocka_unit_test(test_more_tells_which),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_whitespace_and_fail),
		cmocka_unit_test(test_plain_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
