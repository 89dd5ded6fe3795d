/* Unit tests for audit_checkpoint.c: the signed bytes, a round trip, and every refusal. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "audit/audit.h"
#include "base/seal.h"
#include "store/store_chain.h"

/* RFC 8032's first test key, and a second key (its 7.1 TEST 2) that did not sign. */
static const char priv_pem[] = "-----BEGIN PRIVATE KEY-----\n"
			       "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
			       "-----END PRIVATE KEY-----\n";
static const char other_pem[] = "-----BEGIN PRIVATE KEY-----\n"
				"MC4CAQAwBQYDK2VwBCIEIEzNCJso/5banbbDRuwRTg9bijGfNaumJNqM9u1PuKb7\n"
				"-----END PRIVATE KEY-----\n";

static struct ed25519_key *key(const char *pem)
{
	struct ed25519_key *k = NULL;

	assert_int_equal(ed25519_key_parse(pem, strlen(pem), true, &k, NULL), ST_OK);
	return k;
}

static void sample(struct audit_checkpoint *cp)
{
	memset(cp, 0, sizeof(*cp));
	cp->seq = 42;
	cp->count = 42;
	memset(cp->hash, 'a', SHA256_HEX_LEN - 1);
	snprintf(cp->time, sizeof(cp->time), "2026-12-02T10:00:00.000000Z");
}

static void test_message_bytes(void **state)
{
	struct audit_checkpoint cp;
	struct buf b = BUF_INIT;

	(void)state;
	sample(&cp);
	memset(cp.key_id, 'b', SHA256_HEX_LEN - 1);
	assert_int_equal(audit_checkpoint_message(&cp, &b, NULL), ST_OK);
	assert_string_equal(b.data,
			    "cavra.audit.checkpoint.v1\n42\n"
			    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
			    "2026-12-02T10:00:00.000000Z\n42\n"
			    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n");
	buf_release(&b);
}

static void test_round_trip(void **state)
{
	struct ed25519_key *k = key(priv_pem);
	struct audit_checkpoint cp, back;
	struct buf b = BUF_INIT;

	(void)state;
	sample(&cp);
	assert_int_equal(audit_checkpoint_write(&cp, k, &b, NULL), ST_OK);
	assert_non_null(strstr(b.data, "\"format\":\"cavra.audit.checkpoint.v1\""));
	assert_int_equal(audit_checkpoint_read(b.data, b.len, k, &back, NULL), ST_OK);
	assert_int_equal(back.seq, 42);
	assert_int_equal(back.count, 42);
	assert_string_equal(back.hash, cp.hash);
	assert_string_equal(back.time, cp.time);
	assert_string_equal(back.key_id, cp.key_id);
	buf_release(&b);
	ed25519_key_free(k);
}

/* Replaces the first occurrence of from in s (same length or shorter) with to. */
static void patch(char *s, const char *from, const char *to)
{
	char *p = strstr(s, from);
	size_t n = strlen(from), m = strlen(to);

	assert_non_null(p);
	memmove(p + m, p + n, strlen(p + n) + 1);
	memcpy(p, to, m);
}

static void test_refusals(void **state)
{
	static const struct {
		const char *from, *to, *msg;
	} cases[] = {
		{"\"seq\":42", "\"seq\":43", "signature does not match the key"},
		{"\"count\":42", "\"count\":41", "signature does not match the key"},
		{"aaaa", "aaab", "signature does not match the key"},
		{"\"seq\":42", "\"seq\":-1", "seq"},
		{"\"format\":\"cavra.audit.checkpoint.v1\"", "\"format\":\"x\"", "format"},
		{"\"hash\":\"a", "\"hash\":\"A", "'hash' is not 64 lowercase hex digits"},
		{"\"time\":\"2026", "\"time\":\"x026", "'time' is not a time"},
		{"{", "[", "checkpoint"},
	};
	struct ed25519_key *k = key(priv_pem), *other = key(other_pem);
	struct audit_checkpoint cp, back;
	struct buf b = BUF_INIT;
	struct err e = {0};

	(void)state;
	sample(&cp);
	assert_int_equal(audit_checkpoint_write(&cp, k, &b, NULL), ST_OK);
	assert_int_equal(audit_checkpoint_read(b.data, b.len, other, &back, &e), ST_INVALID);
	assert_non_null(strstr(e.msg, "signed by key"));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[AUDIT_CHECKPOINT_MAX];

		snprintf(text, sizeof(text), "%s", b.data);
		patch(text, cases[i].from, cases[i].to);
		assert_int_equal(audit_checkpoint_read(text, strlen(text), k, &back, &e),
				 ST_INVALID);
		assert_non_null(strstr(e.msg, cases[i].msg));
	}
	buf_release(&b);
	ed25519_key_free(k);
	ed25519_key_free(other);
}

