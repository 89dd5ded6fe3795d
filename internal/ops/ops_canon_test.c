/* Unit tests for the canonical JSON form and the row <-> dump line conversion. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "ops/ops_int.h"
#include "base/str.h"

static const struct {
	const char *name, *in, *want; /* want NULL: not JSON */
} cases[] = {
	{"keys sorted", "{\"b\":1,\"a\":2}", "{\"a\":2,\"b\":1}"},
	{"nested", "{\"z\":{\"y\":[3,{\"b\":true,\"a\":null}]},\"a\":\"x\"}",
	 "{\"a\":\"x\",\"z\":{\"y\":[3,{\"a\":null,\"b\":true}]}}"},
	{"whitespace dropped", "{ \"a\" : [ 1 , 2 ] ,\n\t\"b\" : { } }", "{\"a\":[1,2],\"b\":{}}"},
	{"escapes", "{\"s\":\"q\\\"b\\\\s\\/n\\nt\\tc\\u0001\"}",
	 "{\"s\":\"q\\\"b\\\\s/n\\nt\\tc\\u0001\"}"},
	{"unicode escapes become UTF-8", "{\"s\":\"\\u00e9\\u20ac\"}",
	 "{\"s\":\"\xc3\xa9\xe2\x82\xac\"}"},
	/* PostgreSQL's JSONB prints shorter keys first; SQLite keeps the writer's order */
	{"jsonb order", "{\"id\": \"d1\", \"actor\": \"x\", \"decision\": \"block\"}",
	 "{\"actor\":\"x\",\"decision\":\"block\",\"id\":\"d1\"}"},
	{"sqlite order", "{\"decision\":\"block\",\"id\":\"d1\",\"actor\":\"x\"}",
	 "{\"actor\":\"x\",\"decision\":\"block\",\"id\":\"d1\"}"},
	{"byte order of keys", "{\"a\":1,\"_\":2,\"B\":3}", "{\"B\":3,\"_\":2,\"a\":1}"},
	{"numbers", "{\"n\":-5,\"big\":12345678901234,\"z\":0}",
	 "{\"big\":12345678901234,\"n\":-5,\"z\":0}"},
	{"doubles as parsed", "{\"d\":1.5}", "{\"d\":1.5}"},
	{"array at top", "[{\"b\":1,\"a\":1}]", "[{\"a\":1,\"b\":1}]"},
	{"duplicate keys: the later wins", "{\"a\":1,\"b\":2,\"a\":3}", "{\"a\":3,\"b\":2}"},
	{"escaped keys sort by their bytes", "{\"\\u0062\":1,\"a\":2}", "{\"a\":2,\"b\":1}"},
	{"surrogate pair", "[\"\\ud83d\\ude00\"]", "[\"\xf0\x9f\x98\x80\"]"},
	{"deep nesting", "{\"a\":{\"c\":{\"e\":[{\"g\":1,\"f\":2}],\"d\":0},\"b\":[]}}",
	 "{\"a\":{\"b\":[],\"c\":{\"d\":0,\"e\":[{\"f\":2,\"g\":1}]}}}"},
	{"empty containers", " { } ", "{}"},
	{"literals", "[true,false,null]", "[true,false,null]"},
	{"not JSON", "{\"a\":", NULL},
	{"trailing garbage", "{} x", NULL},
	{"lone surrogate", "[\"\\ud83d\"]", NULL},
	{"control character", "[\"a\x01b\"]", NULL},
	{"number then junk", "[1.2.3]", NULL},
	{"number with two signs", "[1e+-2]", NULL},
	{"leading zero", "[01]", NULL},
	{"bare minus", "[-]", NULL},
	/* numbers as PostgreSQL's jsonb gives them back (each pair checked against PostgreSQL 15)
	 */
	{"exponent written out", "[-0.5E+3]", "[-500]"},
	{"numbers as jsonb prints them",
	 "[1e2,1E+2,-0,-0.0,0.0e5,1.50,1.50e1,12e-1,0.1e1,5e-1,1.2345e2,100,-1e-3,0.000,"
	 "123.456e-10,1e0,1.0e0,-5,9.99e-5,0e-3,10e-1]",
	 "[100,100,0,0.0,0,1.50,15.0,1.2,1,0.5,123.45,100,-0.001,0.000,0.0000000123456,1,1.0,-5,"
	 "0.0000999,0.000,1.0]"},
	{"exponent beyond 1000 kept", "[1e1001,2E-1001]", "[1e1001,2E-1001]"},
};

