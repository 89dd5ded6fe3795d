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
#include "base/hash.h"

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

/* Loads the packs; any error fails the test. */
static struct policy_set *must_load(const char *const (*packs)[2], size_t n)
{
	struct policy_set *set = NULL;
	struct err e = {0};

	if (load_packs(packs, n, &set, &e) != ST_OK)
		fail_msg("%s", e.msg);
	return set;
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

/* The last item of list l (a child's own, after those it extends) is want. */
static void assert_last(const struct policy_pack *p, enum policy_list l, const char *want)
{
	const char *const *items;
	size_t n;

	policy_pack_list(p, l, &items, &n);
	if (n == 0 || strcmp(items[n - 1], want) != 0)
		fail_msg("%s: last of %zu is '%s', want '%s'", policy_list_name(l), n,
			 n ? items[n - 1] : "", want);
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

	(void)state;
	set = must_load(packs, ARRAY_SIZE(packs));
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

	(void)state;
	set = must_load(packs, ARRAY_SIZE(packs));
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
	{"empty file", {{"x", ""}}, ST_INVALID, {"x/policy.yaml:1: file is empty"}},
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
	{"unknown git key names the known ones",
	 {{"x", META("x") "git:\n  require_pull_reqest: true\n"}},
	 ST_INVALID,
	 {"x/policy.yaml:5: unknown key 'git.require_pull_reqest' (known: protected_branches, "
	  "block_push_branches, block_direct_push_to_protected_branch, require_pull_request"}},
	{"unknown mcp key",
	 {{"x", META("x") "mcp:\n  allowlist: true\n"}},
	 ST_INVALID,
	 {"unknown key 'mcp.allowlist' (known: blocked_servers,", "allowed_servers",
	  "risk_scoring"}},
	{"unknown top-level key lists the sections",
	 {{"x", META("x") "evidences: {}\n"}},
	 ST_INVALID,
	 {"unknown key 'evidences' (known: metadata, filesystem, commands, git, mcp, approvals, "
	  "evidence, compliance)"}},
	{"bad mode",
	 {{"x", META("x") "  mode: enforcing\n"}},
	 ST_INVALID,
	 {"x/policy.yaml:4: metadata.mode must be one of enforce, audit_only, strict, "
	  "break_glass"}},
	{"approver with a control character",
	 {{"x", META("x") "approvals:\n  x: {approvers: [\"a\\x01b\"]}\n"}},
	 ST_INVALID,
	 {"approvals.x: 'a", "is not a group name"}},
};

/* The common case: one pack "x" that does not load, and one part of the message. */
static const struct {
	const char *name, *yaml, *msg_has;
} bad_x[] = {
	{"list is a scalar", META("x") "commands:\n  block: rm\n",
	 "x/policy.yaml:5: commands.block must be a list of strings"},
	{"list item is a mapping", META("x") "filesystem:\n  block_read:\n    - ok\n    - {a: b}\n",
	 "x/policy.yaml:7: filesystem.block_read must be a list of strings"},
	{"nested list item", META("x") "commands:\n  allow:\n    - [a]\n",
	 "x/policy.yaml:6: commands.allow must be a list of strings"},
	{"empty pattern", META("x") "commands:\n  allow: ['']\n",
	 "x/policy.yaml:5: commands.allow: empty pattern"},
	{"unknown top-level key", META("x") "\nrules: []\n",
	 "x/policy.yaml:5: unknown key 'rules'"},
	{"unknown list key", META("x") "filesystem:\n  block_reads: [a]\n",
	 "x/policy.yaml:5: unknown key 'filesystem.block_reads'"},
	{"unknown metadata key", META("x") "  owner: me\n",
	 "x/policy.yaml:4: unknown key 'metadata.owner'"},
	{"duplicate key", META("x") "commands:\n  block: [a]\n  block: [b]\n",
	 "x/policy.yaml:6: duplicate key 'block' in commands"},
	{"section is a list", META("x") "git:\n  - main\n",
	 "x/policy.yaml:5: git must be a mapping"},
	{"no metadata", "commands:\n  block: [a]\n", "x/policy.yaml:1: metadata is required"},
	{"no id", "commands: {}\nmetadata:\n  version: '1'\n",
	 "x/policy.yaml:3: metadata.id is required"},
	{"no version", "metadata:\n  id: x\n", "x/policy.yaml:2: metadata.version is required"},
	{"bad id", "metadata:\n  id: Bad Id\n  version: '1'\n",
	 "x/policy.yaml:2: metadata.id 'Bad Id' is not a valid pack id"},
	{"id is a list", "metadata:\n  id: [x]\n  version: '1'\n",
	 "x/policy.yaml:2: metadata.id must be a non-empty string"},
	{"id does not match directory", META("y"),
	 "x/policy.yaml: metadata.id 'y' does not match directory 'x'"},
	{"inherits is a mapping", META("x") "  inherits: {a: b}\n",
	 "x/policy.yaml:4: metadata.inherits must be a list of strings"},
	{"yaml syntax", META("x") "commands:\n  block: [a, b\n  allow: [c]\n",
	 "x/policy.yaml:6: invalid yaml"},
	{"tab indentation", META("x") "commands:\n\tblock: [a]\n", "x/policy.yaml:5: invalid yaml"},
	{"top level is a list", "- a\n- b\n", "x/policy.yaml:1: top level must be a mapping"},
	{"unknown parent", META("x") "  inherits: [ghost]\n",
	 "x/policy.yaml:4: policy pack 'x' inherits unknown policy pack 'ghost'"},
	{"self cycle", META("x") "  inherits: x\n",
	 "x/policy.yaml:4: policy pack 'x': inheritance cycle x -> x"},
	{"unknown evidence key", META("x") "evidence:\n  require_manifest: true\n",
	 "unknown key 'evidence.require_manifest' (known: require_agent_manifest,"},
	{"unknown compliance key", META("x") "compliance:\n  map_to: [a]\n",
	 "x/policy.yaml:5: unknown key 'compliance.map_to' (known: maps_to)"},
	{"flag is a string", META("x") "git:\n  require_pull_request: 'yes'\n",
	 "x/policy.yaml:5: git.require_pull_request must be true or false"},
	{"flag is a list", META("x") "mcp:\n  block_unknown_servers: [true]\n",
	 "mcp.block_unknown_servers must be true or false"},
	{"input flag not a switch", META("x") "input:\n  block_hidden_characters: sometimes\n",
	 "input.block_hidden_characters must be true or false"},
	{"bad risk level", META("x") "mcp:\n  risk_scoring: {github: severe}\n",
	 "mcp.risk_scoring.github must be one of low, medium, high, critical"},
	{"risk scoring is a list", META("x") "mcp:\n  risk_scoring: [github]\n",
	 "mcp.risk_scoring must be a mapping"},
	{"unknown approvals key", META("x") "approvals:\n  protected_actions: {groups: [a]}\n",
	 "unknown key 'approvals.protected_actions.groups' (known: approvers)"},
	{"approvers is a string", META("x") "approvals:\n  protected_actions: {approvers: sec}\n",
	 "approvers must be a list of strings"},
	{"bad approval class", META("x") "approvals:\n  Protected Actions: {approvers: [a]}\n",
	 "approvals: 'Protected Actions' is not a valid class name"},
	{"branch pattern is a list", META("x") "evidence:\n  require_branch_pattern: [a]\n",
	 "evidence.require_branch_pattern must be a non-empty string"},
	{"maps_to is a string", META("x") "compliance:\n  maps_to: PCI DSS 6\n",
	 "compliance.maps_to must be a list of strings"},
};

/* Loads the packs, expects status and no set, and a message holding every msg_has[k]. */
static void check_bad(const char *name, const char *const (*packs)[2], enum status status,
		      const char *const *msg_has, size_t nmsg)
{
	struct policy_set *set = (struct policy_set *)&bad; /* must be reset to NULL */
	struct err e = {0};
	size_t n = 0;
	enum status st;

	while (n < 3 && packs[n][0])
		n++;
	st = load_packs(packs, n, &set, &e);
	if (st != status)
		fail_msg("case '%s': got %s (%s), want %s", name, status_name(st), e.msg,
			 status_name(status));
	assert_null(set);
	for (size_t k = 0; k < nmsg && msg_has[k]; k++)
		if (!strstr(e.msg, msg_has[k]))
			fail_msg("case '%s': message '%s' lacks '%s'", name, e.msg, msg_has[k]);
}

static void test_bad_packs(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		check_bad(bad[i].name, bad[i].packs, bad[i].status, bad[i].msg_has, 3);
	for (size_t i = 0; i < ARRAY_SIZE(bad_x); i++) {
		const char *const packs[3][2] = {{"x", bad_x[i].yaml}};

		check_bad(bad_x[i].name, packs, ST_INVALID, &bad_x[i].msg_has, 1);
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

	(void)state;
	set = must_load(packs, ARRAY_SIZE(packs));
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

/* Every key of the original CAVRA's vocabulary (and cavra's input section), in one pack and its
 * child. */
static const char full_yaml[] =
	"metadata:\n"
	"  id: full\n  title: HIPAA\n  description: d\n  version: '1.0.0'\n"
	"  inherits: [" POLICY_DEFAULT_PACK "]\n  mode: audit_only\n"
	"filesystem:\n  block_read: [phi/**]\n  block_write: [phi/**]\n"
	"  require_approval_write: [schema/**]\n"
	"commands:\n  block: [psql*]\n  allow: [ls]\n  require_approval: [pg_dump*]\n"
	"git:\n  block_push_branches: [production]\n"
	"  block_direct_push_to_protected_branch: true\n  require_pull_request: true\n"
	"  require_human_reviewer: True\n  require_ai_attestation: false\n"
	"  require_pr_attestation: TRUE\n"
	"mcp:\n  allowlist_enabled: true\n  block_unknown_servers: false\n"
	"  allowed_servers: [github]\n  blocked_servers: [pastebin]\n"
	"  risk_scoring:\n    github: medium\n    'db-*': critical\n"
	"input:\n  block_hidden_characters: true\n" /* cavra's own key */
	"approvals:\n  protected_actions:\n    approvers: [privacy-office, security]\n"
	"  security_settings: {approvers: [appsec]}\n  release_publication: {approvers: []}\n"
	"evidence:\n  require_agent_manifest: true\n  require_issue_link: true\n"
	"  require_bot_identity: false\n  require_pr_attestation: true\n"
	"  require_docs_update_for_user_facing_changes: true\n"
	"  require_branch_pattern: '^(feat|fix)/'\n  required_fields: [actor, ticket]\n"
	"compliance:\n  maps_to: ['HIPAA 164.312(b)', 'HIPAA 164.308']\n";

static const char child_yaml[] =
	"metadata: {id: kid, version: '2', inherits: full}\n"
	"git: {require_ai_attestation: true, require_pull_request: false}\n"
	"mcp: {risk_scoring: {github: low}}\n"
	"approvals: {security_settings: {approvers: [kid-sec]}}\n"
	"compliance: {maps_to: ['SOC 2 CC8.1', 'HIPAA 164.308']}\n";

static void assert_strings(const char *const *v, size_t n, const char *want)
{
	char got[512] = "";
	size_t used = 0;

	for (size_t i = 0; i < n && used < sizeof(got); i++)
		used += (size_t)snprintf(got + used, sizeof(got) - used, "%s%s", i ? "," : "",
					 v[i]);
	if (strcmp(got, want) != 0)
		fail_msg("got [%s], want [%s]", got, want);
}

static void assert_approvers(const struct policy_pack *p, size_t i, const char *cls,
			     const char *want)
{
	const char *got_cls;
	const char *const *v;
	size_t n;

	assert_true(policy_pack_approvals(p, i, &got_cls, &v, &n));
	assert_string_equal(got_cls, cls);
	assert_strings(v, n, want);
}

static void test_original_vocabulary(void **state)
{
	static const char *const packs[][2] = {{"full", full_yaml}, {"kid", child_yaml}};
	struct policy_pack_settings st;
	const struct policy_pack *full, *kid;
	struct policy_set *set = NULL;
	const char *cls;
	const char *const *v;
	size_t n;

	(void)state;
	set = must_load(packs, ARRAY_SIZE(packs));
	full = must_find(set, "full");
	kid = must_find(set, "kid");
	assert_last(full, POLICY_LIST_CMD_REQUIRE_APPROVAL, "pg_dump*");
	assert_list(full, POLICY_LIST_GIT_BLOCK_PUSH_BRANCHES, "production");
	assert_list(full, POLICY_LIST_MCP_ALLOWED_SERVERS, "github");
	assert_last(kid, POLICY_LIST_CMD_REQUIRE_APPROVAL, "pg_dump*");
	policy_pack_settings(full, &st);
	assert_string_equal(policy_mode_name(st.mode), "audit_only");
	for (int f = 0; f < POLICY_FLAG_COUNT; f++) {
		bool off = f == POLICY_FLAG_MCP_BLOCK_UNKNOWN_SERVERS ||
			   f == POLICY_FLAG_GIT_REQUIRE_AI_ATTESTATION ||
			   f == POLICY_FLAG_EV_REQUIRE_BOT_IDENTITY;

		if (st.flags[f] != (off ? POLICY_FLAG_FALSE : POLICY_FLAG_TRUE))
			fail_msg("flag %s: %d", policy_flag_name(f), (int)st.flags[f]);
	}
	assert_string_equal(st.branch_pattern, "^(feat|fix)/");
	assert_strings(st.required_fields, st.required_fields_len, "actor,ticket");
	assert_strings(st.maps_to, st.maps_to_len, "HIPAA 164.312(b),HIPAA 164.308");
	assert_strings(st.risk_servers, st.risk_len, "github,db-*");
	assert_int_equal(st.risk_levels[1], POLICY_SEV_CRITICAL);
	assert_int_equal(st.approval_classes_len, 3);
	assert_approvers(full, 0, "protected_actions", "privacy-office,security");
	assert_approvers(full, 2, "release_publication", "");
	assert_false(policy_pack_approvals(full, 3, &cls, &v, &n));
	/* the child: mode not inherited, true wins, nearest map entry wins, lists add */
	policy_pack_settings(kid, &st);
	assert_null(policy_mode_name(st.mode));
	assert_int_equal(st.flags[POLICY_FLAG_GIT_REQUIRE_AI_ATTESTATION], POLICY_FLAG_TRUE);
	assert_int_equal(st.flags[POLICY_FLAG_GIT_REQUIRE_PULL_REQUEST], POLICY_FLAG_TRUE);
	assert_string_equal(st.branch_pattern, "^(feat|fix)/");
	assert_strings(st.maps_to, st.maps_to_len, "HIPAA 164.312(b),HIPAA 164.308,SOC 2 CC8.1");
	assert_int_equal(st.risk_levels[0], POLICY_SEV_LOW);
	assert_approvers(kid, 1, "security_settings", "kid-sec");
	assert_approvers(kid, 0, "protected_actions", "privacy-office,security");
	policy_set_free(set);
}

/* The flag names are the key paths a file uses, and only four flags decide. */
static void test_flag_names(void **state)
{
	int deciding = 0;

	(void)state;
	for (int f = 0; f < POLICY_FLAG_COUNT; f++) {
		assert_non_null(strchr(policy_flag_name(f), '.'));
		assert_non_null(strstr(full_yaml, strchr(policy_flag_name(f), '.') + 1));
		deciding += policy_flag_decides(f);
	}
	assert_int_equal(deciding, 4);
	assert_string_equal(policy_flag_name(POLICY_FLAG_COUNT), "unknown");
	assert_null(policy_mode_name(POLICY_MODE_UNSET));
	assert_string_equal(policy_mode_name(POLICY_MODE_BREAK_GLASS), "break_glass");
}

static void sha_of(const char *yaml, const char *id, char out[SHA256_HEX_LEN])
{
	const char *packs[2][2] = {{"p", META("p") "commands:\n  block: [a, b]\n"}, {"q", yaml}};
	struct policy_set *set = NULL;
	struct policy_pack_info info;

	set = must_load((const char *const(*)[2])packs, 2);
	policy_pack_info(must_find(set, id), &info);
	memcpy(out, info.sha256, SHA256_HEX_LEN);
	policy_set_free(set);
}

#define Q_T12 META("q") "  inherits: p\ncommands:\n  allow: [t1, t2]\n"

/* Same rules, however written: same hash.  Any rule changed, here or in a parent: new hash. */
static void test_sha256(void **state)
{
	static const char *const same[] = {
		META("q") "  inherits: p\n  title: One\ncommands:\n  allow: [t1, t2]\n",
		"# reordered, retitled, flow style, duplicate\ncommands: {allow: [t1, t2, t1]}\n"
		"metadata: {version: '1', id: q, inherits: [p], description: other}\n",
		META("q") "  inherits: p\ncommands:\n  block: [a]\n  allow:\n    - t1\n    - t2\n",
		/* kept for audit only, or evaluated as enforce: not rules, same hash */
		Q_T12 "git:\n  require_pull_request: true\n  require_pr_attestation: true\n",
		Q_T12 "evidence:\n  require_issue_link: true\n  required_fields: [a]\n"
		      "  require_branch_pattern: x\n",
		Q_T12 "compliance:\n  maps_to: ['PCI DSS 6']\n",
		META("q") "  inherits: p\n  mode: strict\ncommands:\n  allow: [t1, t2]\n",
		Q_T12 "  require_approval: []\nmcp:\n  allowed_servers: ~\n",
	};
	static const char *const differ[] = {
		META("q") "  inherits: p\ncommands:\n  allow: [t1, t3]\n",
		META("q") "  inherits: p\ncommands:\n  allow: [t2, t1]\n",
		META("q") "  inherits: p\ncommands:\n  allow: [t1, t2]\n  block: [c]\n",
		META("q") "  inherits: p\ncommands:\n  allow: [t1, t2]\ngit:\n"
			  "  protected_branches: [dev]\n",
		META("q") "commands:\n  allow: [t1, t2]\n",
		/* the original's deciding keys are rules: each changes the hash */
		Q_T12 "  require_approval: [t3]\n",
		Q_T12 "git:\n  block_push_branches: [prod]\n",
		Q_T12 "git:\n  block_direct_push_to_protected_branch: false\n",
		Q_T12 "git:\n  block_direct_push_to_protected_branch: true\n",
		Q_T12 "mcp:\n  allowed_servers: [github]\n",
		Q_T12 "mcp:\n  allowlist_enabled: true\n",
		Q_T12 "mcp:\n  block_unknown_servers: false\n",
		Q_T12 "input:\n  block_hidden_characters: true\n",
		Q_T12 "input:\n  block_hidden_characters: false\n",
		Q_T12 "mcp:\n  risk_scoring: {github: high}\n",
		Q_T12 "approvals:\n  protected_actions: {approvers: [sec]}\n",
		META("q") "  inherits: p\n  mode: audit_only\ncommands:\n  allow: [t1, t2]\n",
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
	size_t len;
	char *canon;

	(void)state;
	set = must_load(packs, ARRAY_SIZE(packs));
	canon = policy_pack_canonical(must_find(set, "x"), &len);
	assert_string_equal(canon, want);
	assert_int_equal(len, strlen(want));
	sha256_hex(want, strlen(want), sha);
	policy_pack_info(must_find(set, "x"), &info);
	assert_string_equal(info.sha256, sha);
	free(canon);
	policy_set_free(set);
}

/* What the original's keys add to the canonical form, after the ten lists. */
static void test_canonical_extensions(void **state)
{
	static const char *const packs[][2] = {
		{"x", META("x") "  mode: audit_only\n"
				"commands: {require_approval: [deploy]}\n"
				"git: {block_direct_push_to_protected_branch: false}\n"
				"mcp: {risk_scoring: {gh: high}}\n"
				"approvals: {protected_actions: {approvers: [sec]}}\n"},
	};
	static const char tail[] = "mcp.require_approval_capabilities 0\n"
				   "commands.require_approval 1\n"
				   "6 deploy\n"
				   "git.block_direct_push_to_protected_branch false\n"
				   "metadata.mode audit_only\n"
				   "mcp.risk_scoring 1\n"
				   "key 1\n2 gh\n"
				   "values 1\n4 high\n"
				   "approvals 1\n"
				   "key 1\n17 protected_actions\n"
				   "values 1\n3 sec\n";
	struct policy_set *set = NULL;
	size_t len;
	char *canon;

	(void)state;
	set = must_load(packs, ARRAY_SIZE(packs));
	canon = policy_pack_canonical(must_find(set, "x"), &len);
	assert_true(len > strlen(tail));
	assert_string_equal(canon + len - strlen(tail), tail);
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
		cmocka_unit_test(test_canonical_extensions),
		cmocka_unit_test(test_original_vocabulary),
		cmocka_unit_test(test_flag_names),
	};

	return cmocka_run_group_tests_name("policy/load", tests, NULL, NULL);
}
