/*
 * http_int.h - private to internal/http: the request, routes and replies.
 */
#ifndef CAVRA_HTTP_INT_H
#define CAVRA_HTTP_INT_H

#include "http/http.h"
#include "auth/auth.h"
#include "base/buf.h"

#include <json-c/json.h>
#include <microhttpd.h>

#define HTTP_MAX_PARAMS	    4
#define HTTP_SESSION_COOKIE "cavra_console_session"
/* Binds a login in flight to the browser that started it (login CSRF). */
#define HTTP_LOGIN_COOKIE "cavra_console_login"
/*
 * A console cookie's name: with the __Host- prefix when the cookie is Secure.  A browser keeps
 * a __Host- cookie only when it came over https without a Domain and with Path=/, so no other
 * site of the domain can set one beside ours (cookie tossing); a cookie without the prefix is
 * then not read at all.
 */
#define HTTP_SESSION_COOKIE_HOST "__Host-" HTTP_SESSION_COOKIE
#define HTTP_LOGIN_COOKIE_HOST	 "__Host-" HTTP_LOGIN_COOKIE

static inline const char *http_session_cookie(bool secure)
{
	return secure ? HTTP_SESSION_COOKIE_HOST : HTTP_SESSION_COOKIE;
}

static inline const char *http_login_cookie(bool secure)
{
	return secure ? HTTP_LOGIN_COOKIE_HOST : HTTP_LOGIN_COOKIE;
}

struct route;

/* One request; allocated on MHD's first call, freed when it completes. */
struct req {
	struct app *app;
	struct MHD_Connection *conn;
	const char *method; /* borrowed from MHD */
	const char *path; /* decoded by MHD; borrowed */
	char request_id[40];
	struct buf body;
	bool body_too_large;
	const struct route *route;
	char *params[HTTP_MAX_PARAMS]; /* path parameters, owned */
	int nparams;
	int64_t started_us;
	unsigned int status;
	size_t bytes_out;
	bool replied;
	char allow[64]; /* Allow header of a 405 */
	char www_authenticate[256]; /* WWW-Authenticate of a 401, "" otherwise */
	struct auth_principal who; /* the caller (kind NONE in auth mode none) */
	char *csrf_token; /* the console session's, when the caller came with its cookie */
	const char *csp; /* Content-Security-Policy of a console page, or NULL */
	const char *location; /* Location of a redirect, or NULL */
	char set_cookie[256]; /* Set-Cookie, "" for none */
	char login_cookie[192]; /* a second Set-Cookie, the pre-login cookie's; "" for none */
	const char *retry_after; /* Retry-After of a 503, or NULL */
	bool replayed; /* the answer is a stored one: Idempotent-Replayed: true */
};

typedef enum MHD_Result (*handler_fn)(struct req *r);

struct route {
	const char *method;
	const char *pattern; /* "/sessions/{id}"; "{id+}" may span '/' */
	handler_fn handler;
	const char *permission; /* enforced by the auth layer */
};

/* All routes, terminated by a zero entry (router.c). */
extern const struct route http_routes[];

enum route_match { ROUTE_FOUND, ROUTE_NO_PATH, ROUTE_BAD_METHOD };

/* Finds the route for method and path; fills r->route and r->params. */
enum route_match http_router_match(struct req *r, char *allow, size_t allow_size);

/* reply.c: the only place that maps enum status to HTTP. */
unsigned int http_reply_http_status(enum status st);
/* Sends text of the given Content-Type with the common headers (copied). */
enum MHD_Result http_reply_text(struct req *r, unsigned int status, const char *type,
				const char *text, size_t len);
enum MHD_Result http_reply_json(struct req *r, unsigned int status, json_object *body);
enum MHD_Result http_reply_err(struct req *r, enum status st, const struct err *e);
enum MHD_Result http_reply_error(struct req *r, unsigned int status, const char *code,
				 const char *detail);
/*
 * media.c: what a request's Content-Type says of its body.  JSON is application/json, in any
 * case, with parameters; a charset parameter other than utf-8 (RFC 8259: JSON exchanged
 * between systems is UTF-8) is refused rather than ignored, and so is a malformed header.
 */
