/*
 * ops_files.c - the file side of backups: problem lists, the atomic,
 * checksummed file writer (temporary name, fsync, rename; git's lockfile),
 * the line scanner that verify and restore share, and path helpers.
 */
#include "base/base.h"
#include "base/interrupt.h"
#include "ops/ops_int.h"
#include "base/xalloc.h"
#include "base/files.h"
#include "base/hash.h"

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
#include <pthread.h>

#define READ_CHUNK     (1 << 20)
#define WRITEBACK_STEP ((off_t)32 << 20)
#define SHOWN_MAX      200 /* bytes of a (possibly hostile) path kept in a problem */
#define REMOVE_DEPTH   4

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

enum status ops_new_id(const char *prefix, char id[OPS_ID_LEN], struct err *e)
{
	char hex[13];
	enum status st = random_hex(hex, 6, e);

	if (st == ST_OK)
		snprintf(id, OPS_ID_LEN, "%s%s", prefix, hex);
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
 * The writer's thread hashes and writes full chunks while the caller fills
 * the next one: on a backup, encoding rows and copying a gigabyte into the
 * page cache each take seconds, and they need not wait for each other.
 */
struct ops_wthread {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const char *job; /* a chunk to hash and write, NULL when idle */
	size_t job_len;
	off_t written, flushed; /* bytes written; bytes whose writeback has been started */
	bool quit;
	int err; /* the first write's errno, 0 */
};

/*
 * Starts the disk writes of what has been written so far, every
 * WRITEBACK_STEP bytes, without waiting for them: otherwise a machine with
 * plenty of memory keeps the whole file dirty in the page cache and the
 * final fsync writes a gigabyte while the backup waits.  Advisory: an error
 * here shows up again at fsync.
 */
static void start_writeback(int fd, struct ops_wthread *t, size_t n)
{
	t->written += (off_t)n;
	if (t->written - t->flushed < WRITEBACK_STEP)
		return;
#ifdef __linux__
	sync_file_range(fd, t->flushed, t->written - t->flushed, SYNC_FILE_RANGE_WRITE);
#else
	(void)fd;
#endif
	t->flushed = t->written;
}

static void lines_feed(struct ops_writer *w, const char *p, size_t n);

/* ops_bytes_fn: compressed output, hashed and written as it comes. */
static enum status write_stored(void *ctx, const char *p, size_t n, struct err *e)
{
	struct ops_writer *w = ctx;
	int err = file_write_full(w->file.fd, p, n);

