/*
 * hash.c - SHA-256 digests and random identifiers, both written as
 * lowercase hex, on top of OpenSSL's EVP and RAND.
 */
#include "base/base.h"
#include "base/hash.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

void hex_encode(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

bool hex_is_lower(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

void sha256_hex(const void *p, size_t n, char out[SHA256_HEX_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL);
	hex_encode(md, mdlen, out);
}

enum status random_hex(char *out, size_t n, struct err *e)
{
	unsigned char raw[64];

	if (n > sizeof(raw))
		return err_set(e, ST_INTERNAL, "random_hex: %zu bytes is too many", n);
	if (RAND_bytes(raw, (int)n) != 1)
		return err_set(e, ST_INTERNAL, "random bytes: openssl RAND_bytes failed");
	hex_encode(raw, n, out);
	return ST_OK;
}
