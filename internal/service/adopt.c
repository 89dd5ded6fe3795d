/*
 * adopt.c - moving the original CAVRA's SQLite records into our tables.
 * Each original row carries the whole record as its JSON payload plus
 * projection columns; the payload is checked and stored exactly as `cavra
 * ops import` stores the same record from the original's JSON file.
 */
#include "base/base.h"
#include "service/adopt.h"
#include "service/records.h"
#include "base/timeutil.h"
#include "base/num.h"
#include "base/xalloc.h"
#include "base/utf8.h"
#include "json/jx.h"
#include "migrate/migrate.h"
#include "store/store_bulk.h"
#include "store/store_sessions.h"
#include "store/store_stats.h"
#include "base/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLS 16

/*
 * One original table: its projection columns are the record's fields of
 * the same name, copied into a payload that lacks them (the original
 * derived them from the record, so they agree where both exist).  Columns
 * a pilot's version did not have (tenant_id, workspace_id) are skipped.
 */
struct original {
	const char *table, *id_col;
	const struct kind *kind;
	const char *cols[MAX_COLS]; /* text fields */
	const char *ints[4]; /* whole-number fields */
};

/* Decisions before sessions: a session's counters come from its decisions. */
static const struct original originals[ADOPT_TABLES] = {
	{"evidence_metadata",
	 "session_id",
	 &service_kind_evidence,
	 {"created_at", "signer"},
	 {"decision_count", "blocked_count", "approval_required_count"}},
	{"approvals",
	 "approval_id",
	 &service_kind_approval,
	 {"decision_id", "session_id", "state", "approver_group", "requested_by", "requested_at",
	  "expires_at", "decided_by", "decided_at", "external_ref"}},
	{"registry_agents",
	 "agent_id",
	 &service_kind_agent,
	 {"status", "owner", "vendor", "risk_tier", "last_seen", "updated_at"}},
	{"registry_mcp_servers",
	 "server_id",
	 &service_kind_mcp_server,
	 {"name", "trust_tier", "approval_state", "owner", "last_seen", "updated_at"}},
	{"activity_decisions",
	 "decision_id",
	 &service_kind_decision,
	 {"session_id", "agent_id", "actor", "repository", "policy_pack", "action_type", "target",
	  "rule_id", "decision", "severity", "timestamp", "correlation_id", "tenant_id",
	  "workspace_id"}},
	{"activity_sessions",
	 "session_id",
	 &service_kind_session,
	 {"agent_id", "actor", "repository", "policy_pack", "state", "started_at", "updated_at",
	  "tenant_id", "workspace_id"},
	 {"decision_count", "blocked_count", "approval_required_count"}},
	{"inventory_repositories",
	 "repository_id",
	 &service_kind_repository,
	 {"repository", "provider", "owner", "policy_pack", "risk_tier", "status", "updated_at",
	  "tenant_id", "workspace_id"}},
	{"inventory_policy_rollouts",
	 "rollout_id",
	 &service_kind_rollout,
	 {"repository", "policy_pack", "state", "mode", "owner", "updated_at", "tenant_id",
	  "workspace_id"}},
	{"integrations",
	 "integration_id",
	 &service_kind_integration,
	 {"provider", "category", "status", "owner", "environment", "health_status", "updated_at"}},
};

/* The original's record defaults for a decision field absent everywhere. */
static const char *const decision_defaults[][2] = {
	{"session_id", "local"}, {"agent_id", "unknown-agent"},	 {"actor", "ai-agent"},
	{"repository", "local"}, {"rule_id", "runtime.default"}, {"decision", "audit_only"},
	{"severity", "low"},
};

struct copy {
	const struct original *o;
	struct store_conn *c;
	struct progress *progress;
	const char *now;
	size_t ncols; /* projection columns selected after id and payload */
	const char *names[MAX_COLS + 4];
	bool is_int[MAX_COLS + 4];
	int64_t records;
};

static bool absent(json_object *rec, const char *key)
{
	json_object *v = NULL;

	return !json_object_object_get_ex(rec, key, &v) || !v;
}

