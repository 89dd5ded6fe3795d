/* Unit tests for the proof of a restored chain from its lines as they load. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/hash.h"
#include "ops/ops.h"
#include "store/store_chain.h"

#define N 5

/* One chain entry as a backup line carries it. */
struct entry {
	char seq[24], kind[16], id[32], rsha[SHA256_HEX_LEN], prev[SHA256_HEX_LEN],
		hash[SHA256_HEX_LEN];
};

struct fixture {
	struct ops_decision_hashes *known;
	struct entry e[N];
	char head[SHA256_HEX_LEN];
};

static void line_of(size_t i, char *out, size_t cap)
{
	snprintf(out, cap, "{\"decision_id\":\"dec_%zu\",\"x\":%zu}", i, i);
}

static void rehash(struct entry *x, int64_t seq)
{
	assert_int_equal(
		store_chain_link_hash(seq, x->kind, x->id, x->rsha, x->prev, x->hash, NULL), ST_OK);
}

/* N decisions, every second entry an approval's, chained from the genesis. */
static void build(struct fixture *f)
{
	char line[96], nl[100];
	const char *prev = store_chain_genesis;

	f->known = ops_decision_hashes_new(N);
	for (size_t i = 0; i < N; i++) {
		struct entry *x = &f->e[i];

		line_of(i, line, sizeof(line));
		snprintf(x->id, sizeof(x->id), "dec_%zu", i);
		ops_decision_hashes_add(f->known, x->id, strlen(x->id), line, strlen(line));
		snprintf(nl, sizeof(nl), "%s\n", line);
		if (i % 2) {
			snprintf(x->kind, sizeof(x->kind), "approval");
			snprintf(x->id, sizeof(x->id), "apr_%zu", i);
			sha256_hex(x->id, strlen(x->id), x->rsha);
		} else {
			snprintf(x->kind, sizeof(x->kind), "decision");
			sha256_hex(nl, strlen(nl), x->rsha);
		}
		snprintf(x->seq, sizeof(x->seq), "%zu", i + 1);
		snprintf(x->prev, sizeof(x->prev), "%s", prev);
		rehash(x, (int64_t)i + 1);
		prev = x->hash;
	}
	snprintf(f->head, sizeof(f->head), "%s", prev);
}

static void add(struct ops_chain_lines *c, const struct entry *x)
{
	const char *v[OPS_CHAIN_LINE_COLS] = {x->seq, x->kind, x->id, x->rsha, x->prev, x->hash};
	size_t n[OPS_CHAIN_LINE_COLS];

	for (size_t i = 0; i < OPS_CHAIN_LINE_COLS; i++)
		n[i] = strlen(v[i]);
	ops_chain_lines_add(c, v, n);
}

/* The fixture's lines in the order given (indexes into f->e), proved against head. */
static bool prove(struct fixture *f, const size_t *order, size_t n, int64_t head_seq,
		  const char *head)
{
	struct ops_chain_lines *c = ops_chain_lines_new(f->known);
	bool ok;

	for (size_t i = 0; i < n; i++)
		add(c, &f->e[order[i]]);
	ok = ops_chain_lines_prove(c, head_seq, head);
	ops_chain_lines_free(c);
	return ok;
}

static const size_t shuffled[N] = {3, 0, 4, 1, 2};

static void test_whole_chain_in_any_order(void **state)
{
	struct fixture f;
	static const size_t in_order[N] = {0, 1, 2, 3, 4};

	UNUSED(state);
	build(&f);
	assert_true(prove(&f, in_order, N, N, f.head));
	assert_true(prove(&f, shuffled, N, N, f.head));
	ops_decision_hashes_free(f.known);
}

static void test_empty_chain(void **state)
{
	struct ops_decision_hashes *known = ops_decision_hashes_new(0);
	struct ops_chain_lines *c = ops_chain_lines_new(known);

	UNUSED(state);
	assert_true(ops_chain_lines_prove(c, 0, store_chain_genesis));
	assert_false(ops_chain_lines_prove(c, 1, store_chain_genesis));
	ops_chain_lines_free(c);
	ops_decision_hashes_free(known);
}

