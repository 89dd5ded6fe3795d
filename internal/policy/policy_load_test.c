/*
 * policy_load_test.c - loading packs: the embedded baseline, the shipped packs, inheritance
 * and merge, unknown parents and cycles, parse errors with file:line, and the sha256 of the
 * merged canonical form.
 */
#include <stdarg.h> /* cmocka 1.1.x needs these four before <cmocka.h> */
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/xalloc.h"
#include "policy/policy.h"
#include "policy/policy_testutil.h"

#define META(id) "metadata:\n  id: " id "\n  version: '1'\n"

/* Loads a directory holding the given (id, yaml) packs; returns the status, fills set and e. */
static enum status load_packs(const char *const (*packs)[2], size_t n, struct policy_set **set,
			      struct err *e)
{
	char *dir = test_dir_new();
	enum status st;

	for (size_t i = 0; i < n; i++)
		test_pack_write(dir, packs[i][0], packs[i][1]);
	st = policy_set_load(dir, set, e);
	test_dir_remove(dir);
	return st;
}

static void assert_list(const struct policy_pack *p, enum policy_list l, const char *want)
{
	const char *const *items;
	size_t n;
	char got[512] = "";
	size_t used = 0;

	policy_pack_list(p, l, &items, &n);
	for (size_t i = 0; i < n && used < sizeof(got); i++)
		used += (size_t)snprintf(got + used, sizeof(got) - used, "%s%s", i ? "," : "",
					 items[i]);
	if (strcmp(got, want) != 0)
		fail_msg("%s: got [%s], want [%s]", policy_list_name(l), got, want);
}

static const struct policy_pack *must_find(const struct policy_set *set, const char *id)
{
	const struct policy_pack *p = NULL;
	struct err e = {0};

	if (policy_set_find(set, id, &p, &e) != ST_OK)
		fail_msg("%s", e.msg);
	return p;
}

static void test_embedded_baseline(void **state)
{
	struct policy_set *set = NULL;
	struct policy_pack_info info;
	struct err e = {0};

	(void)state;
	assert_int_equal(policy_set_load(NULL, &set, &e), ST_OK);
	assert_int_equal(policy_set_count(set), 1);
	policy_pack_info(must_find(set, POLICY_DEFAULT_PACK), &info);
	assert_string_equal(info.id, POLICY_DEFAULT_PACK);
	assert_string_equal(info.version, "1.0.0");
	assert_string_equal(info.source, "embedded:cavra-ai-agent-baseline/policy.yaml");
	assert_int_equal(info.inherits_len, 0);
	assert_int_equal(strlen(info.sha256), 64);
	assert_true(info.list_counts[POLICY_LIST_FS_BLOCK_READ] > 5);
	assert_true(info.section_counts[POLICY_SECTION_COMMANDS] > 10);
	assert_int_equal(info.section_counts[POLICY_SECTION_GIT], 2);
	assert_true(info.rule_count > 50);
	assert_ptr_equal(policy_set_at(set, 0), must_find(set, POLICY_DEFAULT_PACK));
	assert_null(policy_set_at(set, 1));
	policy_set_free(set);
	policy_set_free(NULL);
}

/* The shipped packs load, inherit the baseline, and the embedded copy equals the file. */
static void test_shipped_packs(void **state)
{
	static const char *const derived[] = {"terraform-production", "kubernetes-production"};
	struct policy_set *set = NULL, *embedded = NULL;
	struct policy_pack_info base, info, emb;
	struct err e = {0};

	(void)state;
	if (policy_set_load(CAVRA_POLICY_SOURCE_DIR, &set, &e) != ST_OK)
		fail_msg("%s", e.msg);
	assert_true(policy_set_count(set) >= 3);
	assert_int_equal(policy_set_load(NULL, &embedded, &e), ST_OK);
	policy_pack_info(must_find(set, POLICY_DEFAULT_PACK), &base);
	policy_pack_info(must_find(embedded, POLICY_DEFAULT_PACK), &emb);
	assert_string_equal(base.sha256, emb.sha256);
	assert_non_null(strstr(base.source, "policies/cavra-ai-agent-baseline/policy.yaml"));
	for (size_t i = 0; i < ARRAY_SIZE(derived); i++) {
		policy_pack_info(must_find(set, derived[i]), &info);
		assert_int_equal(info.inherits_len, 1);
		assert_string_equal(info.inherits[0], POLICY_DEFAULT_PACK);
		assert_string_not_equal(info.sha256, base.sha256);
		for (size_t l = 0; l < POLICY_LIST_COUNT; l++)
			assert_true(info.list_counts[l] >= base.list_counts[l]);
		assert_true(info.rule_count > base.rule_count + 20);
	}
	policy_set_free(set);
	policy_set_free(embedded);
}