/* The text path (backups) and the json-c path (restores) give the same bytes. */
static void test_canon_table(void **state)
{
	struct json_tokener *tok = jx_canon_tokener();

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *got = ops_canon_text(cases[i].in, strlen(cases[i].in));
		struct buf b;
		bool ok;

		if (!str_eq(got, cases[i].want))
			fail_msg("case '%s': got %s, want %s", cases[i].name, got ? got : "NULL",
				 cases[i].want ? cases[i].want : "NULL");
		buf_init(&b, 1 << 20);
		ok = jx_canon_parse_append(&b, cases[i].in, strlen(cases[i].in), tok, NULL) ==
		     ST_OK;
		if (cases[i].want && (!ok || strcmp(b.data, cases[i].want) != 0))
			fail_msg("case '%s': json-c path gave %s", cases[i].name, b.data);
		buf_release(&b);
		free(got);
	}
	json_tokener_free(tok);
}

/* The same record as each backend returns it dumps to the same bytes. */
static void test_row_encode_backends_agree(void **state)
{
	const struct ops_table *t = ops_table_find("evidence_metadata");
	const char *sqlite[] = {"s1",
				NULL,
				"3",
				"1",
				"0",
				"2026-01-02T03:04:05.100000Z",
				"2026-01-02T03:04:05.000000Z",
				"{\"z\":1,\"a\":[\"x\"]}"};
	const char *pg[] = {"s1",
			    NULL,
			    "3",
			    "1",
			    "0",
			    "2026-01-02 03:04:05.1+00",
			    "2026-01-02 03:04:05+00",
			    "{\"a\": [\"x\"], \"z\": 1}"};
	struct ops_encoder enc;
	struct buf a, b;

	(void)state;
	assert_non_null(t);
	ops_encoder_init(&enc, t);
	buf_init(&a, 1 << 20);
	buf_init(&b, 1 << 20);
	assert_int_equal(ops_row_encode(&enc, sqlite, NULL, &a, NULL), ST_OK);
	assert_int_equal(ops_row_encode(&enc, pg, NULL, &b, NULL), ST_OK);
	assert_string_equal(a.data, b.data);
	assert_string_equal(
		a.data,
		"{\"approval_count\":0,\"blocked_count\":1,\"created_at\":\"2026-01-02T03:04:"
		"05.100000Z\",\"decision_count\":3,\"payload\":{\"a\":[\"x\"],\"z\":1},"
		"\"session_id\":\"s1\",\"signer\":null,\"updated_at\":\"2026-01-02T03:04:05."
		"000000Z\"}\n");
	buf_release(&a);
	buf_release(&b);
	ops_encoder_release(&enc);
}

/*
 * Encodes row into line; checks the spans against ops_line_split's; returns bad_col, or
 * 100 + dup_col when only a key twice was found.
 */
static size_t encode_split(const struct ops_table *t, const char *const *row, struct buf *line)
{
	struct ops_encoder enc;
	struct ops_line_keys keys;
	struct ops_span got[OPS_MAX_COLS], want[OPS_LINE_KEYS_MAX];
	const char *names[OPS_MAX_COLS], *why = NULL;
	struct buf plain;
	size_t bad = 0, dup = 0, n = ops_table_ncols(t);

	for (size_t i = 0; i < n; i++)
		names[i] = t->cols[i].name;
	ops_encoder_init(&enc, t);
	ops_line_keys_init(&keys, names, n);
	buf_init(&plain, 1 << 20);
	buf_reset(line);
	assert_int_equal(ops_row_encode(&enc, row, NULL, &plain, NULL), ST_OK);
	assert_int_equal(ops_row_encode_spans(&enc, row, NULL, line, got, &bad, &dup, NULL), ST_OK);
	assert_int_equal(line->len, plain.len);
	assert_memory_equal(line->data, plain.data, plain.len);
	if (bad == SIZE_MAX) {
		assert_true(ops_line_split(line->data, line->len - 1, &keys, want, &why));
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(got[i].kind, want[i].kind);
			assert_int_equal(got[i].n, want[i].n);
			assert_ptr_equal(got[i].p, want[i].p);
			if (got[i].kind == OPS_SPAN_STRING)
				assert_int_equal(got[i].escaped, want[i].escaped);
		}
	}
	buf_release(&plain);
	ops_encoder_release(&enc);
	return bad == SIZE_MAX && dup != SIZE_MAX ? 100 + dup : bad;
}

