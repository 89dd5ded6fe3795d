/*
 * Unit tests for the session owner cache (store_owner_cache.c): a fact is found for its own
 * session and owner only, until its TTL by the caller's clock; a cache that is off keeps
 * nothing; a fact whose slot another takes is gone, never answered for the other pair.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "store/store_owner_cache.h"

#define SEC    1000000
#define MINE   "{\"kind\":\"api_token\",\"token\":\"a\"}"
#define THEIRS "{\"kind\":\"api_token\",\"token\":\"b\"}"

static struct store_owner_cache cache;

static void test_pair_and_ttl(void **state)
{
	(void)state;
	store_owner_cache_init(&cache, 60 * SEC);
	assert_false(store_owner_cache_has(&cache, "s1", MINE, 0));
	store_owner_cache_add(&cache, "s1", MINE, 10 * SEC);
	assert_true(store_owner_cache_has(&cache, "s1", MINE, 11 * SEC));
	assert_false(store_owner_cache_has(&cache, "s1", THEIRS, 11 * SEC));
	assert_false(store_owner_cache_has(&cache, "s2", MINE, 11 * SEC));
	/* lengths go into the key: the same bytes split otherwise are another pair */
	assert_false(store_owner_cache_has(&cache, "s1{", "\"kind\":\"api_token\",\"token\":\"a\"}",
					   11 * SEC));
	assert_true(store_owner_cache_has(&cache, "s1", MINE, 69 * SEC));
	assert_false(store_owner_cache_has(&cache, "s1", MINE, 70 * SEC));
	store_owner_cache_release(&cache);
}

static void test_off(void **state)
{
	(void)state;
	store_owner_cache_init(&cache, 0);
	store_owner_cache_add(&cache, "s1", MINE, 0);
	assert_false(store_owner_cache_has(&cache, "s1", MINE, 0));
	store_owner_cache_release(&cache);
}

/* More pairs than slots: every answer is still right, some facts are just gone. */
static void test_full(void **state)
{
	char id[32];
	int kept = 0;

	(void)state;
	store_owner_cache_init(&cache, 60 * SEC);
	for (int i = 0; i < 3 * STORE_OWNER_CACHE_SLOTS; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		store_owner_cache_add(&cache, id, MINE, 0);
	}
	for (int i = 0; i < 3 * STORE_OWNER_CACHE_SLOTS; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		kept += store_owner_cache_has(&cache, id, MINE, 1);
		assert_false(store_owner_cache_has(&cache, id, THEIRS, 1));
	}
	assert_true(kept > 0 && kept <= STORE_OWNER_CACHE_SLOTS);
	store_owner_cache_release(&cache);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pair_and_ttl),
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
