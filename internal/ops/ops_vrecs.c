/*
 * ops_vrecs.c - for `ops verify`'s check of a backup's chain (ops_vchain.c), the records
 * chained at every write (approvals, evidence, the registry, the inventory, integrations and
 * API tokens, sessions): only a record's newest entry can match its row, so each line's hash
 * (of its entry form, ops_vform.c) and each record's newest entry (by seq, in whatever order
 * the chain's lines come) are kept by (kind, id) and compared once both files were read.  A
 * session only decisions made may have no entry: its line is not counted as one without.
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/hash.h"
#include "base/msum.h"
#include "base/xalloc.h"
#include "store/store_chain.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHA_KEPT 16 /* bytes of a SHA-256 kept */

struct rec {
	char *key; /* kind, NUL, id: NULL for a free slot */
	size_t key_len;
	unsigned char line[SHA_KEPT], entry[SHA_KEPT];
	int64_t seq; /* the newest entry's; 0: none */
	bool has_line;
	bool may_lack; /* its line may have no entry (a session only decisions made) */
};

struct ops_vrecs {
	struct rec *slots;
	size_t cap, n; /* cap a power of two, n below half of it */
	EVP_MD_CTX *md;
	/*
	 * Slots are placed by a keyed hash with a key drawn for this check: the ids come from the
	 * backup, and ids chosen to collide under a public hash would make every look-up walk
	 * them all.
	 */
	struct msum_key key;
};

/* The kinds whose rows a line is, by table, and each one's id column. */
static const struct {
	const char *kind, *table, *id;
} kinds[] = {
#define KIND_OF(kind, table, id, cols, ncols, created, late, unchained_ok) {kind, table, id},
	STORE_CHAIN_REWRITTEN(KIND_OF)
#undef KIND_OF
};

const char *ops_vrecs_kind(const char *table, const char **id_col)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (strcmp(kinds[i].table, table) == 0) {
			*id_col = kinds[i].id;
			return kinds[i].kind;
		}
	return NULL;
}

struct ops_vrecs *ops_vrecs_new(void)
{
	struct ops_vrecs *r = xcalloc(1, sizeof(*r));

	r->cap = 64;
	r->slots = xcalloc(r->cap, sizeof(*r->slots));
	r->md = EVP_MD_CTX_new();
	(void)msum_key_init(&r->key); /* broken: ops_vrecs_line fails, nothing is checked */
	return r;
}

void ops_vrecs_free(struct ops_vrecs *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->cap; i++)
		free(r->slots[i].key);
	free(r->slots);
	EVP_MD_CTX_free(r->md);
	msum_key_release(&r->key);
	free(r);
}

/* The slot of key, or the free one where it would go. */
static struct rec *slot_of(struct msum_key *k, struct rec *slots, size_t cap, const char *key,
			   size_t len)
{
	const void *p[1] = {key};
	struct msum h = {{0, 0}, 0};
	size_t i;

	msum_add(k, &h, p, &len, 1);
	i = (size_t)h.v[0] & (cap - 1);

	while (slots[i].key && (slots[i].key_len != len || memcmp(slots[i].key, key, len) != 0))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static void grow(struct ops_vrecs *r)
{
	size_t cap = r->cap * 2;
	struct rec *slots = xcalloc(cap, sizeof(*slots));

	for (size_t i = 0; i < r->cap; i++)
		if (r->slots[i].key)
			*slot_of(&r->key, slots, cap, r->slots[i].key, r->slots[i].key_len) =
				r->slots[i];
	free(r->slots);
	r->slots = slots;
	r->cap = cap;
}

/* The record (kind, id), added when it is not there yet. */
static struct rec *record(struct ops_vrecs *r, const char *kind, const char *id, size_t id_len)
{
	size_t klen = strlen(kind), len = klen + 1 + id_len;
	char *key = xmalloc(len + 1);
	struct rec *s;

	memcpy(key, kind, klen + 1);
	memcpy(key + klen + 1, id, id_len);
	key[len] = '\0';
	if ((r->n + 1) * 2 > r->cap)
		grow(r);
	s = slot_of(&r->key, r->slots, r->cap, key, len);
	if (s->key) {
		free(key);
		return s;
	}
	s->key = key;
	s->key_len = len;
	r->n++;
	return s;
}

bool ops_vrecs_line(struct ops_vrecs *r, const char *kind, const char *id, size_t id_len,
		    const struct ops_entry_text *t)
{
	struct rec *s = record(r, kind, id, id_len);

	s->may_lack = t->may_lack;
	s->has_line = ops_record_sha(r->md, t->p, t->n, s->line, SHA_KEPT);
	return s->has_line && !r->key.broken;
}

void ops_vrecs_entry(struct ops_vrecs *r, const char *kind, const char *id, int64_t seq,
		     const char *rsha)
{
	struct rec *s = record(r, kind, id, strlen(id));

	if (seq <= s->seq)
		return;
	s->seq = seq;
	/* a record_sha256 that is no hash matches no line */
	if (strlen(rsha) != SHA256_HEX_LEN - 1 || !hex_decode(rsha, SHA_KEPT, s->entry))
		memset(s->entry, 0, SHA_KEPT);
}

/* What the record's key names: "approval apr_1". */
static void rec_name(const struct rec *s, char *out, size_t size)
{
	size_t klen = strlen(s->key);

	snprintf(out, size, "%.16s %.80s", s->key, s->key + klen + 1);
}

int64_t ops_vrecs_end(struct ops_vrecs *r, ops_vrecs_fn fn, void *ctx)
{
	int64_t unchained = 0;
	char name[128];

	for (size_t i = 0; i < r->cap; i++) {
		const struct rec *s = &r->slots[i];

		if (!s->key)
			continue;
		if (!s->seq) {
			unchained += s->has_line && !s->may_lack;
			continue;
		}
		rec_name(s, name, sizeof(name));
		if (!s->has_line)
			fn(ctx, s->seq, name, "no line has this id: deleted");
		else if (memcmp(s->line, s->entry, SHA_KEPT) != 0)
			fn(ctx, s->seq, name,
			   "the line differs from the record's newest entry: edited");
	}
	return unchained;
}
