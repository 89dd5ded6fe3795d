/*
 * ed25519.h - Ed25519 keys from PEM files, detached signatures, key ids
 * (SHA-256 of the raw public key) and the base64 they travel in (OpenSSL
 * EVP).  Signed backups use it (docs/backup-format.md).
 */
#ifndef CAVRA_ED25519_H
#define CAVRA_ED25519_H

#include "base/base.h"
#include "base/err.h"
#include "base/hash.h"

#define ED25519_SIG_LEN	    64 /* bytes of a signature */
#define ED25519_SIG_HEX_LEN (2 * ED25519_SIG_LEN + 1) /* as hex, with its NUL */
#define ED25519_PUB_LEN	    32 /* bytes of a raw public key */
#define ED25519_KEY_ID_LEN  SHA256_HEX_LEN /* a key id as hex, with its NUL */
#define ED25519_PEM_MAX	    ((size_t)16 << 10) /* a key file larger than this is refused */

/* A private key (which can also verify) or a public key.  Opaque. */
struct ed25519_key;

/*
 * Reads a PEM "PRIVATE KEY" (PKCS#8) file.  ST_NOT_FOUND when it cannot be
 * read, ST_INVALID when it holds no unencrypted Ed25519 private key (an
 * encrypted one is refused, never prompted for).  The message names the
 * file, never its content.  *out is the caller's (ed25519_key_free).
 */
/* A key from PEM text in memory (tests, keys handed over by other code). */
ATTR_NODISCARD enum status ed25519_key_parse(const char *pem, size_t n, bool is_private,
					     struct ed25519_key **out, struct err *e);
ATTR_NODISCARD enum status ed25519_private_load(const char *path, struct ed25519_key **out,
						struct err *e);
/* Reads a PEM "PUBLIC KEY" (SubjectPublicKeyInfo) file; as ed25519_private_load. */
ATTR_NODISCARD enum status ed25519_public_load(const char *path, struct ed25519_key **out,
					       struct err *e);
/* A public key from its 32 raw bytes; ST_INVALID when OpenSSL refuses them. */
ATTR_NODISCARD enum status ed25519_public_from_raw(const unsigned char raw[ED25519_PUB_LEN],
						   struct ed25519_key **out, struct err *e);
/* Wipes and frees.  NULL-safe. */
void ed25519_key_free(struct ed25519_key *k);

/* The raw public key (of a private key too). */
void ed25519_key_public(const struct ed25519_key *k, unsigned char out[ED25519_PUB_LEN]);
/* SHA-256 of the raw public key, lowercase hex: how a key is named in files and messages. */
void ed25519_key_id(const struct ed25519_key *k, char out[ED25519_KEY_ID_LEN]);

/* Signs msg[0..n) with a private key; ST_INVALID for a public key. */
ATTR_NODISCARD enum status ed25519_sign(const struct ed25519_key *k, const void *msg, size_t n,
					unsigned char sig[ED25519_SIG_LEN], struct err *e);
/* Whether sig[0..siglen) is k's signature of msg[0..n). */
bool ed25519_verify(const struct ed25519_key *k, const void *msg, size_t n,
		    const unsigned char *sig, size_t siglen);

/* Standard base64 (with padding) of p[0..n).  Caller owns, free(). */
char *ed25519_b64_encode(const unsigned char *p, size_t n);
/*
 * Decodes standard padded base64 s into exactly want bytes at out; false
 * for anything else (other length, characters outside the alphabet).
 */
bool ed25519_b64_decode(const char *s, unsigned char *out, size_t want);

#endif
