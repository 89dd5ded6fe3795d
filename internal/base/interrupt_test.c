/*
 * interrupt_test.c - the signal noted and reported: nothing before a signal, "interrupted by
 * SIGTERM" after one, the first signal kept when a second is noted, and a real SIGINT raised
 * at the process: it is noted instead of ending it, and the three signals have their default
 * action again afterwards.  A canceller is refused before interrupt_install (serve) and called
 * on the watcher thread once a real signal arrives; while one canceller's call waits (a
 * cancel waits on the network), another is removed without waiting for it.
 */
#include <stdarg.h> /* cmocka 1.1.x needs these four before <cmocka.h> */
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/base.h"
#include "base/interrupt.h"

#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The canceller: tells the test, through a pipe, that the watcher called it. */
static void note_call(void *arg)
{
	ssize_t n = write(*(int *)arg, "c", 1);

	(void)n;
}

static void test_check(void **state)
{
	struct err e = {0};
	char buf[24];

	(void)state;
	interrupt_note_for_test(0);
	assert_int_equal(interrupt_check(&e), ST_OK);
	interrupt_note_for_test(SIGTERM);
	assert_int_equal(interrupt_check(&e), ST_INTERRUPTED);
	assert_string_equal(e.msg, "interrupted by SIGTERM");
	assert_int_equal(interrupt_check(NULL), ST_INTERRUPTED);
	assert_string_equal(interrupt_signal_name(SIGHUP, buf, sizeof(buf)), "SIGHUP");
	assert_string_equal(interrupt_signal_name(SIGUSR1, buf, sizeof(buf)), "signal 10");
	interrupt_note_for_test(0);
	/* not installed yet: nothing to register, as under serve */
	assert_false(interrupt_installed());
	assert_null(interrupt_canceller_add(note_call, NULL));
}

static void test_real_signal(void **state)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct sigaction now;

	(void)state;
	interrupt_note_for_test(0);
	interrupt_install();
	assert_int_equal(raise(SIGINT), 0); /* would end the test without the handler */
	assert_int_equal(interrupt_signal(), SIGINT);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		assert_int_equal(sigaction(sigs[i], NULL, &now), 0);
		assert_true(now.sa_handler == SIG_DFL);
	}
	interrupt_note_for_test(0);
}

static void test_canceller(void **state)
{
	struct interrupt_canceller *c;
	int fds[2];
	char b;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	interrupt_note_for_test(0);
	interrupt_install();
	assert_true(interrupt_installed());
	c = interrupt_canceller_add(note_call, &fds[1]);
	assert_non_null(c);
	assert_int_equal(raise(SIGINT), 0);
	/* blocks until the watcher has called it: no sleep, no clock */
	assert_int_equal(read(fds[0], &b, 1), 1);
	assert_int_equal(b, 'c');
	interrupt_canceller_remove(c); /* after this the watcher no longer uses fds[1] */
	interrupt_canceller_remove(NULL);
	close(fds[0]);
	close(fds[1]);
	interrupt_note_for_test(0);
}

/* A canceller whose first call waits (up to 5 s) for the other one to be removed. */
struct slow {
	int started; /* write end of a pipe: the first call has begun */
	atomic_int calls;
	atomic_bool other_removed, seen_removed;
};

static void slow_call(void *arg)
{
	const struct timespec ms = {0, 1000000L};
	struct slow *s = arg;
	ssize_t n;

	if (atomic_fetch_add(&s->calls, 1) != 0)
		return;
	n = write(s->started, "s", 1);
	(void)n;
	for (int i = 0; i < 5000 && !atomic_load(&s->other_removed); i++)
		nanosleep(&ms, NULL);
	atomic_store(&s->seen_removed, atomic_load(&s->other_removed));
}

static void quick_call(void *arg)
{
	(void)arg;
}

static void test_slow_cancel_holds_up_only_its_own_removal(void **state)
{
	struct slow s = {0};
	struct interrupt_canceller *slow, *quick;
	int fds[2];
	char b;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	s.started = fds[1];
	interrupt_note_for_test(0);
	interrupt_install();
	slow = interrupt_canceller_add(slow_call, &s);
	quick = interrupt_canceller_add(quick_call, NULL); /* ahead of slow: called first */
	assert_int_equal(raise(SIGINT), 0); /* the watcher may already be cancelling: harmless */
	assert_int_equal(read(fds[0], &b, 1), 1);
	/* slow's call is in progress: removing quick must not wait for it */
	interrupt_canceller_remove(quick);
	atomic_store(&s.other_removed, true);
	interrupt_canceller_remove(slow); /* waits for its own call, which now ends */
	assert_true(atomic_load(&s.seen_removed));
	close(fds[0]);
	close(fds[1]);
	interrupt_note_for_test(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check), cmocka_unit_test(test_real_signal),
		cmocka_unit_test(test_canceller),
		cmocka_unit_test(test_slow_cancel_holds_up_only_its_own_removal)};

	return cmocka_run_group_tests_name("base/interrupt", tests, NULL, NULL);
}
