/* Unit tests for internal/base/ed25519.c: PEM keys, sign/verify, key ids, strict base64. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "base/ed25519.h"
#include "base/hash.h"
#include "base/xalloc.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

struct keys {
	char dir[40];
	char *priv, *pub, *other_priv, *garbage, *missing;
};

static void write_key(const char *path, EVP_PKEY *k, bool priv)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(priv ? PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL)
			      : PEM_write_PUBKEY(f, k),
			 1);
	fclose(f);
}

static int setup(void **state)
{
	struct keys *x = xcalloc(1, sizeof(*x));
	EVP_PKEY *a = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *b = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	FILE *f;

	snprintf(x->dir, sizeof(x->dir), "%s", "/tmp/cavra-ed25519-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	x->priv = xasprintf("%s/a.pem", x->dir);
	x->pub = xasprintf("%s/a.pub.pem", x->dir);
	x->other_priv = xasprintf("%s/b.pem", x->dir);
	x->garbage = xasprintf("%s/garbage.pem", x->dir);
	x->missing = xasprintf("%s/missing.pem", x->dir);
	write_key(x->priv, a, true);
	write_key(x->pub, a, false);
	write_key(x->other_priv, b, true);
	f = fopen(x->garbage, "w");
	assert_non_null(f);
	fputs("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n", f);
	fclose(f);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct keys *x = *state;

	unlink(x->priv);
	unlink(x->pub);
	unlink(x->other_priv);
	unlink(x->garbage);
	rmdir(x->dir);
	free(x->priv);
	free(x->pub);
	free(x->other_priv);
	free(x->garbage);
	free(x->missing);
	free(x);
	return 0;
}

static const char msg[] = "{\n  \"schema_version\": \"cavra.persistent_api.backup.v2\"\n}\n";

static void test_round_trip_and_key_ids(void **state)
{
	struct keys *x = *state;
	struct ed25519_key *priv = NULL, *pub = NULL;
	unsigned char sig[ED25519_SIG_LEN], raw[ED25519_PUB_LEN];
	char id_priv[ED25519_KEY_ID_LEN], id_pub[ED25519_KEY_ID_LEN], id_raw[ED25519_KEY_ID_LEN];
	struct err e = {0};

	assert_int_equal(ed25519_private_load(x->priv, &priv, &e), ST_OK);
	assert_int_equal(ed25519_public_load(x->pub, &pub, &e), ST_OK);
	assert_int_equal(ed25519_sign(priv, msg, strlen(msg), sig, &e), ST_OK);
	assert_true(ed25519_verify(pub, msg, strlen(msg), sig, sizeof(sig)));
	assert_true(ed25519_verify(priv, msg, strlen(msg), sig, sizeof(sig)));
	/* the id is the SHA-256 of the raw public key, the same from either file */
	ed25519_key_id(priv, id_priv);
	ed25519_key_id(pub, id_pub);
	ed25519_key_public(pub, raw);
	sha256_hex(raw, sizeof(raw), id_raw);
	assert_string_equal(id_priv, id_pub);
	assert_string_equal(id_pub, id_raw);
	/* a public key cannot sign */
	assert_int_equal(ed25519_sign(pub, msg, strlen(msg), sig, &e), ST_INVALID);
	ed25519_key_free(priv);
	ed25519_key_free(pub);
	ed25519_key_free(NULL);
}

static void test_wrong_key_and_flipped_bytes(void **state)
{
	struct keys *x = *state;
	struct ed25519_key *a = NULL, *b = NULL;
	unsigned char sig[ED25519_SIG_LEN];
	char copy[sizeof(msg)];
	char id_a[ED25519_KEY_ID_LEN], id_b[ED25519_KEY_ID_LEN];
	struct err e = {0};

	assert_int_equal(ed25519_private_load(x->priv, &a, &e), ST_OK);
	assert_int_equal(ed25519_private_load(x->other_priv, &b, &e), ST_OK);
	ed25519_key_id(a, id_a);
	ed25519_key_id(b, id_b);
	assert_string_not_equal(id_a, id_b);
	assert_int_equal(ed25519_sign(a, msg, strlen(msg), sig, &e), ST_OK);
	assert_false(ed25519_verify(b, msg, strlen(msg), sig, sizeof(sig)));
	memcpy(copy, msg, sizeof(msg));
	copy[5] ^= 1;
	assert_false(ed25519_verify(a, copy, strlen(copy), sig, sizeof(sig)));
	assert_false(ed25519_verify(a, msg, strlen(msg) - 1, sig, sizeof(sig)));
	sig[0] ^= 0x80;
	assert_false(ed25519_verify(a, msg, strlen(msg), sig, sizeof(sig)));
	sig[0] ^= 0x80;
	assert_true(ed25519_verify(a, msg, strlen(msg), sig, sizeof(sig)));
	assert_false(ed25519_verify(a, msg, strlen(msg), sig, sizeof(sig) - 1));
	ed25519_key_free(a);
	ed25519_key_free(b);
}

static void test_bad_pem(void **state)
{
	struct keys *x = *state;
	struct ed25519_key *k = NULL;
	struct err e = {0};

	assert_int_equal(ed25519_private_load(x->missing, &k, &e), ST_NOT_FOUND);
	assert_null(k);
	assert_non_null(strstr(e.msg, "missing.pem"));
	assert_int_equal(ed25519_private_load(x->garbage, &k, &e), ST_INVALID);
	assert_null(k);
	assert_non_null(strstr(e.msg, "is not an Ed25519 private key"));
	assert_null(strstr(e.msg, "bm90IGEga2V5")); /* never the file's content */
	/* each loader wants its own kind of PEM block */
	assert_int_equal(ed25519_private_load(x->pub, &k, &e), ST_INVALID);
	assert_int_equal(ed25519_public_load(x->priv, &k, &e), ST_INVALID);
	assert_non_null(strstr(e.msg, "is not an Ed25519 public key"));
	assert_null(k);
}

static void test_base64_is_strict(void **state)
{
	unsigned char raw[ED25519_PUB_LEN], back[ED25519_PUB_LEN];
	char *s;
	char bad[64];

	(void)state;
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(i * 37 + 5);
	s = ed25519_b64_encode(raw, sizeof(raw));
	assert_int_equal(strlen(s), 44);
	assert_true(ed25519_b64_decode(s, back, sizeof(back)));
	assert_memory_equal(raw, back, sizeof(raw));
	assert_false(ed25519_b64_decode(s, back, sizeof(back) - 1)); /* another length */
	snprintf(bad, sizeof(bad), "%s", s);
	bad[3] = '*';
	assert_false(ed25519_b64_decode(bad, back, sizeof(back)));
	snprintf(bad, sizeof(bad), " %.43s", s);
	assert_false(ed25519_b64_decode(bad, back, sizeof(back)));
	assert_false(ed25519_b64_decode("", back, sizeof(back)));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_and_key_ids),
		cmocka_unit_test(test_wrong_key_and_flipped_bytes),
		cmocka_unit_test(test_bad_pem),
		cmocka_unit_test(test_base64_is_strict),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
