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
		return err_set(e, ST_IO, "open '%s': %s", path, BASE_ERRSTR(errno));
	buf_init(b, cap);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		st = buf_add(b, chunk, n, e);
		if (st != ST_OK) {
			err_wrap(e, "read '%s'", path);
			break;
		}
	}
	if (st == ST_OK && ferror(f))
		st = err_set(e, ST_IO, "read '%s': %s", path, BASE_ERRSTR(errno));
	fclose(f);
	if (st != ST_OK)
		buf_release(b);
	return st;
}

char *file_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* errno is kept across close(), so the caller reports the failure of open or fsync itself. */
int file_fsync_path(const char *path, int oflags)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | oflags);
	int rc = fd < 0 ? -1 : fsync(fd);
	int saved = errno;

	if (fd >= 0)
		close(fd);
	return rc == 0 ? 0 : saved;
}

enum status file_fsync_dir(const char *dir, struct err *e)
{
	int err = file_fsync_path(dir, O_DIRECTORY);

	if (err)
		return err_set(e, ST_IO, "fsync directory '%s': %s", dir, BASE_ERRSTR(err));
	return ST_OK;
}

int file_write_full(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * O_EXCL: a temporary file left by a crash makes this fail instead of
 * being silently reused.
 */
enum status file_atomic_open(struct file_atomic *f, const char *path, const char *tmp,
			     struct err *e)
{
	f->fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (f->fd < 0) {
		f->tmp = f->path = NULL;
		return err_set(e, ST_IO, "create '%s': %s", tmp, BASE_ERRSTR(errno));
	}
	f->tmp = xstrdup(tmp);
	f->path = xstrdup(path);
	return ST_OK;
}

static void atomic_release(struct file_atomic *f)
{
	free(f->tmp);
	free(f->path);
	f->tmp = f->path = NULL;
	f->fd = -1;
}

/*
 * fsync before rename: after a crash the final name holds either the old
 * file or the complete new one, never a prefix of it.
 */
enum status file_atomic_commit(struct file_atomic *f, struct err *e)
{
	enum status st = ST_OK;

	if (fsync(f->fd) != 0)
		st = err_set(e, ST_IO, "fsync '%s': %s", f->tmp, BASE_ERRSTR(errno));
	if (close(f->fd) != 0 && st == ST_OK)
		st = err_set(e, ST_IO, "close '%s': %s", f->tmp, BASE_ERRSTR(errno));
	f->fd = -1;
	if (st == ST_OK && rename(f->tmp, f->path) != 0)
		st = err_set(e, ST_IO, "rename '%s': %s", f->path, BASE_ERRSTR(errno));
	if (st != ST_OK)
		unlink(f->tmp);
	atomic_release(f);
	return st;
}

void file_atomic_abort(struct file_atomic *f)
{
	if (!f || !f->tmp)
		return;
	if (f->fd >= 0)
		close(f->fd);
	unlink(f->tmp);
	atomic_release(f);
}

enum status file_write_atomic(const char *path, const void *data, size_t n, struct err *e)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	struct file_atomic f;
	enum status st = file_atomic_open(&f, path, tmp, e);
	int err = st == ST_OK ? file_write_full(f.fd, data, n) : 0;

	if (err) {
		st = err_set(e, ST_IO, "write '%s': %s", tmp, BASE_ERRSTR(err));
		file_atomic_abort(&f);
	} else if (st == ST_OK) {
		st = file_atomic_commit(&f, e);
	}
	if (st == ST_OK) {
		char *dir = file_dir_of(path);

		st = file_fsync_dir(dir, e);
		free(dir);
	}
	free(tmp);
	return st;
}

enum status file_place_new(const char *from, const char *to, struct err *e)
{
	if (link(from, to) == 0)
		return unlink(from) == 0
			       ? ST_OK
			       : err_set(e, ST_IO, "remove '%s': %s", from, BASE_ERRSTR(errno));
	if (errno == EEXIST)
		return err_set(e, ST_CONFLICT, "'%s' exists", to);
	if (errno != EPERM && errno != EOPNOTSUPP)
		return err_set(e, ST_IO, "link '%s': %s", to, BASE_ERRSTR(errno));
	if (access(to, F_OK) == 0)
		return err_set(e, ST_CONFLICT, "'%s' exists", to);
	if (rename(from, to) != 0)
		return err_set(e, ST_IO, "rename '%s': %s", to, BASE_ERRSTR(errno));
	return ST_OK;
}

enum status mkdir_p(const char *dir, struct err *e)
{
	char *p = NULL;
	enum status st = ST_OK;

	if (!*dir)
		return err_set(e, ST_INVALID, "a directory's name is empty");
	p = xstrdup(dir);

	for (char *s = p + 1;; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			st = err_set(e, ST_IO, "create directory '%s': %s", p, BASE_ERRSTR(errno));
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return st;
}
