#include "base/base.h"
#include "base/buf.h"
#include "base/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char buf_empty[1];

void buf_init(struct buf *b, size_t cap)
{
	b->data = buf_empty;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
}

void buf_release(struct buf *b)
{
	if (!b)
		return;
	if (b->alloc)
		free(b->data);
	buf_init(b, b->cap);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->data[0] = '\0';
}

static enum status grow(struct buf *b, size_t extra, struct err *e)
{
	size_t want;

	if (extra > b->cap || b->len > b->cap - extra)
		return err_set(e, ST_TOO_LARGE, "buffer over its limit of %zu bytes", b->cap);
	want = b->len + extra + 1;
	if (want <= b->alloc)
		return ST_OK;
	if (want < 64)
		want = 64;
	if (want < b->alloc * 2)
		want = b->alloc * 2;
	if (b->alloc) {
		b->data = xrealloc(b->data, want);
	} else {
		b->data = xmalloc(want);
		b->data[0] = '\0';
	}
	b->alloc = want;
	return ST_OK;
}

enum status buf_add_grow(struct buf *b, const void *p, size_t n, struct err *e)
{
	enum status st = grow(b, n, e);

	if (st != ST_OK)
		return st;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return ST_OK;
}

enum status buf_adds(struct buf *b, const char *s, struct err *e)
{
	return buf_add(b, s, strlen(s), e);
}

enum status buf_addf(struct buf *b, struct err *e, const char *fmt, ...)
{
	va_list ap;
	enum status st;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return err_set(e, ST_INTERNAL, "format failed");
	st = grow(b, (size_t)n, e);
	if (st != ST_OK)
		return st;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return ST_OK;
}

char *buf_detach(struct buf *b, size_t *len)
{
	char *p = b->alloc ? b->data : xstrdup("");

	if (len)
		*len = b->len;
	buf_init(b, b->cap);
	return p;
}
