/*
 * store_query.h - private to internal/store: a small builder for filtered,
 * paged SELECTs with "$N" parameters, and the row helpers the noun stores
 * share (running one statement on a borrowed connection, copying result
 * rows into their row structs and releasing them).
 */
#ifndef CAVRA_STORE_QUERY_H
#define CAVRA_STORE_QUERY_H

#include "store/store.h"
#include "base/buf.h"

#include <stddef.h>

/*
 * A record list's statement holds up to 16 filters and a cursor (2) per branch; the list of a
 * REC_BY filter has two branches and the page (2): 38 (store_records.c, by_list).
 */
#define QB_MAX_PARAMS 40

struct qb {
	struct buf sql;
	const char *params[QB_MAX_PARAMS];
	char owned[4][24]; /* room for numbers the builder formats itself */
	int nowned;
	int n;
	bool where;
};

void store_qb_init(struct qb *q, const char *select);
void store_qb_release(struct qb *q);
/* Adds "AND <cond>" where cond holds one "%d" for the parameter number. */
void store_qb_filter(struct qb *q, const char *cond, const char *value);
/* Appends raw SQL. */
void store_qb_add(struct qb *q, const char *sql);
/* Adds a parameter and returns its number. */
int store_qb_param(struct qb *q, const char *value);
/* Appends " LIMIT $n OFFSET $m". */
void store_qb_page(struct qb *q, int64_t limit, int64_t offset);

/*
 * Adds the keyset condition "the row after (ts, id)" for lists ordered by
 * time (descending, or ascending when ascending is set) and then id ascending.
 * Does nothing when ts or id is NULL.
 */
void store_qb_after(struct qb *q, const char *time_col, const char *id_col, const char *ts,
		    const char *id, bool ascending);

/*
 * Appends the page to q (limit + 1 rows, to tell whether more follow;
 * from offset unless a keyset cursor after_ts is set) and runs it.
 */
ATTR_NODISCARD enum status store_qb_run_page(struct store *st, struct qb *q, int limit,
					     int64_t offset, const char *after_ts,
					     struct store_rows **out, struct err *e);

/*
 * Counts the rows of q, a "SELECT 1 FROM ... WHERE ..." query, into *total: all of them when
 * bound is 0, else at most bound + 1 (enough to tell "more than bound").
 */
ATTR_NODISCARD enum status store_qb_count(struct store *st, const struct qb *q, int64_t bound,
					  int64_t *total, struct err *e);

/* Adds a list's filters (the f given to store_qb_total) to q. */
typedef void (*qb_where_fn)(struct qb *q, const void *f);

/* *total of the rows of select ("SELECT 1 FROM t") that where(f) keeps, as store_qb_count. */
ATTR_NODISCARD enum status store_qb_total(struct store *st, const char *select, qb_where_fn where,
					  const void *f, int64_t bound, int64_t *total,
					  struct err *e);

/*
 * store_qb_total for lists whose filtered rows are only ever added while this process runs,
 * or whose changes call store_count_cache_forget: a bounded count found above its bound is
 * remembered in st's count cache (store_count_cache.h) for list_count_cache_seconds, and
 * answered from there as bound + 1.  Exact counts (bound 0) and counts below the bound are
 * never remembered.
 */
ATTR_NODISCARD enum status store_qb_total_cached(struct store *st, const char *select,
						 qb_where_fn where, const void *f, int64_t bound,
						 int64_t *total, struct err *e);

/* Drops st's remembered counts of the lists whose count statement starts with select. */
void store_counts_forget(struct store *st, const char *select);

/*
 * How many of the n rows of a page query (which asks for limit + 1) go on
 * the page; *more tells whether a row was left over for the next one.
 */
size_t store_page_take(size_t n, int limit, bool *more);

/*
 * Whether a page of n rows (more: a row was left over) already tells its filter's total, so
 * that the count statement can be skipped; sets *total when it does. Only a page without a
 * cursor that holds the last match does: offset + n, unless it is empty past offset 0.
 */
bool store_page_total(size_t n, bool more, int64_t offset, bool cursor, int64_t *total);

