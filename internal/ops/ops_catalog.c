/*
 * ops_catalog.c - the tables a backup carries, their columns and kinds, and
 * the conversion of a row to a dump line and back.
 *
 * The catalogue is written out rather than read from the database because
 * SQLite cannot tell a time or a JSON payload from other TEXT.  A backup
 * checks that each table has exactly as many columns as listed here, so a
 * migration that adds a column without updating this file fails loudly.
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "base/num.h"
#include "base/utf8.h"
#include "base/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T(n)                \
	{                   \
		n, OPS_TEXT \
	}
#define I(n)               \
	{                  \
		n, OPS_INT \
	}
#define W(n)                \
	{                   \
		n, OPS_TIME \
	}
#define J(n)                \
	{                   \
		n, OPS_JSON \
	}
#define STAMPS W("created_at"), W("updated_at")
#define T_SINCE(n, v)          \
	{                      \
		n, OPS_TEXT, v \
	}
#define I_SINCE(n, v)         \
	{                     \
		n, OPS_INT, v \
	}
#define J_SINCE(n, v)          \
	{                      \
		n, OPS_JSON, v \
	}

const struct ops_table ops_catalog[] = {
	{"evidence_metadata",
	 "evidence_metadata",
	 "session_id",
	 "created_at",
	 1,
	 false,
	 {T("session_id"), T("signer"), I("decision_count"), I("blocked_count"),
	  I("approval_count"), STAMPS, J("payload")}},
	{"approvals",
	 "approvals",
	 "approval_id",
	 "created_at",
	 2,
	 false,
	 {T("approval_id"), T("decision_id"), T("session_id"), T("state"), T("approver_group"),
	  T("requested_by"), T("rule_id"), W("expires_at"), W("decided_at"), T("decided_by"),
	  STAMPS, J("payload")}},
	{"registry",
	 "registry_agents",
	 "agent_id",
	 "created_at",
	 3,
	 false,
	 {T("agent_id"), T("status"), T("owner"), STAMPS, J("payload")}},
	{"registry",
	 "registry_mcp_servers",
	 "server_id",
	 "created_at",
	 3,
	 false,
	 {T("server_id"), T("name"), T("trust_tier"), T("approval_state"), T("owner"), STAMPS,
	  J("payload")}},
	{"activity",
	 "activity_sessions",
	 "session_id",
	 "started_at",
	 4,
	 false,
	 {T("session_id"), T("agent_id"), T("actor"), T("repository"), T("policy_pack"), T("state"),
	  W("started_at"), W("updated_at"), I("decision_count"), I("blocked_count"),
	  I("approval_required_count"), W("created_at"), J("payload")}},
	{"activity",
	 "activity_decisions",
	 "decision_id",
	 "decided_at",
	 4,
	 false,
	 {T("decision_id"), T("session_id"), T("agent_id"), T("actor"), T("repository"),
	  T("action_type"), T("policy_pack"), T("rule_id"), T("decision"), T("severity"),
	  T("approver_group"), T("correlation_id"), W("decided_at"), STAMPS, J("payload"),
	  T_SINCE("idempotency_caller", 14), T_SINCE("idempotency_key", 14),
	  T_SINCE("request_sha256", 14)},
	 "decided_at"},
	{"inventory",
	 "inventory_repositories",
	 "repository_id",
	 "created_at",
	 5,
	 false,
	 {T("repository_id"), T("provider"), T("owner"), T("policy_pack"), T("risk_tier"),
	  T("status"), STAMPS, J("payload")}},
	{"inventory",
	 "inventory_policy_rollouts",
	 "rollout_id",
	 "created_at",
	 5,
	 false,
	 {T("rollout_id"), T("repository_id"), T("policy_pack"), T("mode"), T("state"),
	  I("coverage_percent"), STAMPS, J("payload"), I_SINCE("version", 16),
	  J_SINCE("history", 16)}},
	{"integrations",
	 "integrations",
	 "integration_id",
	 "created_at",
	 6,
	 false,
	 {T("integration_id"), T("provider"), T("environment"), T("category"), T("status"),
	  T("health"), T("owner"), STAMPS, J("payload")}},
	/* hashes only: see docs/backup-format.md, "API tokens" */
	{"identity",
	 "api_tokens",
	 "token_id",
	 "created_at",
	 7,
	 false,
	 {T("token_id"), T("token_sha256"), T("name"), T("subject"), T("created_by"),
	  W("expires_at"), W("revoked_at"), W("last_used_at"), STAMPS, J("payload")}},
	/* audit evidence: merged on restore so that no restore erases the trail */
	{"operations",
	 "operations_records",
	 "record_id",
	 "finished_at",
	 9,
	 true,
	 {T("record_id"), T("kind"), T("outcome"), T("manifest_sha256"), T("location"),
	  W("started_at"), W("finished_at"), STAMPS, J("payload")}},
	/* the hash chain over decisions (docs/audit.md): carried, so a restore verifies */
	/* in seq order, the order it is written and stored in; by hash before format v4 */
	{"audit",
	 "audit_chain",
	 "seq",
	 "chained_at",
	 15,
	 false,
	 {I("seq"), T("kind"), T("record_id"), T("record_sha256"), T("prev_hash"), T("hash"),
	  W("chained_at"), T_SINCE("seal", 24)},
	 NULL,
	 "hash"},
	{"audit",
	 "audit_chain_head",
	 "hash",
	 "updated_at",
	 15,
	 false,
	 {I("id"), I("seq"), T("hash"), W("updated_at"), I("adopt_pending"),
	  I_SINCE("evidence_pending", 21), I_SINCE("records_pending", 22),
	  I_SINCE("sessions_pending", 23)}},
};

