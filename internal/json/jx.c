/*
 * jx.c - the one way cavra reads JSON from outside and builds JSON to send.  Request bodies,
 * imported records and IdP documents are parsed here with strict settings (depth cap, strict
 * UTF-8, no trailing bytes, no lone surrogate escapes), and fields are read with one error
 * wording ("field 'x' must be ...") that docs/api.md shows and clients match on.  Anything
 * accepted here may end up stored; PostgreSQL refuses what SQLite would keep, so both backends
 * only ever see input that either would take.  YAML is turned into json-c objects by
 * jx_yaml.c, so that YAML files go through these same checks.
 */
#include "base/base.h"
#include "json/jx.h"
#include "base/utf8.h"
#include "json/jx_canon.h"
#include "base/buf.h"
#include "base/num.h"
#include "base/timeutil.h"
#include "base/str.h"
#include "base/files.h"
#include "base/hash.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <string.h>

/*
 * A fractional or exponent number as PostgreSQL's jsonb gives it back (jx_canon_number): json-c
 * keeps a parsed double's text as written ("1e2"), so SQLite would store and return what
 * PostgreSQL stores as 100.  Rewriting the text once, where JSON comes in, makes the two
 * backends, the reply to a write and a later read agree; the value is the same number.
 */
static void numbers_as_postgres(json_object *o, int depth)
{
	if (depth > JX_CANON_DEPTH)
		return;
	switch (json_object_get_type(o)) {
	case json_type_object: {
		json_object_object_foreach(o, key, val)
		{
			(void)key;
			numbers_as_postgres(val, depth + 1);
		}
		return;
	}
	case json_type_array:
		for (size_t i = 0, n = json_object_array_length(o); i < n; i++)
			numbers_as_postgres(json_object_array_get_idx(o, i), depth + 1);
		return;
	case json_type_double: {
		const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		struct buf b = BUF_INIT;

		if (jx_canon_number(&b, text, strlen(text), NULL) == ST_OK &&
		    strcmp(b.data, text) != 0)
			json_object_set_serializer(o, json_object_userdata_to_json_string,
						   buf_detach(&b, NULL), json_object_free_userdata);
		buf_release(&b);
		return;
	}
	default:
		return;
	}
}

/*
 * json-c decodes "\ud800" into bytes that are not UTF-8 (CESU-8) and stores them without
 * complaint; PostgreSQL's jsonb refuses them.  Only escaped surrogates need this scan:
 * JSON_TOKENER_VALIDATE_UTF8 already rejects raw bytes that are not UTF-8.
 */
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

/*
 * Where a string that starts at p[i] (its opening quote) ends: the index of its closing quote,
 * or len when the text ends first (never past it, even after a final backslash).
 */
static size_t string_end(const char *p, size_t len, size_t i)
{
	for (i++; i < len && p[i] != '"'; i++)
		if (p[i] == '\\')
			i++;
	return i < len ? i : len;
}

/* Members of every object in a text that parsed strictly: a ':' outside a string is one. */
static size_t text_members(const char *p, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == '"')
			i = string_end(p, len, i);
		else if (p[i] == ':')
			n++;
	}
	return n;
}

/* Each object's member count in a parsed value, in the order of the objects' '{'. */
struct obj_counts {
	size_t *v, n, cap;
};

/*
 * Members of every object in a parsed value; with c, each object's count too.  Recursion is
 * bounded by the parse's depth cap.
 */
static size_t tree_members(json_object *o, struct obj_counts *c)
{
	size_t n = 0;

	if (json_object_is_type(o, json_type_object)) {
		if (c && c->n == c->cap) {
			c->cap = c->cap ? 2 * c->cap : 16;
			c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
		}
		if (c)
			c->v[c->n++] = (size_t)json_object_object_length(o);
		json_object_object_foreach(o, k, v)
		{
			(void)k;
			n += 1 + tree_members(v, c);
		}
	} else if (json_object_is_type(o, json_type_array)) {
		size_t len = json_object_array_length(o);

		for (size_t i = 0; i < len; i++)
			n += tree_members(json_object_array_get_idx(o, i), c);
	}
	return n;
}

/*
 * The byte offset of the '{' of the first object (in text order) that holds a key twice; only
 * run once the counts differ.  Every object before it is parsed as written, so it is the first
 * whose members in the text outnumber its parsed ones (objects after it may be numbered
 * differently, as a dropped value can hold objects).  Linear, with no key decoded.
 */
