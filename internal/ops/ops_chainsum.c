/*
 * ops_chainsum.c - the restored chain proved from its lines as they load, in
 * constant memory, so that the check after a restore need not read the chain
 * back.  Each line's hash is recomputed from its link, each decision entry is
 * matched against the decision lines' record hashes (ops_dechash.c), and the
 * links between lines, which need not arrive in seq order (a backup before
 * format v4 lists them in hash order), are checked all at once: the multiset
 * of (seq, prev_hash) of every line plus (head seq + 1, head hash) must equal
 * the multiset of (seq + 1, hash) of every line plus (1, genesis).  Both are
 * summed as 128-bit numbers of a keyed SHA-256 of each pair, the key drawn at
 * random for the restore, so that no backup can be made whose sums agree
 * while its pairs do not.  Equal multisets with as many lines as the head's
 * seq are exactly a chain 1..seq from the genesis to the head, each line
 * following the one before (docs/audit.md).  Anything less proves nothing,
 * and the caller walks the restored chain in the database instead, which
 * names each break.
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "store/store_chain.h"
#include "base/hash.h"
#include "base/msum.h"
#include "base/num.h"
#include "base/xalloc.h"

#include <stdlib.h>
#include <string.h>

#define SEQ_BYTES 7
#define SEQ_LIMIT ((int64_t)1 << 56)
#define HASH_LEN  32
#define KIND_MAX  16

struct ops_chain_lines {
	struct ops_decision_hashes *known; /* borrowed */
	struct msum_key key;
	struct msum prev_sum, hash_sum;
	int64_t n;
	struct buf link;
	bool broken;
};

struct ops_chain_lines *ops_chain_lines_new(struct ops_decision_hashes *known)
{
	struct ops_chain_lines *c = xcalloc(1, sizeof(*c));

	c->known = known;
	buf_init(&c->link, BUF_CAP_DEFAULT);
	c->broken = !msum_key_init(&c->key) || !ops_decision_hashes_usable(known);
	return c;
}

void ops_chain_lines_free(struct ops_chain_lines *c)
{
	if (!c)
		return;
	msum_key_release(&c->key);
	buf_release(&c->link);
	free(c);
}

void ops_chain_lines_fail(struct ops_chain_lines *c)
{
	c->broken = true;
}

/* sum += (seq, hash): seq as 7 bytes, big-endian (the caller keeps it below 2^56), then hash. */
static void add_pair(struct ops_chain_lines *c, struct msum *sum, uint64_t seq,
		     const unsigned char hash[HASH_LEN])
{
	unsigned char be[SEQ_BYTES];
	const void *p[2] = {be, hash};
	const size_t len[2] = {sizeof(be), HASH_LEN};

	for (int i = 0; i < SEQ_BYTES; i++)
		be[i] = (unsigned char)(seq >> (8 * (SEQ_BYTES - 1 - i)));
	msum_add(&c->key, sum, p, len, 2);
}

/* A value of n bytes into out (cap bytes) with its NUL; false when it does not fit. */
static bool text(const char *v, size_t n, char *out, size_t cap)
{
	if (!v || n >= cap || memchr(v, '\0', n))
		return false;
	memcpy(out, v, n);
	out[n] = '\0';
	return true;
}

/* A hash's 64 lowercase hex digits as its 32 bytes. */
static bool unhex(const char *s, unsigned char out[HASH_LEN])
{
	return strlen(s) == (size_t)2 * HASH_LEN && hex_decode(s, HASH_LEN, out);
}

/* One line's link as text, each value with its NUL (id: owned). */
struct line_text {
	int64_t seq;
	char kind[KIND_MAX], rsha[SHA256_HEX_LEN], prev[SHA256_HEX_LEN], hash[SHA256_HEX_LEN];
	char *id;
};

static bool line_parse(const char *const v[OPS_CHAIN_LINE_COLS],
		       const size_t n[OPS_CHAIN_LINE_COLS], struct line_text *t)
{
	char seq[24];

	if (!text(v[0], n[0], seq, sizeof(seq)) || !str_to_i64(seq, 1, SEQ_LIMIT - 2, &t->seq))
		return false;
	if (!text(v[1], n[1], t->kind, sizeof(t->kind)) ||
	    !text(v[3], n[3], t->rsha, sizeof(t->rsha)) ||
	    !text(v[4], n[4], t->prev, sizeof(t->prev)) ||
	    !text(v[5], n[5], t->hash, sizeof(t->hash)) || !v[2])
		return false;
	t->id = xmalloc(n[2] + 1);
	return text(v[2], n[2], t->id, n[2] + 1);
}

/* The line's own hash (its bytes into md), and its record when it is a decision. */
static bool line_holds(struct ops_chain_lines *c, const struct line_text *t,
		       unsigned char md[EVP_MAX_MD_SIZE])
{
	char hex[SHA256_HEX_LEN];
	const void *p;
	size_t len;

	buf_reset(&c->link);
	if (store_chain_link_bytes(&c->link, t->seq, t->kind, t->id, t->rsha, t->prev, NULL) !=
	    ST_OK)
		return false;
	p = c->link.data;
	len = c->link.len;
	if (!msum_digest(&c->key, &p, &len, 1, md))
		return false;
	hex_encode(md, HASH_LEN, hex);
	if (strcmp(hex, t->hash) != 0)
		return false;
	return strcmp(t->kind, "decision") != 0 ||
	       ops_decision_hashes_match(c->known, t->id, t->rsha) == OPS_DECHASH_MATCHES;
}

void ops_chain_lines_add(struct ops_chain_lines *c, const char *const v[OPS_CHAIN_LINE_COLS],
			 const size_t n[OPS_CHAIN_LINE_COLS])
{
	struct line_text t = {0};
	unsigned char md[EVP_MAX_MD_SIZE], prev[HASH_LEN];

	if (c->broken)
		return;
	c->broken = !line_parse(v, n, &t) || !unhex(t.prev, prev) || !line_holds(c, &t, md);
	free(t.id);
	if (c->broken)
		return;
	add_pair(c, &c->prev_sum, (uint64_t)t.seq, prev);
	add_pair(c, &c->hash_sum, (uint64_t)t.seq + 1, md);
	c->n++;
}

bool ops_chain_lines_prove(struct ops_chain_lines *c, int64_t head_seq, const char *head_hash)
{
	unsigned char head[HASH_LEN], genesis[HASH_LEN];
	struct msum prev, hash;

	if (!c || c->broken || head_seq < 0 || head_seq >= SEQ_LIMIT - 1 || c->n != head_seq ||
	    !unhex(head_hash, head) || !unhex(store_chain_genesis, genesis))
		return false;
	prev = c->prev_sum;
	hash = c->hash_sum;
	add_pair(c, &prev, (uint64_t)head_seq + 1, head);
	add_pair(c, &hash, 1, genesis);
	return msum_equal(&c->key, &prev, &hash);
}
