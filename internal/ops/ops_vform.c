/*
 * ops_vform.c - a record line of a backup as its chain entries hash it, for `ops verify`'s
 * check of the chain (ops_vchain.c).  Most records' entries hash the row as it stands, which
 * is the line.  An API token's hashes last_used_at as null (a use is not a change of the
 * token).  A session's leaves out what its decisions move: updated_at as null, the three
 * counters as 0, and its agent, actor, repository and pack as null while its payload has no
 * recorded_by (STORE_SESSION_COLS, docs/audit.md).  The line is canonical JSON, so replacing
 * those values' text gives the canonical form of the row the entry hashed.
 */
#include "base/base.h"
#include "ops/ops_int.h"

#include <stdlib.h>
#include <string.h>

enum { FORM_LINE, FORM_TOKEN, FORM_SESSION };

/* The token's column, then the session's: the first ones are replaced, the rest read. */
static const char *const token_cols[] = {"last_used_at"};
enum {
	S_UPDATED,
	S_COUNT1,
	S_COUNT2,
	S_COUNT3,
	S_AGENT,
	S_ACTOR,
	S_REPO,
	S_PACK,
	S_PAYLOAD,
	S_STATE,
	S_STARTED,
	S_CREATED,
	S_NCOLS
};
static const char *const session_cols[S_NCOLS] = {
	"updated_at", "decision_count", "blocked_count", "approval_required_count",
	"agent_id",   "actor",		"repository",	 "policy_pack",
	"payload",    "state",		"started_at",	 "created_at"};

bool ops_entry_form_init(struct ops_entry_form *ef, const char *kind,
			 const struct ops_manifest_file *f)
{
	const char *const *names = NULL;
	size_t n = 0;

	memset(ef, 0, sizeof(*ef));
	ef->form = FORM_LINE;
	if (strcmp(kind, "token") == 0) {
		ef->form = FORM_TOKEN;
		names = token_cols;
		n = ARRAY_SIZE(token_cols);
	} else if (strcmp(kind, "session") == 0) {
		ef->form = FORM_SESSION;
		names = session_cols;
		n = S_NCOLS;
	}
	_Static_assert(S_NCOLS <= OPS_ENTRY_FORM_COLS, "the session's columns fit");
	for (size_t i = 0; i < n; i++)
		if ((ef->col[i] = ops_manifest_col(f, names[i])) == SIZE_MAX)
			return false;
	return true;
}

/* The value's text in the line: a string with its quotes. */
static void bounds(const struct ops_span *s, const char **from, const char **to)
{
	*from = s->kind == OPS_SPAN_STRING ? s->p - 1 : s->p;
	*to = s->kind == OPS_SPAN_STRING ? s->p + s->n + 1 : s->p + s->n;
}

static bool span_is(const struct ops_span *s, enum ops_span_kind kind, const char *text)
{
	return s->kind == kind && s->n == strlen(text) && memcmp(s->p, text, s->n) == 0;
}

/* The object s has a top-level member name whose value is not null (SQL's ->> not NULL). */
static bool has_member(const struct ops_span *s, const char *name)
{
	struct ops_lex l = {s->p + 1, s->p + s->n, NULL};
	struct ops_span key, val;
	bool more = true;

	if (s->kind != OPS_SPAN_OBJECT || s->n < 2)
		return false;
	ops_lex_ws(&l);
	if (l.p < l.end && *l.p == '}')
		return false;
	while (more) {
		if (!ops_lex_key(&l, &key) || !ops_lex_colon(&l) || !ops_lex_value(&l, &val, 1) ||
		    !ops_lex_more(&l, '}', &more))
			return false;
		if (!key.escaped && key.n == strlen(name) && memcmp(key.p, name, key.n) == 0)
			return val.kind != OPS_SPAN_NULL;
	}
	return false;
}

struct sub {
	const char *from, *to, *with;
};

static int by_from(const void *a, const void *b)
{
	const struct sub *x = a, *y = b;

	return (x->from > y->from) - (x->from < y->from);
}

/* The line with each sub's value replaced, into out. */
static bool replaced(const char *line, size_t len, struct sub *subs, size_t n, struct buf *out)
{
	const char *at = line;

	qsort(subs, n, sizeof(*subs), by_from);
	buf_reset(out);
	for (size_t i = 0; i < n; i++) {
		if (buf_add(out, at, (size_t)(subs[i].from - at), NULL) != ST_OK ||
		    buf_add(out, subs[i].with, strlen(subs[i].with), NULL) != ST_OK)
			return false;
		at = subs[i].to;
	}
	return buf_add(out, at, (size_t)(line + len - at), NULL) == ST_OK;
}

static size_t session_subs(const struct ops_entry_form *ef, const struct ops_span *spans,
			   struct sub *subs)
{
	size_t n = 0;
	int last = has_member(&spans[ef->col[S_PAYLOAD]], "recorded_by") ? S_COUNT3 : S_PACK;

	for (int i = S_UPDATED; i <= last; i++) {
		bounds(&spans[ef->col[i]], &subs[n].from, &subs[n].to);
		subs[n++].with = i >= S_COUNT1 && i <= S_COUNT3 ? "0" : "null";
	}
	return n;
}

bool ops_entry_form_of(const struct ops_entry_form *ef, const struct ops_span *spans,
		       const char *line, size_t len, struct buf *out, struct ops_entry_text *t)
{
	struct sub subs[OPS_ENTRY_FORM_COLS];
	const struct ops_span *c = NULL;
	size_t n = 0;

	t->p = line;
	t->n = len;
	t->may_lack = false;
	if (ef->form == FORM_LINE ||
	    (ef->form == FORM_TOKEN && spans[ef->col[0]].kind == OPS_SPAN_NULL))
		return true;
	if (ef->form == FORM_TOKEN) {
		bounds(&spans[ef->col[0]], &subs[0].from, &subs[0].to);
		subs[n++].with = "null";
	} else {
		c = spans;
		n = session_subs(ef, spans, subs);
		/* a session as a decision's batch inserts it may have no entry */
		t->may_lack = span_is(&c[ef->col[S_PAYLOAD]], OPS_SPAN_OBJECT, "{}") &&
			      span_is(&c[ef->col[S_STATE]], OPS_SPAN_STRING, "active") &&
			      c[ef->col[S_STARTED]].n == c[ef->col[S_CREATED]].n &&
			      memcmp(c[ef->col[S_STARTED]].p, c[ef->col[S_CREATED]].p,
				     c[ef->col[S_STARTED]].n) == 0;
	}
	if (!replaced(line, len, subs, n, out))
		return false;
	t->p = out->data;
	t->n = out->len;
	return true;
}
