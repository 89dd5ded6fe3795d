/* Unit tests for base/ed25519.c: RFC 8032's first test vector, round trips, refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "base/base.h"
#include "base/ed25519.h"

/* RFC 8032 section 7.1, TEST 1: the private key 9d61b19d..., the empty message. */
static const char rfc_priv[] = "-----BEGIN PRIVATE KEY-----\n"
			       "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
			       "-----END PRIVATE KEY-----\n";
static const char rfc_pub[] = "-----BEGIN PUBLIC KEY-----\n"
			      "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
			      "-----END PUBLIC KEY-----\n";
static const char rfc_sig_hex[] =
	"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
	"c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
static const char ec_priv[] = "-----BEGIN PRIVATE KEY-----\n"
			      "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQghfK9NIJFC6JXQAkB\n"
			      "ME5IaUg6x6kjaL63dAbE6YgMtxGhRANCAASGwDuioGfHQtBp0GWBlkO8YrKzAloP\n"
			      "hwXZDdx3pSDO7mBaRszVWmxmGjs2qekRl2QYfyJwacsMZx0fDJxuNKKk\n"
			      "-----END PRIVATE KEY-----\n";

static struct ed25519_key *load(const char *pem, bool want_private)
{
	struct ed25519_key *k = NULL;

	assert_int_equal(ed25519_key_parse(pem, strlen(pem), want_private, &k, NULL), ST_OK);
	return k;
}

static void test_rfc8032_vector(void **state)
{
	struct ed25519_key *priv = load(rfc_priv, true), *pub = load(rfc_pub, false);
	unsigned char sig[ED25519_SIG_LEN];
	char hex[ED25519_SIG_HEX_LEN];

	(void)state;
	assert_int_equal(ed25519_sign(priv, "", 0, sig, NULL), ST_OK);
	hex_encode(sig, sizeof(sig), hex);
	assert_string_equal(hex, rfc_sig_hex);
	assert_int_equal(ed25519_verify(pub, "", 0, sig, NULL), ST_OK);
	ed25519_key_free(priv);
	ed25519_key_free(pub);
}

static void test_round_trip_and_tamper(void **state)
{
	struct ed25519_key *priv = load(rfc_priv, true), *pub = load(rfc_pub, false);
	unsigned char sig[ED25519_SIG_LEN];
	struct err e = {0};

	(void)state;
	assert_int_equal(ed25519_sign(priv, "checkpoint", 10, sig, NULL), ST_OK);
	assert_int_equal(ed25519_verify(pub, "checkpoint", 10, sig, NULL), ST_OK);
	assert_int_equal(ed25519_verify(priv, "checkpoint", 10, sig, NULL), ST_OK);
	assert_int_equal(ed25519_verify(pub, "checkpoinT", 10, sig, &e), ST_INVALID);
	assert_string_equal(e.msg, "signature does not match the key");
	sig[5] ^= 1;
	assert_int_equal(ed25519_verify(pub, "checkpoint", 10, sig, NULL), ST_INVALID);
	assert_int_equal(ed25519_sign(pub, "x", 1, sig, &e), ST_INVALID);
	ed25519_key_free(priv);
	ed25519_key_free(pub);
}

static void test_key_id(void **state)
{
	struct ed25519_key *priv = load(rfc_priv, true), *pub = load(rfc_pub, false);
	char a[SHA256_HEX_LEN], b[SHA256_HEX_LEN];

	(void)state;
	ed25519_key_id(priv, a);
	ed25519_key_id(pub, b);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), 64);
	ed25519_key_free(priv);
	ed25519_key_free(pub);
	ed25519_key_free(NULL);
}

static void test_refusals(void **state)
{
	static const struct {
		const char *pem;
		bool want_private;
		const char *msg;
	} cases[] = {
		{ec_priv, true, "key is not an ed25519 key"},
		{"not a key", true, "not a PEM private key"},
		{"not a key", false, "not a PEM public key"},
		{rfc_pub, true, "not a PEM private key"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ed25519_key *k = NULL;
		struct err e = {0};

		assert_int_equal(ed25519_key_parse(cases[i].pem, strlen(cases[i].pem),
						   cases[i].want_private, &k, &e),
				 ST_INVALID);
		assert_null(k);
		assert_non_null(strstr(e.msg, cases[i].msg));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8032_vector),
		cmocka_unit_test(test_round_trip_and_tamper),
		cmocka_unit_test(test_key_id),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
