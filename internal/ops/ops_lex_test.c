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
	size_t used; /* bytes read */
	enum ops_span_kind kind; /* of the span, where the scan gives one */
} accepts[] = {
	{"string", STR, "\"ab\" x", 4, OPS_SPAN_STRING},
	{"empty string", STR, "\"\"", 2, OPS_SPAN_STRING},
	{"long ascii string", STR, "\"abcdefghijklmnopqrstuvwxyz\"", 28, OPS_SPAN_STRING},
	{"escapes", STR, "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"", 36,
	 OPS_SPAN_STRING},
	{"utf-8", STR, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 and more text\"", 25,
	 OPS_SPAN_STRING},
	{"unchecked: bad escape passes", LAX, "\"\\x41\" ", 6, OPS_SPAN_STRING},
	{"unchecked: any bytes pass", LAX, "\"\xff\xc0\xaf\"", 5, OPS_SPAN_STRING},
	{"unchecked: escaped quote", LAX, "\"a\\\"b\"", 6, OPS_SPAN_STRING},
	{"integer", NUM, "-120,", 4, OPS_SPAN_NUMBER},
	{"zero", NUM, "0", 1, OPS_SPAN_NUMBER},
	{"fraction and exponent", NUM, "1.5e+3]", 6, OPS_SPAN_NUMBER},
	{"leading zero stops", NUM, "01", 1, OPS_SPAN_NUMBER},
	{"true", LIT, "true,", 4, OPS_SPAN_BOOL},
	{"false", LIT, "false", 5, OPS_SPAN_BOOL},
	{"null", LIT, "null}", 4, OPS_SPAN_NULL},
	{"value: object", VAL, "{ \"a\" : [1, {}], \"b\":null } x", 27, OPS_SPAN_OBJECT},
	{"value: array", VAL, "[ ]", 3, OPS_SPAN_ARRAY},
	{"value: string", VAL, "\"s\"", 3, OPS_SPAN_STRING},
	{"value: number", VAL, "-1", 2, OPS_SPAN_NUMBER},
	{"value: literal", VAL, "false", 5, OPS_SPAN_BOOL},
	{"key", KEY, " \"id\":", 5, OPS_SPAN_STRING},
	{"colon", COLON, " : 1", 3, OPS_SPAN_NULL},
	{"comma in an object", MORE_OBJ, " , ", 2, OPS_SPAN_NULL},
	{"end of an object", MORE_OBJ, "}", 1, OPS_SPAN_NULL},
	{"end of an array", MORE_ARR, " ]", 2, OPS_SPAN_NULL},
};

static const struct {
	const char *name;
	enum what what;
	const char *text, *why;
} refuses[] = {
	{"unterminated", STR, "\"abc", "unterminated string"},
	{"backslash at the end", STR, "\"a\\", "unterminated string"},
	{"control character", STR, "\"a\tb\"", "control character in a string"},
	{"bad escape", STR, "\"\\x41\"", "bad escape in a string"},
	{"short \\u", STR, "\"\\u12\"", "bad \\u escape"},
	{"\\u not hex", STR, "\"\\u12g4\"", "bad \\u escape"},
	{"lone low surrogate", STR, "\"\\ude00\"", "lone low surrogate"},
	{"lone high surrogate", STR, "\"\\ud83d\"", "lone high surrogate"},
	{"high then not low", STR, "\"\\ud83d\\u0041\"", "lone high surrogate"},
	{"invalid utf-8", STR, "\"\xff\"", "invalid UTF-8"},
	{"overlong utf-8", STR, "\"\xc0\xaf\"", "invalid UTF-8"},
	{"utf-8 surrogate", STR, "\"\xed\xa0\x80\"", "invalid UTF-8"},
	{"cut utf-8", STR, "\"\xe2\x82\"", "invalid UTF-8"},
	{"unchecked: control character", LAX, "\"a\x01\"", "control character in a string"},
	{"unchecked: backslash at the end", LAX, "\"a\\", "unterminated string"},
	{"unchecked: unterminated", LAX, "\"a\\\"", "unterminated string"},
	{"minus alone", NUM, "-", "bad number"},
	{"bare fraction", NUM, "1.", "bad number"},
	{"bare exponent", NUM, "1e+", "bad number"},
	{"plus sign", NUM, "+1", "bad number"},
	{"cut literal", LIT, "nul", "unexpected character"},
	{"not a literal", LIT, "NaN", "unexpected character"},
	{"value: nothing", VAL, "", "expected a value"},
	{"value: bad character", VAL, "x", "unexpected character"},
	{"value: trailing comma", VAL, "[1,]", "unexpected character"},
	{"value: unclosed array", VAL, "[1", "expected ',' or ']'"},
	{"value: unclosed object", VAL, "{\"a\":1", "expected ',' or '}'"},
	{"value: name not a string", VAL, "{a:1}", "expected a member name"},
	{"value: missing colon", VAL, "{\"a\" 1}", "expected ':'"},
	{"value: first error kept", VAL, "{\"a\":\"\\x\"}", "bad escape in a string"},
	{"key not a string", KEY, " 1", "expected a member name"},
	{"key at the end", KEY, " ", "expected a member name"},
	{"key badly written", KEY, "\"\\q\"", "bad escape in a string"},
	{"no colon", COLON, " ,", "expected ':'"},
	{"colon at the end", COLON, "", "expected ':'"},
	{"object not closed", MORE_OBJ, " ]", "expected ',' or '}'"},
	{"array not closed", MORE_ARR, "", "expected ',' or ']'"},
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

/* Scans text from its start as what; l and s get where it stopped and what it read. */
static bool scan_text(const char *t, enum what what, struct ops_lex *l, struct ops_span *s)
{
	*l = (struct ops_lex){.p = t, .end = t + strlen(t)};
	*s = (struct ops_span){0};
	return scan(l, what, s);
}

static void test_accepts(void **state)
{
	struct ops_lex l;
	struct ops_span s;

	(void)state;
	for (size_t i = 0; i < sizeof(accepts) / sizeof(accepts[0]); i++) {
		if (!scan_text(accepts[i].text, accepts[i].what, &l, &s))
			fail_msg("case '%s': refused (%s)", accepts[i].name, l.why);
		if ((size_t)(l.p - accepts[i].text) != accepts[i].used)
			fail_msg("case '%s': read %zu bytes", accepts[i].name,
				 (size_t)(l.p - accepts[i].text));
		if (accepts[i].what <= VAL && s.kind != accepts[i].kind)
			fail_msg("case '%s': kind %d", accepts[i].name, (int)s.kind);
	}
}

static void test_refuses(void **state)
{
	struct ops_lex l;
	struct ops_span s;

	(void)state;
	for (size_t i = 0; i < sizeof(refuses) / sizeof(refuses[0]); i++)
		if (scan_text(refuses[i].text, refuses[i].what, &l, &s) || !l.why ||
		    strcmp(l.why, refuses[i].why) != 0)
			fail_msg("case '%s': got '%s'", refuses[i].name, l.why ? l.why : "-");
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
		assert_int_equal(jx_plain_run(runs[i].s, strlen(runs[i].s), false), runs[i].want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),	  cmocka_unit_test(test_refuses),
		cmocka_unit_test(test_spans),	  cmocka_unit_test(test_more_tells_which),
		cmocka_unit_test(test_depth),	  cmocka_unit_test(test_whitespace_and_fail),
		cmocka_unit_test(test_plain_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
