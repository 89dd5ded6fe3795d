/*
 * http.h - the HTTP server (libmicrohttpd): routes, JSON replies, request
 * ids, the access log, and a graceful drain on shutdown.
 */
#ifndef CAVRA_HTTP_H
#define CAVRA_HTTP_H

#include "base/base.h"
#include "base/err.h"
#include "migrate/migrate.h"
#include "service/seals.h"
#include "service/service.h"
#include "store/store.h"

struct auth_issuers;
struct auth_mapping;

enum http_auth_mode { HTTP_AUTH_NONE = 0, HTTP_AUTH_OIDC };

struct auth_oidc;

/* The scheme and authority of an http(s) URL: what browsers keep cookies apart by. */
struct http_origin {
	bool https;
	char host[256]; /* lowercase; an IPv6 address keeps its brackets */
	unsigned int port; /* the scheme's default when the URL names none */
};

/*
 * Fills o from url ("https://host[:port][/path]").  ST_INVALID for another scheme, an empty,
 * malformed or over-long host[:port], and a user:password@ (an address browsers use has
 * none, and it would be logged and sent in every redirect).
 */
ATTR_NODISCARD enum status http_origin_parse(const char *url, struct http_origin *o, struct err *e);
/* Whether o's host is this machine: 127.0.0.0/8, [::1] or localhost. */
bool http_origin_loopback(const struct http_origin *o);
/*
 * Whether a Host header ("host[:port]", any case) names o's host and port; a Host without a
 * port stands for the default port of o's scheme.  False for NULL or a malformed Host.
 */
bool http_origin_host_matches(const struct http_origin *o, const char *host);

/* The console's login (auth_mode oidc with a client id); docs/console.md. */
struct http_console {
	struct auth_oidc *provider; /* the issuer people log in with (borrowed) */
	const char *client_id, *client_secret, *redirect_uri, *scopes;
	const char *home_uri, *home_uri_encoded; /* <public url>/console/, for after logout */
	const char *public_url; /* console_public_url without its trailing '/' */
	struct http_origin origin; /* ... its scheme, host and port */
	int64_t session_seconds;
	int64_t max_pending_logins; /* logins in flight before /console/login answers 503 */
	bool secure_cookie; /* the public URL is https */
	bool trust_forwarded_proto; /* X-Forwarded-Proto: https also makes it Secure */
	struct seal_key seal_key; /* of client_secret: seals its rows (service/seals.h) */
};

/* How requests are authenticated (docs/security.md). */
struct http_auth {
	enum http_auth_mode mode;
	struct auth_issuers *issuers; /* trusted OIDC issuers (oidc mode) */
	const struct auth_mapping *mapping; /* IdP groups -> roles */
	bool metrics_public; /* /metrics without credentials */
	const struct http_console *console; /* NULL: no console login */
};

/* /readyz answers within about this long (its own waits on the database). */
#define HTTP_READY_TIMEOUT_MS 1500

/* What handlers need; borrowed by the server for its whole life. */
struct app {
	struct store *store;
	struct store *probe; /* /readyz's own connection; NULL: use store */
	int64_t request_timeout_ms; /* deadline for a request's waits on the database; 0: none */
	const struct migration_set *migrations;
	struct service *svc;
	const struct http_auth *auth; /* NULL: mode none */
	size_t max_body_bytes;
	/* connection caps and read deadlines (docs/config.md) */
	unsigned int max_connections, max_connections_per_ip;
	int64_t header_timeout_seconds, body_timeout_seconds;
};

struct http_server;

/*
 * Starts listening on listen ("HOST:PORT") with one thread per connection.
 * On success *out is owned by the caller, stop it with http_stop().
 */
ATTR_NODISCARD enum status http_start(struct app *app, const char *listen, struct http_server **out,
				      struct err *e);

/*
 * Stops accepting connections, waits up to grace_ms for in-flight requests
 * to finish, then closes everything.  NULL-safe.
 */
void http_stop(struct http_server *srv, int64_t grace_ms);

/*
 * What serve's checkpoint writer last found, for GET /metrics (shown from the first call on):
 * the breaks its last check found, the seq of the last checkpoint it signed (-1: none yet) and,
 * when the check found none, now as the time of the last clean check (unix seconds).
 */
void http_metrics_checkpoint(int64_t breaks, int64_t signed_seq, int64_t now_s);

#endif
