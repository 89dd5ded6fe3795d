/*
 * handlers_activity.c - decisions, sessions and policy packs (docs/policies.md).
 * Each handler parses, calls the service, and replies.
 */
#include "base/base.h"
#include "http/http_int.h"

#include <stdlib.h>
#include <strings.h>

struct key_headers {
	int n;
	const char *value;
};

static enum MHD_Result count_key(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *value)
{
	struct key_headers *h = cls;

	UNUSED(kind);
	if (strcasecmp(key, "Idempotency-Key") == 0) {
		h->n++;
		h->value = value;
	}
	return MHD_YES;
}

/*
 * The Idempotency-Key header's value, NULL when there is none.  Two are refused: the key
 * must name one request, and a proxy and this server could each take a different one.
 */
static enum status idempotency_key(struct req *r, const char **value, struct err *e)
{
	struct key_headers h = {0};

	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_key, &h);
	*value = h.value;
	if (h.n > 1)
		return err_set(e, ST_INVALID, "more than one Idempotency-Key header");
	return ST_OK;
}

/*
 * By the time a handler runs, server.c has admitted the request, authenticated the
 * caller and checked the route's permission (authn.c), so no handler checks one
 * itself; the caller passed on is what authentication established.  The decision
 * counter of /metrics moves only for a decision that was stored, so the metrics
 * and the table agree; a replay under an Idempotency-Key stored nothing new.
 */
enum MHD_Result http_handle_decision_create(struct req *r)
{
	const struct caller who = http_authn_caller(r);
	enum policy_decision outcome = POLICY_ALLOW;
	enum MHD_Result ret;
	struct err e = {0};
	char *record = NULL;
	const char *key = NULL;
	bool replayed = false;
	json_object *body = http_req_body_or_reply(r, &ret);
	enum status st;

	if (!body)
		return ret;
	st = idempotency_key(r, &key, &e);
	if (st == ST_OK)
		st = service_decision_create(r->app->svc, body, &who, key, &record, &outcome,
					     &replayed, &e);
	json_object_put(body);
	if (st == ST_OK && !replayed)
		http_metrics_decision(outcome);
	r->replayed = replayed;
	return http_reply_result(r, st, MHD_HTTP_CREATED, record, &e);
}

/*
 * The service reads the query string through http_req_query_arg, so paging and
 * filters are parsed once, in service/, for the API and the console alike; a NULL
 * session lists every session's decisions.
 */
enum MHD_Result http_handle_decision_list(struct req *r)
{
	struct err e = {0};
	char *env = NULL;
	enum status st = service_decision_list(r->app->svc, http_req_query_arg, r, NULL, &env, &e);

	return http_reply_result(r, st, MHD_HTTP_OK, env, &e);
}

enum MHD_Result http_handle_decision_get(struct req *r)
{
	return http_handle_get(r, service_decision_get);
}

enum MHD_Result http_handle_session_list(struct req *r)
{
	struct err e = {0};
	char *env = NULL;
	enum status st = service_session_list(r->app->svc, http_req_query_arg, r, &env, &e);

	return http_reply_result(r, st, MHD_HTTP_OK, env, &e);
}

enum MHD_Result http_handle_session_upsert(struct req *r)
{
	return http_handle_upsert(r, service_session_upsert);
}

enum MHD_Result http_handle_session_get(struct req *r)
{
	return http_handle_get(r, service_session_get);
}

/*
 * The session from the path is one more filter of the same list, so
 * GET /sessions/{id}/decisions pages and answers exactly as GET /decisions does.
 */
enum MHD_Result http_handle_session_decisions(struct req *r)
{
	struct err e = {0};
	char *env = NULL;
	enum status st =
		service_decision_list(r->app->svc, http_req_query_arg, r, r->params[0], &env, &e);

	return http_reply_result(r, st, MHD_HTTP_OK, env, &e);
}

/* Cannot fail: it renders the packs loaded at start, which no request changes. */
enum MHD_Result http_handle_policy_packs(struct req *r)
{
	return http_reply_result(r, ST_OK, MHD_HTTP_OK, service_policy_packs(r->app->svc), NULL);
}

enum MHD_Result http_handle_policy_pack_get(struct req *r)
{
	return http_handle_get(r, service_policy_pack_get);
}