enum http_media { HTTP_MEDIA_JSON, HTTP_MEDIA_OTHER, HTTP_MEDIA_BAD_CHARSET };
enum http_media http_media_json(const char *ct);
/* A query-string argument, borrowed from MHD; NULL when absent. */
const char *http_req_query(struct req *r, const char *name);
/*
 * The value of the cookie name, or NULL when absent; *twice is set when the request carries
 * it more than once (then the value is NULL too).  A second cookie of one name is what a site
 * of a parent or sibling domain can add beside ours ("cookie tossing"), and a browser sends it
 * first when its path is longer: taking the first would log the browser into that session.
 */
const char *http_req_cookie(struct req *r, const char *name, bool *twice);
/*
 * Whether the console's cookies are Secure for this request: the public URL is https, or a
 * trusted proxy says the request came over https (X-Forwarded-Proto).  False without c.
 */
bool http_console_secure(const struct req *r, const struct http_console *c);
/* http_req_query as a service_arg_fn (ctx is the struct req). */
const char *http_req_query_arg(void *ctx, const char *name);
/* Replies json (owned, freed here) with status ok, or the error when st is not ST_OK. */
enum MHD_Result http_reply_result(struct req *r, enum status st, unsigned int ok, char *json,
				  const struct err *e);

/*
 * Parses the body as a JSON object, or replies 415 (not JSON) / 400 and
 * returns NULL.  The object is the caller's (json_object_put).
 */
json_object *http_req_body_or_reply(struct req *r, enum MHD_Result *ret);
/* Sends a JSON text body as is. */
enum MHD_Result http_reply_raw_json(struct req *r, unsigned int status, const char *json);

/*
 * authn.c: authenticates the caller and checks the route's permission.
 * True when the request may go on; otherwise it has replied (401, 403 or
 * 503) into *ret and logged the denial.
 */
bool http_authn_check(struct req *r, enum MHD_Result *ret);
/* The caller as the service layer sees it (borrows from r->who). */
struct caller http_authn_caller(const struct req *r);

/* Why a connection was refused or cut off (guard.c; counted in /metrics). */
enum http_refusal {
	HTTP_REFUSE_PER_IP,
	HTTP_REFUSE_TOTAL,
	HTTP_REFUSE_HEADER_TIMEOUT,
	HTTP_REFUSE_BODY_TIMEOUT,
	HTTP_REFUSE__COUNT
};

/*
 * input.c: true when the path, every query parameter and the body are valid
 * UTF-8; otherwise it has replied 400 into *ret.
 */
bool http_input_ok_or_reply(struct req *r, enum MHD_Result *ret);

/* metrics.c */
void http_metrics_observe(const struct req *r, double ms);
void http_metrics_decision(enum policy_decision d);
void http_metrics_refusal(enum http_refusal why);

/*
 * guard.c: connection caps and read deadlines.  http_guard_accept is MHD's
 * accept policy and http_guard_notify its connection notice (cls: the guard).
 */
struct guard;
struct guard_limits {
	unsigned int max_connections, max_per_ip; /* max_per_ip 0: no per-address cap */
	int64_t header_timeout_s, body_timeout_s;
};
enum http_guard_phase { GUARD_HEADERS, GUARD_BODY, GUARD_HANDLER, GUARD_IDLE };

/* Starts the watchdog; *out is the caller's, free with http_guard_free() (NULL-safe). */
enum status http_guard_new(const struct guard_limits *lim, struct guard **out, struct err *e);
void http_guard_free(struct guard *g);
enum MHD_Result http_guard_accept(void *cls, const struct sockaddr *addr, socklen_t len);
void http_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		       enum MHD_ConnectionNotificationCode code);
/*
 * Called from the connection's thread as a request moves on: GUARD_BODY
 * when its headers are in (the body deadline starts), GUARD_HANDLER when
 * the body is in (no deadline), GUARD_IDLE when it is answered (a kept-alive
 * connection gets the header deadline for its next request; closing it then
 * is not a refusal).
 */
