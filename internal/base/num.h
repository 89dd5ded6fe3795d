/*
 * num.h - strict parsing of numbers written as text.
 */
#ifndef CAVRA_NUM_H
#define CAVRA_NUM_H

#include "base/base.h"

/* Strict decimal parse of a whole string into [min,max]. */
bool str_to_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* The value of the 4 hex digits at p (as in a JSON "\\u" escape), or -1 when one is not a hex
 * digit. */
int hex4_value(const char *p);

#endif
