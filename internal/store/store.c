/*
 * store.c - the core every noun store stands on: a URL resolved to its
 * backend, the pool of connections (borrowed by one thread at a time,
 * reconnected when broken), transactions, raw statements and result rows,
 * and the schema questions (table and column exists).  Domain SQL is not
 * here: it lives in the noun files listed in store.h.
 */
#include "base/base.h"
#include "store/store_backend.h"
#include "store/store_query.h"
#include "base/log.h"
#include "base/str.h"
#include "base/redact.h"
#include "base/seal.h"
#include "base/xalloc.h"
#include "base/dburl.h"
#include "base/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * A borrower waits this long for a free connection (unless store_options or its
 * deadline say less) and then gets ST_TIMEOUT (HTTP 503, retry later): an exhausted
 * pool must shed load instead of piling up connection threads that each hold a
 * client waiting without limit.
 */
#define POOL_WAIT_MS_DEFAULT 10000

/* The deadline of the request this thread serves (store_deadline_set); 0: none. */
static _Thread_local int64_t thread_deadline_us;

/* Resolves a URL into its backend and connect target; ST_INVALID on a bad form. */
static enum status resolve(const char *url, const struct store_ops **ops, char **target,
			   struct err *e)
{
	if (dburl_is_postgres(url)) {
		*ops = &store_pg_ops;
		*target = xstrdup(url);
		return ST_OK;
	}
	if (!dburl_sqlite_path(url))
		return err_set(e, ST_INVALID,
			       "database url: unsupported scheme or no path (use a SQLite path, "
			       "sqlite:PATH, postgres:// or postgresql://)");
	*ops = &store_sqlite_ops;
	*target = xstrdup(dburl_sqlite_path(url));
	return ST_OK;
}

/*
 * Connects the first connection now, so that a bad URL, a wrong password or an
 * unreachable server fails at start-up with the reason; the others are opened on
 * demand by store_conn_get() up to pool_size.  libpq's messages can repeat the
 * connection string, so the password is scrubbed from any error before it travels.
 */
enum status store_open(const char *url, const struct store_options *opt, struct store **out,
		       struct err *e)
{
	const struct store_ops *ops = NULL;
	struct store_conn *first = NULL;
	struct store *st;
	char *target;
	enum status rc;

	*out = NULL;
	rc = resolve(url, &ops, &target, e);
	if (rc != ST_OK)
		return rc;
	rc = ops->connect(target, opt, &first, e);
	if (rc != ST_OK) {
		if (e)
			scrub_url_password(e->msg, sizeof(e->msg), url);
		free(target);
		return rc;
	}
	st = xcalloc(1, sizeof(*st));
	st->ops = ops;
	st->target = target;
	st->display = redact_url(url);
	st->size = opt->pool_size < 1 ? 1 : opt->pool_size;
	st->prepare = opt->prepare;
	st->opt = *opt;
	if (st->opt.pool_wait_ms <= 0)
		st->opt.pool_wait_ms = POOL_WAIT_MS_DEFAULT;
	first->prepare = opt->prepare;
	st->idle = xcalloc((size_t)st->size, sizeof(struct store_conn *));
	st->idle[st->nidle++] = first;
	st->open = 1;
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->cv, NULL);
	pthread_mutex_init(&st->batch.mu, NULL);
	store_count_cache_init(&st->counts, opt->count_cache_ms * 1000);
	store_owner_cache_init(&st->owners, STORE_OWNER_CACHE_TTL_US);
	*out = st;
	return ST_OK;
}

/* Closes c: what every connection holds (store_backend.h), then the backend's own. */
static void conn_close(const struct store *st, struct store_conn *c)
{
	seal_mac_free(c->seal_mac);
	c->seal_mac = NULL;
	st->ops->disconnect(c);
}

/*
 * Called once no connection is borrowed (the server has drained).  The connect
 * target of a PostgreSQL store is the URL with its password, so it is wiped before
 * it is freed rather than left in freed memory.
 */
void store_close(struct store *st)
{
	if (!st)
		return;
	for (int i = 0; i < st->nidle; i++)
		conn_close(st, st->idle[i]);
	pthread_mutex_destroy(&st->mu);
	pthread_cond_destroy(&st->cv);
	pthread_mutex_destroy(&st->batch.mu);
	store_count_cache_release(&st->counts);
	store_owner_cache_release(&st->owners);
	free(st->idle);
	free(st->display);
	if (st->target) {
		memset(st->target, 0, strlen(st->target));
		free(st->target);
	}
	free(st);
}

