/*
 * store_registry.c - the registry's one question that the generic record
 * store (store_records.c, which keeps agents and MCP servers) cannot ask:
 * an MCP server by its id or by its unique name, for the tool-call checks.
 */
#include "base/base.h"
#include "store/store_registry.h"
#include "store/store_query.h"

enum status store_mcp_server_get(struct store *st, const char *server, char **payload,
				 struct err *e)
{
	static const char sql[] = "SELECT payload FROM registry_mcp_servers "
				  "WHERE server_id = $1 OR name = $1 ORDER BY server_id LIMIT 1";
	enum status rc = store_run_text(st, sql, 1, &server, payload, e);

	return rc == ST_NOT_FOUND ? err_set(e, rc, "mcp server '%s' is not registered", server)
				  : rc;
}
