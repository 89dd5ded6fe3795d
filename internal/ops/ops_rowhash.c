/*
 * ops_rowhash.c - the SHA-256 of a row's canonical dump line, the record hash
 * of the audit chain: one canonical form for backups and the chain, so the
 * chain's record hashes can be checked against a backup's lines too.
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/str.h"
#include "base/xalloc.h"

#include <pthread.h>
#include <stdlib.h>

#define ROW_LINE_CAP BUF_CAP_DEFAULT

struct ops_row_hasher {
	struct ops_encoder enc;
	struct buf line;
	bool refuse_duplicates; /* a JSON value with a key twice is an error, not its last value */
};

enum status ops_row_hasher_new(const char *table, struct ops_row_hasher **out, struct err *e)
{
	const struct ops_table *t = ops_table_find(table);
	struct ops_row_hasher *h;

	if (!t)
		return err_set(e, ST_NOT_FOUND, "table '%s' is not in the backup catalogue", table);
	h = xcalloc(1, sizeof(*h));
	ops_encoder_init(&h->enc, t);
	buf_init(&h->line, ROW_LINE_CAP);
	*out = h;
	return ST_OK;
}

enum status ops_row_sha256(struct ops_row_hasher *h, const char *const *vals, const size_t *lens,
			   char out[SHA256_HEX_LEN], struct err *e)
{
	enum status st;

	buf_reset(&h->line);
	(void)ops_canonizer_take_duplicate(h->enc.cz);
	st = ops_row_encode(&h->enc, vals, lens, &h->line, e);
	if (st == ST_OK && h->refuse_duplicates && ops_canonizer_take_duplicate(h->enc.cz))
		st = err_set(e, ST_INVALID,
			     "record holds a JSON object with a key twice (readers may take either "
			     "value)");
	if (st == ST_OK)
		sha256_hex(h->line.data, h->line.len, out);
	return st;
}

void ops_row_hasher_refuse_duplicates(struct ops_row_hasher *h)
{
	h->refuse_duplicates = true;
}

void ops_row_hasher_free(struct ops_row_hasher *h)
{
	if (!h)
		return;
	ops_encoder_release(&h->enc);
	buf_release(&h->line);
	free(h);
}

/*
 * Each thread keeps the hasher of the table it hashed last: a list page checks up to a page's
 * rows of one table, and making a hasher (its encoder, a line buffer) per row cost more than
 * hashing most rows.  Freed when the thread ends.
 */
static pthread_key_t hasher_key;
static pthread_once_t hasher_once = PTHREAD_ONCE_INIT;

static void hasher_drop(void *h)
{
	ops_row_hasher_free(h);
}

static void hasher_key_make(void)
{
	if (pthread_key_create(&hasher_key, hasher_drop) != 0)
		abort();
}

static enum status thread_hasher(const char *table, struct ops_row_hasher **out, struct err *e)
{
	struct ops_row_hasher *h;
	enum status st;

	(void)pthread_once(&hasher_once, hasher_key_make);
	h = pthread_getspecific(hasher_key);
	if (h && str_eq(h->enc.t->table, table)) {
		*out = h;
		return ST_OK;
	}
	ops_row_hasher_free(h);
	(void)pthread_setspecific(hasher_key, NULL);
	st = ops_row_hasher_new(table, out, e);
	if (st == ST_OK && pthread_setspecific(hasher_key, *out) != 0) {
		ops_row_hasher_free(*out);
		st = err_set(e, ST_INTERNAL, "audit chain: no thread-specific hasher");
	}
	return st;
}

enum status ops_chain_canon(const char *table, const char *const *vals, size_t n,
			    char out[SHA256_HEX_LEN], struct err *e)
{
	struct ops_row_hasher *h = NULL;
	enum status st = thread_hasher(table, &h, e);

	if (st == ST_OK && n != ops_table_ncols(h->enc.t))
		st = err_set(e, ST_INTERNAL, "%s: %zu values for %zu columns", table, n,
			     ops_table_ncols(h->enc.t));
	if (st == ST_OK)
		st = ops_row_sha256(h, vals, NULL, out, e);
	return st;
}
