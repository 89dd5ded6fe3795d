#include "base/base.h"
#include "json/jx.h"
#include "base/buf.h"
#include "base/num.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <string.h>

enum status jx_check_escapes(const char *data, size_t len, struct err *e)
{
	const char *p = data, *end = data + len;

	/* a backslash is only valid JSON inside a string, so no string tracking is needed */
	while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL && end - p >= 2) {
		int hi = -1, lo = -1;

		if (p[1] != 'u' || end - p < 6 || (hi = hex4_value(p + 2)) < 0xd800 ||
		    hi > 0xdfff) {
			p += 2;
			continue;
		}
		if (hi <= 0xdbff && end - p >= 12 && p[6] == '\\' && p[7] == 'u')
			lo = hex4_value(p + 8);
		if (lo < 0xdc00 || lo > 0xdfff)
			return err_set(
				e, ST_INVALID,
				"body has a \\u escape of a lone UTF-16 surrogate at byte %zu",
				(size_t)(p - data));
		p += 12;
	}
	return ST_OK;
}

enum status jx_parse(const char *data, size_t len, int max_depth, json_object **out, struct err *e)
{
	struct json_tokener *tok = json_tokener_new_ex(max_depth);
	enum json_tokener_error jerr;
	json_object *obj;

	*out = NULL;
	if (!tok)
		return err_set(e, ST_INTERNAL, "json: out of memory");
	if (jx_check_escapes(data, len, e) != ST_OK) {
		json_tokener_free(tok);
		return ST_INVALID;
	}
	if (len > INT32_MAX)
		len = INT32_MAX;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, data, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue)
		jerr = json_tokener_error_parse_eof;
	if (jerr == json_tokener_success && json_tokener_get_parse_end(tok) < len) {
		json_object_put(obj);
		obj = NULL;
		jerr = json_tokener_error_parse_unexpected;
	}
	if (!obj && jerr == json_tokener_success)
		jerr = json_tokener_error_parse_null;
	if (jerr != json_tokener_success) {
		enum status st =
			err_set(e, ST_INVALID, "body is not valid JSON: %s at byte %zu",
				json_tokener_error_desc(jerr), json_tokener_get_parse_end(tok));
		json_object_put(obj);
		json_tokener_free(tok);
		return st;
	}
	json_tokener_free(tok);
	*out = obj;
	return ST_OK;
}

enum status jx_parse_object(const char *data, size_t len, json_object **out, struct err *e)
{
	enum status st = jx_parse(data, len, JX_MAX_DEPTH, out, e);

	if (st != ST_OK)
		return st;
	if (!json_object_is_type(*out, json_type_object)) {
		json_object_put(*out);
		*out = NULL;
		return err_set(e, ST_INVALID, "body must be a JSON object");
	}
	return ST_OK;
}

enum status jx_str(json_object *obj, const char *key, bool required, const char **out,
		   struct err *e)
{
	json_object *v = NULL;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || !v) {
		if (required)
			return err_set(e, ST_INVALID, "field '%s' is required", key);
		return ST_OK;
	}
	if (!json_object_is_type(v, json_type_string))
		return err_set(e, ST_INVALID, "field '%s' must be a string", key);
	*out = json_object_get_string(v);
	/* "\u0000" would cut the C string short after every check below */
	if (strlen(*out) != (size_t)json_object_get_string_len(v)) {
		*out = NULL;
		return err_set(e, ST_INVALID, "field '%s' contains a NUL character", key);
	}
	if (required && !**out)
		return err_set(e, ST_INVALID, "field '%s' must not be empty", key);
	return ST_OK;
}

enum status jx_int(json_object *obj, const char *key, int64_t min, int64_t max, int64_t *out,
		   bool *present, struct err *e)
{
	json_object *v = NULL;
	int64_t n;

	*present = false;
	if (!json_object_object_get_ex(obj, key, &v) || !v)
		return ST_OK;
	if (!json_object_is_type(v, json_type_int))
		return err_set(e, ST_INVALID, "field '%s' must be a whole number", key);
	n = json_object_get_int64(v);
	/*
	 * json-c clamps what does not fit: past INT64_MAX it keeps a uint64
	 * that get_int64 turns into INT64_MAX, below INT64_MIN it keeps
	 * INT64_MIN.  Both are out of range, or the stored payload and the
	 * column would disagree.
	 */
	if (n < min || n > max || n == INT64_MIN ||
	    (n == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX))
		return err_set(e, ST_INVALID, "field '%s' must be from %lld to %lld", key,
			       (long long)min, (long long)max);
	*out = n;
	*present = true;
	return ST_OK;
}

enum status jx_id(json_object *obj, const char *key, bool required, const char **out, struct err *e)
{
	enum status st = jx_str(obj, key, required, out, e);

	if (st == ST_OK && *out)
		st = jx_check_id(key, *out, e);
	return st;
}

enum status jx_check_id(const char *field, const char *value, struct err *e)
{
	size_t n = strlen(value);

	if (n == 0)
		return err_set(e, ST_INVALID, "field '%s' must not be empty", field);
	if (n > JX_ID_MAX)
		return err_set(e, ST_INVALID, "field '%s' is longer than %d bytes", field,
			       JX_ID_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
			return err_set(e, ST_INVALID, "field '%s' contains a control character",
				       field);
	return ST_OK;
}

enum status jx_check_enum(const char *field, const char *value, const char *const *allowed,
			  struct err *e)
{
	char list[256];
	size_t used = 0;

	for (size_t i = 0; allowed[i]; i++)
		if (strcmp(value, allowed[i]) == 0)
			return ST_OK;
	list[0] = '\0';
	for (size_t i = 0; allowed[i] && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
					 allowed[i]);
	return err_set(e, ST_INVALID, "field '%s': '%.64s' is not one of %s", field, value, list);
}

void jx_add_str(json_object *obj, const char *key, const char *s)
{
	json_object_object_add(obj, key, s ? json_object_new_string(s) : NULL);
}

void jx_add_int(json_object *obj, const char *key, int64_t v)
{
	json_object_object_add(obj, key, json_object_new_int64(v));
}

const char *jx_get_str(json_object *obj, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

char *jx_take_text(json_object *o)
{
	char *s = xstrdup(json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));

	json_object_put(o);
	return s;
}