static void test_find_unknown(void **state)
{
	struct policy_set *set = NULL;
	const struct policy_pack *p = NULL;
	struct err e = {0};

	(void)state;
	assert_int_equal(policy_set_load(NULL, &set, &e), ST_OK);
	assert_int_equal(policy_set_find(set, "nope", &p, &e), ST_NOT_FOUND);
	assert_string_equal(e.msg, "policy pack 'nope' not found");
	assert_null(p);
	assert_int_equal(policy_set_find(set, NULL, &p, &e), ST_NOT_FOUND);
	policy_set_free(set);
}

/* Parents first, in the order written, duplicates dropped; a diamond visits the root once. */
static void test_inherit_merge(void **state)
{
	static const char *const packs[][2] = {
		{"a", META("a") "commands:\n  block: [x, y]\n  allow: [p]\n"},
		{"b", META("b") "  inherits: a\ncommands:\n  block: [y, z]\n"},
		{"c", META("c") "  inherits: [a]\ncommands:\n  block: [c1, x]\n"},
		{"d", META("d") "  inherits: [b, c]\ncommands:\n  block: [w]\n"
				"git:\n  protected_branches: [prod]\n"},
	};
	struct policy_set *set = NULL;
	struct policy_pack_info info;
	struct err e = {0};

	(void)state;
	if (load_packs(packs, ARRAY_SIZE(packs), &set, &e) != ST_OK)
		fail_msg("%s", e.msg);
	assert_int_equal(policy_set_count(set), 5); /* and the baseline */
	assert_list(must_find(set, "a"), POLICY_LIST_CMD_BLOCK, "x,y");
	assert_list(must_find(set, "b"), POLICY_LIST_CMD_BLOCK, "x,y,z");
	assert_list(must_find(set, "c"), POLICY_LIST_CMD_BLOCK, "x,y,c1");
	assert_list(must_find(set, "d"), POLICY_LIST_CMD_BLOCK, "x,y,z,c1,w");
	assert_list(must_find(set, "d"), POLICY_LIST_CMD_ALLOW, "p");
	/* no pack in a's chain names branches: the defaults; d adds its own to them */
	assert_list(must_find(set, "a"), POLICY_LIST_GIT_PROTECTED_BRANCHES, "main,master");
	assert_list(must_find(set, "d"), POLICY_LIST_GIT_PROTECTED_BRANCHES, "main,master,prod");
	policy_pack_info(must_find(set, "d"), &info);
	assert_int_equal(info.inherits_len, 2);
	assert_string_equal(info.inherits[1], "c");
	assert_int_equal(info.section_counts[POLICY_SECTION_COMMANDS], 6);
	/* ascending id order */
	assert_string_equal((policy_pack_info(policy_set_at(set, 0), &info), info.id), "a");
	policy_set_free(set);
}

/* A pack on disk with the baseline's id replaces the embedded one. */
static void test_disk_replaces_embedded(void **state)
{
	static const char *const packs[][2] = {
		{POLICY_DEFAULT_PACK, META(POLICY_DEFAULT_PACK) "commands:\n  allow: ['*']\n"},
		{"child", META("child") "  inherits: " POLICY_DEFAULT_PACK "\n"},
	};
	struct policy_set *set = NULL;
	struct err e = {0};

	(void)state;
	if (load_packs(packs, ARRAY_SIZE(packs), &set, &e) != ST_OK)
		fail_msg("%s", e.msg);
	assert_int_equal(policy_set_count(set), 2);
	assert_list(must_find(set, POLICY_DEFAULT_PACK), POLICY_LIST_CMD_ALLOW, "*");
	assert_list(must_find(set, "child"), POLICY_LIST_CMD_ALLOW, "*");
	assert_list(must_find(set, "child"), POLICY_LIST_FS_BLOCK_READ, "");
	policy_set_free(set);
}

