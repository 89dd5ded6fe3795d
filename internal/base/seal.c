/*
 * seal.c - the sealed text's fields and its HMAC (seal.h).
 */
#include "base/base.h"
#include "base/seal.h"
#include "base/xalloc.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

struct seal_mac {
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
};

struct seal_mac *seal_mac_new(const struct seal_key *key)
{
	char digest[] = "SHA256";
	OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
			  OSSL_PARAM_construct_end()};
	struct seal_mac *m = xcalloc(1, sizeof(*m));

	m->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	m->ctx = m->mac ? EVP_MAC_CTX_new(m->mac) : NULL;
	if (!m->ctx || EVP_MAC_init(m->ctx, key->k, sizeof(key->k), p) != 1) {
		seal_mac_free(m);
		return NULL;
	}
	return m;
}

bool seal_mac_sign(struct seal_mac *m, const struct buf *b, char out[SHA256_HEX_LEN])
{
	unsigned char mac[HMAC_SHA256_LEN];
	size_t n = 0;

	/* a NULL key starts over with the key given to seal_mac_new (OpenSSL 3's EVP_MAC_init) */
	if (EVP_MAC_init(m->ctx, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(m->ctx, (const unsigned char *)b->data, b->len) != 1 ||
	    EVP_MAC_final(m->ctx, mac, &n, sizeof(mac)) != 1 || n != sizeof(mac))
		return false;
	hex_encode(mac, sizeof(mac), out);
	return true;
}

void seal_mac_free(struct seal_mac *m)
{
	if (!m)
		return;
	EVP_MAC_CTX_free(m->ctx);
	EVP_MAC_free(m->mac);
	free(m);
}

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
	char num[24];
	size_t n = strlen(v), k = sizeof(num) - 1;

	/* the length in decimal without vsnprintf: an audit adoption seals a million entries */
	num[k] = '\0';
	num[--k] = ':';
	do {
		num[--k] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	buf_xadds(b, num + k);
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
