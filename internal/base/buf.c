/*
 * buf.c - struct buf, the growable byte buffer with a hard cap.  Every buffer that holds
 * outside input (request bodies, JWK set downloads, manifest and dump reads) has a cap, and
 * going over it is ST_TOO_LARGE (413 over HTTP) rather than unbounded memory.  data is never
 * NULL and always NUL-terminated, so a buffer can be passed as a C string at any point.
 */
#include "base/base.h"
#include "base/buf.h"
#include "base/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The shared empty string an unallocated buffer points at: BUF_INIT and buf_init need no
 * allocation, and alloc == 0 marks data as not ours to free (or to write beyond its NUL).
 */
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

/*
 * Makes room for extra bytes plus the NUL.  The cap test is written so that len + extra
 * cannot overflow.  Growth at least doubles, so appending byte by byte stays linear; the
 * allocation may exceed cap by the doubling, the content never does.
 */
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

/* Formats twice, for the length and then into place, so that the text is never truncated. */
static enum status vaddf(struct buf *b, struct err *e, const char *fmt, va_list ap)
	ATTR_PRINTF(3, 0);
static enum status vaddf(struct buf *b, struct err *e, const char *fmt, va_list ap)
{
	va_list again;
	enum status st;
	int n;

	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	if (n < 0) {
		va_end(again);
		return err_set(e, ST_INTERNAL, "format failed");
	}
	st = grow(b, (size_t)n, e);
	if (st == ST_OK) {
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
		b->len += (size_t)n;
	}
	va_end(again);
	return st;
}

enum status buf_addf(struct buf *b, struct err *e, const char *fmt, ...)
{
	va_list ap;
	enum status st;

	va_start(ap, fmt);
	st = vaddf(b, e, fmt, ap);
	va_end(ap);
	return st;
}

/* fprintf, not log_at, as in xalloc.c: this line must print at any log level. */
static void xcheck(enum status st, const char *who, const struct err *e)
{
	if (st != ST_OK) {
		fprintf(stderr, "level=fatal msg=\"%s: %s\"\n", who, e->msg);
		abort();
	}
}

void buf_xaddf(struct buf *b, const char *fmt, ...)
{
	struct err e = {0};
	va_list ap;
	enum status st;

	va_start(ap, fmt);
	st = vaddf(b, &e, fmt, ap);
	va_end(ap);
	xcheck(st, "buf_xaddf", &e);
}

void buf_xadds(struct buf *b, const char *s)
{
	struct err e = {0};

	xcheck(buf_adds(b, s, &e), "buf_xadds", &e);
}

/* Hands the bytes to the caller; an unallocated buffer yields a fresh "" so free() is safe. */
char *buf_detach(struct buf *b, size_t *len)
{
	char *p = b->alloc ? b->data : xstrdup("");

	if (len)
		*len = b->len;
	buf_init(b, b->cap);
	return p;
}
