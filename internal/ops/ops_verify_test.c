/* Unit tests for backup verification: a small backup on disk, mutilated one way per case
 * (pg_verifybackup's 003_corruption scenarios), and every problem reported in one run. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "base/xalloc.h"
#include "base/base_testutil.h"
#include "json/jx.h"
#include "ops/ops_int.h"
#include "base/files.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

static const char file_a[] = "{\"id\":\"a1\",\"payload\":{}}\n{\"id\":\"a2\",\"payload\":{}}\n";
static const char file_b[] = "{\"id\":\"b1\",\"payload\":{\"x\":1}}\n";
static char *cols[] = {STR_RW("id"), STR_RW("payload")};
/* entry()'s strings: they outlive the call */
static char store_s[] = "s", key_id[] = "id";

static char *join(const char *dir, const char *name)
{
	return ops_path_join(dir, name);
}

static void put(const char *dir, const char *name, const char *text)
{
	char *p = join(dir, name);
	FILE *f = fopen(p, "wb");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

static char *get(const char *dir, const char *name)
{
	struct buf b;
	char *p = join(dir, name);

	assert_int_equal(file_read(p, 1 << 20, &b, NULL), ST_OK);
	free(p);
	return buf_detach(&b, NULL);
}

static void entry(struct ops_manifest_file *f, char *table, char *path, const char *text,
		  int64_t rows)
{
	*f = (struct ops_manifest_file){.store = store_s,
					.table = table,
					.path = path,
					.key = key_id,
					.columns = cols,
					.ncolumns = 2,
					.rows = rows,
					.bytes = (int64_t)strlen(text)};
	sha256_hex(text, strlen(text), f->sha256);
}

/* A fresh, valid backup: two table files and the manifest. */
static char *make_backup(void)
{
	char *dir = xstrdup("/tmp/cavra-ops-verify-XXXXXX");
	struct ops_manifest m = {0};
	struct ops_manifest_file f[2];
	struct ops_manifest_migration g = {1, STR_RW("evidence_metadata"), NULL};
	char sha[SHA256_HEX_LEN];
	char *text;

	assert_non_null(mkdtemp(dir));
	put(dir, "a.jsonl", file_a);
	put(dir, "b.jsonl", file_b);
	entry(&f[0], STR_RW("ta"), STR_RW("a.jsonl"), file_a, 2);
	entry(&f[1], STR_RW("tb"), STR_RW("b.jsonl"), file_b, 1);
	m.tool_version = STR_RW("0.1.0");
	m.backup_id = STR_RW("bak_000000000000");
	m.backend = STR_RW("sqlite");
	m.snapshot = STR_RW("test");
	m.created_at = m.finished_at = STR_RW("2026-01-02T03:04:05.000000Z");
	m.schema_version = 1;
	m.migrations = &g;
	m.nmigrations = 1;
	m.files = f;
	m.nfiles = 2;
	m.rows = 3;
	m.bytes = f[0].bytes + f[1].bytes;
	text = ops_manifest_text(&m, sha);
	put(dir, OPS_MANIFEST_NAME, text);
	free(text);
	return dir;
}

/* Replaces from by to in dir/name. */
static void edit(const char *dir, const char *name, const char *from, const char *to)
{
	char *text = get(dir, name), *at = strstr(text, from), *out;

	assert_non_null(at);
	out = xasprintf("%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	put(dir, name, out);
	free(out);
	free(text);
}

static void rm(const char *dir, const char *name)
{
	char *p = join(dir, name);

	assert_int_equal(unlink(p), 0);
	free(p);
}

static void m_none(const char *d)
{
	(void)d;
}
static void m_flip(const char *d)
{
	edit(d, "a.jsonl", "a2", "a3");
}
static void m_missing(const char *d)
{
	rm(d, "b.jsonl");
}
static void m_extra(const char *d)
{
	put(d, "x.txt", "x");
}
static void m_leftover(const char *d)
{
	put(d, ".a.jsonl.tmp", "x");
}
static void m_truncate(const char *d)
{
	edit(d, "a.jsonl", "load\":{}}\n{\"id\":\"a2\",\"payload\":{}}\n",
	     "load\":{}}\n{\"id\":\"a2\"");
}
static void m_not_json(const char *d)
{
	edit(d, "a.jsonl", "{\"id\":\"a1\"", "x\"id\":\"a1\"");
}
static void m_order(const char *d)
{
	edit(d, "a.jsonl", "a1", "a9");
}
static void m_manifest(const char *d)
{
	edit(d, OPS_MANIFEST_NAME, "\"rows\": 2", "\"rows\": 5");
}
static void m_escape(const char *d)
{
	edit(d, OPS_MANIFEST_NAME, "\"path\": \"a.jsonl\"", "\"path\": \"../../etc/passwd\"");
}
static void m_symlink(const char *d)
{
	char *b = join(d, "b.jsonl");

	rm(d, "b.jsonl");
	assert_int_equal(symlink("a.jsonl", b), 0);
	free(b);
}
static void m_dir(const char *d)
{
	char *b = join(d, "b.jsonl");

	rm(d, "b.jsonl");
	assert_int_equal(mkdir(b, 0700), 0);
	free(b);
}
static void m_symlinked_dir(const char *d)
{
	char *sub = join(d, "sub");

	assert_int_equal(symlink(".", sub), 0); /* sub/a.jsonl is a.jsonl, through a link */
	edit(d, OPS_MANIFEST_NAME, "\"path\": \"a.jsonl\"", "\"path\": \"sub/a.jsonl\"");
	free(sub);
}
static void m_no_manifest(const char *d)
{
	rm(d, OPS_MANIFEST_NAME);
}
static void m_many(const char *d)
{
	m_flip(d);
	m_missing(d);
	m_extra(d);
}

static const struct {
	const char *name;
	void (*mutate)(const char *dir);
	const char *want; /* the kinds found, in order, joined by ',' */
} cases[] = {
	{"intact", m_none, ""},
	{"one byte changed, size kept", m_flip, "sha256"},
	{"missing file", m_missing, "missing"},
	{"extra file", m_extra, "unlisted"},
	{"leftover temporary file", m_leftover, "unlisted"},
	{"truncated file", m_truncate, "line,truncated,size"},
	{"line that is not JSON", m_not_json, "line,sha256"},
	{"rows out of key order", m_order, "line,sha256"},
	{"edited manifest", m_manifest, "manifest_checksum,manifest_field,rows"},
	{"path leaving the directory", m_escape, "manifest_checksum,path_unsafe,unlisted"},
	{"symbolic link", m_symlink, "not_regular"},
	{"directory instead of a file", m_dir, "not_regular"},
	{"symbolic link on the way", m_symlinked_dir,
	 "manifest_checksum,not_regular,unlisted,unlisted"},
	{"no manifest", m_no_manifest, "manifest_unreadable"},
	{"several at once", m_many, "sha256,missing,unlisted"},
};

static char *kinds(const struct ops_verify_result *r)
{
	struct buf b;

	buf_init(&b, 1 << 16);
	for (size_t i = 0; i < r->problems.n; i++)
		assert_int_equal(
			buf_addf(&b, NULL, "%s%s", i ? "," : "", r->problems.items[i].kind), ST_OK);
	return buf_detach(&b, NULL);
}

static void test_scenarios(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *dir = make_backup();
		struct ops_verify_result r;
		char *got;
		bool ok;

		cases[i].mutate(dir);
		ok = ops_verify(dir, &r);
		got = kinds(&r);
		if (strcmp(got, cases[i].want) != 0 || ok != (cases[i].want[0] == '\0'))
			fail_msg("case '%s': problems '%s', want '%s'", cases[i].name, got,
				 cases[i].want);
		free(got);
		ops_verify_result_release(&r);
		ops_remove_tree(dir);
		free(dir);
	}
}

/* The intact backup's totals come from the disk. */
static void test_totals_and_json(void **state)
{
	char *dir = make_backup();
	struct ops_verify_result r;
	json_object *o;

	(void)state;
	assert_true(ops_verify(dir, &r));
	assert_int_equal(r.files, 2);
	assert_int_equal(r.rows, 3);
	assert_int_equal(r.bytes, (int64_t)(strlen(file_a) + strlen(file_b)));
	o = ops_verify_json(&r);
	assert_string_equal(jx_get_str(o, "schema_version"), OPS_VERIFY_FORMAT);
	assert_true(json_object_get_boolean(json_object_object_get(o, "ok")));
	json_object_put(o);
	ops_verify_result_release(&r);
	ops_remove_tree(dir);
	free(dir);
}

static char *timed_cols[] = {STR_RW("id"), STR_RW("at"), STR_RW("payload")};
static char *chain_cols[] = {STR_RW("seq"), STR_RW("hash")};

/*
 * Verifies a backup of one file t.jsonl of table t newest first by "at", or with chain set,
 * one of audit_chain (an integer key, seq) in key order; returns its problems' kinds.
 */
static char *verify_one(const char *text, int64_t rows, bool chain, char **first_msg)
{
	char *dir = xstrdup("/tmp/cavra-ops-verify-XXXXXX");
	struct ops_manifest m;
	struct ops_manifest_file f;
	struct ops_manifest_migration g = {1, STR_RW("evidence_metadata"), NULL};
	struct ops_verify_result r;
	char sha[SHA256_HEX_LEN];
	char *manifest, *got;

	assert_non_null(mkdtemp(dir));
	put(dir, "t.jsonl", text);
	entry(&f, chain ? STR_RW("audit_chain") : STR_RW("t"), STR_RW("t.jsonl"), text, rows);
	f.columns = chain ? chain_cols : timed_cols;
	f.ncolumns = chain ? 2 : 3;
	f.newest_first = chain ? NULL : STR_RW("at");
	f.key = chain ? STR_RW("seq") : f.key;
	m = (struct ops_manifest){.tool_version = STR_RW("0.1.0"),
				  .backup_id = STR_RW("bak_000000000000"),
				  .backend = STR_RW("sqlite"),
				  .snapshot = STR_RW("test"),
				  .created_at = STR_RW("2026-01-02T03:04:05.000000Z"),
				  .finished_at = STR_RW("2026-01-02T03:04:05.000000Z"),
				  .schema_version = 1,
				  .migrations = &g,
				  .nmigrations = 1,
				  .files = &f,
				  .nfiles = 1,
				  .rows = rows,
				  .bytes = f.bytes};
	manifest = ops_manifest_text(&m, sha);
	put(dir, OPS_MANIFEST_NAME, manifest);
	(void)ops_verify(dir, &r);
	got = kinds(&r);
	*first_msg = xstrdup(r.problems.n ? r.problems.items[0].msg : "");
	ops_verify_result_release(&r);
	ops_remove_tree(dir);
	free(manifest);
	free(dir);
	return got;
}

/* A file's text, the problems' kinds verify must find, and the start of the first message. */
struct order_case {
	const char *name, *text, *want, *msg;
	int64_t rows;
};

static void check_order_cases(const struct order_case *oc, size_t n, bool chain)
{
	for (size_t i = 0; i < n; i++) {
		char *msg, *got = verify_one(oc[i].text, oc[i].rows, chain, &msg);

		if (strcmp(got, oc[i].want) != 0 || !strstr(msg, oc[i].msg))
			fail_msg("case '%s': problems '%s' (%s)", oc[i].name, got, msg);
		free(got);
		free(msg);
	}
}

#define ROW(at, id) "{\"at\":\"" at "\",\"id\":\"" id "\",\"payload\":{}}\n"

/* A file newest first: times decrease, keys increase within one time, no row twice. */
static void test_newest_first(void **state)
{
	const struct order_case timed[] = {
		{"in order", ROW("2026-01-03", "b") ROW("2026-01-02", "a") ROW("2026-01-02", "c"),
		 "", "", 3},
		{"oldest first", ROW("2026-01-02", "a") ROW("2026-01-03", "b"), "line",
		 "line 2: row ('2026-01-03', 'b') does not come after ('2026-01-02', 'a')", 2},
		{"keys down within a time", ROW("2026-01-02", "c") ROW("2026-01-02", "a"), "line",
		 "line 2: row ('2026-01-02', 'a') does not come after", 2},
		{"a row twice", ROW("2026-01-02", "a") ROW("2026-01-02", "a"), "line",
		 "newest first by at, then in key order, without duplicates", 2},
		{"time not a string", "{\"at\":null,\"id\":\"a\",\"payload\":{}}\n", "line",
		 "'at' is not a string", 1},
	};

	(void)state;
	check_order_cases(timed, ARRAY_SIZE(timed), false);
}

#define LINK(seq, hash) "{\"hash\":\"" hash "\",\"seq\":" seq "}\n"

/* An integer key (audit_chain's seq since format v4) is in order of its value, not its text. */
static void test_integer_key(void **state)
{
	const struct order_case links[] = {
		{"9 before 10", LINK("9", "b") LINK("10", "a") LINK("11", "c"), "", "", 3},
		{"10 before 9", LINK("10", "a") LINK("9", "b"), "line",
		 "line 2: key '9' does not come after '10'", 2},
		{"a key twice", LINK("5", "a") LINK("5", "b"), "line", "without duplicates", 2},
		{"not a number", "{\"hash\":\"a\",\"seq\":\"1\"}\n", "line",
		 "'seq' is not a whole number", 1},
		{"past int64", LINK("99999999999999999999", "a"), "line",
		 "'seq' is not a whole number", 1},
	};

	(void)state;
	check_order_cases(links, ARRAY_SIZE(links), true);
}

/* A new Ed25519 key pair, through a PEM file as the commands read it: *priv and *pub. */
static void new_keys(const char *dir, const char *name, struct ed25519_key **priv,
		     struct ed25519_key **pub)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char *path = join(dir, name);
	FILE *f = fopen(path, "w");
	unsigned char raw[ED25519_PUB_LEN];

	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	EVP_PKEY_free(k);
	assert_int_equal(ed25519_private_load(path, priv, NULL), ST_OK);
	ed25519_key_public(*priv, raw);
	assert_int_equal(ed25519_public_from_raw(raw, pub, NULL), ST_OK);
	unlink(path);
	free(path);
}

