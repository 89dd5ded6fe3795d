/*
 * ops_line.c - dump lines read without building JSON objects.
 *
 * verify and restore look at every line of a backup: a million decisions
 * are more than a gigabyte of JSON.  Parsing each line into a json-c tree
 * (an allocation per value, a hash table per object) cost more than reading
 * and hashing the file.  Here one pass of the scanner (ops_lex.c) checks
 * the line is strict JSON (RFC 8259, UTF-8) and notes where each top-level
 * member's value lies; strings are decoded only when asked for, and only
 * when they hold escapes.
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/utf8.h"
#include "base/num.h"

#include <stdint.h>
#include <string.h>

void ops_line_keys_init(struct ops_line_keys *k, const char *const *names, size_t n)
{
	k->n = n < OPS_LINE_KEYS_MAX ? n : OPS_LINE_KEYS_MAX;
	for (size_t i = 0; i < k->n; i++) {
		k->names[i] = names[i];
		k->lens[i] = strlen(names[i]);
	}
}

/*
 * The index of the key named by s among k, from a guess (lines list keys in order).
 *
 * Lines written by cavra list the members in the manifest's order, so the guess
 * (the key after the previous one) matches on the first compare; the loop still
 * finds them in any order, which JSON allows.  An escaped name
 * longer than the scratch buffer cannot be a column name and is reported as
 * unknown.
 */
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

/*
 * Exactly the manifest's columns, each once: a line with an extra, a missing or a
 * repeated member would be restored into a row of another shape, so it is a
 * problem of the line, not something to guess about.
 */
static bool top_members(struct ops_lex *l, const struct ops_line_keys *k, struct ops_span *out,
			bool *seen)
{
	size_t count = 0, guess = 0;
	char scratch[256];
	bool more = true;

	while (more) {
		struct ops_span name, v;
		size_t i;

		if (!ops_lex_key(l, &name))
			return false;
		i = find_key(k, &name, guess, scratch, sizeof(scratch));
		if (i == SIZE_MAX)
			return ops_lex_fail(l,
					    "a member that is not one of the manifest's columns");
		if (seen[i])
			return ops_lex_fail(l, "a column given twice");
		if (!ops_lex_colon(l) || !ops_lex_value(l, &v, 1))
			return false;
		seen[i] = true;
		out[i] = v;
		count++;
		guess = i + 1;
		if (!ops_lex_more(l, '}', &more))
			return false;
	}
	if (count != k->n)
		return ops_lex_fail(l, "columns differ from the manifest's");
	return true;
}

/* The object at l->p: its opening brace, then the members (none, when k names none). */
static void top_object(struct ops_lex *l, const struct ops_line_keys *k, struct ops_span *out)
{
	bool seen[OPS_LINE_KEYS_MAX] = {false};

	ops_lex_ws(l);
	if (l->p >= l->end) {
		ops_lex_fail(l, "empty line");
		return;
	}
	if (*l->p != '{') {
		ops_lex_fail(l, "not a JSON object");
		return;
	}
	l->p++;
	ops_lex_ws(l);
	if (l->p < l->end && *l->p == '}') {
		l->p++;
		if (k->n)
			ops_lex_fail(l, "columns differ from the manifest's");
		return;
	}
	top_members(l, k, out, seen);
}

bool ops_line_split(const char *line, size_t len, const struct ops_line_keys *k,
		    struct ops_span *out, const char **why)
{
	struct ops_lex l = {.p = line, .end = line + len};

	top_object(&l, k, out);
	if (!l.why) {
		ops_lex_ws(&l);
		if (l.p != l.end)
			ops_lex_fail(&l, "text after the object");
	}
	*why = l.why;
	return !l.why;
}

/*
 * Appends code point u as UTF-8.
 *
 * u comes from ops_json_escape, which has already joined surrogate pairs and
 * refused lone surrogates, so every u here is a code point that UTF-8 can hold.
 */
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

bool ops_span_int(const struct ops_span *s, int64_t *out)
{
	char digits[24];

	if (s->kind != OPS_SPAN_NUMBER || !s->integer || s->n >= sizeof(digits))
		return false;
	memcpy(digits, s->p, s->n);
	digits[s->n] = '\0';
	return str_to_i64(digits, INT64_MIN, INT64_MAX, out);
}

/*
 * A U+0000 in a text value is refused: PostgreSQL cannot store it in text or JSONB,
 * so a backup that holds one could not be restored there.
 */
enum status ops_span_text(const struct ops_span *s, struct buf *b, struct err *e)
{
	if (s->kind != OPS_SPAN_STRING)
		return err_set(e, ST_INVALID, "not a string");
	return ops_json_unescape(s->p, s->n, false, b, e);
}
