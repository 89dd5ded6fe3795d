/*
 * ops_stores.c - what `cavra ops stores` and GET /operations/stores show
 * (rows, bytes, oldest and newest record per table, the last backup and
 * restore test), and the records of backups and restores in
 * operations_records.
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "json/jx.h"
#include "store/store_records.h"
#include "base/num.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct rec_table records_table = {
	.name = "operations_records",
	.id_col = "record_id",
	.cols = {"kind", "outcome", "manifest_sha256", "location", "started_at", "finished_at",
		 NULL},
	.order_col = "finished_at",
};

/*
 * The highest version the ledger records: the catalogue says which tables exist
 * at each version, so a status of a database on an older schema lists only the
 * tables it has instead of failing on a missing one.
 */
enum status ops_schema_version(struct store_conn *c, int *out, struct err *e)
{
	struct ledger l = {0};
	enum status st = migrate_ledger_read(c, &l, e);

	*out = 0;
	for (size_t i = 0; st == ST_OK && i < l.n; i++)
		if (l.rows[i].version > *out)
			*out = l.rows[i].version;
	migrate_ledger_release(&l);
	return st;
}

/*
 * bytes is -1 when the backend cannot tell cheaply (SQLite: store_stats.c), and
 * is shown as null, not 0: an unknown size must not read as an empty table.
 */
enum status ops_table_stat(struct store_conn *c, const struct ops_table *t, bool with_bytes,
			   struct ops_table_stat *out, struct err *e)
{
	bool known = false;
	enum status st;

	memset(out, 0, sizeof(*out));
	st = store_table_span(c, t->table, t->time_col, &out->rows, &out->oldest, &out->newest, e);
	if (st == ST_OK && with_bytes)
		st = store_table_bytes(c, t->table, &out->bytes, &known, e);
	if (!known)
		out->bytes = -1;
	return st;
}

void ops_table_stat_release(struct ops_table_stat *s)
{
	if (!s)
		return;
	free(s->oldest);
	free(s->newest);
	memset(s, 0, sizeof(*s));
}

/*
 * A database older than the operations_records table has no record: that is null
 * in the status, not an error, so `cavra ops stores` works on any schema.
 */
enum status ops_record_last(struct store_conn *c, int schema, const char *kind, json_object **out,
			    struct err *e)
{
	struct store_rows *r = NULL;
	enum status st;

	*out = NULL;
	/* the catalogue knows the migration that created the table */
	if (!ops_table_at(ops_table_find(records_table.name), schema))
		return ST_OK;
	/* columns: record_id, then records_table.cols (kind, outcome, ...) */
	st = store_rec_latest(c, &records_table, "kind", kind, &r, e);
	if (st == ST_OK && store_rows_count(r) == 1) {
		json_object *o = json_object_new_object();

		jx_add_str(o, "record_id", store_rows_get(r, 0, 0));
		jx_add_str(o, "kind", kind);
		jx_add_str(o, "outcome", store_rows_get(r, 0, 2));
		jx_add_str(o, "manifest_sha256", store_rows_get(r, 0, 3));
		jx_add_str(o, "location", store_rows_get(r, 0, 4));
		jx_add_time_text(o, "started_at", store_rows_get(r, 0, 5));
		jx_add_time_text(o, "finished_at", store_rows_get(r, 0, 6));
		*out = o;
	}
	store_rows_free(r);
	return st;
}

/* ---- records ---- */

/*
 * The payload carries the binary's version, so an auditor can tell which cavra
 * made a backup or ran a restore test, and the manifest's SHA-256, which ties the
 * record to one exact backup.
 */
