/* Unit tests for the manifest: path checks, writing and reading back, the self checksum, and
 * that one reading collects every problem. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/xalloc.h"
#include "base/base_testutil.h"
#include "ops/ops_testutil.h"
#include "ops/ops_int.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const struct {
	const char *path;
	bool safe;
} paths[] = {
	{"activity_decisions.jsonl", true},
	{"sub/table.jsonl", true},
	{"a-b_c.1", true},
	{"../../etc/passwd", false},
	{"..", false},
	{"a/../b", false},
	{"./a", false},
	{"/etc/passwd", false},
	{"a//b", false},
	{"a/", false},
	{"", false},
	{".hidden", false},
	{".table.jsonl.tmp", false},
	{"manifest.json", false},
	{"a\\b", false},
	{"a b", false},
	{"caf\xc3\xa9", false},
	{"a/b/c/d/e", false},
};

static void test_path_safe(void **state)
{
	char why[120];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
		if (ops_path_safe(paths[i].path, why, sizeof(why)) != paths[i].safe)
			fail_msg("path '%s': want %s", paths[i].path,
				 paths[i].safe ? "safe" : "unsafe");
}

static char *cols[] = {STR_RW("id"), STR_RW("payload")};
/* sample()'s strings: they outlive the call */
static char s_evidence[] = "evidence_metadata", s_sha_a[] = SHA_A, s_store[] = "s", s_table[] = "t",
	    s_path[] = "t.jsonl", s_id[] = "id", s_version[] = "0.1.0",
	    s_backup_id[] = "bak_000000000000", s_backend[] = "sqlite",
	    s_snapshot[] = "one read transaction", s_time[] = "2026-01-02T03:04:05.000000Z";

/* A small, valid manifest; strings borrowed from literals (never freed). */
static void sample(struct ops_manifest *m, struct ops_manifest_file *f,
		   struct ops_manifest_migration *g)
{
	memset(m, 0, sizeof(*m));
	*g = (struct ops_manifest_migration){1, s_evidence, s_sha_a};
	*f = (struct ops_manifest_file){.store = s_store,
					.table = s_table,
					.path = s_path,
					.key = s_id,
					.columns = cols,
					.ncolumns = 2,
					.rows = 2,
					.bytes = 10};
	memcpy(f->sha256, SHA_A, sizeof(f->sha256));
	m->tool_version = s_version;
	m->backup_id = s_backup_id;
	m->backend = s_backend;
	m->snapshot = s_snapshot;
	m->created_at = m->finished_at = s_time;
	m->schema_version = 1;
	m->migrations = g;
	m->nmigrations = 1;
	m->files = f;
	m->nfiles = 1;
	m->rows = 2;
	m->bytes = 10;
}

static char *sample_text(char sha[SHA256_HEX_LEN])
{
	struct ops_manifest m;
	struct ops_manifest_file f;
	struct ops_manifest_migration g;

	sample(&m, &f, &g);
	return ops_manifest_text(&m, sha);
}

OPS_TEST_DEFINE_KINDS_OF(struct ops_manifest, ops_manifest_parse, ops_manifest_free)

static void test_roundtrip(void **state)
{
	char sha[SHA256_HEX_LEN];
	char *text = sample_text(sha), *kinds, *last;
	struct ops_manifest *m = NULL;

	(void)state;
	/* the checksum is the last member, on a line of its own, covering what comes before */
	last = strstr(text, "\"manifest_sha256\"");
	assert_non_null(last);
	assert_true(last[-1] == ' ' && strchr(last, '\n') &&
		    strcmp(strchr(last, '\n'), "\n}\n") == 0);
	kinds = kinds_of(text, &m);
	assert_string_equal(kinds, "");
	assert_non_null(m);
	assert_string_equal(m->self_sha256, sha);
	assert_int_equal(m->schema_version, 1);
	assert_int_equal(m->nfiles, 1);
	assert_true(m->files[0].usable);
	assert_int_equal(m->files[0].ncolumns, 2);
	assert_string_equal(m->files[0].columns[1], "payload");
	ops_manifest_free(m);
	free(kinds);
	free(text);
}

/* Replaces the first occurrence of from by to in text (a new string). */
static char *edit(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);

	assert_non_null(at);
	return xasprintf("%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
}