const size_t ops_catalog_n = ARRAY_SIZE(ops_catalog);

/*
 * Tables that are deliberately not in a backup.  Any other table that the
 * catalogue does not know makes a backup fail, so that a new table is never
 * left out silently.
 */
static const char *const not_backed_up[] = {
	"schema_migrations", /* carried in the manifest; a restore rebuilds it */
	"console_sessions", /* short-lived login state of the web console */
};

bool ops_table_skipped(const char *table)
{
	for (size_t i = 0; i < ARRAY_SIZE(not_backed_up); i++)
		if (strcmp(not_backed_up[i], table) == 0)
			return true;
	return false;
}

const struct ops_table *ops_table_find(const char *table)
{
	for (size_t i = 0; i < ops_catalog_n; i++)
		if (strcmp(ops_catalog[i].table, table) == 0)
			return &ops_catalog[i];
	return NULL;
}

size_t ops_table_ncols(const struct ops_table *t)
{
	size_t n = 0;

	while (n < OPS_MAX_COLS && t->cols[n].name)
		n++;
	return n;
}

size_t ops_table_col(const struct ops_table *t, const char *name)
{
	for (size_t i = 0; i < ops_table_ncols(t); i++)
		if (str_eq(t->cols[i].name, name))
			return i;
	return SIZE_MAX;
}

void ops_table_view(const struct ops_table *t, int v, struct ops_table *out)
{
	size_t n = 0;

	*out = *t;
	while (n < OPS_MAX_COLS && t->cols[n].name && t->cols[n].since <= v)
		n++;
	out->cols[n] = (struct ops_col){0};
}

/*
 * Tables carry the schema version that created them, so a backup of an older database lists
 * only the tables it had, and a restore of it expects exactly those.
 */
bool ops_table_at(const struct ops_table *t, int v)
{
	return t->since <= v;
}

/*
 * Names and order, the key and the store: any difference means a schema this binary was not
 * built for, whose rows it must not load.  A backup before format v4 (legacy) may name the
 * key the table's files were in order of then.
 */
bool ops_same_columns(const struct ops_manifest_file *f, const struct ops_table *t, bool legacy)
{
	bool key = str_eq(f->key, t->key) || (legacy && str_eq(f->key, t->legacy_key));

	if (f->ncolumns != ops_table_ncols(t) || !key || !str_eq(f->store, t->store))
		return false;
	for (size_t i = 0; i < f->ncolumns; i++)
		if (strcmp(f->columns[i], t->cols[i].name) != 0)
			return false;
	return true;
}

size_t ops_store_names(int v, const char *names[], size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < ops_catalog_n; i++) {
		bool seen = false;

		for (size_t k = 0; k < n; k++)
			seen = seen || strcmp(names[k], ops_catalog[i].store) == 0;
		if (!seen && ops_table_at(&ops_catalog[i], v) && n < max)
			names[n++] = ops_catalog[i].store;
	}
	return n;
}