static size_t repeated_key_object_at(const char *p, size_t len, json_object *obj, int max_depth)
{
	struct open_obj {
		size_t index, members, at;
	} *stack = xcalloc((size_t)max_depth + 1, sizeof(*stack));
	struct obj_counts parsed = {0};
	size_t next = 0, first = SIZE_MAX, at = 0;
	int top = -1;

	(void)tree_members(obj, &parsed);
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '"') {
			i = string_end(p, len, i);
		} else if (p[i] == ':' && top >= 0) {
			stack[top].members++;
		} else if (p[i] == '{' && top < max_depth) {
			stack[++top] = (struct open_obj){next++, 0, i};
		} else if (p[i] == '}' && top >= 0) {
			const struct open_obj *o = &stack[top--];

			if (o->index < first &&
			    (o->index >= parsed.n || o->members != parsed.v[o->index])) {
				first = o->index;
				at = o->at;
			}
		}
	}
	free(parsed.v);
	free(stack);
	return at;
}

static bool is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The first non-space byte at or after i, or len. */
static size_t skip_space(const char *p, size_t len, size_t i)
{
	while (i < len && is_json_space(p[i]))
		i++;
	return i;
}

/* The ':' after the string that ends at p[end], when that string is a member's key; else SIZE_MAX.
 */
static size_t key_colon(const char *p, size_t len, size_t end)
{
	size_t j = skip_space(p, len, end + 1);

	return j < len && p[j] == ':' ? j : SIZE_MAX;
}

/* Whether the string between the quotes p[open] and p[close] holds the escape \u0000. */
static bool string_has_nul(const char *p, size_t open, size_t close)
{
	for (size_t i = open + 1; i < close; i++) {
		if (p[i] != '\\')
			continue;
		if (close - i > 5 && p[i + 1] == 'u' && memcmp(p + i + 2, "0000", 4) == 0)
			return true;
		i++; /* the escaped character */
	}
	return false;
}

/*
 * json-c ends an object's key at an escaped NUL: {"target\u0000x": 1} is read as "target",
 * where any other reader sees another key (and no "target").  Such a key is refused; a value
 * keeps its length in json-c, and the field checks refuse a NUL there.  Only a text that has
 * "\u0000" somewhere is scanned.
 */
static enum status check_key_nul(const char *what, const char *p, size_t len, struct err *e)
{
	if (!memmem(p, len, "\\u0000", 6))
		return ST_OK;
	for (size_t i = 0; i < len; i++) {
		size_t s = i;

		if (p[i] != '"')
			continue;
		i = string_end(p, len, i);
		if (key_colon(p, len, i) != SIZE_MAX && string_has_nul(p, s, i))
			return err_set(e, ST_INVALID,
				       "%s has a key with a NUL character (\\u0000) at byte %zu",
				       what, s);
	}
	return ST_OK;
}

/*
 * json-c keeps the last of two equal keys in one object and drops the other without a word; a
 * harness, an approver's tool or a JWT library reading the same text may keep the first, so the
 * text would mean one thing to cavra and another to them.  Such a text is refused.  Equal means
 * equal once escapes are decoded ("a" and "\u0061"), which json-c has done: each member of the
 * text missing from the parsed objects was dropped as a repeat, so counting both sides finds
 * one.
 */
