/*
 * store_registry.c - agents and MCP servers.
 */
#include "base/base.h"
#include "store/store_registry.h"
#include "store/store_query.h"
#include "base/xalloc.h"

enum status store_mcp_server_get(struct store *st, const char *server, char **payload,
				 struct err *e)
{
	static const char sql[] = "SELECT payload FROM registry_mcp_servers "
				  "WHERE server_id = $1 OR name = $1 ORDER BY server_id LIMIT 1";
	struct store_rows *r = NULL;
	enum status rc = store_run_query(st, sql, 1, &server, &r, e);

	if (rc == ST_OK && store_rows_count(r) == 0)
		rc = err_set(e, ST_NOT_FOUND, "mcp server '%s' is not registered", server);
	if (rc == ST_OK)
		*payload = xstrdup(store_rows_get(r, 0, 0));
	store_rows_free(r);
	return rc;
}