void http_guard_phase(struct guard *g, struct MHD_Connection *conn, enum http_guard_phase p);

/* handlers_*.c */
enum MHD_Result http_handle_metrics(struct req *r);
enum MHD_Result http_handle_decision_create(struct req *r);
enum MHD_Result http_handle_decision_list(struct req *r);
enum MHD_Result http_handle_decision_get(struct req *r);
enum MHD_Result http_handle_session_list(struct req *r);
enum MHD_Result http_handle_session_upsert(struct req *r);
enum MHD_Result http_handle_session_get(struct req *r);
enum MHD_Result http_handle_session_decisions(struct req *r);
enum MHD_Result http_handle_policy_packs(struct req *r);
enum MHD_Result http_handle_policy_pack_get(struct req *r);
enum MHD_Result http_handle_healthz(struct req *r);
/* handlers_records.c */
/*
 * The service call behind a create-or-update endpoint (POST /sessions,
 * /approvals, /<record kind>): stores req for who and says in *created
 * whether the record is new.
 */
typedef enum status (*upsert_fn)(struct service *s, json_object *req, const struct caller *who,
				 char **record, bool *created, struct err *e);
/* The service call behind GET /<noun>/{id}. */
typedef enum status (*get_fn)(struct service *s, const char *id, char **record, struct err *e);
/*
 * The one create-or-update path: reads the body, calls fn and answers 201
 * with the record when fn created it, 200 when it updated or found one.
 */
enum MHD_Result http_handle_upsert(struct req *r, upsert_fn fn);
/* Answers 200 with the record fn finds for the path's {id}. */
enum MHD_Result http_handle_get(struct req *r, get_fn fn);
#define RECORD_HANDLER_DECLS(name)                                \
	enum MHD_Result http_handle_##name##_list(struct req *r); \
	enum MHD_Result http_handle_##name##_get(struct req *r);  \
	enum MHD_Result http_handle_##name##_upsert(struct req *r)
RECORD_HANDLER_DECLS(evidence);
RECORD_HANDLER_DECLS(agent);
RECORD_HANDLER_DECLS(mcp_server);
RECORD_HANDLER_DECLS(repository);
RECORD_HANDLER_DECLS(rollout);
RECORD_HANDLER_DECLS(integration);
enum MHD_Result http_handle_approval_list(struct req *r);
enum MHD_Result http_handle_approval_get(struct req *r);
enum MHD_Result http_handle_approval_create(struct req *r);
enum MHD_Result http_handle_approval_approve(struct req *r);
enum MHD_Result http_handle_approval_deny(struct req *r);
enum MHD_Result http_handle_approval_expire(struct req *r);
enum MHD_Result http_handle_break_glass(struct req *r);
enum MHD_Result http_handle_mcp_trust(struct req *r);
enum MHD_Result http_handle_whoami(struct req *r);
/* handlers_rollouts.c: a rollout's drill-down, change plan and apply (the id in the path or body)
 */
enum MHD_Result http_handle_rollout_detail(struct req *r);
enum MHD_Result http_handle_rollout_plan(struct req *r);
enum MHD_Result http_handle_rollout_apply(struct req *r);
/* handlers_console.c */
enum MHD_Result http_handle_console_root(struct req *r);
enum MHD_Result http_handle_console_index(struct req *r);
enum MHD_Result http_handle_console_file(struct req *r);
enum MHD_Result http_handle_console_login(struct req *r);
enum MHD_Result http_handle_console_callback(struct req *r);
enum MHD_Result http_handle_console_logout(struct req *r);
enum MHD_Result http_handle_readyz(struct req *r);
enum MHD_Result http_handle_version(struct req *r);
enum MHD_Result http_handle_console_config(struct req *r); /* handlers_health.c */
/* handlers_ops.c */
enum MHD_Result http_handle_operations_stores(struct req *r);
enum MHD_Result http_handle_operations_retention_plan(struct req *r);
/* handlers_audit.c */
enum MHD_Result http_handle_audit_head(struct req *r);

#endif
