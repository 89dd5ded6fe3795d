/*
 * str.c - string and byte-range comparisons that every module needs and
 * the C library lacks (NULL-safe equality, prefix and suffix tests, URL encoding).
 */
#include "base/base.h"
#include "base/str.h"
#include "base/xalloc.h"

#include <stdio.h>
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

char *str_url_encode(const char *s)
{
	char *out = xmalloc(strlen(s) * 3 + 1), *o = out;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~", c))
			*o++ = (char)c;
		else
			o += snprintf(o, 4, "%%%02X", c); /* 3 bytes and the NUL */
	}
	*o = '\0';
	return out;
}
