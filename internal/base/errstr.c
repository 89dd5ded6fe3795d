/*
 * errstr.c - the one place that turns an errno value into text.
 *
 * Built with _GNU_SOURCE, so strerror_r() is the GNU variant: it returns the message, which
 * is either a constant string of the C library or buf.  Unlike BASE_ERRSTR() it never hands
 * out a buffer another thread may be rewriting.
 */
#include <string.h>

#include "base/errstr.h"

const char *base_strerror(int errnum, char *buf, size_t size)
{
	return strerror_r(errnum, buf, size);
}
