/*
 * ops_rowhash.c - the SHA-256 of a row's canonical dump line, the record hash
 * of the audit chain: one canonical form for backups and the chain, so the
 * chain's record hashes can be checked against a backup's lines too.
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/xalloc.h"

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

enum status ops_chain_canon(const char *table, const char *const *vals, size_t n,
			    char out[SHA256_HEX_LEN], struct err *e)
{
	struct ops_row_hasher *h = NULL;
	enum status st = ops_row_hasher_new(table, &h, e);

	if (st == ST_OK && n != ops_table_ncols(h->enc.t))
		st = err_set(e, ST_INTERNAL, "%s: %zu values for %zu columns", table, n,
			     ops_table_ncols(h->enc.t));
	if (st == ST_OK)
		st = ops_row_sha256(h, vals, NULL, out, e);
	ops_row_hasher_free(h);
	return st;
}
