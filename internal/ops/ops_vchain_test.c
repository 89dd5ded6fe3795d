/* Unit tests for `ops verify`'s check of a backup's audit chain (ops_vchain.c): a backup of
 * four decisions and their chain on disk, changed one way per case with its checksums
 * recomputed, so that only the chain can tell. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "base/base_testutil.h"
#include "base/hash.h"
#include "base/xalloc.h"
#include "ops/ops_int.h"
#include "store/store_chain.h"

#define NDEC 4

static char store_s[] = "s"; /* outlives file_entry's call */
static char *dec_cols[] = {STR_RW("decision_id"), STR_RW("x")};
static char *chain_cols[] = {STR_RW("hash"),	  STR_RW("kind"),	   STR_RW("prev_hash"),
			     STR_RW("record_id"), STR_RW("record_sha256"), STR_RW("seq")};
static char *head_cols[] = {STR_RW("adopt_pending"), STR_RW("id"), STR_RW("records_pending")};

/* What a case changes after the chain was written. */
struct change {
	int edit_decision; /* 1-based: that decision's line altered; 0: none */
	int drop_decision; /* 1-based: that decision's line left out */
	int drop_entry; /* 1-based: that chain line left out */
	bool no_head; /* the manifest without audit_head */
	bool hash_order; /* the chain's file keyed by hash, as a v3 backup's */
	int64_t cp_seq; /* verified against a checkpoint of this entry; 0: none */
	bool cp_wrong; /* whose hash is not the entry's */
	const char *head; /* the head's file, a line of head_cols; NULL: none */
};

struct files {
	struct buf dec, chain;
	char *chain_lines[NDEC];
	size_t nchain;
	char head[SHA256_HEX_LEN];
	char hashes[NDEC + 1][SHA256_HEX_LEN]; /* each entry's, by seq */
};

static void add(struct buf *b, const char *text)
{
	assert_int_equal(buf_add(b, text, strlen(text), NULL), ST_OK);
}

static int by_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Both files' lines, the chain linked from the genesis over every decision, then changed. */
static void build(struct files *fs, const struct change *c)
{
	char prev[SHA256_HEX_LEN], rsha[SHA256_HEX_LEN], hash[SHA256_HEX_LEN], id[8], line[512];

	memset(fs, 0, sizeof(*fs));
	buf_init(&fs->dec, BUF_CAP_DEFAULT);
	buf_init(&fs->chain, BUF_CAP_DEFAULT);
	snprintf(prev, sizeof(prev), "%s", store_chain_genesis);
	for (int i = 1; i <= NDEC; i++) {
		snprintf(id, sizeof(id), "d%d", i);
		snprintf(line, sizeof(line), "{\"decision_id\":\"%s\",\"x\":%d}\n", id, i);
		sha256_hex(line, strlen(line), rsha);
		assert_int_equal(store_chain_link_hash(i, "decision", id, rsha, prev, hash, NULL),
				 ST_OK);
		if (i == c->edit_decision)
			snprintf(line, sizeof(line), "{\"decision_id\":\"%s\",\"x\":99}\n", id);
		if (i != c->drop_decision)
			add(&fs->dec, line);
		if (i != c->drop_entry)
			fs->chain_lines[fs->nchain++] = xasprintf(
				"{\"hash\":\"%s\",\"kind\":\"decision\",\"prev_hash\":\"%s\","
				"\"record_id\":\"%s\",\"record_sha256\":\"%s\",\"seq\":%d}\n",
				hash, prev, id, rsha, i);
		snprintf(prev, sizeof(prev), "%s", hash);
		snprintf(fs->hashes[i], sizeof(fs->hashes[i]), "%s", hash);
	}
	snprintf(fs->head, sizeof(fs->head), "%s", prev);
	/* each line starts with its hash: in text order they are in hash order */
	if (c->hash_order)
		qsort(fs->chain_lines, fs->nchain, sizeof(char *), by_text);
	for (size_t i = 0; i < fs->nchain; i++) {
		add(&fs->chain, fs->chain_lines[i]);
		free(fs->chain_lines[i]);
	}
}

static int64_t count_lines(const struct buf *b)
{
	int64_t n = 0;

	for (size_t i = 0; i < b->len; i++)
		n += b->data[i] == '\n';
	return n;
}

static void put(const char *dir, const char *name, const struct buf *b)
{
	char *p = ops_path_join(dir, name);
	FILE *f = fopen(p, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(b->data, 1, b->len, f), b->len);
	fclose(f);
	free(p);
}

