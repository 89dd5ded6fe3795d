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
 * A file written under a temporary name in the directory of its final one
 * and renamed over it on commit (git's lockfile): readers see the old file
 * or the complete new one.
 */
struct file_atomic {
	int fd; /* write here between open and commit; -1 after */
	char *tmp; /* owned; NULL once committed or aborted */
	char *path; /* owned; the final name */
};

/*
 * Creates tmp (O_EXCL, mode 0600), which becomes path on commit; tmp must
 * be in path's directory.  Both names are copied.
 */
ATTR_NODISCARD enum status file_atomic_open(struct file_atomic *f, const char *path,
					    const char *tmp, struct err *e);
/*
 * fsync, close and rename over path; on failure the temporary file is
 * removed.  Either way f is released.  The directory entry is not synced:
 * call file_fsync_dir once every file of the directory is in place.
 */
ATTR_NODISCARD enum status file_atomic_commit(struct file_atomic *f, struct err *e);
/* Closes and removes the temporary file; nothing after commit or abort (NULL-safe). */
void file_atomic_abort(struct file_atomic *f);

/* Writes all of p[0..n) to fd, again after EINTR: 0, or the errno of the failed write. */
int file_write_full(int fd, const void *p, size_t n);

/*
 * fsync of the file path names (of the directory, with oflags O_DIRECTORY): 0, or the errno
 * of the open or fsync that failed, for the caller's own message.
 */
int file_fsync_path(const char *path, int oflags);

/* fsync of a directory, so that the names created or renamed in it survive a crash. */
ATTR_NODISCARD enum status file_fsync_dir(const char *dir, struct err *e);

/* The directory part of path ("." without a slash, "/" for "/name").  Caller owns, free(). */
char *file_dir_of(const char *path);

/*
 * Writes data to path atomically: file_atomic with the temporary name
 * path.tmp.<pid>, then file_fsync_dir of path's directory.
 */
ATTR_NODISCARD enum status file_write_atomic(const char *path, const void *data, size_t n,
					     struct err *e);

/* Creates dir and its parents (mode 0700 for new ones). */
ATTR_NODISCARD enum status mkdir_p(const char *dir, struct err *e);

/*
 * Gives the file from the name to, only if no file has that name: a hard link fails on an
 * existing name where rename(2) would replace it.  ST_CONFLICT when to exists (from is left);
 * on a file system without hard links, a last look and then rename(2).  The directory is not
 * synced.
 */
ATTR_NODISCARD enum status file_place_new(const char *from, const char *to, struct err *e);

#endif
