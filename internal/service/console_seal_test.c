/*
 * console_seal_test.c - the console's row seals: HMAC-SHA256 itself (RFC 4231's second
 * case), a seal that changes with every field it covers, with the key, and with the way a
 * row's text is split into fields.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "base/base.h"
#include "base/hash.h"
#include "service/console_seal.h"

static void test_hmac_sha256_rfc4231(void **state)
{
	static const char msg[] = "what do ya want for nothing?";
	unsigned char mac[HMAC_SHA256_LEN];
	char hex[SHA256_HEX_LEN];

	(void)state;
	assert_true(hmac_sha256("Jefe", 4, msg, strlen(msg), mac));
	hex_encode(mac, sizeof(mac), hex);
	assert_string_equal(hex,
			    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static const char *const two[] = {"a", "b"}, *const one[] = {"ab"};

static struct console_seal_session base_session(void)
{
	return (struct console_seal_session){"00ff",
					     "2026-12-06T21:00:00.000000Z",
					     "sub",
					     "alice@example.test",
					     "https://idp.example.test",
					     "c5rf",
					     two,
					     2};
}

static void seal_of(const struct console_seal_key *k, const struct console_seal_session *s,
		    char out[SHA256_HEX_LEN])
{
	assert_true(console_seal_session(k, s, out));
}

static void test_every_field_is_sealed(void **state)
{
	struct console_seal_key k;
	struct console_seal_session s = base_session(), t;
	char want[SHA256_HEX_LEN], got[SHA256_HEX_LEN];
	const char **fields[] = {&t.hash,  &t.expires_at, &t.subject,
				 &t.actor, &t.issuer,	  &t.csrf_token};

	(void)state;
	assert_true(console_seal_key_derive("console-secret", &k));
	seal_of(&k, &s, want);
	seal_of(&k, &s, got);
	assert_true(console_seal_matches(got, want));
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		t = s;
		*fields[i] = "x";
		seal_of(&k, &t, got);
		assert_false(console_seal_matches(got, want));
		*fields[i] = NULL; /* NULL is not "" nor the value */
		seal_of(&k, &t, got);
		assert_false(console_seal_matches(got, want));
	}
	t = s;
	t.ngroups = 1;
	seal_of(&k, &t, got);
	assert_false(console_seal_matches(got, want));
}

static void test_fields_cannot_be_regrouped(void **state)
{
	struct console_seal_key k;
	struct console_seal_session s = base_session(), t = s;
	char a[SHA256_HEX_LEN], b[SHA256_HEX_LEN];

	(void)state;
	assert_true(console_seal_key_derive("console-secret", &k));
	seal_of(&k, &s, a);
	t.groups = one;
	t.ngroups = 1;
	seal_of(&k, &t, b);
	assert_false(console_seal_matches(b, a));
	/* a subject moved into the actor */
	t = s;
	t.subject = "";
	t.actor = "subalice@example.test";
	seal_of(&k, &t, b);
	assert_false(console_seal_matches(b, a));
}

static void test_key_and_kind_matter(void **state)
{
	struct console_seal_key k, other;
	struct console_seal_session s = base_session();
	struct console_seal_login l = {"00ff", "2026-12-06T21:00:00.000000Z", "n", "v", "/console/",
				       "b"};
	char a[SHA256_HEX_LEN], b[SHA256_HEX_LEN];

	(void)state;
	assert_true(console_seal_key_derive("console-secret", &k));
	assert_true(console_seal_key_derive("console-secret2", &other));
	seal_of(&k, &s, a);
	seal_of(&other, &s, b);
	assert_false(console_seal_matches(b, a));
	assert_true(console_seal_login(&k, &l, b));
	assert_false(console_seal_matches(b, a));
	assert_true(console_seal_login(&k, &l, a));
	assert_true(console_seal_matches(b, a));
	l.return_to = "/console/#/x";
	assert_true(console_seal_login(&k, &l, b));
	assert_false(console_seal_matches(b, a));
	/* no stored seal, a short one, one of another case */
	assert_false(console_seal_matches(NULL, a));
	assert_false(console_seal_matches("", a));
	assert_false(console_seal_matches("00", a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_sha256_rfc4231),
		cmocka_unit_test(test_every_field_is_sealed),
		cmocka_unit_test(test_fields_cannot_be_regrouped),
		cmocka_unit_test(test_key_and_kind_matter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
