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
 * The file path of a SQLite URL (borrowed from url: PATH, sqlite:PATH or
 * sqlite://PATH), or NULL for PostgreSQL, other schemes and empty paths.
 */
const char *dburl_sqlite_path(const char *url);

#endif
