/*
 * paging.c - limit / offset / cursor and the list envelope.
 *
 * A cursor is base64url("2|<sort key>|<sort time>|<id>") of the last row of a
 * page; the next page starts after that row, so deep pages cost what the first
 * does.  The version and the sort key let a list refuse a cursor that marks a
 * position in another order (an earlier release's, or another list's).
 */
#include "base/base.h"
#include "service/paging.h"
#include "base/timeutil.h"
#include "base/utf8.h"
#include "base/num.h"
#include "base/xalloc.h"
#include "json/jx.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/*
 * Offsets are kept for simple clients, but capped: a huge offset makes the database walk that
 * many rows.  Cursors are the way to page deep.
 */
#define OFFSET_MAX 1000000000LL

/*
 * Version 1 cursors were "<time>|<id>" with no tag; the records lists and sessions sorted by
 * updated_at then, so such a time is no position in today's order.
 */
#define CURSOR_VERSION "2"

#define CURSOR_BAD "parameter 'cursor' is not a cursor from this API"
#define CURSOR_STALE                                                                            \
	"parameter 'cursor' marks a place in another order (an earlier version of this API or " \
	"another list); start again from the first page, without 'cursor'"

/*
 * The id breaks ties between rows of the same time, so no row is skipped or repeated across
 * pages however many share a timestamp.  base64url without padding keeps the cursor safe to
 * put in a query string as is; it is opaque to clients, not secret.
 */
char *service_paging_cursor(const char *key, const char *ts, const char *id)
{
	char *raw = xasprintf(CURSOR_VERSION "|%s|%s|%s", key, ts, id);
	size_t n = strlen(raw);
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);
	int len = EVP_EncodeBlock((unsigned char *)out, (unsigned char *)raw, (int)n);

	for (int i = 0; i < len; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	free(raw);
	return out;
}

/*
 * base64url without padding, decoded into a NUL-terminated string; caller frees.  NULL when it
 * is not base64 or holds a NUL, which would cut the id short: no cursor made here has one.
 */
static char *b64url_decode(const char *c, size_t n)
{
	size_t pad = (4 - n % 4) % 4;
	char *b64 = xmalloc(n + pad + 1), *raw;
	int len;

	for (size_t i = 0; i < n; i++)
		b64[i] = (char)(c[i] == '-' ? '+' : c[i] == '_' ? '/' : c[i]);
	memset(b64 + n, '=', pad);
	raw = xcalloc(n + pad + 1, 1);
	/* EVP_DecodeBlock counts the padding's bytes too */
	len = EVP_DecodeBlock((unsigned char *)raw, (unsigned char *)b64, (int)(n + pad));
	free(b64);
	if (len < (int)pad || memchr(raw, '\0', (size_t)len - pad) != NULL) {
		free(raw);
		return NULL;
	}
	return raw;
}

/*
 * "<time>|..." is a version 1 cursor, from before the tag: refused with the advice to start
 * again, as is a cursor of another sort key, rather than read as a position it is not.
 */
static enum status cursor_fields(char *raw, const char *key, struct paging *p, struct err *e)
{
	char *tag = strchr(raw, '|'), *ts, *id, canon[TIME_FMT_LEN];
	int64_t us;

	if (!tag)
		return err_set(e, ST_INVALID, CURSOR_BAD);
	*tag++ = '\0';
	if (time_parse(raw, &us))
		return err_set(e, ST_INVALID, CURSOR_STALE);
	ts = strchr(tag, '|');
	id = ts ? strchr(ts + 1, '|') : NULL;
	if (strcmp(raw, CURSOR_VERSION) != 0 || !id)
		return err_set(e, ST_INVALID, CURSOR_BAD);
	*ts++ = '\0';
	*id++ = '\0';
	/* the id's bytes go to SQL as text: PostgreSQL refuses (500) what is not UTF-8 */
	if (!time_parse(ts, &us) || jx_check_id("cursor", id, NULL) != ST_OK ||
	    !utf8_valid(id, strlen(id), NULL))
		return err_set(e, ST_INVALID, CURSOR_BAD);
	if (strcmp(tag, key) != 0)
		return err_set(e, ST_INVALID, CURSOR_STALE);
	/* the time as the server wrote it (UTC), whatever offset a forged cursor gave it */
	time_format_utc(us, canon, sizeof(canon));
	p->after_ts = xstrdup(canon);
	p->after_id = xstrdup(id);
	return ST_OK;
}

/*
 * A cursor comes back from the client, so it is checked as strictly as any input: alphabet and
 * length first, then the version, the sort key, the decoded time and id, which go into SQL
 * parameters.  A malformed cursor gets one message, since a client can do nothing with more
 * detail; a well-formed one of another order gets the advice to start again.
 */
static enum status cursor_decode(const char *c, const char *key, struct paging *p, struct err *e)
{
	size_t n = strlen(c);
	enum status st;
	char *raw;

