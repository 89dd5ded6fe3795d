/*
 * hash.h - SHA-256 and random bytes as lowercase hex (OpenSSL libcrypto).
 */
#ifndef CAVRA_HASH_H
#define CAVRA_HASH_H

#include "base/base.h"
#include "base/err.h"

#include <openssl/types.h>

#define SHA256_HEX_LEN 65 /* 64 hex digits and the NUL */

/* p[0..n) as 2n lowercase hex digits and a NUL into out (2n+1 bytes). */
void hex_encode(const unsigned char *p, size_t n, char *out);

/* s[0..n) are all lowercase hex digits (0-9, a-f), the alphabet hex_encode writes. */
bool hex_is_lower(const char *s, size_t n);

/*
 * hex_encode's inverse: the 2n lowercase hex digits at s as n bytes into out; false (out
 * partly written) when one of them is not in hex_encode's alphabet.
 */
bool hex_decode(const char *s, size_t n, unsigned char *out);

/*
 * SHA-256 as OpenSSL's EVP_MD, fetched once for the process: EVP_sha256() looks the
 * implementation up again at every digest it starts.
 */
const EVP_MD *sha256_evp(void);

/* SHA-256 of p[0..n) as lowercase hex into out (SHA256_HEX_LEN bytes). */
void sha256_hex(const void *p, size_t n, char out[SHA256_HEX_LEN]);

/*
 * FNV-1a, 64 bits, of p[0..n): for hash tables whose keys are compared anyway (not a
 * cryptographic hash: keys chosen by an adversary may all collide).
 */
uint64_t hash_fnv1a(const void *p, size_t n);

#define HMAC_SHA256_LEN 32

/* HMAC-SHA256 of p[0..n) keyed with key[0..klen) into out; false when OpenSSL fails. */
ATTR_NODISCARD bool hmac_sha256(const void *key, size_t klen, const void *p, size_t n,
				unsigned char out[HMAC_SHA256_LEN]);

/* Fills out with n random bytes as 2n lowercase hex digits (out holds 2n+1). */
ATTR_NODISCARD enum status random_hex(char *out, size_t n, struct err *e);

#endif
