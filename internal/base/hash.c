/*
 * hash.c - SHA-256 digests and random identifiers, both written as
 * lowercase hex, on top of OpenSSL's EVP and RAND.
 */
#include "base/base.h"
#include "base/hash.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>

void hex_encode(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool hex_decode(const char *s, size_t n, unsigned char *out)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hex_value(s[2 * i]), lo = hi < 0 ? -1 : hex_value(s[2 * i + 1]);

		if (lo < 0)
			return false;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

bool hex_is_lower(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/*
 * EVP_sha256() makes OpenSSL 3 look the implementation up (locks and a property query) on
 * every digest, about half the cost of hashing a short text; the one fetched here serves
 * the process's life.  A failed fetch falls back to that lookup.
 */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

/* Runs before OpenSSL's own clean-up at exit, which was registered before it. */
static void sha256_free(void)
{
	EVP_MD_free(sha256_md);
	sha256_md = NULL;
}

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (sha256_md && atexit(sha256_free) != 0)
		sha256_free();
}

const EVP_MD *sha256_evp(void)
{
	pthread_once(&sha256_once, sha256_fetch);
	return sha256_md ? sha256_md : EVP_sha256();
}

void sha256_hex(const void *p, size_t n, char out[SHA256_HEX_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	EVP_Digest(p, n, md, &mdlen, sha256_evp(), NULL);
	hex_encode(md, mdlen, out);
}

bool hmac_sha256(const void *key, size_t klen, const void *p, size_t n,
		 unsigned char out[HMAC_SHA256_LEN])
{
	size_t outlen = 0;

	return EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, klen, p, n, out, HMAC_SHA256_LEN,
			 &outlen) != NULL &&
	       outlen == HMAC_SHA256_LEN;
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

uint64_t hash_fnv1a(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}
