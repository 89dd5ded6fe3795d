/* Unit tests for the decision lines' record hashes a restore keeps for its chain check. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/hash.h"
#include "ops/ops.h"

static const char *const lines[] = {
	"{\"decision_id\":\"dec_a\",\"x\":1}",
	"{\"decision_id\":\"dec_b\",\"x\":2}",
	"{\"decision_id\":\"dec_c\",\"x\":3}",
};
static const char *const ids[] = {"dec_a", "dec_b", "dec_c"};

/* The record hash of a line: SHA-256 of the line and its '\n', as the chain stores it. */
static void record_sha(const char *line, char out[SHA256_HEX_LEN])
{
	char buf[128];

	snprintf(buf, sizeof(buf), "%s\n", line);
	sha256_hex(buf, strlen(buf), out);
}

static struct ops_decision_hashes *three(void)
{
	struct ops_decision_hashes *h = ops_decision_hashes_new(3);

	for (size_t i = 0; i < 3; i++)
		ops_decision_hashes_add(h, ids[i], strlen(ids[i]), lines[i], strlen(lines[i]));
	assert_true(ops_decision_hashes_usable(h));
	return h;
}

static void test_matches_and_names_every_line(void **state)
{
	struct ops_decision_hashes *h = three();
	char sha[SHA256_HEX_LEN];

	UNUSED(state);
	for (size_t i = 0; i < 3; i++) {
		assert_false(ops_decision_hashes_all_named(h));
		record_sha(lines[i], sha);
		assert_int_equal(ops_decision_hashes_match(h, ids[i], sha), OPS_DECHASH_MATCHES);
	}
	assert_true(ops_decision_hashes_all_named(h));
	/* another line's hash under this id is not this line's */
	assert_int_equal(ops_decision_hashes_match(h, ids[0], sha), OPS_DECHASH_DIFFERS);
	ops_decision_hashes_free(h);
}

static void test_edited_missing_and_unnamed(void **state)
{
	struct ops_decision_hashes *h = three();
	char sha[SHA256_HEX_LEN];

	UNUSED(state);
	record_sha("{\"decision_id\":\"dec_b\",\"x\":9}", sha);
	assert_int_equal(ops_decision_hashes_match(h, "dec_b", sha), OPS_DECHASH_DIFFERS);
	record_sha(lines[1], sha);
	assert_int_equal(ops_decision_hashes_match(h, "dec_z", sha), OPS_DECHASH_MISSING);
	assert_int_equal(ops_decision_hashes_match(h, "dec_b", "not hex"), OPS_DECHASH_DIFFERS);
	assert_int_equal(ops_decision_hashes_match(h, "dec_b", sha), OPS_DECHASH_MATCHES);
	assert_false(ops_decision_hashes_all_named(h)); /* dec_a and dec_c: no entry */
	ops_decision_hashes_free(h);
}

static void test_more_lines_than_expected_is_unusable(void **state)
{
	struct ops_decision_hashes *h = ops_decision_hashes_new(2);

	UNUSED(state);
	for (size_t i = 0; i < 3; i++)
		ops_decision_hashes_add(h, ids[i], strlen(ids[i]), lines[i], strlen(lines[i]));
	assert_false(ops_decision_hashes_usable(h));
	assert_false(ops_decision_hashes_usable(NULL));
	ops_decision_hashes_free(h);
}

/*
 * A manifest that claims four billion lines sizes nothing up front (it would ask for 96 GB and
 * abort the restore before a line is read); the arrays grow with the lines, past their first
 * size, and every line is found and named.
 */
static void test_a_huge_claim_grows_with_the_lines(void **state)
{
	struct ops_decision_hashes *h = ops_decision_hashes_new(4000000000LL);
	char id[32], line[64], sha[SHA256_HEX_LEN];
	const size_t n = 70000;

	UNUSED(state);
	for (size_t i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "dec_%zu", i);
		snprintf(line, sizeof(line), "{\"decision_id\":\"%s\"}", id);
		ops_decision_hashes_add(h, id, strlen(id), line, strlen(line));
	}
	assert_true(ops_decision_hashes_usable(h));
	for (size_t i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "dec_%zu", i);
		snprintf(line, sizeof(line), "{\"decision_id\":\"%s\"}", id);
		record_sha(line, sha);
		assert_int_equal(ops_decision_hashes_match(h, id, sha), OPS_DECHASH_MATCHES);
	}
	assert_true(ops_decision_hashes_all_named(h));
	ops_decision_hashes_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_and_names_every_line),
		cmocka_unit_test(test_edited_missing_and_unnamed),
		cmocka_unit_test(test_more_lines_than_expected_is_unusable),
		cmocka_unit_test(test_a_huge_claim_grows_with_the_lines),
	};

	return cmocka_run_group_tests_name("ops/dechash", tests, NULL, NULL);
}
