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

/*
 * Runs the n steps on c in libpq's pipeline mode: all sent, then one sync, so
 * they cost one round trip.  Each text is prepared once per connection (its
 * first use on a new connection prepares it, outside the pipeline) unless the
 * pool does not keep prepared statements.  After the first step that fails,
 * PostgreSQL skips the rest up to the sync: *failed gets its index (n when all
 * ran) and e its error, mapped as for any statement.  *last (optional) gets the
 * rows of the last step (at most 8 columns) when every step ran; caller owns, free with
 * store_rows_free.  A lost connection marks c broken.
 */
ATTR_NODISCARD enum status store_pg_pipeline(struct store_conn *c, const struct pg_step *steps,
					     size_t n, struct store_rows **last, size_t *failed,
					     struct err *e);

/* The chain head's lock in a write transaction on PostgreSQL: the rows store_chain_pg_links reads.
 */
#define STORE_CHAIN_HEAD_LOCK_PG "SELECT seq, hash FROM audit_chain_head WHERE id = 1 FOR UPDATE"

#define CHAIN_PG_ARRAYS 5 /* seq, record_id, record_sha256, prev_hash, hash */

/* A batch's links on PostgreSQL: two steps (the links' INSERT, the head's UPDATE). */
struct chain_pg_links {
	struct buf arr[CHAIN_PG_ARRAYS];
	char seq[24], hash[SHA256_HEX_LEN], now[TIME_FMT_LEN]; /* the head after them */
	const char *links[CHAIN_PG_ARRAYS + 1], *head[3];
	struct pg_step steps[2];
};

/*
 * Links the n decisions of rows (inserted in the open write transaction) after head,
 * the rows of STORE_CHAIN_HEAD_LOCK_PG run in that transaction, exactly as
 * store_chain_append_decisions would: out->steps are the statements that write the
 * links and move the head, to be run in the same transaction before its COMMIT.  rows
 * are borrowed for the call; out is the caller's, store_chain_pg_links_release it
 * (also after a failure).
 */
ATTR_NODISCARD enum status store_chain_pg_links(const struct store_rows *head,
						const struct decision_rec *const *rows, size_t n,
						struct chain_pg_links *out, struct err *e);
void store_chain_pg_links_release(struct chain_pg_links *l);

#endif