	if (err) {
		w->stored_err = err;
		return err_set(e, ST_IO, "%s", BASE_ERRSTR(err));
	}
	EVP_DigestUpdate(w->stored_md, p, n);
	w->stored_bytes += (int64_t)n;
	if (w->th)
		start_writeback(w->file.fd, w->th, n);
	return ST_OK;
}

/*
 * Puts a chunk of content on disk, compressed when the writer compresses
 * (end: and closes the frame); the first error, as an errno.
 */
static int store_chunk(struct ops_writer *w, const char *p, size_t n, bool end)
{
	struct err e = {0};
	int err;

	if (w->z) {
		if (ops_zwriter_add(w->z, p, n, end, write_stored, w, &e) == ST_OK)
			return 0;
		return w->stored_err ? w->stored_err : EIO; /* EIO: libzstd failed (memory) */
	}
	err = file_write_full(w->file.fd, p, n);
	if (!err && w->th)
		start_writeback(w->file.fd, w->th, n);
	return err;
}

static void *writer_run(void *arg)
{
	struct ops_writer *w = arg;
	struct ops_wthread *t = w->th;

	pthread_mutex_lock(&t->mu);
	for (;;) {
		int err;

		while (!t->job && !t->quit)
			pthread_cond_wait(&t->cv, &t->mu);
		if (!t->job)
			break;
		pthread_mutex_unlock(&t->mu);
		EVP_DigestUpdate(w->md, t->job, t->job_len);
		lines_feed(w, t->job, t->job_len);
		err = t->err || w->file.fd < 0 ? 0 : store_chunk(w, t->job, t->job_len, false);
		pthread_mutex_lock(&t->mu);
		if (err && !t->err)
			t->err = err;
		t->job = NULL;
		pthread_cond_broadcast(&t->cv);
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

/* Waits until the thread has finished its chunk; its first error, as an errno. */
static int writer_wait(struct ops_wthread *t)
{
	int err;

	pthread_mutex_lock(&t->mu);
	while (t->job)
		pthread_cond_wait(&t->cv, &t->mu);
	err = t->err;
	pthread_mutex_unlock(&t->mu);
	return err;
}

static void writer_stop(struct ops_writer *w)
{
	struct ops_wthread *t = w->th;

	if (!t)
		return;
	writer_wait(t);
	pthread_mutex_lock(&t->mu);
	t->quit = true;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->thread, NULL);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	free(t);
	w->th = NULL;
}

static void lines_free(struct ops_writer *w);

static void writer_free(struct ops_writer *w)
{
	writer_stop(w);
	lines_free(w);
	EVP_MD_CTX_free(w->md);
	w->md = NULL;
	EVP_MD_CTX_free(w->stored_md);
	w->stored_md = NULL;
	ops_zwriter_free(w->z);
	w->z = NULL;
	free(w->chunk[0]);
	free(w->chunk[1]);
	w->chunk[0] = w->chunk[1] = NULL;
}

/* Starts w's thread; without one, the caller's thread hashes and writes. */
static void writer_start(struct ops_writer *w)
{
	w->th = xcalloc(1, sizeof(*w->th));
	pthread_mutex_init(&w->th->mu, NULL);
	pthread_cond_init(&w->th->cv, NULL);
	if (pthread_create(&w->th->thread, NULL, writer_run, w) != 0) {
		pthread_mutex_destroy(&w->th->mu);
		pthread_cond_destroy(&w->th->cv);
		free(w->th);
		w->th = NULL;
	}
}

/* Hands p to the idle thread (the caller waited with writer_wait). */
static void writer_submit(struct ops_wthread *t, const char *p, size_t n)
{
	pthread_mutex_lock(&t->mu);
	t->job = p;
	t->job_len = n;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

/* O_EXCL: a leftover of a crashed backup fails here, and verify reports it as unlisted. */
enum status ops_writer_open(struct ops_writer *w, const char *dir, const char *name, struct err *e)
{
	char *tmpname = xasprintf(".%s.tmp", name);
	char *tmp = ops_path_join(dir, tmpname), *final = ops_path_join(dir, name);
	enum status st;

	memset(w, 0, sizeof(*w));
	st = file_atomic_open(&w->file, final, tmp, e);
	free(tmpname);
	free(tmp);
	free(final);
	if (st != ST_OK)
		return st;
	w->md = EVP_MD_CTX_new();
	if (!w->md || EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1) {
		ops_writer_abort(w);
		return err_set(e, ST_INTERNAL, "sha256: openssl digest init failed");
	}
	w->chunk[0] = xmalloc(OPS_WRITE_CHUNK);
	w->chunk[1] = xmalloc(OPS_WRITE_CHUNK);
	writer_start(w);
	return ST_OK;
}

static enum status lines_status(const struct ops_writer *w, struct err *e);

/* Hands the current chunk over (or, without a thread, hashes and writes it here). */
static enum status flush_chunk(struct ops_writer *w, struct err *e)
{
	struct ops_wthread *t = w->th;
	int err;

	if (!t) {
		EVP_DigestUpdate(w->md, w->chunk[w->cur], w->used);
		lines_feed(w, w->chunk[w->cur], w->used);
		err = store_chunk(w, w->chunk[w->cur], w->used, false);
	} else {
		err = writer_wait(t);
		if (!err && w->used) {
			writer_submit(t, w->chunk[w->cur], w->used);
			w->cur ^= 1;
		}
	}
	w->used = 0;
	if (err)
		return err_set(e, ST_IO, "write '%s': %s", w->file.tmp, BASE_ERRSTR(err));
	return lines_status(w, e);
}

enum status ops_writer_add(struct ops_writer *w, const char *p, size_t n, struct err *e)
{
	w->bytes += (int64_t)n;
	while (n > 0) {
		size_t room = OPS_WRITE_CHUNK - w->used, k = n < room ? n : room;

		memcpy(w->chunk[w->cur] + w->used, p, k);
		w->used += k;
		p += k;
		n -= k;
		if (w->used == OPS_WRITE_CHUNK && flush_chunk(w, e) != ST_OK)
			return e ? e->code : ST_IO;
	}
	return ST_OK;
}

static void digest_hex(void *md, char sha[SHA256_HEX_LEN])
{
	unsigned char raw[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_DigestFinal_ex(md, raw, &n);
	hex_encode(raw, n < 32 ? n : 32, sha);
}

/*
 * The directory entry is made durable by the caller's file_fsync_dir once
 * every file is in.
 */
enum status ops_writer_commit(struct ops_writer *w, char sha[SHA256_HEX_LEN], struct err *e)
{
	enum status st = flush_chunk(w, e);
	int err = w->th ? writer_wait(w->th) : 0;

	/* the thread is idle now: the frame is ended here */
	if (!err && st == ST_OK && w->z)
		err = store_chunk(w, NULL, 0, true);
	if (st == ST_OK && err)
		st = err_set(e, ST_IO, "write '%s': %s", w->file.tmp, BASE_ERRSTR(err));
	if (st == ST_OK)
		st = lines_status(w, e); /* the last chunk's lines, before the rename */
	writer_stop(w);
	if (st == ST_OK)
		st = file_atomic_commit(&w->file, e);
	if (st != ST_OK) {
		ops_writer_abort(w);
		return st;
	}
	digest_hex(w->md, sha);
	if (w->z) {
		digest_hex(w->stored_md, w->stored_sha256);
	} else {
		memcpy(w->stored_sha256, sha, SHA256_HEX_LEN);
		w->stored_bytes = w->bytes;
	}
	writer_free(w);
	return ST_OK;
}

enum status ops_writer_compress(struct ops_writer *w, const struct ops_compress *c, struct err *e)
{
	w->stored_md = EVP_MD_CTX_new();
	if (!w->stored_md || EVP_DigestInit_ex(w->stored_md, EVP_sha256(), NULL) != 1)
		return err_set(e, ST_INTERNAL, "sha256: openssl digest init failed");
	w->z = ops_zwriter_new(c->level, e);
	return w->z ? ST_OK : e ? e->code : ST_INTERNAL;
}

void ops_writer_abort(struct ops_writer *w)
{
	writer_stop(w);
	file_atomic_abort(&w->file);
	writer_free(w);
}

/* ---- the scanner ---- */

struct scanner {
	ops_line_fn fn;
	void *ctx;
	struct buf line; /* the current, unfinished line */
	bool skipping; /* inside an overlong line */
	struct ops_scan *out;
};

/* A complete line: from the chunk itself (line NULL) or from s->line. */
static enum status end_line(struct scanner *s, const char *line, size_t n, struct err *e)
{
	enum status st = ST_OK;

	s->out->rows++;
	if (!line) {
		line = s->line.data;
		n = s->line.len;
	}
	/* every file read (verify, restore, restore-test) stops here on a signal */
	if (!s->skipping && s->fn)
		st = interrupt_check(e);
	if (st == ST_OK && !s->skipping && s->fn)
		st = s->fn(s->ctx, line, n, s->out->rows, e);
	s->skipping = false;
	buf_reset(&s->line);
	return st;
}

/*
 * Splits a chunk into lines; a line over OPS_LINE_MAX is counted and
 * skipped.  Lines that lie whole inside the chunk are handed over where
 * they are; only a line cut by the chunk's end is copied.
 */
static enum status feed(struct scanner *s, const char *p, size_t n, struct err *e)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) : n;
		bool whole = nl && s->line.len == 0 && !s->skipping;
		enum status st;

		if (!whole && !s->skipping && buf_add(&s->line, p, k, NULL) != ST_OK) {
			s->skipping = true;
			if (!s->out->overlong)
				s->out->overlong = s->out->rows + 1;
			buf_reset(&s->line);
		}
		if (!nl)
			return ST_OK;
		if (whole && k > OPS_LINE_MAX) {
			s->skipping = true;
			if (!s->out->overlong)
				s->out->overlong = s->out->rows + 1;
		}
		st = end_line(s, whole ? p : NULL, k, e);
		if (st != ST_OK)
			return st;
		p += k + 1;
		n -= k + 1;
	}
	return ST_OK;
}

/*
 * Reading a table file: the content (decompressed when the file is
 * compressed) goes through two buffers in turn, each handed to a thread
 * (the writer's, without a file) that hashes it while this thread checks
 * its lines: SHA-256 and the line checks each take about half of a
 * verification's time, and need not wait for each other.
 */
struct reader {
	int fd;
	const char *path;
	const struct ops_stored *how;
	struct scanner *s;
	struct ops_writer h; /* its thread hashes the content */
	EVP_MD_CTX *smd; /* the stored (compressed) bytes; NULL when not compressed */
	struct ops_zreader *z;
	char *chunk[2];
	int cur;
	size_t used; /* content in chunk[cur] */
	char last; /* the content's last byte so far */
};

/* Hands chunk[cur] to the hashing thread and to the line scanner, and turns to the other. */
static enum status sink_flush(struct reader *r, struct err *e)
{
	enum status st;

