/*
 * ops_dechash.c - the record hashes of a restore's decision lines, kept while
 * the lines load so that the check of the restored chain compares each entry's
 * record_sha256 with them instead of reading every decision back.  One entry
 * is 24 bytes (a 64-bit hash of the decision id and the first 128 bits of the
 * line's SHA-256), plus one bit for "an entry named it" and, once sorted, a
 * directory of about one byte: 25 MB per million decisions, allocated once
 * for the manifest's row count.
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/hash.h"
#include "base/xalloc.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define SHA_KEPT	  16 /* bytes of the line's SHA-256 kept */
#define DECHASH_FIRST_CAP ((size_t)1 << 16) /* items before the first growth */

struct dec_hash {
	uint64_t id_key;
	unsigned char sha[SHA_KEPT];
};

struct ops_decision_hashes {
	struct dec_hash *items;
	unsigned char *named; /* one bit per item: a chain entry named it */
	/*
	 * Once sorted: dir[b] is the first item whose key's top dir_bits bits are b (and
	 * dir[1 << dir_bits] is n), about four items a bucket, so that a look-up reads one
	 * directory entry and a few neighbouring items instead of binary-searching the whole
	 * array, whose lower levels miss the cache at every step (24 MB a million).
	 */
	uint32_t *dir;
	unsigned dir_bits;
	size_t n, cap, nnamed, expected;
	EVP_MD_CTX *md;
	bool sorted, overflow;
};

/* FNV-1a, 64 bits: equal keys are told apart by the hash, so collisions cost a compare only. */
static uint64_t id_key(const char *id, size_t n)
{
	return hash_fnv1a(id, n);
}

/* Twice the room, at most what the manifest said. */
static void grow(struct ops_decision_hashes *h)
{
	size_t cap = h->cap * 2 < h->expected ? h->cap * 2 : h->expected;

	h->items = xrealloc(h->items, cap * sizeof(*h->items));
	h->named = xrealloc(h->named, cap / 8 + 1);
	memset(h->named + h->cap / 8 + 1, 0, cap / 8 - h->cap / 8);
	h->cap = cap;
}

struct ops_decision_hashes *ops_decision_hashes_new(int64_t expected)
{
	struct ops_decision_hashes *h = xcalloc(1, sizeof(*h));

	h->expected = expected > 0 ? (size_t)expected : 1;
	/* the directory holds 32-bit positions: more lines are not kept (the walk reads rows) */
	h->overflow = h->expected > UINT32_MAX;
	/*
	 * The manifest's row count is only checked against the lines as they load: it sizes
	 * nothing up front (4,000,000,000 would ask for 96 GB), the arrays grow with the lines.
	 */
	h->cap = h->overflow || h->expected > DECHASH_FIRST_CAP ? DECHASH_FIRST_CAP : h->expected;
	h->items = xcalloc(h->cap, sizeof(*h->items));
	h->named = xcalloc(h->cap / 8 + 1, 1);
	h->md = EVP_MD_CTX_new();
	return h;
}

void ops_decision_hashes_free(struct ops_decision_hashes *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->md);
	free(h->items);
	free(h->named);
	free(h->dir);
	free(h);
}

void ops_decision_hashes_add(struct ops_decision_hashes *h, const char *id, size_t id_len,
			     const char *line, size_t len)
{
	struct dec_hash *d;

	if (h->n == h->expected || !h->md) {
		h->overflow = true; /* more lines than the manifest said: the load fails anyway */
		return;
	}
	if (h->n == h->cap)
		grow(h);
	d = &h->items[h->n];
	if (!ops_record_sha(h->md, line, len, d->sha, SHA_KEPT)) {
		h->overflow = true;
		return;
	}
	d->id_key = id_key(id, id_len);
	h->n++;
	h->sorted = false;
}

bool ops_record_sha(EVP_MD_CTX *md, const char *line, size_t len, unsigned char *out, size_t n)
{
	unsigned char full[EVP_MAX_MD_SIZE];
	unsigned int got = 0;

	if (!md || EVP_DigestInit_ex(md, sha256_evp(), NULL) != 1 ||
	    EVP_DigestUpdate(md, line, len) != 1 || EVP_DigestUpdate(md, "\n", 1) != 1 ||
	    EVP_DigestFinal_ex(md, full, &got) != 1 || got < n)
		return false;
	memcpy(out, full, n);
	return true;
}

bool ops_decision_hashes_usable(const struct ops_decision_hashes *h)
{
	return h && !h->overflow;
}

static int by_key(const void *a, const void *b)
{
	const struct dec_hash *x = a, *y = b;

	if (x->id_key != y->id_key)
		return x->id_key < y->id_key ? -1 : 1;
	return memcmp(x->sha, y->sha, SHA_KEPT);
}

static size_t bucket_of(const struct ops_decision_hashes *h, uint64_t k)
{
	return h->dir_bits ? (size_t)(k >> (64 - h->dir_bits)) : 0;
}

/* Sorts the items by key and builds the directory over them. */
static void sort_items(struct ops_decision_hashes *h)
{
	size_t nb, b = 0;

	qsort(h->items, h->n, sizeof(*h->items), by_key);
	h->dir_bits = 0;
	while (h->dir_bits < 30 && ((size_t)4 << h->dir_bits) < h->n)
		h->dir_bits++;
	nb = (size_t)1 << h->dir_bits;
	free(h->dir);
	h->dir = xcalloc(nb + 1, sizeof(*h->dir));
	for (size_t i = 0; i < h->n; i++)
		for (size_t want = bucket_of(h, h->items[i].id_key); b <= want; b++)
			h->dir[b] = (uint32_t)i;
	for (; b <= nb; b++)
		h->dir[b] = (uint32_t)h->n;
	h->sorted = true;
}

/* The first item whose key is k, or h->n. */
static size_t first_of(const struct ops_decision_hashes *h, uint64_t k)
{
	size_t lo = h->dir[bucket_of(h, k)], hi = h->dir[bucket_of(h, k) + 1];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (h->items[mid].id_key < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

enum ops_dechash_match ops_decision_hashes_match(struct ops_decision_hashes *h, const char *id,
						 const char *sha_hex)
{
	unsigned char want[SHA_KEPT];
	uint64_t k = id_key(id, strlen(id));
	enum ops_dechash_match m = OPS_DECHASH_MISSING;

	if (!h->sorted)
		sort_items(h);
	if (strlen(sha_hex) != SHA256_HEX_LEN - 1 || !hex_decode(sha_hex, SHA_KEPT, want))
		return h->n && first_of(h, k) < h->n && h->items[first_of(h, k)].id_key == k
			       ? OPS_DECHASH_DIFFERS
			       : OPS_DECHASH_MISSING;
	for (size_t i = first_of(h, k); i < h->n && h->items[i].id_key == k; i++) {
		m = OPS_DECHASH_DIFFERS;
		if (memcmp(h->items[i].sha, want, SHA_KEPT) != 0)
			continue;
		if (!(h->named[i / 8] & (1u << (i % 8)))) {
			h->named[i / 8] |= (unsigned char)(1u << (i % 8));
			h->nnamed++;
		}
		return OPS_DECHASH_MATCHES;
	}
	return m;
}

bool ops_decision_hashes_all_named(const struct ops_decision_hashes *h)
{
	return h->nnamed == h->n;
}

int64_t ops_decision_hashes_unnamed(const struct ops_decision_hashes *h)
{
	return (int64_t)(h->n - h->nnamed);
}
