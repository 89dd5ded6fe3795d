/*
 * xalloc.c - allocators that never return NULL: on failure they log one line and abort.
 * Out of memory is not an error path in cavra.  Under Linux overcommit the OOM killer usually
 * acts before malloc fails, and the orchestrator restarts the pod; a recovery path that is
 * never exercised would only hide bugs.
 */
#include "base/base.h"
#include "base/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* fprintf, not log_at: "fatal" is no log level, and this line must print at any level. */
ATTR_NORETURN static void oom(size_t n)
{
	fprintf(stderr, "level=fatal msg=\"out of memory allocating %zu bytes\"\n", n);
	abort();
}

/* A zero-byte request still returns a unique pointer, so NULL always means a bug. */
void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom(n);
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		oom(nmemb * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom(n);
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* Formats twice (measure, then write) instead of growing, so the result is exactly sized. */
char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(0);
	p = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}
