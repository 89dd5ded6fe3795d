/*
 * server.c - libmicrohttpd glue: the request lifecycle, request ids, the
 * size caps, the access log and the drain on shutdown.
 */
#include "base/base.h"
#include "http/http_int.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/hash.h"
#include "base/xalloc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

struct http_server {
	struct MHD_Daemon *daemon;
	struct app *app;
	struct guard *guard;
	atomic_int active; /* requests between first call and completion */
	_Atomic int64_t last_activity_us; /* monotonic time a request last started or ended */
};

#define DRAIN_SETTLE_US 300000 /* quiet time after which idle connections may close */

/* Accepts a caller's X-Request-Id when it is short and plain, else makes one. */
/*
 * A caller's id is kept so that one id follows a call through the harness, a proxy and us;
 * only short ids of plain characters are taken, since the id is echoed in a header and
 * written into every log line of the request.
 */
static void assign_request_id(struct req *r)
{
	const char *given = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Request-Id");
	size_t n = given ? strlen(given) : 0;
	bool ok = n > 0 && n < sizeof(r->request_id);

	for (size_t i = 0; ok && i < n; i++)
		ok = isalnum((unsigned char)given[i]) || strchr("-_.:", given[i]);
	if (ok) {
		memcpy(r->request_id, given, n + 1);
		return;
	}
	memcpy(r->request_id, "req_", 4);
	if (random_hex(r->request_id + 4, 12, NULL) != ST_OK)
		snprintf(r->request_id + 4, sizeof(r->request_id) - 4, "%llx",
			 (unsigned long long)time_mono_us());
}

static struct req *req_new(struct http_server *srv, struct MHD_Connection *conn, const char *method,
			   const char *url)
{
	struct req *r = xcalloc(1, sizeof(*r));

	r->app = srv->app;
	r->conn = conn;
	r->method = method;
	r->path = url;
	r->started_us = time_mono_us();
	buf_init(&r->body, srv->app->max_body_bytes);
	assign_request_id(r);
	atomic_fetch_add(&srv->active, 1);
	atomic_store(&srv->last_activity_us, r->started_us);
	return r;
}

static void req_free(struct req *r)
{
	buf_release(&r->body);
	auth_principal_release(&r->who);
	free(r->csrf_token);
	for (int i = 0; i < r->nparams; i++)
		free(r->params[i]);
	free(r);
}

/*
 * Our caps on the request line and the header block, answered with our
 * JSON 414 and 431.  The header cap leaves room for an oversized bearer
 * token (~120 KB) to reach authn and get a 401.  MHD's buffer is larger
 * than both so that a request just over them still reaches us; only one
 * over MHD's buffer gets MHD's own (HTML) 414 or 431.
 */
#define HTTP_MAX_URI_BYTES     8192
#define HTTP_MAX_HEADER_BYTES  ((size_t)128 * 1024)
#define HTTP_CONNECTION_MEMORY (256 * 1024)

static enum MHD_Result add_arg_len(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	size_t *n = cls;

	UNUSED(kind);
	*n += strlen(key) + (value ? strlen(value) + 1 : 0) + 1;
	return MHD_YES;
}

/* 414 or 431 unless the request line and the header block are within our caps. */
static bool sizes_or_reply(struct req *r, enum MHD_Result *ret)
{
	const union MHD_ConnectionInfo *hs =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
	size_t uri = strlen(r->path);

	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, add_arg_len, &uri);
	if (uri > HTTP_MAX_URI_BYTES) {
		*ret = http_reply_error(r, MHD_HTTP_URI_TOO_LONG, "uri_too_long",
					"the request URI is over 8192 bytes");
		return false;
	}
	if (hs && hs->header_size > HTTP_MAX_HEADER_BYTES) {
		*ret = http_reply_error(r, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE,
					"headers_too_large",
					"the request headers are over 131072 bytes");
		return false;
	}
	return true;
}

static bool route_or_reply(struct req *r, enum MHD_Result *ret)
{
	switch (http_router_match(r, r->allow, sizeof(r->allow))) {
	case ROUTE_NO_PATH:
		*ret = http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no such route");
		return false;
	case ROUTE_BAD_METHOD:
		*ret = http_reply_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
					"method not allowed on this route");
		return false;
	case ROUTE_FOUND:
	default:
		return true;
	}
}

struct framing {
	unsigned int lengths, codings, hosts;
	bool chunked, spaced;
};

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	struct framing *f = cls;

	UNUSED(kind);
	if (key[strcspn(key, " \t")])
		f->spaced = true;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
		f->lengths++;
	if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0)
		f->hosts++;
	if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		f->codings++;
		f->chunked = value && strcasecmp(value, "chunked") == 0;
	}
	return MHD_YES;
}

