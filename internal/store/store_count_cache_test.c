/*
 * Unit tests for the bounded-total cache (store_count_cache.c): keys, expiry by the
 * caller's clock and each key's spread life, least-recently-used eviction when the table is
 * full, forgetting by prefix, and the generation that keeps a count begun before a forget out.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "store/store_count_cache.h"

#define SEC 1000000

static char *key_of(const char *sql, int n, const char *const *p, int64_t bound)
{
	char *k = store_count_key(sql, n, p, bound);

	assert_non_null(k);
	return k;
}

/* Keys tell apart what makes two counts differ, and only that. */
static void test_keys(void **state)
{
	const char *ab[] = {"a", "b"}, *a_b[] = {"a|1:b", NULL}, *ab2[] = {"a", "b"};
	const char *none[] = {NULL}, *empty[] = {""};
	char *k1 = key_of("SELECT 1 FROM t WHERE x = $1 AND y = $2", 2, ab, 10000);
	char *k2 = key_of("SELECT 1 FROM t WHERE x = $1 AND y = $2", 2, ab2, 10000);
	char *k3 = key_of("SELECT 1 FROM t WHERE x = $1 AND y = $2", 2, a_b, 10000);
	char *k4 = key_of("SELECT 1 FROM t WHERE x = $1 AND y = $2", 2, ab, 500);
	char *k5 = key_of("SELECT 1 FROM t WHERE x = $1", 1, none, 10000);
	char *k6 = key_of("SELECT 1 FROM t WHERE x = $1", 1, empty, 10000);
	char big[STORE_COUNT_CACHE_KEY_MAX + 1];
	const char *bigp[] = {big};

	(void)state;
	assert_string_equal(k1, k2);
	assert_string_not_equal(k1, k3); /* a value cannot pass for two */
	assert_string_not_equal(k1, k4); /* another bound */
	assert_string_not_equal(k5, k6); /* NULL is not "" */
	assert_memory_equal(k1, "SELECT 1 FROM t", 15); /* forget goes by the SQL's start */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_null(store_count_key("SELECT 1", 1, bigp, 10000));
	free(k1), free(k2), free(k3), free(k4), free(k5), free(k6);
}

/* asked_at is added_at + after_us, plus the key's life when from_life is set. */
static const struct {
	const char *name;
	int64_t ttl_us, after_us;
	bool from_life, hit;
} expiry[] = {
	{"fresh", 5 * SEC, 3 * SEC, false, true},
	{"just before its life", 5 * SEC, -1, true, true},
	{"at its life", 5 * SEC, 0, true, false},
	{"long after", 5 * SEC, 400 * SEC, false, false},
	{"clock read before the fact", 5 * SEC, -SEC, false, true},
	{"ttl 0: off", 0, 0, false, false},
};

static void test_expiry_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(expiry); i++) {
		struct store_count_cache c;
		int64_t added = 100 * SEC, asked = added + expiry[i].after_us;

		store_count_cache_init(&c, expiry[i].ttl_us);
		if (expiry[i].from_life)
			asked += store_count_cache_life_us(&c, "k");
		store_count_cache_add(&c, "k", added, store_count_cache_gen(&c));
		if (store_count_cache_hit(&c, "k", asked) != expiry[i].hit)
			fail_msg("case '%s': want hit=%d", expiry[i].name, expiry[i].hit);
		assert_false(store_count_cache_hit(&c, "other", added));
		store_count_cache_release(&c);
	}
}

/*
 * A key's life is fixed, within (3/4 TTL, TTL], and keys learnt together do not all expire
 * together: a thousand keys spread over most of that quarter.
 */
static void test_lives_spread(void **state)
{
	struct store_count_cache c;
	int64_t lo = INT64_MAX, hi = 0;

	(void)state;
	store_count_cache_init(&c, 60 * SEC);
	for (int i = 0; i < 1000; i++) {
		char k[32];
		int64_t life;

		snprintf(k, sizeof(k), "SELECT 1 FROM t|10000|v2:%d", i);
		life = store_count_cache_life_us(&c, k);
		assert_int_equal(life, store_count_cache_life_us(&c, k));
		assert_true(life > 45 * SEC && life <= 60 * SEC);
		lo = life < lo ? life : lo;
		hi = life > hi ? life : hi;
		store_count_cache_add(&c, k, 0, store_count_cache_gen(&c));
		assert_true(store_count_cache_hit(&c, k, life - 1));
		assert_false(store_count_cache_hit(&c, k, life));
	}
	assert_true(lo < 47 * SEC && hi > 58 * SEC);
	store_count_cache_release(&c);
}

