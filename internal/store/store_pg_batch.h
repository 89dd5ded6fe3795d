/*
 * store_pg_batch.h - private to internal/store: what PostgreSQL's batch of
 * decisions (store_decisions.c, store_chain.c) needs of the backend without
 * seeing libpq: text array literals, so that one statement of fixed text
 * carries any number of rows (INSERT ... SELECT FROM unnest($1::text[], ...)),
 * and a pipeline that sends several statements in one round trip.
 */
#ifndef CAVRA_STORE_PG_BATCH_H
#define CAVRA_STORE_PG_BATCH_H

#include "store/store_backend.h"
#include "base/buf.h"
#include "base/hash.h"
#include "base/timeutil.h"

struct decision_rec;

/*
 * Appends to b the text form of a one-dimensional array of n values, value i
 * being vals[i * stride] (stride > 1 takes one column of row-major
 * parameters): "{" values separated by "," "}".  A NULL value is the unquoted
 * word NULL; every other value is double-quoted with '"' and '\' escaped by
 * a backslash, so that commas, braces, spaces, the text "NULL" and the empty
 * string read back exactly.  Bytes pass as they are (UTF-8 included).
 * ST_TOO_LARGE past b's cap, with b holding part of the literal.
 */
ATTR_NODISCARD enum status store_pg_array(struct buf *b, const char *const *vals, size_t n,
					  size_t stride, struct err *e);

/* One statement of a pipeline: a fixed text and its parameters as text (NULL: SQL NULL). */
struct pg_step {
	const char *sql;
	int nparams;
	const char *const *params;
};

/* Called once every step of a pipeline is on its way, before the first result is read. */
struct pg_sent {
	void (*fn)(void *arg);
	void *arg;
};

/*
 * Runs the n steps on c in libpq's pipeline mode: all sent, then one sync, so
 * they cost one round trip.  Each text is prepared once per connection (its
 * first use on a new connection prepares it, outside the pipeline) unless the
 * pool does not keep prepared statements.  After the first step that fails,
 * PostgreSQL skips the rest up to the sync: *failed gets its index (n when all
 * ran) and e its error, mapped as for any statement.  *last (optional) gets the
 * rows of the last step (at most 8 columns) when every step ran; caller owns, free with
 * store_rows_free.  sent (optional) is called once the steps are sent (or failed to be).
 * A lost connection marks c broken.
 */
ATTR_NODISCARD enum status store_pg_pipeline(struct store_conn *c, const struct pg_step *steps,
					     size_t n, struct store_rows **last, size_t *failed,
					     const struct pg_sent *sent, struct err *e);

/* A batch's links on PostgreSQL: one step that takes the head, links the rows and moves it. */
struct chain_pg_step {
	/* the decisions' ids, their records' SHA-256 and (when sealed) their entries' seals */
	struct buf ids, shas, seals;
	char now[TIME_FMT_LEN]; /* chained_at, and the head's updated_at */
	const char *params[4];
	struct pg_step step;
};

/*
 * The step that chains the n decisions of rows (inserted before it in the same
 * transaction) exactly as store_chain_append_decisions would: the server locks the
 * head, computes the links in order after it, inserts them and moves the head, so that
 * the step can travel in the same round trip as the rows and the COMMIT.  The records'
 * canonical SHA-256, and the entries' seals where c's entries are sealed, are computed here.
 * rows are borrowed for the call; out is the caller's, store_chain_pg_step_release it (also
 * after a failure).
 */
ATTR_NODISCARD enum status store_chain_pg_step(struct store_conn *c,
					       const struct decision_rec *const *rows, size_t n,
					       struct chain_pg_step *out, struct err *e);
void store_chain_pg_step_release(struct chain_pg_step *s);

#endif