/*
 * Where the body ends must not be open to two readings: with two Content-Length headers MHD
 * reads the first, with Transfer-Encoding and Content-Length it reads the chunks, and a proxy
 * in front may take the other, so the bytes one of them counts as body the other reads as the
 * next request (request smuggling).  Such a request, or one whose Transfer-Encoding is not
 * plain "chunked" (MHD knows no other, and waited for a body it could not find the end of),
 * is refused before its body is read; the connection is closed after the answer.  So is a
 * header name with a space or tab in it ("Content-Length : 5"): RFC 9112 says to refuse it,
 * MHD keeps it as a header of another name, and a proxy in front may frame the body by it.
 * Two Host headers likewise (RFC 9112 says 400): MHD and the console's host check read the
 * first, a proxy in front may route or check by the other.
 */
static bool framing_or_reply(struct req *r, enum MHD_Result *ret)
{
	struct framing f = {0};

	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_framing, &f);
	if (f.lengths <= 1 && f.codings == 0 && !f.spaced && f.hosts <= 1)
		return true;
	if (f.hosts > 1)
		*ret = http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid",
					"the request has more than one Host header");
	else if (f.spaced)
		*ret = http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid",
					"a header name has a space or tab in it (none may stand "
					"before the colon)");
	else if (f.lengths > 1)
		*ret = http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid",
					"the request has more than one Content-Length header");
	else if (f.codings > 1 || !f.chunked)
		*ret = http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid",
					"Transfer-Encoding must be 'chunked', given once");
	else if (f.lengths)
		*ret = http_reply_error(
			r, MHD_HTTP_BAD_REQUEST, "invalid",
			"the request has both Transfer-Encoding and Content-Length");
	else
		return true;
	return false;
}

/* A declared Content-Length over the cap is refused before any of it is read. */
static bool length_or_reply(struct req *r, enum MHD_Result *ret)
{
	const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	char *end = NULL;
	unsigned long long n;

	if (!cl)
		return true;
	n = strtoull(cl, &end, 10);
	if (end == cl || *end || n <= r->app->max_body_bytes)
		return true; /* MHD answers a malformed length itself */
	*ret = http_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
				"request body is over the limit");
	return false;
}

/*
 * MHD's first call: the headers are in, the body is not read yet.  Sizes,
 * route, credentials and permission are decided here, so that a refused
 * request's body is never read: MHD sends an answer queued this early
 * without a 100 Continue and closes the connection after it.
 */
static enum MHD_Result admit(struct http_server *srv, struct req *r)
{
	enum MHD_Result ret = MHD_YES;

	http_guard_phase(srv->guard, r->conn, GUARD_BODY);
	log_set_request_id(r->request_id);
	if (framing_or_reply(r, &ret) && sizes_or_reply(r, &ret) && route_or_reply(r, &ret) &&
	    http_authn_check(r, &ret))
		(void)length_or_reply(r, &ret);
	log_set_request_id(NULL);
	return ret;
}

/* The last call: the body is in. */
static enum MHD_Result dispatch(struct req *r)
{
	enum MHD_Result ret;

	if (r->body_too_large)
		return http_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
					"request body is over the limit");
	if (!http_input_ok_or_reply(r, &ret))
		return ret;
	/* one thread per connection: the thread serves this request until the handler returns */
	store_deadline_set(r->app->request_timeout_ms > 0
				   ? time_mono_us() + r->app->request_timeout_ms * 1000
				   : 0);
	ret = r->route->handler(r);
	store_deadline_set(0);
	return ret;
}

/*
 * MHD calls this once with the headers, once per body chunk (if any), and once more with
 * *upload_data_size 0 at the end.  A body over the cap is still drained (and
 * dropped), because MHD must read it to keep the connection's framing intact; the 413 is sent
 * at the end.
 */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct http_server *srv = cls;
	struct req *r = *req_cls;
	enum MHD_Result ret;

	UNUSED(version);
	if (!r) {
		*req_cls = r = req_new(srv, conn, method, url);
		return admit(srv, r);
	}
	if (*upload_data_size) {
		if (!r->body_too_large &&
		    buf_add(&r->body, upload_data, *upload_data_size, NULL) != ST_OK) {
			r->body_too_large = true;
			buf_release(&r->body);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->replied)
		return MHD_YES;
	http_guard_phase(srv->guard, conn, GUARD_HANDLER);
	log_set_request_id(r->request_id);
	ret = dispatch(r);
	log_set_request_id(NULL);
	return ret;
}

/*
 * The path as the access line shows it: MHD decoded it, so a client's "%20status=201" would
 * read as a field of its own.  Spaces, control bytes, quotes, backslashes and '%' itself are
 * encoded again (%XX); everything else is the path as routed.
 */
static char *log_path(const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)(path ? path : "");
	char *out = xmalloc(strlen((const char *)p) * 3 + 1), *o = out;

	for (; *p; p++) {
		if (*p <= 0x20 || *p == 0x7f || *p == '"' || *p == '\\' || *p == '%') {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		} else {
			*o++ = (char)*p;
		}
	}
	*o = '\0';
	return out;
}

/*
 * The one access-log line per request is written here, after the reply went out, so that it
 * carries the final status and the full duration.  last_activity_us is updated after the
 * request is freed so the drain in http_stop sees it only once nothing of it is left.
 */
