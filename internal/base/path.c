/*
 * path.c - paths compared as files (path.h).  A file that does not exist
 * yet, such as the pilot's database before its first start, has no inode
 * to compare, so the fallback is the lexical absolute form.
 */
#include "base/base.h"
#include "base/path.h"
#include "base/xalloc.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Drops the last component of out[0..*n) (never the leading '/'). */
static void drop_last(char *out, size_t *n)
{
	while (*n > 1 && out[*n - 1] != '/')
		(*n)--;
	if (*n > 1)
		(*n)--;
	out[*n] = '\0';
}

/* Appends the component s[0..len) to out[0..*n), which has room for it. */
static void add_part(char *out, size_t *n, const char *s, size_t len)
{
	if (len == 0 || (len == 1 && s[0] == '.'))
		return;
	if (len == 2 && s[0] == '.' && s[1] == '.') {
		drop_last(out, n);
		return;
	}
	if (out[*n - 1] != '/')
		out[(*n)++] = '/';
	memcpy(out + *n, s, len);
	*n += len;
	out[*n] = '\0';
}

/* Adds every component of s. */
static void add_parts(char *out, size_t *n, const char *s)
{
	while (*s) {
		size_t len = strcspn(s, "/");

		add_part(out, n, s, len);
		s += len;
		s += strspn(s, "/");
	}
}

char *path_normalize(const char *cwd, const char *path)
{
	char *out = xmalloc(strlen(cwd) + strlen(path) + 3);
	size_t n = 1;

	out[0] = '/';
	out[1] = '\0';
	if (path[0] != '/')
		add_parts(out, &n, cwd);
	add_parts(out, &n, path);
	return out;
}

bool path_same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	char cwd[PATH_MAX];
	char *na, *nb;
	bool same;

	if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	if (!getcwd(cwd, sizeof(cwd)))
		return strcmp(a, b) == 0;
	na = path_normalize(cwd, a);
	nb = path_normalize(cwd, b);
	same = strcmp(na, nb) == 0;
	free(na);
	free(nb);
	return same;
}
