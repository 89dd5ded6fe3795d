/*
 * auth_token.c - API tokens for agents and CI: "cavra_" + 64 random hex
 * digits, shown once; only the SHA-256 is stored, and stored hashes are
 * compared in constant time.
 */
#include "base/base.h"
#include "auth/auth.h"
#include "base/hash.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#define PREFIX_LEN (sizeof(AUTH_TOKEN_PREFIX) - 1)

/*
 * A fixed prefix lets authn tell an API token from a JWT without parsing it, and lets secret
 * scanners recognise a leaked token.  Hex keeps the token safe in headers, shells and YAML.
 */
enum status auth_token_generate(char out[AUTH_TOKEN_LEN + 1], struct err *e)
{
	unsigned char raw[AUTH_TOKEN_RANDOM_BYTES];

	if (RAND_bytes(raw, (int)sizeof(raw)) != 1)
		return err_set(e, ST_INTERNAL, "api token: openssl RAND_bytes failed");
	memcpy(out, AUTH_TOKEN_PREFIX, PREFIX_LEN);
	hex_encode(raw, sizeof(raw), out + PREFIX_LEN);
	OPENSSL_cleanse(raw, sizeof(raw));
	return ST_OK;
}

bool auth_token_is_api(const char *s)
{
	return strlen(s) == AUTH_TOKEN_LEN && memcmp(s, AUTH_TOKEN_PREFIX, PREFIX_LEN) == 0 &&
	       hex_is_lower(s + PREFIX_LEN, AUTH_TOKEN_LEN - PREFIX_LEN);
}

void auth_token_hash(const char *token, char out[SHA256_HEX_LEN])
{
	sha256_hex(token, strlen(token), out);
}

bool auth_token_hash_equal(const char *a, const char *b)
{
	const size_t n = SHA256_HEX_LEN - 1;

	/* the lengths and alphabet are public; only the digits need constant time */
	if (strlen(a) != n || strlen(b) != n || !hex_is_lower(a, n) || !hex_is_lower(b, n))
		return false;
	return CRYPTO_memcmp(a, b, n) == 0;
}

/*
 * For secrets compared as given (CSRF tokens, login state): the length may leak, the content
 * may not.  An empty secret never matches, so an unset value cannot equal an absent header.
 */
bool auth_secret_equal(const char *a, const char *b)
{
	size_t n;

	if (!a || !b || (n = strlen(a)) != strlen(b) || n == 0)
		return false;
	return CRYPTO_memcmp(a, b, n) == 0;
}
