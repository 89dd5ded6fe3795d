/*
 * ed25519.c - Ed25519 through OpenSSL's EVP interface: PEM keys in, raw
 * 64-byte signatures out.  Ed25519 hashes the message itself, so the
 * DigestSign calls get a NULL digest and sign in one shot.
 */
#include "base/base.h"
#include "base/ed25519.h"
#include "base/buf.h"
#include "base/files.h"
#include "base/xalloc.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <stdlib.h>
#include <string.h>

#define KEY_FILE_CAP 16384 /* a PEM key is a few hundred bytes */

struct ed25519_key {
	EVP_PKEY *pkey;
	bool is_private;
};

/* Drains OpenSSL's queue so a stale entry is not reported later against another call. */
static enum status ossl_fail(struct err *e, enum status code, const char *what)
{
	unsigned long ec = ERR_get_error();
	char msg[160] = "unknown error";

	if (ec)
		ERR_error_string_n(ec, msg, sizeof(msg));
	ERR_clear_error();
	return err_set(e, code, "%s: %s", what, msg);
}

static EVP_PKEY *pem_load(const char *pem, size_t n, bool want_private)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)n);
	EVP_PKEY *pk = NULL;

	if (!bio)
		return NULL;
	pk = want_private ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
			  : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	if (!pk && !want_private) {
		/* a private key file also names its public key */
		ERR_clear_error();
		(void)BIO_reset(bio);
		pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	}
	BIO_free(bio);
	return pk;
}

enum status ed25519_key_parse(const char *pem, size_t n, bool want_private,
			      struct ed25519_key **out, struct err *e)
{
	struct ed25519_key *k;
	EVP_PKEY *pk;
	size_t len = 32;
	unsigned char raw[32];

	if (n > KEY_FILE_CAP)
		return err_set(e, ST_INVALID, "key is too large for an ed25519 key");
	pk = pem_load(pem, n, want_private);
	if (!pk)
		return ossl_fail(e, ST_INVALID,
				 want_private ? "not a PEM private key" : "not a PEM public key");
	if (EVP_PKEY_id(pk) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(pk);
		return err_set(e, ST_INVALID, "key is not an ed25519 key");
	}
	k = xcalloc(1, sizeof(*k));
	k->pkey = pk;
	k->is_private = EVP_PKEY_get_raw_private_key(pk, raw, &len) == 1;
	OPENSSL_cleanse(raw, sizeof(raw));
	ERR_clear_error();
	*out = k;
	return ST_OK;
}

enum status ed25519_key_read(const char *path, bool want_private, struct ed25519_key **out,
			     struct err *e)
{
	struct buf b;
	enum status st;

	buf_init(&b, KEY_FILE_CAP);
	st = file_read(path, KEY_FILE_CAP, &b, e);
	if (st == ST_OK)
		st = ed25519_key_parse(b.data, b.len, want_private, out, e);
	if (st != ST_OK)
		err_wrap(e, "key '%s'", path);
	OPENSSL_cleanse(b.data, b.len);
	buf_release(&b);
	return st;
}

void ed25519_key_free(struct ed25519_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey); /* OpenSSL clears private key material on free */
	free(k);
}

void ed25519_key_id(const struct ed25519_key *k, char out[SHA256_HEX_LEN])
{
	unsigned char raw[32] = {0};
	size_t len = sizeof(raw);

	if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &len) != 1) {
		ERR_clear_error();
		len = 0;
	}
	sha256_hex(raw, len, out);
}

enum status ed25519_sign(const struct ed25519_key *k, const void *msg, size_t n,
			 unsigned char sig[ED25519_SIG_LEN], struct err *e)
{
	EVP_MD_CTX *ctx;
	size_t len = ED25519_SIG_LEN;
	enum status st = ST_OK;

	if (!k->is_private)
		return err_set(e, ST_INVALID, "signing needs a private key, got a public key");
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &len, msg, n) != 1 || len != ED25519_SIG_LEN)
		st = ossl_fail(e, ST_INTERNAL, "ed25519 sign");
	EVP_MD_CTX_free(ctx);
	return st;
}

enum status ed25519_verify(const struct ed25519_key *k, const void *msg, size_t n,
			   const unsigned char sig[ED25519_SIG_LEN], struct err *e)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	enum status st = ST_OK;
	int ok;

	if (!ctx || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) != 1) {
		EVP_MD_CTX_free(ctx);
		return ossl_fail(e, ST_INTERNAL, "ed25519 verify");
	}
	ok = EVP_DigestVerify(ctx, sig, ED25519_SIG_LEN, msg, n);
	if (ok != 1) {
		ERR_clear_error();
		st = err_set(e, ST_INVALID, "signature does not match the key");
	}
	EVP_MD_CTX_free(ctx);
	return st;
}