/* Verifies dir with pub required (or not); returns the kinds, *refused and *signed_ok. */
static char *verify_with(const char *dir, const struct ed25519_key *pub, bool *refused,
			 bool *signed_ok)
{
	struct ops_verify_result r;
	char *got;

	(void)ops_verify_signed(dir, pub, &r);
	got = kinds(&r);
	*refused = r.refused;
	*signed_ok = r.signature.valid;
	assert_true(!r.refused || r.files == 0); /* refused: no file was looked at */
	ops_verify_result_release(&r);
	return got;
}

#define EXPECT(dir, pub, want_kinds, want_refused, want_valid)              \
	do {                                                                \
		bool refused_, valid_;                                      \
		char *got_ = verify_with((dir), (pub), &refused_, &valid_); \
		assert_string_equal(got_, (want_kinds));                    \
		assert_int_equal(refused_, (want_refused));                 \
		assert_int_equal(valid_, (want_valid));                     \
		free(got_);                                                 \
	} while (0)

/*
 * manifest.sig: the signature is checked on the manifest's bytes before anything else, and a
 * required key refuses an unsigned, foreign or changed backup without looking further.
 */
static void test_signatures(void **state)
{
	char *dir = make_backup(), *text = get(dir, OPS_MANIFEST_NAME);
	struct ed25519_key *a = NULL, *a_pub = NULL, *b = NULL, *b_pub = NULL;
	char id[ED25519_KEY_ID_LEN], want[ED25519_KEY_ID_LEN];

	(void)state;
	new_keys(dir, "a.pem", &a, &a_pub);
	new_keys(dir, "b.pem", &b, &b_pub);
	/* unsigned: fine unless a key is required */
	EXPECT(dir, NULL, "", false, false);
	EXPECT(dir, a_pub, "unsigned", true, false);
	assert_int_equal(ops_signature_write(dir, text, strlen(text), a, id, NULL), ST_OK);
	ed25519_key_id(a_pub, want);
	assert_string_equal(id, want);
	EXPECT(dir, NULL, "", false, true);
	EXPECT(dir, a_pub, "", false, true);
	EXPECT(dir, b_pub, "signature_key", true, false);
	/* a changed table file is the checksum's business: the signature still holds */
	put(dir, "b.jsonl", "{\"id\":\"b1\",\"payload\":{\"x\":2}}\n");
	EXPECT(dir, a_pub, "sha256", false, true);
	/* a manifest changed after signing: refused with a key, a problem without */
	strstr(text, "bak_")[4] ^= 1; /* another backup id, still JSON */
	put(dir, OPS_MANIFEST_NAME, text);
	EXPECT(dir, a_pub, "signature", true, false);
	EXPECT(dir, NULL, "signature,manifest_checksum,sha256", false, false);
	/* a damaged signature file */
	put(dir, OPS_SIGNATURE_NAME, "{}");
	EXPECT(dir, a_pub, "signature", true, false);
	ed25519_key_free(a);
	ed25519_key_free(a_pub);
	ed25519_key_free(b);
	ed25519_key_free(b_pub);
	ops_remove_tree(dir);
	free(text);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scenarios),    cmocka_unit_test(test_totals_and_json),
		cmocka_unit_test(test_newest_first), cmocka_unit_test(test_integer_key),
		cmocka_unit_test(test_signatures),
	};

	return cmocka_run_group_tests_name("ops/verify", tests, NULL, NULL);
}
