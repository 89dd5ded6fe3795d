/*
 * registry_view.h - private to internal/service: an MCP server's registry
 * record as the policy function sees it.
 */
#ifndef CAVRA_SERVICE_REGISTRY_VIEW_H
#define CAVRA_SERVICE_REGISTRY_VIEW_H

#include "policy/policy.h"
#include "store/store.h"

#include <json-c/json.h>

struct registry_view {
	struct policy_mcp_server server; /* lists borrow from record */
	json_object *record;
	const char **tools, **caps;
};

/* Looks the server up by id or name; *found is false when it is not registered. */
ATTR_NODISCARD enum status service_registry_view_load(struct store *st, const char *server,
						      struct registry_view *out, bool *found,
						      struct err *e);
void service_registry_view_release(struct registry_view *v);

#endif
