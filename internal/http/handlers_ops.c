/*
 * handlers_ops.c - GET /operations/stores and GET /operations/retention-plan
 * (docs/operations.md).  Both only read; backup and restore are never reachable over
 * HTTP.
 */
#include "base/base.h"
#include "http/http_int.h"
#include "ops/ops.h"

enum MHD_Result http_handle_operations_stores(struct req *r)
{
	json_object *doc = NULL;
	struct err e = {0};
	enum MHD_Result ret;
	enum status st = ops_stores(r->app->store, &doc, &e);

	if (st != ST_OK)
		return http_reply_err(r, st, &e);
	ret = http_reply_json(r, MHD_HTTP_OK, doc);
	json_object_put(doc);
	return ret;
}

/* ?retention_days=&classification=&legal_hold=, parsed as the CLI parses its flags. */
enum MHD_Result http_handle_operations_retention_plan(struct req *r)
{
	struct ops_retention_opts o;
	json_object *plan = NULL;
	struct err e = {0};
	enum MHD_Result ret;
	enum status st = ops_retention_opts_parse(http_req_query(r, "retention_days"),
						  http_req_query(r, "classification"),
						  http_req_query(r, "legal_hold"), &o, &e);

	if (st == ST_OK)
		st = ops_retention_plan(r->app->store, &o, &plan, &e);
	if (st != ST_OK)
		return http_reply_err(r, st, &e);
	ret = http_reply_json(r, MHD_HTTP_OK, plan);
	json_object_put(plan);
	return ret;
}
