/*
 * Unit tests for audit_seals.c's writers: a number skipped is a gap reported as deleted, a
 * writer held across calls keeps its numbers, and a writer forgotten while idle is met again as
 * a new one (audit_seals_forget), never one holding a gap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "audit/audit_int.h"
#include "base/seal.h"
#include "store/store_chain.h"

#define WRITER "0123456789abcdef0123456789abcdef"

struct run {
	struct seal_keys keys;
	struct seal_mac *mac;
	struct audit_seals *s;
	int64_t breaks, deleted;
};

static void on_break(void *ctx, const struct audit_break *b)
{
	struct run *r = ctx;

	if (strcmp(b->what, "deleted") == 0)
		r->deleted++;
}

static void setup_run(struct run *r)
{
	memset(r, 0, sizeof(*r));
	assert_true(seal_key_derive("a-secret-of-at-least-32-characters-here",
				    "cavra audit chain seal key v1", &r->keys.now));
	r->mac = seal_mac_new(&r->keys.now);
	r->s = audit_seals_new(&r->keys);
	assert_non_null(r->mac);
	assert_non_null(r->s);
}

static void teardown_run(struct run *r)
{
	seal_mac_free(r->mac);
	audit_seals_free(r->s);
}

/* The entry at seq, number n of WRITER, read with sealed_from. */
static void entry(struct run *r, int64_t seq, uint64_t n, int64_t sealed_from)
{
	char seal[STORE_CHAIN_SEAL_LEN], id[32], seqs[24];
	const char *sha = "ab";
	const struct audit_seals_walk sw = {&r->keys, sealed_from, 0, NULL, on_break, r, false};
	const char *v[5] = {seqs, "decision", id, sha, seal};

	snprintf(id, sizeof(id), "dec_%lld", (long long)seq);
	snprintf(seqs, sizeof(seqs), "%lld", (long long)seq);
	assert_true(store_chain_seal_with(r->mac, WRITER, n, "decision", id, sha, seal));
	assert_int_equal(audit_seals_entry(r->s, &sw, v, &r->breaks, NULL), ST_OK);
}

static void end(struct run *r)
{
	const struct audit_seals_walk sw = {&r->keys, 1, 0, NULL, on_break, r, false};

	audit_seals_gaps(r->s, &sw, &r->breaks);
}

static void test_a_skipped_number_is_deleted(void **state)
{
	struct run r;

	(void)state;
	setup_run(&r);
	entry(&r, 1, 1, 1);
	entry(&r, 2, 2, 1);
	entry(&r, 3, 4, 1);
	end(&r);
	assert_int_equal(r.deleted, 1);
	assert_int_equal(r.breaks, 1);
	teardown_run(&r);
}

/* A first check reads numbers 1 and 2 at clock 10; at 20 the writers read before are forgotten. */
static void first_check(struct run *r, int64_t before)
{
	setup_run(r);
	audit_seals_clock(r->s, 10);
	entry(r, 1, 1, 1);
	entry(r, 2, 2, 1);
	end(r);
	audit_seals_clock(r->s, 20);
	audit_seals_forget(r->s, before);
}

/* Across two checks (the second from seq 3 on) the writer's numbers go on: 3 then 5 is a gap. */
static void test_a_writer_is_kept_between_checks(void **state)
{
	struct run r;

	(void)state;
	first_check(&r, 5); /* read at 10: kept */
	entry(&r, 3, 3, 3);
	entry(&r, 4, 5, 3);
	end(&r);
	assert_int_equal(r.deleted, 1);
	teardown_run(&r);
}

/* Forgotten while idle, the writer met again from a later seq is a new one: no gap. */
static void test_a_forgotten_writer_is_new(void **state)
{
	struct run r;

	(void)state;
	first_check(&r, 11);
	entry(&r, 3, 5, 3);
	end(&r);
	assert_int_equal(r.breaks, 0);
	teardown_run(&r);
}

/* A writer holding a gap is not forgotten: the gap is still reported. */
static void test_a_writer_with_a_gap_is_kept(void **state)
{
	struct run r;

	(void)state;
	setup_run(&r);
	audit_seals_clock(r.s, 10);
	entry(&r, 1, 1, 1);
	entry(&r, 2, 3, 1);
	audit_seals_forget(r.s, 11);
	end(&r);
	assert_int_equal(r.deleted, 1);
	teardown_run(&r);
}

/* A check that failed after reading 1 and 3 is read again whole: the reset drops the gap. */
static void test_a_reset_reads_again_cleanly(void **state)
{
	struct run r;

	(void)state;
	setup_run(&r);
	entry(&r, 1, 1, 1);
	entry(&r, 2, 3, 1); /* number 2 missing so far: a gap held */
	audit_seals_reset(r.s);
	entry(&r, 1, 1, 1);
	entry(&r, 2, 2, 1);
	entry(&r, 3, 3, 1);
	end(&r);
	assert_int_equal(r.breaks, 0);
	teardown_run(&r);
}

/* Many writers forgotten at once, then as many new: the table still finds each. */
static void test_many_writers(void **state)
{
	struct run r;
	char seal[STORE_CHAIN_SEAL_LEN], w[STORE_CHAIN_WRITER_HEX + 1], seqs[24];
	const struct audit_seals_walk sw = {&r.keys, 1, 0, NULL, on_break, &r, false};
	const char *v[5] = {seqs, "decision", "dec", "ab", seal};

	(void)state;
	setup_run(&r);
	for (int round = 0; round < 3; round++) {
		audit_seals_clock(r.s, round);
		for (int i = 0; i < 300; i++) {
			snprintf(w, sizeof(w), "%032x", round * 1000 + i);
			snprintf(seqs, sizeof(seqs), "%d", round * 1000 + i + 1);
			assert_true(
				store_chain_seal_with(r.mac, w, 1, "decision", "dec", "ab", seal));
			assert_int_equal(audit_seals_entry(r.s, &sw, v, &r.breaks, NULL), ST_OK);
		}
		audit_seals_forget(r.s, round);
	}
	end(&r);
	assert_int_equal(r.breaks, 0);
	teardown_run(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_skipped_number_is_deleted),
		cmocka_unit_test(test_a_writer_is_kept_between_checks),
		cmocka_unit_test(test_a_forgotten_writer_is_new),
		cmocka_unit_test(test_a_writer_with_a_gap_is_kept),
		cmocka_unit_test(test_a_reset_reads_again_cleanly),
		cmocka_unit_test(test_many_writers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
