/*
 * jx_canon.h - the one canonical JSON form of cavra: object keys sorted by
 * their UTF-8 bytes, no whitespace, strings with only '"', '\\' and control
 * characters escaped, numbers as PostgreSQL's numeric type prints them
 * (jx_canon_number).
 *
 * Backups checksum their lines in it (docs/backup-format.md), the audit chain
 * hashes records in it, and an Idempotency-Key's request hash is taken over
 * it: one definition, so that the same value always hashes the same way.
 */
#ifndef CAVRA_JX_CANON_H
#define CAVRA_JX_CANON_H

#include "base/base.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/hash.h"

#include <json-c/json.h>
#include <stdbool.h>

/* Deeper than any value the API accepts. */
#define JX_CANON_DEPTH 64

/* Appends v in canonical form.  ST_INVALID when v nests deeper than JX_CANON_DEPTH. */
ATTR_NODISCARD enum status jx_canon_append(struct buf *b, json_object *v, struct err *e);

/*
 * Appends the canonical form of the JSON number s[0..n): as PostgreSQL's jsonb gives it back,
 * so that a value reads the same from either backend.  Plain decimal without an exponent, the
 * digits after the point those written less the exponent (none when that is negative), no sign
 * on zero: 1e2 -> 100, 1.50e1 -> 15.0, -0.0 -> 0.0, 5e-1 -> 0.5; an integer stays as written.
 * A number whose exponent is beyond +-1000 (which PostgreSQL cannot hold) stays as written too.
 */
ATTR_NODISCARD enum status jx_canon_number(struct buf *b, const char *s, size_t n, struct err *e);

/* Appends the canonical, quoted form of the string s[0..n). */
ATTR_NODISCARD enum status jx_canon_string(struct buf *b, const char *s, size_t n, struct err *e);

/*
 * Parses text with tok (reused across calls: a tokener per row would cost
 * more than the parse) and appends its canonical form to b.  ST_INVALID
 * when text is not exactly one JSON value.
 */
ATTR_NODISCARD enum status jx_canon_parse_append(struct buf *b, const char *text, size_t len,
						 struct json_tokener *tok, struct err *e);

/*
 * A strict tokener for jx_canon_parse_append (RFC 8259: no comments, trailing
 * commas or single quotes); free with json_tokener_free.
 */
struct json_tokener *jx_canon_tokener(void);

/* The SHA-256 (lowercase hex) of v's canonical form. */
ATTR_NODISCARD enum status jx_canon_sha256(json_object *v, char out[SHA256_HEX_LEN], struct err *e);

/*
 * The length of the leading run of s[0..n) that needs no escape (no '"',
 * '\\' or control byte); with ascii, that also has no byte from 0x80 up.
 */
size_t jx_plain_run(const char *s, size_t n, bool ascii);

#endif
