/*
 * ops_restest.c - `cavra ops restore-test`: the control auditors ask for.
 * A backup is only as good as a restore of it, so this restores into a
 * scratch SQLite database and asks it the questions the service asks:
 * counts, a filtered decision search in list order, one session's
 * reconstruction, every session's counters against its decisions, and the description of
 * each session only decisions made against theirs.
 */
#include "base/base.h"
#include "base/interrupt.h"
#include "ops/ops_int.h"
#include "base/xalloc.h"
#include "json/jx.h"
#include "base/str.h"
#include "base/num.h"
#include "store/store_decisions.h"
#include "store/store_sessions.h"
#include "base/progress.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The checks ask the restored database through the same store functions the
 * service uses, so a restore that loads rows the service cannot find (a lost
 * index, a time stored in another form, a counter out of step) fails here and not
 * on the day the backup is needed.
 */
#define PAGE 50 /* a first page of GET /decisions */

struct rt {
	struct ops_restore_test_result *out;
	struct store *st;
	struct store_conn *c;
	bool activity; /* the backup has the activity tables */
};

/*
 * Records a check and goes on: the report lists every check with its outcome, so
 * an auditor sees what was tested and not only the first failure.  Checks past
 * OPS_CHECKS_MAX are dropped, which cannot happen with the fixed set below.
 */
