/*
 * rollout_detail.c - the answer of GET /policy-rollouts/{id}/detail built
 * from the reads of rollouts.c: activity, pack, integrations, readiness.
 */
#include "base/base.h"
#include "service/rollout.h"
#include "service/records.h"
#include "base/buf.h"
#include "base/num.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "json/jx.h"
#include "store/store_chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_US			 (86400LL * 1000000LL)
#define ROLLOUT_MAX_INTEGRATIONS 1000

static const char *const outcome_keys[] = {
	"allow", "warn", "require_approval", "block", "audit_only", "allow_with_attestation", NULL};
static const char *const severity_keys[] = {"low", "medium", "high", "critical", NULL};

static json_object *zeroes(const char *const *keys)
{
	json_object *o = json_object_new_object();

	for (size_t i = 0; keys[i]; i++)
		jx_add_int(o, keys[i], 0);
	return o;
}

/* Adds n to o[key] when o counts key (unknown values are left out, not invented). */
static void bump(json_object *o, const char *key, int64_t n)
{
	json_object *v = NULL;

	if (key && json_object_object_get_ex(o, key, &v))
		json_object_set_int64(v, json_object_get_int64(v) + n);
}

/* One entry per day of the window, oldest first, each with every outcome at 0. */
static json_object *empty_days(const struct rollout_view *v)
{
	json_object *days = json_object_new_array();
	int64_t start = 0;

	if (!time_parse(v->since, &start))
		return days;
	for (int i = 0; i < ROLLOUT_WINDOW_DAYS; i++) {
		json_object *d = json_object_new_object();
		char t[32];

		time_format_utc(start + (int64_t)i * DAY_US, t, sizeof(t));
		t[10] = '\0';
		jx_add_str(d, "day", t);
		for (size_t k = 0; outcome_keys[k]; k++)
			jx_add_int(d, outcome_keys[k], 0);
		json_object_array_add(days, d);
	}
	return days;
}

static json_object *day_of(json_object *days, const char *day)
{
	for (size_t i = 0; day && i < json_object_array_length(days); i++) {
		json_object *d = json_object_array_get_idx(days, i);

		if (strcmp(jx_get_str_or(d, "day", ""), day) == 0)
			return d;
	}
	return NULL;
}

/* by_outcome, by_severity and daily from the groups, and the total into *decisions. */
static void add_counts(json_object *act, const struct rollout_view *v, const struct store_rows *g,
		       int64_t *decisions)
{
	json_object *by_o = zeroes(outcome_keys), *by_s = zeroes(severity_keys);
	json_object *days = empty_days(v);

	*decisions = 0;
	for (size_t i = 0; i < store_rows_count(g); i++) {
		int64_t n = 0;
		json_object *d = day_of(days, store_rows_get(g, i, 0));

		if (!str_to_i64(store_rows_get(g, i, 5), 0, INT64_MAX, &n))
			continue;
		*decisions += n;
		bump(by_o, store_rows_get(g, i, 2), n);
		bump(by_s, store_rows_get(g, i, 4), n);
		if (d)
			bump(d, store_rows_get(g, i, 2), n);
	}
	json_object_object_add(act, "by_outcome", by_o);
	json_object_object_add(act, "by_severity", by_s);
	json_object_object_add(act, "daily", days);
}

static void urlenc(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char one[4] = {(char)ch, '\0'};
		char esc[4] = {'%', hex[ch >> 4], hex[ch & 15], '\0'};
		bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9') || (ch && strchr("-._~", ch));

		buf_xadds(b, plain ? one : esc);
	}
}

/* The Activity Explorer's filters for this rollout (ids are at most 256 bytes, so it fits). */
static char *explorer_query(const struct rollout_view *v)
{
	struct buf b;

	buf_init(&b, 4096);
	buf_xadds(&b, "repository=");
	urlenc(&b, v->repository);
	buf_xadds(&b, "&policy_pack=");
	urlenc(&b, v->policy_pack);
	return buf_detach(&b, NULL);
}