void ops_encoder_init(struct ops_encoder *enc, const struct ops_table *t)
{
	enc->t = t;
	enc->n = ops_table_ncols(t);
	/* insertion sort of at most 16 names, once per table rather than once per row */
	for (size_t i = 0; i < enc->n; i++) {
		size_t j = i;

		while (j > 0 && strcmp(t->cols[enc->order[j - 1]].name, t->cols[i].name) > 0) {
			enc->order[j] = enc->order[j - 1];
			j--;
		}
		enc->order[j] = i;
	}
	/* '{"name":' then ',"name":' ...: the same bytes on every line, built once */
	buf_init(&enc->keys, BUF_CAP_DEFAULT);
	for (size_t k = 0; k < enc->n; k++) {
		const char *name = t->cols[enc->order[k]].name;

		enc->key_off[k] = enc->keys.len;
		if (buf_add(&enc->keys, k ? "," : "{", 1, NULL) != ST_OK ||
		    jx_canon_string(&enc->keys, name, strlen(name), NULL) != ST_OK ||
		    buf_add(&enc->keys, ":", 1, NULL) != ST_OK)
			abort(); /* a few hundred bytes of catalogue names */
	}
	enc->key_off[enc->n] = enc->keys.len;
	enc->cz = ops_canonizer_new();
}

void ops_encoder_release(struct ops_encoder *enc)
{
	if (!enc)
		return;
	ops_canonizer_free(enc->cz);
	enc->cz = NULL;
	buf_release(&enc->keys);
}

