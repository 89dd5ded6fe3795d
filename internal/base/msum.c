/*
 * msum.c - the keyed multiset hash of msum.h: what lets a check compare two
 * streams that arrive in different orders (a table in its physical order
 * against the audit chain in seq order, a backup's chain lines in hash
 * order against themselves) without holding either in memory.
 */
#include "base/base.h"
#include "base/hash.h"
#include "base/msum.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

#define MSUM_PIECES 8

bool msum_key_init(struct msum_key *k)
{
	memset(k, 0, sizeof(*k));
	k->md = EVP_MD_CTX_new();
	k->broken = !k->md || RAND_bytes(k->key, MSUM_KEY_LEN) != 1;
	return !k->broken;
}

void msum_key_release(struct msum_key *k)
{
	OPENSSL_cleanse(k->key, MSUM_KEY_LEN);
	EVP_MD_CTX_free(k->md);
	k->md = NULL;
	k->broken = true;
}

bool msum_digest(struct msum_key *k, const void *const *p, const size_t *len, size_t np,
		 unsigned char out[EVP_MAX_MD_SIZE])
{
	unsigned int n = 0;
	bool ok = !k->broken && EVP_DigestInit_ex(k->md, sha256_evp(), NULL) == 1;

	for (size_t i = 0; ok && i < np; i++)
		ok = EVP_DigestUpdate(k->md, p[i], len[i]) == 1;
	ok = ok && EVP_DigestFinal_ex(k->md, out, &n) == 1 && n >= 16;
	if (!ok)
		k->broken = true;
	return ok;
}

void msum_add(struct msum_key *k, struct msum *s, const void *const *p, const size_t *len,
	      size_t np)
{
	const void *pieces[MSUM_PIECES + 1] = {k->key};
	size_t lens[MSUM_PIECES + 1] = {MSUM_KEY_LEN};
	unsigned char md[EVP_MAX_MD_SIZE];
	uint64_t lo = 0, hi = 0;

	if (np > MSUM_PIECES) {
		k->broken = true;
		return;
	}
	memcpy(pieces + 1, p, np * sizeof(*p));
	memcpy(lens + 1, len, np * sizeof(*len));
	if (!msum_digest(k, pieces, lens, np + 1, md))
		return;
	for (int i = 0; i < 8; i++) {
		lo = lo << 8 | md[i];
		hi = hi << 8 | md[8 + i];
	}
	s->v[0] += lo;
	s->v[1] += hi + (s->v[0] < lo);
	s->n++;
}

bool msum_equal(const struct msum_key *k, const struct msum *a, const struct msum *b)
{
	return !k->broken && a->n == b->n && a->v[0] == b->v[0] && a->v[1] == b->v[1];
}