static const struct {
	const char *name;
	const char *packs[3][2]; /* (dir id, yaml); NULL-terminated */
	enum status status;
	const char *msg_has[3]; /* substrings the message must hold */
} bad[] = {
	{"list is a scalar",
	 {{"x", META("x") "commands:\n  block: rm\n"}},
	 ST_INVALID,
	 {"x/policy.yaml:5: commands.block must be a list of strings"}},
	{"list item is a mapping",
	 {{"x", META("x") "filesystem:\n  block_read:\n    - ok\n    - {a: b}\n"}},
	 ST_INVALID,
	 {"x/policy.yaml:7: filesystem.block_read must be a list of strings"}},
	{"nested list item",
	 {{"x", META("x") "commands:\n  allow:\n    - [a]\n"}},
	 ST_INVALID,
	 {"x/policy.yaml:6: commands.allow must be a list of strings"}},
	{"empty pattern",
	 {{"x", META("x") "commands:\n  allow: ['']\n"}},
	 ST_INVALID,
	 {"x/policy.yaml:5: commands.allow: empty pattern"}},
	{"unknown top-level key",
	 {{"x", META("x") "\nrules: []\n"}},
	 ST_INVALID,
	 {"x/policy.yaml:5: unknown key 'rules'"}},
	{"unknown list key",
	 {{"x", META("x") "filesystem:\n  block_reads: [a]\n"}},
	 ST_INVALID,
	 {"x/policy.yaml:5: unknown key 'filesystem.block_reads'"}},
	{"unknown metadata key",
	 {{"x", META("x") "  owner: me\n"}},
	 ST_INVALID,
	 {"x/policy.yaml:4: unknown key 'metadata.owner'"}},
	{"duplicate key",
	 {{"x", META("x") "commands:\n  block: [a]\n  block: [b]\n"}},
	 ST_INVALID,
	 {"x/policy.yaml:6: duplicate key 'block' in commands"}},
	{"section is a list",
	 {{"x", META("x") "git:\n  - main\n"}},
	 ST_INVALID,
	 {"x/policy.yaml:5: git must be a mapping"}},
	{"no metadata",
	 {{"x", "commands:\n  block: [a]\n"}},
	 ST_INVALID,
	 {"x/policy.yaml:1: metadata is required"}},
	{"no id",
	 {{"x", "commands: {}\nmetadata:\n  version: '1'\n"}},
	 ST_INVALID,
	 {"x/policy.yaml:3: metadata.id is required"}},
	{"no version",
	 {{"x", "metadata:\n  id: x\n"}},
	 ST_INVALID,
	 {"x/policy.yaml:2: metadata.version is required"}},
	{"bad id",
	 {{"x", "metadata:\n  id: Bad Id\n  version: '1'\n"}},
	 ST_INVALID,
	 {"x/policy.yaml:2: metadata.id 'Bad Id' is not a valid pack id"}},
	{"id is a list",
	 {{"x", "metadata:\n  id: [x]\n  version: '1'\n"}},
	 ST_INVALID,
	 {"x/policy.yaml:2: metadata.id must be a non-empty string"}},
	{"id does not match directory",
	 {{"x", META("y")}},
	 ST_INVALID,
	 {"x/policy.yaml: metadata.id 'y' does not match directory 'x'"}},
	{"inherits is a mapping",
	 {{"x", META("x") "  inherits: {a: b}\n"}},
	 ST_INVALID,
	 {"x/policy.yaml:4: metadata.inherits must be a list of strings"}},
	{"yaml syntax",
	 {{"x", META("x") "commands:\n  block: [a, b\n  allow: [c]\n"}},
	 ST_INVALID,
	 {"x/policy.yaml:6: invalid yaml"}},
	{"tab indentation",
	 {{"x", META("x") "commands:\n\tblock: [a]\n"}},
	 ST_INVALID,
	 {"x/policy.yaml:5: invalid yaml"}},
	{"empty file", {{"x", ""}}, ST_INVALID, {"x/policy.yaml:1: file is empty"}},
	{"top level is a list",
	 {{"x", "- a\n- b\n"}},
	 ST_INVALID,
	 {"x/policy.yaml:1: top level must be a mapping"}},
	{"unknown parent",
	 {{"x", META("x") "  inherits: [ghost]\n"}},
	 ST_INVALID,
	 {"x/policy.yaml:4: policy pack 'x' inherits unknown policy pack 'ghost'"}},
	{"self cycle",
	 {{"x", META("x") "  inherits: x\n"}},
	 ST_INVALID,
	 {"x/policy.yaml:4: policy pack 'x': inheritance cycle x -> x"}},
	{"two-pack cycle",
	 {{"a", META("a") "  inherits: b\n"}, {"b", META("b") "  inherits: [a]\n"}},
	 ST_INVALID,
	 {"policy pack 'a': inheritance cycle a -> b -> a"}},
	{"cycle below a good pack",
	 {{"a", META("a") "  inherits: [b]\n"},
	  {"b", META("b") "  inherits: [" POLICY_DEFAULT_PACK ", c]\n"},
	  {"c", META("c") "  inherits: [b]\n"}},
	 ST_INVALID,
	 {"inheritance cycle b -> c -> b", "b/policy.yaml:4:"}},
};

