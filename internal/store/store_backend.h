/*
 * store_backend.h - private to internal/store: the vtable each backend fills.
 */
#ifndef CAVRA_STORE_BACKEND_H
#define CAVRA_STORE_BACKEND_H

#include "store/store.h"
#include "store/store_bulk.h"
#include "store/store_chain.h"
#include "store/store_count_cache.h"
#include "store/store_owner_cache.h"

#include <pthread.h>
#include <stdatomic.h>

/* A result set copied out of the backend: all values as text. */
struct store_rows {
	size_t nrows, ncols;
	size_t cap_rows; /* rows allocated in cells */
	char **cells; /* nrows * ncols, NULL for SQL NULL */
};

/* Backends embed this as their FIRST member. */
struct store_conn {
	const struct store_ops *ops;
	bool in_tx;
	bool broken; /* reconnect before the next use */
	bool prepare; /* reuse prepared statements (store_options.prepare) */
	bool tx_write; /* the open transaction is a STORE_TX_WRITE */
	bool saw_full; /* a statement failed with ST_STORAGE_FULL since it was borrowed */
	bool wrote; /* a write transaction committed since it was borrowed */
	bool one_shot; /* the next statement is neither cached nor kept prepared */
	bool chain_sealed; /* audit_chain.seal found here (store_chain.c): not looked up again */
	/*
	 * This connection as a writer of sealed chain entries (store_chain.h): its id (empty: none
	 * drawn yet), the number of its next entry, and that number when the open transaction
	 * began (where a rollback takes it back to).
	 */
	char seal_writer[33];
	uint64_t seal_next, seal_base;
	struct seal_mac *seal_mac; /* the installed key's HMAC, set up at the first seal; owned */
};

/* A transaction of c begins: its sealed entries are numbered from here. */
static inline void store_seal_tx_begin(struct store_conn *c)
{
	c->seal_base = c->seal_next;
}

/* c's transaction wrote nothing: its entries' numbers are used again. */
static inline void store_seal_tx_undone(struct store_conn *c)
{
	c->seal_next = c->seal_base;
}

/* c's transaction may or may not have committed: the writer ends, the next seal draws another. */
static inline void store_seal_tx_unknown(struct store_conn *c)
{
	c->seal_writer[0] = '\0';
}

struct store_ops {
	const char *name; /* "sqlite" | "postgres" */
	enum store_kind kind;
	/* target: the path (SQLite) or the URL (PostgreSQL) */
	enum status (*connect)(const char *target, const struct store_options *opt,
			       struct store_conn **out, struct err *e);
	void (*disconnect)(struct store_conn *c);
	bool (*alive)(struct store_conn *c);
	enum status (*begin)(struct store_conn *c, enum store_tx_mode mode, struct err *e);
	enum status (*exec_script)(struct store_conn *c, const char *sql, struct err *e);
	enum status (*exec)(struct store_conn *c, const char *sql, int nparams,
			    const char *const *params, int64_t *changes, struct err *e);
	enum status (*query)(struct store_conn *c, const char *sql, int nparams,
			     const char *const *params, struct store_rows **out, struct err *e);
	enum status (*lock_schema)(struct store_conn *c, struct err *e);
	enum status (*stream)(struct store_conn *c, const char *sql, size_t ncols, store_row_fn fn,
			      void *ctx, struct err *e);
	enum status (*load_begin)(struct store_conn *c, const char *table, const char *const *cols,
				  size_t ncols, enum store_load_mode mode, struct store_load **out,
				  struct err *e);
	enum status (*load_row)(struct store_load *l, const char *const *vals, const size_t *lens,
				struct err *e);
	enum status (*load_end)(struct store_load *l, bool ok, int64_t *rows, struct err *e);
	const char *table_exists_sql; /* $1 = table; returns a row when it exists */
	const char *column_exists_sql; /* $1 = table, $2 = column */
	/* the first table, view or sequence by name (PostgreSQL: of any schema but the system's) */
	const char *first_table_sql;
	const char *load_indexes_sql; /* $1 = table; (name, create, drop statement) rows */
	const char *empty_table_sql; /* followed by the table's name: removes every row */
};