/* The rows' payloads (column 0) from table; one that does not parse is left out, and logged. */
static json_object *payload_array(const struct store_rows *r, const char *table)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < store_rows_count(r); i++) {
		json_object *o = service_stored_object(table, NULL, store_rows_get(r, i, 0));

		if (o)
			json_object_array_add(arr, o);
	}
	return arr;
}

/* The activity object; the counts readiness needs go to f. */
static enum status activity(struct store_conn *c, const struct rollout_view *v,
			    struct rollout_facts *f, json_object **out, struct err *e)
{
	struct store_rows *g = NULL, *recent = NULL;
	struct rollout_tally t = {0};
	int64_t blocked = 0, approval = 0, pending = 0, expired = 0, decisions = 0;
	json_object *act = json_object_new_object();
	char *q;
	enum status st = store_rollout_groups(c, &v->scope, &g, e);

	if (st == ST_OK)
		st = store_rollout_sessions(c, &v->scope, &blocked, &approval, e);
	if (st == ST_OK)
		st = store_rollout_approvals(c, &v->scope, v->now, &pending, &expired, e);
	if (st == ST_OK)
		st = store_rollout_recent(c, &v->scope, ROLLOUT_RECENT, &recent, e);
	if (st == ST_OK) {
		jx_add_int(act, "window_days", ROLLOUT_WINDOW_DAYS);
		jx_add_str(act, "since", v->since);
		add_counts(act, v, g, &decisions);
		jx_add_int(act, "decisions", decisions);
		jx_add_int(act, "blocked_sessions", blocked);
		jx_add_int(act, "approval_required_sessions", approval);
		jx_add_int(act, "pending_approvals", pending);
		jx_add_int(act, "expired_pending_approvals", expired);
		json_object_object_add(act, "recent", payload_array(recent, "activity_decisions"));
		q = explorer_query(v);
		jx_add_str(act, "explorer_query", q);
		free(q);
		rollout_tally_changes(g, f->target_mode, "active", &t);
		f->decisions = t.decisions;
		f->would_change = t.would_change;
		f->expired_pending = expired;
		*out = act;
		act = NULL;
	}
	rollout_tally_release(&t);
	json_object_put(act);
	store_rows_free(g);
	store_rows_free(recent);
	return st;
}

/* ---- the pack ---- */

static json_object *pack_summary(const struct service *s, const char *id)
{
	json_object *o = json_object_new_object(), *by = zeroes(outcome_keys);
	const struct policy_pack *pack = NULL;
	struct policy_pack_info info;

	jx_add_str(o, "id", id);
	if (!s->policies || policy_set_find(s->policies, id, &pack, NULL) != ST_OK) {
		json_object_object_add(o, "found", json_object_new_boolean(0));
		json_object_put(by);
		return o;
	}
	policy_pack_info(pack, &info);
	json_object_object_add(o, "found", json_object_new_boolean(1));
	jx_add_str(o, "title", info.title);
	jx_add_str(o, "version", info.version);
	jx_add_str(o, "sha256", info.sha256);
	for (int l = 0; l < POLICY_LIST_COUNT; l++)
		bump(by, rollout_list_outcome((enum policy_list)l), (int64_t)info.list_counts[l]);
	json_object_object_add(o, "rules_by_outcome", by);
	jx_add_int(o, "rules", (int64_t)info.rule_count);
	return o;
}

/* ---- integrations ---- */

/* An integration serves every repository unless its "repositories" list names some. */
static bool serves(json_object *in, const char *repo)
{
	json_object *list = NULL;
	size_t n;

	if (!json_object_object_get_ex(in, "repositories", &list) ||
	    !json_object_is_type(list, json_type_array))
		return true;
	n = json_object_array_length(list);
	for (size_t i = 0; i < n; i++) {
		const char *r = json_object_get_string(json_object_array_get_idx(list, i));

		if (r && strcmp(r, repo) == 0)
			return true;
	}
	return n == 0;
}

