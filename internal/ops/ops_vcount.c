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
 *
 * The same pass checks what the chain leaves to the decisions: a session only decisions made
 * has no entry, so each of its agent, actor, repository and pack must be one that a decision
 * line of the session names (a decision fills in only what its session lacks, with its own
 * value), when the backup chains sessions (its head line's sessions_pending is 0) and the
 * chain's and the head's files read clean too.  Each session keeps the first value its
 * decision lines give each column; a line that gives another goes to a keyed set, which
 * sessions of one agent, repository and pack seldom need.
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/num.h"
#include "base/xalloc.h"
#include "json/jx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { C_ALL, C_BLOCKED, C_APPROVAL, C_N };
enum { D_AGENT, D_ACTOR, D_REPO, D_PACK, D_N };
enum { W_DEC, W_SES, W_CHAIN, W_HEAD, W_N };

/* The values each file gives, in the order ops_vcount_values takes them. */
enum { DEC_SID, DEC_DECISION, DEC_DESC, DEC_NCOLS = DEC_DESC + D_N };
enum {
	SES_SID,
	SES_COUNTERS,
	SES_DESC = SES_COUNTERS + C_N,
	SES_PAYLOAD = SES_DESC + D_N,
	SES_STATE,
	SES_STARTED,
	SES_CREATED,
	SES_NCOLS
};
enum { CHAIN_KIND, CHAIN_ID, CHAIN_NCOLS };
enum { HEAD_PENDING, HEAD_NCOLS };
#define MAX_COLS OPS_VCOUNT_COLS_MAX
_Static_assert(DEC_NCOLS <= MAX_COLS && SES_NCOLS <= MAX_COLS && CHAIN_NCOLS <= MAX_COLS &&
		       HEAD_NCOLS <= MAX_COLS,
	       "ops_vcount_columns gives at most OPS_VCOUNT_COLS_MAX columns");
/*
 * The kept values: about 100 bytes a session (four of its decisions' values, four of its own
 * when only decisions made it), so 4 GiB is some 40 million sessions.
 */
#define ARENA_CAP ((size_t)4 << 30)

static const char *const dec_cols[DEC_NCOLS] = {"session_id", "decision",   "agent_id",
						"actor",      "repository", "policy_pack"};
static const char *const ses_cols[SES_NCOLS] = {
	"session_id", "decision_count", "blocked_count", "approval_required_count",
	"agent_id",   "actor",		"repository",	 "policy_pack",
	"payload",    "state",		"started_at",	 "created_at"};
static const char *const chain_cols[CHAIN_NCOLS] = {"kind", "record_id"};
static const char *const head_cols[HEAD_NCOLS] = {"sessions_pending"};

static const struct {
	const char *table;
	const char *const *cols;
	size_t ncols, needed; /* the first needed columns: without them no check at all */
} files[W_N] = {
	{"activity_decisions", dec_cols, DEC_NCOLS, DEC_DESC},
	{"activity_sessions", ses_cols, SES_NCOLS, SES_DESC},
	{"audit_chain", chain_cols, CHAIN_NCOLS, 0},
	{"audit_chain_head", head_cols, HEAD_NCOLS, 0},
};

static const char *const desc_names[D_N] = {"agent", "actor", "repository", "policy pack"};

/* A value kept in struct ops_vcount's arena. */
struct kept {
	size_t off;
	uint32_t len;
	bool set;
};

struct tally {
	int64_t dec[C_N]; /* from the decision lines */
	int64_t row[C_N]; /* the session line's */
	bool has_row;
	bool row_bad; /* a counter that is no integer: a line problem of its own */
	bool decision_made; /* its line looks as a decision's write leaves a session */
	bool evidence_started; /* its payload names a started_by and no recorded_by */
	bool has_entry; /* a chain line of kind session names it */
	struct kept first[D_N]; /* the first value its decision lines give each column */
	struct kept own[D_N]; /* its line's, when decision_made or evidence_started */
};

struct ops_vcount {
	const struct ops_manifest_file
		*f[W_N]; /* borrowed; chain and head NULL without the check */
	size_t col[W_N][MAX_COLS]; /* each value's column in its file, SIZE_MAX: none */
	struct ops_report *rep; /* borrowed */
	struct ops_verify_counters *out; /* borrowed */
	struct ops_ktab *ids; /* session id -> struct tally */
	struct ops_ktab *others; /* (session number, column, value) a decision line gave too */
	struct buf arena; /* the kept values */
	struct buf text; /* the current line's decoded strings */
	struct buf key;
	unsigned clean; /* bit per W_ file read clean */
	int chained; /* the head line's sessions_pending is 0: 1; is 1: 0; no head line: -1 */
	bool failed; /* an id could not be decoded: a line problem of its own */
	const char *describe_why_not; /* static: the descriptions cannot be compared */
};

static int which(const struct ops_vcount *v, const char *table)
{
	for (int w = 0; w < W_N; w++)
		if (v->f[w] && strcmp(files[w].table, table) == 0)
			return w;
	return -1;
}

/*
 * Each value's column in its file; false when a file lacks a column the counters' check
 * reads (a schema problem of its own).  One the descriptions' check reads and the file lacks
 * leaves that check out.
 */
static bool find_cols(struct ops_vcount *v)
{
	for (int w = 0; w < W_N; w++) {
		for (size_t k = 0; k < files[w].ncols; k++) {
			v->col[w][k] =
				v->f[w] ? ops_manifest_col(v->f[w], files[w].cols[k]) : SIZE_MAX;
			if (v->col[w][k] != SIZE_MAX)
				continue;
			if (k < files[w].needed)
				return false;
			v->describe_why_not = "the backup predates the sessions' audit chain";
		}
	}
	return true;
}

struct ops_vcount *ops_vcount_new(const struct ops_manifest *m, struct ops_report *rep,
				  struct ops_verify_counters *out)
{
	struct ops_vcount *v;

	memset(out, 0, sizeof(*out));
	v = xcalloc(1, sizeof(*v));
	for (int w = 0; w < W_N; w++)
		v->f[w] = ops_manifest_usable_file_of(m, files[w].table);
	out->present = v->f[W_DEC] && v->f[W_SES];
	if (!out->present || !find_cols(v)) {
		if (out->present)
			out->why_not = "a file of the backup lacks a column the check reads";
		free(v);
		return NULL;
	}
	if (v->describe_why_not)
		v->f[W_CHAIN] = v->f[W_HEAD] = NULL;
	v->rep = rep;
	v->out = out;
	v->chained = -1;
	v->ids = ops_ktab_new(sizeof(struct tally));
	v->others = ops_ktab_new(1); /* a set: its values unused */
	buf_init(&v->arena, ARENA_CAP);
	buf_init(&v->text, BUF_CAP_DEFAULT);
	buf_init(&v->key, BUF_CAP_DEFAULT);
	return v;
}

void ops_vcount_free(struct ops_vcount *v)
{
	if (!v)
		return;
	ops_ktab_free(v->ids);
	ops_ktab_free(v->others);
	buf_release(&v->arena);
	buf_release(&v->text);
	buf_release(&v->key);
	free(v);
}

bool ops_vcount_reads(const struct ops_vcount *v, const struct ops_manifest_file *f)
{
	if (!v || !f)
		return false;
	for (int w = 0; w < W_N; w++)
		if (f == v->f[w])
			return true;
	return false;
}

const char *const *ops_vcount_columns(const struct ops_vcount *v, const char *table, size_t *n)
{
	int w = v ? which(v, table) : -1;

	*n = w < 0 ? 0 : files[w].ncols;
	return w < 0 ? NULL : files[w].cols;
}

/* The session id[0..n)'s number. */
static size_t session_of(struct ops_vcount *v, const struct ops_vtext *id)
{
	bool added;

	return ops_ktab_put(v->ids, id->p, id->n, &added);
}

static struct tally *tally(struct ops_vcount *v, size_t num)
{
	return ops_ktab_value(v->ids, num);
}

static bool absent(const struct ops_vtext *t)
{
	return t->n == OPS_VTEXT_ABSENT;
}

static bool text_is(const struct ops_vtext *t, const char *s)
{
	return t->p && t->n == strlen(s) && memcmp(t->p, s, t->n) == 0;
}

static bool text_eq(const struct ops_vtext *a, const struct ops_vtext *b)
{
	return a->p && b->p && a->n == b->n && memcmp(a->p, b->p, a->n) == 0;
}

/* An integer's text as an int64_t. */
static bool text_int(const struct ops_vtext *t, int64_t *out)
{
	char s[24];

	if (!t->p || absent(t) || t->n >= sizeof(s))
		return false;
	memcpy(s, t->p, t->n);
	s[t->n] = '\0';
	return str_to_i64(s, INT64_MIN, INT64_MAX, out);
}

static struct kept keep(struct ops_vcount *v, const struct ops_vtext *t)
{
	struct kept k = {v->arena.len, (uint32_t)t->n, true};

	if (t->n > UINT32_MAX || buf_add(&v->arena, t->p, t->n, NULL) != ST_OK) {
		v->describe_why_not = "more sessions' values than the check keeps (4 GiB)";
		k.set = false;
	}
	return k;
}

static bool kept_is(const struct ops_vcount *v, const struct kept *k, const struct ops_vtext *t)
{
	return k->set && k->len == t->n && memcmp(v->arena.data + k->off, t->p, t->n) == 0;
}

/* The key of value t of column d of session num in the set of others. */
static void other_key(struct ops_vcount *v, size_t num, int d, const char *p, size_t n)
{
	uint64_t u = num;
	unsigned char c = (unsigned char)d;

	buf_reset(&v->key);
	if (buf_add(&v->key, &u, sizeof(u), NULL) != ST_OK ||
	    buf_add(&v->key, &c, 1, NULL) != ST_OK || buf_add(&v->key, p, n, NULL) != ST_OK)
		v->describe_why_not = "a value too long to keep";
}

/* A decision line's agent, actor, repository and pack, for its session's description. */
static void decision_describes(struct ops_vcount *v, size_t num, const struct ops_vtext *desc)
{
	struct tally *t = tally(v, num); /* keep() and the set of others leave ids as they are */
	bool added;

	for (int d = 0; d < D_N; d++) {
		const struct ops_vtext *x = &desc[d];

		if (absent(x)) {
			v->describe_why_not = "a file of the backup lacks a column the check reads";
			continue;
		}
		if (!x->p || kept_is(v, &t->first[d], x))
			continue;
		if (!t->first[d].set) {
			t->first[d] = keep(v, x);
			continue;
		}
		other_key(v, num, d, x->p, x->n);
		(void)ops_ktab_put(v->others, v->key.data, v->key.len, &added);
	}
}

static void decision_values(struct ops_vcount *v, const struct ops_vtext *x)
{
	const struct ops_vtext *d = &x[DEC_DECISION];
	struct tally *t;
	size_t num;

	if (!x[DEC_SID].p || absent(&x[DEC_SID]) || !d->p || absent(d)) {
		v->failed = true;
		return;
	}
	num = session_of(v, &x[DEC_SID]);
	t = tally(v, num);
	t->dec[C_ALL]++;
	t->dec[C_BLOCKED] += text_is(d, "block");
	t->dec[C_APPROVAL] += text_is(d, "require_approval");
	if (v->f[W_CHAIN])
		decision_describes(v, num, &x[DEC_DESC]);
}

/*
 * Whether a session line looks as a decision's write leaves a session it inserts
 * (STORE_SESSION_DECISION_MADE): active, its payload {}, started when it was created.
 */
static bool looks_decision_made(const struct ops_vtext *x)
{
	return text_is(&x[SES_PAYLOAD], "{}") && text_is(&x[SES_STATE], "active") &&
	       text_eq(&x[SES_STARTED], &x[SES_CREATED]);
}

/*
 * Whether a session line's payload names who started it (its evidence did) and nobody who
 * recorded it: a session whose description its decisions gave, though it has an entry (which
 * hashes that description as NULL).
 */
static bool looks_evidence_started(const struct ops_vtext *x)
{
	const struct ops_vtext *p = &x[SES_PAYLOAD];
	static const char key[] = "\"started_by\"";
	json_object *o = NULL;
	bool yes;

	if (!p->p || absent(p) || !memmem(p->p, p->n, key, sizeof(key) - 1) ||
	    jx_parse_object(p->p, p->n, &o, NULL) != ST_OK)
		return false;
	/* a key whose value is null counts as absent, as SQL's payload ->> 'key' IS NULL does */
	yes = json_object_object_get(o, "started_by") && !json_object_object_get(o, "recorded_by");
	json_object_put(o);
	return yes;
}

static void session_values(struct ops_vcount *v, const struct ops_vtext *x)
{
	struct tally *t;
	size_t num;
	bool ok = true;

	if (!x[SES_SID].p || absent(&x[SES_SID])) {
		v->failed = true;
		return;
	}
	num = session_of(v, &x[SES_SID]);
	t = tally(v, num);
	t->has_row = true;
	for (size_t i = 0; i < C_N; i++)
		ok = text_int(&x[SES_COUNTERS + i], &t->row[i]) && ok;
	t->row_bad = !ok;
	if (!v->f[W_CHAIN])
		return;
	for (int d = 0; d < SES_NCOLS - SES_DESC; d++)
		if (absent(&x[SES_DESC + d]))
			v->describe_why_not = "a file of the backup lacks a column the check reads";
	t->decision_made = looks_decision_made(x);
	t->evidence_started = !t->decision_made && looks_evidence_started(x);
	for (int d = 0; (t->decision_made || t->evidence_started) && d < D_N; d++)
		t->own[d] = x[SES_DESC + d].p ? keep(v, &x[SES_DESC + d]) : (struct kept){0};
}

static void chain_values(struct ops_vcount *v, const struct ops_vtext *x)
{
	if (absent(&x[CHAIN_KIND]) || absent(&x[CHAIN_ID])) {
		v->describe_why_not = "a file of the backup lacks a column the check reads";
		return;
	}
	if (text_is(&x[CHAIN_KIND], "session") && x[CHAIN_ID].p)
		tally(v, session_of(v, &x[CHAIN_ID]))->has_entry = true;
}

static void head_values(struct ops_vcount *v, const struct ops_vtext *x)
{
	int64_t pending = 1;

	if (!text_int(&x[HEAD_PENDING], &pending) || (pending != 0 && pending != 1))
		v->describe_why_not = "the chain's head line has no sessions_pending flag";
	v->chained = pending == 0;
}

/* One line's values, of the file w says (-1: none the check reads). */
static void values_of(struct ops_vcount *v, int w, const struct ops_vtext *vals)
{
	switch (w) {
	case W_DEC:
		decision_values(v, vals);
		break;
	case W_SES:
		session_values(v, vals);
		break;
	case W_CHAIN:
		chain_values(v, vals);
		break;
	case W_HEAD:
		head_values(v, vals);
		break;
	default:
		break;
	}
}

void ops_vcount_values(struct ops_vcount *v, const char *table, const struct ops_vtext *vals)
{
	values_of(v, which(v, table), vals);
}

/*
 * A span as text: a string's decoded into v->text (its offset in *off, as the buffer may
 * move), anything else as it stands, a null as p NULL.
 */
static bool span_value(struct ops_vcount *v, const struct ops_span *s, struct ops_vtext *t,
		       size_t *off)
{
	*off = SIZE_MAX;
	*t = (struct ops_vtext){s->kind == OPS_SPAN_NULL ? NULL : s->p, s->n};
	if (s->kind != OPS_SPAN_STRING)
		return true;
	*off = v->text.len;
	if (ops_span_text(s, &v->text, NULL) != ST_OK)
		return false;
	t->n = v->text.len - *off;
	return true;
}

void ops_vcount_line(struct ops_vcount *v, const struct ops_manifest_file *f,
		     const struct ops_span *spans)
{
	struct ops_vtext x[MAX_COLS] = {{0}};
	size_t off[MAX_COLS];
	int w = which(v, f->table);

	if (w < 0)
		return;
	buf_reset(&v->text);
	for (size_t k = 0; k < files[w].ncols; k++) {
		size_t c = v->col[w][k];

		off[k] = SIZE_MAX;
		x[k] = (struct ops_vtext){NULL, OPS_VTEXT_ABSENT};
		if (c != SIZE_MAX && !span_value(v, &spans[c], &x[k], &off[k]))
			x[k] = (struct ops_vtext){NULL, 0}; /* no text: a line problem of its own */
	}
	for (size_t k = 0; k < files[w].ncols; k++)
		if (off[k] != SIZE_MAX && x[k].p)
			x[k].p = v->text.data + off[k];
	values_of(v, w, x);
}

void ops_vcount_read(struct ops_vcount *v, const struct ops_manifest_file *f, bool clean)
{
	for (int w = 0; v && clean && w < W_N; w++)
		if (f == v->f[w])
			v->clean |= 1U << w;
}

static void problem(struct ops_vcount *v, const char *kind, const char *fmt, ...) ATTR_PRINTF(3, 4);
static void problem(struct ops_vcount *v, const char *kind, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	if (v->out->differ + v->out->undescribed > OPS_LINE_PROBLEMS_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ops_report_add(v->rep, kind, v->f[W_SES]->path, "%s", msg);
}

/* One session its decision lines name: its line, and its counters against theirs. */
static void compare(struct ops_vcount *v, const char *id, const struct tally *t)
{
	if (!t->has_row) {
		v->out->differ++;
		problem(v, "session_counters",
			"session %.80s: no line, though %lld decision lines name it: "
			"deleted",
			id, (long long)t->dec[C_ALL]);
		return;
	}
	v->out->sessions++;
	if (t->row_bad || memcmp(t->row, t->dec, sizeof(t->row)) == 0)
		return;
	v->out->differ++;
	problem(v, "session_counters",
		"session %.80s: counters %lld/%lld/%lld (decisions/blocked/approvals "
		"required) differ from its decision lines' %lld/%lld/%lld: edited",
		id, (long long)t->row[C_ALL], (long long)t->row[C_BLOCKED],
		(long long)t->row[C_APPROVAL], (long long)t->dec[C_ALL],
		(long long)t->dec[C_BLOCKED], (long long)t->dec[C_APPROVAL]);
}

/* Whether a decision line of session num gives column d the session line's value. */
static bool described_by(struct ops_vcount *v, size_t num, int d)
{
	const struct tally *t = tally(v, num);
	const struct kept *own = &t->own[d];
	struct ops_vtext x = {v->arena.data + own->off, own->len};
	bool added;

	if (kept_is(v, &t->first[d], &x))
		return true;
	other_key(v, num, d, x.p, x.n);
	(void)ops_ktab_put(v->others, v->key.data, v->key.len, &added);
	return !added;
}

/*
 * A session only decisions made, or one its evidence started: each of its values one that a
 * decision line gives.
 */
static void describe(struct ops_vcount *v, size_t num, const char *id)
{
	const struct tally *t = tally(v, num);

	v->out->decision_made++;
	for (int d = 0; d < D_N; d++) {
		if (!t->own[d].set || described_by(v, num, d))
			continue;
		v->out->undescribed++;
		problem(v, "session_description",
			"session %.80s: its %s '%.*s' is none of its decision lines', though "
			"its decisions described it: edited",
			id, desc_names[d], (int)(t->own[d].len > 80 ? 80 : t->own[d].len),
			v->arena.data + t->own[d].off);
		return;
	}
}

/* Why the descriptions cannot be compared, or NULL. */
static const char *describe_blocked(const struct ops_vcount *v)
{
	if (v->describe_why_not)
		return v->describe_why_not;
	if (!(v->clean & (1U << W_CHAIN)) || !(v->clean & (1U << W_HEAD)) ||
	    ops_ktab_broken(v->others))
		return "the chain's or its head's file did not verify";
	if (v->chained < 0)
		return "the backup has no chain head line";
	if (!v->chained)
		return "the backup's sessions wait for an adoption into the chain";
	return NULL;
}

static void compare_all(struct ops_vcount *v)
{
	size_t n = ops_ktab_count(v->ids);

	for (size_t i = 0; i < n; i++) {
		const struct tally *t = ops_ktab_value(v->ids, i);

		if (t->dec[C_ALL] > 0)
			compare(v, ops_ktab_key(v->ids, i, NULL), t);
	}
	v->out->describe_why_not = describe_blocked(v);
	v->out->described = !v->out->describe_why_not;
	for (size_t i = 0; v->out->described && i < n; i++) {
		const struct tally *t = ops_ktab_value(v->ids, i);

		if (t->has_row && (t->has_entry ? t->evidence_started : t->decision_made))
			describe(v, i, ops_ktab_key(v->ids, i, NULL));
	}
}

void ops_vcount_end(struct ops_vcount *v)
{
	const unsigned both = (1U << W_DEC) | (1U << W_SES);
	int64_t over;

	if (!v)
		return;
	/* a damaged file is its own problem: what its lines show of the counters is not added */
	if ((v->clean & both) != both || v->failed || ops_ktab_broken(v->ids)) {
		v->out->why_not = "a file the check reads did not verify";
		return;
	}
	v->out->checked = true;
	compare_all(v);
	over = v->out->differ + v->out->undescribed - OPS_LINE_PROBLEMS_MAX;
	if (over > 0)
		ops_report_add(v->rep, "session_counters", v->f[W_SES]->path,
			       "and %lld more sessions whose counters or description differ",
			       (long long)over);
}
