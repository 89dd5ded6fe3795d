/*
 * ops_vrecs.c - for `ops verify`'s check of a backup's chain (ops_vchain.c), the records
 * chained at every write (approvals, evidence, the registry, the inventory, integrations and
 * API tokens, sessions): only a record's newest entry can match its row, so each line's hash
 * (of its entry form, ops_vform.c) and each record's newest entry (by seq, in whatever order
 * the chain's lines come) are kept by (kind, id) (ops_ktab.c) and compared once both files
 * were read.  A session only decisions made may have no entry: its line is not counted as one
 * without.
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/hash.h"
#include "base/xalloc.h"
#include "store/store_chain.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHA_KEPT 16 /* bytes of a SHA-256 kept */

struct rec {
	unsigned char line[SHA_KEPT], entry[SHA_KEPT];
	int64_t seq; /* the newest entry's; 0: none */
	bool has_line;
	bool may_lack; /* its line may have no entry (a session only decisions made) */
};

struct ops_vrecs {
	struct ops_ktab *keys; /* kind, NUL, id -> struct rec, in the order first met */
	EVP_MD_CTX *md;
	struct buf key; /* the key being looked up */
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

	r->keys = ops_ktab_new(sizeof(struct rec));
	r->md = EVP_MD_CTX_new();
	buf_init(&r->key, BUF_CAP_DEFAULT);
	return r;
}

void ops_vrecs_free(struct ops_vrecs *r)
{
	if (!r)
		return;
	ops_ktab_free(r->keys);
	EVP_MD_CTX_free(r->md);
	buf_release(&r->key);
	free(r);
}

/* The record (kind, id), added when it is not there yet; NULL when the key is too long. */
static struct rec *record(struct ops_vrecs *r, const char *kind, const char *id, size_t id_len)
{
	bool added;

	buf_reset(&r->key);
	if (buf_add(&r->key, kind, strlen(kind) + 1, NULL) != ST_OK ||
	    buf_add(&r->key, id, id_len, NULL) != ST_OK)
		return NULL;
	return ops_ktab_value(r->keys, ops_ktab_put(r->keys, r->key.data, r->key.len, &added));
}

bool ops_vrecs_line(struct ops_vrecs *r, const char *kind, const char *id, size_t id_len,
		    const struct ops_entry_text *t)
{
	struct rec *s = record(r, kind, id, id_len);

	if (!s)
		return false;
	s->may_lack = t->may_lack;
	s->has_line = ops_record_sha(r->md, t->p, t->n, s->line, SHA_KEPT);
	return s->has_line && !ops_ktab_broken(r->keys);
}

void ops_vrecs_entry(struct ops_vrecs *r, const char *kind, const char *id, int64_t seq,
		     const char *rsha)
{
	struct rec *s = record(r, kind, id, strlen(id));

	if (!s || seq <= s->seq)
		return;
	s->seq = seq;
	/* a record_sha256 that is no hash matches no line */
	if (strlen(rsha) != SHA256_HEX_LEN - 1 || !hex_decode(rsha, SHA_KEPT, s->entry))
		memset(s->entry, 0, SHA_KEPT);
}

/* What the record's key names: "approval apr_1". */
static void rec_name(const char *key, char *out, size_t size)
{
	snprintf(out, size, "%.16s %.80s", key, key + strlen(key) + 1);
}

int64_t ops_vrecs_end(struct ops_vrecs *r, ops_vrecs_fn fn, void *ctx)
{
	int64_t unchained = 0;
	char name[128];

	for (size_t i = 0; i < ops_ktab_count(r->keys); i++) {
		const struct rec *s = ops_ktab_value(r->keys, i);

		if (!s->seq) {
			unchained += s->has_line && !s->may_lack;
			continue;
		}
		rec_name(ops_ktab_key(r->keys, i, NULL), name, sizeof(name));
		if (!s->has_line)
			fn(ctx, s->seq, name, "no line has this id: deleted");
		else if (memcmp(s->line, s->entry, SHA_KEPT) != 0)
			fn(ctx, s->seq, name,
			   "the line differs from the record's newest entry: edited");
	}
	return unchained;
}
