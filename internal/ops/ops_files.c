/*
 * ops_files.c - the file side of backups: problem lists, the atomic,
 * checksummed file writer (temporary name, fsync, rename; git's lockfile),
 * the line scanner that verify and restore share, and path helpers.
 */
#include "base/base.h"
#include "ops/ops_int.h"
#include "base/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define READ_CHUNK   (1 << 20)
#define SHOWN_MAX    200 /* bytes of a (possibly hostile) path kept in a problem */
#define REMOVE_DEPTH 4

/* ---- problems ---- */

/* Keeps what is printable, so that a hostile name cannot drive a terminal. */
static char *printable(const char *s, size_t max)
{
	size_t n = strlen(s) < max ? strlen(s) : max;
	char *out = xstrndup(s, n);

	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return out;
}

void ops_report_add(struct ops_report *r, const char *kind, const char *path, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->items = xrealloc(r->items, r->cap * sizeof(*r->items));
	}
	r->items[r->n].kind = xstrdup(kind);
	r->items[r->n].path = printable(path ? path : "", SHOWN_MAX);
	r->items[r->n].msg = printable(msg, sizeof(msg));
	r->n++;
}

void ops_report_release(struct ops_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->items[i].kind);
		free(r->items[i].path);
		free(r->items[i].msg);
	}
	free(r->items);
	memset(r, 0, sizeof(*r));
}

/* ---- paths and ids ---- */

char *ops_path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return xasprintf("%.*s/%s", (int)n, dir, name);
}

char *ops_manifest_path(const char *arg)
{
	struct stat sb;

	if (stat(arg, &sb) == 0 && S_ISDIR(sb.st_mode))
		return ops_path_join(arg, OPS_MANIFEST_NAME);
	return xstrdup(arg);
}

char *ops_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

enum status ops_new_id(const char *prefix, char id[OPS_ID_LEN], struct err *e)
{
	char hex[13];
	enum status st = random_hex(hex, 6, e);

	if (st == ST_OK)
		snprintf(id, OPS_ID_LEN, "%s%s", prefix, hex);
	return st;
}

enum status ops_fsync_dir(const char *dir, struct err *e)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	enum status st = ST_OK;

	if (fd < 0 || fsync(fd) != 0)
		st = err_set(e, ST_IO, "fsync directory '%s': %s", dir, strerror(errno));
	if (fd >= 0)
		close(fd);
	return st;
}

