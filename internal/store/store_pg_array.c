/*
 * store_pg_array.c - the text form of PostgreSQL arrays, for statements whose
 * rows travel as one array parameter per column.
 */
#include "base/base.h"
#include "store/store_pg_batch.h"

#include <string.h>

/* Appends v double-quoted, with '"' and '\' escaped: the one quoting an element needs. */
static enum status add_quoted(struct buf *b, const char *v, struct err *e)
{
	enum status st = buf_add(b, "\"", 1, e);

	while (st == ST_OK && *v) {
		size_t plain = strcspn(v, "\"\\");

		st = buf_add(b, v, plain, e);
		v += plain;
		if (st == ST_OK && *v) {
			char esc[2] = {'\\', *v};

			st = buf_add(b, esc, 2, e);
			v++;
		}
	}
	return st == ST_OK ? buf_add(b, "\"", 1, e) : st;
}

enum status store_pg_array(struct buf *b, const char *const *vals, size_t n, size_t stride,
			   struct err *e)
{
	enum status st = buf_add(b, "{", 1, e);

	for (size_t i = 0; st == ST_OK && i < n; i++) {
		const char *v = vals[i * stride];

		if (i)
			st = buf_add(b, ",", 1, e);
		if (st == ST_OK)
			st = v ? add_quoted(b, v, e) : buf_add(b, "NULL", 4, e);
	}
	return st == ST_OK ? buf_add(b, "}", 1, e) : st;
}
