/*
 * cmd_healthcheck.c - `cavra healthcheck`: one GET of /healthz (or /readyz) on the address
 * serve listens on, exit 0 on a 200 and 1 otherwise.
 *
 * It is the container image's HEALTHCHECK.  The runtime image has no curl or wget, and a
 * check in the binary needs no shell either; it also reads the listen setting the way serve
 * does (flag, file or CAVRA_LISTEN), so the probe follows wherever the server was told to
 * listen.  Everything it waits for is bounded by one deadline (--timeout), because an engine
 * counts a check that hangs as a failure only after its own, longer timeout.
 */
#include "base/base.h"
#include "cmd.h"
#include "cmd_healthcheck.h"
#include "base/errstr.h"
#include "base/num.h"
#include "base/timeutil.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RESP_MAX	  4096 /* enough for /readyz's body; the rest is not read */
#define REASON_MAX	  200 /* how much of a failed answer's body the message quotes */
#define DEFAULT_TIMEOUT_S 4

struct probe {
	const char *path; /* "/healthz" or "/readyz" */
	char host[256], port[8];
	char where[270]; /* host:port, [host]:port for IPv6: messages and the Host header */
	int64_t deadline_us; /* time_mono_us() */
	char resp[RESP_MAX + 1];
	size_t n;
};

bool health_target(const char *listen, char *host, size_t host_size, char *port, size_t port_size)
{
	static const struct {
		const char *any, *loopback;
	} wild[] = {{"0.0.0.0", "127.0.0.1"}, {"::", "::1"}, {"*", "127.0.0.1"}};
	const char *colon = strrchr(listen, ':');
	size_t hl;

	if (!colon || colon == listen || colon[1] == '\0')
		return false;
	hl = (size_t)(colon - listen);
	if (hl >= 2 && listen[0] == '[' && listen[hl - 1] == ']') {
		listen++;
		hl -= 2;
	}
	if (hl == 0 || hl >= host_size || strlen(colon + 1) >= port_size)
		return false;
	memcpy(host, listen, hl);
	host[hl] = '\0';
	snprintf(port, port_size, "%s", colon + 1);
	for (size_t i = 0; i < ARRAY_SIZE(wild); i++)
		if (strcmp(host, wild[i].any) == 0)
			snprintf(host, host_size, "%s", wild[i].loopback);
	return true;
}

int health_status_code(const char *resp, size_t n)
{
	static const char proto[] = "HTTP/1.";
	size_t pl = sizeof(proto) - 1;
	int code = 0;

	/* "HTTP/1.x NNN" and then a space or the end of the line */
	if (n < pl + 6 || memcmp(resp, proto, pl) != 0 || resp[pl + 1] != ' ')
		return -1;
	for (size_t i = pl + 2; i < pl + 5; i++) {
		if (resp[i] < '0' || resp[i] > '9')
			return -1;
		code = code * 10 + (resp[i] - '0');
	}
	if (resp[pl + 5] != ' ' && resp[pl + 5] != '\r' && resp[pl + 5] != '\n')
		return -1;
	return code;
}

static int remaining_ms(const struct probe *p)
{
	int64_t left = p->deadline_us - time_mono_us();

	return left <= 0 ? 0 : (int)((left + 999) / 1000);
}

/* Waits until fd is ready for events, or fails at the deadline. */
static enum status wait_for(const struct probe *p, int fd, short events, struct err *e)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int r, ms;

	do {
		if ((ms = remaining_ms(p)) == 0)
			return err_set(e, ST_UNAVAILABLE, "no answer within the timeout");
		r = poll(&pfd, 1, ms);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return err_set(e, ST_IO, "poll: %s", BASE_ERRSTR(errno));
	if (r == 0)
		return err_set(e, ST_UNAVAILABLE, "no answer within the timeout");
	return ST_OK;
}

