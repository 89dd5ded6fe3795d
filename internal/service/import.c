/*
 * import.c - `cavra ops import`: the original CAVRA's JSON and SQLite store
 * files into the database.  A SQLite store's rows hold each record whole in
 * their payload column, in the form of the JSON stores' records, so both
 * are read into the same document and go through the same checks.
 *
 * A file is read and every record in it is checked with the same rules as
 * the API before anything is written; one bad record means nothing from the
 * file is imported, and every bad record is reported with its position.
 * Then all records are written in one transaction.  Writes are upserts that
 * skip unchanged records, so a second run changes nothing.  Decisions never
 * change once stored; session counters are recounted from the stored
 * decisions, never taken on trust.
 */
#include "base/base.h"
#include "base/interrupt.h"
#include "service/records.h"
#include "base/buf.h"
#include "base/timeutil.h"
#include "base/utf8.h"
#include "base/files.h"
#include "base/xalloc.h"
#include "base/str.h"
#include "json/jx.h"
#include "store/store_chain.h"
#include "store/store_sessions.h"
#include "store/store_original.h"
#include "base/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IMPORT_FILE_MAX ((size_t)1 << 30)
/* One record of an original SQLite file: far above any the original wrote (the API takes 1 MiB). */
#define IMPORT_RECORD_MAX ((size_t)16 << 20)
#define IMPORT_DEPTH	  64
#define PROBLEMS_MAX	  50
/* The end of the refusal of a number json-c would clamp (jx_check_numbers_for). */
#define NUMBER_ADVICE "it would not be stored as written; make it a string"

struct store_spec {
	const char *name, *env, *file;
	const char *db_env; /* the original's SQLite variable: wins over env */
	const char *keys[2];
	const struct kind *kinds[2];
	const char *tables[2]; /* the original's SQLite tables for keys */
};

static const struct store_spec specs[] = {
	{"evidence_metadata",
	 "CAVRA_EVIDENCE_METADATA_STORE",
	 "evidence-metadata.json",
	 "CAVRA_EVIDENCE_METADATA_DB",
	 {"items"},
	 {&service_kind_evidence},
	 {"evidence_metadata"}},
	{"approvals",
	 "CAVRA_APPROVAL_STORE",
	 "approvals.json",
	 "CAVRA_APPROVAL_DB",
	 {"items"},
	 {&service_kind_approval},
	 {"approvals"}},
	{"registry",
	 "CAVRA_REGISTRY_STORE",
	 "registry.json",
	 "CAVRA_REGISTRY_DB",
	 {"agents", "mcp_servers"},
	 {&service_kind_agent, &service_kind_mcp_server},
	 {"registry_agents", "registry_mcp_servers"}},
	{"activity",
	 "CAVRA_ACTIVITY_STORE",
	 "activity.json",
	 "CAVRA_ACTIVITY_DB",
	 {"sessions", "decisions"},
	 {&service_kind_session, &service_kind_decision},
	 {"activity_sessions", "activity_decisions"}},
	{"inventory",
	 "CAVRA_INVENTORY_STORE",
	 "inventory.json",
	 "CAVRA_INVENTORY_DB",
	 {"repositories", "policy_rollouts"},
	 {&service_kind_repository, &service_kind_rollout},
	 {"inventory_repositories", "inventory_policy_rollouts"}},
	{"integrations",
	 "CAVRA_INTEGRATION_STORE",
	 "integrations.json",
	 "CAVRA_INTEGRATION_DB",
	 {"integrations"},
	 {&service_kind_integration},
	 {"integrations"}},
};

const char *service_import_store_name(size_t i, const char **env, const char **file)
{
	if (i >= ARRAY_SIZE(specs))
		return NULL;
	*env = specs[i].env;
	*file = specs[i].file;
	return specs[i].name;
}

const char *service_import_store_db_env(size_t i)
{
	return i < ARRAY_SIZE(specs) ? specs[i].db_env : NULL;
}

static const struct store_spec *find_spec(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(specs); i++)
		if (strcmp(specs[i].name, name) == 0)
			return &specs[i];
	return NULL;
}

/* The records of one file, checked. */
struct batch {
	struct prepared *recs[2];
	size_t n[2];
	struct import_result *out;
	struct progress *progress; /* borrowed; NULL: none */
};

/*
 * Problems are capped so that a file of a million bad records yields a readable report; the
 * position "key[i]" lets the operator find each one in the original file.
 */
