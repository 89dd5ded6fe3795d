/*
 * ops_load.c - loading one verified dump file into its table: each line is
 * split without building JSON objects (ops_line.c), its values turned back
 * into the text the store takes, and handed to the store's bulk loader
 * (COPY FROM STDIN on PostgreSQL, one prepared INSERT on SQLite).  The file
 * is hashed again while it is read, so a file changed between verification
 * and load is caught before commit.
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/timeutil.h"
#include "base/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIME_TEXT_MAX 64 /* longer than any time text time_parse accepts */

struct loader {
	struct ops_load *l;
	struct store_load *sl;
	struct ops_line_keys keys; /* the catalogue's columns, in table order */
	struct ops_span spans[OPS_LINE_KEYS_MAX];
	size_t ncols;
	struct buf arena; /* decoded values of the current row */
	size_t off[OPS_MAX_COLS]; /* a value's offset in arena, or SIZE_MAX when in the line */
	const char *vals[OPS_MAX_COLS];
	size_t lens[OPS_MAX_COLS];
	size_t tally_col; /* index of "decision", or SIZE_MAX */
	size_t id_col; /* index of "decision_id" when the line's record hash is kept */
	size_t chain_cols[OPS_CHAIN_LINE_COLS]; /* audit_chain's, when its lines are proved */
	/* what the sessions' checks read (ops_vcount_columns); SIZE_MAX: the table lacks it */
	size_t count_cols[OPS_VCOUNT_COLS_MAX], ncount;
};

/* A time: any form time_parse takes, stored in the canonical one. */
static enum status decode_time(struct loader *ld, size_t i, const struct ops_span *s, struct err *e)
{
	char text[TIME_TEXT_MAX], out[TIME_FMT_LEN];
	struct buf b;
	int64_t us;
	bool ok;

	buf_init(&b, TIME_TEXT_MAX - 1);
	ok = s->kind == OPS_SPAN_STRING && ops_span_text(s, &b, NULL) == ST_OK;
	if (ok)
		memcpy(text, b.data, b.len + 1);
	buf_release(&b);
	if (!ok || !time_parse_stored(text, &us))
		return err_set(e, ST_INVALID, "column '%s' must be a time", ld->l->t->cols[i].name);
	time_format_utc(us, out, sizeof(out));
	ld->off[i] = ld->arena.len;
	ld->lens[i] = TIME_FMT_LEN - 1;
	return buf_add(&ld->arena, out, TIME_FMT_LEN - 1, e);
}

/* A string value: where it is in the line, or decoded into the arena when escaped. */
static enum status decode_text(struct loader *ld, size_t i, const struct ops_span *s, struct err *e)
{
	const char *name = ld->l->t->cols[i].name;
	size_t before = ld->arena.len;

	if (s->kind != OPS_SPAN_STRING)
		return err_set(e, ST_INVALID, "column '%s' must be a string", name);
	if (!s->escaped) {
		ld->vals[i] = s->p;
		ld->lens[i] = s->n;
		return ST_OK;
	}
	ld->off[i] = before;
	if (ops_span_text(s, &ld->arena, NULL) != ST_OK)
		return err_set(e, ST_INVALID, "column '%s' contains NUL", name);
	ld->lens[i] = ld->arena.len - before;
	return ST_OK;
}

/*
 * Values point into the line wherever they can (numbers, JSON, unescaped strings); only
 * escaped strings are decoded, into a per-line arena.  The arena may move as it grows, so its
 * values are recorded as offsets and turned into pointers once the whole line is decoded.
 */
static enum status decode_value(struct loader *ld, size_t i, struct err *e)
{
	const struct ops_col *c = &ld->l->t->cols[i];
	const struct ops_span *s = &ld->spans[i];
	int64_t n;

	ld->off[i] = SIZE_MAX;
	ld->vals[i] = NULL;
	ld->lens[i] = 0;
	if (s->kind == OPS_SPAN_NULL)
		return ST_OK;
	switch (c->kind) {
	case OPS_INT:
		if (!ops_span_int(s, &n))
			return err_set(e, ST_INVALID, "column '%s' must be an integer", c->name);
		ld->vals[i] = s->p;
		ld->lens[i] = s->n;
		return ST_OK;
	case OPS_JSON:
		/* checked JSON already: stored as written (a string keeps its quotes) */
		ld->vals[i] = s->kind == OPS_SPAN_STRING ? s->p - 1 : s->p;
		ld->lens[i] = s->kind == OPS_SPAN_STRING ? s->n + 2 : s->n;
		return ST_OK;
	case OPS_TIME:
		return decode_time(ld, i, s, e);
	case OPS_TEXT:
	default:
		return decode_text(ld, i, s, e);
	}
}

/*
 * A small, capped count of one column's values (e.g. decisions by outcome) for the restore
 * report, so that an operator can compare it with what the source showed; values past the cap
 * are not counted rather than grow memory with the data.
 */
static void tally(struct ops_restore_result *r, const char *value, size_t n)
{
	size_t i;

	if (!value || n >= sizeof(r->tally[0].value))
		return;
	for (i = 0; i < r->ntally; i++)
		if (strlen(r->tally[i].value) == n && memcmp(r->tally[i].value, value, n) == 0)
			break;
	if (i == r->ntally) {
		if (r->ntally == OPS_TALLY_MAX)
			return;
		snprintf(r->tally[r->ntally++].value, sizeof(r->tally[0].value), "%.*s", (int)n,
			 value);
	}
	r->tally[i].count++;
}