static void test_cut_tail_and_missing_line(void **state)
{
	struct fixture f;

	UNUSED(state);
	build(&f);
	/* the newest line gone, the head still the old one, or moved back to the line before */
	assert_false(prove(&f, shuffled, N - 1, N, f.head));
	assert_false(prove(&f, (const size_t[]){0, 1, 2, 3}, N - 1, N - 1, f.head));
	assert_true(prove(&f, (const size_t[]){0, 1, 2, 3}, N - 1, N - 1, f.e[3].hash));
	/* a line from the middle gone, or repeated in place of another */
	assert_false(prove(&f, (const size_t[]){0, 1, 3, 4}, N - 1, N, f.head));
	assert_false(prove(&f, (const size_t[]){0, 1, 1, 3, 4}, N, N, f.head));
	ops_decision_hashes_free(f.known);
}

static void test_edited_line(void **state)
{
	struct fixture f;

	UNUSED(state);
	build(&f);
	f.e[2].rsha[0] = f.e[2].rsha[0] == 'a' ? 'b' : 'a'; /* the decision's record hash */
	assert_false(prove(&f, shuffled, N, N, f.head));
	rehash(&f.e[2], 3); /* its own hash made to match: its record is still no line */
	assert_false(prove(&f, shuffled, N, N, f.head));
	ops_decision_hashes_free(f.known);
}

static void test_relinked_line(void **state)
{
	struct fixture f;
	char old[SHA256_HEX_LEN];

	UNUSED(state);
	build(&f);
	/* an approval's line made to follow something else, with a hash matching its new link */
	snprintf(old, sizeof(old), "%s", f.e[3].hash);
	snprintf(f.e[3].prev, sizeof(f.e[3].prev), "%s", f.e[0].hash);
	rehash(&f.e[3], 4);
	assert_false(prove(&f, shuffled, N, N, f.head));
	/* and the line after it rewritten to follow the new hash: still not the chain */
	snprintf(f.e[4].prev, sizeof(f.e[4].prev), "%s", f.e[3].hash);
	rehash(&f.e[4], 5);
	assert_false(prove(&f, shuffled, N, N, f.e[4].hash));
	assert_string_not_equal(old, f.e[3].hash);
	ops_decision_hashes_free(f.known);
}

static void test_swapped_seqs(void **state)
{
	struct fixture f;

	UNUSED(state);
	build(&f);
	/* two lines' seqs swapped (their hashes recomputed): the links no longer meet */
	snprintf(f.e[1].seq, sizeof(f.e[1].seq), "3");
	snprintf(f.e[2].seq, sizeof(f.e[2].seq), "2");
	rehash(&f.e[1], 3);
	rehash(&f.e[2], 2);
	assert_false(prove(&f, shuffled, N, N, f.head));
	ops_decision_hashes_free(f.known);
}

static void test_malformed_line(void **state)
{
	struct fixture f;

	UNUSED(state);
	build(&f);
	snprintf(f.e[1].seq, sizeof(f.e[1].seq), "x");
	assert_false(prove(&f, shuffled, N, N, f.head));
	snprintf(f.e[1].seq, sizeof(f.e[1].seq), "2");
	f.e[1].prev[0] = 'G';
	assert_false(prove(&f, shuffled, N, N, f.head));
	assert_false(ops_chain_lines_prove(NULL, 0, store_chain_genesis));
	ops_decision_hashes_free(f.known);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_chain_in_any_order),
		cmocka_unit_test(test_empty_chain),
		cmocka_unit_test(test_cut_tail_and_missing_line),
		cmocka_unit_test(test_edited_line),
		cmocka_unit_test(test_relinked_line),
		cmocka_unit_test(test_swapped_seqs),
		cmocka_unit_test(test_malformed_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
