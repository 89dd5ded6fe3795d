/*
 * ops_doctor.c - `cavra ops doctor`: finds stored text that is not valid
 * UTF-8 (SQLite keeps whatever bytes it is given; older versions let
 * overlong forms and surrogates in) and, when asked, rewrites it with
 * U+FFFD so that backups of the database verify and restore again.  It also
 * lists payloads the strict parser refuses (edited in the database), which it
 * cannot repair.
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/str.h"
#include "base/timeutil.h"
#include "base/utf8.h"
#include "base/xalloc.h"
#include "json/jx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One table's scan: column 0 of each row is the key, then the checked columns. */
struct scan {
	const struct ops_table *t;
	const char *cols[OPS_MAX_COLS + 1]; /* the text columns, the key last */
	size_t ncols;
	bool json[OPS_MAX_COLS + 1]; /* by index in cols: a JSON column (payload, history...) */
	struct ops_doctor_result *out;
};

/*
 * Keeps the raw key and value as well as their repaired forms: the fix must find
 * the row by its bytes as stored (a repaired key would match nothing) and rewrite
 * only a value that is still exactly what was scanned.  The id shown to people is
 * the repaired key, so the report itself is valid UTF-8.
 */
/* s[0..n) with U+FFFD for each bad byte; *len (may be NULL) gets its length. */
static char *repaired(const char *s, size_t n, size_t *len)
{
	struct buf b = BUF_INIT;

	/* the default cap is far above any stored value: repair cannot fail */
	if (utf8_repair(s, n, &b, NULL) != ST_OK)
		abort();
	return buf_detach(&b, len);
}

static void add_item(struct ops_doctor_result *out, const struct scan *s, const char *key,
		     size_t key_len, size_t col, const char *val, size_t len)
{
	struct ops_doctor_item *it;

	if (out->n == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 16;
		out->items = xrealloc(out->items, out->cap * sizeof(*out->items));
	}
	it = &out->items[out->n++];
	memset(it, 0, sizeof(*it));
	it->table = s->t->table;
	it->column = s->cols[col];
	it->key_raw = xstrndup(key, key_len);
	it->key_len = key_len;
	it->id = repaired(key, key_len, NULL);
	it->fixed = repaired(val, len, &it->fixed_len);
	it->raw = xstrndup(val, len);
}

static void add_damage(struct ops_doctor_result *out, const struct scan *s, const char *key,
		       size_t key_len, size_t col, const char *problem)
{
	struct ops_doctor_damage *d;

	if (out->ndamaged == out->damaged_cap) {
		out->damaged_cap = out->damaged_cap ? out->damaged_cap * 2 : 16;
		out->damaged = xrealloc(out->damaged, out->damaged_cap * sizeof(*out->damaged));
	}
	d = &out->damaged[out->ndamaged++];
	d->table = s->t->table;
	d->column = s->cols[col];
	d->id = repaired(key, key_len, NULL);
	d->problem = xstrdup(jx_fault(problem));
}

/*
 * A JSON value that is valid UTF-8 and still not one the strict parser takes (a key twice, a
 * second document...); a payload must also be an object.  Other JSON columns (a rollout's
 * history) hold arrays.
 */
static void check_json(struct scan *s, const char *const *vals, const size_t *lens, size_t i)
{
	json_object *o = NULL;
	struct err pe = {0};
	enum status st = str_eq(s->cols[i], "payload")
				 ? jx_parse_object(vals[i + 1], lens[i + 1], &o, &pe)
				 : jx_parse(vals[i + 1], lens[i + 1], JX_MAX_DEPTH, &o, &pe);

	if (st != ST_OK)
		add_damage(s->out, s, vals[0] ? vals[0] : "", vals[0] ? lens[0] : 0, i, pe.msg);
	json_object_put(o);
}

/*
 * store_row_fn: vals[0] is the key, vals[1..] the columns of s->cols.
 *
 * Finds every bad value; it never stops a scan, so the report is complete.
 */
