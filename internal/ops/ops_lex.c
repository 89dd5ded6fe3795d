/*
 * ops_lex.c - the one JSON scanner of internal/ops: whitespace, strings
 * (escapes, UTF-8), numbers, literals and nested values, read in place.
 * The dump line parser (ops_line.c), the canonizer (ops_canon_text.c) and
 * the manifest's trailer check (ops_manifest.c) all read text through it.
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "json/jx_canon.h"
#include "base/utf8.h"
#include "base/num.h"
#include "base/str.h"
#include "base/files.h"
#include "base/hash.h"

#include <stdint.h>
#include <string.h>

bool ops_lex_fail(struct ops_lex *l, const char *why)
{
	if (!l->why)
		l->why = why;
	return false;
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

/*
 * The bytes the special character at p (not '"') spans in a string, or 0
 * with *why.  Unchecked, an escape is its backslash and the next byte, and
 * a byte from 0x80 up stands alone.
 */
static size_t special(const char *p, const char *end, bool check, const char **why)
{
	unsigned cp;

	if ((unsigned char)*p < 0x20) {
		*why = "control character in a string";
		return 0;
	}
	if (*p == '\\' && check)
		return ops_json_escape(p, end, &cp, why);
	if (*p == '\\') {
		*why = end - p < 2 ? "unterminated string" : NULL;
		return end - p < 2 ? 0 : 2;
	}
	if (!check)
		return 1;
	*why = "invalid UTF-8";
	return utf8_seq_len(p, (size_t)(end - p));
}

bool ops_lex_string(struct ops_lex *l, bool check, struct ops_span *s)
{
	const char *p = ++l->p;

	s->kind = OPS_SPAN_STRING;
	s->escaped = false;
	s->p = p;
	for (;;) {
		const char *why = NULL;
		size_t k;

		p += jx_plain_run(p, (size_t)(l->end - p), check);
		if (p >= l->end)
			return ops_lex_fail(l, "unterminated string");
		if (*p == '"')
			break;
		k = special(p, l->end, check, &why);
		if (k == 0)
			return ops_lex_fail(l, why);
		s->escaped |= *p == '\\';
		p += k;
	}
	s->n = (size_t)(p - s->p);
	l->p = p + 1;
	return true;
}

static bool digits(struct ops_lex *l)
{
	const char *start = l->p;

	while (l->p < l->end && *l->p >= '0' && *l->p <= '9')
		l->p++;
	return l->p > start;
}

bool ops_lex_number(struct ops_lex *l, struct ops_span *s)
{
	s->kind = OPS_SPAN_NUMBER;
	s->p = l->p;
	s->integer = true;
	if (l->p < l->end && *l->p == '-')
		l->p++;
	if (l->p < l->end && *l->p == '0')
		l->p++;
	else if (!digits(l))
		return ops_lex_fail(l, "bad number");
	if (l->p < l->end && *l->p == '.') {
		l->p++;
		s->integer = false;
		if (!digits(l))
			return ops_lex_fail(l, "bad number");
	}
	if (l->p < l->end && (*l->p == 'e' || *l->p == 'E')) {
		l->p++;
		s->integer = false;
		if (l->p < l->end && (*l->p == '+' || *l->p == '-'))
			l->p++;
		if (!digits(l))
			return ops_lex_fail(l, "bad number");
	}
	s->n = (size_t)(l->p - s->p);
	return true;
}

bool ops_lex_literal(struct ops_lex *l, struct ops_span *s)
{
	static const struct {
		const char *w;
		size_t n;
		enum ops_span_kind kind;
	} words[] = {{"true", 4, OPS_SPAN_BOOL},
		     {"false", 5, OPS_SPAN_BOOL},
		     {"null", 4, OPS_SPAN_NULL}};

	for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
		if ((size_t)(l->end - l->p) >= words[i].n &&
		    memcmp(l->p, words[i].w, words[i].n) == 0) {
			s->kind = words[i].kind;
			s->p = l->p;
			s->n = words[i].n;
			l->p += words[i].n;
			return true;
		}
	}
	return ops_lex_fail(l, "unexpected character");
}

bool ops_lex_key(struct ops_lex *l, struct ops_span *name)
{
	ops_lex_ws(l);
	if (l->p >= l->end || *l->p != '"' || !ops_lex_string(l, true, name))
		return ops_lex_fail(l, "expected a member name");
	return true;
}

bool ops_lex_colon(struct ops_lex *l)
{
	ops_lex_ws(l);
	if (l->p >= l->end || *l->p++ != ':')
		return ops_lex_fail(l, "expected ':'");
	ops_lex_ws(l);
	return true;
}

bool ops_lex_more(struct ops_lex *l, char close, bool *more)
{
	ops_lex_ws(l);
	*more = l->p < l->end && *l->p == ',';
	if (*more || (l->p < l->end && *l->p == close)) {
		l->p++;
		return true;
	}
	return ops_lex_fail(l, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
}

/* The rest of an array or object after its opening bracket. */
static bool members(struct ops_lex *l, bool object, int depth)
{
	char close = object ? '}' : ']';
	struct ops_span v;
	bool more = true;

	ops_lex_ws(l);
	if (l->p < l->end && *l->p == close) {
		l->p++;
		return true;
	}
	while (more) {
		ops_lex_ws(l);
		if (object && (!ops_lex_key(l, &v) || !ops_lex_colon(l)))
			return false;
		if (!ops_lex_value(l, &v, depth + 1) || !ops_lex_more(l, close, &more))
			return false;
	}
	return true;
}

bool ops_lex_value(struct ops_lex *l, struct ops_span *s, int depth)
{
	const char *start = l->p;
	bool ok;

	if (depth > OPS_LEX_DEPTH)
		return ops_lex_fail(l, "nested too deep");
	if (l->p >= l->end)
		return ops_lex_fail(l, "expected a value");
	switch (*l->p) {
	case '"':
		return ops_lex_string(l, true, s);
	case '{':
	case '[':
		s->kind = *l->p == '{' ? OPS_SPAN_OBJECT : OPS_SPAN_ARRAY;
		l->p++;
		ok = members(l, s->kind == OPS_SPAN_OBJECT, depth);
		s->p = start;
		s->n = (size_t)(l->p - start);
		return ok;
	default:
		if (*l->p == '-' || (*l->p >= '0' && *l->p <= '9'))
			return ops_lex_number(l, s);
		return ops_lex_literal(l, s);
	}
}
