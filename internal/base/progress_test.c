/*
 * progress_test.c - the progress lines: counts, durations, rate, time left and the line
 * itself from fixed inputs; then a reporter on a fake clock writing into memory (throttling,
 * '\r' redraw on a TTY, plain lines otherwise, the summary) and four threads adding at once.
 */
#include <stdarg.h> /* cmocka 1.1.x needs these four before <cmocka.h> */
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/base.h"
#include "base/progress.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_fmt_count(void **state)
{
	static const struct {
		int64_t n;
		const char *want;
	} cases[] = {
		{0, "0"},	   {7, "7"},	      {999, "999"},
		{1000, "1,000"},   {12345, "12,345"}, {1000000, "1,000,000"},
		{-4200, "-4,200"},
	};
	char out[32];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		progress_fmt_count(cases[i].n, out, sizeof(out));
		assert_string_equal(out, cases[i].want);
	}
}

static void test_fmt_duration(void **state)
{
	static const struct {
		int64_t us;
		const char *want;
	} cases[] = {
		{0, "0.0 s"},
		{400000, "0.4 s"},
		{12340000, "12.3 s"},
		{125000000, "2 min 05 s"},
		{3720000000, "1 h 02 min"},
		{-5, "0.0 s"},
	};
	char out[32];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		progress_fmt_duration(cases[i].us, out, sizeof(out));
		assert_string_equal(out, cases[i].want);
	}
}

static void test_rate_and_eta(void **state)
{
	double r;

	(void)state;
	/* the first sample is taken as it is; no time passed changes nothing */
	assert_true(progress_rate(0, 1000, 1000000) == 1000.0);
	assert_true(progress_rate(500, 1000, 0) == 500.0);
	/* a steady pace stays where it is */
	assert_true(progress_rate(1000, 500, 500000) == 1000.0);
	/* a change of pace moves it part of the way, more for a longer sample */
	r = progress_rate(1000, 2000, 1000000);
	assert_true(r > 1000 && r < 2000);
	assert_true(progress_rate(1000, 20000, 10000000) > r);
	/* time left: unknown without a total or a rate, 0 when done */
	assert_int_equal(progress_eta_us(500, 1000, 100), 5000000);
	assert_int_equal(progress_eta_us(500, -1, 100), -1);
	assert_int_equal(progress_eta_us(500, 1000, 0), -1);
	assert_int_equal(progress_eta_us(1200, 1000, 100), 0);
}

static void test_line(void **state)
{
	static const struct {
		struct progress_view v;
		const char *want;
	} cases[] = {
		{{"verify", "verify", "decisions.jsonl", 412000, 1000000, 85210.4},
		 "verify: decisions.jsonl: 412,000 of 1,000,000 rows (41%), 85,210 rows/s, about "
		 "6.9 s left"},
		{{"restore", "load", "approvals", 0, 10, 0},
		 "restore: load approvals: 0 of 10 rows (0%)"},
		{{"backup", NULL, "sessions", 1500, -1, 300},
		 "backup: sessions: 1,500 rows, 300 rows/s"},
		{{"audit verify", "audit verify", NULL, 5, -1, 0}, "audit verify: 5 rows"},
		{{"verify", NULL, NULL, 0, 0, 0}, "verify: 0 of 0 rows (100%)"},
		{{"verify", NULL, "x", 30, 20, 0}, "verify: x: 30 of 20 rows (100%)"},
	};
	char out[PROGRESS_LINE_MAX], small[12];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t n = progress_line(&cases[i].v, out, sizeof(out));

		assert_string_equal(out, cases[i].want);
		assert_int_equal(n, strlen(out));
	}
	/* cut at the size given, never past it */
	assert_int_equal(progress_line(&cases[0].v, small, sizeof(small)), sizeof(small) - 1);
	assert_string_equal(small, "verify: dec");
}

/* ---- a reporter on a fake clock ---- */

struct fake {
	_Atomic int64_t now;
	char *text;
	size_t len;
	FILE *out;
};

static int64_t fake_clock(void *ctx)
{
	return atomic_load(&((struct fake *)ctx)->now);
}

static const char *fake_text(struct fake *f)
{
	fflush(f->out);
	return f->text;
}

static void fake_release(struct fake *f)
{
	fclose(f->out);
	free(f->text);
}

static int count(const char *s, const char *what)
{
	int n = 0;

	for (const char *p = strstr(s, what); p; p = strstr(p + 1, what))
		n++;
	return n;
}

static struct progress *fake_start(struct fake *f, enum progress_mode mode)
{
	struct progress_opts o = {.mode = mode,
				  .command = "verify",
				  .clock = fake_clock,
				  .clock_ctx = f,
				  .width = 40};

	memset(f, 0, sizeof(*f));
	f->out = open_memstream(&f->text, &f->len);
	assert_non_null(f->out);
	o.out = f->out;
	return progress_new(&o);
}

