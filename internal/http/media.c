/*
 * media.c - the Content-Type of a request body: application/json, and what its
 * parameters may say (docs/api.md, Requests).  Pure.
 */
#include "base/base.h"
#include "http/http_int.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* tchar of RFC 9110: the characters of a token. */
static bool tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static const char *skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static const char *token_end(const char *p)
{
	while (tchar((unsigned char)*p))
		p++;
	return p;
}

/*
 * A parameter's value, a token or a quoted string, copied unquoted into out (cut at size - 1);
 * returns the character after it, or NULL when it is malformed.
 */
static const char *param_value(const char *p, char *out, size_t size)
{
	size_t n = 0;
	const char *end;

	if (*p != '"') {
		end = token_end(p);
		if (end == p)
			return NULL;
		n = (size_t)(end - p) < size - 1 ? (size_t)(end - p) : size - 1;
		memcpy(out, p, n);
		out[n] = '\0';
		return end;
	}
	for (p++; *p != '"'; p++) {
		if (*p == '\\')
			p++;
		if (*p == '\0' || ((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return NULL;
		if (n < size - 1)
			out[n++] = *p;
	}
	out[n] = '\0';
	return p + 1;
}

/* One "; name=value" at p; returns the character after it, or NULL when malformed. */
static const char *param(const char *p, enum http_media *m)
{
	const char *name = p, *name_end = token_end(p);
	char value[16];

	if (name_end == name || *name_end != '=')
		return NULL;
	p = param_value(name_end + 1, value, sizeof(value));
	if (!p)
		return NULL;
	if ((size_t)(name_end - name) == strlen("charset") &&
	    strncasecmp(name, "charset", (size_t)(name_end - name)) == 0 &&
	    strcasecmp(value, "utf-8") != 0 && strcasecmp(value, "utf8") != 0)
		*m = HTTP_MEDIA_BAD_CHARSET;
	return p;
}

enum http_media http_media_json(const char *ct)
{
	static const char type[] = "application/json";
	enum http_media m = HTTP_MEDIA_JSON;
	const char *p;

	if (!ct)
		return HTTP_MEDIA_OTHER;
	p = skip_ows(ct);
	if (strncasecmp(p, type, sizeof(type) - 1) != 0)
		return HTTP_MEDIA_OTHER;
	p = skip_ows(p + sizeof(type) - 1);
	while (*p == ';') {
		p = skip_ows(p + 1);
		if (*p == '\0' || *p == ';')
			continue; /* an empty parameter, as RFC 9110 allows */
		p = param(p, &m);
		if (!p)
			return HTTP_MEDIA_OTHER;
		p = skip_ows(p);
	}
	return *p == '\0' ? m : HTTP_MEDIA_OTHER;
}
