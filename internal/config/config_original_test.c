/* Unit tests for the original CAVRA's store variables: when they choose the database, and when
 * serve must refuse them, naming them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "config/config.h"
#include "config/config_testutil.h"

#define SIX(path)                                                                                 \
	"CAVRA_EVIDENCE_METADATA_DB", path, "CAVRA_APPROVAL_DB", path, "CAVRA_REGISTRY_DB", path, \
		"CAVRA_ACTIVITY_DB", path, "CAVRA_INVENTORY_DB", path, "CAVRA_INTEGRATION_DB",    \
		path

static const struct {
	const char *name;
	const char *env[16];
	const char *database_url; /* after loading */
	const char *check; /* NULL: serve may start; else a part of its message */
} cases[] = {
	{"none set", {NULL}, ".cavra/cavra.db", NULL},
	{"six name one file", {SIX("p.db"), NULL}, "p.db", NULL},
	{"one set", {"CAVRA_ACTIVITY_DB", "p.db", NULL}, "p.db", NULL},
	{"empty is unset", {"CAVRA_ACTIVITY_DB", "", NULL}, ".cavra/cavra.db", NULL},
	{"db wins over json of its store",
	 {"CAVRA_ACTIVITY_DB", "p.db", "CAVRA_ACTIVITY_STORE", "a.json", NULL},
	 "p.db",
	 NULL},
	{"disagree",
	 {"CAVRA_ACTIVITY_DB", "a.db", "CAVRA_APPROVAL_DB", "b.db", NULL},
	 ".cavra/cavra.db",
	 "CAVRA_APPROVAL_DB='b.db', CAVRA_ACTIVITY_DB='a.db'"},
	{"json store",
	 {"CAVRA_INTEGRATION_STORE", "i.json", NULL},
	 ".cavra/cavra.db",
	 "settings CAVRA_INTEGRATION_STORE name files"},
	{"db and another store's json",
	 {"CAVRA_ACTIVITY_DB", "p.db", "CAVRA_APPROVAL_STORE", "a.json", NULL},
	 ".cavra/cavra.db",
	 "CAVRA_APPROVAL_STORE"},
	{"database_url set elsewhere",
	 {"CAVRA_DATABASE_URL", "postgres://u:secret@h/db", SIX("p.db"), NULL},
	 "postgres://u:secret@h/db",
	 "database_url 'postgres://u:*****@h/db'"},
	{"database_url names the same file",
	 {"CAVRA_DATABASE_URL", "sqlite:p.db", SIX("p.db"), NULL},
	 "sqlite:p.db",
	 NULL},
};

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct config c;
		struct err e = {0};
		char *rest[1];
		int nrest;
		enum status st;

		fake_env = cases[i].env;
		config_init(&c);
		assert_int_equal(config_load(&c, 0, NULL, fake_getenv, rest, &nrest, &e), ST_OK);
		if (strcmp(c.database_url, cases[i].database_url) != 0)
			fail_msg("%s: database_url '%s', want '%s'", cases[i].name, c.database_url,
				 cases[i].database_url);
		st = config_original_check(&c, fake_getenv, &e);
		if (cases[i].check ? st != ST_INVALID || !strstr(e.msg, cases[i].check)
				   : st != ST_OK)
			fail_msg("%s: check gave '%s', want '%s'", cases[i].name, e.msg,
				 cases[i].check ? cases[i].check : "ok");
		if (st != ST_OK && !strstr(e.msg, "cavra ops import --from-env"))
			fail_msg("%s: '%s' does not say how to move the stores", cases[i].name,
				 e.msg);
		config_release(&c);
	}
}

/* print-config names the variables the database came from. */
static void test_print_names_the_source(void **state)
{
	static const char *const env[] = {SIX(".cavra/activity.db"), NULL};
	struct config c;
	struct buf out = BUF_INIT;
	struct err e = {0};
	char *rest[1];
	int nrest;

	(void)state;
	fake_env = env;
	config_init(&c);
	assert_int_equal(config_load(&c, 0, NULL, fake_getenv, rest, &nrest, &e), ST_OK);
	assert_int_equal(config_print(&c, &out, &e), ST_OK);
	assert_non_null(strstr(out.data, "= .cavra/activity.db  (env CAVRA_EVIDENCE_METADATA_DB, "
					 "CAVRA_APPROVAL_DB, CAVRA_REGISTRY_DB, CAVRA_ACTIVITY_DB, "
					 "CAVRA_INVENTORY_DB, CAVRA_INTEGRATION_DB)\n"));
	buf_release(&out);
	config_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_print_names_the_source),
	};

	return cmocka_run_group_tests_name("config/original", tests, NULL, NULL);
}
