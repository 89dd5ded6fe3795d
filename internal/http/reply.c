/*
 * reply.c - JSON replies and the one table from enum status to HTTP.
 */
#include "base/base.h"
#include "http/http_int.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "json/jx.h"

#include <stdlib.h>
#include <assert.h>
#include <string.h>

/*
 * retry_after is the Retry-After of a 503, in seconds: how soon a retry has a fair chance.  A
 * timeout (a lock or the pool held by another request) usually clears within a second; a
 * database that is down or restarting takes a few; a full disk waits for an operator, so
 * clients are asked to back off longer and not hammer a replica that cannot write.
 */
static const struct {
	unsigned int http;
	const char *title;
	const char *retry_after;
} status_http[ST__COUNT] = {
	[ST_OK] = {200, "ok", NULL},
	[ST_INVALID] = {400, "invalid request", NULL},
	[ST_UNAUTHENTICATED] = {401, "unauthenticated", NULL},
	[ST_FORBIDDEN] = {403, "forbidden", NULL},
	[ST_NOT_FOUND] = {404, "not found", NULL},
	[ST_CONFLICT] = {409, "conflict", NULL},
	[ST_TOO_LARGE] = {413, "request too large", NULL},
	[ST_UNPROCESSABLE] = {422, "unprocessable request", NULL},
	[ST_UNAVAILABLE] = {503, "temporarily unavailable", "5"},
	[ST_IO] = {500, "internal error", NULL},
	[ST_INTERNAL] = {500, "internal error", NULL},
	[ST_TIMEOUT] = {503, "timed out waiting for the database", "1"},
	[ST_STORAGE_FULL] = {503, "the database's storage is full", "30"},
	/* only commands are interrupted (serve takes its signals itself): never a request */
	[ST_INTERRUPTED] = {503, "temporarily unavailable", "5"},
};

unsigned int http_reply_http_status(enum status st)
{
	if ((unsigned)st >= ST__COUNT)
		return 500;
	return status_http[st].http;
}

const char *http_req_query_arg(void *ctx, const char *name)
{
	return http_req_query(ctx, name);
}

enum MHD_Result http_reply_result(struct req *r, enum status st, unsigned int ok, char *json,
				  const struct err *e)
{
	enum MHD_Result ret =
		st == ST_OK ? http_reply_raw_json(r, ok, json) : http_reply_err(r, st, e);

	free(json);
	return ret;
}

/*
 * A parameter given without "=" ("?legal_hold") is the empty value, as "?legal_hold=" is:
 * MHD reports it with a NULL value, which read as "absent" once made "?legal_hold" mean "no
 * hold" and "?decision" no filter at all.  Every parameter then refuses the empty value.
 */
const char *http_req_query(struct req *r, const char *name)
{
	const char *v = NULL;
	size_t n = 0;

	if (MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name), &v,
					  &n) != MHD_YES)
		return NULL;
	return v ? v : "";
}

struct cookie_find {
	const char *name, *value;
	unsigned n;
};

static enum MHD_Result find_cookie(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct cookie_find *f = cls;

	UNUSED(kind);
	if (strcmp(key, f->name) == 0 && f->n++ == 0)
		f->value = value;
	return MHD_YES;
}

const char *http_req_cookie(struct req *r, const char *name, bool *twice)
{
	struct cookie_find f = {.name = name};

	MHD_get_connection_values(r->conn, MHD_COOKIE_KIND, find_cookie, &f);
	*twice = f.n > 1;
	return *twice ? NULL : f.value;
}

/*
 * Every response, error or not, goes through here so the common headers cannot be forgotten:
 * the request id for support, no-store because answers hold records and evidence that no
 * cache between client and server should keep, nosniff so a JSON body is never run as a
 * script.  MUST_COPY lets the caller free its text as soon as this returns.
 */
