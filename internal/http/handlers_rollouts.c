/*
 * handlers_rollouts.c - GET /policy-rollouts/{id}/detail (and its alias
 * /policy-rollout-details/{id}), POST /policy-rollouts/{id}/change-plan and
 * /apply-change, and the original's forms of the last two with the id in
 * the body (docs/api.md, "Policy rollout drill-down").
 */
#include "base/base.h"
#include "http/http_int.h"

#include <stdlib.h>

enum MHD_Result http_handle_rollout_detail(struct req *r)
{
	struct err e = {0};
	char *out = NULL;
	enum status st = service_rollout_detail(r->app->svc, r->params[0], &out, &e);

	return http_reply_result(r, st, MHD_HTTP_OK, out, &e);
}

/* The path's {id}, or NULL on the routes that take it from the body. */
static const char *path_id(const struct req *r)
{
	return r->nparams > 0 ? r->params[0] : NULL;
}

enum MHD_Result http_handle_rollout_plan(struct req *r)
{
	enum MHD_Result ret;
	struct err e = {0};
	char *out = NULL;
	json_object *body = http_req_body_or_reply(r, &ret);
	enum status st;

	if (!body)
		return ret;
	st = service_rollout_plan(r->app->svc, path_id(r), body, &out, &e);
	json_object_put(body);
	return http_reply_result(r, st, MHD_HTTP_OK, out, &e);
}

enum MHD_Result http_handle_rollout_apply(struct req *r)
{
	const struct caller who = http_authn_caller(r);
	enum MHD_Result ret;
	struct err e = {0};
	char *out = NULL;
	json_object *body = http_req_body_or_reply(r, &ret);
	enum status st;

	if (!body)
		return ret;
	st = service_rollout_apply(r->app->svc, path_id(r), body, &who, &out, &e);
	json_object_put(body);
	return http_reply_result(r, st, MHD_HTTP_OK, out, &e);
}
