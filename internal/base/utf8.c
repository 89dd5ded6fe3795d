/*
 * utf8.c - a strict UTF-8 validator and a repairer that substitutes U+FFFD.
 * json-c's own check lets overlong forms and surrogates through, which
 * SQLite then stores and PostgreSQL refuses.
 */
#include "base/base.h"
#include "base/utf8.h"

#include <string.h>

/* Bounds of the second byte for each lead byte (RFC 3629 section 4). */
static bool second_ok(unsigned char lead, unsigned char c)
{
	switch (lead) {
	case 0xe0:
		return c >= 0xa0 && c <= 0xbf; /* below is overlong */
	case 0xed:
		return c >= 0x80 && c <= 0x9f; /* above is a surrogate */
	case 0xf0:
		return c >= 0x90 && c <= 0xbf; /* below is overlong */
	case 0xf4:
		return c >= 0x80 && c <= 0x8f; /* above is past U+10FFFF */
	default:
		return c >= 0x80 && c <= 0xbf;
	}
}

size_t utf8_seq_len(const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0; /* continuation byte, C0/C1 (always overlong) or F5-FF */
	if (n < len || !second_ok(s[0], s[1]))
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

bool utf8_valid(const void *s, size_t n, size_t *bad)
{
	const unsigned char *p = s;
	size_t i = 0;

	while (i < n) {
		size_t len;

		/* ASCII runs are the common case: skip them without the decoder */
		while (i < n && p[i] < 0x80)
			i++;
		if (i == n)
			break;
		len = utf8_seq_len(p + i, n - i);
		if (len == 0) {
			if (bad)
				*bad = i;
			return false;
		}
		i += len;
	}
	return true;
}

enum status utf8_repair(const void *s, size_t n, struct buf *out, struct err *e)
{
	static const char fffd[] = "\xef\xbf\xbd";
	const unsigned char *p = s;
	size_t i = 0;

	while (i < n) {
		size_t start = i, len = 0;

		while (i < n && (len = utf8_seq_len(p + i, n - i)) > 0)
			i += len;
		if (i > start && buf_add(out, p + start, i - start, e) != ST_OK)
			return ST_TOO_LARGE;
		if (i == n)
			break;
		if (buf_add(out, fffd, 3, e) != ST_OK)
			return ST_TOO_LARGE;
		i++;
	}
	return ST_OK;
}

unsigned int utf8_code_point(const void *s, size_t n)
{
	const unsigned char *p = s;

	if (n == 2)
		return ((p[0] & 0x1fu) << 6) | (p[1] & 0x3fu);
	if (n == 3)
		return ((p[0] & 0x0fu) << 12) | ((p[1] & 0x3fu) << 6) | (p[2] & 0x3fu);
	if (n == 4)
		return ((p[0] & 0x07u) << 18) | ((p[1] & 0x3fu) << 12) | ((p[2] & 0x3fu) << 6) |
		       (p[3] & 0x3fu);
	return p[0];
}

bool utf8_hidden(unsigned int cp)
{
	static const unsigned int ranges[][2] = {
		{0x80, 0x9f},	    {0xad, 0xad},	{0x600, 0x605},	    {0x61c, 0x61c},
		{0x6dd, 0x6dd},	    {0x70f, 0x70f},	{0x890, 0x891},	    {0x8e2, 0x8e2},
		{0x115f, 0x1160},   {0x180e, 0x180e},	{0x200b, 0x200f},   {0x2028, 0x202e},
		{0x2060, 0x206f},   {0x3164, 0x3164},	{0xfeff, 0xfeff},   {0xffa0, 0xffa0},
		{0xfff9, 0xfffb},   {0x110bd, 0x110bd}, {0x110cd, 0x110cd}, {0x13430, 0x1343f},
		{0x1bca0, 0x1bca3}, {0x1d173, 0x1d17a}, {0xe0001, 0xe0001}, {0xe0020, 0xe007f},
	};

	for (size_t i = 0; i < ARRAY_SIZE(ranges); i++) {
		if (cp >= ranges[i][0] && cp <= ranges[i][1])
			return true;
	}
	return false;
}

bool utf8_find_hidden(const char *s, unsigned int *cp, size_t *at)
{
	for (size_t i = 0; s[i];) {
		unsigned char c = (unsigned char)s[i];
		size_t n = c < 0x80 ? 1 : utf8_seq_len(s + i, strnlen(s + i, 4));
		unsigned int v = n ? utf8_code_point(s + i, n) : c;

		/* a line end written "\r\n" (Windows) moves nothing back over what was shown */
		bool line_end = v == '\r' && s[i + 1] == '\n';

		if ((v < 0x20 && v != '\t' && v != '\n' && !line_end) || v == 0x7f ||
		    (n > 1 && utf8_hidden(v))) {
			*cp = v;
			*at = i;
			return true;
		}
		i += n ? n : 1;
	}
	return false;
}
