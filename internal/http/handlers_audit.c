/*
 * handlers_audit.c - GET /audit/head: the hash chain's current head, for an
 * auditor to note or compare with a signed checkpoint (docs/audit.md).
 */
#include "base/base.h"
#include "http/http_int.h"
#include "json/jx.h"
#include "store/store_chain.h"

enum MHD_Result http_handle_audit_head(struct req *r)
{
	struct chain_head h;
	struct err e = {0};
	enum MHD_Result ret;
	json_object *body;
	enum status st = store_chain_head_get(r->app->store, &h, &e);

	if (st != ST_OK)
		return http_reply_err(r, st, &e);
	body = json_object_new_object();
	jx_add_int(body, "seq", h.seq);
	jx_add_str(body, "hash", h.hash);
	/* seqs run 1..seq without gaps, so the head's seq is also the count of entries */
	jx_add_int(body, "count", h.seq);
	jx_add_str(body, "updated_at", h.updated_at);
	jx_add_str(body, "algorithm", "sha256-chain-v1");
	ret = http_reply_json(r, MHD_HTTP_OK, body);
	json_object_put(body);
	return ret;
}
