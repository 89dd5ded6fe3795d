/* Unit tests for paging: limit, offset, cursors and the envelope. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "service/paging.h"

/* Query arguments as NULL-terminated name/value pairs. */
static const char *arg_of(void *ctx, const char *name)
{
	const char *const *kv = ctx;

	for (size_t i = 0; kv[i]; i += 2)
		if (strcmp(kv[i], name) == 0)
			return kv[i + 1];
	return NULL;
}

static const struct {
	const char *limit, *offset;
	enum status want;
	int limit_out;
	const char *msg_has;
} page_cases[] = {
	{NULL, NULL, ST_OK, 50, NULL},		 {"1", "0", ST_OK, 1, NULL},
	{"500", "10", ST_OK, 500, NULL},	 {"0", NULL, ST_INVALID, 0, "'limit'"},
	{"501", NULL, ST_INVALID, 0, "'limit'"}, {"100000", NULL, ST_INVALID, 0, "'limit'"},
	{"abc", NULL, ST_INVALID, 0, "'limit'"}, {"-1", NULL, ST_INVALID, 0, "'limit'"},
	{NULL, "-1", ST_INVALID, 0, "'offset'"}, {NULL, "1e3", ST_INVALID, 0, "'offset'"},
};

static void test_limits(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(page_cases); i++) {
		const char *kv[] = {"limit", page_cases[i].limit, NULL, NULL, NULL};
		struct paging p;
		struct err e = {0};
		enum status st;

		if (!page_cases[i].limit) {
			kv[0] = "offset";
			kv[1] = page_cases[i].offset;
		} else {
			kv[2] = "offset";
			kv[3] = page_cases[i].offset;
		}
		if (!kv[1])
			kv[0] = NULL;
		st = service_paging_parse(arg_of, kv, "k", &p, &e);
		if (st != page_cases[i].want ||
		    (st == ST_OK && p.limit != page_cases[i].limit_out) ||
		    (page_cases[i].msg_has && !strstr(e.msg, page_cases[i].msg_has)))
			fail_msg("case %zu: got %s '%s'", i, status_name(st), e.msg);
		service_paging_release(&p);
	}
}

static void test_count_mode(void **state)
{
	const char *none[] = {"count", "none", NULL}, *exact[] = {"count", "exact", NULL};
	const char *bad[] = {"count", "approx", NULL}, *dflt[] = {NULL};
	const char *bounded[] = {"count", "bounded", NULL};
	struct paging p;
	struct err e = {0};

	(void)state;
	assert_int_equal(service_paging_parse(arg_of, (void *)dflt, "k", &p, &e), ST_OK);
	assert_true(p.count);
	assert_int_equal(p.count_bound, PAGING_TOTAL_BOUND);
	assert_int_equal(service_paging_parse(arg_of, (void *)bounded, "k", &p, &e), ST_OK);
	assert_true(p.count);
	assert_int_equal(p.count_bound, PAGING_TOTAL_BOUND);
	assert_int_equal(service_paging_parse(arg_of, (void *)exact, "k", &p, &e), ST_OK);
	assert_true(p.count);
	assert_int_equal(p.count_bound, 0);
	assert_int_equal(service_paging_parse(arg_of, (void *)none, "k", &p, &e), ST_OK);
	assert_false(p.count);
	assert_int_equal(service_paging_parse(arg_of, (void *)bad, "k", &p, &e), ST_INVALID);
	assert_string_equal(e.msg, "parameter 'count': 'approx' is not one of bounded (the "
				   "default), exact, none");
}

/* base64url of raw, unpadded, as a client could build one by hand. */
static char *b64url(const char *raw)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t n = strlen(raw), j = 0;
	char *out = calloc(4 * n / 3 + 4, 1);
	const unsigned char *u = (const unsigned char *)raw;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)u[i] << 16 | (i + 1 < n ? (unsigned)u[i + 1] << 8 : 0) |
			     (i + 2 < n ? u[i + 2] : 0);

		out[j++] = abc[v >> 18 & 63];
		out[j++] = abc[v >> 12 & 63];
		if (i + 1 < n)
			out[j++] = abc[v >> 6 & 63];
		if (i + 2 < n)
			out[j++] = abc[v & 63];
	}
	return out;
}

static void test_cursor_roundtrip(void **state)
{
	char *c = service_paging_cursor("created_at", "2026-01-02T03:04:05.000001Z",
					"dec_0123|45/6789ab");
	char *hand = b64url("2|created_at|2026-01-02T03:04:05.000001Z|dec_0123|45/6789ab");
	const char *kv[] = {"cursor", c, NULL};
	struct paging p;
	struct err e = {0};

	(void)state;
	assert_null(strpbrk(c, "+/="));
	assert_string_equal(c, hand);
	assert_int_equal(service_paging_parse(arg_of, kv, "created_at", &p, &e), ST_OK);
	assert_string_equal(p.after_ts, "2026-01-02T03:04:05.000001Z");
	assert_string_equal(p.after_id, "dec_0123|45/6789ab");
	service_paging_release(&p);
	free(hand);
	free(c);
}

/*
 * A cursor of the first format ("<time>|<id>", no version) or of another sort key is a place
 * in another order: refused with the advice to start again, never read as a position.
 */