static void problem(struct import_result *out, const char *key, size_t i, const char *msg)
{
	if (out->nproblems == PROBLEMS_MAX)
		return;
	out->problems = xrealloc(out->problems, (out->nproblems + 1) * sizeof(char *));
	out->problems[out->nproblems++] = xasprintf("%s[%zu]: %s", key, i, msg);
}

/* A day of slack for a clock a little ahead, or a local time written as UTC. */
#define FUTURE_SLACK_US ((int64_t)86400 * 1000000)

static enum status not_future(const char *field, const char *v, int64_t limit, struct err *e)
{
	int64_t us = 0;

	if (!v || !*v || !time_parse(v, &us) || us <= limit)
		return ST_OK;
	return err_set(e, ST_INVALID,
		       "field '%s' is more than a day in the future (%.40s): fix the clock that "
		       "wrote it, or the record",
		       field, v);
}

/* Removes key from o; whether it was there. */
static bool drop_key(json_object *o, const char *key)
{
	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, NULL))
		return false;
	json_object_object_del(o, key);
	return true;
}

/*
 * Who wrote a record, and who changed it since, are the server's word: a file names neither.
 * An approval's copy of its decision drops the decision's writer too, which decides whose
 * approvals an agent reads (GET /approvals): a file could otherwise hand an imported approval
 * to any agent, or put a value too long for the index of migration 020 into it.  Whether
 * anything was dropped.
 */
static bool drop_writers(const struct kind *k, json_object *rec)
{
	json_object *d = NULL;
	bool dropped = drop_key(rec, "recorded_by");

	dropped = drop_key(rec, "changed_by") || dropped;
	if (k == &service_kind_approval && json_object_object_get_ex(rec, "decision", &d))
		dropped = drop_key(d, "recorded_by") || dropped;
	return dropped;
}

enum status service_import_admit(const struct kind *k, struct prepared *p, struct err *e)
{
	int64_t limit = time_now_us() + FUTURE_SLACK_US;
	enum status st = ST_OK;

	for (const struct field *f = k->fields; st == ST_OK && f->name; f++)
		if (f->kind == F_TIME && strcmp(f->name, "expires_at") != 0)
			st = not_future(f->name, jx_get_str(p->rec, f->name), limit, e);
	if (st == ST_OK)
		st = not_future("created_at", p->created_at, limit, e);
	if (st == ST_OK)
		st = not_future("updated_at", p->updated_at, limit, e);
	if (st == ST_OK && drop_writers(k, p->rec)) {
		free(p->payload);
		p->payload = jx_take_text(json_object_get(p->rec));
	}
	return st;
}

/*
 * schema_version goes first, as in a decision the API records, so that an imported decision's
 * payload has the same shape and key order as a native one.
 */
void service_import_decision_payload(struct prepared *p)
{
	json_object *o = json_object_new_object();

	jx_add_str(o, "schema_version", service_kind_decision.schema);
	json_object_object_foreach(p->rec, key, val)
	{
		json_object_object_add(o, key, json_object_get(val));
	}
	free(p->payload);
	p->payload = jx_take_text(o);
}

static void check_list(const struct store_spec *sp, int k, json_object *arr, struct batch *b)
{
	size_t n = json_object_array_length(arr);

	b->recs[k] = xcalloc(n + 1, sizeof(struct prepared));
	for (size_t i = 0; i < n; i++) {
		struct err e = {0};
		struct prepared *p = &b->recs[k][b->n[k]];

		json_object *rec = json_object_array_get_idx(arr, i);
		const char *fault = json_object_is_type(rec, json_type_object)
					    ? json_object_get_userdata(rec)
					    : NULL;

		if (fault) {
			problem(b->out, sp->keys[k], i, fault);
			continue;
		}
		if (service_kind_prepare(sp->kinds[k], rec, true, p, &e) != ST_OK ||
		    service_import_admit(sp->kinds[k], p, &e) != ST_OK) {
			problem(b->out, sp->keys[k], i, e.msg);
			service_prepared_release(p);
			continue;
		}
		if (sp->kinds[k] == &service_kind_decision)
			service_import_decision_payload(p);
		b->n[k]++;
	}
	b->out->tables[k].read = (int64_t)n;
}

static enum status check_file(const struct store_spec *sp, json_object *root, struct batch *b,
			      struct err *e)
{
	bool any = false;