static void file_entry(struct ops_manifest_file *f, char *table, char *path, char *key, char **cols,
		       size_t ncols, const struct buf *b)
{
	*f = (struct ops_manifest_file){.store = store_s,
					.table = table,
					.path = path,
					.key = key,
					.columns = cols,
					.ncolumns = ncols,
					.rows = count_lines(b),
					.bytes = (int64_t)b->len};
	sha256_hex(b->data, b->len, f->sha256);
}

/* The backup's manifest.json, with audit_head at the chain's real head unless no_head. */
static void write_manifest(const char *dir, const struct files *fs, const struct change *c)
{
	struct ops_manifest m = {0};
	struct ops_manifest_file f[3];
	struct buf head = BUF_INIT;
	struct ops_manifest_migration g = {1, STR_RW("evidence_metadata"), NULL};
	struct buf text = BUF_INIT;
	char sha[SHA256_HEX_LEN];
	char *s;

	file_entry(&f[0], STR_RW("activity_decisions"), STR_RW("activity_decisions.jsonl"),
		   STR_RW("decision_id"), dec_cols, ARRAY_SIZE(dec_cols), &fs->dec);
	file_entry(&f[1], STR_RW("audit_chain"), STR_RW("audit_chain.jsonl"),
		   c->hash_order ? STR_RW("hash") : STR_RW("seq"), chain_cols,
		   ARRAY_SIZE(chain_cols), &fs->chain);
	m.tool_version = STR_RW("0.1.0");
	m.backup_id = STR_RW("bak_000000000000");
	m.backend = STR_RW("sqlite");
	m.snapshot = STR_RW("test");
	m.created_at = m.finished_at = STR_RW("2026-01-02T03:04:05.000000Z");
	m.schema_version = 1;
	m.migrations = &g;
	m.nmigrations = 1;
	m.files = f;
	m.nfiles = c->head ? 3 : 2;
	add(&head, c->head ? c->head : "");
	file_entry(&f[2], STR_RW("audit_chain_head"), STR_RW("audit_chain_head.jsonl"),
		   STR_RW("id"), head_cols, ARRAY_SIZE(head_cols), &head);
	if (c->head)
		put(dir, "audit_chain_head.jsonl", &head);
	for (size_t i = 0; i < m.nfiles; i++) {
		m.rows += f[i].rows;
		m.bytes += f[i].bytes;
	}
	m.has_audit_head = !c->no_head;
	m.audit_head_seq = NDEC;
	snprintf(m.audit_head_hash, sizeof(m.audit_head_hash), "%s", fs->head);
	s = ops_manifest_text(&m, sha);
	add(&text, s);
	put(dir, OPS_MANIFEST_NAME, &text);
	buf_release(&text);
	buf_release(&head);
	free(s);
}

static void rm(const char *dir, const char *name)
{
	char *p = ops_path_join(dir, name);

	assert_int_equal(unlink(p), 0);
	free(p);
}

/*
 * The backup of c on disk (its manifest written before damage, a function that may change the
 * decisions' lines after their checksum was taken), verified with the chain's check, removed.
 */
static void verify_case_with(const struct change *c, void (*damage)(struct buf *),
			     struct ops_verify_result *r)
{
	struct ops_verify_opts o = {.chain = true, .checkpoint_seq = c->cp_seq};
	char dir[] = "/tmp/cavra-ops-vchain-XXXXXX";
	struct files fs;

	assert_non_null(mkdtemp(dir));
	build(&fs, c);
	if (c->cp_seq)
		o.checkpoint_hash = c->cp_wrong || c->cp_seq > NDEC ? store_chain_genesis
								    : fs.hashes[c->cp_seq];
	write_manifest(dir, &fs, c);
	if (damage)
		damage(&fs.dec);
	put(dir, "activity_decisions.jsonl", &fs.dec);
	put(dir, "audit_chain.jsonl", &fs.chain);
	(void)ops_verify_with(dir, &o, r);
	rm(dir, "activity_decisions.jsonl");
	rm(dir, "audit_chain.jsonl");
	if (c->head)
		rm(dir, "audit_chain_head.jsonl");
	rm(dir, OPS_MANIFEST_NAME);
	assert_int_equal(rmdir(dir), 0);
	buf_release(&fs.dec);
	buf_release(&fs.chain);
}

static void verify_case(const struct change *c, struct ops_verify_result *r)
{
	verify_case_with(c, NULL, r);
}

