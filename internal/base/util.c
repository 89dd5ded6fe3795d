#include "base/base.h"
#include "base/util.h"
#include "base/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

static void to_hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void sha256_hex(const void *p, size_t n, char out[SHA256_HEX_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL);
	to_hex(md, mdlen, out);
}

enum status random_hex(char *out, size_t n, struct err *e)
{
	unsigned char raw[64];

	if (n > sizeof(raw))
		return err_set(e, ST_INTERNAL, "random_hex: %zu bytes is too many", n);
	if (RAND_bytes(raw, (int)n) != 1)
		return err_set(e, ST_INTERNAL, "random bytes: openssl RAND_bytes failed");
	to_hex(raw, n, out);
	return ST_OK;
}

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
		memcpy(dir, ".", 2); /* path names a file: dir has room for "." */
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0 || fsync(fd) != 0)
		st = err_set(e, ST_IO, "fsync directory '%s': %s", dir, BASE_ERRSTR(errno));
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
			return err_set(e, ST_IO, "write '%s': %s", path, BASE_ERRSTR(errno));
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
		st = err_set(e, ST_IO, "create '%s': %s", tmp, BASE_ERRSTR(errno));
		goto out;
	}
	st = write_all(fd, data, n, tmp, e);
	if (st == ST_OK && fsync(fd) != 0)
		st = err_set(e, ST_IO, "fsync '%s': %s", tmp, BASE_ERRSTR(errno));
	if (close(fd) != 0 && st == ST_OK)
		st = err_set(e, ST_IO, "close '%s': %s", tmp, BASE_ERRSTR(errno));
	if (st == ST_OK && rename(tmp, path) != 0)
		st = err_set(e, ST_IO, "rename '%s': %s", path, BASE_ERRSTR(errno));
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

int bytes_cmp(const void *a, size_t an, const void *b, size_t bn)
{
	int r = an && bn ? memcmp(a, b, an < bn ? an : bn) : 0;

	return r ? r : (an > bn) - (an < bn);
}

bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

bool str_starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

bool str_to_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s || (!isdigit((unsigned char)*s) && *s != '-'))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

int hex4_value(const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}
