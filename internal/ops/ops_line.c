/*
 * ops_line.c - dump lines read without building JSON objects.
 *
 * verify and restore look at every line of a backup: a million decisions
 * are more than a gigabyte of JSON.  Parsing each line into a json-c tree
 * (an allocation per value, a hash table per object) cost more than reading
 * and hashing the file.  Here one pass checks the line is strict JSON
 * (RFC 8259, UTF-8) and notes where each top-level member's value lies;
 * strings are decoded only when asked for, and only when they hold escapes.
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/utf8.h"
#include "base/num.h"

#include <stdio.h>
#include <string.h>

#define LINE_DEPTH 64

struct lp {
	const char *p, *end;
	const char *why;
};

static bool fail(struct lp *l, const char *why)
{
	if (!l->why)
		l->why = why;
	return false;
}

static void skip_ws(struct lp *l)
{
	while (l->p < l->end && (*l->p == ' ' || *l->p == '\t' || *l->p == '\n' || *l->p == '\r'))
		l->p++;
}

size_t ops_json_escape(const char *p, const char *end, unsigned *cp, const char **why)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *hit;
	int u, lo;

	if (end - p < 2) {
		*why = "unterminated string";
		return 0;
	}
	if (p[1] != 'u') {
		hit = memchr(from, p[1], sizeof(from) - 1);
		*why = hit ? NULL : "bad escape in a string";
		*cp = hit ? (unsigned char)to[hit - from] : 0;
		return hit ? 2 : 0;
	}
	if (end - p < 6 || (u = hex4_value(p + 2)) < 0) {
		*why = "bad \\u escape";
		return 0;
	}
	if (u >= 0xdc00 && u <= 0xdfff) {
		*why = "lone low surrogate";
		return 0;
	}
	*cp = (unsigned)u;
	if (u < 0xd800 || u > 0xdbff)
		return 6;
	if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || (lo = hex4_value(p + 8)) < 0xdc00 ||
	    lo > 0xdfff) {
		*why = "lone high surrogate";
		return 0;
	}
	*cp = 0x10000 + (((unsigned)u - 0xd800) << 10) + ((unsigned)lo - 0xdc00);
	return 12;
}

/* A string at l->p (on its quote); s gets its inside. */
static bool string(struct lp *l, struct ops_span *s)
{
	const unsigned char *p = (const unsigned char *)++l->p;
	const unsigned char *end = (const unsigned char *)l->end;

	s->kind = OPS_SPAN_STRING;
	s->escaped = false;
	s->p = (const char *)p;
	for (;;) {
		while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		if (p >= end)
			return fail(l, "unterminated string");
		if (*p == '"')
			break;
		if (*p < 0x20)
			return fail(l, "control character in a string");
		if (*p == '\\') {
			const char *why = NULL;
			unsigned cp;
			size_t k = ops_json_escape((const char *)p, l->end, &cp, &why);

			if (k == 0)
				return fail(l, why);
			s->escaped = true;
			p += k;
		} else {
			size_t n = utf8_seq_len(p, (size_t)(end - p));

			if (n == 0)
				return fail(l, "invalid UTF-8");
			p += n;
		}
	}
	s->n = (size_t)((const char *)p - s->p);
	l->p = (const char *)p + 1;
	return true;
}

static bool digits(struct lp *l)
{
	const char *start = l->p;

	while (l->p < l->end && *l->p >= '0' && *l->p <= '9')
		l->p++;
	return l->p > start;
}

static bool number(struct lp *l, struct ops_span *s)
{
	s->kind = OPS_SPAN_NUMBER;
	s->p = l->p;
	s->integer = true;
	if (*l->p == '-')
		l->p++;
	if (l->p < l->end && *l->p == '0')
		l->p++;
	else if (!digits(l))
		return fail(l, "bad number");
	if (l->p < l->end && *l->p == '.') {
		l->p++;
		s->integer = false;
		if (!digits(l))
			return fail(l, "bad number");
	}
	if (l->p < l->end && (*l->p == 'e' || *l->p == 'E')) {
		l->p++;
		s->integer = false;
		if (l->p < l->end && (*l->p == '+' || *l->p == '-'))
			l->p++;
		if (!digits(l))
			return fail(l, "bad number");
	}
	s->n = (size_t)(l->p - s->p);
	return true;
}

