/*
 * ed25519.c - Ed25519 signing and verification on OpenSSL's EVP: keys read
 * from PEM files, key ids as the SHA-256 of the raw public key, and the
 * base64 that signatures and public keys are written in.
 */
#include "base/base.h"
#include "base/buf.h"
#include "base/ed25519.h"
#include "base/files.h"
#include "base/xalloc.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>

struct ed25519_key {
	EVP_PKEY *pkey;
	bool is_private;
};

/* OpenSSL's reason for the last failure into why, and its queue emptied. */
static void openssl_reason(char *why, size_t size)
{
	unsigned long code = ERR_peek_last_error();

	if (code)
		ERR_error_string_n(code, why, size);
	else
		snprintf(why, size, "no key found");
	ERR_clear_error();
}

/*
 * Never asks for a passphrase: a command run from cron must not wait on a
 * terminal, so an encrypted key is simply not readable.
 */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	UNUSED(buf);
	UNUSED(size);
	UNUSED(rwflag);
	UNUSED(u);
	return -1;
}

static EVP_PKEY *pem_parse(const char *pem, size_t n, bool is_private)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)n);
	EVP_PKEY *k = NULL;

	if (bio)
		k = is_private ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)
			       : PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	return k;
}

/* Checks that a parsed PEM is an Ed25519 key; name says where it came from. */
static enum status key_from_pem(const char *pem, size_t n, bool is_private, const char *name,
				struct ed25519_key **out, struct err *e)
{
	const char *what = is_private ? "an Ed25519 private key" : "an Ed25519 public key";
	EVP_PKEY *k = pem_parse(pem, n, is_private);
	char why[160];

	if (!k) {
		openssl_reason(why, sizeof(why));
		return err_set(e, ST_INVALID, "'%s' is not %s in PEM (%s)", name, what, why);
	}
	if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(k);
		return err_set(e, ST_INVALID, "'%s' is not %s (another key type)", name, what);
	}
	*out = xcalloc(1, sizeof(**out));
	(*out)->pkey = k;
	(*out)->is_private = is_private;
	return ST_OK;
}

/* The file's bytes are wiped before they are freed: a private key's file holds the secret. */
static enum status key_load(const char *path, bool is_private, struct ed25519_key **out,
			    struct err *e)
{
	struct buf pem = BUF_INIT;
	enum status st;

	*out = NULL;
	st = file_read(path, ED25519_PEM_MAX, &pem, e);
	if (st != ST_OK) {
		buf_release(&pem);
		return st == ST_TOO_LARGE
			       ? err_set(e, ST_INVALID, "'%s' is not %s (over %zu bytes)", path,
					 is_private ? "an Ed25519 private key"
						    : "an Ed25519 public key",
					 ED25519_PEM_MAX)
			       : err_ctx(ST_NOT_FOUND, e, "read key file");
	}
	st = key_from_pem(pem.data, pem.len, is_private, path, out, e);
	OPENSSL_cleanse(pem.data, pem.len);
	buf_release(&pem);
	return st;
}

enum status ed25519_key_parse(const char *pem, size_t n, bool is_private, struct ed25519_key **out,
			      struct err *e)
{
	*out = NULL;
	if (n > ED25519_PEM_MAX)
		return err_set(e, ST_INVALID, "key text over %zu bytes", ED25519_PEM_MAX);
	return key_from_pem(pem, n, is_private, "key text", out, e);
}

enum status ed25519_private_load(const char *path, struct ed25519_key **out, struct err *e)
{
	return key_load(path, true, out, e);
}

enum status ed25519_public_load(const char *path, struct ed25519_key **out, struct err *e)
{
	return key_load(path, false, out, e);
}

enum status ed25519_public_from_raw(const unsigned char raw[ED25519_PUB_LEN],
				    struct ed25519_key **out, struct err *e)
{
	EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, ED25519_PUB_LEN);

	*out = NULL;
	if (!k) {
		ERR_clear_error();
		return err_set(e, ST_INVALID, "not an Ed25519 public key");
	}
	*out = xcalloc(1, sizeof(**out));
	(*out)->pkey = k;
	return ST_OK;
}

/* EVP_PKEY_free wipes the key material itself. */
void ed25519_key_free(struct ed25519_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

void ed25519_key_public(const struct ed25519_key *k, unsigned char out[ED25519_PUB_LEN])
{
	size_t n = ED25519_PUB_LEN;

	/* an Ed25519 EVP_PKEY always has one; zeros would name no key anyone holds */
	if (EVP_PKEY_get_raw_public_key(k->pkey, out, &n) != 1 || n != ED25519_PUB_LEN)
		memset(out, 0, ED25519_PUB_LEN);
}

void ed25519_key_id(const struct ed25519_key *k, char out[ED25519_KEY_ID_LEN])
{
	unsigned char raw[ED25519_PUB_LEN];

	ed25519_key_public(k, raw);
	sha256_hex(raw, sizeof(raw), out);
}

/* Ed25519 hashes the message itself: the digest is NULL and the message goes in one call. */
enum status ed25519_sign(const struct ed25519_key *k, const void *msg, size_t n,
			 unsigned char sig[ED25519_SIG_LEN], struct err *e)
{
	EVP_MD_CTX *ctx;
	size_t len = ED25519_SIG_LEN;
	char why[160];
	int ok;

	if (!k->is_private)
		return err_set(e, ST_INVALID, "sign: a public key cannot sign");
	ctx = EVP_MD_CTX_new();
	ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
	     EVP_DigestSign(ctx, sig, &len, msg, n) == 1 && len == ED25519_SIG_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		openssl_reason(why, sizeof(why));
		return err_set(e, ST_INTERNAL, "ed25519 sign: %s", why);
	}
	return ST_OK;
}

bool ed25519_verify(const struct ed25519_key *k, const void *msg, size_t n,
		    const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *ctx;
	bool ok;

	if (siglen != ED25519_SIG_LEN)
		return false;
	ctx = EVP_MD_CTX_new();
	ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
	     EVP_DigestVerify(ctx, sig, siglen, msg, n) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

char *ed25519_b64_encode(const unsigned char *p, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

/*
 * Strict by re-encoding: EVP_DecodeBlock alone skips blanks and pads the
 * output, so the one spelling this module writes is the only one accepted.
 */
bool ed25519_b64_decode(const char *s, unsigned char *out, size_t want)
{
	size_t len = strlen(s), enc_len = 4 * ((want + 2) / 3);
	unsigned char *tmp;
	char *again;
	bool ok;

	if (len != enc_len)
		return false;
	tmp = xmalloc(len / 4 * 3 + 1);
	ok = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)len) >= (int)want;
	if (ok) {
		again = ed25519_b64_encode(tmp, want);
		ok = strcmp(again, s) == 0;
		free(again);
	}
	if (ok)
		memcpy(out, tmp, want);
	free(tmp);
	return ok;
}
