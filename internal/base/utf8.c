/*
 * utf8.c - a strict UTF-8 validator and a repairer that substitutes U+FFFD.
 * json-c's own check lets overlong forms and surrogates through, which
 * SQLite then stores and PostgreSQL refuses.
 */
#include "base/base.h"
#include "base/utf8.h"

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