	if (n == 0 || n > 1024 ||
	    strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789-_") != n)
		return err_set(e, ST_INVALID, CURSOR_BAD);
	raw = b64url_decode(c, n);
	if (!raw)
		return err_set(e, ST_INVALID, CURSOR_BAD);
	st = cursor_fields(raw, key, p, e);
	free(raw);
	return st;
}

/*
 * The default count stops one row past PAGING_TOTAL_BOUND, so that a page costs the same on a
 * large table as on a small one; count=exact counts every match (slow on large tables) and
 * count=none skips the count.
 */
static enum status count_mode(const char *count, struct paging *p, struct err *e)
{
	p->count = true;
	p->count_bound = PAGING_TOTAL_BOUND;
	if (!count || strcmp(count, "bounded") == 0)
		return ST_OK;
	if (strcmp(count, "exact") == 0)
		p->count_bound = 0;
	else if (strcmp(count, "none") == 0)
		p->count = false;
	else
		return err_set(e, ST_INVALID,
			       "parameter 'count': '%.32s' is not one of bounded (the default), "
			       "exact, none",
			       count);
	return ST_OK;
}

enum status service_paging_parse(service_arg_fn arg, void *ctx, const char *key, struct paging *p,
				 struct err *e)
{
	const char *limit = arg(ctx, "limit"), *offset = arg(ctx, "offset");
	const char *cursor = arg(ctx, "cursor");
	int64_t v;

	memset(p, 0, sizeof(*p));
	p->limit = SERVICE_LIMIT_DEFAULT;
	if (count_mode(arg(ctx, "count"), p, e) != ST_OK)
		return ST_INVALID;
	if (limit) {
		if (!str_to_i64(limit, 1, SERVICE_LIMIT_MAX, &v))
			return err_set(e, ST_INVALID,
				       "parameter 'limit' must be a whole number from 1 to %d",
				       SERVICE_LIMIT_MAX);
		p->limit = (int)v;
	}
	if (offset) {
		if (!str_to_i64(offset, 0, OFFSET_MAX, &v))
			return err_set(e, ST_INVALID,
				       "parameter 'offset' must be a whole number from 0 to %lld",
				       OFFSET_MAX);
		p->offset = v;
	}
	if (cursor)
		return cursor_decode(cursor, key, p, e);
	return ST_OK;
}

void service_paging_release(struct paging *p)
{
	if (!p)
		return;
	free(p->after_ts);
	free(p->after_id);
	memset(p, 0, sizeof(*p));
}

/*
 * The envelope is assembled as text around records that are already JSON text (stored
 * payloads), so that a page is never parsed and re-serialised just to be wrapped.
 */
void service_envelope_open(struct buf *b)
{
	/*
	 * The envelope is built from rows already in memory, under a cap far above any page;
	 * running into it would be a bug, not bad input, so the x-appenders abort like xmalloc.
	 */
	buf_init(b, (size_t)256 << 20);
	buf_xadds(b, "{\"items\":[");
}

void service_envelope_item(struct buf *b, size_t i, const char *json)
{
	if (i > 0)
		buf_xadds(b, ",");
	buf_xadds(b, json);
}

/*
 * With a cursor the offset was not used, so the envelope reports 0 rather than echo it.  A
 * bounded count returns at most bound + 1; more than the bound is reported as the bound, "gte".
 */
void service_envelope_close(struct buf *b, int64_t total, const struct paging *p, const char *next)
{
	if (total < 0)
		buf_xadds(b, "],\"total\":null,\"total_relation\":null");
	else if (p->count_bound > 0 && total > p->count_bound)
		buf_xaddf(b, "],\"total\":%lld,\"total_relation\":\"gte\"",
			  (long long)p->count_bound);
	else
		buf_xaddf(b, "],\"total\":%lld,\"total_relation\":\"eq\"", (long long)total);
	buf_xaddf(b, ",\"limit\":%d,\"offset\":%lld,\"next_cursor\":", p->limit,
		  (long long)(p->after_ts ? 0 : p->offset));
	if (next)
		buf_xaddf(b, "\"%s\"", next);
	else
		buf_xadds(b, "null");
	if (p->withheld > 0)
		buf_xaddf(b, ",\"withheld\":%lld", (long long)p->withheld);
	buf_xadds(b, "}");
}

enum status service_arg_time(service_arg_fn arg, void *ctx, const char *name, char **out,
			     struct err *e)
{
	const char *v = arg(ctx, name);
	char canon[TIME_FMT_LEN];
	int64_t us;

	*out = NULL;
	if (!v)
		return ST_OK;
	if (!time_parse(v, &us))
		return err_set(e, ST_INVALID,
			       "parameter '%s' must be an RFC 3339 time like 2026-01-02T03:04:05Z",
			       name);
	time_format_utc(us, canon, sizeof(canon));
	*out = xstrdup(canon);
	return ST_OK;
}

enum status service_arg_enum(service_arg_fn arg, void *ctx, const char *name,
			     const char *const *allowed, const char **out, struct err *e)
{
	struct err why = {0};

	*out = arg(ctx, name);
	if (!*out || jx_check_enum(name, *out, allowed, &why) == ST_OK)
		return ST_OK;
	/* "field 'x': ..." becomes "parameter 'x': ..." */
	return err_set(e, ST_INVALID, "parameter %s", why.msg + strlen("field "));
}

enum status service_arg_id(service_arg_fn arg, void *ctx, const char *name, const char **out,
			   struct err *e)
{
	*out = arg(ctx, name);
	if (*out && jx_check_id(name, *out, e) != ST_OK)
		return err_set(e, ST_INVALID,
			       "parameter '%s' must be 1 to %d bytes without "
			       "control characters",
			       name, JX_ID_MAX);
	return ST_OK;
}

enum status service_arg_fields(service_arg_fn arg, void *ctx, const struct arg_field *f, size_t n,
			       void *out, struct err *e)
{
	enum status st = ST_OK;

	for (size_t i = 0; st == ST_OK && i < n; i++) {
		const char **dst = (const char **)(void *)((char *)out + f[i].off);

		st = f[i].values ? service_arg_enum(arg, ctx, f[i].name, f[i].values, dst, e)
				 : service_arg_id(arg, ctx, f[i].name, dst, e);
	}
	return st;
}
