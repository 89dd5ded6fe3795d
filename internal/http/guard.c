/*
 * guard.c - keeps one client from starving the others: caps on open
 * connections, in all and per client address, checked as MHD accepts; and
 * deadlines for reading a request's headers and its body, which a watchdog
 * thread enforces.  MHD's own timeout is an idle timeout, which a client
 * that sends one byte every few seconds never trips.
 */
#include "base/base.h"
#include "http/http_int.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/xalloc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define WATCHDOG_TICK_US 100000 /* how late a deadline may be enforced */
#define REFUSAL_LOG_US	 10000000 /* at most one refusal log line per reason this often */
#define FD_RESERVE	 256 /* descriptors besides connections: database, JWKS, logs */

/* One open connection; lives from MHD's STARTED notice to its CLOSED one. */
struct guard_conn {
	struct guard_conn *prev, *next; /* under guard.mu */
	struct sockaddr_storage addr;
	MHD_socket fd;
	bool cut; /* the watchdog shut it down (under guard.mu) */
	_Atomic int phase; /* enum http_guard_phase */
	_Atomic int64_t deadline_us; /* monotonic; 0: none */
};

struct guard {
	pthread_mutex_t mu; /* the list; held while the watchdog shuts a socket down */
	struct guard_conn *head;
	unsigned int open;
	struct guard_limits lim;
	pthread_t watchdog;
	atomic_bool stop;
	bool running;
	_Atomic int64_t last_log_us[HTTP_REFUSE__COUNT];
};

/* Addresses only, never ports: one client opens each connection from a new port. */
static bool same_host(const struct sockaddr *a, const struct sockaddr_storage *b)
{
	if (a->sa_family != b->ss_family)
		return false;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			      &((const struct sockaddr_in6 *)b)->sin6_addr,
			      sizeof(struct in6_addr)) == 0;
	return false;
}

static void host_text(const struct sockaddr *a, char *out, size_t size)
{
	const void *p = a->sa_family == AF_INET6
				? (const void *)&((const struct sockaddr_in6 *)a)->sin6_addr
				: (const void *)&((const struct sockaddr_in *)a)->sin_addr;

	if (!inet_ntop(a->sa_family, p, out, (socklen_t)size))
		snprintf(out, size, "?");
}

/* Counts a refusal; logs it, at most one line per reason every 10 s. */
static void refused(struct guard *g, enum http_refusal why, const struct sockaddr *a)
{
	static const char *const what[HTTP_REFUSE__COUNT] = {
		[HTTP_REFUSE_PER_IP] = "the per-address connection limit is reached",
		[HTTP_REFUSE_TOTAL] = "the connection limit is reached",
		[HTTP_REFUSE_HEADER_TIMEOUT] = "its request headers took too long",
		[HTTP_REFUSE_BODY_TIMEOUT] = "its request body took too long",
	};
	char host[INET6_ADDRSTRLEN];

	http_metrics_refusal(why);
	if (!log_due(&g->last_log_us[why], time_mono_us(), REFUSAL_LOG_US))
		return;
	host_text(a, host, sizeof(host));
	log_warn("http: closed a connection from %s: %s (later ones are only counted in "
		 "cavra_http_connections_refused_total for 10 s)",
		 host, what[why]);
}

/*
 * Runs in MHD's listening thread before a connection thread exists, so refusing here costs no
 * thread.  The per-address count walks the list: it is short (max_connections at most) and
 * walked only per accept, which avoids a second structure to keep in step.
 */
enum MHD_Result http_guard_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct guard *g = cls;
	unsigned int same = 0;
	enum http_refusal why = HTTP_REFUSE__COUNT;

	UNUSED(len);
	pthread_mutex_lock(&g->mu);
	if (g->open >= g->lim.max_connections) {
		why = HTTP_REFUSE_TOTAL;
	} else if (g->lim.max_per_ip) {
		for (struct guard_conn *c = g->head; c && same < g->lim.max_per_ip; c = c->next)
			same += same_host(addr, &c->addr);
		if (same >= g->lim.max_per_ip)
			why = HTTP_REFUSE_PER_IP;
	}
	pthread_mutex_unlock(&g->mu);
	if (why == HTTP_REFUSE__COUNT)
		return MHD_YES;
	refused(g, why, addr);
	return MHD_NO;
}

/* The header deadline starts at accept: a connection that never sends a byte is cut too. */
static void conn_add(struct guard *g, struct MHD_Connection *conn, void **socket_context)
{
	const union MHD_ConnectionInfo *fd =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	const union MHD_ConnectionInfo *ad =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct guard_conn *c = xcalloc(1, sizeof(*c));

	c->fd = fd ? fd->connect_fd : MHD_INVALID_SOCKET;
	if (ad && ad->client_addr)
		memcpy(&c->addr, ad->client_addr,
		       ad->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							      : sizeof(struct sockaddr_in));
	atomic_store(&c->phase, GUARD_HEADERS);
	atomic_store(&c->deadline_us, time_mono_us() + g->lim.header_timeout_s * 1000000);
	pthread_mutex_lock(&g->mu);
	c->next = g->head;
	if (g->head)
		g->head->prev = c;
	g->head = c;
	g->open++;
	pthread_mutex_unlock(&g->mu);
	*socket_context = c;
}

