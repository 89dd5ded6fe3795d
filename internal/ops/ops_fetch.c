/*
 * ops_fetch.c - reads a table in key order, batch after batch, on a thread
 * of its own, so that the database producing the next batch and this
 * process encoding the current one overlap (without it a backup waits for
 * the server half of the time).  The batches are keyset pages
 * ("WHERE key > $last ORDER BY key LIMIT n") inside the caller's snapshot
 * transaction: one consistent read, flat memory.
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/xalloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define FETCH_ROWS  2000
#define FETCH_AHEAD 2 /* batches read ahead at most */

struct ops_fetch {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct store_conn *c; /* used by the thread only, until ops_fetch_stop */
	const struct ops_table *t;
	size_t key_col;
	char *first_sql, *next_sql;
	struct store_rows *queue[FETCH_AHEAD];
	size_t head, count;
	bool done, stop;
	enum status st;
	struct err e;
};

static char *select_sql(const struct ops_table *t, bool after)
{
	struct buf b = BUF_INIT;

	/* a few hundred bytes: the default cap cannot be reached */
	for (size_t i = 0; i < ops_table_ncols(t); i++)
		if (buf_addf(&b, NULL, "%s%s", i ? ", " : "SELECT ", t->cols[i].name) != ST_OK)
			abort();
	if (buf_addf(&b, NULL, " FROM %s%s%s%s ORDER BY %s LIMIT %d", t->table,
		     after ? " WHERE " : "", after ? t->key : "", after ? " > $1" : "", t->key,
		     FETCH_ROWS) != ST_OK)
		abort();
	return buf_detach(&b, NULL);
}

/* Hands a batch to the reader, waiting while FETCH_AHEAD are pending; false when stopped. */
static bool push(struct ops_fetch *f, struct store_rows *r)
{
	bool ok;

	pthread_mutex_lock(&f->mu);
	while (f->count == FETCH_AHEAD && !f->stop)
		pthread_cond_wait(&f->cv, &f->mu);
	ok = !f->stop;
	if (ok)
		f->queue[(f->head + f->count++) % FETCH_AHEAD] = r;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	if (!ok)
		store_rows_free(r);
	return ok;
}

static void *run(void *arg)
{
	struct ops_fetch *f = arg;
	char *last = NULL;
	enum status st = ST_OK;
	size_t got = FETCH_ROWS;
	struct err e = {0};

	while (st == ST_OK && got == FETCH_ROWS) {
		struct store_rows *r = NULL;
		const char *p[1] = {last};

		st = store_query(f->c, last ? f->next_sql : f->first_sql, last ? 1 : 0, p, &r, &e);
		if (st != ST_OK)
			break;
		got = store_rows_count(r);
		if (got > 0) {
			free(last);
			last = xstrdup(store_rows_get(r, got - 1, f->key_col));
		}
		if (got > 0 && !push(f, r))
			break;
		if (got == 0)
			store_rows_free(r);
	}
	free(last);
	pthread_mutex_lock(&f->mu);
	f->done = true;
	f->st = st;
	f->e = e;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

enum status ops_fetch_start(struct store_conn *c, const struct ops_table *t, struct ops_fetch **out,
			    struct err *e)
{
	struct ops_fetch *f = xcalloc(1, sizeof(*f));

	*out = NULL;
	f->c = c;
	f->t = t;
	for (size_t i = 0; i < ops_table_ncols(t); i++)
		if (strcmp(t->cols[i].name, t->key) == 0)
			f->key_col = i;
	f->first_sql = select_sql(t, false);
	f->next_sql = select_sql(t, true);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	if (pthread_create(&f->thread, NULL, run, f) != 0) {
		pthread_mutex_destroy(&f->mu);
		pthread_cond_destroy(&f->cv);
		free(f->first_sql);
		free(f->next_sql);
		free(f);
		return err_set(e, ST_INTERNAL, "backup: cannot start the reader thread");
	}
	*out = f;
	return ST_OK;
}

enum status ops_fetch_next(struct ops_fetch *f, struct store_rows **out, struct err *e)
{
	enum status st = ST_OK;

	*out = NULL;
	pthread_mutex_lock(&f->mu);
	while (f->count == 0 && !f->done)
		pthread_cond_wait(&f->cv, &f->mu);
	if (f->count > 0) {
		*out = f->queue[f->head];
		f->head = (f->head + 1) % FETCH_AHEAD;
		f->count--;
		pthread_cond_broadcast(&f->cv);
	} else if (f->st != ST_OK) {
		st = f->st;
		if (e)
			*e = f->e;
	}
	pthread_mutex_unlock(&f->mu);
	return st;
}

void ops_fetch_stop(struct ops_fetch *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->mu);
	f->stop = true;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->thread, NULL);
	while (f->count > 0) {
		store_rows_free(f->queue[f->head]);
		f->head = (f->head + 1) % FETCH_AHEAD;
		f->count--;
	}
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	free(f->first_sql);
	free(f->next_sql);
	free(f);
}