static void check(struct rt *t, const char *name, bool ok, const char *fmt, ...) ATTR_PRINTF(4, 5);
static void check(struct rt *t, const char *name, bool ok, const char *fmt, ...)
{
	struct ops_check *c;
	va_list ap;

	if (t->out->nchecks == OPS_CHECKS_MAX)
		return;
	c = &t->out->checks[t->out->nchecks++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->ok = ok;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	t->out->ok = t->out->ok && ok;
}

/*
 * The expected counts come from the manifest, which the verifier already checked;
 * a count that differs after a restore that succeeded means the load itself
 * misbehaved.  Only the last difference is reported, the check fails either way.
 */
static void check_counts(struct rt *t)
{
	const struct ops_restore_result *r = &t->out->restore;
	char why[ERR_MSG_MAX + 100] = "";
	struct err e = {0};
	int64_t total = 0;

	for (size_t i = 0; i < r->ntables; i++) {
		int64_t n = -1;

		if (store_table_count(t->c, r->tables[i].table, &n, &e) != ST_OK ||
		    n != r->tables[i].expected)
			snprintf(why, sizeof(why), "%s has %lld rows, the backup %lld",
				 r->tables[i].table, (long long)n,
				 (long long)r->tables[i].expected);
		total += n;
	}
	if (!why[0])
		snprintf(why, sizeof(why), "%zu tables, %lld rows, as in the backup", r->ntables,
			 (long long)total);
	check(t, "row_counts", strstr(why, "as in the backup") != NULL, "%s", why);
}

/*
 * The first page of one decision value, newest first: the right rows, in order.
 *
 * Newest first, ties broken by id ascending: the order GET /decisions pages in, so
 * a cursor taken from this page would continue without a gap or a repeat.
 */
static bool search_page(struct rt *t, const char *value, int64_t want, char *why, size_t size)
{
	struct store_rows *r = NULL;
	struct err e = {0};
	bool ok = store_activity_rows(t->c, ACTIVITY_FIRST_PAGE_OF_VALUE, value, PAGE, &r, &e) ==
		  ST_OK;
	size_t n = store_rows_count(r);

	if (!ok)
		snprintf(why, size, "%s", e.msg);
	else if ((int64_t)n != (want < PAGE ? want : PAGE))
		ok = !snprintf(why, size, "first page of '%s' has %zu rows", value, n);
	for (size_t i = 1; ok && i < n; i++) {
		int c = strcmp(store_rows_get(r, i - 1, 0), store_rows_get(r, i, 0));

		if (c < 0 ||
		    (c == 0 && strcmp(store_rows_get(r, i - 1, 1), store_rows_get(r, i, 1)) >= 0))
			ok = !snprintf(why, size, "page of '%s' out of order at row %zu", value, i);
	}
	store_rows_free(r);
	return ok;
}

/*
 * For every decision value the backup holds (allow, block, ...), the filtered
 * count must equal the backup's own tally, which was counted from the dump lines,
 * not from the database.
 */
static void check_search(struct rt *t)
{
	const struct ops_restore_result *r = &t->out->restore;
	char why[ERR_MSG_MAX + 100] = "";
	int64_t total = 0;
	bool ok = true;

	for (size_t i = 0; ok && i < r->ntally; i++) {
		struct err e = {0};
		int64_t n = -1;

		ok = store_activity_count(t->c, ACTIVITY_DECISIONS_WITH_VALUE, r->tally[i].value,
					  &n, &e) == ST_OK;
		if (ok && n != r->tally[i].count)
			ok = !snprintf(
				why, sizeof(why), "decision=%s finds %lld, the backup has %lld",
				r->tally[i].value, (long long)n, (long long)r->tally[i].count);
		else if (!ok)
			snprintf(why, sizeof(why), "%s", e.msg);
		ok = ok && search_page(t, r->tally[i].value, n, why, sizeof(why));
		total += n;
	}
	if (ok)
		snprintf(why, sizeof(why), "%zu decision values, %lld decisions found by filter",
			 r->ntally, (long long)total);
	check(t, "decision_search", ok, "%s", why);
}

/*
 * Sampled rows of the reconstruction: oldest first, each payload its own record.
 *
 * Each payload must name its own row's decision and session: a load that shifted
 * columns or mixed rows would still pass the counts, but not this.
 */
static bool session_rows_ok(const struct store_rows *r, const char *id, char *why, size_t size)
{
	for (size_t i = 0; i < store_rows_count(r); i++) {
		const char *did = store_rows_get(r, i, 0);
		json_object *p = json_tokener_parse(store_rows_get(r, i, 2));
		bool own = p && str_eq(jx_get_str(p, "decision_id"), did) &&
			   str_eq(jx_get_str(p, "session_id"), id);

		json_object_put(p);
		if (!own)
			return !snprintf(why, size, "decision '%s': payload does not match", did);
		if (i > 0 && strcmp(store_rows_get(r, i - 1, 1), store_rows_get(r, i, 1)) > 0)
			return !snprintf(why, size, "decisions out of order at row %zu", i);
	}
	return true;
}

/* the first SESSION_ROWS are checked one by one; the count covers the rest */
#define SESSION_ROWS 1000

/*
 * The busiest session is the one most likely to show a paging or ordering fault,
 * and reconstructing one session is what an incident review does.
 */
static void check_session(struct rt *t)
{
	struct store_rows *d = NULL;
	struct err e = {0};
	char why[ERR_MSG_MAX + 100] = "no sessions in the backup";
	int64_t want = 0, n = -1;
	char *id = NULL;
	bool ok = store_session_busiest(t->c, &id, &want, &e) == ST_OK;

	if (ok && id) {
		ok = store_activity_count(t->c, ACTIVITY_DECISIONS_OF_SESSION, id, &n, &e) ==
			     ST_OK &&
		     store_activity_rows(t->c, ACTIVITY_SESSION_RECONSTRUCTION, id, SESSION_ROWS,
					 &d, &e) == ST_OK;
		if (ok && n != want)
			ok = !snprintf(why, sizeof(why),
				       "session '%s' counts %lld decisions, has %lld", id,
				       (long long)want, (long long)n);
		else if (ok && session_rows_ok(d, id, why, sizeof(why)))
			snprintf(why, sizeof(why), "session '%s': %lld decisions, oldest first", id,
				 (long long)n);
		else if (ok)
			ok = false;
	}
	if (!ok && e.msg[0])
		snprintf(why, sizeof(why), "%s", e.msg);
	check(t, "session_reconstruction", ok, "%s", why);
	free(id);
	store_rows_free(d);
}

/*
 * The session counters are maintained by each decision insert, not recomputed, so
 * a backup restored from tables copied at different moments would show here as
 * sessions whose counters differ from their decisions.
 */
static void check_counters(struct rt *t)
{
	struct err e = {0};
	int64_t bad = -1, lost = -1;
	bool ok = store_activity_count(t->c, ACTIVITY_SESSIONS_MISCOUNTED, NULL, &bad, &e) == ST_OK;

	check(t, "session_counters", ok && bad == 0,
	      "%s%lld sessions whose counters differ from "
	      "their decisions",
	      ok ? "" : e.msg, (long long)bad);
	ok = store_activity_count(t->c, ACTIVITY_DECISIONS_ORPHANED, NULL, &lost, &e) == ST_OK;
	check(t, "decision_sessions", ok && lost == 0, "%s%lld decisions without their session",
	      ok ? "" : e.msg, (long long)lost);
}

/*
 * A session only decisions made has no chain entry: the restore compared its description with
 * the decision lines it loaded (ops_vcount.c), and this reports what it found.
 */
static void check_descriptions(struct rt *t)
{
	const struct ops_verify_counters *c = &t->out->restore.counters;

	if (!c->present)
		return;
	if (!c->checked || !c->described)
		check(t, "session_descriptions", true, "not compared: %s",
		      c->checked ? c->describe_why_not : c->why_not);
	else
		check(t, "session_descriptions", c->undescribed == 0,
		      "%lld of %lld sessions their decisions described name a value none of their "
		      "decisions names",
		      (long long)c->undescribed, (long long)c->decision_made);
}

static void run_checks(struct rt *t)
{
	struct err e = {0};

	if (store_conn_get(t->st, &t->c, &e) != ST_OK) {
		check(t, "open", false, "%s", e.msg);
		return;
	}
	check_counts(t);
	if (t->activity) {
		check_search(t);
		check_session(t);
		check_counters(t);
		check_descriptions(t);
	}
	store_conn_put(t->st, t->c);
}

static bool has_activity(const struct ops_restore_result *r)
{
	for (size_t i = 0; i < r->ntables; i++)
		if (strcmp(r->tables[i].table, "activity_decisions") == 0)
			return true;
	return false;
}

/*
 * Always into a new scratch SQLite database under a fresh mkdtemp() directory,
 * whatever backend the backup came from: the test never touches a live database,
 * and a cross-backend restore is itself part of what is tested.  The scratch
 * directory is removed in every case; a failed check is a result (ok false), not
 * an error, so the caller still gets the whole report.
 */
/* The caller's check, on the scratch database once the others closed it. */
static void run_extra(struct rt *t, const struct ops_restore_test_opts *o)
{
	char detail[sizeof(t->out->checks[0].detail)] = "";
	bool ok;

	if (!o->extra_check)
		return;
	ok = o->extra_check(o->extra_ctx, &t->out->restore, detail, sizeof(detail));
	check(t, o->extra_name ? o->extra_name : "extra", ok, "%s", detail);
}

enum status ops_restore_test(const struct ops_restore_test_opts *ro,
			     struct ops_restore_test_result *out, struct err *e)
{
	const struct store_options opt = {.pool_size = 1};
	struct ops_restore_opts o = {
		.manifest = ro->manifest, .public_key = ro->public_key, .progress = ro->progress};
	struct progress *progress = ro->progress;
	struct rt t = {.out = out};
	char *tmpl = ops_path_join(ro->scratch_parent, "cavra-restore-test-XXXXXX");
	struct err local = {0};
	char *db;
	enum status st;

	memset(out, 0, sizeof(*out));
	out->ok = true;
	if (!e)
		e = &local;
	if (!mkdtemp(tmpl)) {
		st = err_set(e, ST_IO, "create a scratch directory in '%s': %s", ro->scratch_parent,
			     BASE_ERRSTR(errno));
		free(tmpl);
		return st;
	}
	out->scratch = tmpl;
	o.target_dir = tmpl;
	st = ops_restore(&o, &out->restore, e);
	check(&t, "verify", out->restore.verify.problems.n == 0, "%zu problem%s",
	      out->restore.verify.problems.n, out->restore.verify.problems.n == 1 ? "" : "s");
	check(&t, "restore", st == ST_OK, "%s",
	      st == ST_OK ? "loaded in one transaction, row "
			    "counts checked"
			  : e->msg);
	db = xasprintf("sqlite:%s/cavra.db", tmpl);
	t.activity = has_activity(&out->restore);
	progress_phase(progress, "checks", -1);
	if (st == ST_OK && store_open(db, &opt, &t.st, e) == ST_OK)
		run_checks(&t);
	else if (st == ST_OK)
		check(&t, "open", false, "%s", e->msg);
	store_close(t.st);
	if (st == ST_OK && !interrupt_signal())
		run_extra(&t, ro);
	free(db);
	ops_remove_tree(tmpl);
	/* stopped by a signal, the test says nothing about the backup: an error, not a result */
	return interrupt_check(e);
}

void ops_restore_test_result_release(struct ops_restore_test_result *r)
{
	if (!r)
		return;
	ops_restore_result_release(&r->restore);
	free(r->scratch);
	memset(r, 0, sizeof(*r));
}

json_object *ops_restore_test_checks_json(const struct ops_restore_test_result *r)
{
	json_object *checks = json_object_new_array();

	for (size_t i = 0; i < r->nchecks; i++) {
		json_object *c = json_object_new_object();

		jx_add_str(c, "name", r->checks[i].name);
		json_object_object_add(c, "ok", json_object_new_boolean(r->checks[i].ok));
		jx_add_str(c, "detail", r->checks[i].detail);
		json_object_array_add(checks, c);
	}
	return checks;
}

json_object *ops_restore_test_json(const struct ops_restore_test_result *r, const struct err *e)
{
	json_object *o = ops_restore_json(&r->restore, NULL);

	json_object_object_add(o, "schema_version",
			       json_object_new_string(OPS_RESTORE_TEST_FORMAT));
	json_object_object_add(o, "ok", json_object_new_boolean(r->ok));
	jx_add_str(o, "error", e && e->code != ST_OK ? e->msg : NULL);
	jx_add_str(o, "scratch", r->scratch);
	json_object_object_add(o, "scratch_removed", json_object_new_boolean(true));
	json_object_object_add(o, "checks", ops_restore_test_checks_json(r));
	return o;
}
