/*
 * err.h - the error value that travels beside enum status.
 *
 * The message is written where the failure is detected, lowercase, no final
 * period: "open 'x.sql': No such file or directory".  Callers add context with
 * err_wrap().  A NULL struct err * is accepted everywhere and ignored.
 */
#ifndef CAVRA_ERR_H
#define CAVRA_ERR_H

#include "base/base.h"

#define ERR_MSG_MAX 512

struct err {
	enum status code;
	char msg[ERR_MSG_MAX];
};

/* Fills *e (e may be NULL) and returns code. */
enum status err_set(struct err *e, enum status code, const char *fmt, ...) ATTR_PRINTF(3, 4);

/* Prefixes e->msg with "<context>: " and returns e->code (ST_OK if e is NULL). */
enum status err_wrap(struct err *e, const char *fmt, ...) ATTR_PRINTF(2, 3);

/* Resets e to ST_OK with an empty message. */
void err_clear(struct err *e);

#endif
