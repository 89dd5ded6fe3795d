/*
 * idempotency.c - the Idempotency-Key of POST /decisions: the key's syntax,
 * the caller it belongs to and the fingerprint of the request it came with
 * (docs/api.md, Idempotency-Key).  Pure: decisions.c does the lookups.
 */
#include "base/base.h"
#include "service/idempotency.h"
#include "base/xalloc.h"

#include <stdlib.h>
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

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static json_object *canonical_copy(json_object *v);

/* json-c keeps an object's members in insertion order: insert them sorted. */
static json_object *sorted_object(json_object *v)
{
	size_t n = (size_t)json_object_object_length(v), i = 0;
	const char **keys = xcalloc(n + 1, sizeof(*keys));
	json_object *o = json_object_new_object();

	json_object_object_foreach(v, k, val)
	{
		(void)val;
		keys[i++] = k;
	}
	qsort(keys, i, sizeof(*keys), cmp_str);
	for (size_t j = 0; j < i; j++)
		json_object_object_add(o, keys[j],
				       canonical_copy(json_object_object_get(v, keys[j])));
	free(keys);
	return o;
}

/* A copy of v whose objects, at every depth, list their members in key order. */
static json_object *canonical_copy(json_object *v)
{
	json_object *o;

	if (json_object_is_type(v, json_type_object))
		return sorted_object(v);
	if (!json_object_is_type(v, json_type_array))
		return json_object_get(v); /* scalars are never changed, so shared */
	o = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(v); i++)
		json_object_array_add(o, canonical_copy(json_object_array_get_idx(v, i)));
	return o;
}

void service_json_sha256(json_object *v, char out[SHA256_HEX_LEN])
{
	json_object *c = canonical_copy(v);
	size_t len = 0;
	const char *s = json_object_to_json_string_length(
		c, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	sha256_hex(s, len, out);
	json_object_put(c);
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
	service_json_sha256(by, k->caller);
	json_object_put(by);
	service_json_sha256(req, k->request_sha256);
	return ST_OK;
}