	if (!r->used)
		return ST_OK;
	if (r->h.th) {
		writer_wait(r->h.th); /* done with the other buffer, which is filled next */
		writer_submit(r->h.th, r->chunk[r->cur], r->used);
	} else {
		EVP_DigestUpdate(r->h.md, r->chunk[r->cur], r->used);
	}
	r->s->out->bytes += (int64_t)r->used;
	r->last = r->chunk[r->cur][r->used - 1];
	st = feed(r->s, r->chunk[r->cur], r->used, e);
	r->cur ^= 1;
	r->used = 0;
	return st;
}

/* ops_bytes_fn: decompressed content, gathered into whole chunks. */
static enum status sink_add(void *ctx, const char *p, size_t n, struct err *e)
{
	struct reader *r = ctx;

	if (r->s->out->bytes + (int64_t)(r->used + n) > r->how->max_bytes)
		return err_set(e, ST_TOO_LARGE,
			       "'%s' decompresses to more than the %lld bytes the manifest lists",
			       r->path, (long long)r->how->max_bytes);
	while (n > 0) {
		size_t k = READ_CHUNK - r->used < n ? READ_CHUNK - r->used : n;
		enum status st;

		memcpy(r->chunk[r->cur] + r->used, p, k);
		r->used += k;
		p += k;
		n -= k;
		if (r->used == READ_CHUNK && (st = sink_flush(r, e)) != ST_OK)
			return st;
	}
	return ST_OK;
}

/* Up to cap bytes of the file into buf; *n is 0 at its end. */
static enum status read_some(struct reader *r, char *buf, size_t cap, size_t *n, struct err *e)
{
	ssize_t k;

