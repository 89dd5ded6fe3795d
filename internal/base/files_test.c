/*
 * Unit tests for base/files.c: the atomic writer leaves the old file or the
 * complete new one and never a temporary file, whatever step fails.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/files.h"
#include "base/xalloc.h"

/* A scratch directory with the final and temporary names the tests write. */
struct fx {
	char dir[64];
	char *path; /* dir/f */
	char *tmp; /* dir/.f.tmp */
	char *inner; /* dir/f/x, when a test makes f a directory */
};

static int fx_setup(void **state)
{
	struct fx *x = xcalloc(1, sizeof(*x));

	snprintf(x->dir, sizeof(x->dir), "%s", "/tmp/cavra-files-XXXXXX");
	if (!mkdtemp(x->dir))
		return -1;
	x->path = xasprintf("%s/f", x->dir);
	x->tmp = xasprintf("%s/.f.tmp", x->dir);
	x->inner = xasprintf("%s/f/x", x->dir);
	*state = x;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *x = *state;

	unlink(x->inner);
	unlink(x->tmp);
	if (unlink(x->path) != 0)
		rmdir(x->path);
	rmdir(x->dir);
	free(x->inner);
	free(x->tmp);
	free(x->path);
	free(x);
	return 0;
}

static void assert_content(const char *path, const char *want)
{
	struct buf b;
	struct err e = {0};

	assert_int_equal(file_read(path, 1024, &b, &e), ST_OK);
	assert_string_equal(b.data, want);
	buf_release(&b);
}

static bool exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

/* Only the final name is left, private to the owner, and a second write replaces the first. */
static void test_write_atomic(void **state)
{
	struct fx *x = *state;
	struct err e = {0};
	char *tmp = xasprintf("%s.tmp.%ld", x->path, (long)getpid());
	struct stat sb;

	assert_int_equal(file_write_atomic(x->path, "old", 3, &e), ST_OK);
	assert_int_equal(file_write_atomic(x->path, "new text", 8, &e), ST_OK);
	assert_content(x->path, "new text");
	assert_false(exists(tmp));
	assert_int_equal(stat(x->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	free(tmp);
}

/* file_fsync_path hands back the errno of the failed open, for the caller's own message. */
static void test_fsync_path(void **state)
{
	struct fx *x = *state;
	struct err e = {0};

	assert_int_equal(file_fsync_path(x->path, 0), ENOENT);
	assert_int_equal(file_write_atomic(x->path, "x", 1, &e), ST_OK);
	assert_int_equal(file_fsync_path(x->path, 0), 0);
	assert_int_equal(file_fsync_path(x->dir, O_DIRECTORY), 0);
	assert_int_equal(file_fsync_path(x->path, O_DIRECTORY), ENOTDIR);
	assert_int_equal(file_fsync_dir(x->path, &e), ST_IO);
	assert_non_null(strstr(e.msg, "fsync directory '"));
}

/* A leftover temporary file is never reused: the old file stays as it was. */
static void test_leftover_tmp(void **state)
{
	struct fx *x = *state;
	struct err e = {0};
	struct file_atomic f;

	assert_int_equal(file_write_atomic(x->path, "old", 3, &e), ST_OK);
	assert_int_equal(file_write_atomic(x->tmp, "crash", 5, &e), ST_OK);
	assert_int_equal(file_atomic_open(&f, x->path, x->tmp, &e), ST_IO);
	assert_non_null(strstr(e.msg, "create '"));
	assert_content(x->path, "old");
	assert_content(x->tmp, "crash");
}

/* Abort removes the temporary file and keeps the old one; abort after commit does nothing. */
static void test_abort(void **state)
{
	struct fx *x = *state;
	struct err e = {0};
	struct file_atomic f;

	assert_int_equal(file_write_atomic(x->path, "old", 3, &e), ST_OK);
	assert_int_equal(file_atomic_open(&f, x->path, x->tmp, &e), ST_OK);
	assert_int_equal(file_write_full(f.fd, "half", 4), 0);
	file_atomic_abort(&f);
	assert_false(exists(x->tmp));
	assert_content(x->path, "old");
	file_atomic_abort(&f);
	assert_int_equal(file_atomic_open(&f, x->path, x->tmp, &e), ST_OK);
	assert_int_equal(file_write_full(f.fd, "whole", 5), 0);
	assert_int_equal(file_atomic_commit(&f, &e), ST_OK);
	file_atomic_abort(&f);
	file_atomic_abort(NULL);
	assert_content(x->path, "whole");
	assert_false(exists(x->tmp));
}

/* A rename that fails (the final name is a directory) removes the temporary file. */
static void test_commit_fails(void **state)
{
	struct fx *x = *state;
	struct err e = {0};
	struct file_atomic f;

	assert_int_equal(mkdir_p(x->path, &e), ST_OK);
	assert_int_equal(file_write_atomic(x->inner, "x", 1, &e), ST_OK);
	assert_int_equal(file_atomic_open(&f, x->path, x->tmp, &e), ST_OK);
	assert_int_equal(file_atomic_commit(&f, &e), ST_IO);
	assert_non_null(strstr(e.msg, "rename '"));
	assert_false(exists(x->tmp));
	assert_null(f.tmp);
	assert_content(x->inner, "x");
	assert_int_equal(file_write_atomic("/nonexistent-cavra/x", "x", 1, &e), ST_IO);
}

/* A new name only: an existing file is never replaced, and the source stays. */
static void test_place_new(void **state)
{
	struct fx *x = *state;
	struct err e = {0};

	assert_int_equal(file_write_atomic(x->tmp, "new", 3, &e), ST_OK);
	assert_int_equal(file_place_new(x->tmp, x->path, &e), ST_OK);
	assert_content(x->path, "new");
	assert_false(exists(x->tmp));
	assert_int_equal(file_write_atomic(x->tmp, "other", 5, &e), ST_OK);
	assert_int_equal(file_place_new(x->tmp, x->path, &e), ST_CONFLICT);
	assert_content(x->path, "new");
	assert_content(x->tmp, "other");
}

/* An empty name is refused: the loop over its components once read past its end. */
static void test_mkdir_p_empty(void **state)
{
	struct err e = {0};

	UNUSED(state);
	assert_int_equal(mkdir_p("", &e), ST_INVALID);
	assert_non_null(strstr(e.msg, "empty"));
}

static void test_dir_of(void **state)
{
	static const char *const cases[][2] = {
		{"a/b/c.json", "a/b"},
		{"c.json", "."},
		{"/c.json", "/"},
		{"/x/y", "/x"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *got = file_dir_of(cases[i][0]);

		assert_string_equal(got, cases[i][1]);
		free(got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_atomic, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_leftover_tmp, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_abort, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_commit_fails, fx_setup, fx_teardown),
		cmocka_unit_test(test_mkdir_p_empty),
		cmocka_unit_test_setup_teardown(test_place_new, fx_setup, fx_teardown),
		cmocka_unit_test(test_dir_of),
		cmocka_unit_test_setup_teardown(test_fsync_path, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests_name("files", tests, NULL, NULL);
}
