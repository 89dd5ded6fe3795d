/*
 * seal.h - HMAC-SHA256 seals over records that a database holds but must not be able to
 * make: a key the database never sees, and a text of length-prefixed fields.
 *
 * Each field goes into the sealed text as "<length>:<bytes>;" (a NULL as "-;"), so no two
 * different lists of fields give the same text: ["a", "b"] and ["ab"] seal differently, and
 * so do a value moved from one field into its neighbour.
 */
#ifndef CAVRA_SEAL_H
#define CAVRA_SEAL_H

#include "base/base.h"
#include "base/buf.h"
#include "base/hash.h"

struct seal_key {
	unsigned char k[HMAC_SHA256_LEN];
};

/* The key of secret for one use, named by label (HMAC-SHA256 of label under secret). */
ATTR_NODISCARD bool seal_key_derive(const char *secret, const char *label, struct seal_key *key);

/* Appends one field (NULL allowed) or a count to the text being sealed. */
void seal_field(struct buf *b, const char *v);
void seal_count(struct buf *b, size_t n);

/* The seal of b's text as lowercase hex into out, and b released; false when OpenSSL fails. */
ATTR_NODISCARD bool seal_sign(const struct seal_key *key, struct buf *b, char out[SHA256_HEX_LEN]);

/* Whether a stored seal (NULL: none) is expected's, compared in constant time. */
bool seal_matches(const char *stored, const char *expected);

#endif
