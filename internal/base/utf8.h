/*
 * utf8.h - strict UTF-8 (RFC 3629): no overlong forms, no UTF-16
 * surrogates, nothing above U+10FFFF.  PostgreSQL refuses such bytes in
 * text, so they must never be stored, or a backup cannot be restored.
 */
#ifndef CAVRA_UTF8_H
#define CAVRA_UTF8_H

#include "base/base.h"
#include "base/buf.h"
#include "base/err.h"

/*
 * True when s[0..n) is valid UTF-8 (NUL bytes count as valid).  When it is
 * not and bad is non-NULL, *bad is the offset of the first byte of the first
 * sequence that is not valid.
 */
bool utf8_valid(const void *s, size_t n, size_t *bad);

/* Length of the valid sequence that starts s[0..n) (n > 0), or 0 when there is none. */
size_t utf8_seq_len(const void *s, size_t n);

/*
 * Appends s[0..n) to out with each byte that does not start a valid
 * sequence replaced by U+FFFD (so an invalid 3-byte run becomes three).
 * ST_TOO_LARGE when out's cap is reached.
 */
ATTR_NODISCARD enum status utf8_repair(const void *s, size_t n, struct buf *out, struct err *e);

#endif