enum store_kind store_kind(const struct store *st)
{
	return st->ops->kind;
}

const char *store_backend_name(const struct store *st)
{
	return st->ops->name;
}

const char *store_display_url(const struct store *st)
{
	return st->display;
}

void store_deadline_set(int64_t mono_us)
{
	thread_deadline_us = mono_us;
}

/* now + us on CLOCK_REALTIME, the clock pthread_cond_timedwait measures by default. */
static struct timespec realtime_after(int64_t us)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (us < 0)
		us = 0;
	ts.tv_sec += (time_t)(us / 1000000);
	ts.tv_nsec += (long)(us % 1000000) * 1000;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

int64_t store_deadline_get(void)
{
	return thread_deadline_us;
}

bool store_deadline_passed(void)
{
	return thread_deadline_us && time_mono_us() >= thread_deadline_us;
}

void store_deadline_wait(pthread_cond_t *cv, pthread_mutex_t *mu)
{
	struct timespec abs;

	if (!thread_deadline_us) {
		pthread_cond_wait(cv, mu);
		return;
	}
	abs = realtime_after(thread_deadline_us - time_mono_us());
	(void)pthread_cond_timedwait(cv, mu, &abs);
}

/* The pool's waiters, oldest first, for /readyz: called with st->mu held. */
static void waiter_add(struct store *st, struct pool_waiter *w, int64_t now)
{
	*w = (struct pool_waiter){.since_us = now, .prev = st->waiters_tail};
	if (st->waiters_tail)
		st->waiters_tail->next = w;
	else
		st->waiters = w;
	st->waiters_tail = w;
}

static void waiter_remove(struct store *st, struct pool_waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		st->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		st->waiters_tail = w->prev;
}

/*
 * Waits for a free slot; called with st->mu held.
 *
 * in_use counts every borrowed connection, also one still connecting, so the pool
 * never has more than st->size connections open.  The wait ends at the pool's own
 * limit or at the thread's request deadline, whichever comes first: a request that
 * has run out of time gets its 503 now rather than a connection it can no longer use.
 */
static enum status wait_slot(struct store *st, struct err *e)
{
	struct pool_waiter me;
	int64_t now, limit;
	bool by_deadline;
	struct timespec abs;
	int rc = 0;

	if (st->in_use < st->size)
		return ST_OK; /* the common case reads no clock */
	now = time_mono_us();
	limit = now + st->opt.pool_wait_ms * 1000;
	by_deadline = thread_deadline_us && thread_deadline_us < limit;
	if (by_deadline)
		limit = thread_deadline_us;
	abs = realtime_after(limit - now);
	waiter_add(st, &me, now);
	while (st->in_use >= st->size && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&st->cv, &st->mu, &abs);
	waiter_remove(st, &me);
	if (st->in_use < st->size)
		return ST_OK;
	st->pool_timeout_us = time_mono_us();
	if (by_deadline)
		return err_set(e, ST_TIMEOUT,
			       "database pool: request deadline passed waiting for one of %d "
			       "connections",
			       st->size);
	return err_set(e, ST_TIMEOUT, "database pool: all %d connections busy for %lld ms",
		       st->size, (long long)st->opt.pool_wait_ms);
}

/*
 * The slot is taken under the mutex, but the liveness check and any new connect run
 * outside it: a connect to a slow or dead server takes seconds, and other threads
 * must still be able to give connections back meanwhile.  A failed connect gives
 * its slot back and wakes one waiter, which then tries for itself.
 */
enum status store_conn_get(struct store *st, struct store_conn **out, struct err *e)
{
	struct store_conn *c = NULL;
	enum status rc;

	*out = NULL;
	pthread_mutex_lock(&st->mu);
	rc = wait_slot(st, e);
	if (rc == ST_OK) {
		st->in_use++;
		if (st->nidle > 0)
			c = st->idle[--st->nidle];
	}
	pthread_mutex_unlock(&st->mu);
	if (rc != ST_OK)
		return rc;
	if (c && (c->broken || !st->ops->alive(c))) {
		conn_close(st, c);
		c = NULL;
		pthread_mutex_lock(&st->mu);
		st->open--;
		pthread_mutex_unlock(&st->mu);
	}
	if (!c) {
		rc = st->ops->connect(st->target, &st->opt, &c, e);
		if (rc != ST_OK && e)
			scrub_url_password(e->msg, sizeof(e->msg), st->target);
		if (rc == ST_OK)
			c->prepare = st->prepare;
		pthread_mutex_lock(&st->mu);
		if (rc == ST_OK)
			st->open++;
		else
			st->in_use--;
		pthread_cond_signal(&st->cv);
		pthread_mutex_unlock(&st->mu);
		if (rc != ST_OK)
			return rc;
	}
	*out = c;
	return ST_OK;
}

