/*
 * store_listen.c - LISTEN on a connection of its own, in a thread of its own (store_listen.h).
 * Every wait (connecting, LISTEN's answer, the next notification, the pause before a retry)
 * is a poll() on the socket and on a self-pipe, so that store_listen_stop ends the thread at
 * once, whatever it waits for.
 */
#include "base/base.h"
#include "store/store_listen.h"
#include "store/store_backend.h"
#include "store/store_pg_int.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/redact.h"
#include "base/timeutil.h"
#include "base/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#define LISTEN_BACKOFF_MIN_US INT64_C(1000000) /* the first retry, after 1 s ... */
#define LISTEN_BACKOFF_MAX_US INT64_C(30000000) /* ... doubling up to 30 s */
#define LISTEN_PROBE_WAIT_US  INT64_C(5000000) /* for the probe's notification (probe()) */
#define LISTEN_PROBE_PREFIX   "cavra-probe:" /* a probe's payload: never handed to on_notify */

struct store_listener {
	char *url; /* the store's connect target: may hold a password, wiped before free */
	struct store_options opt;
	char *channel, *app_name, *what;
	const struct store_listen_ops *ops;
	void *ctx;
	int wake[2]; /* a byte in wake[0]: stop */
	pthread_t thread;
	PGconn *pg; /* the thread's; NULL between connections */
	char notice[256]; /* the server's last notice on it: why it closed the connection */
};

enum wait_result { WAIT_READY, WAIT_TIMEOUT, WAIT_STOP, WAIT_FAILED };

/*
 * Waits for events on fd (none when fd < 0), for the self-pipe, or until deadline_us on the
 * monotonic clock (0: none).  The pipe's byte is never read, so once stop was asked every wait
 * after it returns WAIT_STOP too.
 */
