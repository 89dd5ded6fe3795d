/*
 * seal.c - the sealed text's fields and its HMAC (seal.h).
 */
#include "base/base.h"
#include "base/seal.h"

#include <openssl/crypto.h>
#include <string.h>

bool seal_key_derive(const char *secret, const char *label, struct seal_key *key)
{
	return hmac_sha256(secret, strlen(secret), label, strlen(label), key->k);
}

void seal_field(struct buf *b, const char *v)
{
	if (!v) {
		buf_xadds(b, "-;");
		return;
	}
	buf_xaddf(b, "%zu:", strlen(v));
	buf_xadds(b, v);
	buf_xadds(b, ";");
}

void seal_count(struct buf *b, size_t n)
{
	buf_xaddf(b, "%zu;", n);
}

bool seal_sign(const struct seal_key *key, struct buf *b, char out[SHA256_HEX_LEN])
{
	unsigned char mac[HMAC_SHA256_LEN];
	bool ok = hmac_sha256(key->k, sizeof(key->k), b->data, b->len, mac);

	buf_release(b);
	if (ok)
		hex_encode(mac, sizeof(mac), out);
	return ok;
}

bool seal_matches(const char *stored, const char *expected)
{
	return stored && strlen(stored) == SHA256_HEX_LEN - 1 &&
	       CRYPTO_memcmp(stored, expected, SHA256_HEX_LEN - 1) == 0;
}
