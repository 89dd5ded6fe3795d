/*
 * auth_jwks_test.c - JWK set parsing: good RSA and EC keys, every kind of key
 * that must be skipped (and counted), documents that are not JWK sets, the
 * key cap and the reference count.
 */
#include <stdarg.h> /* cmocka 1.1.x needs these four before <cmocka.h> */
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_testutil.h"
#include "base/buf.h"

static EVP_PKEY *rsa, *rsa_small, *ec;
static char *rsa_jwk, *ec_jwk;

static int setup(void **state)
{
	(void)state;
	rsa = tk_rsa(2048);
	rsa_small = tk_rsa(1024);
	ec = tk_ec("P-256");
	rsa_jwk = tk_jwk(rsa, "r1", "");
	ec_jwk = tk_jwk(ec, "e1", "");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(rsa_small);
	EVP_PKEY_free(ec);
	free(rsa_jwk);
	free(ec_jwk);
	return 0;
}

/* ec_jwk with one character of "y" changed: almost surely not on the curve. */
static char *ec_off_curve(void)
{
	char *j = xstrdup(ec_jwk);
	char *y = strstr(j, "\"y\":\"") + 5;

	y[10] = y[10] == 'A' ? 'B' : 'A';
	return j;
}

/* Replaces the first "from" in jwk by "to". */
static char *edit(const char *jwk, const char *from, const char *to)
{
	const char *at = strstr(jwk, from);

	assert_non_null(at);
	return xasprintf("%.*s%s%s", (int)(at - jwk), jwk, to, at + strlen(from));
}

static void test_skips(void **state)
{
	char *bad[] = {
		edit(rsa_jwk, "\"use\":\"sig\"", "\"use\":\"enc\""),
		xstrdup("{\"kty\":\"oct\",\"kid\":\"h1\",\"k\":\"c2VjcmV0\"}"),
		edit(ec_jwk, "P-256", "P-521"),
		tk_jwk(rsa_small, "small", ""),
		ec_off_curve(),
		edit(rsa_jwk, "\"n\":\"", "\"n\":\"+"),
		edit(rsa_jwk, "\"e\":", "\"f\":"),
		tk_jwk(rsa, "hs", ",\"alg\":\"HS256\""),
		edit(ec_jwk, "\"x\":\"", "\"x\":\"AAAA"),
		tk_jwk(rsa, "mismatch", ",\"alg\":\"ES256\""),
		xstrdup("42"),
		edit(rsa_jwk, "\"kid\":\"r1\"", "\"kid\":1"),
		xstrdup("{\"kid\":\"nokty\"}"),
	};
	struct buf b = BUF_INIT;
	struct auth_keyset *ks = NULL;
	struct err e = {0};

	(void)state;
	assert_int_equal(buf_addf(&b, NULL, "{\"keys\":[%s,%s", rsa_jwk, ec_jwk), ST_OK);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(buf_addf(&b, NULL, ",%s", bad[i]), ST_OK);
	assert_int_equal(buf_adds(&b, "]}", NULL), ST_OK);
	if (auth_keyset_parse(b.data, b.len, &ks, &e) != ST_OK)
		fail_msg("parse: %s", e.msg);
	assert_int_equal(auth_keyset_count(ks), 2);
	assert_int_equal(auth_keyset_skipped(ks), ARRAY_SIZE(bad));
	/* the first skipped key is named with its reason */
	assert_non_null(strstr(auth_keyset_skip_note(ks), "key 2 'r1': use 'enc' is not 'sig'"));
	auth_keyset_unref(ks);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		free(bad[i]);
	buf_release(&b);
}

