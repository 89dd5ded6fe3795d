/*
 * xalloc.h - allocators that log and abort() on out-of-memory.
 *
 * They never return NULL, which leaves error paths for real errors.  All
 * results are freed with free().
 */
#ifndef CAVRA_XALLOC_H
#define CAVRA_XALLOC_H

#include "base/base.h"

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new string; caller owns, free with free(). */
char *xasprintf(const char *fmt, ...) ATTR_PRINTF(1, 2);

#endif
