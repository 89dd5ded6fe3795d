/*
 * store_stats.h - sizes on disk and the list of tables, for `cavra ops`
 * (store_stats.c): the dialect-specific SQL the operations module needs.
 */
#ifndef CAVRA_STORE_STATS_H
#define CAVRA_STORE_STATS_H

#include "store/store.h"

/*
 * Bytes on disk of a table with its indexes and TOAST (PostgreSQL).
 * *known is false where the backend cannot tell cheaply (SQLite).
 */
ATTR_NODISCARD enum status store_table_bytes(struct store_conn *c, const char *table,
					     int64_t *bytes, bool *known, struct err *e);
/* Bytes of the whole database: SQLite's pages, PostgreSQL's pg_database_size. */
ATTR_NODISCARD enum status store_database_bytes(struct store_conn *c, int64_t *bytes,
						struct err *e);
/*
 * Whole tables, named by the caller's trusted identifiers (the backup
 * catalogue): how many rows, how many before a time, the span of a time
 * column, how many columns.
 */
ATTR_NODISCARD enum status store_table_count(struct store_conn *c, const char *table, int64_t *out,
					     struct err *e);
/* Rows whose time_col is before cutoff (canonical UTC text): what retention would remove. */
ATTR_NODISCARD enum status store_table_count_before(struct store_conn *c, const char *table,
						    const char *time_col, const char *cutoff,
						    int64_t *out, struct err *e);
/*
 * *rows, and the oldest and newest time_col as canonical UTC text (NULL
 * when the table is empty; the caller frees them).
 */
ATTR_NODISCARD enum status store_table_span(struct store_conn *c, const char *table,
					    const char *time_col, int64_t *rows, char **oldest,
					    char **newest, struct err *e);
/* How many columns table stores, its generated columns left out. */
ATTR_NODISCARD enum status store_table_ncols(struct store_conn *c, const char *table, size_t *out,
					     struct err *e);

/* The names of every table in the current schema, sorted (one column). */
ATTR_NODISCARD enum status store_table_names(struct store_conn *c, struct store_rows **out,
					     struct err *e);

#endif