/* A non-blocking connect to one address, bounded by the deadline; *fd is the caller's. */
static enum status connect_one(const struct probe *p, const struct addrinfo *ai, int *fd,
			       struct err *e)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	enum status st;

	*fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		     ai->ai_protocol);
	if (*fd < 0)
		return err_set(e, ST_IO, "socket: %s", BASE_ERRSTR(errno));
	if (connect(*fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return ST_OK;
	if (errno != EINPROGRESS)
		return err_set(e, ST_UNAVAILABLE, "connect: %s", BASE_ERRSTR(errno));
	if ((st = wait_for(p, *fd, POLLOUT, e)) != ST_OK)
		return st;
	if (getsockopt(*fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
		soerr = errno;
	if (soerr != 0)
		return err_set(e, ST_UNAVAILABLE, "connect: %s", BASE_ERRSTR(soerr));
	return ST_OK;
}

/* Connects to the first address of p->host that accepts; *fd is the caller's to close. */
static enum status connect_any(const struct probe *p, int *fd, struct err *e)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *list = NULL;
	enum status st = ST_UNAVAILABLE;
	int rc = getaddrinfo(p->host, p->port, &hints, &list);

	if (rc != 0)
		return err_set(e, ST_UNAVAILABLE, "resolve '%s': %s", p->host, gai_strerror(rc));
	for (const struct addrinfo *ai = list; ai; ai = ai->ai_next) {
		if ((st = connect_one(p, ai, fd, e)) == ST_OK)
			break;
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
	freeaddrinfo(list);
	return st;
}

/* Sends the request and reads the answer until the server closes or RESP_MAX is read. */
static enum status exchange(struct probe *p, int fd, struct err *e)
{
	char req[512];
	int len = snprintf(req, sizeof(req),
			   "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: cavra-healthcheck\r\n"
			   "Connection: close\r\n\r\n",
			   p->path, p->where);
	enum status st;
	ssize_t r;

	if (send(fd, req, (size_t)len, MSG_NOSIGNAL) != len)
		return err_set(e, ST_UNAVAILABLE, "send: %s", BASE_ERRSTR(errno));
	while (p->n < RESP_MAX) {
		if ((st = wait_for(p, fd, POLLIN, e)) != ST_OK)
			return p->n > 0 ? ST_OK : st;
		r = recv(fd, p->resp + p->n, RESP_MAX - p->n, 0);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return err_set(e, ST_UNAVAILABLE, "receive: %s", BASE_ERRSTR(errno));
		if (r == 0)
			break;
		p->n += (size_t)r;
	}
	p->resp[p->n] = '\0';
	return ST_OK;
}

/* The body of a failed answer as one short line, for the message. */
static void reason_of(const struct probe *p, char *out, size_t size)
{
	const char *body = strstr(p->resp, "\r\n\r\n");
	size_t j = 0;

	out[0] = '\0';
	if (!body)
		return;
	for (body += 4; *body && j + 1 < size; body++) {
		out[j] = *body;
		if (out[j] == '\r' || out[j] == '\n')
			out[j] = ' ';
		j++;
	}
	out[j] = '\0';
}

static enum status probe_run(struct probe *p, struct err *e)
{
	char reason[REASON_MAX + 1];
	enum status st;
	int fd = -1, code;

	st = connect_any(p, &fd, e);
	if (st == ST_OK)
		st = exchange(p, fd, e);
	if (fd >= 0)
		close(fd);
	if (st != ST_OK)
		return st;
	code = health_status_code(p->resp, p->n);
	if (code < 0)
		return err_set(e, ST_UNAVAILABLE, "not an HTTP answer");
	if (code != 200) {
		reason_of(p, reason, sizeof(reason));
		return err_set(e, ST_UNAVAILABLE, "%d %s", code, reason);
	}
	return ST_OK;
}

/* --timeout N: whole seconds, 1 to 300. */
static int take_timeout(const struct cmd_opt *o, const char *where, const char *value)
{
	int64_t s;

	UNUSED(where);
	if (!str_to_i64(value, 1, 300, &s))
		return cmd_usage_error("healthcheck: --timeout: '%s' is not a number of seconds "
				       "from 1 to 300",
				       value);
	*(int64_t *)o->target = s;
	return EXIT_OK;
}

int cmd_healthcheck(const struct config *cfg, int argc, char **argv)
{
	static struct probe p; /* 4 KiB of answer: off the stack */
	bool ready = false;
	int64_t timeout_s = DEFAULT_TIMEOUT_S;
	const struct cmd_opt opts[] = {CMD_FLAG("--ready", &ready),
				       {.name = "--timeout",
					.kind = CMD_KIND_VALUE,
					.target = &timeout_s,
					.needs = "a number of seconds",
					.take = take_timeout},
				       {0}};
	struct err e = {0};
	enum status st;
	int code = cmd_opts_parse("healthcheck", opts, argc - 1, argv + 1);

	if (code != EXIT_OK)
		return code;
	memset(&p, 0, sizeof(p));
	p.path = ready ? "/readyz" : "/healthz";
	if (!health_target(cfg->listen, p.host, sizeof(p.host), p.port, sizeof(p.port)))
		return cmd_usage_error("healthcheck: listen '%s' is not HOST:PORT", cfg->listen);
	snprintf(p.where, sizeof(p.where), strchr(p.host, ':') ? "[%s]:%s" : "%s:%s", p.host,
		 p.port);
	p.deadline_us = time_mono_us() + timeout_s * 1000000;
	if ((st = probe_run(&p, &e)) != ST_OK) {
		err_wrap(&e, "healthcheck: GET %s on %s", p.path, p.where);
		return cmd_fail(st, &e); /* never ST_INVALID: 1, since engines reserve 2 */
	}
	printf("healthcheck: GET %s on %s: 200\n", p.path, p.where);
	return EXIT_OK;
}