static void test_stale_cursors(void **state)
{
	static const char *const raw[] = {
		"2026-01-02T03:04:05.000001Z|agent-1", /* version 1, no tag */
		"2026-01-02T03:04:05Z|a|b", /* version 1, an id with '|' */
		"2|updated_at|2026-01-02T03:04:05.000001Z|agent-1",
		"2|decided_at,asc|2026-01-02T03:04:05.000001Z|dec-1",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(raw); i++) {
		char *c = b64url(raw[i]);
		const char *kv[] = {"cursor", c, NULL};
		struct paging p;
		struct err e = {0};

		if (service_paging_parse(arg_of, kv, "created_at", &p, &e) != ST_INVALID ||
		    !strstr(e.msg, "start again from the first page") || p.after_ts)
			fail_msg("case %zu: '%s'", i, e.msg);
		service_paging_release(&p);
		free(c);
	}
}

static void test_bad_cursors(void **state)
{
	static const char *const raw[] = {
		"2|k|not-a-time|id",
		"2|k|2026-01-02T03:04:05Z|",
		"2|k|2026-01-02T03:04:05Z",
		"3|k|2026-01-02T03:04:05Z|id",
		"2|k|2026-01-02T03:04:05Z|a\nb",
		"x",
	};
	static const char *const bad[] = {"", "!!", "bm90LWEtY3Vyc29y", "eHx5", "a",
					  /* "2|k|2026-01-02T03:04:05Z|a\0b" */
					  "MnxrfDIwMjYtMDEtMDJUMDM6MDQ6MDVafGEAYg"};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(raw) + ARRAY_SIZE(bad); i++) {
		char *c = i < ARRAY_SIZE(raw) ? b64url(raw[i]) : strdup(bad[i - ARRAY_SIZE(raw)]);
		const char *kv[] = {"cursor", c, NULL};
		struct paging p;
		struct err e = {0};

		if (service_paging_parse(arg_of, kv, "k", &p, &e) != ST_INVALID ||
		    strcmp(e.msg, "parameter 'cursor' is not a cursor from this API") != 0)
			fail_msg("cursor %zu '%s' was accepted or got '%s'", i, c, e.msg);
		service_paging_release(&p);
		free(c);
	}
}

static void test_envelope(void **state)
{
	struct paging p = {.limit = 2, .offset = 4, .count = true};
	struct buf b;
	char *s;

	(void)state;
	service_envelope_open(&b);
	service_envelope_item(&b, 0, "{\"a\":1}");
	service_envelope_item(&b, 1, "{\"a\":2}");
	service_envelope_close(&b, 9, &p, "abc");
	s = buf_detach(&b, NULL);
	assert_string_equal(s, "{\"items\":[{\"a\":1},{\"a\":2}],\"total\":9,"
			       "\"total_relation\":\"eq\",\"limit\":2,"
			       "\"offset\":4,\"next_cursor\":\"abc\"}");
	free(s);
	service_envelope_open(&b);
	service_envelope_close(&b, -1, &p, NULL);
	s = buf_detach(&b, NULL);
	assert_string_equal(s, "{\"items\":[],\"total\":null,\"total_relation\":null,\"limit\":2,"
			       "\"offset\":4,"
			       "\"next_cursor\":null}");
	free(s);
	/* rows left out of the items are counted after the cursor */
	p.withheld = 1;
	service_envelope_open(&b);
	service_envelope_close(&b, 3, &p, NULL);
	s = buf_detach(&b, NULL);
	assert_string_equal(s, "{\"items\":[],\"total\":3,\"total_relation\":\"eq\",\"limit\":2,"
			       "\"offset\":4,\"next_cursor\":null,\"withheld\":1}");
	free(s);
}

/* A bounded count is exact up to the bound and "gte" the bound above it; exact is never cut. */
static void test_envelope_bound(void **state)
{
	static const struct {
		int64_t bound, total;
		const char *want;
	} cases[] = {
		{10000, 9999, "\"total\":9999,\"total_relation\":\"eq\""},
		{10000, 10000, "\"total\":10000,\"total_relation\":\"eq\""},
		{10000, 10001, "\"total\":10000,\"total_relation\":\"gte\""},
		{0, 10001, "\"total\":10001,\"total_relation\":\"eq\""},
		{0, 0, "\"total\":0,\"total_relation\":\"eq\""},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct paging p = {.limit = 50, .count = true, .count_bound = cases[i].bound};
		struct buf b;
		char *s;

		service_envelope_open(&b);
		service_envelope_close(&b, cases[i].total, &p, NULL);
		s = buf_detach(&b, NULL);
		if (!strstr(s, cases[i].want))
			fail_msg("case %zu: %s", i, s);
		free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limits),	       cmocka_unit_test(test_count_mode),
		cmocka_unit_test(test_envelope_bound), cmocka_unit_test(test_cursor_roundtrip),
		cmocka_unit_test(test_bad_cursors),    cmocka_unit_test(test_stale_cursors),
		cmocka_unit_test(test_envelope),
	};

	return cmocka_run_group_tests_name("service/paging", tests, NULL, NULL);
}