enum status jx_check_unique_keys(const char *what, const char *data, size_t len, json_object *obj,
				 int max_depth, struct err *e)
{
	if (check_key_nul(what, data, len, e) != ST_OK)
		return ST_INVALID;
	if (text_members(data, len) == tree_members(obj, NULL))
		return ST_OK;
	return err_set(e, ST_INVALID, "%s has a key twice in one object (the object at byte %zu)",
		       what, repeated_key_object_at(data, len, obj, max_depth));
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * A number of a JSON text, as its significant digits (from the first non-zero one, trailing
 * zeros dropped) and its order k: the value is 0.d1d2... x 10^k.  Zero has no digits.
 */
struct num_shape {
	char digits[24]; /* the first significant digits: enough to compare with 2^64 */
	size_t ndigits; /* all of them, possibly more than fit in digits */
	int64_t order;
	int64_t exp; /* the written exponent's magnitude (saturates past 1,000,000) */
	size_t end; /* the index just past the number */
};

/* Reads the well-formed number at p[i] (after its '-'). */
static struct num_shape num_shape(const char *p, size_t len, size_t i)
{
	struct num_shape n = {.order = 0};
	int64_t exp = 0, int_len = 0, lead = 0;
	size_t sig = 0;
	bool seen = false, in_frac = false, neg_exp = false;

	for (; i < len && (is_digit(p[i]) || p[i] == '.'); i++) {
		if (p[i] == '.') {
			in_frac = true;
			continue;
		}
		int_len += !in_frac;
		if (!seen && p[i] == '0') {
			lead++;
			continue;
		}
		seen = true;
		if (n.ndigits < sizeof(n.digits))
			n.digits[n.ndigits] = p[i];
		n.ndigits++;
		if (p[i] != '0')
			sig = n.ndigits;
	}
	if (i < len && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		neg_exp = i < len && p[i] == '-';
		i += i < len && (p[i] == '-' || p[i] == '+');
		for (; i < len && is_digit(p[i]); i++)
			exp = exp < 1000000 ? exp * 10 + (p[i] - '0')
					    : exp; /* far past any limit */
	}
	n.end = i;
	n.exp = exp;
	n.ndigits = sig; /* trailing zeros dropped */
	n.order = int_len - lead + (neg_exp ? -exp : exp);
	return n;
}

/* Whether |value| exceeds the integer limit (its decimal digits). */
static bool beyond(const struct num_shape *n, const char *limit)
{
	size_t ln = strlen(limit), k = n->ndigits < ln ? n->ndigits : ln;
	int cmp;

	if (n->order != (int64_t)ln)
		return n->order > (int64_t)ln;
	cmp = memcmp(n->digits, limit, k);
	return cmp > 0 || (cmp == 0 && n->ndigits > ln);
}

/* The refusal of the number at p[at]; key (klen bytes, or NULL) is the member it is the value of.
 */
enum number_fault { NUM_OK, NUM_BEYOND, NUM_TINY, NUM_LONG };

static enum status bad_number(const char *key, size_t klen, size_t at, enum number_fault f,
			      const char *advice, struct err *e)
{
	const char *why = f == NUM_TINY	    ? "closer to zero than 1e-300"
			  : f == NUM_BEYOND ? "beyond the 64-bit integer range"
					    : "written with more than 1000 characters or an "
					      "exponent beyond 1000";

	if (key && klen <= 64 && !memchr(key, '\\', klen))
		return err_set(e, ST_INVALID, "field '%.*s' is a number %s (at byte %zu): %s",
			       (int)klen, key, why, at, advice);
	return err_set(e, ST_INVALID, "body has a number %s at byte %zu: %s", why, at, advice);
}

/* What is wrong with the number n, negative or not, written with len characters. */
static enum number_fault number_fault(const struct num_shape *n, bool neg, size_t len)
{
	if (n->ndigits && beyond(n, neg ? "9223372036854775808" : "18446744073709551615"))
		return NUM_BEYOND;
	if (n->ndigits && n->order < -299)
		return NUM_TINY;
	return len > 1000 || n->exp > 1000 ? NUM_LONG : NUM_OK;
}

/*
 * Numbers must survive being stored and read back on both backends.  json-c reads an integer
 * beyond 64 bits as the nearest one that fits, without a word (123456789012345678901234567890
 * becomes 18446744073709551615); PostgreSQL's jsonb writes 1e20 back as
 * 100000000000000000000, which json-c then clamps the same way, and refuses 1e-20000
 * outright.  So a number above 2^64 - 1 or below -2^63, in any notation, or closer to zero than
 * 1e-300 (zero aside), is refused, naming the member when it is a member's value.  So is one
 * written with more than 1000 characters (0.111... to 20,000 places) or an exponent beyond 1000
 * (0e99999): PostgreSQL's numeric refuses both (500 from its jsonb), while SQLite stored them.
 * Runs on text that jx_parse accepted, so every number outside a string is well formed.
 */
enum status jx_check_numbers_for(const char *p, size_t len, const char *advice, struct err *e)
{
	size_t key = 0, key_end = 0, colon = SIZE_MAX;

	for (size_t i = 0; i < len; i++) {
		size_t start = i;
		struct num_shape n;
		enum number_fault f;

		if (p[i] == '"') {
			size_t end = string_end(p, len, i), c = key_colon(p, len, end);

			if (c != SIZE_MAX)
				key = i + 1, key_end = end, colon = c;
			i = end;
			continue;
		}
		if (p[i] != '-' && !is_digit(p[i]))
			continue;
		n = num_shape(p, len, i + (p[i] == '-'));
		i = n.end - 1;
		f = number_fault(&n, p[start] == '-', n.end - start);
		if (f == NUM_OK)
			continue;
		return bad_number(colon != SIZE_MAX && skip_space(p, len, colon + 1) == start
					  ? p + key
					  : NULL,
				  key_end - key, start, f, advice, e);
	}
	return ST_OK;
}

enum status jx_check_numbers(const char *p, size_t len, struct err *e)
{
	return jx_check_numbers_for(p, len,
				    "it would not come back as sent; in a free-form field "
				    "(payload, metadata) send it as a string",
				    e);
}

/*
 * The end of the number at p[i] when it is written as RFC 8259 allows (an optional minus, then
 * 0 or a digit 1-9 and more digits, then optionally a point and at least one digit, then
 * optionally e or E, a sign and at least one digit); 0 when it is not.  json-c, even strict,
 * takes "1.", "-.5", "1.e3" and leading zeros ("007", "-01").
 */
static size_t rfc_number_end(const char *p, size_t len, size_t i)
{
	size_t d;

	if (i < len && p[i] == '-')
		i++;
	if (i >= len || !is_digit(p[i]))
		return 0;
	if (p[i] == '0' && i + 1 < len && is_digit(p[i + 1]))
		return 0;
	while (i < len && is_digit(p[i]))
		i++;
	if (i < len && p[i] == '.') {
		for (d = ++i; i < len && is_digit(p[i]);)
			i++;
		if (i == d)
			return 0;
	}
	if (i < len && (p[i] == 'e' || p[i] == 'E')) {
		if (++i < len && (p[i] == '+' || p[i] == '-'))
			i++;
		for (d = i; i < len && is_digit(p[i]);)
			i++;
		if (i == d)
			return 0;
	}
	return i;
}

/* The refusal of a raw control character c at byte at. */
static enum status bad_control(unsigned char c, size_t at, struct err *e)
{
	return err_set(e, ST_INVALID,
		       "body has a control character (U+%04X) that is not escaped at byte %zu: "
		       "write it as \\u%04X",
		       (unsigned)c, at, (unsigned)c);
}

/*
 * What RFC 8259 refuses and json-c, even strict, takes: a raw byte below 0x20 inside a string
 * (between tokens only tab, line feed and carriage return are allowed), numbers such as "1."
 * or "007", and NaN, Infinity and -Infinity (outside a string, an N or an I can start nothing
 * else json-c takes).  A reader that follows the RFC (PostgreSQL's json, Python's json, a backup's
 * canonical form) refuses such a text, so cavra refuses it too, before it can be stored,
 * hashed or compared with what another reader made of it.
 */
static enum status check_lexemes(const char *p, size_t len, struct err *e)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		size_t end;

		if (c == '"') {
			end = string_end(p, len, i);
			for (size_t k = i + 1; k < end; k++)
				if ((unsigned char)p[k] < 0x20)
					return bad_control((unsigned char)p[k], k, e);
			i = end;
		} else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
			return bad_control(c, i, e);
		} else if (c == 'N' || c == 'I' || (c == '-' && i + 1 < len && p[i + 1] == 'I')) {
			return err_set(
				e, ST_INVALID,
				"body is not valid JSON: NaN and Infinity are not JSON numbers "
				"(at byte %zu)",
				i);
		} else if (c == '-' || is_digit((char)c)) {
			end = rfc_number_end(p, len, i);
			if (end == 0)
				return err_set(
					e, ST_INVALID,
					"body is not valid JSON: a malformed number (a leading "
					"zero, or no digit after '-', '.' or 'e') at byte %zu",
					i);
			i = end - 1;
		}
	}
	return ST_OK;
}

