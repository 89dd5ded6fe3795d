/*
 * ops_load.c - loading one verified dump file into its table: lines are
 * parsed, turned back into column values and inserted many rows per
 * statement (a round trip per row would make a restore of a million
 * decisions take minutes).  The file is hashed again while it is read, so a
 * file changed between verification and load is caught before commit.
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PARAMS_PER_INSERT 8192 /* below SQLite's 32766 and PostgreSQL's 65535 */
#define LOAD_DEPTH	  64

struct loader {
	struct ops_load *l;
	struct json_tokener *tok;
	size_t ncols, per_batch, nrows;
	char **vals; /* per_batch * ncols values of the pending rows */
	char *full_sql; /* the statement for a full batch, built once */
	size_t tally_col; /* index of "decision", or SIZE_MAX */
};

static char *insert_sql(const struct ops_table *t, size_t ncols, size_t nrows)
{
	struct buf b;
	size_t p = 1;

	buf_init(&b, (size_t)1 << 24);
	/* the cap is far above any statement built here: a failure is a bug */
	if (buf_addf(&b, NULL, "INSERT INTO %s (", t->table) != ST_OK)
		abort();
	for (size_t i = 0; i < ncols; i++)
		if (buf_addf(&b, NULL, "%s%s", i ? ", " : "", t->cols[i].name) != ST_OK)
			abort();
	if (buf_adds(&b, ") VALUES ", NULL) != ST_OK)
		abort();
	for (size_t r = 0; r < nrows; r++) {
		for (size_t i = 0; i < ncols; i++, p++)
			if (buf_addf(&b, NULL, "%s$%zu", i ? ", " : r ? ", (" : "(", p) != ST_OK)
				abort();
		if (buf_adds(&b, ")", NULL) != ST_OK)
			abort();
	}
	if (t->merge && buf_addf(&b, NULL, " ON CONFLICT (%s) DO NOTHING", t->key) != ST_OK)
		abort();
	return buf_detach(&b, NULL);
}

static void free_pending(struct loader *ld)
{
	for (size_t i = 0; i < ld->nrows * ld->ncols; i++) {
		free(ld->vals[i]);
		ld->vals[i] = NULL;
	}
	ld->nrows = 0;
}

static enum status flush(struct loader *ld, struct err *e)
{
	char *partial = NULL;
	const char *sql;
	int64_t changes = 0;
	enum status st;

	if (ld->nrows == 0)
		return ST_OK;
	if (ld->nrows == ld->per_batch) {
		if (!ld->full_sql)
			ld->full_sql = insert_sql(ld->l->t, ld->ncols, ld->per_batch);
		sql = ld->full_sql;
	} else {
		sql = partial = insert_sql(ld->l->t, ld->ncols, ld->nrows);
	}
	st = store_exec(ld->l->c, sql, (int)(ld->nrows * ld->ncols), (const char *const *)ld->vals,
			&changes, e);
	if (st != ST_OK)
		err_wrap(e, "load '%s'", ld->l->t->table);
	ld->l->loaded += changes;
	free(partial);
	free_pending(ld);
	return st;
}

static void tally(struct ops_restore_result *r, const char *value)
{
	size_t i;

	if (!value)
		return;
	for (i = 0; i < r->ntally; i++)
		if (strcmp(r->tally[i].value, value) == 0)
			break;
	if (i == r->ntally) {
		if (r->ntally == OPS_TALLY_MAX || strlen(value) >= sizeof(r->tally[0].value))
			return;
		snprintf(r->tally[r->ntally++].value, sizeof(r->tally[0].value), "%s", value);
	}
	r->tally[i].count++;
}

/* ops_line_fn: one line of the file. */
static enum status load_line(void *ctx, const char *line, size_t len, int64_t lineno, struct err *e)
{
	struct loader *ld = ctx;
	char **vals = ld->vals + ld->nrows * ld->ncols;
	json_object *o;
	enum status st;

	json_tokener_reset(ld->tok);
	o = json_tokener_parse_ex(ld->tok, line, (int)len);
	if (!o || json_tokener_get_error(ld->tok) != json_tokener_success ||
	    json_tokener_get_parse_end(ld->tok) != len) {
		json_object_put(o);
		return err_set(e, ST_INVALID, "%s line %lld: not JSON", ld->l->t->table,
			       (long long)lineno);
	}
	st = ops_row_decode(ld->l->t, o, vals, e);
	json_object_put(o);
	if (st != ST_OK)
		return err_wrap(e, "%s line %lld", ld->l->t->table, (long long)lineno);
	if (ld->l->tally_into && ld->tally_col != SIZE_MAX)
		tally(ld->l->tally_into, vals[ld->tally_col]);
	if (++ld->nrows == ld->per_batch)
		return flush(ld, e);
	return ST_OK;
}

static size_t col_index(const struct ops_table *t, const char *name)
{
	for (size_t i = 0; i < ops_table_ncols(t); i++)
		if (strcmp(t->cols[i].name, name) == 0)
			return i;
	return SIZE_MAX;
}

enum status ops_load_file(struct ops_load *l, const char *path, struct ops_scan *scan,
			  struct err *e)
{
	struct loader ld = {.l = l, .ncols = ops_table_ncols(l->t)};
	enum status st;

	ld.per_batch = PARAMS_PER_INSERT / ld.ncols;
	ld.vals = xcalloc(ld.per_batch * ld.ncols, sizeof(char *));
	ld.tok = json_tokener_new_ex(LOAD_DEPTH);
	ld.tally_col = strcmp(l->t->table, "activity_decisions") == 0 ? col_index(l->t, "decision")
								      : SIZE_MAX;
	json_tokener_set_flags(ld.tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	st = ops_scan_file(path, load_line, &ld, scan, e);
	if (st == ST_OK)
		st = flush(&ld, e);
	free_pending(&ld);
	free(ld.vals);
	free(ld.full_sql);
	json_tokener_free(ld.tok);
	return st;
}