static char *record_payload(const struct ops_record *r, const char *id, const char *started,
			    const char *finished)
{
	json_object *o = json_object_new_object();

	jx_add_str(o, "schema_version", OPS_RECORD_FORMAT);
	jx_add_str(o, "record_id", id);
	jx_add_str(o, "kind", r->kind);
	jx_add_str(o, "outcome", r->succeeded ? "succeeded" : "failed");
	jx_add_str(o, "manifest_sha256", r->manifest_sha256);
	jx_add_str(o, "location", r->location);
	jx_add_str(o, "started_at", started);
	jx_add_str(o, "finished_at", finished);
	jx_add_str(o, "tool_version", CAVRA_VERSION);
	json_object_object_add(o, "details", r->details ? json_object_get(r->details) : NULL);
	return jx_take_text(o);
}

/*
 * Reading the status tolerates an old schema; writing a record does not: the
 * operator is told to migrate instead of losing the record silently.
 */
static enum status records_exist(struct store *st, struct err *e)
{
	struct store_conn *c = NULL;
	bool exists = false;
	enum status rc = store_conn_get(st, &c, e);

	if (rc == ST_OK)
		rc = store_table_exists(c, records_table.name, &exists, e);
	store_conn_put(st, c);
	if (rc == ST_OK && !exists)
		rc = err_set(e, ST_NOT_FOUND,
			     "the database has no operations_records table yet (schema before "
			     "009_operations_records): run 'cavra migrate up'");
	return rc;
}

/*
 * Records are written through the same upsert as every record store, with
 * the fields auditors filter on as columns and the rest in the payload.
 */
enum status ops_record_add(struct store *st, const struct ops_record *r, char id[OPS_ID_LEN],
			   struct err *e)
{
	char started[TIME_FMT_LEN], finished[TIME_FMT_LEN];
	enum rec_outcome outcome;
	struct rec_write w = {0};
	enum status rc = records_exist(st, e);
	char *payload;

	if (rc == ST_OK)
		rc = ops_new_id("opr_", id, e);
	if (rc != ST_OK)
		return rc;
	time_format_utc(r->started_us, started, sizeof(started));
	time_format_utc(r->finished_us, finished, sizeof(finished));
	payload = record_payload(r, id, started, finished);
	w.id = id;
	w.values[0] = r->kind;
	w.values[1] = r->succeeded ? "succeeded" : "failed";
	w.values[2] = r->manifest_sha256;
	w.values[3] = r->location;
	w.values[4] = started;
	w.values[5] = finished;
	w.payload = payload;
	w.created_at = w.updated_at = finished;
	rc = store_rec_upsert(st, &records_table, &w, &outcome, e);
	free(payload);
	return rc;
}

/* ---- stores ---- */

static json_object *table_json(const struct ops_table *t, const struct ops_table_stat *s)
{
	json_object *o = json_object_new_object();

	jx_add_str(o, "table", t->table);
	jx_add_int(o, "rows", s->rows);
	json_object_object_add(o, "bytes", s->bytes < 0 ? NULL : json_object_new_int64(s->bytes));
	jx_add_str(o, "time_column", t->time_col);
	jx_add_str(o, "oldest", s->oldest);
	jx_add_str(o, "newest", s->newest);
	return o;
}

/* Keeps the earlier (oldest) or later time of *cur and t. */
static void keep_time(const char **cur, const char *t, bool later)
{
	if (t && (!*cur || (strcmp(t, *cur) > 0) == later))
		*cur = t;
}

struct store_sums {
	int64_t rows, bytes;
	bool bytes_known;
	const char *oldest, *newest;
};

/*
 * The tables of store name at schema version v, added to o with their sums.
 *
 * A store's byte total is known only when every table's is: a sum over some
 * tables would understate the store's size.
 */
static enum status store_tables(struct store_conn *c, const char *name, int v, json_object *o,
				struct err *e)
{
	struct ops_table_stat stats[8]; /* a store has one or two tables */
	struct store_sums sum = {.bytes_known = true};
	json_object *tables = json_object_new_array();
	enum status st = ST_OK;
	size_t n = 0;

