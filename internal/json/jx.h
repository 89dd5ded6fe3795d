/*
 * jx.h - json-c helpers: strict parsing with a depth cap and UTF-8
 * validation, typed field getters that name the field on error, and enum and
 * id checks shared by every endpoint.
 *
 * Strings returned by the getters are borrowed from their object.
 */
#ifndef CAVRA_JX_H
#define CAVRA_JX_H

#include "base/base.h"
#include "base/err.h"

#include <json-c/json.h>

#define JX_MAX_DEPTH 16
#define JX_ID_MAX    256

/*
 * Parses exactly one JSON value from data[0..len) (UTF-8 validated by
 * json-c, no lone surrogate escapes, no trailing bytes, nesting at most
 * max_depth).  *out is owned by the caller,
 * release with json_object_put.
 */
ATTR_NODISCARD enum status jx_parse(const char *data, size_t len, int max_depth, json_object **out,
				    struct err *e);

/*
 * Refuses a \uXXXX escape of a UTF-16 surrogate that is not a high one
 * followed by a low one: json-c would quietly turn it into U+FFFD, so the
 * stored text would not be what the client sent.  jx_parse calls it.
 */
ATTR_NODISCARD enum status jx_check_escapes(const char *data, size_t len, struct err *e);

/*
 * Refuses the text data[0..len) when obj, what json-c parsed from it, lost a member to a key
 * that appears twice in one object (json-c keeps the last value; other readers may keep the
 * first), or that has a key with an escaped NUL (json-c ends the key there).  The error names
 * what ("body") and a byte offset.  jx_parse calls it; parsers of their own (manifests) call
 * it after their parse.
 */
ATTR_NODISCARD enum status jx_check_unique_keys(const char *what, const char *data, size_t len,
						json_object *obj, int max_depth, struct err *e);

/*
 * The message of a jx_parse or jx_parse_object error without its subject, "body": "has a key
 * twice in one object (...)", "is not valid JSON: ... at byte N".  For callers that parse
 * something other than a request body and name it themselves ("token header").
 */
const char *jx_fault(const char *msg);

/*
 * Refuses a JSON text (one that parsed) holding a number that would not come back as sent from
 * either backend: above 2^64 - 1 or below -2^63 in any notation, or closer to zero than 1e-300
 * (zero aside).  The error names the member whose value it is, or the byte, and ends with
 * advice ("send a number like that as a string").  For request bodies and the files and rows
 * `ops import` and adoption read; stored payloads are read without it.
 */
ATTR_NODISCARD enum status jx_check_numbers(const char *data, size_t len, struct err *e);

/* The same, its error ending with the advice given. */
ATTR_NODISCARD enum status jx_check_numbers_for(const char *data, size_t len, const char *advice,
						struct err *e);

/* Parses and requires an object. */
ATTR_NODISCARD enum status jx_parse_object(const char *data, size_t len, json_object **out,
					   struct err *e);

/*
 * Reads field key of obj as a string.  Absent or null: *out = NULL, or
 * ST_INVALID when required.  Any other type: ST_INVALID naming the field.
 */
ATTR_NODISCARD enum status jx_str(json_object *obj, const char *key, bool required,
				  const char **out, struct err *e);
/*
 * Like jx_str for whole numbers within [min,max]; *present tells if given.
 * Numbers json-c had to clamp (past the int64 range) are out of range.
 */
ATTR_NODISCARD enum status jx_int(json_object *obj, const char *key, int64_t min, int64_t max,
				  int64_t *out, bool *present, struct err *e);

/* jx_str for an identifier field: when present it must pass jx_check_id. */
ATTR_NODISCARD enum status jx_id(json_object *obj, const char *key, bool required, const char **out,
				 struct err *e);

/* An identifier: 1..256 bytes, no control characters. */
ATTR_NODISCARD enum status jx_check_id(const char *field, const char *value, struct err *e);
/* value must be one of the NULL-terminated allowed list; the error lists them. */
ATTR_NODISCARD enum status jx_check_enum(const char *field, const char *value,
					 const char *const *allowed, struct err *e);

/* Adds key: s (or null when s is NULL).  Takes nothing; copies s. */
void jx_add_str(json_object *obj, const char *key, const char *s);
void jx_add_int(json_object *obj, const char *key, int64_t v);

/*
 * o as compact JSON text ('/' not escaped), the form stored as a payload.
 * Takes o (json_object_put); the text is the caller's (free()).
 */
char *jx_take_text(json_object *o);

/* A borrowed string member, or NULL when absent or not a string. */
const char *jx_get_str(json_object *obj, const char *key);
/* jx_get_str, or dflt (borrowed) when that is NULL: for text that shows a placeholder. */
const char *jx_get_str_or(json_object *obj, const char *key, const char *dflt);

/* Adds key: us as the canonical UTC text of base/timeutil.h. */
void jx_add_time(json_object *obj, const char *key, int64_t us);
/*
 * Adds key: a stored time (PostgreSQL's form or ours) in the canonical form.
 * NULL becomes null; text that is not a time is added as it is.
 */
void jx_add_time_text(json_object *obj, const char *key, const char *stored);

#endif