/* The one problem of the case is a chain problem holding want ("" for none). */
static void expect(const struct change *c, const char *want, int64_t unchained)
{
	struct ops_verify_result r;

	verify_case(c, &r);
	assert_true(r.chain.present && r.chain.checked);
	assert_int_equal(r.chain.in_order, !c->hash_order);
	assert_int_equal(r.chain.unchained, unchained);
	if (!*want) {
		assert_int_equal(r.problems.n, 0);
		assert_int_equal(r.chain.breaks, 0);
	} else {
		if (r.problems.n != 1 || !strstr(r.problems.items[0].msg, want))
			fail_msg("want one problem with '%s', got %zu: %s", want, r.problems.n,
				 r.problems.n ? r.problems.items[0].msg : "");
		assert_string_equal(r.problems.items[0].kind, "chain");
		assert_string_equal(r.problems.items[0].path, "audit_chain.jsonl");
		assert_int_equal(r.chain.breaks, 1);
	}
	ops_verify_result_release(&r);
}

static void test_in_seq_order_each_break_is_named(void **state)
{
	(void)state;
	expect(&(struct change){0}, "", 0);
	/* the edited line is one no entry names */
	expect(&(struct change){.edit_decision = 2},
	       "seq 2 (decision d2): the decision's line differs from what was chained", 1);
	expect(&(struct change){.drop_decision = 3},
	       "seq 3 (decision d3): no decision line has this id: deleted", 0);
	expect(&(struct change){.drop_entry = 2},
	       "seq 3 (decision d3) does not follow seq 1 (decision d1)", 1);
	expect(&(struct change){.drop_entry = 1},
	       "seq 2 (decision d2): the chain does not start at seq 1", 1);
	expect(&(struct change){.drop_entry = NDEC},
	       "the chain ends at seq 3, not at the manifest's audit_head (seq 4)", 1);
	/* a cut tail without the manifest's head: the chain alone cannot tell */
	expect(&(struct change){.drop_entry = NDEC, .no_head = true}, "", 1);
}

static void test_in_hash_order_the_chain_is_proved_whole(void **state)
{
	(void)state;
	expect(&(struct change){.hash_order = true}, "", 0);
	expect(&(struct change){.hash_order = true, .edit_decision = 1},
	       "the chain's lines are not one chain from the genesis", 0);
	/* a chain not proved counts no unnamed lines: the proof stopped at the first bad one */
	expect(&(struct change){.hash_order = true, .drop_entry = 2},
	       "the chain's lines are not one chain from the genesis", 0);
}

/* "x":4 becomes "x":7: the same size, another SHA-256. */
static void flip_last_value(struct buf *dec)
{
	dec->data[dec->len - 3] = '7';
}

/* A signed checkpoint's entry (its seq and hash) must be in the backup's chain. */
static void test_a_checkpoints_entry_must_be_in_the_chain(void **state)
{
	(void)state;
	expect(&(struct change){.cp_seq = 2}, "", 0);
	expect(&(struct change){.cp_seq = NDEC}, "", 0);
	expect(&(struct change){.cp_seq = 2, .cp_wrong = true},
	       "seq 2 (decision d2) is not the checkpoint's entry", 0);
	expect(&(struct change){.cp_seq = NDEC + 1},
	       "the checkpoint (seq 5) is after the backup's audit_head (seq 4)", 0);
	expect(&(struct change){.cp_seq = NDEC, .drop_entry = NDEC, .no_head = true},
	       "the chain has no entry seq 4, the checkpoint's", 1);
	expect(&(struct change){.cp_seq = 2, .hash_order = true}, "", 0);
	expect(&(struct change){.cp_seq = 2, .cp_wrong = true, .hash_order = true},
	       "the entry seq 2 is not the checkpoint's", 0);
}

/*
 * The head's flag that asks for the decisions' adoption beside any entry is a break named in
 * the head's file; a late group's flag beside no entry of its kinds is not (records written
 * before 022 wait for theirs).
 */
static void test_a_heads_adoption_flag_beside_entries_is_a_break(void **state)
{
	const char *adopt = "{\"adopt_pending\":1,\"id\":1,\"records_pending\":0}\n";
	struct ops_verify_result r;

	(void)state;
	expect(&(struct change){.head = "{\"adopt_pending\":0,\"id\":1,\"records_pending\":1}\n"},
	       "", 0);
	expect(&(struct change){.head = "{\"adopt_pending\":0,\"id\":1,\"records_pending\":0}\n"},
	       "", 0);
	for (int order = 0; order < 2; order++) {
		verify_case(&(struct change){.head = adopt, .hash_order = order}, &r);
		assert_int_equal(r.problems.n, 1);
		assert_string_equal(r.problems.items[0].kind, "chain");
		assert_string_equal(r.problems.items[0].path, "audit_chain_head.jsonl");
		assert_non_null(strstr(r.problems.items[0].msg, "its adopt_pending is 1: the head "
								"asks for adoption"));
		assert_int_equal(r.chain.breaks, 1);
		ops_verify_result_release(&r);
	}
}

