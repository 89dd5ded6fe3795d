/*
 * store_sqlite_file.h - SQLite files handled whole, outside a pool: a
 * read-only look that leaves the file's bytes alone, and a consistent copy
 * into a new file (for work that must not touch the original until it is
 * done, such as adopting another tool's database).
 */
#ifndef CAVRA_STORE_SQLITE_FILE_H
#define CAVRA_STORE_SQLITE_FILE_H

#include "store/store.h"

/*
 * Runs one query without parameters on the SQLite file at path, opened
 * read-only (no journal mode or pragma is set, so the file is not written).
 * ST_NOT_FOUND when the file does not exist.
 */
ATTR_NODISCARD enum status store_sqlite_query_ro(const char *path, const char *sql,
						 struct store_rows **out, struct err *e);

/*
 * Copies the database at src into dst (which must not exist) with SQLite's
 * online backup, from one read snapshot of src opened read-only.  dst is
 * fsynced.  On failure dst is removed.
 */
ATTR_NODISCARD enum status store_sqlite_copy(const char *src, const char *dst, struct err *e);

/*
 * Removes the SQLite database file at path and what SQLite may leave beside it
 * (-wal, -shm, -journal); files that are not there are no error.
 */
void store_sqlite_file_remove(const char *path);

#endif