static void test_self_checksum(void **state)
{
	char sha[SHA256_HEX_LEN];
	char *text = sample_text(sha);
	const struct {
		const char *name, *from, *to, *want;
	} edits[] = {
		{"content edited", "\"rows\": 2,\n  \"bytes\"", "\"rows\": 3,\n  \"bytes\"",
		 "manifest_checksum,manifest_field"},
		{"checksum edited", sha, SHA_A, "manifest_checksum"},
		{"checksum not last", "\n}\n", ",\n  \"extra\": 7\n}\n", "manifest_checksum"},
		{"checksum removed", "\"manifest_sha256\"", "\"other\"", "manifest_checksum"},
		{"not JSON", "{", "[", "manifest_syntax"},
		{"a key twice", "\"rows\": 2,\n  \"bytes\"",
		 "\"rows\": 2,\n  \"rows\": 3,\n  \"bytes\"", "manifest_syntax"},
		/* read as strictly as a request body (RFC 8259), which json-c alone is not */
		{"a leading zero", "\"rows\": 2,", "\"rows\": 02,", "manifest_syntax"},
		{"NaN", "\"rows\": 2,", "\"rows\": NaN,", "manifest_syntax"},
		{"a raw tab in a string", "\"rows\": 2,", "\"rows\": 2, \"x\": \"a\tb\",",
		 "manifest_syntax"},
		{"a second document", "\n}\n", "\n}\n{}\n", "manifest_syntax"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(edits); i++) {
		char *bad = edit(text, edits[i].from, edits[i].to);
		char *kinds = kinds_of(bad, NULL);

		if (strcmp(kinds, edits[i].want) != 0)
			fail_msg("case '%s': problems '%s', want '%s'", edits[i].name, kinds,
				 edits[i].want);
		free(kinds);
		free(bad);
	}
	free(text);
}

/* A manifest with many faults: one reading reports them all. */
static void test_every_problem(void **state)
{
	struct ops_manifest m;
	struct ops_manifest_file f[3];
	struct ops_manifest_migration g;
	char sha[SHA256_HEX_LEN];
	char *text, *bad, *kinds;

	(void)state;
	sample(&m, &f[0], &g);
	f[1] = f[0];
	f[1].path = STR_RW("../../etc/passwd");
	f[1].table = STR_RW("u");
	f[2] = f[0]; /* the same path again */
	f[2].table = STR_RW("v");
	m.files = f;
	m.nfiles = 3;
	m.rows = 6;
	m.bytes = 30;
	text = ops_manifest_text(&m, sha);
	bad = edit(text, "\"sha256\": \"" SHA_A "\"", "\"sha256\": \"xyz\"");
	free(text);
	text = edit(bad, "cavra.persistent_api.backup.v4", "cavra.persistent_api.backup.v1");
	free(bad);
	kinds = kinds_of(text, NULL);
	OPS_TEST_HAS_ALL(kinds, "manifest_checksum", "manifest_format", "manifest_field",
			 "path_unsafe", "duplicate");
	free(kinds);
	free(text);
}

static char *timed_cols[] = {STR_RW("id"), STR_RW("at"), STR_RW("payload")};

/* A manifest of one file newest first by "at" (order "at desc, id"), or in key order. */
static char *order_text(bool newest_first)
{
	struct ops_manifest m;
	struct ops_manifest_file f;
	struct ops_manifest_migration g;
	char sha[SHA256_HEX_LEN];

	sample(&m, &f, &g);
	f.columns = timed_cols;
	f.ncolumns = 3;
	f.newest_first = newest_first ? STR_RW("at") : NULL;
	return ops_manifest_text(&m, sha);
}

/* The file's order is written, read back, and an order verify could not check is refused. */
static void test_order(void **state)
{
	char *timed = order_text(true), *keyed = order_text(false), *kinds, *t;
	struct ops_manifest *m = NULL;
	const char *bad[] = {"nope desc, id", "id desc, id", "at",	   "at desc, other",
			     "at desc id",    " desc, id",   "at DESC, id"};

	(void)state;
	assert_non_null(strstr(timed, "\"order\": \"at desc, id\""));
	assert_non_null(strstr(keyed, "\"order\": \"id\""));
	kinds = kinds_of(timed, &m);
	assert_string_equal(kinds, "");
	assert_string_equal(m->files[0].newest_first, "at");
	ops_manifest_free(m);
	free(kinds);
	kinds = kinds_of(keyed, &m);
	assert_string_equal(kinds, "");
	assert_null(m->files[0].newest_first);
	ops_manifest_free(m);
	free(kinds);
	/* a backup from before "order" existed is in key order */
	t = edit(keyed, "\"order\": \"id\",", "");
	kinds = kinds_of(t, &m);
	assert_string_equal(kinds, "manifest_checksum");
	assert_true(m->files[0].usable);
	assert_null(m->files[0].newest_first);
	ops_manifest_free(m);
	free(kinds);
	free(t);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *to = xasprintf("\"order\": \"%s\"", bad[i]);

		t = edit(timed, "\"order\": \"at desc, id\"", to);
		kinds = kinds_of(t, &m);
		if (strcmp(kinds, "manifest_checksum,manifest_field") != 0 || m->files[0].usable)
			fail_msg("order '%s': problems '%s'", bad[i], kinds);
		ops_manifest_free(m);
		free(kinds);
		free(t);
		free(to);
	}
	free(timed);
	free(keyed);
}

