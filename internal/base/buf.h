/*
 * buf.h - a bounded growable byte buffer (curl's dynbuf, git's strbuf).
 *
 * data is never NULL and always NUL-terminated.  Growing past cap yields
 * ST_TOO_LARGE and leaves the contents as they were.
 */
#ifndef CAVRA_BUF_H
#define CAVRA_BUF_H

#include "base/base.h"
#include "base/err.h"

#include <string.h>

struct buf {
	char *data;
	size_t len;
	size_t alloc; /* 0 while data points at the shared empty string */
	size_t cap; /* hard limit on len */
};

#define BUF_CAP_DEFAULT ((size_t)64 << 20)
#define BUF_INIT                                 \
	{                                        \
		buf_empty, 0, 0, BUF_CAP_DEFAULT \
	}
extern char buf_empty[];

void buf_init(struct buf *b, size_t cap);
/* Frees the storage; b may be reused after buf_init. NULL-safe. */
void buf_release(struct buf *b);
void buf_reset(struct buf *b);
/* buf_add's path when the buffer must grow (or is over its cap). */
ATTR_NODISCARD enum status buf_add_grow(struct buf *b, const void *p, size_t n, struct err *e);
/* Appends n bytes; inline for the common case of room in the buffer (encoders call it per field).
 */
ATTR_NODISCARD static inline enum status buf_add(struct buf *b, const void *p, size_t n,
						 struct err *e)
{
	if (b->alloc && n < b->alloc - b->len && n <= b->cap - b->len) {
		if (n)
			memcpy(b->data + b->len, p, n);
		b->len += n;
		b->data[b->len] = '\0';
		return ST_OK;
	}
	return buf_add_grow(b, p, n, e);
}
ATTR_NODISCARD enum status buf_adds(struct buf *b, const char *s, struct err *e);
ATTR_NODISCARD enum status buf_addf(struct buf *b, struct err *e, const char *fmt, ...)
	ATTR_PRINTF(3, 4);
/*
 * buf_addf for text a program builds from known pieces (SQL, a report), where going over the
 * cap is a bug: it prints one line and aborts, like the x* allocators.
 */
void buf_xaddf(struct buf *b, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* buf_adds on the same terms: a string copied as it is, no formatting pass. */
void buf_xadds(struct buf *b, const char *s);
/* Hands the storage to the caller (free with free()) and resets b. */
char *buf_detach(struct buf *b, size_t *len);

#endif
