/*
 * Unit tests for the text form of PostgreSQL arrays (store_pg_array.c): the
 * exact literal for values that need quoting, a round trip through a reader of
 * that form, one column of row-major parameters, and the buffer's cap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "store/store_pg_batch.h"

/* One value and the element it must become. */
struct array_case {
	const char *value; /* NULL: SQL NULL */
	const char *element;
};

static const struct array_case cases[] = {
	{"plain", "\"plain\""},
	{"", "\"\""},
	{NULL, "NULL"},
	{"NULL", "\"NULL\""},
	{"null", "\"null\""},
	{"a,b", "\"a,b\""},
	{"{x}", "\"{x}\""},
	{"}", "\"}\""},
	{"say \"hi\"", "\"say \\\"hi\\\"\""},
	{"C:\\dir\\", "\"C:\\\\dir\\\\\""},
	{"\\\"", "\"\\\\\\\"\""},
	{" padded ", "\" padded \""},
	{"line\nbreak\ttab", "\"line\nbreak\ttab\""},
	{"caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80",
	 "\"caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80\""},
	{"{\"k\": [1, \"v\\\\\"]}", "\"{\\\"k\\\": [1, \\\"v\\\\\\\\\\\"]}\""},
	{"2026-12-02T16:00:00.123456Z", "\"2026-12-02T16:00:00.123456Z\""},
};

static void test_each_value_alone(void **state)
{
	UNUSED(state);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct buf b = BUF_INIT;
		const char *v[1] = {cases[i].value};
		char want[256];

		snprintf(want, sizeof(want), "{%s}", cases[i].element);
		assert_int_equal(store_pg_array(&b, v, 1, 1, NULL), ST_OK);
		assert_string_equal(b.data, want);
		buf_release(&b);
	}
}

static void test_empty_array(void **state)
{
	struct buf b = BUF_INIT;

	UNUSED(state);
	assert_int_equal(store_pg_array(&b, NULL, 0, 1, NULL), ST_OK);
	assert_string_equal(b.data, "{}");
	buf_release(&b);
}

/*
 * Reads one element of the text form at *s the way PostgreSQL's array_in does for the
 * forms the encoder writes (quoted with backslash escapes, or the bare word NULL); *out
 * gets it (NULL for NULL) and *s moves past it and its delimiter.
 */
static void read_element(const char **s, char **out)
{
	const char *p = *s;
	char *o;

	if (strncmp(p, "NULL", 4) == 0) {
		*out = NULL;
		*s = p + 4 + (p[4] == ',');
		return;
	}
	assert_int_equal(*p, '"');
	o = *out = calloc(strlen(p) + 1, 1);
	for (p++; *p != '"'; p++) {
		assert_int_not_equal(*p, '\0');
		if (*p == '\\')
			p++;
		*o++ = *p;
	}
	p++;
	*s = p + (*p == ',');
}

static void test_round_trip_of_all(void **state)
{
	const char *v[ARRAY_SIZE(cases)];
	struct buf b = BUF_INIT;
	const char *s;

	UNUSED(state);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		v[i] = cases[i].value;
	assert_int_equal(store_pg_array(&b, v, ARRAY_SIZE(v), 1, NULL), ST_OK);
	assert_int_equal(b.data[0], '{');
	s = b.data + 1;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *got;

		read_element(&s, &got);
		if (!cases[i].value)
			assert_null(got);
		else
			assert_string_equal(got, cases[i].value);
		free(got);
	}
	assert_string_equal(s, "}");
	buf_release(&b);
}

/* stride picks one column of row-major parameters, as a batch's rows are laid out. */
static void test_stride_takes_one_column(void **state)
{
	const char *rows[] = {"id1", "a", NULL, "id2", "b,c", "x", "id3", "", "\"q\""};
	struct buf b = BUF_INIT, c = BUF_INIT;

	UNUSED(state);
	assert_int_equal(store_pg_array(&b, rows, 3, 3, NULL), ST_OK);
	assert_string_equal(b.data, "{\"id1\",\"id2\",\"id3\"}");
	assert_int_equal(store_pg_array(&c, rows + 2, 3, 3, NULL), ST_OK);
	assert_string_equal(c.data, "{NULL,\"x\",\"\\\"q\\\"\"}");
	buf_release(&b);
	buf_release(&c);
}

static void test_over_cap_is_too_large(void **state)
{
	const char *v[2] = {"0123456789", "0123456789"};
	struct err e = {0};
	struct buf b;

	UNUSED(state);
	buf_init(&b, 16);
	assert_int_equal(store_pg_array(&b, v, 2, 1, &e), ST_TOO_LARGE);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_value_alone),
		cmocka_unit_test(test_empty_array),
		cmocka_unit_test(test_round_trip_of_all),
		cmocka_unit_test(test_stride_takes_one_column),
		cmocka_unit_test(test_over_cap_is_too_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