static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct req *r = *req_cls;
	char *path;
	double ms;

	if (!r)
		return;
	http_guard_phase(srv->guard, conn, GUARD_IDLE); /* until the next request's headers */
	ms = (double)(time_mono_us() - r->started_us) / 1000.0;
	http_metrics_observe(r, ms);
	log_set_request_id(r->request_id);
	path = log_path(r->path);
	log_info("access method=%s path=%s route=%s status=%u bytes=%zu ms=%.2f%s", r->method, path,
		 r->route ? r->route->pattern : "-", r->status, r->bytes_out, ms,
		 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=true");
	free(path);
	log_set_request_id(NULL);
	req_free(r);
	*req_cls = NULL;
	atomic_store(&srv->last_activity_us, time_mono_us());
	atomic_fetch_sub(&srv->active, 1);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	UNUSED(cls);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_warn("http: %s", msg);
}

/*
 * MHD's unescaping of the path and of each query name and value, except that a %00 does not
 * become a NUL: every handler reads these as C strings, so "/decisions/ID%00x" read ID and
 * "?limit=1%00x" read 1, without a word.  The byte becomes 0xFF instead, which is never UTF-8,
 * so input.c's check refuses the request (400) before any handler runs.
 */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	size_t n = MHD_http_unescape(s);
	char *nul;

	UNUSED(cls);
	UNUSED(conn);
	while ((nul = memchr(s, '\0', n)) != NULL)
		*nul = (char)0xFF;
	return n;
}

/* "HOST:PORT" or "[v6]:PORT" -> a socket address. */
static enum status resolve_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len,
				  struct err *e)
{
	const char *colon = strrchr(listen, ':');
	struct addrinfo hints = {0}, *res = NULL;
	char host[256];
	size_t hl;
	int rc;

	if (!colon)
		return err_set(e, ST_INVALID, "listen '%s': expected HOST:PORT", listen);
	hl = (size_t)(colon - listen);
	if (hl >= 2 && listen[0] == '[' && listen[hl - 1] == ']') {
		listen++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return err_set(e, ST_INVALID, "listen: bad host");
	memcpy(host, listen, hl);
	host[hl] = '\0';
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc != 0)
		return err_set(e, ST_INVALID, "listen '%s': %s", host, gai_strerror(rc));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return ST_OK;
}

static struct MHD_Daemon *start_daemon(struct http_server *srv, unsigned int flags,
				       const struct sockaddr_storage *ss)
{
	/* Above ours: http_guard_accept refuses first, and counts it. */
	unsigned int mhd_limit = srv->app->max_connections + 16;

	return MHD_start_daemon(flags, 0, http_guard_accept, srv->guard, on_request, srv,
				MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
				(const struct sockaddr *)ss, MHD_OPTION_NOTIFY_COMPLETED,
				on_completed, srv, MHD_OPTION_NOTIFY_CONNECTION, http_guard_notify,
				srv->guard, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60,
				MHD_OPTION_CONNECTION_LIMIT, mhd_limit,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONNECTION_MEMORY,
				MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_END);
}

enum status http_start(struct app *app, const char *listen, struct http_server **out, struct err *e)
{
	struct sockaddr_storage ss;
	struct http_server *srv;
	socklen_t len;
	/* poll, not select: descriptors past FD_SETSIZE (1024) must work */
	unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD |
			     MHD_USE_ITC | MHD_USE_ERROR_LOG;
	struct guard_limits lim = {app->max_connections, app->max_connections_per_ip,
				   app->header_timeout_seconds, app->body_timeout_seconds};
	enum status st = resolve_listen(listen, &ss, &len, e);

	if (st != ST_OK)
		return st;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	srv = xcalloc(1, sizeof(*srv));
	srv->app = app;
	st = http_guard_new(&lim, &srv->guard, e);
	if (st == ST_OK && !(srv->daemon = start_daemon(srv, flags, &ss)))
		st = err_set(e, ST_IO, "listen on '%s': cannot bind (address in use or not local?)",
			     listen);
	if (st != ST_OK) {
		http_guard_free(srv->guard);
		free(srv);
		return st;
	}
	*out = srv;
	return ST_OK;
}

static unsigned int open_connections(struct http_server *srv)
{
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return info ? info->num_connections : 0;
}

void http_stop(struct http_server *srv, int64_t grace_ms)
{
	int64_t deadline;
	MHD_socket fd;

	if (!srv)
		return;
	fd = MHD_quiesce_daemon(srv->daemon);
	deadline = time_mono_us() + grace_ms * 1000;
	/*
	 * Wait for running requests, and give connections that were accepted
	 * just before the listener closed a moment to send theirs.
	 */
	while (time_mono_us() < deadline) {
		int64_t now = time_mono_us();

		if (atomic_load(&srv->active) == 0 &&
		    (open_connections(srv) == 0 ||
		     now - atomic_load(&srv->last_activity_us) > DRAIN_SETTLE_US))
			break;
		usleep(10000);
	}
	if (atomic_load(&srv->active) > 0)
		log_warn("shutdown: %d requests still running after %lld ms, closing them",
			 atomic_load(&srv->active), (long long)grace_ms);
	MHD_stop_daemon(srv->daemon);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	http_guard_free(srv->guard);
	free(srv);
}
