/*
 * ops_canon_text.c - the canonical form (ops_canon.c) computed straight
 * from JSON text, without building json-c objects.
 *
 * A backup re-serialises every stored payload; going through a json-c tree
 * cost more than everything else a backup does (an allocation per value,
 * a hash table per object).  Here an object's members are written into a
 * scratch buffer of its nesting level, then sorted and copied out.  Strings
 * without escapes are copied as they are, which is already canonical.  The
 * result equals jx_canon_append's for every value the service stores (a
 * unit test holds both to the same cases).
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/xalloc.h"
#include "base/str.h"

#include <stdlib.h>
#include <string.h>

#define CZ_DEPTH 64

struct cz_member {
	size_t koff, klen, voff, vlen, idx;
	const char *key; /* set once the scratch buffer no longer moves */
	bool plain; /* the key had no escapes: as written, it is already canonical */
};

struct cz_level {
	struct buf scratch; /* keys and canonical values of the object open at this depth */
	struct cz_member *m;
	size_t n, cap;
};

struct ops_canonizer {
	struct cz_level level[CZ_DEPTH];
	struct buf text; /* a decoded string */
	bool duplicate; /* an object with a key twice since ops_canonizer_take_duplicate */
};

struct cz {
	struct ops_canonizer *z;
	struct ops_lex l; /* the text, read by the shared scanner */
	struct err *e;
};

struct ops_canonizer *ops_canonizer_new(void)
{
	struct ops_canonizer *z = xcalloc(1, sizeof(*z));

	for (size_t i = 0; i < CZ_DEPTH; i++)
		buf_init(&z->level[i].scratch, OPS_LINE_MAX);
	buf_init(&z->text, OPS_LINE_MAX);
	return z;
}

void ops_canonizer_free(struct ops_canonizer *z)
{
	if (!z)
		return;
	for (size_t i = 0; i < CZ_DEPTH; i++) {
		buf_release(&z->level[i].scratch);
		free(z->level[i].m);
	}
	buf_release(&z->text);
	free(z);
}

static enum status bad(struct cz *c, const char *what)
{
	return err_set(c->e, ST_INVALID, "not JSON: %s", what);
}

static void skip_ws(struct cz *c)
{
	ops_lex_ws(&c->l);
}

/* The string token at c->l.p (a quote), escapes unchecked: decode checks them. */
static enum status scan_string(struct cz *c, struct ops_span *s)
{
	return ops_lex_string(&c->l, false, s) ? ST_OK : bad(c, c->l.why);
}

/* Decodes the escapes of raw into z->text ("\\u0000" too: it is escaped again on output). */
static enum status decode(struct cz *c, const char *raw, size_t len)
{
	buf_reset(&c->z->text);
	return ops_json_unescape(raw, len, true, &c->z->text, c->e);
}

/* A string as canonical text: unchanged when it has no escapes, else decoded and re-escaped. */
static enum status string_out(struct cz *c, struct buf *out)
{
	struct ops_span s;
	enum status st = scan_string(c, &s);

	if (st != ST_OK)
		return st;
	if (!s.escaped) {
		st = buf_add(out, "\"", 1, c->e);
		if (st == ST_OK)
			st = buf_add(out, s.p, s.n, c->e);
		return st == ST_OK ? buf_add(out, "\"", 1, c->e) : st;
	}
	st = decode(c, s.p, s.n);
	return st == ST_OK ? jx_canon_string(out, c->z->text.data, c->z->text.len, c->e) : st;
}

/* A number in its canonical form (jx_canon_number), or a literal as written. */
static enum status token_out(struct cz *c, struct buf *out, bool number)
{
	struct ops_span s;
	bool ok = number ? ops_lex_number(&c->l, &s) : ops_lex_literal(&c->l, &s);

	if (!ok)
		return bad(c, c->l.why);
	return number ? jx_canon_number(out, s.p, s.n, c->e) : buf_add(out, s.p, s.n, c->e);
}

static enum status value_out(struct cz *c, struct buf *out, int depth);

static enum status array_out(struct cz *c, struct buf *out, int depth)
{
	enum status st = buf_add(out, "[", 1, c->e);
	bool first = true;

	c->l.p++;
	skip_ws(c);
	while (st == ST_OK && c->l.p < c->l.end && *c->l.p != ']') {
		if (!first && *c->l.p++ != ',')
			return bad(c, "expected ',' in an array");
		if (!first)
			st = buf_add(out, ",", 1, c->e);
		if (st == ST_OK)
			st = value_out(c, out, depth + 1);
		skip_ws(c);
		first = false;
	}
	if (st == ST_OK && c->l.p >= c->l.end)
		return bad(c, "unterminated array");
	c->l.p++;
	return st == ST_OK ? buf_add(out, "]", 1, c->e) : st;
}

static int cmp_members(const void *a, const void *b)
{
	const struct cz_member *x = a, *y = b;
	int r = bytes_cmp(x->key, x->klen, y->key, y->klen);

	if (r == 0)
		r = x->idx < y->idx ? -1 : 1; /* the later of equal keys wins, as in JSONB */
	return r;
}

/* One "key": value of an object at level L; the key decoded, the value canonical. */
static enum status member(struct cz *c, struct cz_level *L, int depth)
{
	struct cz_member m = {.idx = L->n};
	struct ops_span k = {0};
	const char *raw;
	enum status st;

