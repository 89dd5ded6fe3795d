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

/* The code point of the valid n-byte sequence at s (utf8_seq_len gave n). */
unsigned int utf8_code_point(const void *s, size_t n);

/*
 * Whether a character is one a reader would not see as itself: the C1 controls, Unicode's
 * format characters (Cf: the bidirectional marks, embeddings, overrides and isolates, by which
 * U+202E shows the text after it backwards, zero-width characters, the soft hyphen, the tags
 * U+E0001 and U+E0020-U+E007F), the line and paragraph separators and the invisible Hangul
 * fillers.  C0 controls are the caller's to judge (a log escapes them all, a command keeps its
 * tabs and newlines).  The console marks the same set (dom.js's HIDDEN); test_console_text.py
 * fails when the two disagree on an assigned code point.
 */
bool utf8_hidden(unsigned int cp);

/*
 * The first character of the valid UTF-8 text s that utf8_hidden names, or a C0 control other
 * than tab and newline (a carriage return directly before a newline is a line end, not
 * hidden), or DEL; its code point in *cp and its offset in *at.  False when none.
 */
bool utf8_find_hidden(const char *s, unsigned int *cp, size_t *at);

/*
 * Appends s[0..n) to out with each byte that does not start a valid
 * sequence replaced by U+FFFD (so an invalid 3-byte run becomes three).
 * ST_TOO_LARGE when out's cap is reached.
 */
ATTR_NODISCARD enum status utf8_repair(const void *s, size_t n, struct buf *out, struct err *e);

#endif