static void test_bad_packs(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct policy_set *set = (struct policy_set *)&bad; /* must be reset to NULL */
		struct err e = {0};
		size_t n = 0;
		enum status st;

		while (n < 3 && bad[i].packs[n][0])
			n++;
		st = load_packs(bad[i].packs, n, &set, &e);
		if (st != bad[i].status)
			fail_msg("case '%s': got %s (%s), want %s", bad[i].name, status_name(st),
				 e.msg, status_name(bad[i].status));
		assert_null(set);
		for (size_t k = 0; k < 3 && bad[i].msg_has[k]; k++)
			if (!strstr(e.msg, bad[i].msg_has[k]))
				fail_msg("case '%s': message '%s' lacks '%s'", bad[i].name, e.msg,
					 bad[i].msg_has[k]);
	}
}

/* Null lists and sections, flow style, anchors: all fine. */
static void test_lenient_shapes(void **state)
{
	static const char *const packs[][2] = {
		{"x", "# comment\nmetadata: {id: x, version: 2.0, title: T}\nfilesystem:\n"
		      "  block_read:\n  block_write: ~\ngit:\nmcp: null\n"
		      "commands:\n  block: &b [a, b, a]\n  allow: *b\n"},
	};
	struct policy_set *set = NULL;
	struct policy_pack_info info;
	struct err e = {0};

	(void)state;
	if (load_packs(packs, ARRAY_SIZE(packs), &set, &e) != ST_OK)
		fail_msg("%s", e.msg);
	policy_pack_info(must_find(set, "x"), &info);
	assert_string_equal(info.version, "2.0");
	assert_string_equal(info.title, "T");
	assert_string_equal(info.description, "");
	assert_list(must_find(set, "x"), POLICY_LIST_CMD_BLOCK, "a,b");
	assert_list(must_find(set, "x"), POLICY_LIST_CMD_ALLOW, "a,b");
	assert_int_equal(info.list_counts[POLICY_LIST_FS_BLOCK_READ], 0);
	policy_set_free(set);
}

static void test_dir_handling(void **state)
{
	char *dir = test_dir_new();
	char *sub = xasprintf("%s/not-a-pack", dir);
	char *missing = xasprintf("%s/missing", dir);
	char *big = xmalloc(POLICY_FILE_MAX + 64);
	struct policy_set *set = NULL;
	struct err e = {0};

	(void)state;
	/* a directory without policy.yaml and a stray file are skipped */
	assert_int_equal(mkdir_p(sub, &e), ST_OK);
	assert_int_equal(file_write_atomic(missing, "x", 1, &e), ST_OK);
	assert_int_equal(policy_set_load(dir, &set, &e), ST_OK);
	assert_int_equal(policy_set_count(set), 1);
	policy_set_free(set);
	free(missing);
	missing = xasprintf("%s/nowhere", dir);
	assert_int_equal(policy_set_load(missing, &set, &e), ST_IO);
	assert_non_null(strstr(e.msg, "open policy dir"));
	assert_null(set);
	/* a file over the cap */
	memset(big, '#', POLICY_FILE_MAX + 62);
	big[POLICY_FILE_MAX + 62] = '\n';
	big[POLICY_FILE_MAX + 63] = '\0';
	test_pack_write(dir, "huge", big);
	assert_int_equal(policy_set_load(dir, &set, &e), ST_TOO_LARGE);
	assert_non_null(strstr(e.msg, "huge/policy.yaml"));
	free(big);
	free(missing);
	free(sub);
	test_dir_remove(dir);
}