/*
 * CLOSED comes before MHD closes the socket, so a socket the watchdog finds
 * in the list (under the lock) is still open.
 */
void http_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		       enum MHD_ConnectionNotificationCode code)
{
	struct guard *g = cls;
	struct guard_conn *c = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		conn_add(g, conn, socket_context);
		return;
	}
	if (!c)
		return;
	pthread_mutex_lock(&g->mu);
	if (c->prev)
		c->prev->next = c->next;
	else
		g->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	g->open--;
	pthread_mutex_unlock(&g->mu);
	free(c);
	*socket_context = NULL;
}

/* Shuts down every connection past its deadline; its thread then sees EOF. */
/*
 * shutdown(), not close(): the descriptor stays MHD's to close, so it can never be reused under
 * MHD's feet; the connection's thread wakes with EOF and MHD tears it down the normal way.  An
 * idle kept-alive connection past its deadline is closed without counting as a refusal.
 */
static void sweep(struct guard *g, int64_t now)
{
	pthread_mutex_lock(&g->mu);
	for (struct guard_conn *c = g->head; c; c = c->next) {
		int64_t d = atomic_load(&c->deadline_us);

		if (c->cut || !d || now < d || c->fd == MHD_INVALID_SOCKET)
			continue;
		c->cut = true;
		/* counted before the client can see the connection end */
		if (atomic_load(&c->phase) != GUARD_IDLE)
			refused(g,
				atomic_load(&c->phase) == GUARD_BODY ? HTTP_REFUSE_BODY_TIMEOUT
								     : HTTP_REFUSE_HEADER_TIMEOUT,
				(const struct sockaddr *)&c->addr);
		shutdown(c->fd, SHUT_RDWR);
	}
	pthread_mutex_unlock(&g->mu);
}

/* A plain tick rather than a timer per connection: deadlines are seconds, the tick 0.1 s. */
static void *watchdog(void *arg)
{
	struct guard *g = arg;

	while (!atomic_load(&g->stop)) {
		usleep(WATCHDOG_TICK_US);
		sweep(g, time_mono_us());
	}
	return NULL;
}

/*
 * Thread per connection: every connection holds a descriptor, so the soft
 * limit on open files must cover max_connections and the rest.
 */
static void raise_fd_limit(unsigned int max_connections)
{
	rlim_t need = (rlim_t)max_connections + FD_RESERVE;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= need) {
		log_info("http: raised the open files limit to %llu for max_connections %u",
			 (unsigned long long)rl.rlim_cur, max_connections);
		return;
	}
	log_warn("http: the open files limit (%llu) is below the %llu that max_connections %u "
		 "needs: connections past it will fail; raise it (ulimit -n) or lower "
		 "max_connections",
		 (unsigned long long)rl.rlim_cur, (unsigned long long)need, max_connections);
}

enum status http_guard_new(const struct guard_limits *lim, struct guard **out, struct err *e)
{
	struct guard *g = xcalloc(1, sizeof(*g));
	int rc;

	pthread_mutex_init(&g->mu, NULL);
	g->lim = *lim;
	raise_fd_limit(lim->max_connections);
	rc = pthread_create(&g->watchdog, NULL, watchdog, g);
	if (rc != 0) {
		pthread_mutex_destroy(&g->mu);
		free(g);
		return err_set(e, ST_IO, "start the connection watchdog: %s", BASE_ERRSTR(rc));
	}
	g->running = true;
	*out = g;
	return ST_OK;
}

void http_guard_free(struct guard *g)
{
	if (!g)
		return;
	atomic_store(&g->stop, true);
	if (g->running)
		pthread_join(g->watchdog, NULL);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

static struct guard_conn *conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *i =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return i ? i->socket_context : NULL;
}

/* No deadline while the handler runs: a slow database query is not the client's fault. */
void http_guard_phase(struct guard *g, struct MHD_Connection *conn, enum http_guard_phase p)
{
	struct guard_conn *c = conn_of(conn);
	int64_t limit_s = p == GUARD_BODY ? g->lim.body_timeout_s : g->lim.header_timeout_s;

	if (!c)
		return;
	atomic_store(&c->deadline_us, 0); /* no stale deadline while the phase changes */
	atomic_store(&c->phase, (int)p);
	if (p != GUARD_HANDLER)
		atomic_store(&c->deadline_us, time_mono_us() + limit_s * 1000000);
}
