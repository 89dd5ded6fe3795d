/*
 * store_registry.c - the registry's one question that the generic record
 * store (store_records.c, which keeps agents and MCP servers) cannot ask:
 * an MCP server by its id or by its unique name, for the tool-call checks,
 * with whether the audit chain vouches for its row, read in one snapshot.
 */
#include "base/base.h"
#include "store/store_registry.h"
#include "store/store_chain.h"
#include "store/store_query.h"

#include <stddef.h>
#include <stdlib.h>

struct server_row {
	char *server_id, *payload;
};

static const struct store_field server_field[] = {
	STORE_FIELD(struct server_row, server_id, TEXT),
	STORE_FIELD(struct server_row, payload, TEXT),
};
static const char server_sql[] = "SELECT server_id, payload FROM registry_mcp_servers "
				 "WHERE server_id = $1 OR name = $1 ORDER BY server_id LIMIT 1";
static const struct store_fields server_fields = {server_field, ARRAY_SIZE(server_field),
						  sizeof(struct server_row)};

/* The row, and whether the chain vouches for it, in one snapshot. */
static enum status vouched_row(struct store *st, const char *server, struct server_row *row,
			       bool *vouched, struct err *e)
{
	struct store_conn *c = NULL;
	enum status rc = store_conn_get(st, &c, e);

	if (rc == ST_OK)
		rc = store_tx_begin(c, STORE_TX_SNAPSHOT, e);
	if (rc == ST_OK)
		rc = store_query_row(c, server_sql, 1, &server, &server_fields, row, e);
	if (rc == ST_OK)
		rc = store_record_vouched_in(st, c, "registry_mcp_servers", row->server_id, vouched,
					     e);
	if (c)
		store_tx_rollback(c);
	store_conn_put(st, c);
	return rc;
}

/*
 * An unregistered server (what the pack blocks) costs one query, as before the check: the
 * snapshot is taken only for a server that is there, whose row it reads again.
 */
enum status store_mcp_server_get(struct store *st, const char *server, char **payload,
				 bool *vouched, struct err *e)
{
	struct server_row row = {0};
	enum status rc = store_run_row(st, server_sql, 1, &server, &server_fields, &row, e);

	*payload = NULL;
	*vouched = true;
	store_fields_release(&row, &server_fields);
	if (rc == ST_OK)
		rc = vouched_row(st, server, &row, vouched, e);
	if (rc == ST_OK) {
		*payload = row.payload;
		row.payload = NULL;
	}
	store_fields_release(&row, &server_fields);
	return rc == ST_NOT_FOUND ? err_set(e, rc, "mcp server '%s' is not registered", server)
				  : rc;
}
