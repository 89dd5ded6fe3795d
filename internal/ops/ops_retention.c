/*
 * ops_retention.c - retention plans (docs/operations.md): per store how many
 * records there are and how many are past the cutoff, the legal hold and
 * delete protection that apply, and the backup and restore-test controls
 * with their last evidence.  A plan is read-only: cavra never deletes
 * records itself.  The CLI writes the JSON and a Markdown rendering of it;
 * GET /operations/retention-plan returns the same JSON.
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "json/jx.h"
#include "base/files.h"
#include "base/str.h"
#include "base/num.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_US ((int64_t)86400 * 1000000)

/* The classification is printed into the plan's Markdown and JSON, so it is kept to a label. */
static bool class_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' && *s != '-')
			return false;
	return true;
}

enum status ops_retention_opts_parse(const char *days, const char *classification,
				     const char *legal_hold, struct ops_retention_opts *out,
				     struct err *e)
{
	memset(out, 0, sizeof(*out));
	out->days = OPS_RETENTION_DAYS_DEFAULT;
	out->now_us = time_now_us();
	snprintf(out->classification, sizeof(out->classification), "%s",
		 OPS_RETENTION_CLASS_DEFAULT);
	if (days && !str_to_i64(days, 1, OPS_RETENTION_DAYS_MAX, &out->days))
		return err_set(
			e, ST_INVALID,
			"--retention-days / retention_days: '%.40s' is not a whole number of days "
			"from 1 to %d",
			days, OPS_RETENTION_DAYS_MAX);
	if (classification && !class_ok(classification))
		return err_set(e, ST_INVALID,
			       "classification: '%.70s' is not 1..64 of [A-Za-z0-9._-]",
			       classification);
	if (classification)
		snprintf(out->classification, sizeof(out->classification), "%s", classification);
	if (!legal_hold)
		return ST_OK;
	if (strcmp(legal_hold, "true") == 0 || strcmp(legal_hold, "1") == 0)
		out->legal_hold = true;
	else if (strcmp(legal_hold, "false") != 0 && strcmp(legal_hold, "0") != 0)
		return err_set(e, ST_INVALID, "legal_hold: '%.40s' is not true, false, 1 or 0",
			       legal_hold);
	return ST_OK;
}

/*
 * Overdue when there is no successful record within every_days of now.
 *
 * Only a successful record counts: a failed backup is evidence that the control
 * ran, not that it works.
 */
static bool overdue(json_object *last, int64_t now, int every_days)
{
	const char *at = jx_get_str(last, "finished_at");
	int64_t us;

	if (!last || !str_eq(jx_get_str(last, "outcome"), "succeeded") || !at ||
	    !time_parse(at, &us))
		return true;
	return now - us > (int64_t)every_days * DAY_US;
}

static json_object *controls_json(json_object *backup, json_object *test, int64_t now)
{
	json_object *o = json_object_new_object(), *before = json_object_new_array();

	jx_add_int(o, "backup_every_days", OPS_BACKUP_EVERY_DAYS);
	json_object_array_add(before, json_object_new_string("migration"));
	json_object_array_add(before, json_object_new_string("release"));
	json_object_object_add(o, "backup_before", before);
	jx_add_str(o, "backup_command", "cavra ops backup --output DIR");
	jx_add_str(o, "verify_command", "cavra ops verify DIR/manifest.json");
	jx_add_int(o, "restore_test_every_days", OPS_RESTORE_TEST_EVERY_DAYS);
	jx_add_str(o, "restore_test_command", "cavra ops restore-test DIR/manifest.json");
	json_object_object_add(o, "last_backup", json_object_get(backup));
	json_object_object_add(o, "last_restore_test", json_object_get(test));
	json_object_object_add(
		o, "backup_overdue",
		json_object_new_boolean(overdue(backup, now, OPS_BACKUP_EVERY_DAYS)));
	json_object_object_add(
		o, "restore_test_overdue",
		json_object_new_boolean(overdue(test, now, OPS_RESTORE_TEST_EVERY_DAYS)));
	return o;
}