/* Runs a query on a borrowed connection from st. */
ATTR_NODISCARD enum status store_run_query(struct store *st, const char *sql, int n,
					   const char *const *params, struct store_rows **out,
					   struct err *e);

/* A query on c of two parameters: value, then limit (formatted here) for its LIMIT. */
ATTR_NODISCARD enum status store_query_limit(struct store_conn *c, const char *sql,
					     const char *value, int limit, struct store_rows **out,
					     struct err *e);

/*
 * The count in the first column of the first row of a query on c; table
 * names what was counted in the message when the result is not a number.
 */
ATTR_NODISCARD enum status store_query_count(struct store_conn *c, const char *sql, int n,
					     const char *const *p, const char *table, int64_t *out,
					     struct err *e);

/* *out tells whether the query on c returns a row. */
ATTR_NODISCARD enum status store_row_exists(struct store_conn *c, const char *sql, int n,
					    const char *const *p, bool *out, struct err *e);

/* Work done inside a write transaction by store_run_write. */
typedef enum status (*store_tx_fn)(struct store_conn *c, void *ctx, struct err *e);

/*
 * Runs fn(c, ctx) in a write transaction of its own on a borrowed
 * connection, and commits when it succeeds (rolls back otherwise).
 */
ATTR_NODISCARD enum status store_run_write(struct store *st, store_tx_fn fn, void *ctx,
					   struct err *e);

/* Runs one statement on a borrowed connection from st; *changes as store_exec. */
ATTR_NODISCARD enum status store_run_exec(struct store *st, const char *sql, int n,
					  const char *const *params, int64_t *changes,
					  struct err *e);

/* NULL-safe strdup. */
char *store_dup(const char *s);

/*
 * The row structs of the noun stores (session_row, token_row, ...) are
 * described as data: one struct store_field a column, in the order of the
 * query's columns, so that copying a result row into a struct and
 * releasing it is written once here.
 */
enum store_field_kind {
	STORE_FIELD_TEXT, /* char *, copied */
	STORE_FIELD_TIME, /* char *, canonical UTC text (store_time_dup) */
	STORE_FIELD_INT, /* int64_t, 0 when NULL or not a number */
};

struct store_field {
	size_t off; /* offsetof the member */
	enum store_field_kind kind;
};

#define STORE_FIELD(type, member, kind)                    \
	{                                                  \
		offsetof(type, member), STORE_FIELD_##kind \
	}

struct store_fields {
	const struct store_field *f;
	size_t n; /* fields; column i of a row fills f[i] */
	size_t size; /* sizeof the row struct */
};

/* Fills obj (a row struct of fs) from row i of r; strings are obj's. */
void store_fields_fill(void *obj, const struct store_fields *fs, const struct store_rows *r,
		       size_t i);
/* Frees obj's strings and zeroes it.  NULL-safe. */
void store_fields_release(void *obj, const struct store_fields *fs);
/* An array of n + 1 row structs (zeroed), filled from the first n rows of r. */
void *store_fields_collect(const struct store_fields *fs, const struct store_rows *r, size_t n);
/*
 * Runs a query and fills out (a row struct of fs, zeroed first) from its
 * first row: on c, or on a borrowed connection from st.  ST_NOT_FOUND,
 * with e left alone, when no row came back: the caller says what was not
 * found.
 */
ATTR_NODISCARD enum status store_query_row(struct store_conn *c, const char *sql, int n,
					   const char *const *params, const struct store_fields *fs,
					   void *out, struct err *e);
ATTR_NODISCARD enum status store_run_row(struct store *st, const char *sql, int n,
					 const char *const *params, const struct store_fields *fs,
					 void *out, struct err *e);
/* store_run_row of a query of one text column into *out (caller frees). */
ATTR_NODISCARD enum status store_run_text(struct store *st, const char *sql, int n,
					  const char *const *params, char **out, struct err *e);
/* Releases the n row structs of an array from store_fields_collect and frees it. */
void store_fields_free_all(void *rows, size_t n, const struct store_fields *fs);

#endif
