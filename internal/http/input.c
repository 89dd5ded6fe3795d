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

struct query_check {
	struct err *e;
	bool bad;
};

/*
 * The _n variant of MHD's iterator gives lengths, so a value with an embedded NUL (%00) is
 * checked whole instead of being cut short at the NUL and passed as valid.
 */
static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				 size_t key_size, const char *value, size_t value_size)
{
	struct query_check *qc = cls;

	UNUSED(kind);
	if (!utf8_valid(key, key_size, NULL)) {
		err_set(qc->e, ST_INVALID, "a query parameter name is not valid UTF-8");
	} else if (value && !utf8_valid(value, value_size, NULL)) {
		/* key is valid UTF-8 here, so it can be named in the reply */
		err_set(qc->e, ST_INVALID, "query parameter '%.64s' is not valid UTF-8", key);
	} else {
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
	struct query_check qc = {&e, false};
	size_t at = 0;

	if (!utf8_valid(r->path, strlen(r->path), NULL))
		err_set(&e, ST_INVALID, "the path is not valid UTF-8");
	else
		MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, check_arg, &qc);
	if (!e.code && !utf8_valid(r->body.data, r->body.len, &at))
		err_set(&e, ST_INVALID, "body is not valid UTF-8 at byte %zu", at);
	if (!e.code)
		return true;
	*ret = http_reply_err(r, e.code, &e);
	return false;
}
