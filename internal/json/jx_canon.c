/*
 * jx_canon.c - the canonical JSON form (jx_canon.h).
 *
 * PostgreSQL's JSONB keeps object keys in its own order (shorter keys
 * first) and SQLite keeps the text as written, so the same record would
 * print differently on the two backends.  Sorting keys by their bytes and
 * printing without whitespace gives one form for both, which is what makes
 * a backup's per-table SHA-256s comparable across a SQLite -> PostgreSQL ->
 * SQLite round trip, and a hash of a value independent of how it was sent.
 */
#include "base/base.h"
#include "json/jx_canon.h"
#include "base/xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Bytes that need an escape in a canonical string: '"', '\\' and the controls. */
#define ESC4(c) [(c)] = true, [(c) + 1] = true, [(c) + 2] = true, [(c) + 3] = true
static const bool needs_escape[256] = {
	ESC4(0x00), ESC4(0x04), ESC4(0x08), ESC4(0x0c),	  ESC4(0x10),
	ESC4(0x14), ESC4(0x18), ESC4(0x1c), ['"'] = true, ['\\'] = true,
};
#undef ESC4

/*
 * The high bit of each of the 8 bytes of w that may need an escape.  After
 * the XOR a byte is zero exactly where it matched, and subtracting 1 from a
 * zero byte (or 0x20 from a byte below it) sets a high bit its own value
 * did not have.  A borrow can only flag bytes above a real match, so a word
 * without flags is never wrong.
 */