/* The optional audit_head: written when set, read back, absent is fine, malformed is a problem. */
static void test_audit_head(void **state)
{
	struct ops_manifest m0;
	struct ops_manifest_file f;
	struct ops_manifest_migration g;
	struct ops_manifest *m = NULL;
	char sha[SHA256_HEX_LEN];
	char *text, *kinds, *t;
	const char *bad[] = {"\"audit_head\": 7",
			     "\"audit_head\": {\"seq\": -1, \"hash\": \"" SHA_A "\"}",
			     "\"audit_head\": {\"seq\": 3, \"hash\": \"ABC\"}",
			     "\"audit_head\": {\"hash\": \"" SHA_A "\"}"};

	(void)state;
	sample(&m0, &f, &g);
	m0.has_audit_head = true;
	m0.audit_head_seq = 42;
	memcpy(m0.audit_head_hash, SHA_A, sizeof(m0.audit_head_hash));
	text = ops_manifest_text(&m0, sha);
	assert_non_null(strstr(text, "\"audit_head\": {"));
	kinds = kinds_of(text, &m);
	assert_string_equal(kinds, "");
	assert_true(m->has_audit_head);
	assert_int_equal(m->audit_head_seq, 42);
	assert_string_equal(m->audit_head_hash, SHA_A);
	ops_manifest_free(m);
	free(kinds);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *from = strstr(text, "\"audit_head\": {"), *end = strchr(from, '}');
		char *head = xasprintf("%.*s", (int)(end + 1 - from), from);

		t = edit(text, head, bad[i]);
		kinds = kinds_of(t, &m);
		if (strcmp(kinds, "manifest_checksum,manifest_field") != 0 || m->has_audit_head)
			fail_msg("audit_head '%s': problems '%s'", bad[i], kinds);
		ops_manifest_free(m);
		free(kinds);
		free(head);
		free(t);
	}
	free(text);
	/* absent (every backup of a database without a hash chain): no problem */
	text = sample_text(sha);
	assert_null(strstr(text, "audit_head"));
	kinds = kinds_of(text, &m);
	assert_string_equal(kinds, "");
	assert_false(m->has_audit_head);
	ops_manifest_free(m);
	free(kinds);
	free(text);
}

/* A hostile path is kept printable in the report. */
static void test_report_printable(void **state)
{
	struct ops_report rep = {0};

	(void)state;
	ops_report_add(&rep, "path_unsafe", "a\x1b[31mb", "bad %s", "\x07x");
	assert_string_equal(rep.items[0].path, "a?[31mb");
	assert_string_equal(rep.items[0].msg, "bad ?x");
	ops_report_release(&rep);
}

/* The one SHA-256 check of the v2 and v1 manifests and of `ops restore` recording. */
static void test_is_sha256(void **state)
{
	char sha[SHA256_HEX_LEN + 1];

	(void)state;
	memset(sha, 'a', sizeof(sha));
	sha[64] = '\0';
	assert_true(ops_is_sha256(sha));
	sha[0] = '9';
	assert_true(ops_is_sha256(sha));
	sha[0] = 'A';
	assert_false(ops_is_sha256(sha));
	sha[0] = 'g';
	assert_false(ops_is_sha256(sha));
	sha[0] = 'a';
	sha[63] = '\0';
	assert_false(ops_is_sha256(sha));
	sha[63] = 'a';
	sha[64] = 'a';
	sha[65] = '\0';
	assert_false(ops_is_sha256(sha));
	assert_false(ops_is_sha256(""));
	assert_false(ops_is_sha256(NULL));
}

