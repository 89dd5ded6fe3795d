/*
 * policy_testutil.h - helpers shared by the policy unit tests only: a temporary policy
 * directory that tests fill with policy.yaml files and remove afterwards.
 */
#ifndef CAVRA_POLICY_TESTUTIL_H
#define CAVRA_POLICY_TESTUTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "base/err.h"
#include "base/files.h"
#include "base/xalloc.h"

/* Makes a fresh empty directory; caller owns the name, remove with test_dir_remove(). */
static inline char *test_dir_new(void)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = xasprintf("%s/cavra-policy-XXXXXX", tmp && *tmp ? tmp : "/tmp");

	if (!mkdtemp(dir)) {
		fprintf(stderr, "mkdtemp '%s' failed\n", dir);
		abort();
	}
	return dir;
}

/* Writes <dir>/<id>/policy.yaml with text. */
static inline void test_pack_write(const char *dir, const char *id, const char *text)
{
	char *sub = xasprintf("%s/%s", dir, id);
	char *file = xasprintf("%s/policy.yaml", sub);
	struct err e = {0};

	if (mkdir_p(sub, &e) != ST_OK || file_write_atomic(file, text, strlen(text), &e) != ST_OK) {
		fprintf(stderr, "write '%s': %s\n", file, e.msg);
		abort();
	}
	free(file);
	free(sub);
}

static inline int test_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes dir and everything under it, and frees the name. */
static inline void test_dir_remove(char *dir)
{
	nftw(dir, test_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

#endif
