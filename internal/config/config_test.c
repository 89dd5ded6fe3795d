/* Unit tests for the settings table: precedence, validation, docs. */
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
#include "base/buf.h"
#include "base/files.h"
#include "config/config.h"
#include "config/config_testutil.h"
#include "base/xalloc.h"

static enum status load(struct config *c, const char *const *env, int argc, char **argv,
			struct err *e)
{
	char *rest[16];
	int nrest;

	fake_env = env;
	config_init(c);
	return config_load(c, argc, argv, fake_getenv, rest, &nrest, e);
}

static void test_defaults(void **state)
{
	struct config c;
	struct err e = {0};
	const char *env[] = {NULL};

	(void)state;
	assert_int_equal(load(&c, env, 0, NULL, &e), ST_OK);
	assert_string_equal(c.database_url, ".cavra/cavra.db");
	assert_string_equal(c.listen, "127.0.0.1:8080");
	assert_int_equal(c.db_pool_size, 8);
	assert_true(config_is_default_database(&c));
	assert_true(config_auto_migrate(&c));
	assert_string_equal(config_migration_url(&c), ".cavra/cavra.db");
	config_release(&c);
}

static void test_precedence(void **state)
{
	char path[] = "/tmp/cavra-config-XXXXXX";
	int fd = mkstemp(path);
	const char *yaml = "listen: 127.0.0.1:9001\ndb_pool_size: 3\nlog_level: warn\n";
	char *argv[] = {STR_RW("--listen"), STR_RW("127.0.0.1:9003"), STR_RW("serve"),
			STR_RW("--print-config")};
	const char *env[] = {"CAVRA_CONFIG_FILE",
			     path,
			     "CAVRA_LISTEN",
			     "127.0.0.1:9002",
			     "CAVRA_DB_POOL_SIZE",
			     "4",
			     NULL};
	struct config c;
	struct err e = {0};
	char *rest[8];
	int nrest;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
	close(fd);
	fake_env = env;
	config_init(&c);
	assert_int_equal(config_load(&c, 4, argv, fake_getenv, rest, &nrest, &e), ST_OK);
	assert_string_equal(c.listen, "127.0.0.1:9003"); /* flag beats env and file */
	assert_int_equal(c.db_pool_size, 4); /* env beats file */
	assert_string_equal(c.log_level, "warn"); /* file beats default */
	assert_int_equal(nrest, 2);
	assert_string_equal(rest[0], "serve");
	config_release(&c);
	unlink(path);
}

static const struct {
	const char *env_name, *value, *msg_has;
} bad_cases[] = {
	{"CAVRA_DB_POOL_SIZE", "0", "db_pool_size"},
	{"CAVRA_DB_POOL_SIZE", "eight", "db_pool_size"},
	{"CAVRA_LOG_LEVEL", "loud", "log_level"},
	{"CAVRA_LOG_FORMAT", "xml", "log_format"},
	{"CAVRA_LISTEN", "nope", "listen"},
	{"CAVRA_LISTEN", "127.0.0.1:70000", "listen"},
	{"CAVRA_DATABASE_URL", "mysql://x/y", "unsupported scheme 'mysql'"},
	{"CAVRA_DATABASE_URL", "sqlite:", "no path"},
	{"CAVRA_DATABASE_URL", "host=db port=5432 password=pw",
	 "libpq connection string ('host=...')"},
	{"CAVRA_DATABASE_URL", "dbname = cavra", "libpq connection string ('dbname=...')"},
	{"CAVRA_AUTO_MIGRATE", "maybe", "auto_migrate"},
	{"CAVRA_RESTORE_MAINTENANCE_WORK_MEM_MB", "-1", "restore_maintenance_work_mem_mb"},
	{"CAVRA_RESTORE_MAINTENANCE_WORK_MEM_MB", "65537", "restore_maintenance_work_mem_mb"},
	{"CAVRA_CONFIG_FILE", "/nonexistent/cavra.yaml", "cannot open"},
};