/* Each key alone: must it be skipped, and what does the reason say? */
static void test_skip_reasons(void **state)
{
	static const struct {
		const char *from, *to, *msg_has;
		bool ec;
	} cases[] = {
		{"\"use\":\"sig\"", "\"use\":\"enc\"", "use 'enc'", false},
		{"\"kty\":\"RSA\"", "\"kty\":\"OKP\"", "kty 'OKP' is not supported", false},
		{"P-256", "P-521", "crv 'P-521'", true},
		{"\"n\":\"", "\"n\":\"=", "'n' is not valid base64url", false},
		{"\"e\":", "\"f\":", "'e' is required", false},
		{"\"x\":\"", "\"x\":\"AAAA", "'x' has a bad length", true},
		{"\"kid\":\"e1\"", "\"kid\":\"e1\",\"alg\":\"RS256\"", "alg RS256 does not fit",
		 true},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *jwk = edit(cases[i].ec ? ec_jwk : rsa_jwk, cases[i].from, cases[i].to);
		char *doc = xasprintf("{\"keys\":[%s]}", jwk);
		struct auth_keyset *ks = NULL;
		struct err e = {0};

		if (auth_keyset_parse(doc, strlen(doc), &ks, &e) != ST_INVALID)
			fail_msg("case %zu: accepted", i);
		if (!strstr(e.msg, "no usable signing key") || !strstr(e.msg, cases[i].msg_has))
			fail_msg("case %zu: message '%s' lacks '%s'", i, e.msg, cases[i].msg_has);
		assert_null(ks);
		free(doc);
		free(jwk);
	}
}

static void test_off_curve_and_small(void **state)
{
	char *off = ec_off_curve();
	char *small = tk_jwk(rsa_small, "small", "");
	char *docs[] = {xasprintf("{\"keys\":[%s]}", off), xasprintf("{\"keys\":[%s]}", small)};
	const char *want[] = {"key", "1024 bits is shorter than 2048"};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
		struct auth_keyset *ks = NULL;
		struct err e = {0};

		assert_int_equal(auth_keyset_parse(docs[i], strlen(docs[i]), &ks, &e), ST_INVALID);
		if (!strstr(e.msg, want[i]))
			fail_msg("doc %zu: message '%s'", i, e.msg);
		free(docs[i]);
	}
	free(off);
	free(small);
}

static void test_not_a_set(void **state)
{
	static const char *const docs[] = {
		"", "not json", "[]", "{}", "{\"keys\":{}}", "{\"keys\":[]}", "{\"keys\":[1,2]}",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
		struct auth_keyset *ks = NULL;
		struct err e = {0};

		if (auth_keyset_parse(docs[i], strlen(docs[i]), &ks, &e) != ST_INVALID)
			fail_msg("doc '%s' accepted", docs[i]);
		assert_null(ks);
		assert_true(e.msg[0] != '\0');
	}
}

static void test_key_cap(void **state)
{
	struct buf b = BUF_INIT;
	struct auth_keyset *ks = NULL;

	(void)state;
	assert_int_equal(buf_adds(&b, "{\"keys\":[", NULL), ST_OK);
	for (int i = 0; i < AUTH_JWKS_MAX_KEYS + 3; i++)
		assert_int_equal(buf_addf(&b, NULL, "%s%s", i ? "," : "", ec_jwk), ST_OK);
	assert_int_equal(buf_adds(&b, "]}", NULL), ST_OK);
	assert_int_equal(auth_keyset_parse(b.data, b.len, &ks, NULL), ST_OK);
	assert_int_equal(auth_keyset_count(ks), AUTH_JWKS_MAX_KEYS);
	assert_int_equal(auth_keyset_skipped(ks), 3);
	assert_non_null(strstr(auth_keyset_skip_note(ks), "too many keys"));
	auth_keyset_unref(ks);
	buf_release(&b);
}

static void test_refcount(void **state)
{
	char *doc = xasprintf("{\"keys\":[%s]}", ec_jwk);
	struct auth_keyset *ks = NULL;

	(void)state;
	assert_int_equal(auth_keyset_parse(doc, strlen(doc), &ks, NULL), ST_OK);
	assert_ptr_equal(auth_keyset_ref(ks), ks);
	auth_keyset_unref(ks);
	assert_int_equal(auth_keyset_count(ks), 1); /* still alive: one reference left */
	auth_keyset_unref(ks);
	auth_keyset_unref(NULL);
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skips),
		cmocka_unit_test(test_skip_reasons),
		cmocka_unit_test(test_off_curve_and_small),
		cmocka_unit_test(test_not_a_set),
		cmocka_unit_test(test_key_cap),
		cmocka_unit_test(test_refcount),
	};

	return cmocka_run_group_tests_name("auth/jwks", tests, setup, teardown);
}
