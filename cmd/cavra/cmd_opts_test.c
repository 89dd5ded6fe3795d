/*
 * Unit tests for cmd_opts.c: the forms every subcommand accepts (flags and
 * their negations, "--name V" and "--name=V", positional arguments) and the
 * one line that refuses a bad argument, read back from stderr.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "cmd.h"

struct args {
	bool json, overwrite;
	const char *output, *manifest, *second, *level;
	int takes;
};

/* Where each test's options land and what the parser printed; reset before every test. */
static struct args a;
static char err[256];

static int reset(void **state)
{
	UNUSED(state);
	memset(&a, 0, sizeof(a));
	err[0] = '\0';
	return 0;
}

/* A NULL-terminated list of words, for parse. */
#define W(...) ((const char *const[]){__VA_ARGS__, NULL})

/*
 * Runs cmd_opts_parse on copies of words (the values it stores stay valid
 * until the next call); err gets what it printed on stderr.
 */
static int parse(const struct cmd_opt *opts, const char *const *words)
{
	static char copies[8][64];
	char *argv[8];
	int argc = 0, saved, code;
	FILE *tmp = tmpfile();
	size_t n;

	for (; argc < 8 && words[argc]; argc++) {
		snprintf(copies[argc], sizeof(copies[argc]), "%s", words[argc]);
		argv[argc] = copies[argc];
	}
	assert_non_null(tmp);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fileno(tmp), STDERR_FILENO);
	code = cmd_opts_parse("frob thing", opts, argc, argv);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(err, 1, sizeof(err) - 1, tmp);
	err[n] = '\0';
	fclose(tmp);
	return code;
}

/* Accepts "low" and "high" only, counting the calls. */
static int take_level(const struct cmd_opt *o, const char *where, const char *value)
{
	struct args *to = o->target;

	to->takes++;
	if (strcmp(value, "low") != 0 && strcmp(value, "high") != 0)
		return cmd_usage_error("%s: --level '%s': use low or high", where, value);
	to->level = value;
	return EXIT_OK;
}

static const struct cmd_opt opts[] = {
	CMD_FLAG("--json", &a.json),
	CMD_FLAG("--overwrite", &a.overwrite),
	CMD_NOFLAG("--no-overwrite", &a.overwrite),
	CMD_FLAG("--include-missing", NULL),
	CMD_VALUE("--output", &a.output),
	{.name = "--to", .kind = CMD_KIND_VALUE, .target = &a.output, .needs = "a version"},
	CMD_TAKE("--level", &a, take_level),
	CMD_ARG("MANIFEST", &a.manifest),
	{0}};

static void test_flags_and_negations(void **state)
{
	UNUSED(state);
	assert_int_equal(parse(opts, W("--json", "--overwrite", "--include-missing")), EXIT_OK);
	assert_true(a.json);
	assert_true(a.overwrite);
	assert_string_equal(err, "");
	/* the last of a flag and its negation wins */
	assert_int_equal(parse(opts, W("--overwrite", "--no-overwrite")), EXIT_OK);
	assert_false(a.overwrite);
	assert_int_equal(parse(opts, W("--no-overwrite", "--overwrite")), EXIT_OK);
	assert_true(a.overwrite);
}

static void test_values_and_positionals(void **state)
{
	UNUSED(state);
	assert_int_equal(parse(opts, W("--output", "dir", "m.json")), EXIT_OK);
	assert_string_equal(a.output, "dir");
	assert_string_equal(a.manifest, "m.json");
	assert_int_equal(parse(opts, W("--output=other=x")), EXIT_OK);
	assert_string_equal(a.output, "other=x");
	/* the word after a value option is its value, even when it looks like an option */
	assert_int_equal(parse(opts, W("--output", "--json")), EXIT_OK);
	assert_string_equal(a.output, "--json");
	assert_false(a.json);
	assert_int_equal(parse(opts, W("--level", "low", "--level=high")), EXIT_OK);
	assert_int_equal(a.takes, 2);
	assert_string_equal(a.level, "high");
}

