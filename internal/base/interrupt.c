/*
 * interrupt.c - the signal a command was asked to stop by (interrupt.h).  The handler writes
 * one sig_atomic_t and calls sigaction, both async-signal-safe; everything else happens in
 * the command's own thread when it next looks.
 */
#include "base/base.h"
#include "base/interrupt.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static const int handled[] = {SIGINT, SIGTERM, SIGHUP};

static volatile sig_atomic_t got;

/* The default action back for all three: a second signal ends the process. */
static void restore_defaults(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(handled); i++)
		sigaction(handled[i], &sa, NULL);
}

static void on_signal(int sig)
{
	if (!got)
		got = sig;
	restore_defaults();
}

void interrupt_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(handled); i++)
		sigaddset(&sa.sa_mask, handled[i]); /* one handler at a time */
	sa.sa_flags = 0; /* no SA_RESTART: blocking calls return EINTR */
	for (size_t i = 0; i < ARRAY_SIZE(handled); i++)
		sigaction(handled[i], &sa, NULL);
}

int interrupt_signal(void)
{
	return got;
}

const char *interrupt_signal_name(int sig, char *buf, size_t size)
{
	switch (sig) {
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	case SIGHUP:
		return "SIGHUP";
	default:
		snprintf(buf, size, "signal %d", sig);
		return buf;
	}
}

enum status interrupt_check(struct err *e)
{
	char buf[24];
	int sig = got;

	if (!sig)
		return ST_OK;
	return err_set(e, ST_INTERRUPTED, "interrupted by %s",
		       interrupt_signal_name(sig, buf, sizeof(buf)));
}

void interrupt_note_for_test(int sig)
{
	got = sig;
}