static void add_integration(json_object *by, json_object *in, struct rollout_facts *f)
{
	static const char *const keys[] = {"integration_id", "provider", "name", "status",
					   "health_status"};
	const char *cat = jx_get_str_or(in, "category", "security");
	json_object *list = NULL, *o = json_object_new_object();

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		jx_add_str(o, keys[i], jx_get_str(in, keys[i]));
	if (!json_object_object_get_ex(by, cat, &list)) {
		list = json_object_new_array();
		json_object_object_add(by, cat, list);
	}
	json_object_array_add(list, o);
	if (!rollout_integration_usable(jx_get_str(in, "status"), jx_get_str(in, "health_status")))
		return;
	if (strcmp(cat, "source_control") == 0)
		f->source_control++;
	if (strcmp(cat, "siem") == 0 || strcmp(cat, "storage") == 0)
		f->siem_or_storage++;
}

/*
 * The integrations that serve the rollout's repository (rows r: id, payload), each checked
 * against the audit chain: one it does not vouch for (written or changed in the database) is
 * left out and counted in "withheld", so that a planted integration cannot pass readiness.
 */
static enum status serving(struct store *st, const struct store_rows *r, const char *repo,
			   json_object **recs, const char ***ids, bool **vouched, size_t *n,
			   struct err *e)
{
	*recs = json_object_new_array();
	*ids = xcalloc(store_rows_count(r) + 1, sizeof(**ids));
	*vouched = xcalloc(store_rows_count(r) + 1, sizeof(**vouched));
	*n = 0;
	for (size_t i = 0; i < store_rows_count(r); i++) {
		json_object *o =
			service_stored_object("integrations", NULL, store_rows_get(r, i, 1));

		if (!o || !serves(o, repo)) {
			json_object_put(o);
			continue;
		}
		json_object_array_add(*recs, o);
		(*ids)[(*n)++] = store_rows_get(r, i, 0);
	}
	return store_records_vouched(st, "integrations", *ids, *n, *vouched, e);
}

static enum status integrations(struct store *st, struct store_conn *c,
				const struct rollout_view *v, struct rollout_facts *f,
				json_object **out, struct err *e)
{
	struct store_rows *r = NULL;
	json_object *recs = NULL, *by;
	const char **ids = NULL;
	bool *vouched = NULL;
	size_t n = 0, withheld;
	int64_t total = 0;
	enum status rc = store_rollout_integrations(c, ROLLOUT_MAX_INTEGRATIONS, &r, e);

	if (rc == ST_OK)
		rc = serving(st, r, v->repository, &recs, &ids, &vouched, &n, e);
	withheld = rc == ST_OK ? service_withheld("integration", ids, vouched, n) : 0;
	by = json_object_new_object();
	for (size_t i = 0; rc == ST_OK && i < n; i++)
		if (vouched[i]) {
			add_integration(by, json_object_array_get_idx(recs, i), f);
			total++;
		}
	json_object_put(recs);
	store_rows_free(r);
	free(ids);
	free(vouched);
	if (rc != ST_OK) {
		json_object_put(by);
		return rc;
	}
	*out = json_object_new_object();
	jx_add_int(*out, "total", total);
	if (withheld)
		jx_add_int(*out, "withheld", (int64_t)withheld);
	json_object_object_add(*out, "by_category", by);
	return ST_OK;
}

/* ---- readiness ---- */

static json_object *number_or_null(bool has, double v)
{
	return has ? json_object_new_double(v) : NULL;
}

static json_object *readiness(const struct rollout_facts *f)
{
	struct rollout_check_result r[RC__COUNT];
	bool ready = rollout_readiness(f, r);
	json_object *o = json_object_new_object(), *checks = json_object_new_array();

	jx_add_str(o, "status", ready ? "ready" : "needs_attention");
	jx_add_str(o, "target_mode", f->target_mode);
	for (int i = 0; i < RC__COUNT; i++) {
		json_object *c = json_object_new_object();

		jx_add_str(c, "name", r[i].name);
		json_object_object_add(c, "passed", json_object_new_boolean(r[i].passed));
		jx_add_str(c, "reason", r[i].reason);
		json_object_object_add(c, "value", number_or_null(r[i].has_value, r[i].value));
		json_object_object_add(c, "threshold",
				       number_or_null(r[i].has_threshold, r[i].threshold));
		json_object_array_add(checks, c);
	}
	json_object_object_add(o, "checks", checks);
	return o;
}