static enum wait_result wait_for(struct store_listener *l, int fd, short events,
				 int64_t deadline_us)
{
	struct pollfd p[2] = {{.fd = l->wake[0], .events = POLLIN}, {.fd = fd, .events = events}};

	for (;;) {
		int64_t left = deadline_us ? deadline_us - time_mono_us() : -1000;
		int n;

		if (deadline_us && left <= 0)
			return WAIT_TIMEOUT;
		n = poll(p, fd >= 0 ? 2 : 1, deadline_us ? (int)((left + 999) / 1000) : -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return WAIT_FAILED;
		if (p[0].revents)
			return WAIT_STOP;
		if (n > 0)
			return WAIT_READY;
	}
}

/* The first line of a libpq message, with the URL's password scrubbed should it echo it. */
static enum status msg_error(struct store_listener *l, const char *msg, struct err *e,
			     const char *what)
{
	char line[400];

	snprintf(line, sizeof(line), "%.*s", (int)strcspn(msg, "\n"), msg);
	scrub_url_password(line, sizeof(line), l->url);
	return err_set(e, ST_UNAVAILABLE, "%s: %s", what, line[0] ? line : "connection failed");
}

static enum status pq_error_on(struct store_listener *l, PGconn *pg, struct err *e,
			       const char *what)
{
	return msg_error(l, pg ? PQerrorMessage(pg) : "out of memory", e, what);
}

static enum status pq_error(struct store_listener *l, struct err *e, const char *what)
{
	return pq_error_on(l, l->pg, e, what);
}

/* What a wait that ended without its event means to a caller that waits for one. */
static enum status wait_error(enum wait_result w, struct err *e, const char *what)
{
	if (w == WAIT_STOP)
		return ST_INTERRUPTED;
	if (w == WAIT_FAILED)
		return err_set(e, ST_INTERNAL, "%s: poll: %s", what, BASE_ERRSTR(errno));
	return err_set(e, ST_UNAVAILABLE, "%s: timeout expired", what);
}

/* The connect timeout of the pool's connections, which PQconnectPoll leaves to its caller. */
static int64_t connect_deadline(const struct store_listener *l)
{
	return time_mono_us() + store_pg_connect_timeout_s(&l->opt) * 1000000;
}

/*
 * libpq prints a notice to stderr by default, and a server that ends the session says why in
 * one ("FATAL:  terminating connection due to administrator command"): kept, to be logged as
 * the reason in a line of our own.
 */
static void keep_notice(void *arg, const char *msg)
{
	struct store_listener *l = arg;

	snprintf(l->notice, sizeof(l->notice), "%.*s", (int)strcspn(msg, "\n"), msg);
}

/* A new connection into *pg (the caller's, to PQfinish whatever this returns). */
static enum status connect_to(struct store_listener *l, PGconn **pg, const char *app_name,
			      struct err *e)
{
	PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
	int64_t deadline = connect_deadline(l);

	*pg = store_pg_connect_start(l->url, &l->opt, app_name);
	if (!*pg || PQstatus(*pg) == CONNECTION_BAD)
		return pq_error_on(l, *pg, e, "connect to postgres");
	while (ps != PGRES_POLLING_OK) {
		enum wait_result w;

		if (ps == PGRES_POLLING_FAILED)
			return pq_error_on(l, *pg, e, "connect to postgres");
		w = wait_for(l, PQsocket(*pg), ps == PGRES_POLLING_READING ? POLLIN : POLLOUT,
			     deadline);
		if (w != WAIT_READY)
			return wait_error(w, e, "connect to postgres");
		ps = PQconnectPoll(*pg);
	}
	return ST_OK;
}

static enum status connect_pg(struct store_listener *l, struct err *e)
{
	enum status st;

	l->notice[0] = '\0';
	st = connect_to(l, &l->pg, l->app_name, e);
	if (l->pg)
		PQsetNoticeProcessor(l->pg, keep_notice, l);
	return st;
}

/* Reads until pg's result is complete (!PQisBusy), bounded by deadline_us (0: none). */
static enum status await_input(struct store_listener *l, PGconn *pg, int64_t deadline_us,
			       struct err *e)
{
	while (PQisBusy(pg)) {
		enum wait_result w = wait_for(l, PQsocket(pg), POLLIN, deadline_us);

		if (w != WAIT_READY)
			return wait_error(w, e, "listen");
		if (!PQconsumeInput(pg))
			return pq_error_on(l, pg, e, "listen");
	}
	return ST_OK;
}

/*
 * Every result of the statement sent on pg read, the first failure kept; each result must have
 * status ok.
 */
static enum status read_results(struct store_listener *l, PGconn *pg, ExecStatusType ok,
				struct err *e)
{
	enum status st = ST_OK;
	PGresult *res;

	while (st == ST_OK && (st = await_input(l, pg, connect_deadline(l), e)) == ST_OK &&
	       (res = PQgetResult(pg)) != NULL) {
		if (PQresultStatus(res) != ok)
			st = msg_error(l, PQresultErrorMessage(res), e, "listen");
		PQclear(res);
	}
	return st;
}

/* LISTEN channel; every result of it read, the first failure kept. */
static enum status listen_channel(struct store_listener *l, struct err *e)
{
	char *sql = xasprintf("LISTEN %s", l->channel);
	enum status st = PQsendQuery(l->pg, sql) ? ST_OK : pq_error(l, e, "listen");

	free(sql);
	return st == ST_OK ? read_results(l, l->pg, PGRES_COMMAND_OK, e) : st;
}

/* One notification's payload to the owner; the probes (this process's or another's) are not. */
static void deliver(struct store_listener *l, const char *payload)
{
	if (strncmp(payload, LISTEN_PROBE_PREFIX, strlen(LISTEN_PROBE_PREFIX)) != 0)
		l->ops->on_notify(l->ctx, payload);
}

/*
 * Sends payload on the channel from a connection of its own (application_name the listener's
 * with " probe" added, so that it is not taken for the listener), then closes it.
 */
static enum status send_probe(struct store_listener *l, const char *payload, struct err *e)
{
	const char *params[2] = {l->channel, payload};
	char *app = xasprintf("%s probe", l->app_name);
	PGconn *pg = NULL;
	enum status st = connect_to(l, &pg, app, e);

	if (st == ST_OK &&
	    !PQsendQueryParams(pg, "SELECT pg_notify($1, $2)", 2, NULL, params, NULL, NULL, 0))
		st = pq_error_on(l, pg, e, "listen: send a probe");
	if (st == ST_OK)
		st = read_results(l, pg, PGRES_TUPLES_OK, e);
	PQfinish(pg);
	free(app);
	return st;
}

/*
 * Hands over every notification that arrives until want arrives (ST_OK; want NULL: never),
 * deadline_us passes (ST_TIMEOUT; 0: none), the connection fails or stop is asked.  The queue
 * is drained before each wait: a notification read off the socket together with LISTEN's
 * answer is already parsed into it, and waiting first would leave it there until the next one
 * arrived.
 */
static enum status pump(struct store_listener *l, const char *want, int64_t deadline_us,
			struct err *e)
{
	for (;;) {
		enum wait_result w;
		PGnotify *n;
		bool seen = false;

		while ((n = PQnotifies(l->pg)) != NULL) {
			seen = seen || (want && strcmp(n->extra, want) == 0);
			deliver(l, n->extra);
			PQfreemem(n);
		}
		if (seen)
			return ST_OK;
		w = wait_for(l, PQsocket(l->pg), POLLIN, deadline_us);
		if (w == WAIT_TIMEOUT)
			return err_set(e, ST_TIMEOUT, "listen: timeout expired");
		if (w != WAIT_READY)
			return wait_error(w, e, "listen");
		if (!PQconsumeInput(l->pg) || PQstatus(l->pg) != CONNECTION_OK)
			return l->notice[0] ? msg_error(l, l->notice, e, "listen: connection lost")
					    : pq_error(l, e, "listen: connection lost");
	}
}

/* Waits for payload on the listening connection; whatever else arrives meanwhile is delivered. */
static enum status await_probe(struct store_listener *l, const char *payload, struct err *e)
{
	enum status st = pump(l, payload, time_mono_us() + LISTEN_PROBE_WAIT_US, e);

	if (st != ST_TIMEOUT)
		return st;
	return err_set(e, ST_UNAVAILABLE,
		       "a notification sent from another connection did not arrive within %lld s: "
		       "LISTEN needs a database session of its own, which a pooler in transaction "
		       "mode does not keep",
		       (long long)(LISTEN_PROBE_WAIT_US / 1000000));
}

/*
 * Proves that a notification committed by another session reaches this one, before anything
 * relies on it: LISTEN succeeds through PgBouncer in transaction pooling mode too, but the
 * server session that ran it goes back to the pooler's pool, and what is sent to it later is
 * never passed on.  The probe comes from a connection of its own, through the same URL, as a
 * revocation by another process would.
 */
static enum status probe(struct store_listener *l, struct err *e)
{
	char nonce[2 * 8 + 1], payload[sizeof(LISTEN_PROBE_PREFIX) + sizeof(nonce)];
	enum status st = random_hex(nonce, 8, e);

	if (st != ST_OK)
		return st;
	snprintf(payload, sizeof(payload), LISTEN_PROBE_PREFIX "%s", nonce);
	st = send_probe(l, payload, e);
	return st == ST_OK ? await_probe(l, payload, e) : st;
}

/* One connection's life; *listened tells whether LISTEN took effect on it and a probe came. */
static enum status session(struct store_listener *l, bool *listened, struct err *e)
{
	enum status st = connect_pg(l, e);

	if (st == ST_OK)
		st = listen_channel(l, e);
	if (st == ST_OK)
		st = probe(l, e);
	*listened = st == ST_OK;
	if (st == ST_OK) {
		l->ops->on_state(l->ctx, true);
		log_info("%s: listening on channel '%s'", l->what, l->channel);
		st = pump(l, NULL, 0, e); /* until the connection fails or stop is asked */
	}
	PQfinish(l->pg);
	l->pg = NULL;
	return st;
}

/*
 * Says "not listening" at start and as soon as a connection fails, so that whatever the owner
 * kept while it listened is dropped before it is trusted again; only LISTEN on the next
 * connection says "listening".  The pause before a retry starts again at its minimum after a
 * connection that listened.
 */
static void *run(void *arg)
{
	struct store_listener *l = arg;
	int64_t backoff = LISTEN_BACKOFF_MIN_US;

	l->ops->on_state(l->ctx, false);
	for (;;) {
		struct err e = {0};
		bool listened = false;

		if (session(l, &listened, &e) == ST_INTERRUPTED)
			break;
		l->ops->on_state(l->ctx, false);
		if (listened)
			backoff = LISTEN_BACKOFF_MIN_US;
		log_warn("%s: %s; connecting again in %lld s", l->what, e.msg,
			 (long long)(backoff / 1000000));
		if (wait_for(l, -1, 0, time_mono_us() + backoff) == WAIT_STOP)
			break; /* WAIT_FAILED too goes on: the next connection tells */
		backoff = backoff * 2 > LISTEN_BACKOFF_MAX_US ? LISTEN_BACKOFF_MAX_US : backoff * 2;
	}
	l->ops->on_state(l->ctx, false);
	return NULL;
}

static void listener_free(struct store_listener *l)
{
	if (l->url) {
		memset(l->url, 0, strlen(l->url));
		free(l->url);
	}
	free(l->channel);
	free(l->app_name);
	free(l->what);
	for (int i = 0; i < 2; i++)
		if (l->wake[i] >= 0)
			close(l->wake[i]);
	free(l);
}

enum status store_listen_start(struct store *st, const struct store_listen_spec *spec,
			       struct store_listener **out, struct err *e)
{
	struct store_listener *l;

	*out = NULL;
	if (store_kind(st) != STORE_POSTGRES)
		return err_set(e, ST_INVALID, "%s: notifications need PostgreSQL", spec->what);
	l = xcalloc(1, sizeof(*l));
	*l = (struct store_listener){.url = xstrdup(st->target),
				     .opt = st->opt,
				     .channel = xstrdup(spec->channel),
				     .app_name = xstrdup(spec->app_name),
				     .what = xstrdup(spec->what),
				     .ops = spec->ops,
				     .ctx = spec->ctx,
				     .wake = {-1, -1}};
	if (pipe(l->wake) == 0) {
		(void)fcntl(l->wake[0], F_SETFD, FD_CLOEXEC);
		(void)fcntl(l->wake[1], F_SETFD, FD_CLOEXEC);
	}
	if (l->wake[0] < 0 || pthread_create(&l->thread, NULL, run, l) != 0) {
		listener_free(l);
		return err_set(e, ST_INTERNAL, "%s: could not start its thread", spec->what);
	}
	*out = l;
	return ST_OK;
}

void store_listen_stop(struct store_listener *l)
{
	if (!l)
		return;
	(void)!write(l->wake[1], "x", 1);
	pthread_join(l->thread, NULL);
	listener_free(l);
}