/* A compressed entry: its stored size and checksum are written, read back and checked. */
static char *zstd_text(void)
{
	struct ops_manifest m;
	struct ops_manifest_file f;
	struct ops_manifest_migration g;
	char sha[SHA256_HEX_LEN];

	sample(&m, &f, &g);
	f.compression = OPS_COMPRESS_ZSTD;
	f.stored_bytes = 7;
	memset(f.stored_sha256, 'b', SHA256_HEX_LEN - 1);
	f.stored_sha256[SHA256_HEX_LEN - 1] = '\0';
	return ops_manifest_text(&m, sha);
}

static void test_v3_stored_fields(void **state)
{
	char *text = zstd_text(), *kinds, *v3;
	struct ops_manifest *m = NULL;

	(void)state;
	OPS_TEST_HAS_ALL(text, "\"schema_version\": \"cavra.persistent_api.backup.v4\"",
			 "\"compression\": \"zstd\"", "\"stored_bytes\": 7",
			 "\"stored_sha256\": \"bbbb");
	kinds = kinds_of(text, &m);
	assert_string_equal(kinds, "");
	assert_int_equal(m->files[0].compression, OPS_COMPRESS_ZSTD);
	assert_int_equal(m->files[0].stored_bytes, 7);
	assert_int_equal(m->files[0].bytes, 10);
	assert_int_equal(m->stored_bytes, 7);
	assert_true(m->files[0].usable && m->files[0].stored_sha256[0] == 'b');
	ops_manifest_free(m);
	free(kinds);
	/* a v3 manifest (before the chain was dumped in seq order) has the same stored fields */
	v3 = edit(text, "backup.v4", "backup.v3");
	kinds = kinds_of(v3, &m);
	assert_string_equal(kinds, "manifest_checksum");
	assert_string_equal(m->format, "cavra.persistent_api.backup.v3");
	assert_true(m->files[0].usable && m->files[0].compression == OPS_COMPRESS_ZSTD);
	assert_int_equal(m->stored_bytes, 7);
	ops_manifest_free(m);
	free(kinds);
	free(v3);
	free(text);
}

/* Uncompressed (none), the stored file is the content: written so, and required so. */
static void test_v3_none_is_the_content(void **state)
{
	char sha[SHA256_HEX_LEN];
	char *text = sample_text(sha), *kinds;
	struct ops_manifest *m = NULL;

	(void)state;
	OPS_TEST_HAS_ALL(text, "\"compression\": \"none\"", "\"stored_bytes\": 10",
			 "\"stored_sha256\": \"" SHA_A "\"");
	kinds = kinds_of(text, &m);
	assert_string_equal(kinds, "");
	assert_int_equal(m->files[0].compression, OPS_COMPRESS_NONE);
	assert_int_equal(m->stored_bytes, 10);
	ops_manifest_free(m);
	free(kinds);
	free(text);
}

/* Each broken v3 field is manifest_field (and the self checksum no longer matches). */
static void test_v3_field_problems(void **state)
{
	static const struct {
		const char *name, *from, *to;
	} edits[] = {
		{"unknown compression", "\"compression\": \"zstd\"", "\"compression\": \"gzip\""},
		{"no compression", "\"compression\": \"zstd\",", ""},
		{"stored_bytes negative", "\"stored_bytes\": 7,", "\"stored_bytes\": -7,"},
		{"stored_bytes a string", "\"stored_bytes\": 7,", "\"stored_bytes\": \"7\","},
		{"stored_sha256 short", "\"stored_sha256\": \"bbbb",
		 "\"stored_sha256\": \"bb\", \"x\": \""},
		{"stored total", "\"stored_bytes\": 7,\n  \"manifest_sha256\"",
		 "\"stored_bytes\": 8,\n  \"manifest_sha256\""},
		{"none, but not the content", "\"compression\": \"zstd\"",
		 "\"compression\": \"none\""},
	};
	char *text = zstd_text();

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(edits); i++) {
		char *bad = edit(text, edits[i].from, edits[i].to);
		char *kinds = kinds_of(bad, NULL);

		/* a stored_bytes that cannot be read also leaves the total unmatched */
		if (strcmp(kinds, "manifest_checksum,manifest_field") != 0 &&
		    (strncmp(edits[i].name, "stored_bytes", 12) != 0 ||
		     strcmp(kinds, "manifest_checksum,manifest_field,manifest_field") != 0))
			fail_msg("case '%s': problems '%s'", edits[i].name, kinds);
		free(kinds);
		free(bad);
	}
	free(text);
}