static enum status scan_row(void *ctx, const char *const *vals, const size_t *lens, struct err *e)
{
	struct scan *s = ctx;

	UNUSED(e);
	s->out->rows_scanned++;
	for (size_t i = 0; i < s->ncols; i++) {
		if (!vals[i + 1])
			continue;
		if (!utf8_valid(vals[i + 1], lens[i + 1], NULL))
			add_item(s->out, s, vals[0] ? vals[0] : "", vals[0] ? lens[0] : 0, i,
				 vals[i + 1], lens[i + 1]);
		else if (s->json[i])
			check_json(s, vals, lens, i);
	}
	return ST_OK;
}

/*
 * Columns are those of the backup catalogue: exactly what a backup writes, so a
 * database that doctor passes is one whose backup verifies.  Integer columns are
 * not looked at: doctor is about text.
 */
static enum status scan_table(struct store_conn *c, const struct ops_table *t,
			      struct ops_doctor_result *out, struct err *e)
{
	struct scan s = {.t = t, .out = out};
	const char *sel[OPS_MAX_COLS + 2] = {t->key};

	for (const struct ops_col *col = t->cols; col->name; col++) {
		if (col->kind == OPS_INT || strcmp(col->name, t->key) == 0)
			continue;
		s.json[s.ncols] = col->kind == OPS_JSON;
		s.cols[s.ncols++] = col->name;
	}
	/* the key last, so that a fix rewrites the row's other columns first */
	s.cols[s.ncols++] = t->key;
	memcpy(sel + 1, s.cols, s.ncols * sizeof(*sel));
	return store_stream_table(c, t->table, sel, s.ncols + 1, t->key, scan_row, &s, e);
}

/*
 * Rewrites each listed value with its repaired text, in one transaction.
 *
 * All or nothing: a failure part way rolls every rewrite back, so a database is
 * never left half repaired and a second run sees the same findings.
 */
static enum status fix_items(struct store_conn *c, struct ops_doctor_result *out, struct err *e)
{
	enum status st = store_tx_begin(c, STORE_TX_WRITE, e);

	for (size_t i = 0; st == ST_OK && i < out->n; i++) {
		const struct ops_doctor_item *it = &out->items[i];
		/* only when the value is still the one scanned: a newer write is kept */
		const struct store_value_fix fix = {.table = it->table,
						    .key_col = ops_table_find(it->table)->key,
						    .column = it->column,
						    .key = it->key_raw,
						    .old = it->raw,
						    .value = it->fixed};
		int64_t changed = 0;

		st = store_value_replace(c, &fix, &changed, e);
		out->fixed += changed;
	}
	if (st == ST_OK)
		return store_tx_commit(c, e);
	store_tx_rollback(c);
	out->fixed = 0;
	err_wrap(e, "ops doctor --fix (nothing was changed)");
	return st;
}

#define RECORD_ITEMS_MAX 1000 /* items kept in a record's details; the count is always there */

/* {"table": table, "id": id, "column": column, key: val} appended to items; column may be NULL. */
static void add_finding(json_object *items, const char *table, const char *id, const char *key,
			const char *val, const char *column)
{
	json_object *it = json_object_new_object();

	jx_add_str(it, "table", table);
	jx_add_str(it, "id", id);
	if (column)
		jx_add_str(it, "column", column);
	jx_add_str(it, key, val);
	json_object_array_add(items, it);
}

