/*
 * Unit tests for the cache of verified API tokens (token_cache.c): a kept token is found by its
 * own digest only, until the TTL (monotonic clock) or its expiry (wall clock); an invalidation
 * of its token_id or of '*' forgets it; a lookup that raced an invalidation or a change of
 * liveness keeps nothing; a cache that is not live, or off, finds and keeps nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "service/token_cache.h"

#define SEC INT64_C(1000000)
#define NOW (INT64_C(1767225600) * SEC) /* the wall clock of every case: 2026-01-01 */

static const char sha_a[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char sha_b[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
static const char *const agent[] = {"agent", "auditor"};

static struct token_fact fact(const char *sha256, const char *token_id)
{
	return (struct token_fact){.sha256 = sha256,
				   .token_id = token_id,
				   .name = token_id + 4, /* "tok_a" -> "a" */
				   .roles = agent,
				   .nroles = 2};
}

/* A live cache of a 60 s TTL. */
static struct token_cache *live_cache(void)
{
	struct token_cache *c = token_cache_new(60 * SEC);

	token_cache_set_live(c, true);
	return c;
}

static bool has(struct token_cache *c, const char *sha256, int64_t now_us, int64_t mono_us)
{
	struct token_info t;
	bool hit = token_cache_get(c, sha256, now_us, mono_us, &t);

	service_token_info_release(&t);
	return hit;
}

static void test_hit_and_miss(void **state)
{
	struct token_cache *c = live_cache();
	struct token_fact a = fact(sha_a, "tok_a");
	struct token_info t;

	(void)state;
	assert_false(has(c, sha_a, NOW, 0));
	assert_true(token_cache_put(c, &a, token_cache_generation(c), 10 * SEC));
	assert_true(token_cache_get(c, sha_a, NOW, 11 * SEC, &t));
	assert_string_equal(t.token_id, "tok_a");
	assert_string_equal(t.name, "a");
	assert_string_equal(t.sha256, sha_a);
	assert_int_equal(t.nroles, 2);
	assert_string_equal(t.roles[0], "agent");
	assert_string_equal(t.roles[1], "auditor");
	assert_null(t.roles[2]);
	service_token_info_release(&t);
	assert_false(has(c, sha_b, NOW, 11 * SEC));
	assert_false(has(c, "aaaa", NOW, 11 * SEC)); /* not a digest */
	token_cache_free(c);
}

/* Kept from the put's monotonic time for the TTL, not a moment more. */
static void test_ttl(void **state)
{
	struct token_cache *c = live_cache();
	struct token_fact a = fact(sha_a, "tok_a");

	(void)state;
	assert_true(token_cache_put(c, &a, token_cache_generation(c), 10 * SEC));
	assert_true(has(c, sha_a, NOW, 69 * SEC));
	assert_false(has(c, sha_a, NOW, 70 * SEC));
	assert_false(has(c, sha_a, NOW, 11 * SEC)); /* forgotten when found too old */
	token_cache_free(c);
}

/* A token that expires is not answered from the cache at or past its expiry. */
static void test_expiry(void **state)
{
	struct token_cache *c = live_cache();
	struct token_fact a = fact(sha_a, "tok_a");

	(void)state;
	a.expires_us = NOW + 5 * SEC;
	assert_true(token_cache_put(c, &a, token_cache_generation(c), 0));
	assert_true(has(c, sha_a, NOW + 5 * SEC - 1, 1));
	assert_false(has(c, sha_a, NOW + 5 * SEC, 1));
	token_cache_free(c);
}

static void test_invalidate_one_and_all(void **state)
{
	struct token_cache *c = live_cache();
	struct token_fact a = fact(sha_a, "tok_a"), b = fact(sha_b, "tok_b");

	(void)state;
	assert_true(token_cache_put(c, &a, token_cache_generation(c), 0));
	assert_true(token_cache_put(c, &b, token_cache_generation(c), 0));
	token_cache_invalidate(c, "tok_a");
	assert_false(has(c, sha_a, NOW, 1));
	assert_true(has(c, sha_b, NOW, 1));
	token_cache_invalidate(c, "tok_unknown");
	assert_true(has(c, sha_b, NOW, 1));
	assert_true(token_cache_put(c, &a, token_cache_generation(c), 0));
	token_cache_invalidate(c, "*");
	assert_false(has(c, sha_a, NOW, 1));
	assert_false(has(c, sha_b, NOW, 1));
	token_cache_free(c);
}

/*
 * The race the generation closes: a lookup reads the generation, then the database (the token
 * still valid); a revocation commits and its notification is handled before the lookup keeps
 * what it read.  The put must be refused, whichever token the notification named.
 */
static void test_put_after_invalidate_is_refused(void **state)
{
	struct token_cache *c = live_cache();
	struct token_fact a = fact(sha_a, "tok_a");
	uint64_t gen = token_cache_generation(c);

	(void)state;
	token_cache_invalidate(c, "tok_a");
	assert_false(token_cache_put(c, &a, gen, 0));
	assert_false(has(c, sha_a, NOW, 1));
	gen = token_cache_generation(c);
	token_cache_invalidate(c, "tok_other");
	assert_false(token_cache_put(c, &a, gen, 0));
	gen = token_cache_generation(c);
	token_cache_set_live(c, true); /* a reconnect: notifications may have been lost */
	assert_false(token_cache_put(c, &a, gen, 0));
	assert_true(token_cache_put(c, &a, token_cache_generation(c), 0));
	assert_true(has(c, sha_a, NOW, 1));
	token_cache_free(c);
}

/* Not live (the listener is not listening): nothing is found or kept; going down forgets. */
static void test_not_live(void **state)
{
	struct token_cache *c = token_cache_new(60 * SEC);
	struct token_fact a = fact(sha_a, "tok_a");

	(void)state;
	assert_false(token_cache_put(c, &a, token_cache_generation(c), 0));
	token_cache_set_live(c, true);
	assert_true(token_cache_put(c, &a, token_cache_generation(c), 0));
	token_cache_set_live(c, false);
	assert_false(has(c, sha_a, NOW, 1));
	assert_false(token_cache_note_use(c, sha_a, NOW, NOW - 60 * SEC));
	token_cache_set_live(c, true);
	assert_false(has(c, sha_a, NOW, 1)); /* forgotten, not just hidden */
	token_cache_free(c);
}

static void test_off(void **state)
{
	struct token_cache *c = token_cache_new(0);
	struct token_fact a = fact(sha_a, "tok_a");

	(void)state;
	token_cache_set_live(c, true);
	assert_false(token_cache_put(c, &a, token_cache_generation(c), 0));
	assert_false(has(c, sha_a, NOW, 1));
	token_cache_free(c);
	token_cache_free(NULL);
}

/* A use is due once per interval, from the use the database had when the token was read. */
static void test_note_use(void **state)
{
	struct token_cache *c = live_cache();
	struct token_fact a = fact(sha_a, "tok_a");
	const int64_t minute = 60 * SEC;

	(void)state;
	a.last_use_us = NOW - 30 * SEC;
	assert_true(token_cache_put(c, &a, token_cache_generation(c), 0));
	assert_false(token_cache_note_use(c, sha_a, NOW, NOW - minute));
	assert_true(token_cache_note_use(c, sha_a, NOW + 31 * SEC, NOW + 31 * SEC - minute));
	assert_false(token_cache_note_use(c, sha_a, NOW + 31 * SEC, NOW + 31 * SEC - minute));
	assert_false(token_cache_note_use(c, sha_a, NOW + 90 * SEC, NOW + 90 * SEC - minute));
	assert_true(token_cache_note_use(c, sha_a, NOW + 92 * SEC, NOW + 92 * SEC - minute));
	assert_false(token_cache_note_use(c, sha_b, NOW, NOW - minute)); /* not kept */
	token_cache_free(c);
}

/* More tokens than slots: every answer is still the right token's, some are just gone. */
/* GET /metrics reads these: the answers of token_cache_get, and liveness. */
static void test_stats(void **state)
{
	struct token_cache *c = token_cache_new(60 * SEC);
	struct token_fact a = fact(sha_a, "tok_a");
	struct token_cache_stats st;

	(void)state;
	token_cache_stats(c, &st);
	assert_false(st.live);
	assert_false(has(c, sha_a, NOW, 0)); /* not live: a miss */
	token_cache_set_live(c, true);
	assert_true(token_cache_put(c, &a, token_cache_generation(c), 0));
	assert_true(has(c, sha_a, NOW, SEC));
	assert_true(has(c, sha_a, NOW, SEC));
	assert_false(has(c, sha_b, NOW, SEC));
	token_cache_stats(c, &st);
	assert_true(st.live);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.misses, 2);
	token_cache_set_live(c, false);
	token_cache_stats(c, &st);
	assert_false(st.live);
	token_cache_free(c);
}

static void test_full(void **state)
{
	struct token_cache *c = live_cache();
	static char sha[3 * TOKEN_CACHE_SLOTS][65], id[3 * TOKEN_CACHE_SLOTS][24];
	int kept = 0;

	(void)state;
	for (int i = 0; i < 3 * TOKEN_CACHE_SLOTS; i++) {
		struct token_fact f;

		snprintf(sha[i], sizeof(sha[i]), "%064x", i);
		snprintf(id[i], sizeof(id[i]), "tok_%d", i);
		f = fact(sha[i], id[i]);
		assert_true(token_cache_put(c, &f, token_cache_generation(c), 0));
	}
	for (int i = 0; i < 3 * TOKEN_CACHE_SLOTS; i++) {
		struct token_info t;

		if (token_cache_get(c, sha[i], NOW, 1, &t)) {
			assert_string_equal(t.token_id, id[i]);
			kept++;
		}
		service_token_info_release(&t);
	}
	assert_true(kept > 0 && kept <= TOKEN_CACHE_SLOTS);
	token_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_and_miss),
		cmocka_unit_test(test_ttl),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_invalidate_one_and_all),
		cmocka_unit_test(test_put_after_invalidate_is_refused),
		cmocka_unit_test(test_not_live),
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_note_use),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
