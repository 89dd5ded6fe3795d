/*
 * store_vouch_memo_test.c - the memory of vouched rows: a fact is found again only for the same
 * table, values and record hash.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "base/base.h"
#include "store/store_vouch_memo.h"

static const char sha_a[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char sha_b[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

static void key_of(const char *table, const char *v0, const char *v1, const char *sha,
		   unsigned char k[STORE_VOUCH_MEMO_KEY])
{
	const char *vals[2] = {v0, v1};

	store_vouch_memo_key(table, vals, 2, sha, k);
}

static void test_a_kept_row_is_found_and_only_it(void **state)
{
	unsigned char k[STORE_VOUCH_MEMO_KEY], other[STORE_VOUCH_MEMO_KEY];

	(void)state;
	key_of("activity_decisions", "d1", "block", sha_a, k);
	assert_false(store_vouch_memo_has(k));
	store_vouch_memo_put(k);
	assert_true(store_vouch_memo_has(k));
	/* a value changed, another record hash, another table: not found */
	key_of("activity_decisions", "d1", "allow", sha_a, other);
	assert_false(store_vouch_memo_has(other));
	key_of("activity_decisions", "d1", "block", sha_b, other);
	assert_false(store_vouch_memo_has(other));
	key_of("approvals", "d1", "block", sha_a, other);
	assert_false(store_vouch_memo_has(other));
}

static void test_values_do_not_pass_for_others(void **state)
{
	unsigned char a[STORE_VOUCH_MEMO_KEY], b[STORE_VOUCH_MEMO_KEY];

	(void)state;
	/* a null is not the empty string, and a boundary moved between values is another row */
	key_of("t", NULL, "x", sha_a, a);
	key_of("t", "", "x", sha_a, b);
	assert_memory_not_equal(a, b, sizeof(a));
	key_of("t", "ab", "c", sha_a, a);
	key_of("t", "a", "bc", sha_a, b);
	assert_memory_not_equal(a, b, sizeof(a));
}

static void test_a_zero_key_is_never_kept(void **state)
{
	unsigned char zero[STORE_VOUCH_MEMO_KEY] = {0};

	(void)state;
	store_vouch_memo_put(zero);
	assert_false(store_vouch_memo_has(zero));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_kept_row_is_found_and_only_it),
		cmocka_unit_test(test_values_do_not_pass_for_others),
		cmocka_unit_test(test_a_zero_key_is_never_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