/* The counts and (at most max of) the items: what the output and the record both show. */
static void add_findings(json_object *o, const struct ops_doctor_result *r, size_t max)
{
	json_object *items = json_object_new_array(), *damaged = json_object_new_array();

	jx_add_int(o, "rows_scanned", r->rows_scanned);
	jx_add_int(o, "invalid_values", (int64_t)r->n);
	jx_add_int(o, "fixed", r->fixed);
	for (size_t i = 0; i < r->n && i < max; i++)
		add_finding(items, r->items[i].table, r->items[i].id, "column", r->items[i].column,
			    NULL);
	json_object_object_add(o, "items", items);
	jx_add_int(o, "damaged_payloads", (int64_t)r->ndamaged);
	for (size_t i = 0; i < r->ndamaged && i < max; i++)
		add_finding(damaged, r->damaged[i].table, r->damaged[i].id, "problem",
			    r->damaged[i].problem, r->damaged[i].column);
	json_object_object_add(o, "damaged", damaged);
}

/*
 * What --fix rewrote, as an operations record (kind doctor).
 *
 * A repair changes stored records, so it leaves an operations record behind for
 * the audit trail.  Failing to write that record does not undo the repair, which
 * has committed; it is reported as a warning instead.
 */
static void record(struct store *st, struct ops_doctor_result *out, int64_t started)
{
	json_object *d = json_object_new_object();
	struct err e = {0};
	struct ops_record r = {.kind = "doctor",
			       .succeeded = true,
			       .location = store_display_url(st),
			       .started_us = started,
			       .finished_us = time_now_us(),
			       .details = d};

	jx_add_str(d, "action", "fix");
	jx_add_str(d, "backend", store_backend_name(st));
	add_findings(d, out, RECORD_ITEMS_MAX);
	if (ops_record_add(st, &r, out->record_id, &e) != ST_OK) {
		out->record_id[0] = '\0';
		snprintf(out->record_warning, sizeof(out->record_warning), "%s", e.msg);
	}
	json_object_put(d);
}

/*
 * The scan reads one snapshot, so it is consistent even while the server writes;
 * the fix runs afterwards in its own write transaction, and each rewrite is
 * conditional on the scanned value, so a record written between the two is kept
 * as it is.
 */
enum status ops_doctor(struct store *st, bool fix, struct ops_doctor_result *out, struct err *e)
{
	int64_t started = time_now_us();
	struct store_conn *c = NULL;
	int version = 0;
	enum status rc;

	memset(out, 0, sizeof(*out));
	rc = store_conn_get(st, &c, e);
	if (rc == ST_OK)
		rc = ops_schema_version(c, &version, e);
	if (rc == ST_OK && version == 0)
		rc = err_set(e, ST_NOT_FOUND,
			     "the database has no cavra schema (run 'cavra migrate up')");
	if (rc == ST_OK)
		rc = store_tx_begin(c, STORE_TX_SNAPSHOT, e);
	for (size_t i = 0; rc == ST_OK && i < ops_catalog_n; i++)
		if (ops_table_at(&ops_catalog[i], version)) {
			struct ops_table view;

			ops_table_view(&ops_catalog[i], version, &view);
			rc = scan_table(c, &view, out, e);
		}
	if (c)
		store_tx_rollback(c);
	if (rc == ST_OK && fix && out->n)
		rc = fix_items(c, out, e);
	store_conn_put(st, c);
	if (rc == ST_OK && fix && out->n)
		record(st, out, started);
	return rc;
}

void ops_doctor_result_release(struct ops_doctor_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->items[i].id);
		free(r->items[i].key_raw);
		free(r->items[i].fixed);
		free(r->items[i].raw);
	}
	free(r->items);
	for (size_t i = 0; i < r->ndamaged; i++) {
		free(r->damaged[i].id);
		free(r->damaged[i].problem);
	}
	free(r->damaged);
	memset(r, 0, sizeof(*r));
}

json_object *ops_doctor_json(const struct ops_doctor_result *r, bool fix)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok",
			       json_object_new_boolean((r->n == 0 || fix) && r->ndamaged == 0));
	add_findings(o, r, r->n > r->ndamaged ? r->n : r->ndamaged);
	jx_add_str(o, "record_id", r->record_id[0] ? r->record_id : NULL);
	jx_add_str(o, "record_warning", r->record_warning[0] ? r->record_warning : NULL);
	return o;
}
