/*
 * seals_test.c - the seals over the console's rows and API tokens: HMAC-SHA256 itself
 * (RFC 4231's second case), a seal that changes with every field it covers, with the key and
 * the kind of row, and with the way a row's text is split into fields.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "base/base.h"
#include "base/hash.h"
#include "base/seal.h"
#include "service/seals.h"

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

static struct seal_session base_session(void)
{
	return (struct seal_session){"00ff",
				     "2026-12-06T21:00:00.000000Z",
				     "sub",
				     "alice@example.test",
				     "https://idp.example.test",
				     "c5rf",
				     two,
				     2};
}

static void session_seal(const struct seal_key *k, const struct seal_session *s,
			 char out[SHA256_HEX_LEN])
{
	assert_true(seal_of_session(k, s, out));
}

static void test_every_session_field_is_sealed(void **state)
{
	struct seal_key k;
	struct seal_session s = base_session(), t;
	char want[SHA256_HEX_LEN], got[SHA256_HEX_LEN];
	const char **fields[] = {&t.hash,  &t.expires_at, &t.subject,
				 &t.actor, &t.issuer,	  &t.csrf_token};

	(void)state;
	assert_true(seal_console_key("console-secret", &k));
	session_seal(&k, &s, want);
	session_seal(&k, &s, got);
	assert_true(seal_matches(got, want));
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		t = s;
		*fields[i] = "x";
		session_seal(&k, &t, got);
		assert_false(seal_matches(got, want));
		*fields[i] = NULL; /* NULL is not "" nor the value */
		session_seal(&k, &t, got);
		assert_false(seal_matches(got, want));
	}
	t = s;
	t.ngroups = 1;
	session_seal(&k, &t, got);
	assert_false(seal_matches(got, want));
}

static void test_fields_cannot_be_regrouped(void **state)
{
	struct seal_key k;
	struct seal_session s = base_session(), t = s;
	char a[SHA256_HEX_LEN], b[SHA256_HEX_LEN];

	(void)state;
	assert_true(seal_console_key("console-secret", &k));
	session_seal(&k, &s, a);
	t.groups = one;
	t.ngroups = 1;
	session_seal(&k, &t, b);
	assert_false(seal_matches(b, a));
	/* a subject moved into the actor */
	t = s;
	t.subject = "";
	t.actor = "subalice@example.test";
	session_seal(&k, &t, b);
	assert_false(seal_matches(b, a));
}

static void test_key_and_kind_matter(void **state)
{
	struct seal_key k, other, tok;
	struct seal_session s = base_session();
	struct seal_login l = {"00ff", "2026-12-06T21:00:00.000000Z", "n", "v", "/console/", "b"};
	char a[SHA256_HEX_LEN], b[SHA256_HEX_LEN];

	(void)state;
	assert_true(seal_console_key("console-secret", &k));
	assert_true(seal_console_key("console-secret2", &other));
	assert_true(seal_token_key("console-secret", &tok)); /* the same secret, another use */
	session_seal(&k, &s, a);
	session_seal(&other, &s, b);
	assert_false(seal_matches(b, a));
	session_seal(&tok, &s, b);
	assert_false(seal_matches(b, a));
	assert_true(seal_of_login(&k, &l, b));
	assert_false(seal_matches(b, a));
	assert_true(seal_of_login(&k, &l, a));
	assert_true(seal_matches(b, a));
	l.return_to = "/console/#/x";
	assert_true(seal_of_login(&k, &l, b));
	assert_false(seal_matches(b, a));
	/* no stored seal, an empty one, a short one */
	assert_false(seal_matches(NULL, a));
	assert_false(seal_matches("", a));
	assert_false(seal_matches("00", a));
}

static void test_every_token_field_is_sealed(void **state)
{
	static const char *const roles[] = {"agent", "auditor"}, *const admin[] = {"admin"};
	struct seal_key k;
	struct seal_token t = {"tok_0123456789ab",
			       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
			       "ci",
			       "token:ci",
			       "alice",
			       "2026-12-06T21:00:00.000000Z",
			       "2027-03-06T21:00:00.000000Z",
			       roles,
			       2},
			  u;
	char want[SHA256_HEX_LEN], got[SHA256_HEX_LEN];
	const char **fields[] = {&u.token_id,	&u.sha256,     &u.name,	     &u.subject,
				 &u.created_by, &u.created_at, &u.expires_at};

	(void)state;
	assert_true(seal_token_key("a key of at least thirty-two characters", &k));
	assert_true(seal_of_token(&k, &t, want));
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		u = t;
		*fields[i] = "x";
		assert_true(seal_of_token(&k, &u, got));
		assert_false(seal_matches(got, want));
		*fields[i] = NULL;
		assert_true(seal_of_token(&k, &u, got));
		assert_false(seal_matches(got, want));
	}
	u = t;
	u.roles = admin;
	u.nroles = 1;
	assert_true(seal_of_token(&k, &u, got));
	assert_false(seal_matches(got, want));
	u.roles = roles;
	assert_true(seal_of_token(&k, &u, got));
	assert_false(seal_matches(got, want));
	u.nroles = 2;
	assert_true(seal_of_token(&k, &u, got));
	assert_true(seal_matches(got, want));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_sha256_rfc4231),
		cmocka_unit_test(test_every_session_field_is_sealed),
		cmocka_unit_test(test_fields_cannot_be_regrouped),
		cmocka_unit_test(test_key_and_kind_matter),
		cmocka_unit_test(test_every_token_field_is_sealed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