	if (!json_object_is_type(root, json_type_object))
		return err_set(e, ST_INVALID, "'%s': expected a JSON object", b->out->path);
	for (int k = 0; k < 2 && sp->keys[k]; k++) {
		json_object *arr = NULL;

		b->out->tables[k].name = sp->keys[k];
		b->out->ntables = k + 1;
		if (!json_object_object_get_ex(root, sp->keys[k], &arr) || !arr)
			continue;
		any = true;
		if (!json_object_is_type(arr, json_type_array))
			return err_set(e, ST_INVALID, "'%s': '%s' must be a list", b->out->path,
				       sp->keys[k]);
		check_list(sp, k, arr, b);
	}
	if (!any && json_object_object_length(root) > 0)
		return err_set(e, ST_INVALID, "'%s': not the %s store: it has no '%s'%s%s%s",
			       b->out->path, sp->name, sp->keys[0], sp->keys[1] ? " or '" : "",
			       sp->keys[1] ? sp->keys[1] : "", sp->keys[1] ? "'" : "");
	if (b->out->nproblems > 0)
		return err_set(e, ST_INVALID, "'%s': %zu invalid record%s; nothing was imported",
			       b->out->path, b->out->nproblems, b->out->nproblems == 1 ? "" : "s");
	return ST_OK;
}

static void count(struct import_table *t, enum rec_outcome o)
{
	if (o == REC_CREATED)
		t->created++;
	else if (o == REC_UPDATED)
		t->updated++;
	else
		t->unchanged++;
}

static char *int_field(json_object *rec, const char *key)
{
	return xasprintf("%lld",
			 (long long)json_object_get_int64(json_object_object_get(rec, key)));
}

static char *session_extras(json_object *rec)
{
	json_object *o = json_object_new_object(), *m = NULL;

	if (json_object_object_get_ex(rec, "metadata", &m) && m)
		json_object_object_add(o, "metadata", json_object_get(m));
	return jx_take_text(o);
}

static enum status put_session(struct store_conn *c, struct prepared *p, const char *now,
			       enum rec_outcome *o, struct err *e)
{
	char *counts[3] = {int_field(p->rec, "decision_count"), int_field(p->rec, "blocked_count"),
			   int_field(p->rec, "approval_required_count")};
	char *extras = session_extras(p->rec);
	const char *started = jx_get_str(p->rec, "started_at");
	struct session_import s = {
		.session_id = p->id,
		.agent_id = jx_get_str(p->rec, "agent_id"),
		.actor = jx_get_str(p->rec, "actor"),
		.repository = jx_get_str(p->rec, "repository"),
		.policy_pack = jx_get_str(p->rec, "policy_pack"),
		.state = jx_get_str(p->rec, "state"),
		.started_at = started ? started : (p->created_at[0] ? p->created_at : NULL),
		.updated_at = p->updated_at[0] ? p->updated_at : NULL,
		.decision_count = counts[0],
		.blocked_count = counts[1],
		.approval_required_count = counts[2],
		.payload = extras,
		.now = now,
	};
	enum status rc = store_session_import(c, &s, o, e);

	/* a changed session gets its entry now, a new one before the import commits */
	if (rc == ST_OK && *o == REC_UPDATED)
		rc = store_chain_append_record(c, "activity_sessions", p->id, e);
	for (int i = 0; i < 3; i++)
		free(counts[i]);
	free(extras);
	return rc;
}

/*
 * An approval changes once, from pending to its decision, as through the API: an import may
 * decide one that is stored pending (the original's later export of it), and nothing else.
 * Moving one back to pending, deciding it again, or rewriting who decided would also leave the
 * chain with entries its state cannot have (docs/audit.md), so the file is refused.
 */
static enum status approval_change_ok(const char *id, const char *was, const char *now_state,
				      struct err *e)
{
	if (str_eq(was, "pending") && now_state && !str_eq(now_state, "pending") &&
	    !str_eq(now_state, "break_glass"))
		return ST_OK;
	return err_set(e, ST_CONFLICT,
		       "approval '%s' is already stored as %s and the file changes it (to %s): an "
		       "import may only decide a pending approval, as the API does",
		       id, was ? was : "?", now_state ? now_state : "?");
}

/* The stored state of approval id (NULL: none), owned by the caller. */
static enum status stored_state(struct store_conn *c, const char *id, char **out, struct err *e)
{
	struct store_rows *r = NULL;
	enum status st =
		store_query(c, "SELECT state FROM approvals WHERE approval_id = $1", 1, &id, &r, e);