static void test_bad_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const char *env[] = {bad_cases[i].env_name, bad_cases[i].value, NULL};
		struct config c;
		struct err e = {0};
		enum status st = load(&c, env, 0, NULL, &e);

		if (st != ST_INVALID || !strstr(e.msg, bad_cases[i].msg_has))
			fail_msg("case %s=%s: got %s '%s'", bad_cases[i].env_name,
				 bad_cases[i].value, status_name(st), e.msg);
		config_release(&c);
	}
}

/* auto "auto" migrates the default file however its URL spells it, and no other file. */
static void test_default_spellings(void **state)
{
	static const struct {
		const char *url;
		bool is_default;
	} cases[] = {
		{"sqlite:.cavra/cavra.db", true}, {"sqlite://.cavra/cavra.db", true},
		{"./.cavra//cavra.db", true},	  {".cavra/other.db", false},
		{"sqlite:cavra.db", false},	  {"postgres://u@h/db", false},
	};
	char cwd[512], *abs_url;
	const char *env[] = {NULL};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *url = xstrdup(cases[i].url);
		char *argv[] = {STR_RW("--database"), url};
		struct config c;
		struct err e = {0};

		assert_int_equal(load(&c, env, 2, argv, &e), ST_OK);
		if (config_is_default_database(&c) != cases[i].is_default ||
		    config_auto_migrate(&c) != cases[i].is_default)
			fail_msg("'%s': want default=%d", cases[i].url, cases[i].is_default);
		config_release(&c);
		free(url);
	}
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	abs_url = xasprintf("%s/.cavra/cavra.db", cwd);
	{
		char *argv[] = {STR_RW("--database"), abs_url};
		struct config c;
		struct err e = {0};

		assert_int_equal(load(&c, env, 2, argv, &e), ST_OK);
		assert_true(config_auto_migrate(&c));
		config_release(&c);
	}
	free(abs_url);
}

static void test_flags(void **state)
{
	char *argv[] = {STR_RW("--no-auto-migrate"), STR_RW("--database=postgres://u:pw@h/db"),
			STR_RW("--migrations-dir")};
	const char *env[] = {NULL};
	struct config c;
	struct err e = {0};

	(void)state;
	assert_int_equal(load(&c, env, 2, argv, &e), ST_OK);
	assert_false(config_auto_migrate(&c));
	assert_false(config_is_default_database(&c));
	config_release(&c);
	assert_int_equal(load(&c, env, 3, argv, &e), ST_INVALID);
	assert_non_null(strstr(e.msg, "--migrations-dir needs a value"));
	config_release(&c);
	{
		char *neg[] = {STR_RW("--no-auto-migrate=false")};

		assert_int_equal(load(&c, env, 1, neg, &e), ST_INVALID);
		assert_non_null(strstr(e.msg, "option --no-auto-migrate takes no value"));
		config_release(&c);
	}
}

static void test_print_redacts(void **state)
{
	const char *env[] = {"CAVRA_DATABASE_URL", "postgres://app:s3cret@db:5432/cavra",
			     "CAVRA_MIGRATION_DATABASE_URL", "postgresql://own:t0psecret@db/cavra",
			     NULL};
	struct buf out = BUF_INIT;
	struct config c;
	struct err e = {0};

	(void)state;
	assert_int_equal(load(&c, env, 0, NULL, &e), ST_OK);
	assert_int_equal(config_print(&c, &out, &e), ST_OK);
	assert_null(strstr(out.data, "s3cret"));
	assert_null(strstr(out.data, "t0psecret"));
	assert_non_null(strstr(out.data, "postgres://app:*****@db:5432/cavra  (env)"));
	buf_release(&out);
	config_release(&c);
}

