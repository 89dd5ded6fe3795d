/*
 * store.h - the storage interface shared by the SQLite and PostgreSQL
 * backends.
 *
 * A struct store is a pool of connections to one database, chosen by URL:
 * a path or "sqlite:PATH" (embedded SQLite, WAL mode) or a "postgres://" /
 * "postgresql://" URL (libpq).  Callers borrow a connection with
 * store_conn_get() and give it back with store_conn_put(); a connection is
 * used by one thread at a time.
 *
 * SQL passed here uses "$1".."$N" placeholders on both backends; values are
 * passed and returned as text (NULL for SQL NULL).  Dialect differences stay
 * inside this module: callers above it use the helpers below or the domain
 * functions of one header a noun, and include the noun header they use
 * (this one holds only the pool, transactions, raw statements and schema
 * questions, which every noun needs):
 *
 *   store_decisions.h    decisions (activity_decisions)
 *   store_sessions.h     session summaries (activity_sessions), their imports
 *   store_records.h      the record stores of one shape (approvals, registry,
 *                        inventory, integrations, evidence, operations)
 *   store_registry.h     an MCP server by id or name
 *   store_tokens.h       API tokens
 *   store_console.h      the web console's sessions and logins in flight
 *   store_bulk.h         streaming reads and bulk loads (backups, restores)
 *   store_stats.h        counts, sizes and table lists for `cavra ops`
 *   store_chain.h        the audit hash chain (audit_chain, audit_chain_head)
 *   store_original.h     reading the original tool's SQLite store files
 *   store_sqlite_file.h  SQLite files handled whole (read-only look, copy)
 *
 * Private to this folder: store_backend.h (the vtable), store_query.h (the
 * query builder and row helpers), store_pg_int.h, store_sqlite_int.h.
 */
#ifndef CAVRA_STORE_H
#define CAVRA_STORE_H

#include "base/base.h"
#include "base/err.h"

struct store;
struct store_conn;
struct store_rows;

enum store_kind { STORE_SQLITE = 0, STORE_POSTGRES };

enum store_tx_mode {
	STORE_TX_WRITE, /* SQLite BEGIN IMMEDIATE; PostgreSQL BEGIN */
	STORE_TX_READ, /* a read transaction */
	STORE_TX_SNAPSHOT, /* one consistent snapshot: REPEATABLE READ READ ONLY on PostgreSQL */
};

struct store_options {
	int pool_size; /* connections at most (>= 1) */
	/*
	 * PostgreSQL: prepare each parameterised statement once per connection
	 * and reuse it.  Turn off behind a pooler that cannot carry prepared
	 * statements (PgBouncer before 1.21 in transaction pooling).
	 */
	bool prepare;
	/*
	 * Bounded waits, in milliseconds; 0 leaves the backend's default (none).  `serve` sets
	 * them from db_statement_timeout_ms and db_lock_timeout_ms; migrations and `ops` leave
	 * them at 0, as a long DDL or backup must not be cut.  statement: PostgreSQL's
	 * statement_timeout.  lock: PostgreSQL's lock_timeout and SQLite's busy timeout.
	 */
	int64_t statement_timeout_ms, lock_timeout_ms;
	/* How long a borrower waits for a free connection; 0: 10 s. */
	int64_t pool_wait_ms;
	/* PostgreSQL's connect_timeout in seconds; 0: 5 s. */
	int64_t connect_timeout_s;
	/*
	 * How long the decision and session lists trust a bounded total found above its bound
	 * (list_count_cache_seconds); 0: no such cache, each request counts.
	 */
	int64_t count_cache_ms;
	/*
	 * SQLite: the log's size in pages that wakes the file's checkpointer (store_sqlite_ckpt.h);
	 * 0: STORE_SQLITE_CKPT_PAGES.  The first store of the process to open the file sets it.
	 */
	int64_t sqlite_checkpoint_pages;
	/*
	 * SQLite: leave a file that holds no schema yet in its journal mode, as every file but
	 * cavra's is left.  For commands that only read: a new file is switched to WAL by the
	 * first command that will write into it, not by a status that found it empty.
	 */
	bool existing;
};

/*
 * Opens a pool of connections and connects one, so that a bad URL, password
 * or path fails here.  On success *out is owned by the caller, free with
 * store_close().  Errors never contain the password.
 */
ATTR_NODISCARD enum status store_open(const char *url, const struct store_options *opt,
				      struct store **out, struct err *e);
/* Closes every connection.  NULL-safe.  No connection may be borrowed. */
void store_close(struct store *st);

enum store_kind store_kind(const struct store *st);
/* "sqlite" or "postgres". */
const char *store_backend_name(const struct store *st);
/* The URL with any password redacted; borrowed, valid until store_close. */
const char *store_display_url(const struct store *st);

