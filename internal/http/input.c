/*
 * input.c - the request bytes every handler may rely on: the path, the query
 * parameters and the body must be strict UTF-8.  Overlong forms and
 * surrogates would be stored by SQLite, refused by PostgreSQL, and break
 * every later backup of the database.
 */
#include "base/base.h"
#include "http/http_int.h"
#include "base/utf8.h"

#include <string.h>

/* More than any route takes: a longer query is refused rather than searched for repeats. */
#define QUERY_MAX_PARAMS 64

struct query_check {
	struct err *e;
	bool bad;
	size_t n;
	const char *seen[QUERY_MAX_PARAMS];
	size_t seen_len[QUERY_MAX_PARAMS];
};

/*
 * A name given twice ("?agent_id=a&agent_id=b") would be read as its first value by the
 * handler while a proxy, a log or the person who wrote the link may take the other: refused
 * rather than guessed.  Names are compared as sent, after percent-decoding.
 */
static bool repeated_arg(struct query_check *qc, const char *key, size_t key_size)
{
	if (qc->n == QUERY_MAX_PARAMS) {
		err_set(qc->e, ST_INVALID, "more than %d query parameters", QUERY_MAX_PARAMS);
		return true;
	}
	for (size_t i = 0; i < qc->n; i++) {
		if (qc->seen_len[i] == key_size && memcmp(qc->seen[i], key, key_size) == 0) {
			err_set(qc->e, ST_INVALID,
				"query parameter '%.64s' is given more than once", key);
			return true;
		}
	}
	qc->seen[qc->n] = key;
	qc->seen_len[qc->n++] = key_size;
	return false;
}

/*
 * The _n variant of MHD's iterator gives lengths, so a value is checked whole.  A %00 arrives
 * here as the byte 0xFF (server.c's unescape), which is never UTF-8: refused like any other.
 */
static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				 size_t key_size, const char *value, size_t value_size)
{
	struct query_check *qc = cls;

	UNUSED(kind);
	if (!utf8_valid(key, key_size, NULL)) {
		err_set(qc->e, ST_INVALID,
			"a query parameter name is not valid UTF-8 (or holds %%00)");
	} else if (value && !utf8_valid(value, value_size, NULL)) {
		/* key is valid UTF-8 here, so it can be named in the reply */
		err_set(qc->e, ST_INVALID,
			"query parameter '%.64s' is not valid UTF-8 (or holds %%00)", key);
	} else if (!repeated_arg(qc, key, key_size)) {
		return MHD_YES;
	}
	qc->bad = true;
	return MHD_NO;
}

/*
 * Runs once the body is in, before the handler, so no handler or store function ever sees
 * bytes that are not UTF-8 and none of them has to check again.  The body is checked as a
 * whole even when it is not JSON, since every body this API takes is text.
 */
bool http_input_ok_or_reply(struct req *r, enum MHD_Result *ret)
{
	struct err e = {0};
	struct query_check qc = {.e = &e};
	size_t at = 0;

	if (!utf8_valid(r->path, strlen(r->path), NULL))
		err_set(&e, ST_INVALID, "the path is not valid UTF-8 (or holds %%00)");
	else
		MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, check_arg, &qc);
	if (!e.code && !utf8_valid(r->body.data, r->body.len, &at))
		err_set(&e, ST_INVALID, "body is not valid UTF-8 at byte %zu", at);
	if (!e.code)
		return true;
	*ret = http_reply_err(r, e.code, &e);
	return false;
}
