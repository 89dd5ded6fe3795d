/*
 * err.c - the status names and the message half of the error convention: err_set (a macro
 * around err_setf) writes a message where a failure is detected, err_ctx and err_wrap prefix the
 * context of each caller on the way up.  The status itself always travels in return values; struct
 * err carries only text for whoever logs or replies at the boundary (docs/architecture.md,
 * "Errors").  Nothing here logs, allocates or can fail, so it is safe on every error path, OOM
 * included.
 */
#include "base/base.h"
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*
 * These names are part of the API: http_reply_err sends them as the "code" of a 4xx body, and
 * clients match on them.  Rename one only together with docs/api.md and its clients.
 */
static const char *const status_names[ST__COUNT] = {
	[ST_OK] = "ok",
	[ST_INVALID] = "invalid",
	[ST_UNAUTHENTICATED] = "unauthenticated",
	[ST_FORBIDDEN] = "forbidden",
	[ST_NOT_FOUND] = "not_found",
	[ST_CONFLICT] = "conflict",
	[ST_TOO_LARGE] = "too_large",
	[ST_UNPROCESSABLE] = "unprocessable",
	[ST_UNAVAILABLE] = "unavailable",
	[ST_IO] = "io",
	[ST_INTERNAL] = "internal",
	[ST_TIMEOUT] = "timeout",
	[ST_STORAGE_FULL] = "storage_full",
	[ST_INTERRUPTED] = "interrupted",
};

/* Out-of-range values come from a cast or a corrupt value; never index past the table. */
const char *status_name(enum status st)
{
	if ((unsigned)st >= ST__COUNT)
		return "unknown";
	return status_names[st];
}

enum status err_setf(struct err *e, enum status code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

/*
 * Builds "<context>: <old message>" in place.  The old message is copied out first because the
 * context is formatted into the same buffer; when the two do not fit, the tail of the old
 * message is what gets cut, since the outermost context says best which operation failed.  A
 * context that alone fills the buffer drops the ": " and the old text rather than overflow.
 */
static void prefix(struct err *e, const char *fmt, va_list ap) ATTR_PRINTF(2, 0);
static void prefix(struct err *e, const char *fmt, va_list ap)
{
	char old[ERR_MSG_MAX];
	int n;

	memcpy(old, e->msg, sizeof(old));
	n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	if (n >= 0 && (size_t)n < sizeof(e->msg) - 2) {
		size_t used = (size_t)n;

		memcpy(e->msg + used, ": ", 2);
		used += 2;
		size_t room = sizeof(e->msg) - used - 1;
		size_t len = strnlen(old, room);

		memcpy(e->msg + used, old, len);
		e->msg[used + len] = '\0';
	}
}

void err_wrap(struct err *e, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	prefix(e, fmt, ap);
	va_end(ap);
}

enum status err_ctx(enum status st, struct err *e, const char *fmt, ...)
{
	va_list ap;

	if (st == ST_OK || !e)
		return st;
	va_start(ap, fmt);
	prefix(e, fmt, ap);
	va_end(ap);
	e->code = st; /* the returned status is the truth; keep the copy in sync */
	return st;
}

/* For a struct err that is reused across attempts (retries, loops over files). */
void err_clear(struct err *e)
{
	if (!e)
		return;
	e->code = ST_OK;
	e->msg[0] = '\0';
}
