/*
 * store_sqlite_int.h - private to internal/store: what store_sqlite_bulk.c
 * needs of the SQLite connection.
 */
#ifndef CAVRA_STORE_SQLITE_INT_H
#define CAVRA_STORE_SQLITE_INT_H

#include "store/store_backend.h"

#include <sqlite3.h>

sqlite3 *store_sqlite_handle(struct store_conn *c);
/* Maps a SQLite result code to a status; copies the message. */
enum status store_sqlite_status(sqlite3 *db, int rc, struct err *e, const char *what);
/*
 * Opens the SQLite file at path read-only, outside the pool and without our pragmas
 * (journal_mode=WAL would rewrite the header): the file's bytes are left as they are.
 * ST_NOT_FOUND when it does not exist.  On success close *db with sqlite3_close.
 */
enum status store_sqlite_open_ro(const char *path, sqlite3 **db, struct err *e);
/* store_load_unjournaled and store_load_journaled on SQLite (store_sqlite_bulk.c). */
enum status store_sqlite_unjournaled(struct store_conn *c, bool *on, struct err *e);
enum status store_sqlite_journaled(struct store_conn *c, struct err *e);
void store_sqlite_index_builds(struct store_conn *c, bool on);

#endif
