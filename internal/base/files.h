/*
 * files.h - reading, writing and creating files and directories.
 */
#ifndef CAVRA_FILES_H
#define CAVRA_FILES_H

#include "base/base.h"
#include "base/buf.h"
#include "base/err.h"

/* Reads a whole file (at most cap bytes) into b. */
ATTR_NODISCARD enum status file_read(const char *path, size_t cap, struct buf *b, struct err *e);

/*
 * Writes data to path atomically: a temporary file in the same directory,
 * fsync, rename, fsync of the directory.
 */
ATTR_NODISCARD enum status file_write_atomic(const char *path, const void *data, size_t n,
					     struct err *e);

/* Creates dir and its parents (mode 0700 for new ones). */
ATTR_NODISCARD enum status mkdir_p(const char *dir, struct err *e);

#endif
