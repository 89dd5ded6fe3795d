/*
 * interrupt_test.c - the signal noted and reported: nothing before a signal, "interrupted by
 * SIGTERM" after one, the first signal kept when a second is noted, and a real SIGINT raised
 * at the process: it is noted instead of ending it, and the three signals have their default
 * action again afterwards.
 */
#include <stdarg.h> /* cmocka 1.1.x needs these four before <cmocka.h> */
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/base.h"
#include "base/interrupt.h"

#include <signal.h>
#include <string.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_check),
					   cmocka_unit_test(test_real_signal)};

	return cmocka_run_group_tests_name("base/interrupt", tests, NULL, NULL);
}