/* A hit does not extend the fact's life: staleness stays bounded by the TTL. */
static void test_hit_does_not_renew(void **state)
{
	struct store_count_cache c;
	int64_t life;

	(void)state;
	store_count_cache_init(&c, 5 * SEC);
	life = store_count_cache_life_us(&c, "k");
	store_count_cache_add(&c, "k", 0, 0);
	assert_true(store_count_cache_hit(&c, "k", life - 1));
	assert_false(store_count_cache_hit(&c, "k", life));
	/* a newer count renews it */
	store_count_cache_add(&c, "k", 6 * SEC, 0);
	assert_true(store_count_cache_hit(&c, "k", 6 * SEC + life - 1));
	store_count_cache_release(&c);
}

static void fill(struct store_count_cache *c, int from, int to, int64_t at)
{
	for (int i = from; i < to; i++) {
		char k[32];

		snprintf(k, sizeof(k), "k%d", i);
		store_count_cache_add(c, k, at, store_count_cache_gen(c));
	}
}

static bool has(struct store_count_cache *c, int i, int64_t at)
{
	char k[32];

	snprintf(k, sizeof(k), "k%d", i);
	return store_count_cache_hit(c, k, at);
}

/* Full: the least recently used goes, and a recent hit saves an old key. */
static void test_lru_eviction(void **state)
{
	struct store_count_cache c;

	(void)state;
	store_count_cache_init(&c, 60 * SEC);
	fill(&c, 0, STORE_COUNT_CACHE_SLOTS, SEC);
	assert_true(has(&c, 0, 2 * SEC)); /* k0 is now the most recently used */
	fill(&c, STORE_COUNT_CACHE_SLOTS, STORE_COUNT_CACHE_SLOTS + 1, 2 * SEC);
	assert_true(has(&c, 0, 3 * SEC));
	assert_false(has(&c, 1, 3 * SEC)); /* the least recently used went */
	assert_true(has(&c, 2, 3 * SEC));
	assert_true(has(&c, STORE_COUNT_CACHE_SLOTS, 3 * SEC));
	store_count_cache_release(&c);
}

/* Full, with expired facts: a new one takes an expired slot, not the least recent live one. */
static void test_expired_slots_go_first(void **state)
{
	struct store_count_cache c;

	(void)state;
	store_count_cache_init(&c, 5 * SEC);
	store_count_cache_add(&c, "live", 10 * SEC, 0); /* the least recently used */
	fill(&c, 0, STORE_COUNT_CACHE_SLOTS - 1, 0); /* expired by 11 s */
	fill(&c, STORE_COUNT_CACHE_SLOTS, STORE_COUNT_CACHE_SLOTS + 1, 11 * SEC);
	assert_true(store_count_cache_hit(&c, "live", 12 * SEC));
	assert_true(has(&c, STORE_COUNT_CACHE_SLOTS, 12 * SEC));
	store_count_cache_release(&c);
}

static void test_forget_by_prefix_and_generation(void **state)
{
	struct store_count_cache c;
	uint64_t before;

	(void)state;
	store_count_cache_init(&c, 60 * SEC);
	store_count_cache_add(&c, "SELECT 1 FROM s|1", 0, store_count_cache_gen(&c));
	store_count_cache_add(&c, "SELECT 1 FROM d|1", 0, store_count_cache_gen(&c));
	before = store_count_cache_gen(&c);
	store_count_cache_forget(&c, "SELECT 1 FROM s");
	assert_false(store_count_cache_hit(&c, "SELECT 1 FROM s|1", SEC));
	assert_true(store_count_cache_hit(&c, "SELECT 1 FROM d|1", SEC));
	/* a count that began before the forget may have seen rows that are gone: not kept */
	store_count_cache_add(&c, "SELECT 1 FROM s|1", SEC, before);
	assert_false(store_count_cache_hit(&c, "SELECT 1 FROM s|1", SEC));
	store_count_cache_add(&c, "SELECT 1 FROM s|1", SEC, store_count_cache_gen(&c));
	assert_true(store_count_cache_hit(&c, "SELECT 1 FROM s|1", 2 * SEC));
	store_count_cache_forget(&c, NULL);
	assert_false(store_count_cache_hit(&c, "SELECT 1 FROM s|1", 2 * SEC));
	assert_false(store_count_cache_hit(&c, "SELECT 1 FROM d|1", 2 * SEC));
	store_count_cache_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_expiry_table),
		cmocka_unit_test(test_lives_spread),
		cmocka_unit_test(test_hit_does_not_renew),
		cmocka_unit_test(test_lru_eviction),
		cmocka_unit_test(test_expired_slots_go_first),
		cmocka_unit_test(test_forget_by_prefix_and_generation),
	};

	return cmocka_run_group_tests_name("store/count_cache", tests, NULL, NULL);
}