/* A v2 manifest (no stored fields) is read: its files are stored as their content. */
static void test_v2_is_read(void **state)
{
	char sha[SHA256_HEX_LEN];
	char *text = sample_text(sha), *a, *b, *c, *kinds;
	struct ops_manifest *m = NULL;

	(void)state;
	a = edit(text, "cavra.persistent_api.backup.v4", "cavra.persistent_api.backup.v2");
	b = edit(a,
		 ",\n      \"compression\": \"none\",\n      \"stored_bytes\": 10,\n      "
		 "\"stored_sha256\": \"" SHA_A "\"",
		 "");
	c = edit(b, ",\n  \"stored_bytes\": 10", "");
	kinds = kinds_of(c, &m);
	assert_string_equal(kinds, "manifest_checksum");
	assert_null(strstr(c, "stored"));
	assert_string_equal(m->format, "cavra.persistent_api.backup.v2");
	assert_int_equal(m->files[0].compression, OPS_COMPRESS_NONE);
	assert_int_equal(m->files[0].stored_bytes, 10);
	assert_string_equal(m->files[0].stored_sha256, SHA_A);
	assert_int_equal(m->stored_bytes, 10);
	assert_true(m->files[0].usable);
	ops_manifest_free(m);
	free(kinds);
	free(a);
	a = edit(c, "backup.v2", "backup.v5");
	kinds = kinds_of(a, NULL);
	assert_string_equal(kinds, "manifest_checksum,manifest_format");
	free(kinds);
	free(c);
	free(a);
	free(b);
	free(text);
}

static void test_compress_parse(void **state)
{
	static const struct {
		const char *text;
		enum status st;
		enum ops_compression kind;
		int level;
	} cases[] = {
		{"none", ST_OK, OPS_COMPRESS_NONE, 0},
		{"zstd", ST_OK, OPS_COMPRESS_ZSTD, 1},
		{"zstd:1", ST_OK, OPS_COMPRESS_ZSTD, 1},
		{"zstd:19", ST_OK, OPS_COMPRESS_ZSTD, 19},
		{"zstd:0", ST_INVALID, 0, 0},
		{"zstd:20", ST_INVALID, 0, 0},
		{"zstd:", ST_INVALID, 0, 0},
		{"zstd:3x", ST_INVALID, 0, 0},
		{"zstd:-1", ST_INVALID, 0, 0},
		{"zstd3", ST_INVALID, 0, 0},
		{"gzip", ST_INVALID, 0, 0},
		{"", ST_INVALID, 0, 0},
		{"NONE", ST_INVALID, 0, 0},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ops_compress c = {OPS_COMPRESS_NONE, -1};
		struct err e = {0};
		enum status st = ops_compress_parse(cases[i].text, &c, &e);

		if (st != cases[i].st ||
		    (st == ST_OK && (c.kind != cases[i].kind || c.level != cases[i].level)))
			fail_msg("'%s': status %d kind %d level %d", cases[i].text, st, c.kind,
				 c.level);
		if (st != ST_OK && !strstr(e.msg, "zstd:LEVEL"))
			fail_msg("'%s': message '%s'", cases[i].text, e.msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_safe),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_self_checksum),
		cmocka_unit_test(test_every_problem),
		cmocka_unit_test(test_report_printable),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_is_sha256),
		cmocka_unit_test(test_audit_head),
		cmocka_unit_test(test_v3_stored_fields),
		cmocka_unit_test(test_v3_none_is_the_content),
		cmocka_unit_test(test_v3_field_problems),
		cmocka_unit_test(test_v2_is_read),
		cmocka_unit_test(test_compress_parse),
	};

	return cmocka_run_group_tests_name("ops/manifest", tests, NULL, NULL);
}