/* An audit_chain line's link values, in the order ops_chain_lines_add takes them. */
static void chain_line(struct loader *ld)
{
	const char *v[OPS_CHAIN_LINE_COLS];
	size_t n[OPS_CHAIN_LINE_COLS];

	for (size_t i = 0; i < OPS_CHAIN_LINE_COLS; i++) {
		v[i] = ld->vals[ld->chain_cols[i]];
		n[i] = ld->lens[ld->chain_cols[i]];
	}
	ops_chain_lines_add(ld->l->chain, v, n);
}

/* The line's part in the sessions' checks (ops_vcount.c). */
static void count_line(struct loader *ld)
{
	struct ops_vtext x[OPS_VCOUNT_COLS_MAX];

	for (size_t i = 0; i < ld->ncount; i++) {
		size_t c = ld->count_cols[i];

		x[i] = c == SIZE_MAX
			       ? (struct ops_vtext){NULL, OPS_VTEXT_ABSENT}
			       : (struct ops_vtext){ld->vals[c], ld->vals[c] ? ld->lens[c] : 0};
	}
	ops_vcount_values(ld->l->counts, ld->l->t->table, x);
}

/* The columns count_line reads; one the table lacks is passed as absent (ops_vcount.c). */
static void count_columns(struct loader *ld)
{
	const char *const *names = ops_vcount_columns(ld->l->counts, ld->l->t->table, &ld->ncount);

	for (size_t i = 0; i < ld->ncount; i++)
		ld->count_cols[i] = ops_table_col(ld->l->t, names[i]);
	if (!ld->ncount)
		ld->l->counts = NULL;
}

/* ops_line_fn: one line of the file. */
static enum status load_line(void *ctx, const char *line, size_t len, int64_t lineno, struct err *e)
{
	struct loader *ld = ctx;
	const char *why = NULL;
	enum status st = ST_OK;

	if (!ops_line_split(line, len, &ld->keys, ld->spans, &why))
		return err_set(e, ST_INVALID, "%s line %lld: %s", ld->l->t->table,
			       (long long)lineno, why);
	if (ld->l->check)
		ops_line_check_spans(ld->l->check, ld->spans, lineno);
	buf_reset(&ld->arena);
	for (size_t i = 0; i < ld->ncols && st == ST_OK; i++)
		st = decode_value(ld, i, e);
	if (st != ST_OK)
		return err_ctx(st, e, "%s line %lld", ld->l->t->table, (long long)lineno);
	for (size_t i = 0; i < ld->ncols; i++)
		if (ld->off[i] != SIZE_MAX)
			ld->vals[i] = ld->arena.data + ld->off[i];
	if (ld->l->tally_into && ld->tally_col != SIZE_MAX)
		tally(ld->l->tally_into, ld->vals[ld->tally_col], ld->lens[ld->tally_col]);
	if (ld->l->hashes && ld->id_col != SIZE_MAX && ld->vals[ld->id_col])
		ops_decision_hashes_add(ld->l->hashes, ld->vals[ld->id_col], ld->lens[ld->id_col],
					line, len);
	if (ld->l->chain)
		chain_line(ld);
	if (ld->l->counts)
		count_line(ld);
	st = store_load_row(ld->sl, ld->vals, ld->lens, e);
	if (st != ST_OK)
		err_wrap(e, "load '%s' line %lld", ld->l->t->table, (long long)lineno);
	progress_add(ld->l->progress, 1);
	return st;
}

static void chain_columns(struct loader *ld)
{
	static const char *const names[OPS_CHAIN_LINE_COLS] = {
		"seq", "kind", "record_id", "record_sha256", "prev_hash", "hash"};

	for (size_t i = 0; i < OPS_CHAIN_LINE_COLS; i++) {
		ld->chain_cols[i] = ops_table_col(ld->l->t, names[i]);
		if (ld->chain_cols[i] == SIZE_MAX) {
			ops_chain_lines_fail(ld->l->chain);
			ld->l->chain = NULL;
			return;
		}
	}
}

enum status ops_load_file(struct ops_load *l, const char *path, struct ops_scan *scan,
			  struct err *e)
{
	struct loader ld = {.l = l, .ncols = ops_table_ncols(l->t)};
	const char *names[OPS_MAX_COLS];
	enum status st, end;
	int64_t rows = 0;

	for (size_t i = 0; i < ld.ncols; i++)
		names[i] = l->t->cols[i].name;
	ops_line_keys_init(&ld.keys, names, ld.ncols);
	ld.tally_col = strcmp(l->t->table, "activity_decisions") == 0
			       ? ops_table_col(l->t, "decision")
			       : SIZE_MAX;
	ld.id_col = l->hashes ? ops_table_col(l->t, "decision_id") : SIZE_MAX;
	if (l->chain)
		chain_columns(&ld);
	if (l->counts)
		count_columns(&ld);
	buf_init(&ld.arena, OPS_LINE_MAX);
	memset(scan, 0, sizeof(*scan));
	st = store_load_begin(l->c, l->t->table, names, ld.ncols,
			      l->t->merge ? STORE_LOAD_SKIP_EXISTING : STORE_LOAD_APPEND, &ld.sl,
			      e);
	if (st == ST_OK)
		st = ops_scan_stored(path, &l->how, load_line, &ld, scan, e);
	end = store_load_end(ld.sl, st == ST_OK, &rows, e);
	if (st == ST_OK)
		st = end;
	if (st != ST_OK)
		err_wrap(e, "load '%s'", l->t->table);
	l->loaded = rows;
	buf_release(&ld.arena);
	return st;
}
