/*
 * store_row_pipe.c - rows handed to a second thread in batches.
 *
 * Three batches go round a ring: the producer fills one while the thread
 * works through another and a third waits between them, so neither side
 * waits for the other unless it is the slower one.  A batch is the rows'
 * bytes one after the other and their lengths (SIZE_MAX for NULL); the
 * thread rebuilds the value pointers from them.
 */
#include "base/base.h"
#include "base/interrupt.h"
#include "store/store_row_pipe.h"
#include "base/buf.h"
#include "base/xalloc.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define PIPE_SLOTS    3
#define PIPE_MAX_COLS 64
#define BATCH_ROWS    256
#define BATCH_BYTES   ((size_t)1 << 20) /* handed over once this full, whatever the rows */
#define NULL_LEN      SIZE_MAX

struct batch {
	struct buf data;
	size_t *lens; /* BATCH_ROWS * ncols */
	size_t nrows;
};

struct row_pipe {
	size_t ncols;
	row_pipe_fn fn;
	void *ctx;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* any change of what follows */
	struct batch slots[PIPE_SLOTS];
	size_t head; /* the oldest batch handed over (the thread's) */
	size_t queued; /* batches handed over and not yet done */
	bool closing, abandon, failed;
	int64_t taken; /* rows fn has been called with */
	struct err err; /* fn's first failure */
};

static struct batch *filling(struct row_pipe *p)
{
	return &p->slots[(p->head + p->queued) % PIPE_SLOTS];
}

/* Calls fn with each row of b until one fails; on the pipe's thread. */
static enum status run_batch(struct row_pipe *p, const struct batch *b, struct err *e)
{
	const char *vals[PIPE_MAX_COLS];
	size_t lens[PIPE_MAX_COLS];
	const char *at = b->data.data;
	enum status st = ST_OK;

	for (size_t r = 0; r < b->nrows && st == ST_OK; r++) {
		for (size_t i = 0; i < p->ncols; i++) {
			size_t n = b->lens[r * p->ncols + i];

			vals[i] = n == NULL_LEN ? NULL : at;
			lens[i] = n == NULL_LEN ? 0 : n;
			at += n == NULL_LEN ? 0 : n;
		}
		st = interrupt_check(e);
		if (st == ST_OK)
			st = p->fn(p->ctx, vals, lens, e);
		if (st != ST_OK)
			err_wrap(e, "row %lld", (long long)p->taken + 1);
		else
			p->taken++;
	}
	return st;
}

static void *pipe_main(void *arg)
{
	struct row_pipe *p = arg;
	struct err e = {0};

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->queued && !p->closing)
			pthread_cond_wait(&p->cv, &p->mu);
		if (!p->queued)
			break;
		if (!p->failed && !p->abandon) {
			struct batch *b = &p->slots[p->head];
			enum status st;

			pthread_mutex_unlock(&p->mu);
			st = run_batch(p, b, &e);
			pthread_mutex_lock(&p->mu);
			if (st != ST_OK) {
				p->failed = true;
				p->err = e;
				p->err.code = st;
			}
		}
		p->slots[p->head].nrows = 0;
		buf_reset(&p->slots[p->head].data);
		p->head = (p->head + 1) % PIPE_SLOTS;
		p->queued--;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void pipe_free(struct row_pipe *p)
{
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	for (size_t i = 0; i < PIPE_SLOTS; i++) {
		buf_release(&p->slots[i].data);
		free(p->slots[i].lens);
	}
	free(p);
}

struct row_pipe *row_pipe_start(size_t ncols, row_pipe_fn fn, void *ctx)
{
	struct row_pipe *p;

	if (ncols == 0 || ncols > PIPE_MAX_COLS)
		return NULL;
	p = xcalloc(1, sizeof(*p));
	p->ncols = ncols;
	p->fn = fn;
	p->ctx = ctx;
	for (size_t i = 0; i < PIPE_SLOTS; i++) {
		buf_init(&p->slots[i].data, BUF_CAP_DEFAULT);
		p->slots[i].lens = xcalloc(BATCH_ROWS * ncols, sizeof(size_t));
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (pthread_create(&p->thread, NULL, pipe_main, p) != 0) {
		pipe_free(p);
		return NULL;
	}
	return p;
}

/* The failure fn reported, copied for the producer; the lock is held. */
static enum status failure(const struct row_pipe *p, struct err *e)
{
	if (e)
		*e = p->err;
	return p->err.code;
}

/* Hands the filled batch to the thread and waits for a free one to fill. */
static enum status hand_over(struct row_pipe *p, struct err *e)
{
	enum status st = ST_OK;

	pthread_mutex_lock(&p->mu);
	p->queued++;
	pthread_cond_broadcast(&p->cv);
	while (p->queued == PIPE_SLOTS && !p->failed)
		pthread_cond_wait(&p->cv, &p->mu);
	if (p->failed)
		st = failure(p, e);
	pthread_mutex_unlock(&p->mu);
	return st;
}

enum status row_pipe_put(struct row_pipe *p, const char *const *vals, const size_t *lens,
			 struct err *e)
{
	struct batch *b;
	enum status st = ST_OK;
	size_t before;
	bool failed;

	pthread_mutex_lock(&p->mu);
	failed = p->failed;
	b = filling(p);
	if (failed)
		st = failure(p, e);
	pthread_mutex_unlock(&p->mu);
	if (failed)
		return st;
	before = b->data.len;
	for (size_t i = 0; i < p->ncols && st == ST_OK; i++) {
		b->lens[b->nrows * p->ncols + i] = vals[i] ? lens[i] : NULL_LEN;
		if (vals[i])
			st = buf_add(&b->data, vals[i], lens[i], e);
	}
	if (st != ST_OK) {
		b->data.len = before; /* the row is dropped whole */
		b->data.data[before] = '\0';
		return st;
	}
	b->nrows++;
	if (b->nrows == BATCH_ROWS || b->data.len >= BATCH_BYTES)
		st = hand_over(p, e);
	return st;
}

enum status row_pipe_finish(struct row_pipe *p, bool ok, struct err *e)
{
	enum status st = ST_OK;

	if (!p)
		return ST_OK;
	pthread_mutex_lock(&p->mu);
	if (ok && !p->failed && filling(p)->nrows)
		p->queued++;
	p->abandon = !ok;
	p->closing = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	if (ok && p->failed)
		st = failure(p, e);
	pipe_free(p);
	return st;
}