/* Columns fill what the payload lacks; then the original's own defaults. */
static void fill(const struct copy *cp, json_object *rec, const char *const *vals)
{
	for (size_t i = 0; i < cp->ncols; i++) {
		const char *v = vals[2 + i];
		int64_t n = 0;

		if (!v || !absent(rec, cp->names[i]))
			continue;
		if (cp->is_int[i] && str_to_i64(v, INT64_MIN, INT64_MAX, &n))
			jx_add_int(rec, cp->names[i], n);
		else /* a count that is not a number: the checks name the field */
			jx_add_str(rec, cp->names[i], v);
	}
	if (cp->o->kind == &service_kind_approval && absent(rec, "created_at") &&
	    !absent(rec, "requested_at"))
		json_object_object_add(
			rec, "created_at",
			json_object_get(json_object_object_get(rec, "requested_at")));
	if (cp->o->kind != &service_kind_decision)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(decision_defaults); i++)
		if (absent(rec, decision_defaults[i][0]))
			jx_add_str(rec, decision_defaults[i][0], decision_defaults[i][1]);
}

/*
 * The projection columns that fill in what a payload lacks are the file's text: held to what
 * the API takes, UTF-8 and no NUL (a NUL would cut the value short without a word).
 */
static enum status columns_ok(const struct copy *cp, const char *const *vals, const size_t *lens,
			      struct err *e)
{
	for (size_t i = 0; i < cp->ncols; i++) {
		const char *v = vals[2 + i];

		if (v && memchr(v, '\0', lens[2 + i]))
			return err_set(e, ST_INVALID, "column '%s' contains a NUL character",
				       cp->names[i]);
		if (v && !utf8_valid(v, lens[2 + i], NULL))
			return err_set(e, ST_INVALID, "column '%s' is not valid UTF-8",
				       cp->names[i]);
	}
	return ST_OK;
}

static enum status put_row(struct copy *cp, const char *id, const char *payload, size_t len,
			   const char *const *vals, struct err *e)
{
	struct prepared p;
	struct err pe = {0};
	json_object *rec = NULL;
	enum rec_outcome o = REC_UNCHANGED;
	enum status st;

	if (!payload)
		return err_set(e, ST_INVALID, "the payload is NULL");
	if (jx_parse_object(payload, len, &rec, &pe) != ST_OK)
		/* jx speaks of a request "body"; keep only its reason */
		return err_set(e, ST_INVALID, "the payload is not a JSON object: %s",
			       strstr(pe.msg, ": ") ? strstr(pe.msg, ": ") + 2 : pe.msg);
	/* json-c would clamp 1e30 to 2^64 - 1 without a word: the record would change */
	if (jx_check_numbers_for(payload, len,
				 "it would not be kept as written; make it a string in the row",
				 &pe) != ST_OK) {
		json_object_put(rec);
		return err_set(e, ST_INVALID, "the payload %s", jx_fault(pe.msg));
	}
	if (id && absent(rec, cp->o->kind->id_field))
		jx_add_str(rec, cp->o->kind->id_field, id);
	fill(cp, rec, vals);
	st = service_kind_prepare(cp->o->kind, rec, true, &p, e);
	json_object_put(rec);
	if (st == ST_OK)
		st = service_import_admit(cp->o->kind, &p, e);
	if (st == ST_OK && cp->o->kind == &service_kind_decision)
		service_import_decision_payload(&p);
	if (st == ST_OK)
		st = service_import_put_one(cp->c, cp->o->kind, &p, cp->now, &o, e);
	service_prepared_release(&p);
	return st;
}

static enum status on_row(void *ctx, const char *const *vals, const size_t *lens, struct err *e)
{
	struct copy *cp = ctx;
	enum status st = columns_ok(cp, vals, lens, e);

	if (st == ST_OK)
		st = put_row(cp, vals[0], vals[1], lens[1], vals, e);

	if (st != ST_OK)
		return err_ctx(st, e, "table %s, record '%s'", cp->o->table,
			       vals[0] ? vals[0] : "(no id)");
	cp->records++;
	progress_add(cp->progress, 1);
	return ST_OK;
}

/*
 * The SELECT is assembled from identifiers in our own table of the original's columns, never
 * from the file being adopted, so nothing from outside reaches the SQL text; 1024 bytes hold
 * the longest column list.
 */
#define SQL_MAX 1024

