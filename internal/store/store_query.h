/*
 * store_query.h - private to internal/store: a small builder for filtered,
 * paged SELECTs with "$N" parameters, shared by the domain stores.
 */
#ifndef CAVRA_STORE_QUERY_H
#define CAVRA_STORE_QUERY_H

#include "store/store.h"
#include "base/buf.h"

#define QB_MAX_PARAMS 32

struct qb {
	struct buf sql;
	const char *params[QB_MAX_PARAMS];
	char owned[4][24]; /* room for numbers the builder formats itself */
	int nowned;
	int n;
	bool where;
};

void qb_init(struct qb *q, const char *select);
void qb_release(struct qb *q);
/* Adds "AND <cond>" where cond holds one "%d" for the parameter number. */
void qb_filter(struct qb *q, const char *cond, const char *value);
/* Appends raw SQL. */
void qb_add(struct qb *q, const char *sql);
/* Adds a parameter and returns its number. */
int qb_param(struct qb *q, const char *value);
/* Appends " LIMIT $n OFFSET $m". */
void qb_page(struct qb *q, int64_t limit, int64_t offset);

/*
 * Adds the keyset condition "the row after (ts, id)" for lists ordered by
 * time (descending, or ascending when ascending is set) and then id ascending.
 * Does nothing when ts or id is NULL.
 */
void qb_after(struct qb *q, const char *time_col, const char *id_col, const char *ts,
	      const char *id, bool ascending);

/*
 * Counts the rows of q, a "SELECT 1 FROM ... WHERE ..." query, into *total: all of them when
 * bound is 0, else at most bound + 1 (enough to tell "more than bound").
 */
ATTR_NODISCARD enum status qb_count(struct store *st, const struct qb *q, int64_t bound,
				    int64_t *total, struct err *e);

/* Runs a query on a borrowed connection from st. */
ATTR_NODISCARD enum status store_run_query(struct store *st, const char *sql, int n,
					   const char *const *params, struct store_rows **out,
					   struct err *e);

/* Runs one statement on a borrowed connection from st; *changes as store_exec. */
ATTR_NODISCARD enum status store_run_exec(struct store *st, const char *sql, int n,
					  const char *const *params, int64_t *changes,
					  struct err *e);

/* NULL-safe strdup. */
char *store_dup(const char *s);

#endif