/* config_file shows where it was named: the environment, or a flag that overrides it. */
static void test_config_file_source(void **state)
{
	const char *env[] = {"CAVRA_CONFIG_FILE", "/dev/null", NULL};
	char *argv[] = {STR_RW("--config"), STR_RW("/dev/null")};
	struct buf out = BUF_INIT;
	struct config c;
	struct err e = {0};

	(void)state;
	assert_int_equal(load(&c, env, 0, NULL, &e), ST_OK);
	assert_int_equal(config_print(&c, &out, &e), ST_OK);
	assert_non_null(strstr(out.data, "/dev/null  (env)"));
	buf_release(&out);
	config_release(&c);
	assert_int_equal(load(&c, env, 2, argv, &e), ST_OK);
	assert_int_equal(config_print(&c, &out, &e), ST_OK);
	assert_non_null(strstr(out.data, "/dev/null  (flag)"));
	buf_release(&out);
	config_release(&c);
}

/* The config file: what it may hold, and every error naming the file and the line. */
static void test_file(void **state)
{
	static const struct {
		const char *text, *want; /* want: "" loads, else the message after the file name */
	} cases[] = {
		{"", ""},
		{"# only a comment\n", ""},
		{"---\n", ""},
		{"log_level: debug\nlog_level: warn\n", ""}, /* the last one wins */
		{"log_level: warn\nbogus: 1\n", ":2: unknown setting 'bogus'"},
		{"config_file: x\n", ":1: unknown setting 'config_file'"},
		{"log_level: warn\nlisten:\n  a: b\n", ":3: expected 'key: value'"},
		{"- a\n- b\n", ":1: expected a mapping of settings"},
		{"log_level: [a, b\n", ":2: invalid yaml: did not find expected ',' or ']' while "
				       "parsing a flow sequence"},
		{"auto_migrate: True\n", "setting auto_migrate: must be one of true, false, auto"},
		{"audit_checkpoint_dir: \"\"\n",
		 "setting audit_checkpoint_dir: the value is empty"},
	};
	char path[] = "/tmp/cavra-config-XXXXXX";
	int fd = mkstemp(path);
	const char *env[] = {"CAVRA_CONFIG_FILE", path, NULL};

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		FILE *f = fopen(path, "w");
		struct config c;
		struct err e = {0};
		enum status st;

		assert_non_null(f);
		fputs(cases[i].text, f);
		fclose(f);
		st = load(&c, env, 0, NULL, &e);
		if (*cases[i].want ? st != ST_INVALID || !strstr(e.msg, cases[i].want)
				   : st != ST_OK)
			fail_msg("case %zu: got %s '%s'", i, status_name(st), e.msg);
		if (!*cases[i].want)
			assert_string_equal(c.log_level, i == 3 ? "warn" : "info");
		config_release(&c);
	}
	unlink(path);
	{
		struct config c;
		struct err e = {0};

		assert_int_equal(load(&c, env, 0, NULL, &e), ST_INVALID);
		assert_non_null(strstr(e.msg, "': cannot open"));
		config_release(&c);
	}
}

/* Every setting, its variable and its flag appear in docs/config.md. */
static void test_documented(void **state)
{
	const char *src = getenv("CAVRA_SOURCE_DIR");
	const char *name, *env, *flag;
	struct buf doc;
	struct err e = {0};
	char *path;

	(void)state;
	if (!src)
		skip();
	path = xasprintf("%s/docs/config.md", src);
	assert_int_equal(file_read(path, 1 << 20, &doc, &e), ST_OK);
	for (size_t i = 0; config_entry_at(i, &name, &env, &flag); i++) {
		char *f = xasprintf("--%s", flag);

		if (!strstr(doc.data, name) || !strstr(doc.data, env) || !strstr(doc.data, f))
			fail_msg("docs/config.md does not document %s / %s / %s", name, env, f);
		free(f);
	}
	buf_release(&doc);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_print_redacts),
		cmocka_unit_test(test_documented),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_default_spellings),
		cmocka_unit_test(test_config_file_source),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