	for (size_t i = 0; i < ops_catalog_n && st == ST_OK; i++) {
		const struct ops_table *t = &ops_catalog[i];

		if (strcmp(t->store, name) != 0 || !ops_table_at(t, v) || n == ARRAY_SIZE(stats))
			continue;
		st = ops_table_stat(c, t, true, &stats[n], e);
		if (st != ST_OK)
			break;
		json_object_array_add(tables, table_json(t, &stats[n]));
		sum.rows += stats[n].rows;
		sum.bytes += stats[n].bytes < 0 ? 0 : stats[n].bytes;
		sum.bytes_known = sum.bytes_known && stats[n].bytes >= 0;
		keep_time(&sum.oldest, stats[n].oldest, false);
		keep_time(&sum.newest, stats[n].newest, true);
		n++;
	}
	json_object_object_add(o, "tables", tables);
	jx_add_int(o, "rows", sum.rows);
	json_object_object_add(o, "bytes",
			       sum.bytes_known ? json_object_new_int64(sum.bytes) : NULL);
	jx_add_str(o, "oldest", sum.oldest);
	jx_add_str(o, "newest", sum.newest);
	for (size_t i = 0; i < n; i++)
		ops_table_stat_release(&stats[i]);
	return st;
}

/*
 * One backup covers every store, so each store shows the same last backup and
 * restore test.
 */
static enum status stores_doc(struct store *st, struct store_conn *c, json_object *doc,
			      struct err *e)
{
	json_object *backup = NULL, *test = NULL, *stores = json_object_new_array();
	const char *names[16];
	int64_t bytes = 0;
	int v = 0;
	enum status rc = ops_schema_version(c, &v, e);

	if (rc == ST_OK)
		rc = ops_record_last(c, v, "backup", &backup, e);
	if (rc == ST_OK)
		rc = ops_record_last(c, v, "restore_test", &test, e);
	for (size_t i = 0, n = ops_store_names(v, names, 16); rc == ST_OK && i < n; i++) {
		json_object *o = json_object_new_object();

		jx_add_str(o, "store", names[i]);
		jx_add_str(o, "backend", store_backend_name(st));
		jx_add_int(o, "database_schema_version", v);
		rc = store_tables(c, names[i], v, o, e);
		json_object_object_add(o, "last_backup", json_object_get(backup));
		json_object_object_add(o, "last_restore_test", json_object_get(test));
		json_object_array_add(stores, o);
	}
	jx_add_str(doc, "backend", store_backend_name(st));
	jx_add_int(doc, "database_schema_version", v);
	if (rc == ST_OK)
		rc = store_database_bytes(c, &bytes, e);
	jx_add_int(doc, "database_bytes", bytes);
	json_object_object_add(doc, "last_backup", backup);
	json_object_object_add(doc, "last_restore_test", test);
	json_object_object_add(doc, "stores", stores);
	return rc;
}

enum status ops_stores(struct store *st, json_object **out, struct err *e)
{
	char now[TIME_FMT_LEN];
	json_object *doc = json_object_new_object();
	struct store_conn *c = NULL;
	enum status rc = store_conn_get(st, &c, e);

	*out = NULL;
	time_format_utc(time_now_us(), now, sizeof(now));
	jx_add_str(doc, "schema_version", OPS_STORES_FORMAT);
	jx_add_str(doc, "generated_at", now);
	/*
	 * One snapshot (REPEATABLE READ on PostgreSQL, a read transaction on SQLite),
	 * so that the counts of a busy database are of one point in time and agree
	 * with each other; under READ COMMITTED each statement would see its own.
	 */
	if (rc == ST_OK)
		rc = store_tx_begin(c, STORE_TX_SNAPSHOT, e);
	if (rc == ST_OK)
		rc = stores_doc(st, c, doc, e);
	if (c)
		store_tx_rollback(c);
	store_conn_put(st, c);
	if (rc == ST_OK)
		*out = doc;
	else
		json_object_put(doc);
	return rc;
}
