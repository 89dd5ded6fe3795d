/*
 * registry_view.c - reads an MCP server's registry record for a decision.
 *
 * The policy module is pure and knows nothing of JSON or the store, so the record is turned
 * here into the plain struct policy_evaluate takes.  The view borrows its strings from the
 * parsed record it holds, which is why it is released as a whole after the evaluation.
 * A record the audit chain does not vouch for (planted or edited in the database, or in an
 * unsigned backup restored) is marked so, and the policy blocks the call whatever it says.
 */
#include "base/base.h"
#include "service/registry_view.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "json/jx.h"
#include "store/store_registry.h"

#include <stdlib.h>
#include <string.h>

/* Borrowed strings of a JSON array field; non-strings are skipped. */
static const char **string_list(json_object *o, const char *key, size_t *n)
{
	json_object *arr = NULL;
	const char **out;
	size_t len;

	*n = 0;
	if (!json_object_object_get_ex(o, key, &arr) || !json_object_is_type(arr, json_type_array))
		return NULL;
	len = json_object_array_length(arr);
	out = xcalloc(len + 1, sizeof(*out));
	for (size_t i = 0; i < len; i++) {
		json_object *v = json_object_array_get_idx(arr, i);

		if (json_object_is_type(v, json_type_string))
			out[(*n)++] = json_object_get_string(v);
	}
	return out;
}

/*
 * An unregistered server is not an error: the pack decides what an unknown server may do.
 * Missing or unknown trust and approval values read as the most cautious ones (unknown tier,
 * pending approval), so a sloppy record can never grant more than a correct one.
 */
enum status service_registry_view_load(struct store *st, const char *server,
				       struct registry_view *out, bool *found, struct err *e)
{
	char *payload = NULL;
	bool vouched = true;
	enum status rc = store_mcp_server_get(st, server, &payload, &vouched, e);
	json_object *o = NULL;

	memset(out, 0, sizeof(*out));
	*found = false;
	if (rc == ST_NOT_FOUND)
		return ST_OK;
	if (rc != ST_OK)
		return rc;
	rc = jx_parse_object(payload, strlen(payload), &o, e);
	free(payload);
	if (rc != ST_OK)
		return err_set(e, ST_INTERNAL, "registry record of '%s' is not a JSON object",
			       server);
	out->record = o;
	out->server.trust_tier = POLICY_TIER_UNKNOWN;
	out->server.approval_state = POLICY_APPROVAL_PENDING;
	policy_tier_parse(jx_get_str(o, "trust_tier"), &out->server.trust_tier);
	/* the original's "not_required" means no approval is needed */
	if (str_eq(jx_get_str(o, "approval_state"), "not_required"))
		out->server.approval_state = POLICY_APPROVAL_APPROVED;
	else
		policy_approval_parse(jx_get_str(o, "approval_state"), &out->server.approval_state);
	out->tools = string_list(o, "allowed_tools", &out->server.allowed_tools_len);
	out->caps = string_list(o, "capabilities", &out->server.capabilities_len);
	out->server.allowed_tools = out->tools;
	out->server.capabilities = out->caps;
	out->server.unvouched = !vouched;
	*found = true;
	return ST_OK;
}

void service_registry_view_release(struct registry_view *v)
{
	if (!v)
		return;
	free(v->tools);
	free(v->caps);
	json_object_put(v->record);
	memset(v, 0, sizeof(*v));
}