/* Refused in one line naming the argument at fault; the flags after it are never read. */
static const struct {
	const char *argv[4];
	const char *line;
} refusals[] = {
	{{"--no-overwrite=1", "--json"},
	 "cavra: frob thing: option '--no-overwrite' takes no value (see 'cavra frob thing "
	 "--help')\n"},
	{{"--include-missing=no"}, "cavra: frob thing: option '--include-missing' takes no value"},
	{{"--overwrite", "--output"}, "cavra: frob thing: --output needs a value\n"},
	{{"--to"}, "cavra: frob thing: --to needs a version\n"},
	{{"--level", "xml", "--json"}, "cavra: frob thing: --level 'xml': use low or high\n"},
	{{"--overwrite", "--bogus", "--json"},
	 "cavra: frob thing: unknown option '--bogus' (see 'cavra frob thing --help')\n"},
	{{"--jso"}, "cavra: frob thing: unknown option '--jso'"}, /* a prefix is not the option */
	{{"-"}, "cavra: frob thing: unknown option '-'"},
	{{"--bogus=1"}, "cavra: frob thing: unknown option '--bogus=1'"},
	{{"m.json", "n", "--json"},
	 "cavra: frob thing: unexpected argument 'n' (see 'cavra frob thing --help')\n"},
	/* a value option twice: not the last one silently */
	{{"--output", "a", "--output=b"}, "cavra: frob thing: option '--output' given twice\n"},
	/* an empty value: "--output ''" from a variable that was never set */
	{{"--output", ""}, "cavra: frob thing: --output is empty\n"},
	{{"--output="}, "cavra: frob thing: --output is empty\n"},
};

static void test_refusals(void **state)
{
	UNUSED(state);
	for (size_t i = 0; i < ARRAY_SIZE(refusals); i++) {
		reset(NULL);
		assert_int_equal(parse(opts, refusals[i].argv), EXIT_USAGE);
		if (strncmp(err, refusals[i].line, strlen(refusals[i].line)) != 0)
			fail_msg("refusal %zu: got '%s', want '%s'", i, err, refusals[i].line);
		assert_false(a.json);
	}
}

static void test_two_positionals_fill_in_order(void **state)
{
	const struct cmd_opt two[] = {
		CMD_ARG("FIRST", &a.manifest), CMD_ARG("SECOND", &a.second), {0}};

	UNUSED(state);
	assert_int_equal(parse(two, W("x", "y")), EXIT_OK);
	assert_string_equal(a.manifest, "x");
	assert_string_equal(a.second, "y");
	assert_int_equal(parse(two, W("z")), EXIT_USAGE);
	assert_non_null(strstr(err, "unexpected argument 'z'"));
}

static void test_empty_table_refuses_everything(void **state)
{
	const struct cmd_opt none[] = {{0}};

	UNUSED(state);
	assert_int_equal(parse(none, W(NULL)), EXIT_OK);
	assert_int_equal(parse(none, W("--json")), EXIT_USAGE);
	assert_non_null(strstr(err, "unknown option '--json'"));
	assert_int_equal(parse(none, W("word")), EXIT_USAGE);
	assert_non_null(strstr(err, "unexpected argument 'word'"));
}

/* The help of a command names its options; "--[no-]x" names both "--x" and "--no-x". */
static void test_options_are_documented(void **state)
{
	const struct cmd_opt backup[] = {CMD_FLAG("--json", NULL),
					 CMD_VALUE("--output", NULL),
					 CMD_FLAG("--include-missing", NULL),
					 CMD_NOFLAG("--no-include-missing", NULL),
					 {0}};
	const struct cmd_opt up[] = {CMD_VALUE("--to", NULL), {0}};
	const struct cmd_opt import[] = {CMD_VALUE("--format", NULL), CMD_ARG("FILE", NULL), {0}};
	const struct cmd_opt bogus[] = {CMD_FLAG("--json", NULL), CMD_FLAG("--bogus", NULL), {0}};
	const struct cmd_opt prefix[] = {CMD_FLAG("--js", NULL), {0}};
	const struct cmd_opt other[] = {CMD_FLAG("--fix", NULL), {0}};

	UNUSED(state);
	assert_true(cmd_opts_documented(cmd_usage_text, "ops backup", backup));
	assert_true(cmd_opts_documented(cmd_usage_text, "migrate up", up)); /* migrate's entry */
	assert_true(cmd_opts_documented(cmd_usage_text, "ops import", import));
	assert_true(cmd_opts_documented(cmd_usage_text, "version", (struct cmd_opt[]){{0}}));
	assert_false(cmd_opts_documented(cmd_usage_text, "ops backup", bogus));
	assert_false(cmd_opts_documented(cmd_usage_text, "ops stores", prefix));
	assert_false(cmd_opts_documented(cmd_usage_text, "ops backup", other)); /* doctor's */
	assert_true(cmd_opts_documented(cmd_usage_text, "frob thing", bogus)); /* not a command */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_flags_and_negations, reset),
		cmocka_unit_test_setup(test_values_and_positionals, reset),
		cmocka_unit_test_setup(test_refusals, reset),
		cmocka_unit_test_setup(test_two_positionals_fill_in_order, reset),
		cmocka_unit_test_setup(test_empty_table_refuses_everything, reset),
		cmocka_unit_test(test_options_are_documented),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
