/*
 * interrupt.c - the signal a command was asked to stop by (interrupt.h).  The handler writes
 * one sig_atomic_t, one byte to a pipe and calls sigaction, all async-signal-safe; the
 * cancellers run on a watcher thread, everything else in the command's own thread when it
 * next looks.
 *
 * Why a watcher thread and not PQcancel in the handler: connections open and close on other
 * threads (a restore's loaders, a backup's snapshot readers) while the handler may run on any
 * thread at the same time, so a list the handler walked could lose an entry, and its
 * PGcancel be freed, in the middle of the walk; the handler may take no lock to prevent it.
 * The watcher walks the list under a mutex that interrupt_canceller_remove also takes, and
 * marks the entry it calls busy; it lets go of the mutex during the call, since a cancel opens
 * a connection to the server and may wait as long as the network does.  An entry is unlinked
 * (and its PGcancel freed by the caller) only while it is not busy: its remover waits for that
 * one call, and the other threads add and remove their own entries meanwhile.
 */
#include "base/base.h"
#include "base/interrupt.h"
#include "base/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const int handled[] = {SIGINT, SIGTERM, SIGHUP};

static volatile sig_atomic_t got;

/* The self-pipe: the handler writes a byte, the watcher reads it.  -1 before install. */
static int wake_rd = -1, wake_wr = -1;

struct interrupt_canceller {
	interrupt_cancel_fn fn;
	void *arg;
	bool busy; /* the watcher calls fn(arg) now */
	struct interrupt_canceller *prev, *next;
};

/* Guards the list, each entry's busy and watching; not held while a canceller runs. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* Signalled when a call ends: a remover waits on it for its entry's. */
static pthread_cond_t call_ended = PTHREAD_COND_INITIALIZER;
static struct interrupt_canceller *cancellers;
static bool watching; /* the watcher thread runs */

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
	int saved = errno;

	if (!got)
		got = sig;
	/* non-blocking: a full pipe already holds a byte the watcher will read */
	if (wake_wr >= 0) {
		ssize_t n = write(wake_wr, "", 1);

		(void)n;
	}
	restore_defaults();
	errno = saved;
}

/* Both ends close on exec; the write end never blocks the handler. */
static void open_wake_pipe(void)
{
	int fds[2];

	if (pipe(fds) != 0)
		return; /* no watcher then: statements are noticed when they end, as loops are */
	(void)fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	(void)fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	(void)fcntl(fds[1], F_SETFL, O_NONBLOCK);
	wake_rd = fds[0];
	wake_wr = fds[1];
}

void interrupt_install(void)
{
	struct sigaction sa;

	if (wake_rd < 0)
		open_wake_pipe();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(handled); i++)
		sigaddset(&sa.sa_mask, handled[i]); /* one handler at a time */
	sa.sa_flags = 0; /* no SA_RESTART: blocking calls return EINTR */
	for (size_t i = 0; i < ARRAY_SIZE(handled); i++)
		sigaction(handled[i], &sa, NULL);
}

bool interrupt_installed(void)
{
	return wake_rd >= 0;
}

/*
 * Calls every registered canceller, one at a time, without the lock: the entry called is busy,
 * so it stays linked (and its next is read under the lock once the call ends) while the others
 * may come and go.  One added meanwhile ahead of it waits for the next round.
 */
static void cancel_all(void)
{
	pthread_mutex_lock(&lock);
	for (struct interrupt_canceller *c = cancellers; c; c = c->next) {
		c->busy = true;
		pthread_mutex_unlock(&lock);
		c->fn(c->arg);
		pthread_mutex_lock(&lock);
		c->busy = false;
		pthread_cond_broadcast(&call_ended);
	}
	pthread_mutex_unlock(&lock);
}

/*
 * Waits for the handler's byte, then cancels, and cancels again every INTERRUPT_RECANCEL_MS
 * until the process ends: a cancel that reaches a connection before its statement does is
 * ignored by the server, and a statement begun after the signal would otherwise run to its
 * end.  A cancel reaching an idle connection does nothing.
 */
static void *watch(void *unused)
{
	const struct timespec gap = {0, INTERRUPT_RECANCEL_MS * 1000000L};
	char b;

	(void)unused;
	while (read(wake_rd, &b, 1) < 0)
		if (errno != EINTR)
			return NULL;
	for (;;) {
		cancel_all();
		nanosleep(&gap, NULL);
	}
}

/*
 * Started with the first canceller, so a command on SQLite has no thread.  The signals are
 * blocked in it: the handler runs on a thread that does the command's work.  Called with the
 * lock held.
 */
static void start_watcher(void)
{
	sigset_t block, old;
	pthread_attr_t attr;
	pthread_t t;

	sigemptyset(&block);
	for (size_t i = 0; i < ARRAY_SIZE(handled); i++)
		sigaddset(&block, handled[i]);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* without the thread, statements are noticed when they end, as before */
	watching = pthread_create(&t, &attr, watch, NULL) == 0;
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

struct interrupt_canceller *interrupt_canceller_add(interrupt_cancel_fn fn, void *arg)
{
	struct interrupt_canceller *c;

	if (!interrupt_installed())
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->fn = fn;
	c->arg = arg;
	pthread_mutex_lock(&lock);
	if (!watching)
		start_watcher();
	c->next = cancellers;
	if (cancellers)
		cancellers->prev = c;
	cancellers = c;
	pthread_mutex_unlock(&lock);
	return c;
}

void interrupt_canceller_remove(struct interrupt_canceller *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&lock);
	while (c->busy) /* the one call of fn(arg) in progress, not the others' */
		pthread_cond_wait(&call_ended, &lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		cancellers = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&lock);
	free(c);
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
