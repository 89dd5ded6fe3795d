/* Unit tests for migrations: checksums, file sets, ledger comparison. */
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
#include "base/base_testutil.h"
#include "base/xalloc.h"
#include "migrate/migrate.h"

static void test_checksum_canonical(void **state)
{
	char lf[SHA256_HEX_LEN], crlf[SHA256_HEX_LEN], cr[SHA256_HEX_LEN], bom[SHA256_HEX_LEN];
	char other[SHA256_HEX_LEN];

	(void)state;
	migrate_checksum("a\nb\n", 4, lf);
	migrate_checksum("a\r\nb\r\n", 6, crlf);
	migrate_checksum("a\rb\r", 4, cr);
	migrate_checksum("\xEF\xBB\xBF"
			 "a\nb\n",
			 7, bom);
	migrate_checksum("a\nb \n", 5, other);
	assert_string_equal(lf, crlf);
	assert_string_equal(lf, cr);
	assert_string_equal(lf, bom);
	assert_string_not_equal(lf, other);
	/* SHA-256 of "a\nb\n": the canonical form is hashed as is */
	assert_string_equal(lf, "911169ddaaf146aff539f58c26c489af3b892dff0fe283c1c264c65ae5aa59a2");
}

/* Writes files named in a NULL-terminated list into a new temp dir. */
static char *make_dir(const char *const *files)
{
	char tmpl[] = "/tmp/cavra-mig-XXXXXX";
	char *dir = xstrdup(mkdtemp(tmpl));

	for (size_t i = 0; files[i]; i++) {
		char *p = xasprintf("%s/%s", dir, files[i]);
		FILE *f = fopen(p, "w");

		assert_non_null(f);
		fprintf(f, "CREATE TABLE t%zu (id INTEGER);\n", i);
		fclose(f);
		free(p);
	}
	return dir;
}

static void remove_dir(char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(dir);
}

static const struct {
	const char *name;
	const char *files[5];
	enum status want;
	const char *msg_has;
} set_cases[] = {
	{"ok", {"001_a.sql", "002_b_c.sql", "README.md", NULL}, ST_OK, NULL},
	{"empty", {"README.md", NULL}, ST_INVALID, "has no NNN_name.sql"},
	{"gap", {"001_a.sql", "003_c.sql", NULL}, ST_INVALID, "skip version 2"},
	{"duplicate", {"001_a.sql", "001_b.sql", NULL}, ST_INVALID, "share version 1"},
	{"bad name", {"001_a.sql", "2_b.sql", NULL}, ST_INVALID, "2_b.sql"},
	{"upper case", {"001_Abc.sql", NULL}, ST_INVALID, "001_Abc.sql"},
};

static void test_set_load(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(set_cases); i++) {
		char *dir = make_dir(set_cases[i].files);
		struct migration_set set = {0};
		struct err e = {0};
		enum status st = migrate_set_load(dir, "sqlite", &set, &e);

		if (st != set_cases[i].want ||
		    (set_cases[i].msg_has && !strstr(e.msg, set_cases[i].msg_has)))
			fail_msg("case '%s': got %s '%s'", set_cases[i].name, status_name(st),
				 e.msg);
		if (st == ST_OK) {
			assert_int_equal(set.n, 2);
			assert_string_equal(set.items[1].name, "b_c");
			assert_int_equal(set.items[1].version, 2);
		}
		migrate_set_release(&set);
		remove_dir(dir);
	}
}

static void test_missing_dir(void **state)
{
	struct migration_set set = {0};
	struct err e = {0};

	(void)state;
	assert_int_equal(migrate_set_load("/nonexistent/dir", "sqlite", &set, &e), ST_INVALID);
	assert_non_null(strstr(e.msg, "/nonexistent/dir"));
}

static void test_embedded(void **state)
{
	static const char *const backends[] = {"sqlite", "postgres"};

	(void)state;
	for (size_t b = 0; b < 2; b++) {
		struct migration_set set = {0};
		struct err e = {0};

		assert_int_equal(migrate_set_load(NULL, backends[b], &set, &e), ST_OK);
		assert_true(set.n >= 6);
		assert_string_equal(set.items[3].file, "004_activity_sessions_decisions.sql");
		migrate_set_release(&set);
	}
}

static void test_tables(void **state)
{
	struct migration m = {0};
	char names[8][64];

	(void)state;
	m.sql = STR_RW(
		"-- create table not_me (x int)\nCREATE TABLE a (x INT);\n"
		"/* CREATE TABLE nor_me (x int) */ INSERT INTO a VALUES ('create table no');\n"
		"create table if not exists B_two(y int);\nCREATE INDEX ix ON a (x);");
	assert_int_equal(migrate_tables(&m, names, 8), 2);
	assert_string_equal(names[0], "a");
	assert_string_equal(names[1], "b_two");
}

/* A three-migration set with fixed checksums "c1".."c3". */
static struct migration items[] = {
	{1, STR_RW("001_a.sql"), STR_RW("a"), STR_RW(""), "c1"},
	{2, STR_RW("002_b.sql"), STR_RW("b"), STR_RW(""), "c2"},
	{3, STR_RW("003_c.sql"), STR_RW("c"), STR_RW(""), "c3"},
};
static const struct migration_set set3 = {items, 3, STR_RW("test")};