/* Appends v in decimal, without printf. */
static enum status put_int(struct buf *b, int64_t v, struct err *e)
{
	char tmp[24];
	size_t i = sizeof(tmp);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do {
		tmp[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[--i] = '-';
	return buf_add(b, tmp + i, sizeof(tmp) - i, e);
}

/*
 * Whether v, which time_parse accepted, is already what time_format_utc gives for it
 * (PostgreSQL's binary times arrive formatted so): "YYYY-MM-DDTHH:MM:SS.ffffffZ" with a 'T',
 * six digits of fraction, 'Z' and no leap second.  Saves formatting every time twice.
 */
static bool time_canonical(const char *v, size_t len)
{
	return len == TIME_FMT_LEN - 1 && v[10] == 'T' && v[19] == '.' && v[26] == 'Z' &&
	       !(v[17] == '6' && v[18] == '0');
}

/*
 * Values are re-encoded by kind rather than copied as text, so that the same rows give the
 * same bytes on both backends: PostgreSQL prints times and JSONB its own way, SQLite keeps
 * what was written.  A stored value that does not fit its kind is ST_INTERNAL: the API never
 * writes one, so it means the database was changed behind cavra's back.
 */
static enum status encode_value(const struct ops_table *t, const struct ops_col *c, const char *v,
				size_t len, struct ops_canonizer *cz, struct buf *b, struct err *e)
{
	char out[TIME_FMT_LEN];
	int64_t n, us;

	if (!v)
		return buf_add(b, "null", 4, e);
	switch (c->kind) {
	case OPS_INT:
		if (!str_to_i64(v, INT64_MIN, INT64_MAX, &n))
			return err_set(e, ST_INTERNAL, "%s.%s: stored value is not an integer",
				       t->table, c->name);
		return put_int(b, n, e);
	case OPS_TIME:
		if (!time_parse_stored(v, &us))
			return err_set(e, ST_INTERNAL, "%s.%s: stored value '%.40s' is not a time",
				       t->table, c->name, v);
		if (time_canonical(v, len))
			return jx_canon_string(b, v, len, e);
		time_format_utc(us, out, sizeof(out));
		return jx_canon_string(b, out, TIME_FMT_LEN - 1, e);
	case OPS_JSON:
		if (ops_canon_text_append(cz, b, v, len, NULL) != ST_OK)
			return err_set(e, ST_INTERNAL, "%s.%s: stored value is not JSON", t->table,
				       c->name);
		return ST_OK;
	case OPS_TEXT:
	default:
		return jx_canon_string(b, v, len, e);
	}
}

/*
 * Keys come out in the encoder's precomputed sorted order, so each line is canonical JSON
 * without building a json-c object per row.  at (may be NULL) gets where each column's value
 * starts and ends in line, by column.
 */
static enum status encode_row(struct ops_encoder *enc, const char *const *vals, const size_t *lens,
			      struct buf *line, size_t (*at)[2], struct err *e)
{
	enum status st = ST_OK;

	for (size_t k = 0; k < enc->n && st == ST_OK; k++) {
		size_t i = enc->order[k];
		const char *v = vals[i];

		st = buf_add(line, enc->keys.data + enc->key_off[k],
			     enc->key_off[k + 1] - enc->key_off[k], e);
		if (at)
			at[i][0] = line->len;
		if (st == ST_OK)
			st = encode_value(enc->t, &enc->t->cols[i], v,
					  v ? (lens ? lens[i] : strlen(v)) : 0, enc->cz, line, e);
		if (at)
			at[i][1] = line->len;
	}
	if (st == ST_OK)
		st = buf_add(line, enc->n ? "}\n" : "{}\n", enc->n ? 2 : 3, e);
	return st;
}

enum status ops_row_encode(struct ops_encoder *enc, const char *const *vals, const size_t *lens,
			   struct buf *line, struct err *e)
{
	return encode_row(enc, vals, lens, line, NULL, e);
}

/* Valid UTF-8: runs of ASCII skipped a word at a time, the rest by the strict decoder. */
static bool text_valid(const char *s, size_t n)
{
	const uint64_t high = 0x8080808080808080ULL;
	size_t i = 0;
	uint64_t w;

	while (n - i >= 8 && (memcpy(&w, s + i, 8), (w & high) == 0))
		i += 8;
	return utf8_valid(s + i, n - i, NULL);
}

/* The span of the value at line[from, to) of a column of kind k, as ops_line_split gives it. */
static struct ops_span span_of(const struct buf *line, size_t from, size_t to, bool null,
			       enum ops_col_kind k)
{
	struct ops_span s = {.p = line->data + from, .n = to - from, .kind = OPS_SPAN_NULL};
	char c = '\0';

	if (s.n)
		c = s.p[0];
	if (null)
		return s;
	if (k == OPS_TEXT || k == OPS_TIME || (k == OPS_JSON && c == '"')) {
		s.kind = OPS_SPAN_STRING;
		s.p++;
		s.n -= 2;
		s.escaped = memchr(s.p, '\\', s.n) != NULL;
	} else if (k == OPS_INT || (c != '{' && c != '[' && c != 't' && c != 'f' && c != 'n')) {
		s.kind = OPS_SPAN_NUMBER;
		s.integer = k == OPS_INT;
	} else {
		s.kind = c == '{'   ? OPS_SPAN_OBJECT
			 : c == '[' ? OPS_SPAN_ARRAY
			 : c == 'n' ? OPS_SPAN_NULL
				    : OPS_SPAN_BOOL;
	}
	return s;
}

enum status ops_row_encode_spans(struct ops_encoder *enc, const char *const *vals,
				 const size_t *lens, struct buf *line, struct ops_span *spans,
				 size_t *bad_col, size_t *dup_col, struct err *e)
{
	size_t at[OPS_MAX_COLS][2];
	enum status st;
	bool dup;

	(void)ops_canonizer_take_duplicate(enc->cz);
	st = encode_row(enc, vals, lens, line, at, e);
	dup = ops_canonizer_take_duplicate(enc->cz);
	*bad_col = SIZE_MAX;
	*dup_col = SIZE_MAX;
	for (size_t i = 0; st == ST_OK && i < enc->n; i++) {
		enum ops_col_kind k = enc->t->cols[i].kind;

		spans[i] = span_of(line, at[i][0], at[i][1], vals[i] == NULL, k);
		if (*bad_col == SIZE_MAX && vals[i] && (k == OPS_TEXT || k == OPS_JSON) &&
		    !text_valid(vals[i], lens ? lens[i] : strlen(vals[i])))
			*bad_col = i;
		if (dup && *dup_col == SIZE_MAX && k == OPS_JSON)
			*dup_col = i;
	}
	return st;
}
