/*
 * idempotency.c - the Idempotency-Key of POST /decisions: the key's syntax,
 * the caller it belongs to and the fingerprint of the request it came with
 * (docs/api.md, Idempotency-Key).  Pure: decisions.c does the lookups.
 */
#include "base/base.h"
#include "service/idempotency.h"
#include "json/jx_canon.h"

#include <string.h>

/*
 * Visible ASCII without '"' and '\': a key never needs an escape, is safe in a
 * log line and in a URL, and reads the same quoted or bare.
 */
static bool key_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != '\\';
}

enum status service_idempotency_key_parse(const char *value, char *out, struct err *e)
{
	size_t len = strlen(value);

	while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
		len--;
	while (len > 0 && (*value == ' ' || *value == '\t')) {
		value++;
		len--;
	}
	if (len > 0 && value[0] == '"') {
		if (len < 2 || value[len - 1] != '"')
			return err_set(e, ST_INVALID,
				       "header 'Idempotency-Key': unterminated string");
		value++;
		len -= 2;
	}
	if (len == 0 || len > IDEMPOTENCY_KEY_MAX)
		return err_set(e, ST_INVALID,
			       "header 'Idempotency-Key' must have 1 to %d characters",
			       IDEMPOTENCY_KEY_MAX);
	for (size_t i = 0; i < len; i++)
		if (!key_char((unsigned char)value[i]))
			return err_set(e, ST_INVALID,
				       "header 'Idempotency-Key' may hold only visible ASCII "
				       "characters other than '\"' and '\\'");
	memcpy(out, value, len);
	out[len] = '\0';
	return ST_OK;
}

/*
 * The caller is the SHA-256 of its canonical recorded_by object: unambiguous
 * whatever an issuer or subject contains, and of a fixed size however long
 * they are, so the unique index never meets an entry too large for it.  Who
 * it was stays readable in the decision's own recorded_by.
 */
enum status service_idempotency_init(struct idempotency *k, const char *value,
				     const struct caller *who, json_object *req, struct err *e)
{
	json_object *by;
	enum status st;

	memset(k, 0, sizeof(*k));
	if (!value)
		return ST_OK;
	st = service_idempotency_key_parse(value, k->key, e);
	if (st != ST_OK)
		return st;
	by = service_recorded_by(who);
	st = jx_canon_sha256(by, k->caller, e);
	json_object_put(by);
	return st == ST_OK ? jx_canon_sha256(req, k->request_sha256, e) : st;
}
