/*
 * handlers_activity.c - decisions, sessions and policy packs (docs/policies.md).
 * Each handler parses, calls the service, and replies.
 */
#include "base/base.h"
#include "http/http_int.h"

#include <stdlib.h>

/*
 * By the time a handler runs, server.c has admitted the request, authenticated the
 * caller and checked the route's permission (authn.c), so no handler checks one
 * itself; the caller passed on is what authentication established.  The decision
 * counter of /metrics moves only for a decision that was stored, so the metrics
 * and the table agree.
 */
enum MHD_Result http_handle_decision_create(struct req *r)
{
	const struct caller who = http_authn_caller(r);
	enum policy_decision outcome = POLICY_ALLOW;
	enum MHD_Result ret;
	struct err e = {0};
	char *record = NULL;
	json_object *body = http_req_body_or_reply(r, &ret);
	enum status st;

	if (!body)
		return ret;
	st = service_decision_create(r->app->svc, body, &who, &record, &outcome, &e);
	json_object_put(body);
	if (st == ST_OK)
		http_metrics_decision(outcome);
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
