/*
 * msum.h - a keyed multiset hash: the sum, modulo 2^128, of the first 128
 * bits of SHA-256(key, element) over the elements of a multiset.  Two
 * multisets summed with the same random key give equal sums when they are
 * equal, and (but for a chance of about 2^-128) only then, provided the
 * elements were fixed before the key was drawn.  The order in which elements
 * are added does not matter, and the state is two words whatever the count.
 */
#ifndef CAVRA_MSUM_H
#define CAVRA_MSUM_H

#include "base/base.h"

#include <openssl/evp.h>

#define MSUM_KEY_LEN 16

/* A random key and the digest state the sums share (one thread at a time). */
struct msum_key {
	EVP_MD_CTX *md;
	unsigned char key[MSUM_KEY_LEN];
	bool broken; /* a digest or the random key failed: no sum can be trusted */
};

/* A sum of elements: [0] is the low half. */
struct msum {
	uint64_t v[2];
	int64_t n; /* elements added */
};

/* Draws a random key; false (k->broken) when libcrypto fails. */
bool msum_key_init(struct msum_key *k);
void msum_key_release(struct msum_key *k);

/*
 * SHA-256 of the pieces p[0..np) (each of len[i] bytes) into out; false (k->broken) on a
 * libcrypto failure.  Unkeyed: the key is only for msum_add.
 */
bool msum_digest(struct msum_key *k, const void *const *p, const size_t *len, size_t np,
		 unsigned char out[EVP_MAX_MD_SIZE]);

/*
 * s += the element made of the pieces p[0..np): the caller makes the pieces' concatenation
 * unambiguous (fixed widths, or a length before each variable one).
 */
void msum_add(struct msum_key *k, struct msum *s, const void *const *p, const size_t *len,
	      size_t np);

/* a and b hold the same sum of the same number of elements, and k never failed. */
bool msum_equal(const struct msum_key *k, const struct msum *a, const struct msum *b);

#endif
