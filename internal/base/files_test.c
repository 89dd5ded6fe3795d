/*
 * Unit tests for base/files.c: the atomic writer leaves the old file or the
 * complete new one and never a temporary file, whatever step fails.
 */
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
#include "base/buf.h"
#include "base/err.h"
#include "base/files.h"
#include "base/xalloc.h"

struct dir {
	char path[64];
};

static void dir_make(struct dir *d)
{
	strcpy(d->path, "/tmp/cavra-files-XXXXXX");
	assert_non_null(mkdtemp(d->path));
}

static char *in(const struct dir *d, const char *name)
{
	return xasprintf("%s/%s", d->path, name);
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
	struct dir d;
	struct err e = {0};
	char *path, *tmp;
	struct stat sb;

	(void)state;
	dir_make(&d);
	path = in(&d, "a.json");
	tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	assert_int_equal(file_write_atomic(path, "old", 3, &e), ST_OK);
	assert_int_equal(file_write_atomic(path, "new text", 8, &e), ST_OK);
	assert_content(path, "new text");
	assert_false(exists(tmp));
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	unlink(path);
	rmdir(d.path);
	free(tmp);
	free(path);
}

/* A leftover temporary file is never reused: the old file stays as it was. */
static void test_leftover_tmp(void **state)
{
	struct dir d;
	struct err e = {0};
	struct file_atomic f;
	char *path, *tmp;

	(void)state;
	dir_make(&d);
	path = in(&d, "b");
	tmp = in(&d, ".b.tmp");
	assert_int_equal(file_write_atomic(path, "old", 3, &e), ST_OK);
	assert_int_equal(file_write_atomic(tmp, "crash", 5, &e), ST_OK);
	assert_int_equal(file_atomic_open(&f, path, tmp, &e), ST_IO);
	assert_non_null(strstr(e.msg, "create '"));
	assert_content(path, "old");
	assert_content(tmp, "crash");
	unlink(tmp);
	unlink(path);
	rmdir(d.path);
	free(tmp);
	free(path);
}

/* Abort removes the temporary file and keeps the old one; abort after commit does nothing. */
static void test_abort(void **state)
{
	struct dir d;
	struct err e = {0};
	struct file_atomic f;
	char *path, *tmp;

	(void)state;
	dir_make(&d);
	path = in(&d, "c");
	tmp = in(&d, ".c.tmp");
	assert_int_equal(file_write_atomic(path, "old", 3, &e), ST_OK);
	assert_int_equal(file_atomic_open(&f, path, tmp, &e), ST_OK);
	assert_int_equal(file_write_full(f.fd, "half", 4), 0);
	file_atomic_abort(&f);
	assert_false(exists(tmp));
	assert_content(path, "old");
	file_atomic_abort(&f);
	assert_int_equal(file_atomic_open(&f, path, tmp, &e), ST_OK);
	assert_int_equal(file_write_full(f.fd, "whole", 5), 0);
	assert_int_equal(file_atomic_commit(&f, &e), ST_OK);
	file_atomic_abort(&f);
	file_atomic_abort(NULL);
	assert_content(path, "whole");
	assert_false(exists(tmp));
	unlink(path);
	rmdir(d.path);
	free(tmp);
	free(path);
}

/* A rename that fails (the final name is a directory) removes the temporary file. */
static void test_commit_fails(void **state)
{
	struct dir d;
	struct err e = {0};
	struct file_atomic f;
	char *path, *tmp, *inner;

	(void)state;
	dir_make(&d);
	path = in(&d, "sub");
	tmp = in(&d, ".sub.tmp");
	inner = in(&d, "sub/x");
	assert_int_equal(mkdir_p(path, &e), ST_OK);
	assert_int_equal(file_write_atomic(inner, "x", 1, &e), ST_OK);
	assert_int_equal(file_atomic_open(&f, path, tmp, &e), ST_OK);
	assert_int_equal(file_atomic_commit(&f, &e), ST_IO);
	assert_non_null(strstr(e.msg, "rename '"));
	assert_false(exists(tmp));
	assert_null(f.tmp);
	assert_content(inner, "x");
	assert_int_equal(file_write_atomic("/nonexistent-cavra/x", "x", 1, &e), ST_IO);
	unlink(inner);
	rmdir(path);
	rmdir(d.path);
	free(inner);
	free(tmp);
	free(path);
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
		cmocka_unit_test(test_write_atomic), cmocka_unit_test(test_leftover_tmp),
		cmocka_unit_test(test_abort),	     cmocka_unit_test(test_commit_fails),
		cmocka_unit_test(test_dir_of),
	};

	return cmocka_run_group_tests_name("files", tests, NULL, NULL);
}