/*
 * Borrows a connection, waiting up to pool_wait_ms (or the calling thread's
 * deadline, whichever comes first) for one to be free and reconnecting a
 * broken one.  ST_UNAVAILABLE when the database is down, ST_TIMEOUT when no
 * connection came free in time.
 */
ATTR_NODISCARD enum status store_conn_get(struct store *st, struct store_conn **out, struct err *e);
/* Returns a connection; a transaction still open on it is rolled back. */
void store_conn_put(struct store *st, struct store_conn *c);

/* Pool gauges for /metrics. */
void store_pool_stats(struct store *st, int *size, int *in_use, int *open);

/*
 * Sets the calling thread's deadline (time_mono_us() microseconds; 0: none).
 * Waits for a pool connection end at it with ST_TIMEOUT.  http sets it for
 * the request a thread serves and clears it afterwards.
 */
void store_deadline_set(int64_t mono_us);

/*
 * A borrower that has waited this long for a connection means the pool starves requests.
 * A shorter wait is the pool doing its work: with db_pool_size near the database's cores,
 * requests queue for a connection briefly under any load.
 */
#define STORE_POOL_STARVED_US INT64_C(1000000)

/* What the pool has seen lately, for /readyz. */
struct store_health {
	bool pool_exhausted; /* a borrower waiting over a second, or one timed out lately */
	bool storage_full; /* a write failed on a full disk lately, none succeeded since */
};

/*
 * Fills *h.  "Lately" is within window_us of now: an old failure no longer
 * keeps a replica out of rotation, since without traffic nothing would
 * show that it recovered.
 */
void store_health_get(struct store *st, int64_t window_us, struct store_health *h);

ATTR_NODISCARD enum status store_tx_begin(struct store_conn *c, enum store_tx_mode mode,
					  struct err *e);
ATTR_NODISCARD enum status store_tx_commit(struct store_conn *c, struct err *e);
/* Best effort; cannot fail from the caller's side. */
void store_tx_rollback(struct store_conn *c);

/* Runs a script of several statements without parameters. */
ATTR_NODISCARD enum status store_exec_script(struct store_conn *c, const char *sql, struct err *e);
/* Runs one statement; *changes (may be NULL) gets the affected row count. */
ATTR_NODISCARD enum status store_exec(struct store_conn *c, const char *sql, int nparams,
				      const char *const *params, int64_t *changes, struct err *e);
/* Runs one query; on success *out is owned by the caller, free with store_rows_free. */
ATTR_NODISCARD enum status store_query(struct store_conn *c, const char *sql, int nparams,
				       const char *const *params, struct store_rows **out,
				       struct err *e);

size_t store_rows_count(const struct store_rows *r);
size_t store_rows_columns(const struct store_rows *r);
/* Borrowed, valid until store_rows_free; NULL for SQL NULL or out of range. */
const char *store_rows_get(const struct store_rows *r, size_t row, size_t col);
void store_rows_free(struct store_rows *r);

/*
 * Serialises schema changes across processes for the rest of the current
 * write transaction: a transaction-scoped advisory lock on PostgreSQL (works
 * through PgBouncer in transaction pooling); on SQLite the BEGIN IMMEDIATE of
 * the transaction already holds the write lock.
 */
ATTR_NODISCARD enum status store_lock_schema(struct store_conn *c, struct err *e);

/* PostgreSQL's schema lock is pg_advisory_xact_lock(STORE_PG_SCHEMA_LOCK_KEY). */
#define STORE_PG_SCHEMA_LOCK_KEY "7345163001"

/*
 * cavra's migration ledger (migrate.h) and the column that tells it from the ledgers of Rails,
 * golang-migrate and the original CAVRA, which use the same table name.  The store needs both
 * before any migration code runs: a SQLite file is switched to WAL only when it is cavra's.
 */
#define STORE_LEDGER	     "schema_migrations"
#define STORE_LEDGER_CURRENT "checksum"

/* Whether a table exists in the current schema. */
ATTR_NODISCARD enum status store_table_exists(struct store_conn *c, const char *table, bool *out,
					      struct err *e);
/*
 * The first (by name) table or view of the database, NULL when it has none: on PostgreSQL
 * of any schema but the system's, as "schema.name", sequences included.  A database without
 * cavra's ledger that holds one is someone else's.  Caller frees.
 */
ATTR_NODISCARD enum status store_first_table(struct store_conn *c, char **name, struct err *e);
/* Whether table has the column. */
ATTR_NODISCARD enum status store_column_exists(struct store_conn *c, const char *table,
					       const char *column, bool *out, struct err *e);

/*
 * A stored time as canonical UTC text (base/timeutil.h): PostgreSQL returns
 * its own form.  NULL stays NULL; text that is not a time is copied.  Caller
 * frees.
 */
char *store_time_dup(const char *s);

/* A cheap round trip ("SELECT 1"). */
ATTR_NODISCARD enum status store_ping(struct store *st, struct err *e);

#endif