	do
		k = read(r->fd, buf, cap);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return err_set(e, ST_IO, "read '%s': %s", r->path, BASE_ERRSTR(errno));
	*n = (size_t)k;
	return ST_OK;
}

/* A file stored as it is: read straight into the buffers. */
static enum status scan_plain(struct reader *r, struct err *e)
{
	enum status st;

	for (;;) {
		st = read_some(r, r->chunk[r->cur], READ_CHUNK, &r->used, e);
		if (st != ST_OK || r->used == 0)
			return st;
		r->s->out->stored_bytes += (int64_t)r->used;
		st = sink_flush(r, e);
		if (st != ST_OK)
			return st;
	}
}

/*
 * A compressed file: its bytes are hashed as read, decompressed a piece at a
 * time (memory bounded by the buffers and the window zstd allows), and the
 * content gathered into the buffers.
 */
static enum status scan_zstd(struct reader *r, struct err *e)
{
	char *raw = xmalloc(READ_CHUNK);
	enum status st;
	size_t n = 0;

	r->z = ops_zreader_new(e);
	st = r->z ? ST_OK : ST_INTERNAL;
	while (st == ST_OK && (st = read_some(r, raw, READ_CHUNK, &n, e)) == ST_OK && n > 0) {
		EVP_DigestUpdate(r->smd, raw, n);
		r->s->out->stored_bytes += (int64_t)n;
		st = ops_zreader_add(r->z, raw, n, sink_add, r, e);
	}
	if (st == ST_OK)
		st = sink_flush(r, e);
	if (st == ST_OK)
		st = ops_zreader_end(r->z, e);
	if (st == ST_INVALID)
		err_wrap(e, "'%s'", r->path);
	ops_zreader_free(r->z);
	free(raw);
	return st;
}

static enum status scan_fd(struct reader *r, struct err *e)
{
	enum status st;