static bool word(struct lp *l, const char *w, enum ops_span_kind kind, struct ops_span *s)
{
	size_t n = strlen(w);

	if ((size_t)(l->end - l->p) < n || memcmp(l->p, w, n) != 0)
		return fail(l, "unexpected character");
	s->kind = kind;
	s->p = l->p;
	s->n = n;
	l->p += n;
	return true;
}

static bool value(struct lp *l, struct ops_span *s, int depth);

/* The rest of an array or object after its opening bracket. */
static bool members(struct lp *l, bool object, int depth)
{
	char close = object ? '}' : ']';
	struct ops_span v;

	skip_ws(l);
	if (l->p < l->end && *l->p == close) {
		l->p++;
		return true;
	}
	for (;;) {
		skip_ws(l);
		if (object) {
			if (l->p >= l->end || *l->p != '"' || !string(l, &v))
				return fail(l, "expected a member name");
			skip_ws(l);
			if (l->p >= l->end || *l->p++ != ':')
				return fail(l, "expected ':'");
			skip_ws(l);
		}
		if (!value(l, &v, depth + 1))
			return false;
		skip_ws(l);
		if (l->p < l->end && *l->p == ',') {
			l->p++;
			continue;
		}
		if (l->p < l->end && *l->p == close) {
			l->p++;
			return true;
		}
		return fail(l, object ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static bool value(struct lp *l, struct ops_span *s, int depth)
{
	const char *start = l->p;
	bool ok;

	if (depth > LINE_DEPTH)
		return fail(l, "nested too deep");
	if (l->p >= l->end)
		return fail(l, "expected a value");
	switch (*l->p) {
	case '"':
		return string(l, s);
	case '{':
	case '[':
		s->kind = *l->p == '{' ? OPS_SPAN_OBJECT : OPS_SPAN_ARRAY;
		l->p++;
		ok = members(l, s->kind == OPS_SPAN_OBJECT, depth);
		s->p = start;
		s->n = (size_t)(l->p - start);
		return ok;
	case 't':
		return word(l, "true", OPS_SPAN_BOOL, s);
	case 'f':
		return word(l, "false", OPS_SPAN_BOOL, s);
	case 'n':
		return word(l, "null", OPS_SPAN_NULL, s);
	default:
		if (*l->p == '-' || (*l->p >= '0' && *l->p <= '9'))
			return number(l, s);
		return fail(l, "unexpected character");
	}
}

void ops_line_keys_init(struct ops_line_keys *k, const char *const *names, size_t n)
{
	k->n = n < OPS_LINE_KEYS_MAX ? n : OPS_LINE_KEYS_MAX;
	for (size_t i = 0; i < k->n; i++) {
		k->names[i] = names[i];
		k->lens[i] = strlen(names[i]);
	}
}

/* The index of the key named by s among k, from a guess (lines list keys in order). */
static size_t find_key(const struct ops_line_keys *k, const struct ops_span *s, size_t guess,
		       char *scratch, size_t size)
{
	const char *name = s->p;
	size_t n = s->n;

	if (s->escaped) {
		struct buf b;
		bool ok;

		buf_init(&b, size - 1);
		ok = ops_span_text(s, &b, NULL) == ST_OK;
		if (ok) {
			memcpy(scratch, b.data, b.len);
			n = b.len;
		}
		buf_release(&b);
		if (!ok)
			return SIZE_MAX;
		name = scratch;
	}
	for (size_t j = 0; j < k->n; j++) {
		size_t i = (guess + j) % k->n;

		if (k->lens[i] == n && memcmp(k->names[i], name, n) == 0)
			return i;
	}
	return SIZE_MAX;
}

static bool top_members(struct lp *l, const struct ops_line_keys *k, struct ops_span *out,
			bool *seen)
{
	size_t count = 0, guess = 0;
	char scratch[256];

	for (;;) {
		struct ops_span name, v;
		size_t i;

		skip_ws(l);
		if (l->p >= l->end || *l->p != '"' || !string(l, &name))
			return fail(l, "expected a member name");
		i = find_key(k, &name, guess, scratch, sizeof(scratch));
		if (i == SIZE_MAX)
			return fail(l, "a member that is not one of the manifest's columns");
		if (seen[i])
			return fail(l, "a column given twice");
		skip_ws(l);
		if (l->p >= l->end || *l->p++ != ':')
			return fail(l, "expected ':'");
		skip_ws(l);
		if (!value(l, &v, 1))
			return false;
		seen[i] = true;
		out[i] = v;
		count++;
		guess = i + 1;
		skip_ws(l);
		if (l->p < l->end && *l->p == ',') {
			l->p++;
			continue;
		}
		if (l->p < l->end && *l->p == '}') {
			l->p++;
			break;
		}
		return fail(l, "expected ',' or '}'");
	}
	if (count != k->n)
		return fail(l, "columns differ from the manifest's");
	return true;
}

/* The object at l->p: its opening brace, then the members (none, when k names none). */
static void top_object(struct lp *l, const struct ops_line_keys *k, struct ops_span *out)
{
	bool seen[OPS_LINE_KEYS_MAX] = {false};

	skip_ws(l);
	if (l->p >= l->end) {
		fail(l, "empty line");
		return;
	}
	if (*l->p != '{') {
		fail(l, "not a JSON object");
		return;
	}
	l->p++;
	skip_ws(l);
	if (l->p < l->end && *l->p == '}') {
		l->p++;
		if (k->n)
			fail(l, "columns differ from the manifest's");
		return;
	}
	top_members(l, k, out, seen);
}

bool ops_line_split(const char *line, size_t len, const struct ops_line_keys *k,
		    struct ops_span *out, const char **why)
{
	struct lp l = {.p = line, .end = line + len};

	top_object(&l, k, out);
	if (!l.why) {
		skip_ws(&l);
		if (l.p != l.end)
			fail(&l, "text after the object");
	}
	*why = l.why;
	return !l.why;
}

/* Appends code point u as UTF-8. */
static enum status put_utf8(struct buf *b, unsigned u, struct err *e)
{
	char s[4];
	size_t n;

	if (u < 0x80) {
		s[0] = (char)u;
		n = 1;
	} else if (u < 0x800) {
		s[0] = (char)(0xc0 | (u >> 6));
		s[1] = (char)(0x80 | (u & 0x3f));
		n = 2;
	} else if (u < 0x10000) {
		s[0] = (char)(0xe0 | (u >> 12));
		s[1] = (char)(0x80 | ((u >> 6) & 0x3f));
		s[2] = (char)(0x80 | (u & 0x3f));
		n = 3;
	} else {
		s[0] = (char)(0xf0 | (u >> 18));
		s[1] = (char)(0x80 | ((u >> 12) & 0x3f));
		s[2] = (char)(0x80 | ((u >> 6) & 0x3f));
		s[3] = (char)(0x80 | (u & 0x3f));
		n = 4;
	}
	return buf_add(b, s, n, e);
}

enum status ops_json_unescape(const char *p, size_t n, bool nul_ok, struct buf *b, struct err *e)
{
	const char *end = p + n;
	enum status st = ST_OK;

	while (p < end && st == ST_OK) {
		const char *bs = memchr(p, '\\', (size_t)(end - p)), *why = NULL;
		size_t k = bs ? (size_t)(bs - p) : (size_t)(end - p);
		unsigned cp = 0;

		st = buf_add(b, p, k, e);
		p += k;
		if (st != ST_OK || !bs)
			break;
		k = ops_json_escape(p, end, &cp, &why);
		if (k == 0)
			return err_set(e, ST_INVALID, "not JSON: %s", why);
		if (cp == 0 && !nul_ok)
			return err_set(e, ST_INVALID, "a string holds \\u0000");
		st = put_utf8(b, cp, e);
		p += k;
	}
	return st;
}

enum status ops_span_text(const struct ops_span *s, struct buf *b, struct err *e)
{
	if (s->kind != OPS_SPAN_STRING)
		return err_set(e, ST_INVALID, "not a string");
	return ops_json_unescape(s->p, s->n, false, b, e);
}
