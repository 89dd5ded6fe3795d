/*
 * err.h - the error value that travels beside enum status.
 *
 * The message is written where the failure is detected, lowercase, no final
 * period: "open 'x.sql': No such file or directory".  Callers add context with
 * err_ctx() (or err_wrap()).  A NULL struct err * is accepted everywhere and
 * ignored; the status is always the return value.
 */
#ifndef CAVRA_ERR_H
#define CAVRA_ERR_H

#include "base/base.h"
#include "base/errstr.h"

#define ERR_MSG_MAX 512

struct err {
	enum status code;
	char msg[ERR_MSG_MAX];
};

/* err_set's worker: fills *e (e may be NULL) and returns code. */
enum status err_setf(struct err *e, enum status code, const char *fmt, ...) ATTR_PRINTF(3, 4);

/* Returns code: err_set's result, written where the analyzer can see it. */
static inline enum status err_code_(enum status code, enum status set)
{
	(void)set;
	return code;
}

/*
 * Fills *e (e may be NULL) and returns code.  A macro so that every caller's file sees that it
 * returns code: clang's static analyzer neither looks into other files nor into variadic
 * functions, and took the status of `return err_set(e, ST_INVALID, ...)` for any value, ST_OK
 * included, then followed the caller's success path with its outputs unset (scripts/tidy.sh).
 * code is evaluated twice: pass an ST_ constant or a variable.
 */
#define err_set(e, code, ...) err_code_((code), err_setf((e), (code), __VA_ARGS__))

/*
 * Adds context to a failure and passes its status on: when st is not ST_OK and e is not
 * NULL, prefixes e->msg with "<context>: "; always returns st.  The status travels in the
 * return value, never through *e, so a caller that passed e == NULL still sees the failure:
 * `return err_ctx(st, e, "open '%s'", path);`.
 */
enum status err_ctx(enum status st, struct err *e, const char *fmt, ...) ATTR_PRINTF(3, 4);

/*
 * Prefixes e->msg with "<context>: " (nothing when e is NULL).  It returns nothing on
 * purpose: a status read back from *e is ST_OK whenever the caller passed NULL, which once
 * turned a failed connection into success.  Use err_ctx to add context and return.
 */
void err_wrap(struct err *e, const char *fmt, ...) ATTR_PRINTF(2, 3);

/* Resets e to ST_OK with an empty message. */
void err_clear(struct err *e);

#endif