/* A plan recommends; a person decides. Nothing here deletes. */
static const char *store_action(bool hold, int64_t past)
{
	if (hold)
		return "retain: legal hold";
	return past > 0 ? "review the records past the cutoff for deletion" : "retain";
}

struct plan_ctx {
	struct store_conn *c;
	const struct ops_retention_opts *o;
	int version;
	char cutoff[TIME_FMT_LEN];
	int64_t records, past;
};

/* One store: its tables' counts, then the store's sums and action. */
static enum status store_json(struct plan_ctx *p, const char *name, json_object *o, struct err *e)
{
	json_object *tables = json_object_new_array();
	int64_t records = 0, past = 0;
	enum status st = ST_OK;

	jx_add_str(o, "store", name);
	for (size_t i = 0; i < ops_catalog_n && st == ST_OK; i++) {
		const struct ops_table *t = &ops_catalog[i];
		struct ops_table_stat s = {0};
		json_object *to;
		int64_t n = 0;

		if (strcmp(t->store, name) != 0 || !ops_table_at(t, p->version))
			continue;
		st = ops_table_stat(p->c, t, false, &s, e);
		if (st == ST_OK)
			st = store_table_count_before(p->c, t->table, t->time_col, p->cutoff, &n,
						      e);
		to = json_object_new_object();
		jx_add_str(to, "table", t->table);
		jx_add_str(to, "time_column", t->time_col);
		jx_add_int(to, "records", s.rows);
		jx_add_int(to, "past_cutoff", n);
		jx_add_str(to, "oldest", s.oldest);
		jx_add_str(to, "newest", s.newest);
		json_object_array_add(tables, to);
		records += s.rows;
		past += n;
		ops_table_stat_release(&s);
	}
	json_object_object_add(o, "tables", tables);
	jx_add_int(o, "records", records);
	jx_add_int(o, "past_cutoff", past);
	jx_add_int(o, "eligible_for_deletion", p->o->legal_hold ? 0 : past);
	jx_add_str(o, "action", store_action(p->o->legal_hold, past));
	p->records += records;
	p->past += past;
	return st;
}

static void header_json(json_object *doc, const struct ops_retention_opts *o)
{
	bool protect = o->legal_hold || o->days >= OPS_RETENTION_PROTECT_DAYS;

	jx_add_str(doc, "schema_version", OPS_RETENTION_FORMAT);
	jx_add_time(doc, "generated_at", o->now_us);
	jx_add_str(doc, "tool_version", CAVRA_VERSION);
	jx_add_str(doc, "classification", o->classification);
	jx_add_int(doc, "retention_days", o->days);
	json_object_object_add(doc, "legal_hold", json_object_new_boolean(o->legal_hold));
	jx_add_time(doc, "cutoff", o->now_us - o->days * DAY_US);
	jx_add_time(doc, "retain_until", o->now_us + o->days * DAY_US);
	json_object_object_add(doc, "delete_protection", json_object_new_boolean(protect));
	jx_add_str(doc, "delete_protection_reason",
		   o->legal_hold ? "legal hold"
		   : protect	 ? "retention of 365 days or more"
				 : NULL);
}

/*
 * Under a legal hold nothing is eligible for deletion whatever its age; the count past the
 * cutoff is still shown, because that is what the hold is keeping.
 */
static enum status plan_body(struct plan_ctx *p, struct store *st, json_object *doc, struct err *e)
{
	json_object *backup = NULL, *test = NULL, *stores = json_object_new_array();
	const char *names[16];
	enum status rc = ops_schema_version(p->c, &p->version, e);

	if (rc == ST_OK)
		rc = ops_record_last(p->c, p->version, "backup", &backup, e);
	if (rc == ST_OK)
		rc = ops_record_last(p->c, p->version, "restore_test", &test, e);
	jx_add_str(doc, "backend", store_backend_name(st));
	jx_add_int(doc, "database_schema_version", p->version);
	for (size_t i = 0, n = ops_store_names(p->version, names, 16); rc == ST_OK && i < n; i++) {
		json_object *o = json_object_new_object();

		rc = store_json(p, names[i], o, e);
		json_object_object_add(o, "last_backup", json_object_get(backup));
		json_object_object_add(o, "last_restore_test", json_object_get(test));
		json_object_array_add(stores, o);
	}
	json_object_object_add(doc, "controls", controls_json(backup, test, p->o->now_us));
	json_object_object_add(doc, "stores", stores);
	jx_add_int(doc, "records", p->records);
	jx_add_int(doc, "past_cutoff", p->past);
	jx_add_int(doc, "eligible_for_deletion", p->o->legal_hold ? 0 : p->past);
	json_object_put(backup);
	json_object_put(test);
	return rc;
}