static void remove_tree_at(const char *dir, int depth)
{
	DIR *d = depth < REMOVE_DEPTH ? opendir(dir) : NULL;
	struct dirent *de;

	while (d && (de = readdir(d)) != NULL) {
		char *p;
		struct stat sb;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		p = ops_path_join(dir, de->d_name);
		if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
			remove_tree_at(p, depth + 1);
		else
			unlink(p);
		free(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

void ops_remove_tree(const char *dir)
{
	remove_tree_at(dir, 0);
}

/* ---- the writer ---- */

/*
 * O_EXCL: a leftover temporary file of a crashed backup makes this fail
 * instead of being silently reused (and verify reports it as unlisted).
 */
enum status ops_writer_open(struct ops_writer *w, const char *dir, const char *name, struct err *e)
{
	char *tmpname = xasprintf(".%s.tmp", name);

	w->md = NULL;
	w->used = 0;
	w->bytes = 0;
	w->tmp = ops_path_join(dir, tmpname);
	w->final = ops_path_join(dir, name);
	free(tmpname);
	w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (w->fd < 0) {
		enum status st = err_set(e, ST_IO, "create '%s': %s", w->tmp, strerror(errno));

		free(w->tmp);
		free(w->final);
		w->tmp = w->final = NULL;
		return st;
	}
	w->md = EVP_MD_CTX_new();
	if (!w->md || EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1) {
		ops_writer_abort(w);
		return err_set(e, ST_INTERNAL, "sha256: openssl digest init failed");
	}
	return ST_OK;
}

static enum status flush_chunk(struct ops_writer *w, struct err *e)
{
	const char *p = w->chunk;
	size_t n = w->used;

	while (n > 0) {
		ssize_t k = write(w->fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return err_set(e, ST_IO, "write '%s': %s", w->tmp, strerror(errno));
		p += k;
		n -= (size_t)k;
	}
	w->used = 0;
	return ST_OK;
}

enum status ops_writer_add(struct ops_writer *w, const char *p, size_t n, struct err *e)
{
	EVP_DigestUpdate(w->md, p, n);
	w->bytes += (int64_t)n;
	while (n > 0) {
		size_t room = sizeof(w->chunk) - w->used, k = n < room ? n : room;

		memcpy(w->chunk + w->used, p, k);
		w->used += k;
		p += k;
		n -= k;
		if (w->used == sizeof(w->chunk) && flush_chunk(w, e) != ST_OK)
			return e ? e->code : ST_IO;
	}
	return ST_OK;
}

static void digest_hex(void *md, char sha[SHA256_HEX_LEN])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char raw[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_DigestFinal_ex(md, raw, &n);
	for (unsigned int i = 0; i < n && i < 32; i++) {
		sha[2 * i] = digits[raw[i] >> 4];
		sha[2 * i + 1] = digits[raw[i] & 15];
	}
	sha[64] = '\0';
}

/*
 * fsync before rename: after a crash the final name holds either nothing
 * or the complete file, never a prefix of it.  The directory entry itself
 * is made durable by the caller's ops_fsync_dir once every file is in.
 */
enum status ops_writer_commit(struct ops_writer *w, char sha[SHA256_HEX_LEN], struct err *e)
{
	enum status st = flush_chunk(w, e);

	if (st == ST_OK && fsync(w->fd) != 0)
		st = err_set(e, ST_IO, "fsync '%s': %s", w->tmp, strerror(errno));
	if (close(w->fd) != 0 && st == ST_OK)
		st = err_set(e, ST_IO, "close '%s': %s", w->tmp, strerror(errno));
	w->fd = -1;
	if (st == ST_OK && rename(w->tmp, w->final) != 0)
		st = err_set(e, ST_IO, "rename '%s': %s", w->final, strerror(errno));
	if (st != ST_OK) {
		ops_writer_abort(w);
		return st;
	}
	digest_hex(w->md, sha);
	EVP_MD_CTX_free(w->md);
	w->md = NULL;
	free(w->tmp);
	free(w->final);
	w->tmp = w->final = NULL;
	return ST_OK;
}

void ops_writer_abort(struct ops_writer *w)
{
	if (w->fd >= 0 && w->tmp)
		close(w->fd);
	w->fd = -1;
	if (w->tmp)
		unlink(w->tmp);
	EVP_MD_CTX_free(w->md);
	w->md = NULL;
	free(w->tmp);
	free(w->final);
	w->tmp = w->final = NULL;
}

/* ---- the scanner ---- */

struct scanner {
	ops_line_fn fn;
	void *ctx;
	struct buf line; /* the current, unfinished line */
	bool skipping; /* inside an overlong line */
	struct ops_scan *out;
};

static enum status end_line(struct scanner *s, struct err *e)
{
	enum status st = ST_OK;

	s->out->rows++;
	if (!s->skipping && s->fn)
		st = s->fn(s->ctx, s->line.data, s->line.len, s->out->rows, e);
	s->skipping = false;
	buf_reset(&s->line);
	return st;
}

/* Splits a chunk into lines; a line over OPS_LINE_MAX is counted and skipped. */
static enum status feed(struct scanner *s, const char *p, size_t n, struct err *e)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) : n;
		enum status st;

		if (!s->skipping && buf_add(&s->line, p, k, NULL) != ST_OK) {
			s->skipping = true;
			if (!s->out->overlong)
				s->out->overlong = s->out->rows + 1;
			buf_reset(&s->line);
		}
		if (!nl)
			return ST_OK;
		st = end_line(s, e);
		if (st != ST_OK)
			return st;
		p += k + 1;
		n -= k + 1;
	}
	return ST_OK;
}

/* Reads fd to the end, feeding s and the digest. */
static enum status scan_fd(int fd, const char *path, struct scanner *s, EVP_MD_CTX *md,
			   struct err *e)
{
	char *chunk = xmalloc(READ_CHUNK);
	enum status st = ST_OK;
	char last = '\n';

	for (;;) {
		ssize_t n = read(fd, chunk, READ_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			st = err_set(e, ST_IO, "read '%s': %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(md, chunk, (size_t)n);
		s->out->bytes += n;
		last = chunk[n - 1];
		st = feed(s, chunk, (size_t)n, e);
		if (st != ST_OK)
			break;
	}
	s->out->final_newline = last == '\n';
	if (st == ST_OK && last != '\n')
		st = end_line(s, e);
	free(chunk);
	return st;
}

enum status ops_scan_file(const char *path, ops_line_fn fn, void *ctx, struct ops_scan *out,
			  struct err *e)
{
	struct scanner s = {.fn = fn, .ctx = ctx, .out = out};
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	enum status st;
	int fd;

	memset(out, 0, sizeof(*out));
	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return err_set(e, ST_INTERNAL, "sha256: openssl digest init failed");
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		EVP_MD_CTX_free(md);
		return err_set(e, ST_IO, "open '%s': %s", path, strerror(errno));
	}
	buf_init(&s.line, OPS_LINE_MAX);
	st = scan_fd(fd, path, &s, md, e);
	digest_hex(md, out->sha256);
	EVP_MD_CTX_free(md);
	buf_release(&s.line);
	close(fd);
	return st;
}