/*
 * A connection given back with its transaction still open (a caller's early
 * error return) is rolled back here, so no borrower ever inherits another's
 * transaction or its locks.
 */
void store_conn_put(struct store *st, struct store_conn *c)
{
	if (!c)
		return;
	if (c->in_tx)
		store_tx_rollback(c);
	pthread_mutex_lock(&st->mu);
	st->in_use--;
	if (c->saw_full)
		st->full_us = time_mono_us();
	else if (c->wrote)
		st->full_us = 0; /* a write went through: there is room again */
	c->saw_full = c->wrote = false;
	if (c->broken) {
		/* the idle ones most likely lost the same server: reconnect lazily */
		conn_close(st, c);
		st->open--;
		while (st->nidle > 0) {
			conn_close(st, st->idle[--st->nidle]);
			st->open--;
		}
	} else {
		st->idle[st->nidle++] = c;
	}
	pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mu);
}

void store_health_get(struct store *st, int64_t window_us, struct store_health *h)
{
	int64_t now = time_mono_us();

	pthread_mutex_lock(&st->mu);
	h->pool_exhausted = (st->waiters && now - st->waiters->since_us >= STORE_POOL_STARVED_US) ||
			    (st->pool_timeout_us && now - st->pool_timeout_us < window_us);
	h->storage_full = st->full_us && now - st->full_us < window_us;
	pthread_mutex_unlock(&st->mu);
}

void store_pool_stats(struct store *st, int *size, int *in_use, int *open)
{
	pthread_mutex_lock(&st->mu);
	*size = st->size;
	*in_use = st->in_use;
	*open = st->open;
	pthread_mutex_unlock(&st->mu);
}

/*
 * Remembers what a statement's outcome says about the disk, for /readyz: store_conn_put()
 * hands it to the pool.  wrote: the statement committed a write (a COMMIT of a write
 * transaction, or a statement outside one, which commits on its own).
 */
static enum status note(struct store_conn *c, enum status rc, bool wrote)
{
	if (rc == ST_STORAGE_FULL)
		c->saw_full = true;
	else if (rc == ST_OK && wrote)
		c->wrote = true;
	return rc;
}

/*
 * No nesting: a second BEGIN is an error on SQLite and only a warning on
 * PostgreSQL, and a nested caller would commit its caller's half-done work.  in_tx is what
 * store_conn_put() relies on to roll back a forgotten transaction.
 */
enum status store_tx_begin(struct store_conn *c, enum store_tx_mode mode, struct err *e)
{
	enum status rc;

	if (c->in_tx)
		return err_set(e, ST_INTERNAL, "begin: a transaction is already open");
	rc = c->ops->begin(c, mode, e);
	if (rc == ST_OK) {
		c->in_tx = true;
		c->tx_write = mode == STORE_TX_WRITE;
		store_seal_tx_begin(c);
	}
	return note(c, rc, false);
}

/*
 * A failed COMMIT rolls back, whatever state the backend left it in, so the
 * connection goes back to the pool with no transaction open and the caller sees
 * that nothing of the transaction was stored.
 */
enum status store_tx_commit(struct store_conn *c, struct err *e)
{
	enum status rc = c->ops->exec(c, "COMMIT", 0, NULL, NULL, e);

	if (rc != ST_OK) {
		err_wrap(e, "commit");
		store_seal_tx_unknown(c); /* a COMMIT lost on its way back may have happened */
		store_tx_rollback(c);
		return note(c, rc, false);
	}
	c->in_tx = false;
	return note(c, ST_OK, c->tx_write);
}

/*
 * Never fails to its caller: it runs on error paths that already have their own
 * error to report.  A connection whose ROLLBACK fails is in an unknown state, so it
 * is marked broken and store_conn_put() closes it instead of pooling it.
 */
void store_tx_rollback(struct store_conn *c)
{
	struct err e = {0};

	if (!c->in_tx)
		return;
	store_seal_tx_undone(c);
	if (c->ops->exec(c, "ROLLBACK", 0, NULL, NULL, &e) != ST_OK) {
		log_warn("rollback failed, dropping the connection: %s", e.msg);
		c->broken = true;
	}
	c->in_tx = false;
}

