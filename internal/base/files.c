/*
 * files.c - whole-file reads under a size cap, atomic whole-file writes
 * (temporary file, fsync, rename, fsync of the directory) and mkdir -p.
 */
#include "base/base.h"
#include "base/files.h"
#include "base/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum status file_read(const char *path, size_t cap, struct buf *b, struct err *e)
{
	char chunk[65536];
	enum status st = ST_OK;
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return err_set(e, ST_IO, "open '%s': %s", path, strerror(errno));
	buf_init(b, cap);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		st = buf_add(b, chunk, n, e);
		if (st != ST_OK) {
			err_wrap(e, "read '%s'", path);
			break;
		}
	}
	if (st == ST_OK && ferror(f))
		st = err_set(e, ST_IO, "read '%s': %s", path, strerror(errno));
	fclose(f);
	if (st != ST_OK)
		buf_release(b);
	return st;
}

static enum status fsync_dir_of(const char *path, struct err *e)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	enum status st = ST_OK;
	int fd;

	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0 || fsync(fd) != 0)
		st = err_set(e, ST_IO, "fsync directory '%s': %s", dir, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(dir);
	return st;
}

static enum status write_all(int fd, const char *p, size_t n, const char *path, struct err *e)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return err_set(e, ST_IO, "write '%s': %s", path, strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	return ST_OK;
}

enum status file_write_atomic(const char *path, const void *data, size_t n, struct err *e)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	enum status st;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0) {
		st = err_set(e, ST_IO, "create '%s': %s", tmp, strerror(errno));
		goto out;
	}
	st = write_all(fd, data, n, tmp, e);
	if (st == ST_OK && fsync(fd) != 0)
		st = err_set(e, ST_IO, "fsync '%s': %s", tmp, strerror(errno));
	if (close(fd) != 0 && st == ST_OK)
		st = err_set(e, ST_IO, "close '%s': %s", tmp, strerror(errno));
	if (st == ST_OK && rename(tmp, path) != 0)
		st = err_set(e, ST_IO, "rename '%s': %s", path, strerror(errno));
	if (st != ST_OK)
		unlink(tmp);
	else
		st = fsync_dir_of(path, e);
out:
	free(tmp);
	return st;
}

enum status mkdir_p(const char *dir, struct err *e)
{
	char *p = xstrdup(dir);
	enum status st = ST_OK;

	for (char *s = p + 1;; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			st = err_set(e, ST_IO, "create directory '%s': %s", p, strerror(errno));
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return st;
}