/*
 * All counts are read in one snapshot (REPEATABLE READ on PostgreSQL, a read transaction on
 * SQLite), so the totals and the per-store numbers describe one moment even while the service
 * keeps writing.  The cutoff is computed once from the options' clock, which tests fix.
 */
enum status ops_retention_plan(struct store *st, const struct ops_retention_opts *o,
			       json_object **out, struct err *e)
{
	struct plan_ctx p = {.o = o};
	json_object *doc = json_object_new_object();
	enum status rc = store_conn_get(st, &p.c, e);

	*out = NULL;
	time_format_utc(o->now_us - o->days * DAY_US, p.cutoff, sizeof(p.cutoff));
	header_json(doc, o);
	if (rc == ST_OK)
		rc = store_tx_begin(p.c, STORE_TX_SNAPSHOT, e);
	if (rc == ST_OK)
		rc = plan_body(&p, st, doc, e);
	if (p.c)
		store_tx_rollback(p.c);
	store_conn_put(st, p.c);
	if (rc == ST_OK)
		*out = doc;
	else
		json_object_put(doc);
	return rc;
}

/* ---- Markdown ---- */

static int64_t i_of(json_object *o, const char *key)
{
	return json_object_get_int64(json_object_object_get(o, key));
}

static bool b_of(json_object *o, const char *key)
{
	return json_object_get_boolean(json_object_object_get(o, key));
}

static void md_header(struct buf *b, json_object *p)
{
	buf_xaddf(b, "# Retention plan: %s\n\n", jx_get_str_or(p, "classification", "?"));
	buf_xaddf(b, "Generated %s by cavra %s from the %s database at schema version %lld.\n\n",
		  jx_get_str_or(p, "generated_at", "?"), jx_get_str_or(p, "tool_version", "?"),
		  jx_get_str_or(p, "backend", "?"), (long long)i_of(p, "database_schema_version"));
	buf_xaddf(b, "| parameter | value |\n| --- | --- |\n");
	buf_xaddf(b, "| classification | %s |\n", jx_get_str_or(p, "classification", "?"));
	buf_xaddf(b, "| retention | %lld days |\n", (long long)i_of(p, "retention_days"));
	buf_xaddf(b, "| cutoff | records older than %s are past retention |\n",
		  jx_get_str_or(p, "cutoff", "?"));
	buf_xaddf(b, "| retain until | records written now are kept until %s |\n",
		  jx_get_str_or(p, "retain_until", "?"));
	buf_xaddf(b, "| legal hold | %s |\n",
		  b_of(p, "legal_hold") ? "yes: nothing is deleted" : "no");
	buf_xaddf(b, "| delete protection | %s%s%s |\n",
		  b_of(p, "delete_protection") ? "yes" : "no",
		  jx_get_str(p, "delete_protection_reason") ? " — " : "",
		  jx_get_str_or(p, "delete_protection_reason", ""));
	buf_xaddf(b, "| records | %lld, %lld past the cutoff, %lld eligible for deletion |\n\n",
		  (long long)i_of(p, "records"), (long long)i_of(p, "past_cutoff"),
		  (long long)i_of(p, "eligible_for_deletion"));
}

