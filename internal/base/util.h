/*
 * util.h - small string, hashing and file helpers shared by every module.
 */
#ifndef CAVRA_UTIL_H
#define CAVRA_UTIL_H

#include "base/base.h"
#include "base/buf.h"
#include "base/err.h"

#define SHA256_HEX_LEN 65 /* 64 hex digits and the NUL */

/* SHA-256 of p[0..n) as lowercase hex into out (SHA256_HEX_LEN bytes). */
void sha256_hex(const void *p, size_t n, char out[SHA256_HEX_LEN]);

/* Fills out with n random bytes as 2n lowercase hex digits (out holds 2n+1). */
ATTR_NODISCARD enum status random_hex(char *out, size_t n, struct err *e);

/*
 * Returns a copy of a database URL or libpq conninfo string with every
 * password replaced by "*****": the URI's user:password@, its password= and
 * sslpassword= query parameters, and key=value pairs of those names (quoted
 * or not).  Caller owns, free with free().  Other strings come back unchanged.
 */
char *redact_url(const char *url);

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

/*
 * Byte order of a[0..an) and b[0..bn) (<0, 0, >0), a prefix first: the order
 * of SQLite's BINARY and PostgreSQL's "C" collation.
 */
int bytes_cmp(const void *a, size_t an, const void *b, size_t bn);
/* strcmp() == 0 that treats NULL as different from every string but NULL. */
bool str_eq(const char *a, const char *b);
bool str_starts_with(const char *s, const char *prefix);
bool str_ends_with(const char *s, const char *suffix);
/* Strict decimal parse of a whole string into [min,max]. */
bool str_to_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/*
 * Overwrites every occurrence of each password of url (as redact_url finds
 * them, written as in url or decoded) inside msg with "*****", so that
 * library messages that echo a URL stay safe.
 */
void scrub_url_password(char *msg, size_t size, const char *url);
/* The value of the 4 hex digits at p (as in a JSON "\\u" escape), or -1 when one is not a hex
 * digit. */
int hex4_value(const char *p);

#endif