	*out = st == ST_OK && store_rows_count(r) ? xstrdup(store_rows_get(r, 0, 0)) : NULL;
	store_rows_free(r);
	return st;
}

static enum status put_approval(struct store_conn *c, const struct kind *k, struct rec_write *w,
				const char *state, enum rec_outcome *o, struct err *e)
{
	char *was = NULL;
	enum status st = stored_state(c, w->id, &was, e);

	if (st == ST_OK)
		st = store_rec_put(c, k->table, w, o, e);
	if (st == ST_OK && *o == REC_UPDATED)
		st = approval_change_ok(w->id, was, state, e);
	if (st == ST_OK && *o == REC_UPDATED)
		st = store_chain_append_approval(c, w->id, e);
	free(was);
	return st;
}

/*
 * A record whose kind is chained at every write (evidence) and that the import changed gets
 * its entry now, as through the API; a new one is chained before the import commits.
 */
static enum status put_chained(struct store_conn *c, const struct kind *k,
			       const struct rec_write *w, enum rec_outcome *o, struct err *e)
{
	enum status st = store_rec_put(c, k->table, w, o, e);

	if (st == ST_OK && k->table->chained && *o == REC_UPDATED)
		st = store_chain_append_record(c, k->table->name, w->id, e);
	return st;
}

/*
 * Decisions are written once and never updated (they are evidence), and keep their own
 * timestamp as created_at; other kinds are upserts that skip unchanged records.  An
 * approval the import decides gets a chain entry for its new state, as an approval changed
 * through the API does; new ones are chained before the import commits (store_chain_import_tx).
 */
enum status service_import_put_one(struct store_conn *c, const struct kind *k, struct prepared *p,
				   const char *now, enum rec_outcome *o, struct err *e)
{
	struct rec_write w;

	if (k == &service_kind_session)
		return put_session(c, p, now, o, e);
	service_prepared_write(k, p, now, &w);
	if (k == &service_kind_approval)
		return put_approval(c, k, &w, jx_get_str(p->rec, "state"), o, e);
	if (k != &service_kind_decision)
		return put_chained(c, k, &w, o, e);
	w.created_at = w.updated_at = jx_get_str(p->rec, "timestamp");
	return store_rec_put_once(c, k->table, &w, o, e);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Every session named in the file agrees with its decisions: each once, however many of its
 * decisions the file holds (a recount per decision made an import of 15,000 decisions of a
 * few sessions take minutes).
 */
static enum status recount(struct store_conn *c, struct batch *b, struct err *e)
{
	const char **ids = xcalloc(b->n[0] + b->n[1] + 1, sizeof(*ids));
	enum status rc = ST_OK;
	size_t n = 0;

	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < b->n[k]; i++) {
			const char *id = k == 0 ? b->recs[k][i].id
						: jx_get_str(b->recs[k][i].rec, "session_id");

			if (id)
				ids[n++] = id;
		}
	qsort(ids, n, sizeof(*ids), cmp_str);
	for (size_t i = 0; i < n && rc == ST_OK; i++) {
		bool changed = false;

		if (i > 0 && strcmp(ids[i], ids[i - 1]) == 0)
			continue;
		rc = store_session_recount(c, ids[i], &changed, e);
		b->out->sessions_recounted += changed;
	}
	free(ids);
	return rc;
}

/*
 * The chained tables the import wrote to (a record created or updated), into out
 * (NULL-terminated): only their records are chained after it.  An import of other records
 * chains nothing, and none chains another table's rows, so that it cannot turn a row inserted
 * behind cavra's back there into a chained one.
 */
static size_t chained_written(const struct store_spec *sp, const struct import_result *r,
			      const char *out[3])
{
	size_t n = 0;

	for (int k = 0; k < 2 && k < r->ntables; k++) {
		const struct kind *kd = sp->kinds[k];
		bool session = kd == &service_kind_session; /* written by its own statements */
		bool chained = kd && (session || (kd->table && (kd == &service_kind_approval ||
								kd == &service_kind_decision ||
								kd->table->chained)));

		if (chained && (r->tables[k].created > 0 || r->tables[k].updated > 0))
			out[n++] = session ? "activity_sessions" : kd->table->name;
	}
	out[n] = NULL;
	return n;
}

static enum status write_all(struct store *st, const struct store_spec *sp, struct batch *b,
			     struct err *e)
{
	char now[TIME_FMT_LEN];
	const char *written[3];
	struct store_conn *c;
	enum status rc = store_conn_get(st, &c, e);