/* A damaged decisions file is its own problem: the chain is not checked from it. */
static void test_a_damaged_file_is_not_read_for_the_chain(void **state)
{
	struct ops_verify_result r;

	(void)state;
	verify_case_with(&(struct change){0}, flip_last_value, &r);
	assert_int_equal(r.problems.n, 1);
	assert_string_equal(r.problems.items[0].kind, "sha256");
	assert_true(r.chain.present && !r.chain.checked && r.chain.why_not);
	ops_verify_result_release(&r);
}

/* ops_vrecs_fn: "seq:name:what;" appended to the buf ctx. */
static void note_break(void *ctx, int64_t seq, const char *name, const char *what)
{
	char one[256];

	snprintf(one, sizeof(one), "%lld:%s:%s;", (long long)seq, name, what);
	add(ctx, one);
}

/* The SHA-256 hex of line and its '\n'. */
static void line_sha(const char *line, char out[SHA256_HEX_LEN])
{
	char *with_nl = xasprintf("%s\n", line);

	sha256_hex(with_nl, strlen(with_nl), out);
	free(with_nl);
}

/*
 * Records chained at every write: only the newest entry (by seq, in any order) must be the
 * line's entry form; lines without an entry are counted, but for one that may lack it.
 */
static void test_records_by_their_newest_entry(void **state)
{
	const char *open = "{\"approval_id\":\"a1\",\"state\":\"pending\"}";
	const char *decided = "{\"approval_id\":\"a1\",\"state\":\"approved\"}";
	const char *as_hashed = "{\"last_used_at\":null,\"token_id\":\"t1\"}";
	char h_open[SHA256_HEX_LEN], h_decided[SHA256_HEX_LEN], h_token[SHA256_HEX_LEN];
	const struct ops_entry_text t_open = {open, strlen(open), false};
	const struct ops_entry_text t_token = {as_hashed, strlen(as_hashed), false};
	const struct ops_entry_text t_lacking = {open, strlen(open), true};
	const char *id = NULL;
	struct ops_vrecs *r = ops_vrecs_new();
	struct buf got = BUF_INIT;

	(void)state;
	assert_string_equal(ops_vrecs_kind("approvals", &id), "approval");
	assert_string_equal(id, "approval_id");
	assert_string_equal(ops_vrecs_kind("activity_sessions", &id), "session");
	assert_null(ops_vrecs_kind("activity_decisions", &id));
	line_sha(open, h_open);
	line_sha(decided, h_decided);
	line_sha(as_hashed, h_token);
	/* the newest entry comes first, as in a chain file in hash order */
	ops_vrecs_entry(r, "approval", "a1", 7, h_decided);
	ops_vrecs_entry(r, "approval", "a1", 3, h_open);
	ops_vrecs_entry(r, "token", "t1", 5, h_token);
	ops_vrecs_entry(r, "agent", "gone", 6, h_open);
	assert_true(ops_vrecs_line(r, "approval", "a1", 2, &t_open));
	assert_true(ops_vrecs_line(r, "token", "t1", 2, &t_token));
	assert_true(ops_vrecs_line(r, "agent", "new", 3, &t_open));
	assert_true(ops_vrecs_line(r, "session", "s1", 2, &t_lacking)); /* may lack one */
	assert_int_equal(ops_vrecs_end(r, note_break, &got), 1); /* agent "new" */
	add(&got, "");
	/* the slots' order is the hash table's: look for each */
	assert_non_null(strstr(got.data, "7:approval a1:the line differs from the record's newest "
					 "entry: edited;"));
	assert_non_null(strstr(got.data, "6:agent gone:no line has this id: deleted;"));
	assert_null(strstr(got.data, "token"));
	buf_release(&got);
	ops_vrecs_free(r);
}

/* line split by cols, then its entry form as kind's entries hash it: want, and may_lack. */
static void form_is(const char *kind, char **cols, size_t ncols, const char *line, const char *want,
		    bool may_lack)
{
	struct ops_manifest_file f = {.columns = cols, .ncolumns = ncols};
	struct ops_span spans[OPS_LINE_KEYS_MAX];
	struct ops_line_keys keys;
	struct ops_entry_form ef;
	struct ops_entry_text t;
	struct buf out = BUF_INIT;
	const char *why = NULL;

	ops_line_keys_init(&keys, (const char *const *)cols, ncols);
	assert_true(ops_line_split(line, strlen(line), &keys, spans, &why));
	assert_true(ops_entry_form_init(&ef, kind, &f));
	assert_true(ops_entry_form_of(&ef, spans, line, strlen(line), &out, &t));
	if (t.n != strlen(want) || memcmp(t.p, want, t.n) != 0)
		fail_msg("want %s, got %.*s", want, (int)t.n, t.p);
	assert_int_equal(t.may_lack, may_lack);
	buf_release(&out);
}