#define ROW(v, id, name, sum)                                                           \
	{                                                                               \
		v, id, name, sum, STR_RW("2026-01-01T00:00:00.000000Z"), STR_RW("t"), 1 \
	}

static struct {
	const char *name;
	enum ledger_kind kind;
	struct ledger_row rows[4];
	size_t nrows;
	const char *states; /* one letter per entry: A P D M U */
	const char *problems; /* one letter per problem: D M U O N */
	size_t pending;
} cmp_cases[] = {
	{"empty", LEDGER_NONE, {{0}}, 0, "PPP", "", 3},
	{"current",
	 LEDGER_CURRENT,
	 {ROW(1, STR_RW("001_a.sql"), STR_RW("a"), STR_RW("c1")),
	  ROW(2, STR_RW("002_b.sql"), STR_RW("b"), STR_RW("c2")),
	  ROW(3, STR_RW("003_c.sql"), STR_RW("c"), STR_RW("c3"))},
	 3,
	 "AAA",
	 "",
	 0},
	{"partly",
	 LEDGER_CURRENT,
	 {ROW(1, STR_RW("001_a.sql"), STR_RW("a"), STR_RW("c1"))},
	 1,
	 "APP",
	 "",
	 2},
	{"drift",
	 LEDGER_CURRENT,
	 {ROW(1, STR_RW("001_a.sql"), STR_RW("a"), STR_RW("cX")),
	  ROW(2, STR_RW("002_b.sql"), STR_RW("b"), STR_RW("cY"))},
	 2,
	 "DDP",
	 "DD",
	 1},
	{"renamed",
	 LEDGER_CURRENT,
	 {ROW(1, STR_RW("001_z.sql"), STR_RW("z"), STR_RW("c1"))},
	 1,
	 "MPP",
	 "M",
	 2},
	{"newer",
	 LEDGER_CURRENT,
	 {ROW(1, STR_RW("001_a.sql"), STR_RW("a"), STR_RW("c1")),
	  ROW(2, STR_RW("002_b.sql"), STR_RW("b"), STR_RW("c2")),
	  ROW(3, STR_RW("003_c.sql"), STR_RW("c"), STR_RW("c3")),
	  ROW(4, STR_RW("004_d.sql"), STR_RW("d"), STR_RW("c4"))},
	 4,
	 "AAAU",
	 "N",
	 0},
	{"gap",
	 LEDGER_CURRENT,
	 {ROW(1, STR_RW("001_a.sql"), STR_RW("a"), STR_RW("c1")),
	  ROW(3, STR_RW("003_c.sql"), STR_RW("c"), STR_RW("c3"))},
	 2,
	 "APA",
	 "O",
	 1},
	{"legacy",
	 LEDGER_LEGACY,
	 {ROW(1, STR_RW("001_a.sql"), STR_RW("a"), NULL), ROW(0, STR_RW("junk"), NULL, NULL)},
	 2,
	 "APPU",
	 "U",
	 2},
	{"everything at once",
	 LEDGER_CURRENT,
	 {ROW(1, STR_RW("001_a.sql"), STR_RW("a"), STR_RW("cX")),
	  ROW(3, STR_RW("003_c.sql"), STR_RW("c"), STR_RW("c3")),
	  ROW(9, STR_RW("009_z.sql"), STR_RW("z"), STR_RW("c9"))},
	 3,
	 "DPAU",
	 "DNO",
	 1},
};

static char state_letter(enum mig_state s)
{
	return "APDMUN"[s];
}

static char problem_letter(enum problem_kind k)
{
	return "DMUON"[k];
}

static void test_compare(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cmp_cases); i++) {
		struct ledger l = {cmp_cases[i].kind, cmp_cases[i].rows, cmp_cases[i].nrows};
		struct migrate_report r;
		char states[8] = {0}, probs[8] = {0};

		migrate_compare(&set3, &l, &r);
		for (size_t j = 0; j < r.n && j < 7; j++)
			states[j] = state_letter(r.entries[j].state);
		for (size_t j = 0; j < r.nproblems && j < 7; j++)
			probs[j] = problem_letter(r.problems[j].kind);
		if (strcmp(states, cmp_cases[i].states) || strcmp(probs, cmp_cases[i].problems) ||
		    r.pending != cmp_cases[i].pending)
			fail_msg("case '%s': states %s problems %s pending %zu", cmp_cases[i].name,
				 states, probs, r.pending);
		migrate_report_release(&r);
	}
}

static void test_drift_message(void **state)
{
	struct ledger_row rows[] = {ROW(1, STR_RW("001_a.sql"), STR_RW("a"), STR_RW("cX"))};
	struct ledger l = {LEDGER_CURRENT, rows, 1};
	struct migrate_report r;

	(void)state;
	migrate_compare(&set3, &l, &r);
	assert_int_equal(r.nproblems, 1);
	assert_non_null(strstr(r.problems[0].msg, "001_a.sql"));
	assert_non_null(strstr(r.problems[0].msg, "applied checksum cX"));
	assert_non_null(strstr(r.problems[0].msg, "file checksum c1"));
	migrate_report_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checksum_canonical),
		cmocka_unit_test(test_set_load),
		cmocka_unit_test(test_missing_dir),
		cmocka_unit_test(test_embedded),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_compare),
		cmocka_unit_test(test_drift_message),
	};

	return cmocka_run_group_tests_name("migrate", tests, NULL, NULL);
}
