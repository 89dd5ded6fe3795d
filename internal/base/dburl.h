/*
 * dburl.h - which backend a database URL names, for the store that opens
 * it and for the configuration checks that must not depend on the store.
 */
#ifndef CAVRA_DBURL_H
#define CAVRA_DBURL_H

#include "base/base.h"

/* A postgres:// or postgresql:// URL. */
bool dburl_is_postgres(const char *url);
/*
 * Whether url starts like a libpq keyword/value connection string ("host=db port=5432 ..."),
 * which a DBA may paste: taken as a path, it would make a SQLite file of that name, with the
 * password in its name.  *key_len (key_len may be NULL) is the length of its first keyword, the
 * only part a message may echo.
 */
bool dburl_looks_like_conninfo(const char *url, size_t *key_len);
/*
 * The file path of a SQLite URL (borrowed from url: PATH, sqlite:PATH or
 * sqlite://PATH), or NULL for PostgreSQL, other schemes, empty paths and what looks like a libpq
 * connection string.
 */
const char *dburl_sqlite_path(const char *url);

#endif
