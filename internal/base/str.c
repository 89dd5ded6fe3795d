/*
 * str.c - string and byte-range comparisons that every module needs and
 * the C library lacks (NULL-safe equality, prefix and suffix tests).
 */
#include "base/base.h"
#include "base/str.h"

#include <string.h>

int bytes_cmp(const void *a, size_t an, const void *b, size_t bn)
{
	int r = an && bn ? memcmp(a, b, an < bn ? an : bn) : 0;

	return r ? r : (an > bn) - (an < bn);
}

bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

bool str_starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}