static uint64_t word_stops(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = ones << 7;
	uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');

	return (((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w)) & highs;
}

/* UTF-8 sequences start at bytes from 0x80 up: with ascii, the lexer checks them. */
size_t jx_plain_run(const char *s, size_t n, bool ascii)
{
	const uint64_t high = ascii ? 0x8080808080808080ULL : 0;
	const unsigned char top = ascii ? 0x80 : 0;
	size_t i = 0;
	uint64_t w;

	while (n - i >= 8 && (memcpy(&w, s + i, 8), (word_stops(w) | (w & high)) == 0))
		i += 8;
	while (i < n && !needs_escape[(unsigned char)s[i]] && ((unsigned char)s[i] & top) == 0)
		i++;
	return i;
}

/*
 * The escape of c, or NULL when c stands for itself.
 *
 * One spelling for every string: the seven short escapes JSON defines, \u00xx in
 * lowercase hex for the other control bytes, and every other byte as it is
 * (non-ASCII stays raw UTF-8, '/' is not escaped).  Any such choice would be
 * canonical; this one must never change, or the checksums of existing backups
 * would stop matching a fresh dump of the same rows.
 */
static const char *escape_of(unsigned char c, char u[7])
{
	static const char hex[] = "0123456789abcdef";

	switch (c) {
	case '"':
		return "\\\"";
	case '\\':
		return "\\\\";
	case '\n':
		return "\\n";
	case '\r':
		return "\\r";
	case '\t':
		return "\\t";
	case '\b':
		return "\\b";
	case '\f':
		return "\\f";
	default:
		if (c >= 0x20)
			return NULL;
		memcpy(u, "\\u00", 4);
		u[4] = hex[c >> 4];
		u[5] = hex[c & 15];
		u[6] = '\0';
		return u;
	}
}

enum status jx_canon_string(struct buf *b, const char *s, size_t n, struct err *e)
{
	enum status st = buf_add(b, "\"", 1, e);
	size_t start = 0, i = 0;

	while (st == ST_OK) {
		const char *esc;
		char u[7];

		/* the common case: a run of bytes that stand for themselves */
		i += jx_plain_run(s + i, n - i, false);
		if (i == n)
			break;
		esc = escape_of((unsigned char)s[i], u);
		st = buf_add(b, s + start, i - start, e);
		if (st == ST_OK)
			st = buf_adds(b, esc, e);
		start = ++i;
	}
	if (st == ST_OK)
		st = buf_add(b, s + start, n - start, e);
	if (st == ST_OK)
		st = buf_add(b, "\"", 1, e);
	return st;
}

struct member {
	const char *key;
	json_object *val;
};

/*
 * strcmp orders UTF-8 keys by code point, which neither backend's own order is
 * (JSONB sorts shorter keys first), so the order depends on nothing but the keys.
 */
/* The parts of a JSON number: [-] int [. frac] [e exp]; false when it is not one. */
struct num_parts {
	bool neg, zero;
	const char *in, *frac;
	size_t nin, nfrac;
	long exp;
};

static size_t digits(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

static bool all_zero(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != '0')
			return false;
	return true;
}

static bool num_parts(const char *s, size_t n, struct num_parts *p)
{
	size_t i = 0, k;
	bool eneg = false;

	memset(p, 0, sizeof(*p));
	p->neg = n > 0 && s[0] == '-';
	i = p->neg;
	p->in = s + i;
	p->nin = digits(s + i, n - i);
	i += p->nin;
	if (p->nin == 0)
		return false;
	if (i < n && s[i] == '.') {
		p->frac = s + ++i;
		p->nfrac = digits(s + i, n - i);
		i += p->nfrac;
		if (p->nfrac == 0)
			return false;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			eneg = s[i++] == '-';
		k = digits(s + i, n - i);
		if (k == 0)
			return false;
		for (size_t j = 0; j < k && p->exp <= 100000; j++)
			p->exp = p->exp * 10 + (s[i + j] - '0');
		p->exp = eneg ? -p->exp : p->exp;
		i += k;
	}
	p->zero = all_zero(p->in, p->nin) && all_zero(p->frac, p->nfrac);
	return i == n;
}

/* The digit at position i of the number's digits (int then frac), '0' beyond them. */
static char digit_at(const struct num_parts *p, long i)
{
	if (i < 0 || (size_t)i >= p->nin + p->nfrac)
		return '0';
	if ((size_t)i < p->nin)
		return p->in[i];
	return p->frac[(size_t)i - p->nin];
}

enum status jx_canon_number(struct buf *b, const char *s, size_t n, struct err *e)
{
	struct num_parts p;
	long point, scale, first;
	enum status st = ST_OK;

	if (!memchr(s, '.', n) && !memchr(s, 'e', n) && !memchr(s, 'E', n) &&
	    !(n == 2 && s[0] == '-' && s[1] == '0'))
		return buf_add(b, s, n, e); /* an integer, already as PostgreSQL prints it */
	if (!num_parts(s, n, &p) || p.exp > 1000 || p.exp < -1000)
		return buf_add(b, s, n, e);
	point = (long)p.nin + p.exp; /* the integer part is digits [0, point) */
	scale = (long)p.nfrac - p.exp > 0 ? (long)p.nfrac - p.exp : 0;
	for (first = 0; first < point - 1 && digit_at(&p, first) == '0'; first++)
		;
	if (p.neg && !p.zero)
		st = buf_add(b, "-", 1, e);
	if (point <= 0)
		st = st == ST_OK ? buf_add(b, "0", 1, e) : st;
	for (long i = first; st == ST_OK && i < point; i++)
		st = buf_add(b, (char[]){digit_at(&p, i)}, 1, e);
	if (st == ST_OK && scale > 0)
		st = buf_add(b, ".", 1, e);
	for (long i = point; st == ST_OK && i < point + scale; i++)
		st = buf_add(b, (char[]){digit_at(&p, i)}, 1, e);
	return st;
}

static int cmp_members(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->key, ((const struct member *)b)->key);
}

static enum status canon(struct buf *b, json_object *v, int depth, struct err *e);

static enum status canon_object(struct buf *b, json_object *v, int depth, struct err *e)
{
	size_t n = (size_t)json_object_object_length(v), i = 0;
	struct member few[32]; /* payloads have a few dozen keys: no allocation for them */
	struct member *m = n <= ARRAY_SIZE(few) ? few : xcalloc(n, sizeof(*m));
	enum status st = buf_add(b, "{", 1, e);