	r->chunk[0] = xmalloc(READ_CHUNK);
	r->chunk[1] = xmalloc(READ_CHUNK);
	r->last = '\n';
	writer_start(&r->h);
	st = r->smd ? scan_zstd(r, e) : scan_plain(r, e);
	writer_stop(&r->h);
	r->s->out->final_newline = r->last == '\n';
	if (st == ST_OK && r->last != '\n')
		st = end_line(r->s, NULL, 0, e);
	free(r->chunk[0]);
	free(r->chunk[1]);
	return st;
}

/* ---- lines of what a writer writes ---- */

/*
 * Touched only by whoever hashes the chunks (the writer's thread, when it
 * has one), and read by the caller only after waiting for that thread.
 */
struct ops_wlines {
	struct scanner s;
	struct ops_scan counts;
	enum status st; /* the first error of the line function */
	struct err err;
};

void ops_writer_lines(struct ops_writer *w, ops_line_fn fn, void *ctx)
{
	struct ops_wlines *l = xcalloc(1, sizeof(*l));

	l->s.fn = fn;
	l->s.ctx = ctx;
	l->s.out = &l->counts;
	buf_init(&l->s.line, OPS_LINE_MAX);
	w->lines = l;
}

static void lines_feed(struct ops_writer *w, const char *p, size_t n)
{
	if (w->lines && w->lines->st == ST_OK)
		w->lines->st = feed(&w->lines->s, p, n, &w->lines->err);
}

static enum status lines_status(const struct ops_writer *w, struct err *e)
{
	if (!w->lines || w->lines->st == ST_OK)
		return ST_OK;
	if (e)
		*e = w->lines->err;
	return w->lines->st;
}

static void lines_free(struct ops_writer *w)
{
	if (!w->lines)
		return;
	buf_release(&w->lines->s.line);
	free(w->lines);
	w->lines = NULL;
}

static EVP_MD_CTX *sha256_new(void)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		md = NULL;
	}
	return md;
}

static int open_read(const char *path)
{
	return open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
}

enum status ops_scan_stored(const char *path, const struct ops_stored *how, ops_line_fn fn,
			    void *ctx, struct ops_scan *out, struct err *e)
{
	struct scanner s = {.fn = fn, .ctx = ctx, .out = out};
	struct reader r = {.path = path, .how = how, .s = &s, .h.file.fd = -1};
	bool zstd = how->compression == OPS_COMPRESS_ZSTD;
	enum status st = ST_INTERNAL;

	memset(out, 0, sizeof(*out));
	r.h.md = sha256_new();
	r.smd = zstd ? sha256_new() : NULL;
	r.fd = -1;
	if (!r.h.md || (zstd && !r.smd)) {
		err_set(e, ST_INTERNAL, "sha256: openssl digest init failed");
		goto out;
	}
	r.fd = open_read(path);
	if (r.fd < 0) {
		st = err_set(e, ST_IO, "open '%s': %s", path, BASE_ERRSTR(errno));
		goto out;
	}
	buf_init(&s.line, OPS_LINE_MAX);
	st = scan_fd(&r, e);
	buf_release(&s.line);
	digest_hex(r.h.md, out->sha256);
	if (zstd)
		digest_hex(r.smd, out->stored_sha256);
	else
		memcpy(out->stored_sha256, out->sha256, SHA256_HEX_LEN);
out:
	EVP_MD_CTX_free(r.h.md);
	EVP_MD_CTX_free(r.smd);
	if (r.fd >= 0)
		close(r.fd);
	return st;
}

enum status ops_scan_file(const char *path, ops_line_fn fn, void *ctx, struct ops_scan *out,
			  struct err *e)
{
	const struct ops_stored plain = {OPS_COMPRESS_NONE, INT64_MAX};

	return ops_scan_stored(path, &plain, fn, ctx, out, e);
}

enum status ops_hash_file(const char *path, int64_t *bytes, char sha[SHA256_HEX_LEN], struct err *e)
{
	EVP_MD_CTX *md = sha256_new();
	char *chunk = xmalloc(READ_CHUNK);
	struct reader r = {.fd = open_read(path), .path = path};
	enum status st = ST_OK;
	size_t n = 0;

	*bytes = 0;
	if (!md)
		st = err_set(e, ST_INTERNAL, "sha256: openssl digest init failed");
	else if (r.fd < 0)
		st = err_set(e, ST_IO, "open '%s': %s", path, BASE_ERRSTR(errno));
	while (st == ST_OK && (st = read_some(&r, chunk, READ_CHUNK, &n, e)) == ST_OK && n > 0) {
		EVP_DigestUpdate(md, chunk, n);
		*bytes += (int64_t)n;
	}
	if (st == ST_OK)
		digest_hex(md, sha);
	EVP_MD_CTX_free(md);
	if (r.fd >= 0)
		close(r.fd);
	free(chunk);
	return st;
}

enum status ops_writer_text(const char *dir, const char *name, const char *text, struct err *e)
{
	char sha[SHA256_HEX_LEN];
	struct ops_writer w;
	enum status st = ops_writer_open(&w, dir, name, e);

	if (st == ST_OK)
		st = ops_writer_add(&w, text, strlen(text), e);
	if (st == ST_OK)
		return ops_writer_commit(&w, sha, e);
	ops_writer_abort(&w);
	return st;
}
