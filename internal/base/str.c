/*
 * str.c - string and byte-range comparisons that every module needs and
 * the C library lacks (NULL-safe equality, prefix and suffix tests, URL encoding).
 */
#include "base/base.h"
#include "base/str.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
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

/* The code point of a C1 control or a bidirectional override at p (UTF-8), else 0; *n its bytes. */
static unsigned acted_on(const unsigned char *p, size_t *n)
{
	*n = p[0] == 0xc2 ? 2 : 3;
	if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
		return p[1];
	if (p[0] == 0xe2 && p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae)
		return 0x2000 + (p[2] & 0x3f);
	if (p[0] == 0xe2 && p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)
		return 0x2040 + (p[2] & 0x3f);
	return 0;
}

char *str_printable(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out = xmalloc(strlen(s) * 4 + 1), *o = out; /* \xNN: 4 bytes for 1, \uNNNN: 6 for 2 */
	unsigned cp;
	size_t n;

	for (; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			o += snprintf(o, 5, "\\x%02x", *p);
		} else if ((*p == 0xc2 || *p == 0xe2) && (cp = acted_on(p, &n)) != 0) {
			o += snprintf(o, 7, "\\u%04x", cp);
			p += n - 1;
		} else {
			*o++ = (char)*p;
		}
	}
	*o = '\0';
	return out;
}

void str_fput_printable(FILE *f, const char *s)
{
	char *p = str_printable(s);

	fputs(p, f);
	free(p);
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