static void md_stores(struct buf *b, json_object *p)
{
	json_object *stores = json_object_object_get(p, "stores");

	buf_xaddf(b, "## Stores\n\n| store | table | records | past cutoff | oldest | newest | "
		     "action |\n| --- | --- | ---: | ---: | --- | --- | --- |\n");
	for (size_t i = 0; i < json_object_array_length(stores); i++) {
		json_object *s = json_object_array_get_idx(stores, i);
		json_object *tables = json_object_object_get(s, "tables");

		for (size_t k = 0; k < json_object_array_length(tables); k++) {
			json_object *t = json_object_array_get_idx(tables, k);

			buf_xaddf(b, "| %s | %s | %lld | %lld | %s | %s | %s |\n",
				  jx_get_str_or(s, "store", "?"), jx_get_str_or(t, "table", "?"),
				  (long long)i_of(t, "records"), (long long)i_of(t, "past_cutoff"),
				  jx_get_str_or(t, "oldest", "—"), jx_get_str_or(t, "newest", "—"),
				  jx_get_str_or(s, "action", "?"));
		}
	}
	buf_xaddf(b, "\n");
}

static void md_last(struct buf *b, const char *what, json_object *last)
{
	if (!last) {
		buf_xaddf(b, "| last %s | none recorded |\n", what);
		return;
	}
	buf_xaddf(b, "| last %s | %s, %s (`%s`, manifest sha256 `%.16s…`) |\n", what,
		  jx_get_str_or(last, "finished_at", "?"), jx_get_str_or(last, "outcome", "?"),
		  jx_get_str_or(last, "record_id", "?"),
		  jx_get_str_or(last, "manifest_sha256", "-"));
}

static void md_controls(struct buf *b, json_object *p)
{
	json_object *c = json_object_object_get(p, "controls");

	buf_xaddf(b, "## Backup and restore-test controls\n\n| control | value |\n| --- | --- |\n");
	buf_xaddf(b,
		  "| backups | every %lld day(s), and before every migration and release: `%s` |\n",
		  (long long)i_of(c, "backup_every_days"), jx_get_str_or(c, "backup_command", "?"));
	buf_xaddf(b, "| verification | after every backup: `%s` |\n",
		  jx_get_str_or(c, "verify_command", "?"));
	md_last(b, "backup", json_object_object_get(c, "last_backup"));
	buf_xaddf(b, "| backup overdue | %s |\n", b_of(c, "backup_overdue") ? "**yes**" : "no");
	buf_xaddf(b, "| restore tests | every %lld days: `%s` |\n",
		  (long long)i_of(c, "restore_test_every_days"),
		  jx_get_str_or(c, "restore_test_command", "?"));
	md_last(b, "restore test", json_object_object_get(c, "last_restore_test"));
	buf_xaddf(b, "| restore test overdue | %s |\n\n",
		  b_of(c, "restore_test_overdue") ? "**yes**" : "no");
	buf_xaddf(b,
		  "## Notes\n\n"
		  "- cavra never deletes records itself. Deleting records past the cutoff is a "
		  "reviewed, manual step, and never while a legal hold is in force.\n"
		  "- Delete protection means the database and its backups are protected against "
		  "deletion (for example deletion protection on the database instance and object "
		  "lock on the backup storage) for the whole retention period.\n"
		  "- Record times: decisions by `decided_at`, sessions by `started_at`, backup and "
		  "restore records by `finished_at`, everything else by `created_at`.\n");
}

/*
 * Rendered from the JSON document, not from the database, so the two files of a
 * plan can never disagree.
 */
char *ops_retention_markdown(json_object *plan)
{
	struct buf b;

	buf_init(&b, (size_t)1 << 20);
	md_header(&b, plan);
	md_stores(&b, plan);
	md_controls(&b, plan);
	return buf_detach(&b, NULL);
}

/*
 * Each file is replaced atomically, so a reader (or a compliance tool collecting
 * the plan) sees the previous plan or the new one, never half a file.
 */
enum status ops_retention_write(json_object *plan, const char *dir, struct err *e)
{
	const char *json = json_object_to_json_string_ext(
		plan,
		JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *md = ops_retention_markdown(plan);
	char *jpath = ops_path_join(dir, OPS_PLAN_JSON), *mpath = ops_path_join(dir, OPS_PLAN_MD);
	char *jtext = xasprintf("%s\n", json);
	enum status st = mkdir_p(dir, e);

	if (st == ST_OK)
		st = file_write_atomic(jpath, jtext, strlen(jtext), e);
	if (st == ST_OK)
		st = file_write_atomic(mpath, md, strlen(md), e);
	free(jtext);
	free(md);
	free(jpath);
	free(mpath);
	return st;
}
