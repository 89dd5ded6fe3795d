/*
 * ed25519.h - Ed25519 keys, signatures and key ids (OpenSSL libcrypto), for
 * whatever cavra signs: audit checkpoints, backup manifests.
 *
 * Keys are PEM: a private key as "BEGIN PRIVATE KEY" (PKCS#8, what
 * `openssl genpkey -algorithm ed25519` writes), a public key as "BEGIN
 * PUBLIC KEY" (`openssl pkey -pubout`).  Key material is never put into an
 * error message.
 */
#ifndef CAVRA_ED25519_H
#define CAVRA_ED25519_H

#include "base/base.h"
#include "base/err.h"
#include "base/hash.h"

#define ED25519_SIG_LEN	    64
#define ED25519_SIG_HEX_LEN (2 * ED25519_SIG_LEN + 1)

struct ed25519_key;

/*
 * Parses a PEM key from pem[0..n): a private key when want_private, else a
 * public key (a private key is accepted there too: it holds its public
 * half).  ST_INVALID when it is not an Ed25519 key of that kind.  On success
 * *out is the caller's, free with ed25519_key_free.
 */
ATTR_NODISCARD enum status ed25519_key_parse(const char *pem, size_t n, bool want_private,
					     struct ed25519_key **out, struct err *e);
/* ed25519_key_parse of a file's contents; ST_IO when it cannot be read. */
ATTR_NODISCARD enum status ed25519_key_read(const char *path, bool want_private,
					    struct ed25519_key **out, struct err *e);
/* NULL-safe; wipes the key. */
void ed25519_key_free(struct ed25519_key *k);

/*
 * The key id: SHA-256 of the 32 raw public key bytes, as lowercase hex.
 * Same for a private key and its public key.
 */
void ed25519_key_id(const struct ed25519_key *k, char out[SHA256_HEX_LEN]);

/* Signs msg[0..n) into sig; k must be a private key (ST_INVALID if not). */
ATTR_NODISCARD enum status ed25519_sign(const struct ed25519_key *k, const void *msg, size_t n,
					unsigned char sig[ED25519_SIG_LEN], struct err *e);
/* ST_OK when sig is k's signature of msg[0..n), ST_INVALID when it is not. */
ATTR_NODISCARD enum status ed25519_verify(const struct ed25519_key *k, const void *msg, size_t n,
					  const unsigned char sig[ED25519_SIG_LEN], struct err *e);

#endif
