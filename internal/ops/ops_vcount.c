/*
 * ops_vcount.c - `cavra ops verify`'s check of each session's counters against the backup's
 * decision lines (from their spans), and a restore's (from the values it loads), as `cavra
 * audit verify` compares them in a database: a session's
 * decision_count, blocked_count and approval_required_count are the number of decision lines
 * that name it, of those whose decision is block, and of those whose decision is
 * require_approval.  A session's chain entry leaves its counters out, so without this an
 * unsigned backup whose counters were edited (with its checksums recomputed) verified and
 * restored.  A session no decision line names is not compared (a session recorded alone, or
 * imported as a summary, counts what the backup does not hold); decision lines whose session
 * has no line are one problem per session.  Nothing is compared unless both files read clean.
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { C_ALL, C_BLOCKED, C_APPROVAL, C_N };

static const char *const counter_cols[C_N] = {"decision_count", "blocked_count",
					      "approval_required_count"};

struct tally {
	int64_t dec[C_N]; /* from the decision lines */
	int64_t row[C_N]; /* the session line's */
	bool has_row;
	bool row_bad; /* a counter that is no integer: a line problem of its own */
};

struct ops_vcount {
	const struct ops_manifest_file *dec, *ses; /* borrowed */
	struct ops_report *rep; /* borrowed */
	struct ops_verify_counters *out; /* borrowed */
	size_t dec_sid, dec_decision, ses_id, ses_cols[C_N];
	struct ops_ktab *ids; /* session id -> struct tally */
	struct buf id, decision;
	size_t clean;
	bool failed; /* an id could not be decoded: a line problem of its own */
};

/* The columns the check reads; false when a file lacks one (a schema problem of its own). */
static bool find_cols(struct ops_vcount *v)
{
	v->dec_sid = ops_manifest_col(v->dec, "session_id");
	v->dec_decision = ops_manifest_col(v->dec, "decision");
	v->ses_id = ops_manifest_col(v->ses, "session_id");
	if (v->dec_sid == SIZE_MAX || v->dec_decision == SIZE_MAX || v->ses_id == SIZE_MAX)
		return false;
	for (size_t i = 0; i < C_N; i++)
		if ((v->ses_cols[i] = ops_manifest_col(v->ses, counter_cols[i])) == SIZE_MAX)
			return false;
	return true;
}

struct ops_vcount *ops_vcount_new(const struct ops_manifest *m, struct ops_report *rep,
				  struct ops_verify_counters *out)
{
	const struct ops_manifest_file *dec = ops_manifest_usable_file_of(m, "activity_decisions");
	const struct ops_manifest_file *ses = ops_manifest_usable_file_of(m, "activity_sessions");
	struct ops_vcount *v;

	memset(out, 0, sizeof(*out));
	out->present = dec && ses;
	if (!out->present)
		return NULL;
	v = xcalloc(1, sizeof(*v));
	v->dec = dec;
	v->ses = ses;
	v->rep = rep;
	v->out = out;
	if (!find_cols(v)) {
		out->why_not = "a file of the backup lacks a column the check reads";
		free(v);
		return NULL;
	}
	v->ids = ops_ktab_new(sizeof(struct tally));
	buf_init(&v->id, BUF_CAP_DEFAULT);
	buf_init(&v->decision, BUF_CAP_DEFAULT);
	return v;
}

void ops_vcount_free(struct ops_vcount *v)
{
	if (!v)
		return;
	ops_ktab_free(v->ids);
	buf_release(&v->id);
	buf_release(&v->decision);
	free(v);
}

bool ops_vcount_reads(const struct ops_vcount *v, const struct ops_manifest_file *f)
{
	return v && (f == v->dec || f == v->ses);
}

/* The tally of the session id[0..n). */
static struct tally *tally_of(struct ops_vcount *v, const char *id, size_t n)
{
	bool added;

	return ops_ktab_value(v->ids, ops_ktab_put(v->ids, id, n, &added));
}

void ops_vcount_decision(struct ops_vcount *v, const char *sid, size_t n, const char *decision,
			 size_t dn)
{
	struct tally *t;

	if (!sid || !decision) {
		v->failed = true;
		return;
	}
	t = tally_of(v, sid, n);
	t->dec[C_ALL]++;
	t->dec[C_BLOCKED] += dn == 5 && memcmp(decision, "block", 5) == 0;
	t->dec[C_APPROVAL] += dn == 16 && memcmp(decision, "require_approval", 16) == 0;
}