/* The link's bytes and hash, pinned: docs/audit.md gives the same example. */
static void test_link_bytes(void **state)
{
	struct buf b = BUF_INIT;
	char h[SHA256_HEX_LEN];

	(void)state;
	assert_int_equal(store_chain_link_bytes(&b, 1, "decision", "dec_1", "ab", "00", NULL),
			 ST_OK);
	assert_string_equal(b.data, "cavra.audit.chain.v1\n1\ndecision\n5:dec_1\nab\n00\n");
	assert_int_equal(store_chain_link_hash(1, "decision", "dec_1", "ab", "00", h, NULL), ST_OK);
	assert_string_equal(h, "56f8a0a8bcdd8f6160c7c1554ada5188fd3b8966a93fe61c1b582c7f1683229d");
	/* the pieces as a printf of the same form writes them, whatever their widths */
	buf_reset(&b);
	assert_int_equal(store_chain_link_bytes(&b, 9223372036854775807LL, "approval",
						"apr_0123456789abcdef", "", "ff", NULL),
			 ST_OK);
	assert_string_equal(b.data, "cavra.audit.chain.v1\n9223372036854775807\napproval\n"
				    "20:apr_0123456789abcdef\n\nff\n");
	buf_reset(&b);
	assert_int_equal(store_chain_link_bytes(&b, 0, "", "", "", "", NULL), ST_OK);
	assert_string_equal(b.data, "cavra.audit.chain.v1\n0\n\n0:\n\n\n");
	buf_reset(&b);
	assert_int_equal(store_chain_link_bytes(&b, -42, "x", "y", "z", "w", NULL), ST_OK);
	assert_string_equal(b.data, "cavra.audit.chain.v1\n-42\nx\n1:y\nz\nw\n");
	buf_release(&b);
}

#define WRITER "00112233445566778899aabbccddeeff"
/*
 * HMAC-SHA256 of "14:audit entry v1;8:decision;5:dec_1;2:ab;32:" WRITER ";16:000000000000002a;"
 * under the key of the secret below, computed apart from cavra (Python's hmac)
 */
#define PINNED                      \
	WRITER ".000000000000002a." \
	       "a2f2933bb8470818254ca9bd987bc0968e6d99a9c043c588c20a62a04e4279a2"

static void keys_of(const char *now, const char *before, struct seal_keys *k)
{
	memset(k, 0, sizeof(*k));
	/* the label of service/seals.c's seal_audit_key, pinned here as docs/audit.md gives it */
	assert_true(seal_key_derive(now, "cavra audit chain seal key v1", &k->now));
	k->before_set = before != NULL;
	if (before)
		assert_true(seal_key_derive(before, "cavra audit chain seal key v1", &k->before));
}

/* An entry's seal, pinned, and what its check accepts and refuses. */
static void test_entry_seals(void **state)
{
	const char *secret = "0123456789abcdef0123456789abcdef",
		   *other = "another secret, 32 chars long!!";
	struct seal_keys k, rotated, wrong;
	struct store_chain_seals *s;
	struct seal_mac *mac;
	char seal[STORE_CHAIN_SEAL_LEN], bad[STORE_CHAIN_SEAL_LEN],
		writer[STORE_CHAIN_WRITER_HEX + 1];
	uint64_t number = 0;

	(void)state;
	keys_of(secret, NULL, &k);
	keys_of(other, secret, &rotated);
	keys_of(other, NULL, &wrong);
	mac = seal_mac_new(&k.now);
	assert_non_null(mac);
	assert_true(store_chain_seal_with(mac, WRITER, 42, "decision", "dec_1", "ab", seal));
	seal_mac_free(mac);
	assert_string_equal(seal, PINNED);
	assert_true(store_chain_seal_parse(seal, writer, &number));
	assert_string_equal(writer, WRITER);
	assert_int_equal(number, 42);
	s = store_chain_seals_new(&k);
	assert_non_null(s);
	assert_true(store_chain_seals_ok(s, "decision", "dec_1", "ab", seal));
	/* every field counts, the writer and its number too */
	assert_false(store_chain_seals_ok(s, "approval", "dec_1", "ab", seal));
	assert_false(store_chain_seals_ok(s, "decision", "dec_2", "ab", seal));
	assert_false(store_chain_seals_ok(s, "decision", "dec_1", "ac", seal));
	memcpy(bad, seal, sizeof(bad));
	bad[0] = '1';
	assert_false(store_chain_seals_ok(s, "decision", "dec_1", "ab", bad));
	memcpy(bad, seal, sizeof(bad));
	bad[STORE_CHAIN_MAC_AT - 2] = 'b';
	assert_false(store_chain_seals_ok(s, "decision", "dec_1", "ab", bad));
	/* malformed: none, short, a dot missing, a writer or number not lowercase hex */
	assert_false(store_chain_seals_ok(s, "decision", "dec_1", "ab", NULL));
	assert_false(store_chain_seals_ok(s, "decision", "dec_1", "ab", seal + 1));
	for (size_t i = 0; i < 4; i++) {
		const size_t at[4] = {STORE_CHAIN_WRITER_HEX, STORE_CHAIN_MAC_AT - 1, 3,
				      STORE_CHAIN_WRITER_HEX + 3};
		const char to[4] = {':', ':', 'A', 'g'};

		memcpy(bad, seal, sizeof(bad));
		bad[at[i]] = to[i];
		assert_false(store_chain_seal_parse(bad, writer, &number));
		assert_false(store_chain_seals_ok(s, "decision", "dec_1", "ab", bad));
	}
	store_chain_seals_free(s);
	/* a key rotated out still verifies; another key does not */
	s = store_chain_seals_new(&rotated);
	assert_true(store_chain_seals_ok(s, "decision", "dec_1", "ab", seal));
	store_chain_seals_free(s);
	s = store_chain_seals_new(&wrong);
	assert_false(store_chain_seals_ok(s, "decision", "dec_1", "ab", seal));
	store_chain_seals_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message_bytes), cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refusals),      cmocka_unit_test(test_link_bytes),
		cmocka_unit_test(test_entry_seals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
