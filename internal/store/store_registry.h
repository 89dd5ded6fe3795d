/*
 * store_registry.h - the registry store: agents and MCP servers.
 */
#ifndef CAVRA_STORE_REGISTRY_H
#define CAVRA_STORE_REGISTRY_H

#include "store/store.h"

/*
 * The payload of the MCP server whose id or name is server, and whether the audit chain
 * vouches for its row as it stands, read in the same statement (store_record_vouched_get).
 * ST_NOT_FOUND when none is registered.  *payload is the caller's, free().
 */
ATTR_NODISCARD enum status store_mcp_server_get(struct store *st, const char *server,
						char **payload, bool *vouched, struct err *e);

#endif