/* ---- the answer ---- */

/* The history newest first, as the drill-down shows it. */
static json_object *history_newest_first(json_object *h)
{
	json_object *out = json_object_new_array();
	size_t n = json_object_array_length(h);

	for (size_t i = n; i > 0; i--)
		json_object_array_add(out, json_object_get(json_object_array_get_idx(h, i - 1)));
	return out;
}

/*
 * The rollout's repository record.  One the audit chain does not vouch for (written or changed
 * in the database) is shown and counted as not registered, with a note that says why.
 */
static enum status repository(struct store *st, struct store_conn *c, const struct rollout_view *v,
			      json_object *out, struct rollout_facts *f, struct err *e)
{
	const struct kind *k = &service_kind_repository;
	struct rec_row row = {0};
	json_object *rec = NULL;
	enum status rc = jx_check_id(k->id_field, v->repository, NULL) == ST_OK
				 ? store_rec_get_conn(c, k->table, v->repository, &row, e)
				 : ST_NOT_FOUND;
	bool vouched = true;
	char *note = NULL;

	if (rc == ST_OK)
		rc = store_record_vouched_in(st, c, k->table->name, v->repository, &vouched, e);
	if (rc == ST_OK && vouched)
		rec = service_kind_record(k, &row);
	store_rec_row_release(&row);
	if (rc != ST_OK && rc != ST_NOT_FOUND)
		return rc;
	f->repository = v->repository;
	f->repository_registered = rec != NULL;
	if (!vouched)
		note = xasprintf("repository %s " STORE_CHAIN_UNVOUCHED, v->repository);
	else if (!rec)
		note = xasprintf("repository %s is not registered", v->repository);
	json_object_object_add(out, "repository", rec);
	jx_add_str(out, "repository_note", note);
	free(note);
	return ST_OK;
}

/* Everything but the rollout itself, read on c; takes nothing from v. */
static enum status fill(struct service *s, struct store_conn *c, const struct rollout_view *v,
			json_object *out, struct err *e)
{
	struct rollout_facts f = {.coverage_percent = v->coverage,
				  .target_mode = rollout_target_mode(v->mode),
				  .change_pct_max = s->rollout_change_pct_max};
	json_object *act = NULL, *integ = NULL;
	enum status st = repository(s->store, c, v, out, &f, e);

	if (st == ST_OK)
		st = activity(c, v, &f, &act, e);
	if (st == ST_OK)
		st = integrations(s->store, c, v, &f, &integ, e);
	if (st != ST_OK)
		return st;
	json_object_object_add(out, "policy_pack", pack_summary(s, v->policy_pack));
	json_object_object_add(out, "activity", act);
	json_object_object_add(out, "integrations", integ);
	json_object_object_add(out, "readiness", readiness(&f));
	return ST_OK;
}

/*
 * One snapshot: the rollout, its counts and its checks agree with each other even while
 * decisions keep arriving.
 */
enum status service_rollout_detail(struct service *s, const char *id, char **out, struct err *e)
{
	struct store_conn *c = NULL;
	struct rollout_view v = {0};
	json_object *o = NULL;
	enum status st = store_conn_get(s->store, &c, e);

	if (st == ST_OK)
		st = store_tx_begin(c, STORE_TX_SNAPSHOT, e);
	if (st == ST_OK)
		st = rollout_view_load_vouched(s->store, c, id, &v, e);
	if (st == ST_OK) {
		o = json_object_new_object();
		jx_add_str(o, "schema_version", "cavra.policy_rollout_detail.v1");
		jx_add_str(o, "generated_at", v.now);
		json_object_object_add(o, "rollout", json_object_get(v.rec));
		json_object_object_add(o, "history", history_newest_first(v.history));
		st = fill(s, c, &v, o, e);
	}
	if (c)
		store_conn_put(s->store, c); /* ends the read transaction */
	if (st == ST_OK)
		*out = jx_take_text(o);
	else
		json_object_put(o);
	rollout_view_release(&v);
	return st;
}
