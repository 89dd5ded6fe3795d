/*
 * interrupt.h - SIGINT, SIGTERM and SIGHUP for the commands that run to an end (ops, audit,
 * migrate): the signal does not kill the process in the middle of a write, it is noted, and
 * the command's long loops see it and fail with ST_INTERRUPTED ("interrupted by SIGINT"), so
 * that the same error paths that clean up after any failure (temporary files, a half-written
 * backup, an open transaction) run before the process exits (docs/operations.md,
 * "Interrupted commands").
 *
 * The handler does only what is async-signal-safe: it stores the signal number in a
 * sig_atomic_t and gives the three signals back their default action, so that a second one,
 * while the first is being cleaned up after, ends the process at once.  It is installed
 * without SA_RESTART: a blocking read or wait returns EINTR.
 *
 * A loop cannot see the signal while it waits for one long PostgreSQL statement (libpq
 * retries its waits on EINTR), so the handler also wakes a watcher thread, which asks the
 * registered cancellers (interrupt_canceller_add: one per open PostgreSQL connection) to
 * stop what they run; the statement then fails, and its error is reported as the signal.
 *
 * serve does not use this: it blocks the signals and waits for them (cmd_serve.c).
 */
#ifndef CAVRA_INTERRUPT_H
#define CAVRA_INTERRUPT_H

#include "base/base.h"
#include "base/err.h"

/* Installs the handler for SIGINT, SIGTERM and SIGHUP.  Call once, before any thread starts. */
void interrupt_install(void);

/* Whether interrupt_install was called (ops, audit, migrate; not serve). */
bool interrupt_installed(void);

/* The signal that arrived since interrupt_install, or 0. */
int interrupt_signal(void);

/*
 * ST_OK while no signal arrived, else ST_INTERRUPTED with "interrupted by SIGINT" (the
 * signal's name) in e.  Cheap (one load): call it per row.
 */
ATTR_NODISCARD enum status interrupt_check(struct err *e);

/* "SIGINT", "SIGTERM", "SIGHUP", else "signal N" (into buf for those). */
const char *interrupt_signal_name(int sig, char *buf, size_t size);

/*
 * Asks whatever arg runs to stop.  Called on the watcher thread, never in the signal handler,
 * while the canceller is registered; it must not call back into this module.
 */
typedef void (*interrupt_cancel_fn)(void *arg);

struct interrupt_canceller;

/*
 * Registers fn(arg), to be called once a signal is noted and again every
 * INTERRUPT_RECANCEL_MS until interrupt_canceller_remove, so that work started just before
 * or after the signal is stopped too.  NULL when interrupt_install was not called.  Safe from
 * any thread.  Caller owns the result: release it with interrupt_canceller_remove.
 */
struct interrupt_canceller *interrupt_canceller_add(interrupt_cancel_fn fn, void *arg);

/*
 * Unregisters c (NULL-safe): when it returns, fn(arg) is not running and will not run again,
 * so arg may be freed.  Waits for a call of fn in progress, not for another canceller's: a
 * cancel that waits on the network holds up only the removal of its own connection.
 */
void interrupt_canceller_remove(struct interrupt_canceller *c);

#define INTERRUPT_RECANCEL_MS 250

/*
 * What the handler does, for the unit tests: notes sig as if it had arrived (0: forgets it)
 * without touching the dispositions.
 */
void interrupt_note_for_test(int sig);

#endif