	json_object_object_foreach(v, key, val)
	{
		m[i].key = key;
		m[i++].val = val;
	}
	qsort(m, n, sizeof(*m), cmp_members);
	for (i = 0; i < n && st == ST_OK; i++) {
		if (i > 0)
			st = buf_add(b, ",", 1, e);
		if (st == ST_OK)
			st = jx_canon_string(b, m[i].key, strlen(m[i].key), e);
		if (st == ST_OK)
			st = buf_add(b, ":", 1, e);
		if (st == ST_OK)
			st = canon(b, m[i].val, depth + 1, e);
	}
	if (m != few)
		free(m);
	return st == ST_OK ? buf_add(b, "}", 1, e) : st;
}

static enum status canon_array(struct buf *b, json_object *v, int depth, struct err *e)
{
	size_t n = json_object_array_length(v);
	enum status st = buf_add(b, "[", 1, e);

	for (size_t i = 0; i < n && st == ST_OK; i++) {
		if (i > 0)
			st = buf_add(b, ",", 1, e);
		if (st == ST_OK)
			st = canon(b, json_object_array_get_idx(v, i), depth + 1, e);
	}
	return st == ST_OK ? buf_add(b, "]", 1, e) : st;
}

/* Recursive, but bounded: parsed input never nests deeper than JX_CANON_DEPTH. */
static enum status canon(struct buf *b, json_object *v, int depth, struct err *e)
{
	if (depth > JX_CANON_DEPTH)
		return err_set(e, ST_INVALID, "json nested deeper than %d", JX_CANON_DEPTH);
	switch (json_object_get_type(v)) {
	case json_type_null:
		return buf_adds(b, "null", e);
	case json_type_boolean:
		return buf_adds(b, json_object_get_boolean(v) ? "true" : "false", e);
	case json_type_string:
		return jx_canon_string(b, json_object_get_string(v),
				       (size_t)json_object_get_string_len(v), e);
	case json_type_object:
		return canon_object(b, v, depth, e);
	case json_type_array:
		return canon_array(b, v, depth, e);
	case json_type_int:
	case json_type_double:
	default: {
		/* json-c prints integers exactly and doubles as they were parsed */
		const char *num = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);

		return jx_canon_number(b, num, strlen(num), e);
	}
	}
}

enum status jx_canon_append(struct buf *b, json_object *v, struct err *e)
{
	return canon(b, v, 0, e);
}

/*
 * The whole text must be one value: trailing bytes would otherwise be dropped from
 * the canonical form and escape the checksum.
 */
enum status jx_canon_parse_append(struct buf *b, const char *text, size_t len,
				  struct json_tokener *tok, struct err *e)
{
	json_object *v;
	enum status st;

	json_tokener_reset(tok);
	v = json_tokener_parse_ex(tok, text, (int)len);
	if (!v || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		json_object_put(v);
		return err_set(e, ST_INVALID, "not JSON");
	}
	st = canon(b, v, 0, e);
	json_object_put(v);
	return st;
}

/*
 * Strict (RFC 8259: no comments, no trailing commas, no single quotes), so only
 * text that both backends would also accept as JSON is canonized.
 */
struct json_tokener *jx_canon_tokener(void)
{
	struct json_tokener *tok = json_tokener_new_ex(JX_CANON_DEPTH);

	if (!tok)
		abort(); /* out of memory, as the x* allocators */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	return tok;
}

enum status jx_canon_sha256(json_object *v, char out[SHA256_HEX_LEN], struct err *e)
{
	struct buf b;
	enum status st;

	buf_init(&b, BUF_CAP_DEFAULT);
	st = jx_canon_append(&b, v, e);
	if (st == ST_OK)
		sha256_hex(b.data, b.len, out);
	buf_release(&b);
	return st;
}