/* What a token's and a session's entries hash of their lines (STORE_TOKEN_COLS, _SESSION_). */
static void test_entry_forms(void **state)
{
	char *tok[] = {STR_RW("last_used_at"), STR_RW("token_id")};
	char *ses[] = {
		STR_RW("actor"),	 STR_RW("agent_id"),	STR_RW("approval_required_count"),
		STR_RW("blocked_count"), STR_RW("created_at"),	STR_RW("decision_count"),
		STR_RW("payload"),	 STR_RW("policy_pack"), STR_RW("repository"),
		STR_RW("session_id"),	 STR_RW("started_at"),	STR_RW("state"),
		STR_RW("updated_at")};
	struct ops_manifest_file few = {.columns = tok, .ncolumns = 2};
	struct ops_entry_form ef;

	(void)state;
	form_is("token", tok, 2,
		"{\"last_used_at\":\"2026-01-01T00:00:00.000000Z\",\"token_id\":\"t\"}",
		"{\"last_used_at\":null,\"token_id\":\"t\"}", false);
	form_is("token", tok, 2, "{\"last_used_at\":null,\"token_id\":\"t\"}",
		"{\"last_used_at\":null,\"token_id\":\"t\"}", false);
	form_is("approval", tok, 2, "{\"last_used_at\":\"x\",\"token_id\":\"t\"}",
		"{\"last_used_at\":\"x\",\"token_id\":\"t\"}", false);
	/* described (recorded_by): only updated_at and the counters are left out */
	form_is("session", ses, ARRAY_SIZE(ses),
		"{\"actor\":\"a\",\"agent_id\":\"g\",\"approval_required_count\":2,"
		"\"blocked_count\":1,\"created_at\":\"T1\",\"decision_count\":9,\"payload\":"
		"{\"nested\":{\"recorded_by\":null},\"recorded_by\":\"me\"},\"policy_pack\":\"p\","
		"\"repository\":\"r\",\"session_id\":\"s\",\"started_at\":\"T1\",\"state\":"
		"\"active\",\"updated_at\":\"T2\"}",
		"{\"actor\":\"a\",\"agent_id\":\"g\",\"approval_required_count\":0,"
		"\"blocked_count\":0,\"created_at\":\"T1\",\"decision_count\":0,\"payload\":"
		"{\"nested\":{\"recorded_by\":null},\"recorded_by\":\"me\"},\"policy_pack\":\"p\","
		"\"repository\":\"r\",\"session_id\":\"s\",\"started_at\":\"T1\",\"state\":"
		"\"active\",\"updated_at\":null}",
		false);
	/* made by decisions alone: what they fill in is left out too, and it may lack an entry */
	form_is("session", ses, ARRAY_SIZE(ses),
		"{\"actor\":\"a\",\"agent_id\":\"g\",\"approval_required_count\":0,"
		"\"blocked_count\":1,\"created_at\":\"T1\",\"decision_count\":3,\"payload\":{},"
		"\"policy_pack\":\"p\",\"repository\":null,\"session_id\":\"s\",\"started_at\":"
		"\"T1\",\"state\":\"active\",\"updated_at\":\"T2\"}",
		"{\"actor\":null,\"agent_id\":null,\"approval_required_count\":0,"
		"\"blocked_count\":0,\"created_at\":\"T1\",\"decision_count\":0,\"payload\":{},"
		"\"policy_pack\":null,\"repository\":null,\"session_id\":\"s\",\"started_at\":"
		"\"T1\",\"state\":\"active\",\"updated_at\":null}",
		true);
	assert_false(ops_entry_form_init(&ef, "session", &few)); /* lacks its columns */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_seq_order_each_break_is_named),
		cmocka_unit_test(test_in_hash_order_the_chain_is_proved_whole),
		cmocka_unit_test(test_a_damaged_file_is_not_read_for_the_chain),
		cmocka_unit_test(test_records_by_their_newest_entry),
		cmocka_unit_test(test_entry_forms),
		cmocka_unit_test(test_a_checkpoints_entry_must_be_in_the_chain),
		cmocka_unit_test(test_a_heads_adoption_flag_beside_entries_is_a_break),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