/*
 * json-c (0.16) decodes a \u escape pair whose code point lies in U+xD800..U+xDFFF of planes
 * 1 to 16 (U+1D800..U+1DFFF: Sutton SignWriting and more) as U+FFFD: its surrogate test masks
 * the code point with 0xF800 and forgets the plane.  Such a pair is written as the character's
 * four UTF-8 bytes before json-c reads the text: the same string, the same JSON.  Returns the
 * new text (*out_len bytes; the caller frees it), or NULL when there is no such pair.  Runs
 * after jx_check_escapes, so every surrogate escape is half of a pair.
 */
static char *spell_out_pairs(const char *data, size_t len, size_t *out_len)
{
	const char *p = data, *end = data + len, *from = data;
	struct buf b;
	enum status st = ST_OK;
	bool any = false;

	buf_init(&b, len + 1); /* 12 bytes of escapes become 4 */
	while (st == ST_OK && (p = memchr(p, '\\', (size_t)(end - p))) != NULL && end - p >= 2) {
		int hi = p[1] == 'u' && end - p >= 12 ? hex4_value(p + 2) : -1;
		unsigned cp;
		char u[4];

		if (hi < 0xd800 || hi > 0xdbff) {
			p += 2;
			continue;
		}
		cp = 0x10000u + (((unsigned)hi - 0xd800u) << 10) +
		     ((unsigned)hex4_value(p + 8) - 0xdc00u);
		if ((cp & 0xf800u) == 0xd800u) {
			u[0] = (char)(0xf0 | (cp >> 18));
			u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
			u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
			u[3] = (char)(0x80 | (cp & 0x3f));
			st = buf_add(&b, from, (size_t)(p - from), NULL);
			if (st == ST_OK)
				st = buf_add(&b, u, sizeof(u), NULL);
			from = p + 12;
			any = true;
		}
		p += 12;
	}
	if (st == ST_OK && any)
		st = buf_add(&b, from, (size_t)(end - from), NULL);
	if (st != ST_OK || !any) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, out_len);
}