static void sha_of(const char *yaml, const char *id, char out[SHA256_HEX_LEN])
{
	const char *packs[2][2] = {{"p", META("p") "commands:\n  block: [a, b]\n"}, {"q", yaml}};
	struct policy_set *set = NULL;
	struct policy_pack_info info;
	struct err e = {0};

	if (load_packs((const char *const(*)[2])packs, 2, &set, &e) != ST_OK)
		fail_msg("%s", e.msg);
	policy_pack_info(must_find(set, id), &info);
	memcpy(out, info.sha256, SHA256_HEX_LEN);
	policy_set_free(set);
}

/* Same rules, however written: same hash.  Any rule changed, here or in a parent: new hash. */
static void test_sha256(void **state)
{
	static const char *const same[] = {
		META("q") "  inherits: p\n  title: One\ncommands:\n  allow: [t1, t2]\n",
		"# reordered, retitled, flow style, duplicate\ncommands: {allow: [t1, t2, t1]}\n"
		"metadata: {version: '1', id: q, inherits: [p], description: other}\n",
		META("q") "  inherits: p\ncommands:\n  block: [a]\n  allow:\n    - t1\n    - t2\n",
	};
	static const char *const differ[] = {
		META("q") "  inherits: p\ncommands:\n  allow: [t1, t3]\n",
		META("q") "  inherits: p\ncommands:\n  allow: [t2, t1]\n",
		META("q") "  inherits: p\ncommands:\n  allow: [t1, t2]\n  block: [c]\n",
		META("q") "  inherits: p\ncommands:\n  allow: [t1, t2]\ngit:\n"
			  "  protected_branches: [dev]\n",
		META("q") "commands:\n  allow: [t1, t2]\n",
	};
	char first[SHA256_HEX_LEN], sha[SHA256_HEX_LEN];

	(void)state;
	sha_of(same[0], "q", first);
	for (size_t i = 1; i < ARRAY_SIZE(same); i++) {
		sha_of(same[i], "q", sha);
		if (strcmp(sha, first) != 0)
			fail_msg("same[%zu]: hash changed", i);
	}
	for (size_t i = 0; i < ARRAY_SIZE(differ); i++) {
		sha_of(differ[i], "q", sha);
		if (strcmp(sha, first) == 0)
			fail_msg("differ[%zu]: hash did not change", i);
	}
}

/* The canonical form is pinned: docs/policies.md describes exactly this. */
static void test_canonical(void **state)
{
	static const char *const packs[][2] = {
		{"x", META("x") "commands:\n  block: ['rm -rf /']\n"
				"git:\n  protected_branches: [main]\n"},
	};
	static const char want[] = "cavra.policy.canonical.v1\n"
				   "filesystem.block_read 0\n"
				   "filesystem.block_write 0\n"
				   "filesystem.require_approval_write 0\n"
				   "commands.block 1\n"
				   "8 rm -rf /\n"
				   "commands.allow 0\n"
				   "git.protected_branches 1\n"
				   "4 main\n"
				   "mcp.blocked_servers 0\n"
				   "mcp.blocked_tools 0\n"
				   "mcp.require_approval_tools 0\n"
				   "mcp.require_approval_capabilities 0\n";
	struct policy_set *set = NULL;
	struct policy_pack_info info;
	char sha[SHA256_HEX_LEN];
	struct err e = {0};
	size_t len;
	char *canon;

	(void)state;
	if (load_packs(packs, ARRAY_SIZE(packs), &set, &e) != ST_OK)
		fail_msg("%s", e.msg);
	canon = policy_pack_canonical(must_find(set, "x"), &len);
	assert_string_equal(canon, want);
	assert_int_equal(len, strlen(want));
	sha256_hex(want, strlen(want), sha);
	policy_pack_info(must_find(set, "x"), &info);
	assert_string_equal(info.sha256, sha);
	free(canon);
	policy_set_free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_embedded_baseline),
		cmocka_unit_test(test_shipped_packs),
		cmocka_unit_test(test_find_unknown),
		cmocka_unit_test(test_inherit_merge),
		cmocka_unit_test(test_disk_replaces_embedded),
		cmocka_unit_test(test_bad_packs),
		cmocka_unit_test(test_lenient_shapes),
		cmocka_unit_test(test_dir_handling),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_canonical),
	};

	return cmocka_run_group_tests_name("policy/load", tests, NULL, NULL);
}