/* A backup's spans are those verify's split finds; text that is not UTF-8 is named. */
static void test_row_encode_spans(void **state)
{
	const struct ops_table *t = ops_table_find("evidence_metadata");
	const char *row[] = {"s\"1\\",
			     NULL,
			     "-3",
			     "1",
			     "0",
			     "2026-01-02T03:04:05.100000Z",
			     "2026-01-02T03:04:05.000000Z",
			     "{\"z\": 1, \"a\": [\"x\\u00e9\", null, true, 1.5e3]}"};
	const char *bad_text[] = {
		"s1\xc0\xaf",		NULL, "3", "1", "0", "2026-01-02T03:04:05Z",
		"2026-01-02T03:04:05Z", "{}"};
	const char *bad_json[] = {"plain ascii key, long enough for a word",
				  "caf\xc3\xa9",
				  "3",
				  "1",
				  "0",
				  "2026-01-02T03:04:05Z",
				  "2026-01-02T03:04:05Z",
				  "{\"a\":\"\xed\xa0\x80\"}"};
	const char *twice[] = {"s1",
			       NULL,
			       "3",
			       "1",
			       "0",
			       "2026-01-02T03:04:05Z",
			       "2026-01-02T03:04:05Z",
			       "{\"n\":{\"a\":1,\"b\":2,\"a\":3}}"};
	struct buf line;

	(void)state;
	assert_non_null(t);
	buf_init(&line, 1 << 20);
	assert_int_equal(encode_split(t, row, &line), SIZE_MAX);
	assert_int_equal(encode_split(t, bad_text, &line), 0);
	assert_int_equal(encode_split(t, bad_json, &line), 7);
	/* a key twice, deep in the payload: named, the line keeps the later value */
	assert_int_equal(encode_split(t, twice, &line), 107);
	assert_non_null(strstr(line.data, "\"payload\":{\"n\":{\"a\":3,\"b\":2}}"));

	buf_release(&line);
}

/* A time already in the canonical form is copied; any other spelling is formatted anew. */
static void test_row_encode_times(void **state)
{
	static const struct {
		const char *in, *want;
	} times[] = {
		{"2026-01-02T03:04:05.100000Z", "2026-01-02T03:04:05.100000Z"},
		{"2026-12-31T23:59:60.000000Z", "2027-01-01T00:00:00.000000Z"},
		{"2026-01-02t03:04:05.100000z", "2026-01-02T03:04:05.100000Z"},
		{"2026-01-02 03:04:05.1000009Z", "2026-01-02T03:04:05.100000Z"},
		{"2026-01-02T03:04:05.1+00:00", "2026-01-02T03:04:05.100000Z"},
		{"0000-01-01T00:00:00.000000Z", "0000-01-01T00:00:00.000000Z"},
	};
	const struct ops_table *t = ops_table_find("evidence_metadata");
	struct ops_encoder enc;
	struct buf line;

	(void)state;
	ops_encoder_init(&enc, t);
	buf_init(&line, 1 << 20);
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		const char *row[] = {"s", NULL, "1", "1", "1", times[i].in, times[i].in, "{}"};
		char want[64];

		buf_reset(&line);
		assert_int_equal(ops_row_encode(&enc, row, NULL, &line, NULL), ST_OK);
		snprintf(want, sizeof(want), "\"created_at\":\"%s\"", times[i].want);
		if (!strstr(line.data, want))
			fail_msg("%s: %s", times[i].in, line.data);
	}
	buf_release(&line);
	ops_encoder_release(&enc);
}

/* Every catalogue table has its key among its columns and fits the column cap. */
/* The word-at-a-time scan stops exactly where a byte-at-a-time one does. */
static void test_plain_run(void **state)
{
	const unsigned char probes[] = {'"',  '\\', 0x00, 0x01, 0x1f, 0x20, 0x21, 0x5b,
					0x5d, 0x7f, 0x80, 0x9f, 0xa2, 0xdc, 0xff};
	char s[40];

	(void)state;
	for (size_t len = 0; len <= 24; len++)
		for (size_t at = 0; at < len; at++)
			for (size_t k = 0; k < sizeof(probes); k++) {
				size_t want = 0;

				memset(s, 'a', sizeof(s));
				s[at] = (char)probes[k];
				while (want < len && s[want] != '"' && s[want] != '\\' &&
				       (unsigned char)s[want] >= 0x20)
					want++;
				if (jx_plain_run(s, len, false) != want)
					fail_msg("len %zu, byte 0x%02x at %zu: %zu, want %zu", len,
						 probes[k], at, jx_plain_run(s, len, false), want);
			}
}

static void test_catalog_shape(void **state)
{
	(void)state;
	for (size_t i = 0; i < ops_catalog_n; i++) {
		const struct ops_table *t = &ops_catalog[i];
		bool key = false, time = false;

		for (size_t k = 0; k < ops_table_ncols(t); k++) {
			key = key || strcmp(t->cols[k].name, t->key) == 0;
			time = time || (strcmp(t->cols[k].name, t->time_col) == 0 &&
					t->cols[k].kind == OPS_TIME);
		}
		if (!key || !time)
			fail_msg("table '%s': key or time column missing", t->table);
		assert_true(ops_table_find(t->table) == t);
	}
	assert_true(ops_table_skipped("schema_migrations"));
	assert_false(ops_table_skipped("activity_decisions"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canon_table),
		cmocka_unit_test(test_row_encode_backends_agree),
		cmocka_unit_test(test_catalog_shape),
		cmocka_unit_test(test_plain_run),
		cmocka_unit_test(test_row_encode_spans),
		cmocka_unit_test(test_row_encode_times),
	};

	return cmocka_run_group_tests_name("ops/canon", tests, NULL, NULL);
}