	if (rc != ST_OK)
		return rc;
	time_format_utc(time_now_us(), now, sizeof(now));
	rc = store_tx_begin(c, STORE_TX_WRITE, e);
	progress_phase(b->progress, sp->name, (int64_t)(b->n[0] + b->n[1]));
	for (int j = 0; j < 2; j++) {
		/* decisions before sessions: a session's counters come from its decisions */
		int k = sp->kinds[1] == &service_kind_decision ? 1 - j : j;

		if (!sp->keys[k])
			continue;
		progress_item(b->progress, sp->keys[k]);
		for (size_t i = 0; i < b->n[k] && rc == ST_OK; i++) {
			enum rec_outcome o = REC_UNCHANGED;

			/* a signal rolls the store's transaction back: nothing of it is imported */
			if ((rc = interrupt_check(e)) != ST_OK)
				break;
			rc = service_import_put_one(c, sp->kinds[k], &b->recs[k][i], now, &o, e);
			if (rc != ST_OK)
				err_wrap(e, "%s '%s'", sp->keys[k], b->recs[k][i].id);
			count(&b->out->tables[k], o);
			progress_add(b->progress, 1);
		}
	}
	if (rc == ST_OK && sp->kinds[1] == &service_kind_decision)
		rc = recount(c, b, e);
	/* chained before the commit: imported records never stand committed without entries */
	if (rc == ST_OK && chained_written(sp, b->out, written) > 0)
		rc = store_chain_import_tx(c, written, b->progress, &b->out->chained, e);
	if (rc == ST_OK)
		rc = store_tx_commit(c, e);
	store_conn_put(st, c); /* rolls back what is still open */
	return rc;
}

static void batch_release(struct batch *b)
{
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < b->n[k]; i++)
			service_prepared_release(&b->recs[k][i]);
		free(b->recs[k]);
	}
}

/*
 * The parser's complaint about a file, without the API's "body" wording: "body is not valid
 * JSON: unexpected end of data at byte 9" gives "unexpected end of data at byte 9", "body has
 * a key twice in one object (...)" gives "has a key twice in one object (...)".
 */
static const char *file_fault(const char *msg)
{
	static const char invalid[] = "is not valid JSON: ";
	const char *m = jx_fault(msg);

	return strncmp(m, invalid, sizeof(invalid) - 1) == 0 ? m + sizeof(invalid) - 1 : m;
}

static enum status read_file(const char *path, json_object **root, struct err *e)
{
	struct err pe = {0};
	struct buf data;
	enum status rc;
	size_t at = 0;

	buf_init(&data, IMPORT_FILE_MAX);
	rc = file_read(path, IMPORT_FILE_MAX, &data, e);
	/* the API's rule: text that is not valid UTF-8 is never stored (nor backed up) */
	if (rc == ST_OK && !utf8_valid(data.data, data.len, &at))
		rc = err_set(e, ST_INVALID, "not valid UTF-8 at byte %zu", at);
	else if (rc == ST_OK && jx_parse(data.data, data.len, IMPORT_DEPTH, root, &pe) != ST_OK)
		rc = err_set(e, ST_INVALID, "not valid JSON (truncated or corrupt?): %s",
			     file_fault(pe.msg));
	else if (rc == ST_OK &&
		 jx_check_numbers_for(data.data, data.len, NUMBER_ADVICE, &pe) != ST_OK) {
		json_object_put(*root);
		*root = NULL;
		rc = err_set(e, ST_INVALID, "%s%s",
			     strncmp(pe.msg, "body ", 5) == 0 ? "the file " : "", jx_fault(pe.msg));
	}
	buf_release(&data);
	return err_ctx(rc, e, "'%s'", path);
}

static void free_fault(json_object *o, void *fault)
{
	UNUSED(o);
	free(fault);
}

/*
 * An empty object carrying fault (owned) as json-c's userdata, which no parsed object has
 * (json-c keeps userdata on parsed doubles only: their text as written).
 */
static json_object *faulty_record(char *fault)
{
	json_object *rec = json_object_new_object();

	json_object_set_userdata(rec, fault, free_fault);
	return rec;
}

/*
 * Appends one payload to the list.  One that is not JSON, or holds a number that would not come
 * back as written, stays as a faulty_record, to be reported with its position.
 */
