/*
 * str.h - comparisons of NUL-terminated strings and of byte ranges.
 */
#ifndef CAVRA_STR_H
#define CAVRA_STR_H

#include "base/base.h"

#include <stdio.h>

/*
 * Byte order of a[0..an) and b[0..bn) (<0, 0, >0), a prefix first: the order
 * of SQLite's BINARY and PostgreSQL's "C" collation.
 */
int bytes_cmp(const void *a, size_t an, const void *b, size_t bn);
/* strcmp() == 0 that treats NULL as different from every string but NULL. */
bool str_eq(const char *a, const char *b);
bool str_starts_with(const char *s, const char *prefix);
bool str_ends_with(const char *s, const char *suffix);
/*
 * s with everything but RFC 3986's unreserved characters percent-encoded, so that nothing
 * in it reads as a delimiter of the URL it goes into.  Caller owns, free with free().
 */
char *str_url_encode(const char *s);
/*
 * Writes s to f with everything a terminal acts on shown as an escape instead: the C0 controls
 * (newline and tab included) and DEL as \xNN, the C1 controls (U+0080-U+009F) and the
 * bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069) as \uNNNN.  For the
 * lines that show ids and values read from a database or a backup: whoever wrote those cannot
 * move the cursor, hide the text after them, reorder what is shown or forge a line.
 */
void str_fput_printable(FILE *f, const char *s);
/* The same as a string, for a field printed with a width; caller owns, free with free(). */
char *str_printable(const char *s);

#endif
