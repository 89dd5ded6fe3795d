/* Unit tests for expand/contract declarations, newer ledgers and the hand-apply script. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/base_testutil.h"
#include "migrate/migrate.h"

static struct {
	const char *name;
	int version;
	char *mname;
	char *sql;
	enum status want;
	enum mig_compat compat;
} parse_cases[] = {
	{"backward", 16, STR_RW("x"),
	 STR_RW("-- 016_x.sql\n-- compatibility: backward\nCREATE TABLE t (a INT);"), ST_OK,
	 MIG_COMPAT_BACKWARD},
	{"expand alias", 16, STR_RW("x"), STR_RW("--compatibility:expand  \r\nSELECT 1;"), ST_OK,
	 MIG_COMPAT_BACKWARD},
	{"contract", 16, STR_RW("x"), STR_RW("-- compatibility: contract\nDROP TABLE t;"), ST_OK,
	 MIG_COMPAT_CONTRACT},
	{"blank lines in the header", 16, STR_RW("x"),
	 STR_RW("-- a\n\n-- compatibility: backward\nSELECT 1;"), ST_OK, MIG_COMPAT_BACKWARD},
	{"undeclared is contract", 16, STR_RW("x"), STR_RW("-- 016_x.sql\nCREATE TABLE t (a INT);"),
	 ST_OK, MIG_COMPAT_CONTRACT},
	{"only the header counts", 16, STR_RW("x"),
	 STR_RW("SELECT 1;\n-- compatibility: backward\n"), ST_OK, MIG_COMPAT_CONTRACT},
	{"bad value", 16, STR_RW("x"), STR_RW("-- compatibility: maybe\nSELECT 1;"), ST_INVALID,
	 MIG_COMPAT_CONTRACT},
	{"released 014", 14, STR_RW("decision_idempotency_keys"), STR_RW("-- no line\nSELECT 1;"),
	 ST_OK, MIG_COMPAT_BACKWARD},
	{"released 015", 15, STR_RW("audit_chain"), STR_RW("SELECT 1;"), ST_OK,
	 MIG_COMPAT_CONTRACT},
	{"released number, other name", 14, STR_RW("other"), STR_RW("SELECT 1;"), ST_OK,
	 MIG_COMPAT_CONTRACT},
	{"a header wins over the table", 15, STR_RW("audit_chain"),
	 STR_RW("-- compatibility: backward\n"), ST_OK, MIG_COMPAT_BACKWARD},
};

static void test_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
		struct migration m = {0};
		struct err e = {0};
		enum status st;

		m.version = parse_cases[i].version;
		m.file = STR_RW("016_x.sql");
		m.name = parse_cases[i].mname;
		m.sql = parse_cases[i].sql;
		st = migrate_compat_parse(&m, &e);
		if (st != parse_cases[i].want || (st == ST_OK && m.compat != parse_cases[i].compat))
			fail_msg("case '%s': got %s %s '%s'", parse_cases[i].name, status_name(st),
				 migrate_compat_name(m.compat), e.msg);
	}
}

/* Every embedded migration gets the same declaration in both dialects. */
static void test_embedded_agree(void **state)
{
	struct migration_set a = {0}, b = {0};
	struct err e = {0};

	(void)state;
	assert_int_equal(migrate_set_load(NULL, "sqlite", &a, &e), ST_OK);
	assert_int_equal(migrate_set_load(NULL, "postgres", &b, &e), ST_OK);
	assert_int_equal(a.n, b.n);
	for (size_t i = 0; i < a.n; i++)
		if (a.items[i].compat != b.items[i].compat)
			fail_msg("%s: sqlite %s, postgres %s", a.items[i].file,
				 migrate_compat_name(a.items[i].compat),
				 migrate_compat_name(b.items[i].compat));
	assert_int_equal(a.items[0].compat, MIG_COMPAT_BACKWARD);
	assert_int_equal(a.items[14].compat, MIG_COMPAT_CONTRACT);
	migrate_set_release(&a);
	migrate_set_release(&b);
}

static struct migration items[] = {
	{1, STR_RW("001_a.sql"), STR_RW("a"), STR_RW("CREATE TABLE a (x INT);"), "c1",
	 MIG_COMPAT_BACKWARD},
	{2, STR_RW("002_b.sql"), STR_RW("b"), STR_RW("CREATE TABLE b (x INT);"), "c2",
	 MIG_COMPAT_CONTRACT},
};
static const struct migration_set set2 = {items, 2, STR_RW("test")};

#define ROW(v, id, name, sum, compat)                                                            \
	{                                                                                        \
		v, STR_RW(id), STR_RW(name), STR_RW(sum), STR_RW("2026-01-01T00:00:00.000000Z"), \
			STR_RW("t"), 1, compat                                                   \
	}

