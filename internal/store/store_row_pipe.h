/*
 * store_row_pipe.h - hands rows to a second thread in batches, so that
 * whoever produces them (a restore decoding its files) and whoever takes
 * them (SQLite inserting) each run on a core of their own.  Private to
 * internal/store (store_sqlite_bulk.c).
 */
#ifndef CAVRA_STORE_ROW_PIPE_H
#define CAVRA_STORE_ROW_PIPE_H

#include "base/base.h"
#include "base/err.h"

#include <stddef.h>

/* A row's values (NULL for SQL NULL) with their lengths, borrowed for the call only. */
typedef enum status (*row_pipe_fn)(void *ctx, const char *const *vals, const size_t *lens,
				   struct err *e);

struct row_pipe;

/*
 * Starts the thread that calls fn(ctx, ...) with every row put, in order; fn must not be
 * called from anywhere else meanwhile.  NULL when no thread could be started: the caller then
 * calls fn itself.
 */
struct row_pipe *row_pipe_start(size_t ncols, row_pipe_fn fn, void *ctx);

/*
 * Copies one row of ncols values into the batch being filled, handing the batch over when
 * full.  Once fn has failed, returns its error (with the row number it failed on) and takes
 * nothing more; the failure may be an earlier row's.
 */
ATTR_NODISCARD enum status row_pipe_put(struct row_pipe *p, const char *const *vals,
					const size_t *lens, struct err *e);

/*
 * Ends the thread and frees p.  ok: the rows still in the batch are handed over and the
 * call returns once fn has taken every row, with fn's first error if any.  !ok: rows not yet
 * taken are dropped, e is left alone, and ST_OK is returned.
 */
ATTR_NODISCARD enum status row_pipe_finish(struct row_pipe *p, bool ok, struct err *e);

#endif
