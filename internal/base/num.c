/*
 * num.c - strict number parsing: a whole decimal string within bounds, and
 * the four hex digits of a "\u" escape, with no locale and no leniency.
 */
#include "base/base.h"
#include "base/num.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

bool str_to_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s || (!isdigit((unsigned char)*s) && *s != '-'))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

int hex4_value(const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}