void ops_vcount_session(struct ops_vcount *v, const char *sid, size_t n,
			const int64_t counters[C_N], bool ok)
{
	struct tally *t;

	if (!sid) {
		v->failed = true;
		return;
	}
	t = tally_of(v, sid, n);
	t->has_row = true;
	t->row_bad = !ok;
	memcpy(t->row, counters, sizeof(t->row));
}

/* A string span's text in b, escapes decoded; NULL when it is no string or cannot be. */
static const char *span_text(const struct ops_span *s, struct buf *b)
{
	buf_reset(b);
	if (s->kind != OPS_SPAN_STRING || ops_span_text(s, b, NULL) != ST_OK)
		return NULL;
	return b->data;
}

static void decision_line(struct ops_vcount *v, const struct ops_span *spans)
{
	const char *sid = span_text(&spans[v->dec_sid], &v->id);
	const char *d = span_text(&spans[v->dec_decision], &v->decision);

	ops_vcount_decision(v, sid, v->id.len, d, v->decision.len);
}

static void session_line(struct ops_vcount *v, const struct ops_span *spans)
{
	const char *sid = span_text(&spans[v->ses_id], &v->id);
	int64_t row[C_N] = {0};
	bool ok = true;

	for (size_t i = 0; i < C_N; i++)
		ok = ops_span_int(&spans[v->ses_cols[i]], &row[i]) && ok;
	ops_vcount_session(v, sid, v->id.len, row, ok);
}

void ops_vcount_line(struct ops_vcount *v, const struct ops_manifest_file *f,
		     const struct ops_span *spans)
{
	if (f == v->dec)
		decision_line(v, spans);
	else
		session_line(v, spans);
}

void ops_vcount_read(struct ops_vcount *v, const struct ops_manifest_file *f, bool clean)
{
	UNUSED(f);
	v->clean += clean;
}

static void problem(struct ops_vcount *v, const char *fmt, ...) ATTR_PRINTF(2, 3);
static void problem(struct ops_vcount *v, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	if (v->out->differ++ >= OPS_LINE_PROBLEMS_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ops_report_add(v->rep, "session_counters", v->ses->path, "%s", msg);
}

/* One session its decision lines name: its line, and its counters against theirs. */
static void compare(struct ops_vcount *v, const char *id, const struct tally *t)
{
	if (!t->has_row) {
		problem(v,
			"session %.80s: no line, though %lld decision lines name it: "
			"deleted",
			id, (long long)t->dec[C_ALL]);
		return;
	}
	v->out->sessions++;
	if (t->row_bad || memcmp(t->row, t->dec, sizeof(t->row)) == 0)
		return;
	problem(v,
		"session %.80s: counters %lld/%lld/%lld (decisions/blocked/approvals "
		"required) differ from its decision lines' %lld/%lld/%lld: edited",
		id, (long long)t->row[C_ALL], (long long)t->row[C_BLOCKED],
		(long long)t->row[C_APPROVAL], (long long)t->dec[C_ALL],
		(long long)t->dec[C_BLOCKED], (long long)t->dec[C_APPROVAL]);
}

void ops_vcount_end(struct ops_vcount *v)
{
	if (!v)
		return;
	/* a damaged file is its own problem: what its lines show of the counters is not added */
	if (v->clean != 2 || v->failed || ops_ktab_broken(v->ids)) {
		v->out->why_not = "a file the check reads did not verify";
		return;
	}
	v->out->checked = true;
	for (size_t i = 0; i < ops_ktab_count(v->ids); i++) {
		const struct tally *t = ops_ktab_value(v->ids, i);

		if (t->dec[C_ALL] > 0)
			compare(v, ops_ktab_key(v->ids, i, NULL), t);
	}
	if (v->out->differ > OPS_LINE_PROBLEMS_MAX)
		ops_report_add(v->rep, "session_counters", v->ses->path,
			       "and %lld more sessions whose counters differ",
			       (long long)(v->out->differ - OPS_LINE_PROBLEMS_MAX));
}
