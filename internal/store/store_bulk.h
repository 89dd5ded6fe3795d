/*
 * store_bulk.h - bulk reads and loads, for backups, restores and scans of
 * whole tables: rows streamed out without holding the result, and rows
 * loaded in by PostgreSQL's COPY or one prepared SQLite INSERT
 * (store_pg_bulk.c, store_sqlite_bulk.c).
 */
#ifndef CAVRA_STORE_BULK_H
#define CAVRA_STORE_BULK_H

#include "store/store.h"

#define STORE_BULK_MAX_COLS 32

/*
 * Called by store_stream with each row: values as text (NULL for SQL NULL),
 * NUL-terminated, with their lengths; borrowed for the call only.
 */
typedef enum status (*store_row_fn)(void *ctx, const char *const *vals, const size_t *lens,
				    struct err *e);

/*
 * Runs a query of ncols columns without parameters and hands its rows to fn
 * one at a time, in order, never holding the result in memory: PostgreSQL's
 * COPY (query) TO STDOUT, SQLite's statement stepped.  The first error of fn
 * stops the query and is returned.
 */
ATTR_NODISCARD enum status store_stream(struct store_conn *c, const char *sql, size_t ncols,
					store_row_fn fn, void *ctx, struct err *e);

struct store_load;

enum store_load_mode {
	STORE_LOAD_APPEND, /* plain inserts: a duplicate key fails the load */
	STORE_LOAD_SKIP_EXISTING, /* rows whose key is already there are kept, the rest loaded */
};

/*
 * Starts loading rows into the named columns of table inside the caller's
 * transaction: PostgreSQL's COPY FROM STDIN, SQLite's one prepared INSERT.
 * Names are the caller's trusted identifiers (the backup catalogue).
 */
ATTR_NODISCARD enum status store_load_begin(struct store_conn *c, const char *table,
					    const char *const *cols, size_t ncols,
					    enum store_load_mode mode, struct store_load **out,
					    struct err *e);
/* One row: ncols values (NULL for SQL NULL) with their lengths; no NUL inside a value. */
ATTR_NODISCARD enum status store_load_row(struct store_load *l, const char *const *vals,
					  const size_t *lens, struct err *e);
/*
 * Finishes the load and frees l.  When ok is false the load is abandoned
 * (the caller rolls back) and e is left alone.  *rows gets the rows the
 * table took.
 */
ATTR_NODISCARD enum status store_load_end(struct store_load *l, bool ok, int64_t *rows,
					  struct err *e);

/*
 * For a database file that is new and that the caller removes should the
 * load fail (a restore's temporary SQLite file): the next transactions
 * write their pages straight into the file, without a journal and without
 * syncs (SQLite's journal_mode=OFF, synchronous=OFF), instead of every page
 * twice (into the write-ahead log, then back into the file).  A rollback no
 * longer restores anything: only for a file that is thrown away on failure.
 * Outside a transaction; *on tells whether it took effect (not when another
 * connection has the file open; PostgreSQL: never), the load is correct
 * either way.  After the commit, store_load_journaled puts the usual journal
 * (WAL, synchronous=FULL) back and syncs the file.
 */
ATTR_NODISCARD enum status store_load_unjournaled(struct store_conn *c, bool *on, struct err *e);
ATTR_NODISCARD enum status store_load_journaled(struct store_conn *c, struct err *e);
/*
 * Around a load's CREATE INDEX statements (on, then off): on SQLite the settings under which
 * it sorts an index's keys in runs on a second thread (docs/operations.md), which an
 * unjournaled load has already; PostgreSQL: nothing.  Speed only: a failure is ignored.
 */
void store_load_index_builds(struct store_conn *c, bool on);

/* Removes every row of table inside the caller's transaction (TRUNCATE on PostgreSQL). */
ATTR_NODISCARD enum status store_empty_table(struct store_conn *c, const char *table,
					     struct err *e);

/*
 * What a bulk load into table may drop inside its transaction and build
 * again after (one sort each instead of a B-tree insert per row), as
 * (name, create statement, drop statement) rows in name order: the indexes
 * that back no constraint, and on PostgreSQL the primary key too when no
 * foreign key refers to the table.  Statements come from the database's
 * own definitions.
 */
ATTR_NODISCARD enum status store_load_indexes(struct store_conn *c, const char *table,
					      struct store_rows **out, struct err *e);

/*
 * store_stream of "SELECT cols FROM table ORDER BY order": names and the
 * order (column names, each with an optional DESC) are the caller's
 * trusted identifiers (the backup catalogue).
 */
ATTR_NODISCARD enum status store_stream_table(struct store_conn *c, const char *table,
					      const char *const *cols, size_t ncols,
					      const char *order, store_row_fn fn, void *ctx,
					      struct err *e);

#define STORE_SNAPSHOT_ID_MAX 64

/*
 * PostgreSQL: the snapshot of c's open STORE_TX_SNAPSHOT transaction, as an id
 * that store_snapshot_join takes on other connections while c's transaction
 * stays open (pg_export_snapshot).  ST_INTERNAL on SQLite.
 */
ATTR_NODISCARD enum status store_snapshot_export(struct store_conn *c,
						 char id[STORE_SNAPSHOT_ID_MAX], struct err *e);
/*
 * Opens on c a read-only transaction that sees exactly the exported snapshot
 * id (REPEATABLE READ, SET TRANSACTION SNAPSHOT); end it with
 * store_tx_rollback.  Fails once the exporting transaction has ended.
 */
ATTR_NODISCARD enum status store_snapshot_join(struct store_conn *c, const char *id, struct err *e);

/* One value a scan found, to rewrite; borrowed for the call. */
struct store_value_fix {
	const char *table, *key_col, *column; /* trusted identifiers */
	const char *key; /* the row's key */
	const char *old; /* the value as scanned */
	const char *value; /* the value to write */
};

/*
 * Rewrites the value only while it is still the one scanned, so that a
 * newer write is kept: *changed is 1, or 0 when the row moved on.
 */
ATTR_NODISCARD enum status store_value_replace(struct store_conn *c,
					       const struct store_value_fix *f, int64_t *changed,
					       struct err *e);

#endif
