/*
 * base.h - included first by every cavra source file.
 *
 * Common attributes, the status codes every fallible function returns, and
 * small helpers.  See err.h for struct err, log.h for logging, xalloc.h for
 * the abort-on-OOM allocators and buf.h for the bounded growable buffer.
 */
#ifndef CAVRA_BASE_H
#define CAVRA_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ATTR_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define ATTR_NODISCARD	       __attribute__((warn_unused_result))
#define ATTR_NORETURN	       __attribute__((noreturn))
#define ARRAY_SIZE(a)	       (sizeof(a) / sizeof((a)[0]))
#define UNUSED(x)	       ((void)(x))

#define CAVRA_VERSION "0.1.0"

/* Every fallible function returns one of these; ST_OK is zero. */
enum status {
	ST_OK = 0,
	ST_INVALID, /* 400: bad input from the client or caller */
	ST_UNAUTHENTICATED, /* 401 */
	ST_FORBIDDEN, /* 403 */
	ST_NOT_FOUND, /* 404 */
	ST_CONFLICT, /* 409: unique or state conflict */
	ST_TOO_LARGE, /* 413: body or field over its cap */
	ST_UNPROCESSABLE, /* 422: well-formed, but contradicts what is stored (a reused key) */
	ST_UNAVAILABLE, /* 503: database down or busy; retryable */
	ST_IO, /* 500: filesystem or socket failure */
	ST_INTERNAL, /* 500: bug or unexpected library result */
	ST_TIMEOUT, /* 503: a lock, statement or request deadline ran out; retryable */
	ST_STORAGE_FULL, /* 503: the database's disk is full; nothing was written */
	ST_INTERRUPTED, /* a command stopped by SIGINT, SIGTERM or SIGHUP (base/interrupt.h) */
	ST__COUNT
};

/* Stable lowercase name of a status ("invalid", "not_found", ...). */
const char *status_name(enum status st);

#endif