static struct {
	const char *name;
	struct ledger_row rows[4];
	size_t nrows;
	size_t nproblems, newer_compatible;
	const char *msg_has;
} newer_cases[] = {
	{"one newer, backward",
	 {ROW(1, "001_a.sql", "a", "c1", NULL), ROW(2, "002_b.sql", "b", "c2", NULL),
	  ROW(3, "003_c.sql", "c", "c3", STR_RW("backward"))},
	 3,
	 0,
	 1,
	 NULL},
	{"two newer, the second contract",
	 {ROW(1, "001_a.sql", "a", "c1", NULL), ROW(2, "002_b.sql", "b", "c2", NULL),
	  ROW(3, "003_c.sql", "c", "c3", STR_RW("backward")),
	  ROW(4, "004_d.sql", "d", "c4", STR_RW("contract"))},
	 4,
	 1,
	 1,
	 "'004_d.sql' (version 4) is applied and declared contract"},
	{"newer, recorded before the column existed",
	 {ROW(1, "001_a.sql", "a", "c1", NULL), ROW(2, "002_b.sql", "b", "c2", NULL),
	  ROW(3, "003_c.sql", "c", "c3", NULL)},
	 3,
	 1,
	 0,
	 "not declared backward compatible"},
};

static void test_newer(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(newer_cases); i++) {
		struct ledger l = {LEDGER_CURRENT, newer_cases[i].rows, newer_cases[i].nrows, true};
		struct migrate_report r;

		migrate_compare(&set2, &l, &r);
		if (r.nproblems != newer_cases[i].nproblems ||
		    r.newer_compatible != newer_cases[i].newer_compatible || r.pending != 0 ||
		    (newer_cases[i].msg_has &&
		     (!r.nproblems || !strstr(r.problems[0].msg, newer_cases[i].msg_has))))
			fail_msg("case '%s': %zu problems (%s), %zu newer compatible",
				 newer_cases[i].name, r.nproblems,
				 r.nproblems ? r.problems[0].msg : "", r.newer_compatible);
		assert_int_equal(r.entries[2].state,
				 newer_cases[i].newer_compatible ? MIG_NEWER : MIG_UNKNOWN);
		migrate_report_release(&r);
	}
}

/* The script as a string, for the checks below. */
static char *script(const struct ledger *l, enum store_kind kind, int to, enum status *st)
{
	struct migrate_report r;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	migrate_compare(&set2, l, &r);
	*st = migrate_script(f, &set2, l, &r, kind, to, NULL);
	fclose(f);
	migrate_report_release(&r);
	return text;
}

static void test_script(void **state)
{
	struct ledger none = {0};
	struct ledger_row old_rows[] = {ROW(1, "001_a.sql", "a", "c1", NULL)};
	struct ledger old = {LEDGER_CURRENT, old_rows, 1, false};
	struct ledger legacy = {LEDGER_LEGACY, old_rows, 1, false};
	enum status st;
	char *s;

	(void)state;
	s = script(&none, STORE_POSTGRES, 1, &st);
	assert_int_equal(st, ST_OK);
	assert_non_null(strstr(s, "BEGIN;\nSELECT pg_advisory_xact_lock(7345163001);\n"
				  "CREATE TABLE IF NOT EXISTS schema_migrations"));
	assert_non_null(strstr(s, "CREATE TABLE a (x INT);\nINSERT INTO schema_migrations"));
	assert_non_null(strstr(s, "VALUES ('001_a.sql', now(), 1, 'a', 'c1', current_user, NULL, "
				  "'backward');\nCOMMIT;\n"));
	assert_null(strstr(s, "002_b.sql"));
	free(s);

	/* a ledger from before expand/contract gets its column in the first transaction */
	s = script(&old, STORE_SQLITE, 0, &st);
	assert_int_equal(st, ST_OK);
	assert_non_null(strstr(s, "BEGIN IMMEDIATE;\nALTER TABLE schema_migrations ADD COLUMN "
				  "compatibility TEXT;\nCREATE TABLE b"));
	assert_non_null(strstr(s, "'by hand (cavra migrate sql)', NULL, 'contract');\nCOMMIT;"));
	assert_null(strstr(s, "CREATE TABLE a"));
	free(s);

	s = script(&legacy, STORE_SQLITE, 0, &st);
	assert_int_equal(st, ST_CONFLICT);
	assert_string_equal(s, "");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_embedded_agree),
		cmocka_unit_test(test_newer),
		cmocka_unit_test(test_script),
	};

	return cmocka_run_group_tests_name("migrate_compat", tests, NULL, NULL);
}