/* The records read from an original SQLite file so far. */
struct payloads {
	json_object *arr;
	size_t bytes; /* all of them: a file may hold no more than a JSON file may */
};

static enum status add_payload(void *ctx, const char *payload, size_t len, struct err *e)
{
	struct payloads *pl = ctx;
	json_object *rec = NULL;
	struct err pe = {0};

	pl->bytes += len;
	if (pl->bytes > IMPORT_FILE_MAX)
		return err_set(e, ST_INVALID,
			       "its payloads hold more than %zu bytes, the most an import reads",
			       (size_t)IMPORT_FILE_MAX);
	if (len > IMPORT_RECORD_MAX) {
		rec = faulty_record(
			xasprintf("the payload is over %zu bytes", (size_t)IMPORT_RECORD_MAX));
	} else if (jx_parse(payload, len, IMPORT_DEPTH, &rec, &pe) != ST_OK) {
		rec = faulty_record(
			xasprintf("the payload is not valid JSON: %s", file_fault(pe.msg)));
	} else if (jx_check_numbers_for(payload, len, NUMBER_ADVICE, &pe) != ST_OK) {
		json_object_put(rec);
		rec = faulty_record(xasprintf("the payload %s", jx_fault(pe.msg)));
	}
	json_object_array_add(pl->arr, rec);
	return ST_OK;
}

/* The store's tables of an original SQLite file as the document its JSON file would hold. */
static enum status read_sqlite(const struct store_spec *sp, const char *path, json_object **root,
			       struct err *e)
{
	enum status rc = ST_OK;
	struct payloads pl = {0};
	bool any = false;

	*root = json_object_new_object();
	for (int k = 0; k < 2 && sp->keys[k] && rc == ST_OK; k++) {
		json_object *arr = json_object_new_array();

		pl.arr = arr;
		rc = store_original_payloads(path, sp->tables[k], add_payload, &pl, e);
		if (rc == ST_NOT_FOUND && access(path, F_OK) == 0) {
			/* the original created each table on first use */
			err_clear(e);
			rc = ST_OK;
			json_object_put(arr);
			continue;
		}
		any = any || rc == ST_OK;
		json_object_object_add(*root, sp->keys[k], arr);
	}
	if (rc == ST_OK && !any)
		rc = err_set(e, ST_NOT_FOUND, "'%s': no %s table (%s%s%s)", path, sp->name,
			     sp->tables[0], sp->tables[1] ? ", " : "",
			     sp->tables[1] ? sp->tables[1] : "");
	return rc;
}

static enum status import_any(struct store *st, const struct import_opts *o,
			      struct import_result *out, struct err *e)
{
	const char *store_name = o->store, *path = o->path;
	const struct store_spec *sp = find_spec(store_name);
	struct batch b = {.out = out, .progress = o->progress};
	json_object *root = NULL;
	enum status rc;

	memset(out, 0, sizeof(*out));
	out->path = xstrdup(path);
	if (!sp)
		return err_set(e, ST_INVALID,
			       "unknown store '%s' (known: evidence_metadata, approvals, registry, "
			       "activity, inventory, integrations)",
			       store_name);
	out->store = sp->name;
	rc = o->sqlite ? read_sqlite(sp, path, &root, e) : read_file(path, &root, e);
	if (rc == ST_OK)
		rc = check_file(sp, root, &b, e);
	if (rc == ST_OK)
		rc = write_all(st, sp, &b, e);
	if (rc != ST_OK)
		for (int k = 0; k < 2; k++)
			out->tables[k].created = out->tables[k].updated = out->tables[k].unchanged =
				0;
	batch_release(&b);
	json_object_put(root);
	return rc;
}

enum status service_import(struct store *st, const char *store_name, const char *path,
			   struct import_result *out, struct err *e)
{
	const struct import_opts o = {.store = store_name, .path = path};

	return import_any(st, &o, out, e);
}

enum status service_import_sqlite(struct store *st, const char *store_name, const char *path,
				  struct import_result *out, struct err *e)
{
	const struct import_opts o = {.store = store_name, .path = path, .sqlite = true};

	return import_any(st, &o, out, e);
}

enum status service_import_with(struct store *st, const struct import_opts *o,
				struct import_result *out, struct err *e)
{
	return import_any(st, o, out, e);
}

void service_import_result_release(struct import_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nproblems; i++)
		free(r->problems[i]);
	free(r->problems);
	free(r->path);
	memset(r, 0, sizeof(*r));
}
