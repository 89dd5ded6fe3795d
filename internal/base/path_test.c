/*
 * Unit tests for base/path.c: the spellings of one file that auto_migrate
 * must take for the embedded default, and the ones that are another file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/path.h"

static const struct {
	const char *cwd, *path, *want;
} cases[] = {
	{"/work", ".cavra/cavra.db", "/work/.cavra/cavra.db"},
	{"/work", "./.cavra//cavra.db", "/work/.cavra/cavra.db"},
	{"/work/", "/work/.cavra/cavra.db", "/work/.cavra/cavra.db"},
	{"/work/sub", "../.cavra/./cavra.db", "/work/.cavra/cavra.db"},
	{"/", "../../x.db", "/x.db"},
	{"/work", "/", "/"},
	{"/work", ".cavra/cavra.db/", "/work/.cavra/cavra.db"},
	{"/work", "cavra.db", "/work/cavra.db"},
};

static void test_normalize_table(void **state)
{
	UNUSED(state);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *got = path_normalize(cases[i].cwd, cases[i].path);

		if (strcmp(got, cases[i].want) != 0)
			fail_msg("'%s' from '%s': got '%s', want '%s'", cases[i].path, cases[i].cwd,
				 got, cases[i].want);
		free(got);
	}
}

static void test_same_file(void **state)
{
	UNUSED(state);
	/* none of these exist: compared lexically from the current directory */
	assert_true(path_same_file("no-such-dir/a.db", "./no-such-dir//a.db"));
	assert_false(path_same_file("no-such-dir/a.db", "no-such-dir/b.db"));
	/* both exist: compared by inode */
	assert_true(path_same_file("/", "/tmp/.."));
	assert_false(path_same_file("/", "/tmp"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize_table),
		cmocka_unit_test(test_same_file),
	};

	return cmocka_run_group_tests_name("base/path", tests, NULL, NULL);
}