enum status store_exec_script(struct store_conn *c, const char *sql, struct err *e)
{
	return note(c, c->ops->exec_script(c, sql, e), !c->in_tx);
}

enum status store_exec(struct store_conn *c, const char *sql, int nparams,
		       const char *const *params, int64_t *changes, struct err *e)
{
	return note(c, c->ops->exec(c, sql, nparams, params, changes, e), !c->in_tx);
}

enum status store_query(struct store_conn *c, const char *sql, int nparams,
			const char *const *params, struct store_rows **out, struct err *e)
{
	*out = NULL;
	return note(c, c->ops->query(c, sql, nparams, params, out, e), false);
}

/*
 * The lock belongs to the transaction (PostgreSQL's pg_advisory_xact_lock, SQLite's
 * write lock from BEGIN IMMEDIATE) and ends with it, so a migrator that dies never
 * leaves it held; outside a write transaction there would be nothing to hold it.
 */
enum status store_lock_schema(struct store_conn *c, struct err *e)
{
	if (!c->in_tx)
		return err_set(e, ST_INTERNAL, "schema lock: needs an open write transaction");
	return c->ops->lock_schema(c, e);
}

enum status store_row_exists(struct store_conn *c, const char *sql, int n, const char *const *p,
			     bool *out, struct err *e)
{
	struct store_rows *r = NULL;
	enum status rc = store_query(c, sql, n, p, &r, e);

	if (rc == ST_OK)
		*out = store_rows_count(r) > 0;
	store_rows_free(r);
	return rc;
}

enum status store_table_exists(struct store_conn *c, const char *table, bool *out, struct err *e)
{
	const char *p[] = {table};

	return store_row_exists(c, c->ops->table_exists_sql, 1, p, out, e);
}

enum status store_first_table(struct store_conn *c, char **name, struct err *e)
{
	struct store_rows *r = NULL;
	enum status rc = store_query(c, c->ops->first_table_sql, 0, NULL, &r, e);

	*name = rc == ST_OK && store_rows_count(r) > 0 ? xstrdup(store_rows_get(r, 0, 0)) : NULL;
	store_rows_free(r);
	return rc;
}

enum status store_column_exists(struct store_conn *c, const char *table, const char *column,
				bool *out, struct err *e)
{
	const char *p[] = {table, column};

	return store_row_exists(c, c->ops->column_exists_sql, 2, p, out, e);
}

enum status store_ping(struct store *st, struct err *e)
{
	struct store_conn *c;
	struct store_rows *r = NULL;
	enum status rc = store_conn_get(st, &c, e);

	if (rc != ST_OK)
		return rc;
	rc = store_query(c, "SELECT 1", 0, NULL, &r, e);
	store_rows_free(r);
	store_conn_put(st, c);
	return rc;
}

struct store_rows *store_rows_new(size_t ncols)
{
	struct store_rows *r = xcalloc(1, sizeof(*r));

	r->ncols = ncols;
	return r;
}

/*
 * Rows are copied out of the backend's result (PGresult, sqlite3_stmt) so that they
 * outlive it: the statement can be reset and the connection given back to the pool
 * while the caller still reads the rows.
 */
void store_rows_add(struct store_rows *r, const char *const *values, const size_t *lens)
{
	size_t base = r->nrows * r->ncols;

	if (r->nrows == r->cap_rows) {
		r->cap_rows = r->cap_rows ? r->cap_rows * 2 : 16;
		r->cells = xrealloc(r->cells, r->cap_rows * r->ncols * sizeof(char *) + 1);
	}
	for (size_t i = 0; i < r->ncols; i++)
		r->cells[base + i] = values[i] ? xstrndup(values[i], lens[i]) : NULL;
	r->nrows++;
}

size_t store_rows_count(const struct store_rows *r)
{
	return r ? r->nrows : 0;
}

size_t store_rows_columns(const struct store_rows *r)
{
	return r ? r->ncols : 0;
}

const char *store_rows_get(const struct store_rows *r, size_t row, size_t col)
{
	if (!r || row >= r->nrows || col >= r->ncols)
		return NULL;
	return r->cells[row * r->ncols + col];
}

void store_rows_free(struct store_rows *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nrows * r->ncols; i++)
		free(r->cells[i]);
	free(r->cells);
	free(r);
}
