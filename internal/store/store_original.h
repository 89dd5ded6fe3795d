/*
 * store_original.h - reading the original CAVRA's SQLite store files, whose
 * tables each keep the whole record as JSON text in a `payload` column, so
 * that `cavra ops import` can take them like its JSON store files.
 */
#ifndef CAVRA_STORE_ORIGINAL_H
#define CAVRA_STORE_ORIGINAL_H

#include "base/base.h"
#include "base/err.h"

/* Called with each payload (borrowed for the call, NUL-terminated at len). */
typedef enum status (*store_payload_fn)(void *ctx, const char *payload, size_t len, struct err *e);

/*
 * Calls fn for the payload of every row of table in the SQLite file at path,
 * in the order the rows were written.  The file is opened read-only and
 * never created: ST_NOT_FOUND when it does not exist or has no such table
 * (the original created its tables lazily), ST_INVALID when it is not a
 * SQLite database or the table has no payload column.
 */
ATTR_NODISCARD enum status store_original_payloads(const char *path, const char *table,
						   store_payload_fn fn, void *ctx, struct err *e);

#endif
