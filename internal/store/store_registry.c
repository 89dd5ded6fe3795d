/*
 * store_registry.c - the registry's one question that the generic record
 * store (store_records.c, which keeps agents and MCP servers) cannot ask:
 * an MCP server by its id or by its unique name, for the tool-call checks,
 * with whether the audit chain vouches for its row.
 */
#include "base/base.h"
#include "store/store_registry.h"
#include "store/store_chain.h"
#include "store/store_query.h"

#include <stdlib.h>

/*
 * The server's id, then its payload with the chain's check of its row in one statement
 * (store_record_vouched_get): an unregistered server (what the pack blocks) costs one query.
 */
enum status store_mcp_server_get(struct store *st, const char *server, char **payload,
				 bool *vouched, struct err *e)
{
	static const char sql[] = "SELECT server_id FROM registry_mcp_servers "
				  "WHERE server_id = $1 OR name = $1 ORDER BY server_id LIMIT 1";
	char *id = NULL;
	enum status rc = store_run_text(st, sql, 1, &server, &id, e);

	*payload = NULL;
	*vouched = true;
	if (rc == ST_OK)
		rc = store_record_vouched_get(st, "registry_mcp_servers", id, "payload", payload,
					      vouched, e);
	if (rc == ST_OK && !*payload)
		rc = ST_NOT_FOUND; /* removed since, or a null payload: as unregistered */
	free(id);
	return rc == ST_NOT_FOUND ? err_set(e, rc, "mcp server '%s' is not registered", server)
				  : rc;
}
