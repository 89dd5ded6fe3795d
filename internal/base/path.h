/*
 * path.h - file paths compared as the files they name: "x.db", "./x.db" and
 * "/work/x.db" run from /work are one file, which a comparison of the
 * strings would not see.
 */
#ifndef CAVRA_PATH_H
#define CAVRA_PATH_H

#include "base/base.h"

/*
 * The absolute form of path, relative ones taken from cwd, with empty and
 * "." components dropped and ".." removing the one before it (lexically:
 * symbolic links are not followed).  Caller owns, free with free().
 */
char *path_normalize(const char *cwd, const char *path);

/*
 * Whether a and b name the same file: the same device and inode when both
 * exist, else the same path_normalize from the current directory.
 */
bool path_same_file(const char *a, const char *b);

#endif