/*
 * Queue of decision inserts written together (group commit, store_decisions.c); each queued
 * caller waits on a condition variable of its own.
 */
struct store_batch {
	pthread_mutex_t mu;
	struct batch_item *head, *tail;
	int writers; /* threads writing a batch now */
	int opening; /* of them, those still before their batch is on its way (sent) */
	int queued; /* callers in the queue */
	int writing; /* rows in the batches being written */
};

struct store {
	const struct store_ops *ops;
	char *target; /* path or URL handed to connect (may hold a password) */
	char *display; /* redacted */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int size;
	int in_use;
	struct store_conn **idle; /* stack of open, idle connections */
	int nidle;
	int open; /* connections that exist (idle or borrowed) */
	bool prepare;
	struct store_options opt; /* as opened: timeouts for each new connection */
	/* borrowers waiting for a free connection, oldest first */
	struct pool_waiter *waiters, *waiters_tail;
	int64_t pool_timeout_us; /* time_mono_us of the last wait that timed out, 0: none */
	int64_t full_us; /* of the last write that failed on a full disk, 0: none since */
	struct store_batch batch;
	struct store_count_cache counts; /* bounded totals above their bound */
	struct store_owner_cache owners; /* sessions' owners read by POST /decisions */
	/*
	 * The chain was seen to cover [0] the kinds chained from 015, [1 + g] late group g's,
	 * with none waiting for an adoption (store_record_vouched): true for good, as an
	 * adoption is never undone.
	 */
	atomic_bool chain_covers[1 + STORE_LATE_N];
};

/* A borrower waiting for a connection; lives on its stack while it waits. */
struct pool_waiter {
	int64_t since_us; /* time_mono_us when it began to wait */
	struct pool_waiter *prev, *next;
};

/* Backends embed this as the FIRST member of their bulk loader. */
struct store_load {
	struct store_conn *c;
	int64_t rows;
};

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops;

/* The calling thread's request deadline (store_deadline_set): time_mono_us(), 0 for none. */
int64_t store_deadline_get(void);
/* Whether the calling thread's request deadline (store_deadline_set) has passed. */
bool store_deadline_passed(void);
/*
 * Waits on cv (mu held) until it is signalled or the calling thread's request
 * deadline passes; without a deadline, until it is signalled.  The caller checks
 * its condition and store_deadline_passed() again afterwards.
 */
void store_deadline_wait(pthread_cond_t *cv, pthread_mutex_t *mu);

/* Allocates an empty result of ncols columns (used by the backends). */
struct store_rows *store_rows_new(size_t ncols);
/* Appends a row; values are copied. */
void store_rows_add(struct store_rows *r, const char *const *values, const size_t *lens);

/* Bulk reads and loads of each backend (store_pg_bulk.c, store_sqlite_bulk.c). */
enum status store_pg_stream(struct store_conn *c, const char *sql, size_t ncols, store_row_fn fn,
			    void *ctx, struct err *e);
enum status store_pg_load_begin(struct store_conn *c, const char *table, const char *const *cols,
				size_t ncols, enum store_load_mode mode, struct store_load **out,
				struct err *e);
enum status store_pg_load_row(struct store_load *l, const char *const *vals, const size_t *lens,
			      struct err *e);
enum status store_pg_load_end(struct store_load *l, bool ok, int64_t *rows, struct err *e);
enum status store_sqlite_stream(struct store_conn *c, const char *sql, size_t ncols,
				store_row_fn fn, void *ctx, struct err *e);
enum status store_sqlite_load_begin(struct store_conn *c, const char *table,
				    const char *const *cols, size_t ncols,
				    enum store_load_mode mode, struct store_load **out,
				    struct err *e);
enum status store_sqlite_load_row(struct store_load *l, const char *const *vals, const size_t *lens,
				  struct err *e);
enum status store_sqlite_load_end(struct store_load *l, bool ok, int64_t *rows, struct err *e);

#endif