/* json-c's parse of a text that passed jx_parse's checks, then the checks of the tree. */
static enum status parse_checked(const char *data, size_t len, int max_depth, json_object **out,
				 struct err *e)
{
	struct json_tokener *tok = json_tokener_new_ex(max_depth);
	enum json_tokener_error jerr;
	json_object *obj;

	if (!tok)
		return err_set(e, ST_INTERNAL, "json: out of memory");
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
	if (jx_check_unique_keys("body", data, len, obj, max_depth, e) != ST_OK) {
		json_object_put(obj);
		return ST_INVALID;
	}
	numbers_as_postgres(obj, 0);
	*out = obj;
	return ST_OK;
}

/*
 * The depth cap bounds json-c's recursion on hostile nesting.  Strict mode refuses json-c's
 * lenient extensions, so that what we accept and store is what any other JSON parser reading
 * it back (a backup, a client) accepts too.  A second document after the first
 * ("{}{}") is refused rather than silently ignored.  The byte offset in the message helps a
 * client find the fault without echoing the body, which may hold secrets.
 */
enum status jx_parse(const char *data, size_t len, int max_depth, json_object **out, struct err *e)
{
	size_t bad = 0, n = 0;
	char *spelled;
	enum status st;

	*out = NULL;
	/* json-c's own check takes UTF-8-encoded surrogates (ED A0 80) and overlong forms */
	if (!utf8_valid(data, len, &bad))
		return err_set(e, ST_INVALID, "body is not valid UTF-8 at byte %zu", bad);
	if (jx_check_escapes(data, len, e) != ST_OK || check_lexemes(data, len, e) != ST_OK)
		return ST_INVALID;
	spelled = spell_out_pairs(data, len, &n);
	st = spelled ? parse_checked(spelled, n, max_depth, out, e)
		     : parse_checked(data, len, max_depth, out, e);
	free(spelled);
	return st;
}

const char *jx_fault(const char *msg)
{
	static const char body[] = "body ";

	return strncmp(msg, body, sizeof(body) - 1) == 0 ? msg + sizeof(body) - 1 : msg;
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

/*
 * A JSON null counts as absent, so that a client may send null for "not given".
 * *out is borrowed from obj.  Required strings must be non-empty: an empty id or target
 * would be stored and matched as a real value.
 */
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

/* Doubles ("1.0") are refused rather than truncated: a stored number is what was sent. */
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

/*
 * Ids end up in URLs and log lines, where a control character would break or forge a line,
 * and in indexed columns, where an unbounded length would let one client bloat the index.
 */
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

/*
 * The message lists the allowed values so that a client can fix its request from the reply
 * alone; the offending value is cut at 64 bytes so the message stays in struct err.
 */
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

/* NULL becomes JSON null, not a missing key: a record has the same shape set or not. */
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

const char *jx_get_str_or(json_object *obj, const char *key, const char *dflt)
{
	const char *s = jx_get_str(obj, key);

	return s ? s : dflt;
}

void jx_add_time(json_object *obj, const char *key, int64_t us)
{
	char t[TIME_FMT_LEN];

	time_format_utc(us, t, sizeof(t));
	jx_add_str(obj, key, t);
}

void jx_add_time_text(json_object *obj, const char *key, const char *stored)
{
	int64_t us;

	if (stored && time_parse_stored(stored, &us))
		jx_add_time(obj, key, us);
	else
		jx_add_str(obj, key, stored);
}

/* Plain output without escaped slashes, so paths and URLs in records stay readable. */
char *jx_take_text(json_object *o)
{
	char *s = xstrdup(json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));

	json_object_put(o);
	return s;
}
