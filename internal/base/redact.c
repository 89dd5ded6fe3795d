/*
 * redact.c - finds every password libpq would read in a database URL or
 * conninfo string (URI userinfo, password= query parameters, key=value
 * pairs) so that what is printed or logged shows "*****" instead.  Anything
 * doubtful is hidden too: showing too little beats leaking part of a secret.
 */
#include "base/base.h"
#include "base/str.h"
#include "base/redact.h"
#include "base/xalloc.h"
#include "base/dburl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SPANS     16
#define MASK	      "*****"
#define SCRUB_MIN_RUN 4 /* shorter pieces of a password say little and are everywhere */

/* A secret inside the string: s[at..at+len); uri says how it is escaped. */
struct span {
	size_t at, len;
	bool uri;
};

struct spans {
	struct span s[MAX_SPANS];
	size_t n;
};

static void add(struct spans *sp, const char *base, const char *from, const char *to, bool uri)
{
	if (sp->n < MAX_SPANS)
		sp->s[sp->n++] = (struct span){(size_t)(from - base), (size_t)(to - from), uri};
}

static int hex_val(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* s[0..n) percent-decoded (uri) or with libpq's quotes and backslashes removed. */
static void decode(const char *s, size_t n, bool uri, char *out, size_t cap)
{
	size_t o = 0;

	if (!uri && n >= 2 && s[0] == '\'' && s[n - 1] == '\'') {
		s++;
		n -= 2;
	}
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		if (uri && s[i] == '%' && i + 2 < n && hex_val(s[i + 1]) >= 0 &&
		    hex_val(s[i + 2]) >= 0) {
			out[o++] = (char)(hex_val(s[i + 1]) * 16 + hex_val(s[i + 2]));
			i += 2;
		} else if (!uri && s[i] == '\\' && i + 1 < n) {
			out[o++] = s[++i];
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
}

/* Keys libpq reads a secret from, in any case (libpq itself is stricter). */
static bool secret_key(const char *k, size_t n, bool uri)
{
	char name[32];

	if (n >= sizeof(name) * 3)
		return false;
	decode(k, n, uri, name, sizeof(name));
	return strcasecmp(name, "password") == 0 || strcasecmp(name, "sslpassword") == 0;
}

/*
 * "scheme://user:password@host": the password runs to the last '@', since
 * libpq stops at the first one and a password with '@', '/' or ':' in it
 * would otherwise show its tail.  Returns where the host part starts.
 */
static const char *userinfo(const char *url, struct spans *sp)
{
	const char *start = strstr(url, "://") + 3;
	const char *at = strrchr(start, '@'), *colon;

	if (!at)
		return start;
	colon = memchr(start, ':', (size_t)(at - start));
	if (!colon || strcspn(start, "/?#@") < (size_t)(colon - start))
		return start;
	add(sp, url, colon + 1, at, true);
	return at + 1;
}

/* "?a=b&password=secret": each value whose key names a password. */
static void query(const char *url, const char *from, struct spans *sp)
{
	const char *p = strchr(from, '?');

	while (p && *p) {
		const char *key = p + 1, *eq, *end;

		end = key + strcspn(key, "&");
		eq = memchr(key, '=', (size_t)(end - key));
		if (eq && secret_key(key, (size_t)(eq - key), true))
			add(sp, url, eq + 1, end, true);
		p = *end ? end : NULL;
	}
}

/* The end of a conninfo value: 'quoted' or bare, backslash escaping either. */
static const char *value_end(const char *p)
{
	bool quoted = *p == '\'';

	for (p += quoted; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (quoted ? *p == '\'' : isspace((unsigned char)*p))
			return quoted ? p + 1 : p;
	}
	return p;
}

/* "host=x password = 'se cret'": libpq's keyword = value grammar. */
static void conninfo(const char *s, struct spans *sp)
{
	const char *p = s;

	while (*p) {
		const char *key, *value;
		size_t klen;

		while (isspace((unsigned char)*p))
			p++;
		key = p;
		while (*p && !isspace((unsigned char)*p) && *p != '=')
			p++;
		klen = (size_t)(p - key);
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '=') /* not conninfo (a SQLite path), or one libpq refuses */
			return;
		for (p++; isspace((unsigned char)*p);)
			p++;
		value = p;
		p = value_end(p);
		if (secret_key(key, klen, false))
			add(sp, s, value, p, false);
	}
}

static void find(const char *url, struct spans *sp)
{
	sp->n = 0;
	if (dburl_is_postgres(url))
		query(url, userinfo(url, sp), sp);
	else if (strchr(url, '='))
		conninfo(url, sp);
}

char *redact_url(const char *url)
{
	struct spans sp;
	size_t from = 0, o = 0;
	char *out;

	find(url, &sp);
	out = xmalloc(strlen(url) + sp.n * strlen(MASK) + 1);
	for (size_t i = 0; i < sp.n; i++) {
		memcpy(out + o, url + from, sp.s[i].at - from);
		o += sp.s[i].at - from;
		/* the final memcpy below copies url's terminator */
		memcpy(out + o, MASK, sizeof(MASK) - 1);
		o += sizeof(MASK) - 1;
		from = sp.s[i].at + sp.s[i].len;
	}
	memcpy(out + o, url + from, strlen(url + from) + 1);
	return out;
}

/* The length of the longest prefix of p that occurs somewhere in pw[0..n). */
static size_t longest_in(const char *p, const char *pw, size_t n)
{
	size_t best = 0;

	for (size_t i = 0; i < n; i++) {
		size_t k = 0;

		while (p[k] && i + k < n && p[k] == pw[i + k])
			k++;
		if (k > best)
			best = k;
	}
	return best;
}

/* Puts the mask over hit[0..run) of msg (size bytes); returns what follows it. */
static char *mask_at(char *msg, size_t size, char *hit, size_t run)
{
	size_t room = size - 1 - (size_t)(hit - msg), mask = strlen(MASK);
	size_t tail = strlen(hit + run);
	char *rest = xstrdup(hit + run);

	if (mask > room)
		mask = room;
	if (tail > room - mask)
		tail = room - mask;
	memcpy(hit, MASK, mask);
	memcpy(hit + mask, rest, tail);
	hit[mask + tail] = '\0';
	free(rest);
	return hit + mask;
}

/*
 * Masks every run of msg that occurs inside pw and is SCRUB_MIN_RUN long (or
 * all of pw): libpq quotes the piece of a URL it cannot parse, and that piece
 * may be the end of a password with an '@' or '/' in it.
 */
static void scrub(char *msg, size_t size, const char *pw)
{
	size_t n = strlen(pw), min = n < SCRUB_MIN_RUN ? n : SCRUB_MIN_RUN;
	char *p = msg;

	while (n && *p) {
		size_t run = longest_in(p, pw, n);

		p = run >= min ? mask_at(msg, size, p, run) : p + 1;
	}
}

void scrub_url_password(char *msg, size_t size, const char *url)
{
	struct spans sp;
	/* zeroed only for clang's analyzer, which loses track of the terminator decode writes */
	char raw[256], plain[256] = {0};

	if (size == 0)
		return;
	find(url, &sp);
	for (size_t i = 0; i < sp.n; i++) {
		if (sp.s[i].len >= sizeof(raw))
			continue;
		snprintf(raw, sizeof(raw), "%.*s", (int)sp.s[i].len, url + sp.s[i].at);
		decode(raw, strlen(raw), sp.s[i].uri, plain, sizeof(plain));
		scrub(msg, size, raw);
		if (strcmp(plain, raw) != 0)
			scrub(msg, size, plain);
	}
}
