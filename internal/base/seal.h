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

/*
 * The keys of one use: now seals and is accepted; before (when before_set), the key being
 * rotated out, is still accepted (the API tokens' in docs/security.md#sealed-tokens, the audit
 * chain's in docs/audit.md#sealed-entries).
 */
struct seal_keys {
	struct seal_key now, before;
	bool before_set;
};

/* The key of secret for one use, named by label (HMAC-SHA256 of label under secret). */
ATTR_NODISCARD bool seal_key_derive(const char *secret, const char *label, struct seal_key *key);

/* Appends one field (NULL allowed) or a count to the text being sealed. */
void seal_field(struct buf *b, const char *v);
void seal_count(struct buf *b, size_t n);

/* The seal of b's text as lowercase hex into out, and b released; false when OpenSSL fails. */
ATTR_NODISCARD bool seal_sign(const struct seal_key *key, struct buf *b, char out[SHA256_HEX_LEN]);

/*
 * One key's HMAC set up once for many texts: about a quarter of seal_sign's cost a text, for a
 * verification of a million seals.  One thread at a time.
 */
struct seal_mac;
/* NULL when OpenSSL fails. */
struct seal_mac *seal_mac_new(const struct seal_key *key);
/* The HMAC of b's text as lowercase hex into out (b kept); false when OpenSSL fails. */
ATTR_NODISCARD bool seal_mac_sign(struct seal_mac *m, const struct buf *b,
				  char out[SHA256_HEX_LEN]);
void seal_mac_free(struct seal_mac *m);

/* Whether a stored seal (NULL: none) is expected's, compared in constant time. */
bool seal_matches(const char *stored, const char *expected);

#endif