/* Appends pre, arg and post (three pieces, not a format: -Wformat=2 wants literal formats). */
static void append(char *sql, const char *pre, const char *arg, const char *post)
{
	size_t len = strlen(sql);

	snprintf(sql + len, SQL_MAX - len, "%s%s%s", pre, arg, post);
}

static enum status add_column(struct copy *cp, char *sql, const char *col, bool is_int,
			      struct err *e)
{
	char table[96];
	bool exists = false;
	enum status st;

	snprintf(table, sizeof(table), MIGRATE_ORIGINAL_PREFIX "%s", cp->o->table);
	st = store_column_exists(cp->c, table, col, &exists, e);
	if (st != ST_OK || !exists) /* a column its older versions lacked: the payload has it */
		return st;
	append(sql, ", \"", col, "\"");
	cp->names[cp->ncols] = col;
	cp->is_int[cp->ncols++] = is_int;
	return ST_OK;
}

/* Selects id, payload and the projection columns this pilot's table has. */
/* rowid order is the order the original wrote its records, which adoption keeps. */
static enum status build_select(struct copy *cp, char *sql, struct err *e)
{
	const struct original *o = cp->o;
	enum status st = ST_OK;

	append(sql, "SELECT \"", o->id_col, "\", payload");
	for (size_t i = 0; st == ST_OK && i < MAX_COLS && o->cols[i]; i++)
		st = add_column(cp, sql, o->cols[i], false, e);
	for (size_t i = 0; st == ST_OK && i < ARRAY_SIZE(o->ints) && o->ints[i]; i++)
		st = add_column(cp, sql, o->ints[i], true, e);
	append(sql, " FROM " MIGRATE_ORIGINAL_PREFIX, o->table, " ORDER BY rowid");
	return st;
}

static enum status copy_table(struct copy *cp, struct err *e)
{
	char table[96];
	bool exists = false;
	char sql[SQL_MAX] = "";
	enum status st;

	snprintf(table, sizeof(table), MIGRATE_ORIGINAL_PREFIX "%s", cp->o->table);
	st = store_table_exists(cp->c, table, &exists, e);
	if (st != ST_OK || !exists)
		return st;
	st = build_select(cp, sql, e);
	progress_item(cp->progress, cp->o->table);
	if (st == ST_OK)
		st = store_stream(cp->c, sql, 2 + cp->ncols, on_row, cp, e);
	if (st != ST_OK && !strstr(e->msg, "record '"))
		err_wrap(e, "table %s", cp->o->table);
	return st;
}

/* Every session, named by a session row or only by decisions, agrees with its decisions. */
static enum status recount(struct store_conn *c, int64_t *n, struct err *e)
{
	return err_ctx(store_session_recount_all(c, n, e), e, "recount sessions");
}

/*
 * The records to adopt, as the progress line's total: only when someone watches, and a
 * table the pilot never created counts nothing.
 */
static enum status count_records(struct store_conn *c, struct progress *p, struct err *e)
{
	int64_t total = 0;
	enum status st = ST_OK;

	for (size_t i = 0; p && st == ST_OK && i < ADOPT_TABLES; i++) {
		char table[96];
		bool exists = false;
		int64_t n = 0;

		snprintf(table, sizeof(table), MIGRATE_ORIGINAL_PREFIX "%s", originals[i].table);
		st = store_table_exists(c, table, &exists, e);
		if (st == ST_OK && exists)
			st = store_table_count(c, table, &n, e);
		total += n;
	}
	progress_phase(p, "adopt", st == ST_OK ? total : -1);
	return st;
}

enum status service_adopt_records(void *ctx, struct store_conn *c, struct err *e)
{
	struct adopt_result *out = ctx;
	struct progress *p = out->progress;
	char now[TIME_FMT_LEN];
	enum status st;

	memset(out, 0, sizeof(*out));
	out->progress = p;
	time_format_utc(time_now_us(), now, sizeof(now));
	st = count_records(c, p, e);
	for (size_t i = 0; st == ST_OK && i < ADOPT_TABLES; i++) {
		struct copy cp = {.o = &originals[i], .c = c, .progress = p, .now = now};

		st = copy_table(&cp, e);
		out->tables[i] = originals[i].table;
		out->records[i] = cp.records;
	}
	progress_phase(p, "recount sessions", -1);
	if (st == ST_OK)
		st = recount(c, &out->sessions, e);
	return st;
}