static void test_off_and_null(void **state)
{
	const struct progress_opts off = {.mode = PROGRESS_OFF};

	(void)state;
	assert_null(progress_new(&off));
	/* every call takes NULL: the loops report unconditionally */
	progress_phase(NULL, "x", 1);
	progress_item(NULL, "t");
	progress_add(NULL, 5);
	progress_finish(NULL, true);
	progress_free(NULL);
}

static void test_lines_throttled(void **state)
{
	struct fake f;
	struct progress *p = fake_start(&f, PROGRESS_LINES);

	(void)state;
	progress_phase(p, "verify", 1000);
	progress_item(p, "a.jsonl"); /* the phase drew the first line at once */
	for (int i = 0; i < 10; i++)
		progress_add(p, 64); /* no time passes: no more lines */
	assert_int_equal(count(fake_text(&f), "\n"), 1);
	atomic_store(&f.now, PROGRESS_LINES_INTERVAL_US);
	progress_add(p, 64);
	assert_int_equal(count(fake_text(&f), "\n"), 2);
	assert_non_null(
		strstr(fake_text(&f), "verify: a.jsonl: 704 of 1,000 rows (70%), 352 rows/s"));
	assert_null(strchr(fake_text(&f), '\r'));
	atomic_store(&f.now, 2 * PROGRESS_LINES_INTERVAL_US);
	progress_add(p, 296);
	progress_finish(p, true);
	assert_non_null(
		strstr(fake_text(&f), "verify: done in 4.0 s: 1,000 rows in 4.0 s (250 rows/s)\n"));
	progress_free(p);
	fake_release(&f);
}

static void test_tty_redraw(void **state)
{
	struct fake f;
	struct progress *p = fake_start(&f, PROGRESS_TTY);
	const char *t;

	(void)state;
	progress_phase(p, "verify", -1);
	progress_item(p, "a_table_with_a_rather_long_name.jsonl");
	atomic_store(&f.now, PROGRESS_TTY_INTERVAL_US);
	progress_add(p, 100);
	progress_phase(p, "load", 50);
	atomic_store(&f.now, 3 * PROGRESS_TTY_INTERVAL_US);
	progress_add(p, 64);
	progress_finish(p, false);
	t = fake_text(&f);
	/* every line starts with '\r', none is longer than the width, one newline at the end */
	assert_int_equal(t[0], '\r');
	assert_int_equal(count(t, "\n"), 1);
	assert_int_equal(t[strlen(t) - 1], '\n');
	for (const char *l = t; (l = strchr(l, '\r')) != NULL; l++)
		if (strcspn(l + 1, "\r\n") > 40 && strncmp(l + 1, "verify: failed", 14) != 0)
			fail_msg("a line longer than the width: '%.*s'",
				 (int)strcspn(l + 1, "\r\n"), l + 1);
	assert_non_null(strstr(t, "verify: failed after 0.8 s: 100 rows in 0.2 s (400 rows/s); "
				  "load 64 of 50 rows in 0.5 s (128 rows/s)"));
	/* nothing after the summary */
	progress_add(p, 64);
	progress_phase(p, "x", 1);
	assert_int_equal(count(fake_text(&f), "\n"), 1);
	progress_free(p);
	fake_release(&f);
}

/* ---- several threads ---- */

#define THREADS 4
#define PER	100000

static void *adder(void *arg)
{
	struct progress *p = arg;

	for (int i = 0; i < PER; i++)
		progress_add(p, 1);
	return NULL;
}

static void *ticker(void *arg)
{
	struct fake *f = arg;

	for (int i = 0; i < 1000; i++)
		atomic_fetch_add(&f->now, PROGRESS_LINES_INTERVAL_US / 100);
	return NULL;
}

static void test_threads(void **state)
{
	struct fake f;
	struct progress *p = fake_start(&f, PROGRESS_LINES);
	pthread_t th[THREADS + 1];

	(void)state;
	progress_phase(p, "verify", -1);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, adder, p), 0);
	assert_int_equal(pthread_create(&th[THREADS], NULL, ticker, &f), 0);
	for (int i = 0; i <= THREADS; i++)
		pthread_join(th[i], NULL);
	progress_finish(p, true);
	/* no row lost however the adds interleaved */
	assert_non_null(strstr(fake_text(&f), ": 400,000 rows in "));
	progress_free(p);
	fake_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fmt_count),    cmocka_unit_test(test_fmt_duration),
		cmocka_unit_test(test_rate_and_eta), cmocka_unit_test(test_line),
		cmocka_unit_test(test_off_and_null), cmocka_unit_test(test_lines_throttled),
		cmocka_unit_test(test_tty_redraw),   cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests_name("base/progress", tests, NULL, NULL);
}