enum MHD_Result http_reply_text(struct req *r, unsigned int status, const char *type,
				const char *text, size_t len)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	void *copy;

	/* The copy MHD_RESPMEM_MUST_COPY would make, made here: its parameter is not const. */
	copy = xmalloc(len + 1);
	memcpy(copy, text, len);
	resp = MHD_create_response_from_buffer(len, copy, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(copy);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (r->csp) {
		MHD_add_response_header(resp, "Content-Security-Policy", r->csp);
		MHD_add_response_header(resp, "X-Frame-Options", "DENY");
		MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	}
	if (r->location)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
	if (r->set_cookie[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, r->set_cookie);
	if (r->login_cookie[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, r->login_cookie);
	if (r->retry_after)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, r->retry_after);
	if (r->www_authenticate[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					r->www_authenticate);
	if (r->allow[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
	if (r->replayed)
		MHD_add_response_header(resp, "Idempotent-Replayed", "true");
	ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	r->status = status;
	r->bytes_out = len;
	r->replied = true;
	return ret;
}

enum MHD_Result http_reply_json(struct req *r, unsigned int status, json_object *body)
{
	size_t len = 0;
	const char *s = json_object_to_json_string_length(
		body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	return http_reply_text(r, status, "application/json", s, len);
}

enum MHD_Result http_reply_error(struct req *r, unsigned int status, const char *code,
				 const char *detail)
{
	json_object *body = json_object_new_object();
	enum MHD_Result ret;

	json_object_object_add(body, "detail", json_object_new_string(detail));
	json_object_object_add(body, "code", json_object_new_string(code));
	json_object_object_add(body, "request_id", json_object_new_string(r->request_id));
	ret = http_reply_json(r, status, body);
	json_object_put(body);
	return ret;
}

/*
 * The answer comes from st, the status the call returned; e only gives the message.  A
 * Debug build asserts that e->code says the same, so a path that loses a status (or reads
 * one back from a struct err that was never filled) fails its tests instead of answering
 * a failure as something else.
 */
enum MHD_Result http_reply_err(struct req *r, enum status st, const struct err *e)
{
	unsigned int http = http_reply_http_status(st);
	const char *msg = e && e->msg[0] ? e->msg : status_name(st);

	assert(st != ST_OK && (!e || e->code == st));
	/* 5xx detail goes to the log with the request id, never to the client. */
	if (http == 503) {
		log_error("status=%s http=%u msg=\"%s\"", status_name(st), http, msg);
		if (!r->retry_after)
			r->retry_after = status_http[st].retry_after;
		return http_reply_error(r, http, status_name(st), status_http[st].title);
	}
	if (http >= 500) {
		log_error("status=%s http=%u msg=\"%s\"", status_name(st), http, msg);
		return http_reply_error(r, http, "internal", status_http[st].title);
	}
	return http_reply_error(r, http, status_name(st), msg);
}

enum MHD_Result http_reply_raw_json(struct req *r, unsigned int status, const char *json)
{
	return http_reply_text(r, status, "application/json", json, strlen(json));
}

/*
 * The content type is checked before parsing: a form post from a browser (the CSRF vector
 * that needs no preflight) is refused with 415 whatever its body looks like.
 */
json_object *http_req_body_or_reply(struct req *r, enum MHD_Result *ret)
{
	const char *ct =
		MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	enum http_media media = http_media_json(ct);
	json_object *obj = NULL;
	struct err e = {0};
	enum status st;

	if (media != HTTP_MEDIA_JSON) {
		*ret = http_reply_error(
			r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
			media == HTTP_MEDIA_BAD_CHARSET
				? "Content-Type: JSON is read as UTF-8 only (charset=utf-8)"
				: "Content-Type must be application/json");
		return NULL;
	}
	st = jx_parse_object(r->body.data, r->body.len, &obj, &e);
	if (st == ST_OK && (st = jx_check_numbers(r->body.data, r->body.len, &e)) != ST_OK) {
		json_object_put(obj);
		obj = NULL;
	}
	if (st != ST_OK) {
		*ret = http_reply_err(r, st, &e);
		return NULL;
	}
	return obj;
}
