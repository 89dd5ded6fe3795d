/*
 * store_listen.h - PostgreSQL notifications (LISTEN/NOTIFY) delivered to a thread of their own,
 * over a connection of their own outside the pool: a pooled connection is borrowed by one
 * request at a time, and a notification reaches only the session that listens.
 *
 * The thread connects (the pool's URL and TCP keepalives, application_name as given), runs
 * LISTEN, then proves that notifications reach it: a probe sent with pg_notify from a second,
 * short connection must arrive within 5 s (through PgBouncer in transaction pooling mode it
 * never does), and only then says on_state(true).  It hands each notification's payload to
 * on_notify, except the probes' (payloads starting "cavra-probe:", also other processes'), and
 * on any failure, a probe that did not come, or a lost connection says so (on_state false),
 * logs why and tries again after 1 s, doubling up to 30 s.
 * Notifications sent while it did not listen are lost for good: on_state(true) after a
 * reconnect is the owner's cue that whatever it kept may be stale.
 */
#ifndef CAVRA_STORE_LISTEN_H
#define CAVRA_STORE_LISTEN_H

#include "store/store.h"

struct store_listener;

/* Called on the listener's thread; ctx is the spec's. */
struct store_listen_ops {
	/*
	 * false: at start and whenever the thread stops listening (an error, a lost connection):
	 * notifications may be missed from now on.  true: LISTEN took effect and a probe from
	 * another session arrived: every notification committed from now on arrives.
	 */
	void (*on_state)(void *ctx, bool listening);
	/* One notification on the channel; payload borrowed for the call. */
	void (*on_notify)(void *ctx, const char *payload);
};

struct store_listen_spec {
	const char *channel; /* an identifier of lowercase letters, digits and '_' */
	const char *app_name; /* the connection's application_name (pg_stat_activity) */
	const char *what; /* names the thread in its log lines: "token listener" */
	const struct store_listen_ops *ops;
	void *ctx;
};

/*
 * Starts the thread for a PostgreSQL store (ST_INVALID for SQLite, ST_INTERNAL when no thread
 * could start).  The strings of spec are copied; ops and ctx are borrowed until
 * store_listen_stop.  The thread inherits the caller's signal mask.  *out is the caller's.
 */
ATTR_NODISCARD enum status store_listen_start(struct store *st,
					      const struct store_listen_spec *spec,
					      struct store_listener **out, struct err *e);

/* Wakes the thread, which closes its connection, joins it and frees l.  NULL-safe. */
void store_listen_stop(struct store_listener *l);

#endif