	if (c->l.p >= c->l.end || *c->l.p != '"')
		return bad(c, "expected a key");
	st = scan_string(c, &k);
	raw = k.p;
	m.klen = st == ST_OK ? k.n : 0;
	m.plain = !k.escaped;
	if (st == ST_OK && k.escaped && (st = decode(c, raw, m.klen)) == ST_OK) {
		raw = c->z->text.data;
		m.klen = c->z->text.len;
	}
	m.koff = L->scratch.len;
	if (st == ST_OK)
		st = buf_add(&L->scratch, raw, m.klen, c->e);
	if (st == ST_OK && !ops_lex_colon(&c->l))
		return bad(c, "expected ':'");
	m.voff = L->scratch.len;
	if (st == ST_OK)
		st = value_out(c, &L->scratch, depth + 1);
	m.vlen = L->scratch.len - m.voff;
	if (st == ST_OK && L->n == L->cap) {
		L->cap = L->cap ? L->cap * 2 : 32;
		L->m = xrealloc(L->m, L->cap * sizeof(*L->m));
	}
	if (st == ST_OK)
		L->m[L->n++] = m;
	return st;
}

/*
 * Members into canonical order.  Objects are small (a stored decision has
 * 21 members): an insertion sort with the comparison inlined beats qsort's
 * call through a pointer per comparison there; large objects get qsort.
 */
static void sort_members(struct cz_level *L)
{
	if (L->n > 32) {
		qsort(L->m, L->n, sizeof(*L->m), cmp_members);
		return;
	}
	for (size_t i = 1; i < L->n; i++) {
		struct cz_member m = L->m[i];
		size_t j = i;

		while (j > 0 && cmp_members(&L->m[j - 1], &m) > 0) {
			L->m[j] = L->m[j - 1];
			j--;
		}
		L->m[j] = m;
	}
}

/* A key as canonical text: copied when it was written without escapes, else escaped again. */
static enum status key_out(const struct cz_member *m, struct buf *out, struct err *e)
{
	enum status st;

	if (!m->plain)
		return jx_canon_string(out, m->key, m->klen, e);
	st = buf_add(out, "\"", 1, e);
	if (st == ST_OK)
		st = buf_add(out, m->key, m->klen, e);
	return st == ST_OK ? buf_add(out, "\"", 1, e) : st;
}

static enum status emit_members(struct cz *c, struct cz_level *L, struct buf *out)
{
	enum status st = buf_add(out, "{", 1, c->e);
	bool first = true;

	for (size_t i = 0; i < L->n; i++)
		L->m[i].key = L->scratch.data + L->m[i].koff;
	sort_members(L);
	for (size_t i = 0; i < L->n && st == ST_OK; i++) {
		const struct cz_member *m = &L->m[i];

		if (i + 1 < L->n && m->klen == m[1].klen &&
		    memcmp(m->key, m[1].key, m->klen) == 0) {
			c->z->duplicate = true;
			continue; /* a duplicate key: the later one is kept */
		}
		if (!first)
			st = buf_add(out, ",", 1, c->e);
		if (st == ST_OK)
			st = key_out(m, out, c->e);
		if (st == ST_OK)
			st = buf_add(out, ":", 1, c->e);
		if (st == ST_OK)
			st = buf_add(out, L->scratch.data + m->voff, m->vlen, c->e);
		first = false;
	}
	return st == ST_OK ? buf_add(out, "}", 1, c->e) : st;
}

static enum status object_out(struct cz *c, struct buf *out, int depth)
{
	struct cz_level *L = &c->z->level[depth];
	enum status st = ST_OK;
	bool first = true;

	buf_reset(&L->scratch);
	L->n = 0;
	c->l.p++;
	skip_ws(c);
	while (st == ST_OK && c->l.p < c->l.end && *c->l.p != '}') {
		if (!first && *c->l.p++ != ',')
			return bad(c, "expected ',' in an object");
		skip_ws(c);
		st = member(c, L, depth);
		skip_ws(c);
		first = false;
	}
	if (st == ST_OK && c->l.p >= c->l.end)
		return bad(c, "unterminated object");
	c->l.p++;
	return st == ST_OK ? emit_members(c, L, out) : st;
}

/* Recursive, bounded by CZ_DEPTH. */
static enum status value_out(struct cz *c, struct buf *out, int depth)
{
	if (depth >= CZ_DEPTH)
		return err_set(c->e, ST_INVALID, "json nested deeper than %d", CZ_DEPTH);
	skip_ws(c);
	if (c->l.p >= c->l.end)
		return bad(c, "unexpected end");
	switch (*c->l.p) {
	case '{':
		return object_out(c, out, depth);
	case '[':
		return array_out(c, out, depth);
	case '"':
		return string_out(c, out);
	case '-':
	case '0':
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
	case '6':
	case '7':
	case '8':
	case '9':
		return token_out(c, out, true);
	default:
		return token_out(c, out, false);
	}
}

enum status ops_canon_text_append(struct ops_canonizer *z, struct buf *out, const char *text,
				  size_t len, struct err *e)
{
	struct cz c = {.z = z, .l = {.p = text, .end = text + len}, .e = e};
	size_t mark = out->len;
	enum status st = value_out(&c, out, 0);

	skip_ws(&c);
	if (st == ST_OK && c.l.p != c.l.end)
		st = bad(&c, "trailing characters");
	if (st != ST_OK)
		out->data[out->len = mark] = '\0';
	return st;
}

bool ops_canonizer_take_duplicate(struct ops_canonizer *z)
{
	bool seen = z->duplicate;

	z->duplicate = false;
	return seen;
}

char *ops_canon_text(const char *text, size_t len)
{
	struct ops_canonizer *z = ops_canonizer_new();
	char *out = NULL;
	struct buf b;

	buf_init(&b, OPS_LINE_MAX);
	if (ops_canon_text_append(z, &b, text, len, NULL) == ST_OK)
		out = buf_detach(&b, NULL);
	buf_release(&b);
	ops_canonizer_free(z);
	return out;
}
