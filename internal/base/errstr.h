/*
 * errstr.h - the text of an errno value, safe to call from any thread.
 *
 * strerror() may return a buffer shared by every thread (it is banned, see banned.h);
 * base_strerror() wraps the GNU strerror_r() once so no caller deals with its two variants.
 */
#ifndef CAVRA_ERRSTR_H
#define CAVRA_ERRSTR_H

#include <stddef.h>

#define BASE_ERRSTR_MAX 128

/*
 * The message for errnum: either a constant string of the C library or buf (size bytes,
 * NUL-terminated) filled with it.  Borrowed: valid while buf is.
 */
const char *base_strerror(int errnum, char *buf, size_t size);

/*
 * base_strerror() into a buffer that lives until the end of the enclosing block, for use
 * as an argument: `err_set(e, ST_IO, "open '%s': %s", path, BASE_ERRSTR(errno))`.
 */
#define BASE_ERRSTR(errnum) base_strerror((errnum), (char[BASE_ERRSTR_MAX]){0}, BASE_ERRSTR_MAX)

#endif
