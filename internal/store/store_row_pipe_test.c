/*
 * Unit tests for the row pipe (store_row_pipe.c): every row reaches the
 * thread once, in order, with its NULLs and bytes as put, across many
 * batches; the first failure stops the rows after it and comes back, with
 * its row number, from a later put or from the finish; an abandoned pipe
 * takes nothing more and reports nothing.
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
#include "store/store_row_pipe.h"

#define ROWS 5000 /* many batches of the pipe's 256 rows */

struct sink {
	int64_t seen;
	int64_t fail_at; /* the row (1-based) fn refuses, 0 for none */
	bool out_of_order;
};

/* Row k is ("k", NULL, k copies of 'x' up to 3000 bytes): lengths that vary, and NULLs. */
static void row_of(int64_t k, char *num, size_t cap, char *big, const char *vals[3], size_t lens[3])
{
	snprintf(num, cap, "%lld", (long long)k);
	vals[0] = num;
	lens[0] = strlen(num);
	vals[1] = NULL;
	lens[1] = 0;
	lens[2] = (size_t)(k % 3000);
	memset(big, 'x', lens[2]);
	vals[2] = big;
}

static enum status take(void *ctx, const char *const *vals, const size_t *lens, struct err *e)
{
	struct sink *s = ctx;
	char num[32];

	s->seen++;
	if (s->fail_at && s->seen == s->fail_at)
		return err_set(e, ST_CONFLICT, "refused");
	snprintf(num, sizeof(num), "%lld", (long long)s->seen);
	if (lens[0] != strlen(num) || memcmp(vals[0], num, lens[0]) != 0 || vals[1] != NULL ||
	    lens[2] != (size_t)(s->seen % 3000) || (lens[2] && vals[2][lens[2] - 1] != 'x'))
		s->out_of_order = true;
	return ST_OK;
}

static enum status put_rows(struct row_pipe *p, int64_t n, int64_t *put, struct err *e)
{
	static char big[3000];
	enum status st = ST_OK;
	const char *vals[3];
	size_t lens[3];
	char num[32];

	for (*put = 0; *put < n && st == ST_OK;) {
		row_of(*put + 1, num, sizeof(num), big, vals, lens);
		st = row_pipe_put(p, vals, lens, e);
		if (st == ST_OK)
			(*put)++;
	}
	return st;
}

static void test_all_rows_in_order(void **state)
{
	struct sink s = {0};
	struct err e = {0};
	struct row_pipe *p = row_pipe_start(3, take, &s);
	int64_t put = 0;

	(void)state;
	assert_non_null(p);
	assert_int_equal(put_rows(p, ROWS, &put, &e), ST_OK);
	assert_int_equal(row_pipe_finish(p, true, &e), ST_OK);
	assert_int_equal(s.seen, ROWS); /* the last, partial batch too */
	assert_false(s.out_of_order);
}

static void test_failure_comes_back(void **state)
{
	struct sink s = {.fail_at = 700};
	struct err e = {0};
	struct row_pipe *p = row_pipe_start(3, take, &s);
	int64_t put = 0;
	enum status st;

	(void)state;
	assert_non_null(p);
	st = put_rows(p, ROWS, &put, &e);
	if (st == ST_OK)
		st = row_pipe_finish(p, true, &e);
	else
		assert_int_equal(row_pipe_finish(p, true, &e), ST_CONFLICT);
	assert_int_equal(st, ST_CONFLICT);
	assert_non_null(strstr(e.msg, "row 700: refused"));
	assert_int_equal(s.seen, 700); /* nothing after the failed row */
	assert_true(put < ROWS);
}

static void test_abandon(void **state)
{
	struct sink s = {0};
	struct err e = {0};
	struct row_pipe *p = row_pipe_start(3, take, &s);
	int64_t put = 0;

	(void)state;
	assert_non_null(p);
	assert_int_equal(put_rows(p, 100, &put, &e), ST_OK); /* less than a batch */
	assert_int_equal(row_pipe_finish(p, false, &e), ST_OK);
	assert_int_equal(s.seen, 0);
	assert_int_equal(e.code, ST_OK);
}

static void test_finish_without_rows(void **state)
{
	struct sink s = {0};
	struct row_pipe *p = row_pipe_start(3, take, &s);

	(void)state;
	assert_int_equal(row_pipe_finish(p, true, NULL), ST_OK);
	assert_int_equal(row_pipe_finish(NULL, true, NULL), ST_OK);
	assert_null(row_pipe_start(0, take, &s));
	assert_int_equal(s.seen, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_rows_in_order),
		cmocka_unit_test(test_failure_comes_back),
		cmocka_unit_test(test_abandon),
		cmocka_unit_test(test_finish_without_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
